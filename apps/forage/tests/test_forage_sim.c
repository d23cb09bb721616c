/*
 * The simulation: the oracle's best mix against a brute-force search of
 * every mix; a small run that is deterministic per seed, keeps hidden items
 * off every slate, fills every slate, gives the oracle regret 0 and every
 * policy regret >= 0; the population prior meeting the goal on the
 * shipped catalogue without changing the problem; and the command's files.
 */
#include "forage_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "labelled.h"
#include "sim.h"

FORAGE_SUITE(sim);

Test(sim, best_mix_is_the_best_of_every_mix)
{
    forage_rng r;
    forage_rng_seed(&r, 8);
    for (int trial = 0; trial < 200; trial++) {
        forage_candidates cands[FORAGE_SOURCES];
        double e[FORAGE_SOURCES][FORAGE_CANDIDATES_MAX];
        for (int s = 0; s < FORAGE_SOURCES; s++) {
            cands[s].n = (size_t)forage_rng_below(&r, FORAGE_CANDIDATES_MAX + 1);
            for (size_t i = 0; i < cands[s].n; i++) {
                e[s][i] = forage_rng_uniform(&r) * 2.0 - 0.7;
            }
        }
        size_t best[FORAGE_SOURCES];
        double got = forage_sim_best_mix(cands, e, best);
        size_t total = cands[0].n + cands[1].n + cands[2].n + cands[3].n;
        size_t want_n = total < 10 ? total : 10;
        double want = -INFINITY;
        for (size_t a = 0; a <= cands[0].n; a++) {
            for (size_t b = 0; b <= cands[1].n; b++) {
                for (size_t c = 0; c <= cands[2].n; c++) {
                    for (size_t d = 0; d <= cands[3].n; d++) {
                        if (a + b + c + d != want_n) {
                            continue;
                        }
                        size_t n[4] = {a, b, c, d};
                        double v = 0.0;
                        for (int s = 0; s < 4; s++) {
                            for (size_t i = 0; i < n[s]; i++) {
                                v += e[s][i];
                            }
                        }
                        want = v > want ? v : want;
                    }
                }
            }
        }
        cr_assert(fabs(got - want) < 1e-9, "trial %d: %f, brute force %f", trial, got, want);
        cr_assert_eq(best[0] + best[1] + best[2] + best[3], want_n);
    }
}

typedef struct small {
    forage_catalogue *cat;
    forage_nn_index *ix;
    forage_labels *labels;
    int *label;
    forage_population *pop;
    forage_world *w;
} small;

static void
small_open(small *s)
{
    forage_gen_opts o = {.seed = 5, .items = 600, .dim = 16, .topics = 6};
    forage_label_def defs[FORAGE_GEN_TOPICS_MAX];
    size_t k;
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_gen_catalogue(&o, &s->cat, defs, &k));
    FORAGE_PASS(forage_nn_build(s->cat->vec, s->cat->n, s->cat->dim, &s->ix));
    FORAGE_PASS(forage_labels_build(s->cat, s->ix, defs, k, 0.5f, &s->labels, err));
    s->label = malloc(s->cat->n * sizeof(int));
    forage_labels_assign(s->labels, s->ix, s->label);
    FORAGE_PASS(forage_population_make(40, k, 5, &s->pop));
    FORAGE_PASS(forage_world_make(s->cat, s->ix, s->label, s->pop, &s->w));
}

static void
small_close(small *s)
{
    forage_world_free(s->w);
    forage_population_free(s->pop);
    free(s->label);
    forage_labels_free(s->labels);
    forage_nn_free(s->ix);
    forage_catalogue_free(s->cat);
}

Test(sim, small_run_is_deterministic_and_keeps_the_rules)
{
    small s;
    small_open(&s);
    forage_sim_opts o = {.seed = 21, .slates = 800};
    forage_sim_result a, b;
    FORAGE_PASS(forage_simulate(s.w, &o, NULL, &a));
    FORAGE_PASS(forage_simulate(s.w, &o, NULL, &b));
    for (int p = 0; p < FORAGE_RUNS; p++) {
        const forage_run *r = &a.runs[p];
        cr_assert(r->regret == b.runs[p].regret, "run %d not deterministic", p);
        cr_assert_eq(r->liked, b.runs[p].liked);
        cr_assert_eq(r->slates, 800);
        cr_assert_eq(r->shown, 8000, "run %d showed %llu", p, (unsigned long long)r->shown);
        cr_assert_eq(r->liked + r->skipped + r->hid, r->shown);
        cr_assert_eq(r->hidden_shown, 0);
        cr_assert_geq(r->regret, -1e-9);
    }
    cr_assert(a.runs[FORAGE_RUN_ORACLE].regret < 1e-9);
    /* The oracle's expected reward per slate beats random's by far, and the
     * learning policies lose less than random. */
    cr_assert_gt(a.runs[FORAGE_RUN_ORACLE].reward, a.runs[FORAGE_POLICY_RANDOM].reward);
    cr_assert_lt(a.runs[FORAGE_POLICY_THOMPSON].regret, a.runs[FORAGE_POLICY_RANDOM].regret);
    cr_assert_lt(a.runs[FORAGE_POLICY_UCB1].regret, a.runs[FORAGE_POLICY_RANDOM].regret);
    o.seed = 22;
    FORAGE_PASS(forage_simulate(s.w, &o, NULL, &b));
    cr_assert(b.runs[0].regret != a.runs[0].regret, "the seed changes nothing");
    small_close(&s);
}

