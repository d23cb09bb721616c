/*
 * `forage simulate`: the regret of Thompson sampling, UCB1 and uniform random
 * against the oracle's best source mix (sim.h defines it), written as
 * DIR/regret.csv, DIR/summary.json and, when gnuplot is installed,
 * DIR/regret.png.  The summary also goes to stdout.
 *
 * The goal: Thompson's cumulative regret after 10,000 slates at most
 * 25% of random's.  The summary states the ratio and whether the goal holds;
 * the exit code does not depend on it (the simulation ran; the figure is the
 * result).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tidal/errors.h>

#include "cli.h"
#include "sim.h"

/* The goal: Thompson's regret at most this share of random's. */
#define GOAL_RATIO 0.25

/* A path under DIR: DIR itself is bounded so every name fits. */
#define OUT_PATH_BYTES 4096

typedef struct sim_args {
    forage_sim_opts o;
    uint64_t users;
    const char *out;
    const char *cat;
    const char *labels;
} sim_args;

static int
parse(int argc, char **argv, sim_args *a)
{
    *a = (sim_args){
        .o = {.seed = 1, .slates = 10000, .every = 100, .prior_strength = FORAGE_PRIOR_STRENGTH},
        .users = 1000,
        .out = ".",
        .cat = FORAGE_DATA_DIR "/catalogue.tsv",
        .labels = FORAGE_DATA_DIR "/labels.tsv"};
    uint64_t v;
    for (int i = 0; i < argc; i += 2) {
        const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            return -1;
        } else if (strcmp(k, "--out") == 0) {
            a->out = val;
        } else if (strcmp(k, "--catalogue") == 0) {
            a->cat = val;
        } else if (strcmp(k, "--labels") == 0) {
            a->labels = val;
        } else if (strcmp(k, "--seed") == 0 && forage_opt_u64(k, val, 0, UINT64_MAX, &v) == 0) {
            a->o.seed = v;
        } else if (strcmp(k, "--slates") == 0 && forage_opt_u64(k, val, 1, 100000000, &v) == 0) {
            a->o.slates = v;
        } else if (strcmp(k, "--every") == 0 && forage_opt_u64(k, val, 1, 100000000, &v) == 0) {
            a->o.every = v;
        } else if (strcmp(k, "--prior-strength") == 0 &&
                   forage_opt_u64(k, val, 0, 1000000, &v) == 0) {
            a->o.prior_strength = (double)v;
        } else if (strcmp(k, "--users") == 0 &&
                   forage_opt_u64(k, val, 1, FORAGE_USERS_MAX, &v) == 0) {
            a->users = v;
        } else {
            return -1;
        }
    }
    /* The path goes into a gnuplot script between single quotes. */
    if (strlen(a->out) > OUT_PATH_BYTES - 64 || strchr(a->out, '\'') != NULL) {
        fprintf(stderr, "forage: --out must be shorter than %d bytes, without a quote\n",
                OUT_PATH_BYTES - 64);
        return -1;
    }
    return 0;
}

static void
summary(FILE *f, const sim_args *a, const forage_sim_result *res)
{
    const forage_run *r = res->runs;
    double rnd = r[FORAGE_POLICY_RANDOM].regret;
    double ratio = rnd > 0.0 ? r[FORAGE_POLICY_THOMPSON].regret / rnd : 0.0;
    double ucb1 = rnd > 0.0 ? r[FORAGE_POLICY_UCB1].regret / rnd : 0.0;
    fprintf(f,
            "{\"seed\": %" PRIu64 ", \"users\": %zu, \"slates\": %zu, \"prior_strength\": %g, "
            "\"runs\": {",
            a->o.seed, res->users, res->slates, a->o.prior_strength);
    static const char *const names[FORAGE_RUNS] = {"thompson", "ucb1", "random", "oracle"};
    for (int p = 0; p < FORAGE_RUNS; p++) {
        fprintf(f,
                "%s\"%s\": {\"regret\": %.2f, \"expected_reward\": %.2f, \"shown\": %" PRIu64
                ", \"liked\": %" PRIu64 ", \"skipped\": %" PRIu64 ", \"hidden\": %" PRIu64
                ", \"hidden_shown\": %" PRIu64 ", \"slots\": {",
                p ? ", " : "", names[p], r[p].regret, r[p].reward, r[p].shown, r[p].liked,
                r[p].skipped, r[p].hid, r[p].hidden_shown);
        for (int s = 0; s < FORAGE_SOURCES; s++) {
            fprintf(f, "%s\"%s\": %" PRIu64, s ? ", " : "", forage_source_name(s), r[p].slots[s]);
        }
        fprintf(f, "}}");
    }
    fprintf(f,
            "}, \"thompson_over_random\": %.4f, \"ucb1_over_random\": %.4f, \"goal_ratio\": %.2f, "
            "\"goal_met\": %s}\n",
            ratio, ucb1, GOAL_RATIO, ratio <= GOAL_RATIO ? "true" : "false");
}

