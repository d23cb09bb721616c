/*
 * `tidal check`: runs the scenario matrix (tests/scenarios/) and prints one
 * line per checked invariant, `seed scenario invariant PASS|FAIL reason`,
 * a summary, and for every failure the one command that reruns that seed
 * of that scenario.  A failing run's fault trace is written as an SVG
 * message-sequence chart (always with --trace-out).
 *
 * --transport sim runs each scenario in a deterministic simulation; with
 * --twice each seed runs twice and the two runs must reproduce each other
 * (`seed scenario reproducible PASS|FAIL`).  A soak runs in the simulation
 * unless told otherwise.
 *
 * Options take `--opt value` or `--opt=value`; a bad value gets one line
 * naming it and exit code 2, nothing run.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenarios/scenario.h"
#include "tools/tool.h"

#define CHECK_SOAK_MAX 1000000u

struct check_args {
    const char *scenario; /* NULL = all */
    uint64_t seed;
    uint64_t soak; /* 0 = one seed */
    sc_transport transport;
    bool transport_given;
    bool twice; /* sim: run each seed twice and compare */
    bool full;
    const char *trace_out;
};

static void
help(FILE *f)
{
    size_t n;
    const sc_scenario *s = sc_scenarios(&n);
    fprintf(f, "usage: tidal check [--scenario NAME|all] [--seed N] [--soak N]\n"
               "                   [--transport inproc|ipc|sim] [--twice] [--full]\n"
               "                   [--trace-out FILE.svg]\n"
               "\n"
               "Runs fault scenarios against a three-region cluster in this process and\n"
               "checks, against what each scenario recorded itself: equal state digests,\n"
               "counters (acknowledged increments plus a subset of the unknown ones),\n"
               "signals (every acknowledged one everywhere, none twice) and hard negatives\n"
               "(last writer by (wall, logical), hide on ties).  Prints one line per\n"
               "invariant: `seed scenario invariant PASS|FAIL reason`.\n"
               "\n"
               "options (each also as --opt=value):\n"
               "  --scenario NAME  one scenario, or all (default)\n"
               "  --seed N         the seed, decimal or 0x hex (default 1); with --soak,\n"
               "                   the first of N seeds\n"
               "  --soak N         run N seeds of each scenario, 1 to %u (in the\n"
               "                   simulation unless --transport says otherwise)\n"
               "  --transport T    inproc (real threads, the default), ipc (real threads,\n"
               "                   unix sockets) or sim (a deterministic simulation: one\n"
               "                   thread, simulated time; the same seed, the same run)\n"
               "  --twice          (sim) run each seed twice: the fault traces, final\n"
               "                   digests and simulated end times must be identical\n"
               "                   (`seed scenario reproducible PASS|FAIL`)\n"
               "  --full           full sizes (e.g. 20,000 writes while a region is down)\n"
               "                   instead of the quick ones\n"
               "  --trace-out F    write the fault trace of the (first failing, else last)\n"
               "                   run as an SVG chart to F; a failing run's chart is\n"
               "                   written to tidal-check-<scenario>-<seed>.svg without it\n"
               "  -h, --help       print this help\n"
               "\nscenarios:\n",
            CHECK_SOAK_MAX);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "  %-18s %s\n", s[i].name, s[i].summary);
    }
    fprintf(f, "\nexit codes:\n  0    every invariant held in every run\n"
               "  1    an invariant failed (the rerun command is printed)\n"
               "  2    usage error: a bad option or value (nothing was run)\n");
}

