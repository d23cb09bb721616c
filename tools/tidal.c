/*
 * The `tidal` command: one binary, one verb per subcommand.  Usage errors
 * exit 2 with one line saying what is wrong; --help on every verb, and
 * `tidal help <verb>` prints the same.
 */
#include <stdio.h>
#include <string.h>

#include "tidal/runtime.h"
#include "tools/tool.h"

#ifndef TIDAL_TOOL_EXPORT
/* Built without the apps (TIDAL_APPS=OFF): the verb exists and says so. */
int
tidal_tool_export(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tidal export: not built: it comes with the apps (configure with "
                    "-DTIDAL_APPS=ON; it needs libjansson-dev)\n");
    return 1;
}
#endif

static const struct verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} verbs[] = {
    {"demo", tidal_tool_demo, "run a multi-actor workload under seeded faults and report"},
    {"check", tidal_tool_check, "run the fault scenario matrix and check its invariants"},
    {"export", tidal_tool_export, "write Forage's preference data from a region's directory"},
#ifdef TIDAL_HAVE_FORAGE
    {"forage", tidal_tool_forage, "serve the Forage app on N regions over HTTP until Ctrl-C"},
#endif
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: tidal <verb> [options]\n"
               "       tidal help [<verb>]   (or tidal <verb> --help: the verb's options)\n"
               "\nverbs:\n");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
    }
    fprintf(f, "\nexit codes: 0 success, 1 failure, 2 usage error (a verb's help lists its own)\n");
}

static const struct verb *
find_verb(const char *name)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(name, verbs[i].name) == 0) {
            return &verbs[i];
        }
    }
    return NULL;
}

/* `tidal help` prints the usage; `tidal help <verb>` the verb's --help. */
static int
help(int argc, char **argv)
{
    if (argc < 3) {
        usage(stdout);
        return 0;
    }
    const struct verb *v = find_verb(argv[2]);
    if (v == NULL) {
        fprintf(stderr, "tidal help: unknown verb '%s' (try tidal help)\n", argv[2]);
        return 2;
    }
    if (argc > 3) {
        fprintf(stderr, "tidal help: one verb at a time, got '%s' too\n", argv[3]);
        return 2;
    }
    char flag[] = "--help";
    char *hargv[] = {argv[2], flag, NULL};
    return v->run(2, hargv);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "tidal: missing verb (try tidal help)\n");
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        return help(argc, argv);
    }
    const struct verb *v = find_verb(argv[1]);
    if (v == NULL) {
        fprintf(stderr, "tidal: unknown verb '%s' (try tidal help)\n", argv[1]);
        return 2;
    }
    int code = v->run(argc - 1, argv + 1);
    tidal_library_fini(); /* every runtime is closed: leave nothing to leak checkers */
    return code;
}