/* The measure: seed 1, 1,000 users, 10,000 slates over the shipped
 * catalogue, with the population prior at `strength` (0: none). */
static void
shipped_run(double strength, forage_sim_result *res)
{
    forage_labelled l;
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_labelled_load(FORAGE_DATA_DIR "/catalogue.tsv",
                                     FORAGE_DATA_DIR "/labels.tsv", FORAGE_LABEL_THRESHOLD_DEFAULT,
                                     &l, err));
    forage_population *pop;
    forage_world *w;
    FORAGE_PASS(forage_population_make(1000, l.labels->k, 1, &pop));
    FORAGE_PASS(forage_world_make(l.cat, l.ix, l.label, pop, &w));
    forage_sim_opts o = {.seed = 1, .slates = 10000, .prior_strength = strength};
    FORAGE_PASS(forage_simulate(w, &o, NULL, res));
    forage_world_free(w);
    forage_population_free(pop);
    forage_labelled_free(&l);
}

Test(sim, population_prior_meets_the_goal_for_seed_1)
{
    forage_sim_result with, without;
    shipped_run(FORAGE_PRIOR_STRENGTH, &with);
    shipped_run(0.0, &without);
    const forage_run *w = with.runs, *n = without.runs;
    double thompson = w[FORAGE_POLICY_THOMPSON].regret / w[FORAGE_POLICY_RANDOM].regret;
    double ucb1 = w[FORAGE_POLICY_UCB1].regret / w[FORAGE_POLICY_RANDOM].regret;
    double before = n[FORAGE_POLICY_THOMPSON].regret / n[FORAGE_POLICY_RANDOM].regret;
    /* The simulation is deterministic: README's figures are 0.167 and 0.159
     * with the prior, 0.310 without. */
    cr_assert_leq(thompson, 0.25, "thompson/random %.4f", thompson);
    cr_assert_leq(ucb1, 0.25, "ucb1/random %.4f", ucb1);
    cr_assert_gt(before, 0.25, "without the prior thompson/random is %.4f", before);
    /* The prior changes only what the learning policies choose: random's
     * run and the oracle's are the same slate for slate. */
    for (int p = FORAGE_POLICY_RANDOM; p < FORAGE_RUNS; p++) {
        cr_assert(w[p].regret == n[p].regret, "run %d: %f against %f", p, w[p].regret, n[p].regret);
        cr_assert(w[p].reward == n[p].reward, "run %d: %f against %f", p, w[p].reward, n[p].reward);
        cr_assert_eq(w[p].liked, n[p].liked);
    }
    for (int p = 0; p < FORAGE_RUNS; p++) {
        cr_assert_eq(w[p].hidden_shown, 0);
    }
}

Test(sim, simulate_command_writes_csv_and_summary)
{
    const char *dir = forage_test_tmpdir();
    char cmd[512], path[256];
    snprintf(cmd, sizeof(cmd),
             "%s simulate --seed 3 --slates 300 --users 50 --every 100 "
             "--out %s >%s/stdout 2>%s/stderr",
             FORAGE_BIN, dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    snprintf(path, sizeof(path), "%s/regret.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    int rows = 0;
    cr_assert_not_null(fgets(line, sizeof(line), f));
    cr_assert(strncmp(line, "slate,regret_thompson,", 22) == 0, "%s", line);
    while (fgets(line, sizeof(line), f) != NULL) {
        rows++;
    }
    fclose(f);
    cr_assert_eq(rows, 3);
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof(line), f));
    cr_assert(strstr(line, "\"slates\": 300") != NULL, "%s", line);
    fclose(f);
    forage_test_rmdir(dir);
}

Test(sim, a_bad_catalogue_stops_the_command_with_its_line)
{
    const char *dir = forage_test_tmpdir();
    const char *bad = forage_test_write(dir, "bad.tsv", "1\ta\t0\t1\n2\tb\t0\tnan\n");
    char cmd[768], path[256];
    snprintf(cmd, sizeof(cmd), "%s simulate --catalogue %s --out %s 2>%s/stderr", FORAGE_BIN, bad,
             dir, dir);
    int rv = system(cmd);
    cr_assert(WIFEXITED(rv) && WEXITSTATUS(rv) == 1, "exit %d", rv);
    snprintf(path, sizeof(path), "%s/stderr", dir);
    FILE *f = fopen(path, "r");
    char line[512] = "";
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    cr_assert(strstr(line, "bad.tsv:2: float 1: NaN or infinite") != NULL, "%s", line);
    forage_test_rmdir(dir);
}