/* Plots DIR/regret.csv into DIR/regret.png if gnuplot is there; says so
 * otherwise.  Returns 0, or -1 if gnuplot is there and failed. */
static int
plot(const char *dir)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "forage: gnuplot not installed: no %s/regret.png (the CSV is there)\n",
                dir);
        return 0;
    }
    char cmd[OUT_PATH_BYTES * 3];
    snprintf(cmd, sizeof(cmd),
             "gnuplot -e \"set terminal pngcairo size 900,560 noenhanced; "
             "set output '%s/regret.png'; set datafile separator ','; "
             "set key top left; set grid; set xlabel 'slates'; "
             "set ylabel 'cumulative expected regret (reward units)'; "
             "set title 'forage: regret against the oracle best source mix'; "
             "plot for [c=2:5] '%s/regret.csv' using 1:c with lines lw 2 "
             "title columnheader(c)\"",
             dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "forage: gnuplot failed: no %s/regret.png\n", dir);
        return -1;
    }
    return 0;
}

static int
simulate(const sim_args *a, const forage_labelled *l)
{
    forage_population *pop = NULL;
    forage_world *w = NULL;
    int rv = forage_population_make(a->users, l->labels->k, a->o.seed, &pop);
    if (rv == 0) {
        rv = forage_world_make(l->cat, l->ix, l->label, pop, &w);
    }
    char path[OUT_PATH_BYTES];
    snprintf(path, sizeof(path), "%s/regret.csv", a->out);
    FILE *csv = rv == 0 ? fopen(path, "w") : NULL;
    if (rv == 0 && csv == NULL) {
        fprintf(stderr, "forage: %s: %s\n", path, strerror(errno));
        rv = TIDAL_EIO;
    }
    forage_sim_result res;
    if (rv == 0) {
        rv = forage_simulate(w, &a->o, csv, &res);
    }
    if (csv != NULL && fclose(csv) != 0 && rv == 0) {
        rv = TIDAL_EIO;
    }
    forage_world_free(w);
    forage_population_free(pop);
    if (rv != 0) {
        fprintf(stderr, "forage: simulate: %s\n", tidal_strerror(rv));
        return rv;
    }
    snprintf(path, sizeof(path), "%s/summary.json", a->out);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "forage: %s: %s\n", path, strerror(errno));
        return TIDAL_EIO;
    }
    summary(f, a, &res);
    rv = fclose(f) == 0 ? 0 : TIDAL_EIO;
    summary(stdout, a, &res);
    return rv == 0 ? plot(a->out) : rv;
}

int
forage_cmd_simulate(int argc, char **argv)
{
    sim_args a;
    if (parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: forage simulate [--seed N] [--slates N] [--users N] [--every N] "
                        "[--prior-strength N] [--out DIR] [--catalogue F] [--labels F]\n");
        return FORAGE_EXIT_USAGE;
    }
    if (mkdir(a.out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "forage: %s: %s\n", a.out, strerror(errno));
        return FORAGE_EXIT_FAIL;
    }
    forage_labelled l;
    char err[FORAGE_ERR_BYTES];
    if (forage_labelled_load(a.cat, a.labels, FORAGE_LABEL_THRESHOLD_DEFAULT, &l, err) != 0) {
        fprintf(stderr, "forage: %s\n", err);
        return FORAGE_EXIT_FAIL;
    }
    int rv = simulate(&a, &l);
    forage_labelled_free(&l);
    return rv == 0 ? FORAGE_EXIT_OK : FORAGE_EXIT_FAIL;
}