/* Returns 0, 2 for a usage error (said on stderr), or -1 for --help. */
static int
parse(int argc, char **argv, struct check_args *a)
{
    *a = (struct check_args){.seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return -1;
        } else if (tidal_tool_is_opt(arg, "--full")) {
            if (strchr(arg, '=') != NULL) {
                fprintf(stderr, "tidal check: --full takes no value\n");
                return 2;
            }
            a->full = true;
        } else if (tidal_tool_is_opt(arg, "--twice")) {
            if (strchr(arg, '=') != NULL) {
                fprintf(stderr, "tidal check: --twice takes no value\n");
                return 2;
            }
            a->twice = true;
        } else if (tidal_tool_is_opt(arg, "--scenario")) {
            if ((v = tidal_tool_value_of("check", argc, argv, &i, "--scenario")) == NULL) {
                return 2;
            }
            if (strcmp(v, "all") != 0 && sc_find(v) == NULL) {
                fprintf(stderr, "tidal check: --scenario '%s': no such scenario (see --help)\n",
                        v);
                return 2;
            }
            a->scenario = strcmp(v, "all") == 0 ? NULL : v;
        } else if (tidal_tool_is_opt(arg, "--seed")) {
            if ((v = tidal_tool_value_of("check", argc, argv, &i, "--seed")) == NULL) {
                return 2;
            }
            if (!tidal_tool_read_u64(v, UINT64_MAX, &a->seed)) {
                fprintf(stderr, "tidal check: --seed '%s': not a number from 0 to 2^64-1\n", v);
                return 2;
            }
        } else if (tidal_tool_is_opt(arg, "--soak")) {
            if ((v = tidal_tool_value_of("check", argc, argv, &i, "--soak")) == NULL) {
                return 2;
            }
            if (!tidal_tool_read_u64(v, CHECK_SOAK_MAX, &a->soak) || a->soak == 0) {
                fprintf(stderr, "tidal check: --soak '%s': not a number from 1 to %u\n", v,
                        CHECK_SOAK_MAX);
                return 2;
            }
        } else if (tidal_tool_is_opt(arg, "--transport")) {
            if ((v = tidal_tool_value_of("check", argc, argv, &i, "--transport")) == NULL) {
                return 2;
            }
            if (strcmp(v, "inproc") != 0 && strcmp(v, "ipc") != 0 && strcmp(v, "sim") != 0) {
                fprintf(stderr, "tidal check: --transport '%s': inproc, ipc or sim\n", v);
                return 2;
            }
            a->transport = strcmp(v, "ipc") == 0   ? SC_IPC
                           : strcmp(v, "sim") == 0 ? SC_SIM
                                                   : SC_INPROC;
            a->transport_given = true;
        } else if (tidal_tool_is_opt(arg, "--trace-out")) {
            if ((v = tidal_tool_value_of("check", argc, argv, &i, "--trace-out")) == NULL) {
                return 2;
            }
            if (v[0] == '\0') {
                fprintf(stderr, "tidal check: --trace-out '': a file name is needed\n");
                return 2;
            }
            a->trace_out = v;
        } else {
            fprintf(stderr, "tidal check: unknown option '%s' (try tidal check --help)\n", arg);
            return 2;
        }
    }
    if (!a->transport_given && a->soak != 0) {
        a->transport = SC_SIM; /* a soak is reproducible seed by seed in the simulation */
    }
    if (a->twice && a->transport != SC_SIM) {
        fprintf(stderr, "tidal check: --twice needs --transport sim (real threads are not "
                        "reproducible)\n");
        return 2;
    }
    return 0;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

struct tally {
    uint64_t runs, failed_runs, checks, violations;
    uint64_t repro_checked, repro_failed;
    uint64_t real_ns, sim_ns; /* summed over the runs (the first of each pair) */
    bool chart_written;
};

static void
print_run(const sc_scenario *s, uint64_t seed, const sc_run *run)
{
    for (int i = 0; i < run->nchecks; i++) {
        const sc_check *c = &run->checks[i];
        printf("%llu %s %s %s %s\n", (unsigned long long)seed, s->name, c->name,
               c->pass ? "PASS" : "FAIL", c->reason);
    }
    fflush(stdout);
}

static void
print_rerun(const struct check_args *a, const sc_scenario *s, uint64_t seed)
{
    printf("rerun: tidal check --scenario %s --seed %llu --transport %s%s%s\n", s->name,
           (unsigned long long)seed, sc_transport_name(a->transport), a->twice ? " --twice" : "",
           a->full ? " --full" : "");
    fflush(stdout);
}

static uint64_t
real_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Writes the run's chart where it belongs: --trace-out (the first failing
 * run, else the last), or a file named after the failing run. */
static void
chart(const struct check_args *a, const sc_scenario *s, uint64_t seed, const sc_run *run,
      bool last, struct tally *t)
{
    bool failed = !sc_run_passed(run);
    char path[256];
    if (a->trace_out != NULL) {
        if (t->chart_written || (!failed && !last)) {
            return;
        }
        snprintf(path, sizeof(path), "%s", a->trace_out);
    } else if (failed) {
        snprintf(path, sizeof(path), "tidal-check-%s-%llu.svg", s->name, (unsigned long long)seed);
    } else {
        return;
    }
    int rv = sc_chart_write(run, path);
    if (rv == 0) {
        printf("chart: %s\n", path);
        t->chart_written = t->chart_written || failed || a->trace_out != NULL;
    } else {
        fprintf(stderr, "tidal check: cannot write the chart to %s: %s\n", path,
                tidal_errname(rv));
    }
}

/* Runs s with seed in a fresh temporary directory into *out (malloc'd);
 * 1 if the directory or the memory could not be had. */
