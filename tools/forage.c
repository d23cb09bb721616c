/*
 * `tidal forage`: the live Forage app (apps/forage/app.h) with N regions in
 * this process and its HTTP server (apps/forage/http.h) in front, until
 * SIGINT or SIGTERM; then the server, the app and its cluster are closed in
 * that order and the command exits 0.
 *
 * No code runs in a signal handler: both signals are blocked before the app
 * starts any thread (so every thread inherits the mask) and the main thread
 * takes them with sigwait.  A SIGINT that is ignored when the command starts
 * (a background job of a script) stays ignored, as a shell expects; SIGTERM
 * stops it then.
 *
 * Options take `--opt value` or `--opt=value`; a bad value gets one line
 * naming it and exit code 2, nothing started.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apps/forage/app.h"
#include "apps/forage/http.h"
#include "tidal/errors.h"
#include "tools/tool.h"

struct forage_args {
    uint64_t regions;
    const char *http; /* NULL: 127.0.0.1:8080 */
    const char *dir;  /* NULL: regions in memory */
    uint64_t seed;
};

static void
help(FILE *f)
{
    fprintf(f, "usage: tidal forage [--regions N] [--http ADDR] [--dir D] [--seed S]\n"
               "\n"
               "Runs the Forage discovery app on a cluster of N tidal regions in this\n"
               "process, with its HTTP server: the JSON API and a page per region\n"
               "(apps/forage/docs/http.md).  Prints the URL, serves until SIGINT (Ctrl-C)\n"
               "or SIGTERM, then closes the server, the app and the cluster.\n"
               "\n"
               "options (each also as --opt=value):\n"
               "  --regions N   regions, 1 to %d (default 2)\n"
               "  --http ADDR   HOST:PORT, :PORT or PORT to listen on (default\n"
               "                127.0.0.1:8080; loopback unless a host is given;\n"
               "                port 0 takes a free one, printed)\n"
               "  --dir D       keep region i's log in D/region-<i> (default: memory)\n"
               "  --seed S      the random source and Thompson's draws (default 1)\n"
               "  -h, --help    print this help\n"
               "\nexit codes:\n"
               "  0    stopped by a signal, everything closed\n"
               "  1    the app or the server could not start, or did not close cleanly\n"
               "  2    usage error: a bad option or value (nothing was started)\n",
            FORAGE_APP_REGIONS_MAX);
}

/* Returns 0, 2 for a usage error (said on stderr), or -1 for --help. */
static int
parse(int argc, char **argv, struct forage_args *a)
{
    *a = (struct forage_args){.regions = 2, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return -1;
        } else if (tidal_tool_is_opt(arg, "--regions")) {
            if ((v = tidal_tool_value_of("forage", argc, argv, &i, "--regions")) == NULL) {
                return 2;
            }
            if (!tidal_tool_read_u64(v, FORAGE_APP_REGIONS_MAX, &a->regions) || a->regions == 0) {
                fprintf(stderr, "tidal forage: --regions '%s': not a number from 1 to %d\n", v,
                        FORAGE_APP_REGIONS_MAX);
                return 2;
            }
        } else if (tidal_tool_is_opt(arg, "--http")) {
            if ((v = tidal_tool_value_of("forage", argc, argv, &i, "--http")) == NULL) {
                return 2;
            }
            if (!forage_http_addr_valid(v)) {
                fprintf(stderr, "tidal forage: --http '%s': HOST:PORT, :PORT or PORT\n", v);
                return 2;
            }
            a->http = v;
        } else if (tidal_tool_is_opt(arg, "--dir")) {
            if ((v = tidal_tool_value_of("forage", argc, argv, &i, "--dir")) == NULL) {
                return 2;
            }
            if (v[0] == '\0') {
                fprintf(stderr, "tidal forage: --dir '': a directory is needed\n");
                return 2;
            }
            a->dir = v;
        } else if (tidal_tool_is_opt(arg, "--seed")) {
            if ((v = tidal_tool_value_of("forage", argc, argv, &i, "--seed")) == NULL) {
                return 2;
            }
            if (!tidal_tool_read_u64(v, UINT64_MAX, &a->seed)) {
                fprintf(stderr, "tidal forage: --seed '%s': not a number from 0 to 2^64-1\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "tidal forage: unknown option '%s' (try tidal forage --help)\n", arg);
            return 2;
        }
    }
    return 0;
}

/* Blocks SIGTERM, and SIGINT unless it is ignored, into *set (in *old the
 * mask found).  Cannot fail with these arguments. */
static void
block_signals(sigset_t *set, sigset_t *old)
{
    struct sigaction sa;
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    if (sigaction(SIGINT, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN) {
        sigaddset(set, SIGINT);
    }
    (void)pthread_sigmask(SIG_BLOCK, set, old); /* fails only for a bad how */
}

static int
serve(const struct forage_args *a, const sigset_t *set)
{
    char err[FORAGE_ERR_BYTES] = "";
    forage_app_opts o = {.regions = (uint32_t)a->regions, .dir = a->dir, .seed = a->seed};
    forage_app *app;
    int rv = forage_app_open(&o, &app, err);
    if (rv != 0) {
        fprintf(stderr, "tidal forage: cannot open the app: %s (%s)\n", err, tidal_errname(rv));
        return 1;
    }
    forage_http *h;
    if ((rv = forage_http_open(app, a->http, &h, err)) != 0) {
        fprintf(stderr, "tidal forage: cannot start the server: %s\n", err);
        (void)forage_app_close(app); /* the start failed: that is the error to report */
        return 1;
    }
    const char *url = forage_http_url(h);
    printf("tidal forage: %u regions (%s), seed %llu\n", forage_app_regions(app),
           a->dir != NULL ? a->dir : "in memory", (unsigned long long)a->seed);
    printf("tidal forage: serving %s (Ctrl-C stops)\n", url);
    for (uint32_t r = 0; r < forage_app_regions(app); r++) {
        printf("  region %u: %s?region=%u\n", r, url, r);
    }
    fflush(stdout);

    int sig = 0;
    while (sigwait(set, &sig) != 0) {
    }
    fprintf(stderr, "tidal forage: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    forage_http_close(h);
    if ((rv = forage_app_close(app)) != 0) {
        fprintf(stderr, "tidal forage: the app did not close cleanly: %s\n", tidal_errname(rv));
        return 1;
    }
    fprintf(stderr, "tidal forage: stopped\n");
    return 0;
}

int
tidal_tool_forage(int argc, char **argv)
{
    struct forage_args a;
    int rv = parse(argc, argv, &a);
    if (rv != 0) {
        if (rv < 0) {
            help(stdout);
        }
        return rv < 0 ? 0 : rv;
    }
    sigset_t set, old;
    block_signals(&set, &old); /* before the app starts a thread */
    rv = serve(&a, &set);
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL); /* restoring a mask it just read */
    return rv;
}