static int
run_in_tmp(const struct check_args *a, const sc_scenario *s, uint64_t seed, sc_run **out)
{
    char dir[64] = "/tmp/tidal-check-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "tidal check: cannot make a temporary directory under /tmp\n");
        return 1;
    }
    sc_run *run = malloc(sizeof(*run));
    if (run == NULL) {
        (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    (void)sc_run_scenario(s, seed, a->transport, dir, !a->full, run);
    (void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    *out = run;
    return 0;
}

static void
run_free(sc_run *run)
{
    if (run != NULL) {
        sc_run_free(run);
        free(run);
    }
}

/* With --twice: the seed again, and the line saying whether it reproduced
 * the first run; false if it did not. */
static int
second_run(const struct check_args *a, const sc_scenario *s, uint64_t seed, const sc_run *first,
           struct tally *t, bool *same)
{
    sc_run *again = NULL;
    if (run_in_tmp(a, s, seed, &again) != 0) {
        return 1;
    }
    char why[SC_REASON_BYTES * 2];
    *same = sc_run_same(first, again, why, sizeof(why));
    printf("%llu %s reproducible %s %s\n", (unsigned long long)seed, s->name,
           *same ? "PASS" : "FAIL", why);
    t->repro_checked++;
    t->repro_failed += !*same;
    run_free(again);
    return 0;
}

static int
one_run(const struct check_args *a, const sc_scenario *s, uint64_t seed, bool last,
        struct tally *t)
{
    uint64_t t0 = real_ns();
    sc_run *run = NULL;
    if (run_in_tmp(a, s, seed, &run) != 0) {
        return 1;
    }
    t->real_ns += real_ns() - t0;
    t->sim_ns += run->sim_end_ns;
    print_run(s, seed, run);
    bool same = true;
    if (a->twice && second_run(a, s, seed, run, t, &same) != 0) {
        run_free(run);
        return 1;
    }
    t->runs++;
    t->checks += (uint64_t)run->nchecks;
    for (int i = 0; i < run->nchecks; i++) {
        t->violations += !run->checks[i].pass;
    }
    bool passed = sc_run_passed(run);
    t->failed_runs += !passed || !same;
    if (!passed || !same) {
        print_rerun(a, s, seed);
    }
    chart(a, s, seed, run, last, t);
    run_free(run);
    return 0;
}

/* The summary line, and the times when in the simulation. */
static void
summary(const struct check_args *a, uint64_t seeds, size_t nsc, const struct tally *t)
{
    printf("summary: %llu seeds x %zu scenarios = %llu runs on %s (%s sizes): %llu invariants "
           "checked, %llu violations, %llu runs failed\n",
           (unsigned long long)seeds, nsc, (unsigned long long)t->runs,
           sc_transport_name(a->transport), a->full ? "full" : "quick",
           (unsigned long long)t->checks, (unsigned long long)t->violations,
           (unsigned long long)t->failed_runs);
    if (a->twice) {
        printf("reproducible: %llu of %llu runs (seed, scenario) identical when run twice\n",
               (unsigned long long)(t->repro_checked - t->repro_failed),
               (unsigned long long)t->repro_checked);
    }
    if (a->transport == SC_SIM && t->runs > 0 && t->real_ns > 0) {
        printf("time: %.1f s real for %.1f s simulated (%.1f ms real per run, simulated/real "
               "%.2f)\n",
               (double)t->real_ns / 1e9, (double)t->sim_ns / 1e9,
               (double)t->real_ns / 1e6 / (double)t->runs, (double)t->sim_ns / (double)t->real_ns);
    }
}

int
tidal_tool_check(int argc, char **argv)
{
    struct check_args a;
    int rv = parse(argc, argv, &a);
    if (rv != 0) {
        if (rv < 0) {
            help(stdout);
        }
        return rv < 0 ? 0 : rv;
    }
    size_t n;
    const sc_scenario *all = sc_scenarios(&n);
    const sc_scenario *one = a.scenario ? sc_find(a.scenario) : NULL;
    uint64_t seeds = a.soak ? a.soak : 1;
    struct tally t = {0};
    size_t nsc = one ? 1 : n;
    for (uint64_t k = 0; k < seeds; k++) {
        for (size_t i = 0; i < nsc; i++) {
            const sc_scenario *s = one ? one : &all[i];
            bool last = k + 1 == seeds && i + 1 == nsc;
            if (one_run(&a, s, a.seed + k, last, &t) != 0) {
                return 1;
            }
        }
    }
    summary(&a, seeds, nsc, &t);
    return t.failed_runs == 0 ? 0 : 1;
}
