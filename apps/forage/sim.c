/*
 * The simulation's runs, the oracle's best mix and the regret (sim.h states
 * the definitions).
 */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

/* rng streams (forage_rng_seed2), one per purpose. */
#define STREAM_USERS 1
#define STREAM_ANSWERS 2
#define STREAM_DRAWS 3

static void
run_free(forage_run *r)
{
    free(r->likes);
    free(r->seen);
    free(r->hidden);
    free(r->recent);
    free(r->arms);
    r->likes = NULL;
    r->recent = NULL;
    r->seen = r->hidden = NULL;
    r->arms = NULL;
}

static int
run_init(forage_run *r, const forage_world *w, int policy, const forage_sim_opts *o)
{
    size_t users = w->pop->users;
    memset(r, 0, sizeof(*r));
    r->policy = policy;
    r->w = w;
    r->prior_strength = o->prior_strength;
    forage_rng_seed2(&r->draws, o->seed, STREAM_DRAWS);
    forage_rng_seed2(&r->answers, o->seed, STREAM_ANSWERS);
    r->row_bytes = (w->n + 7) / 8;
    r->likes = calloc(w->n, sizeof(*r->likes));
    r->seen = calloc(users, r->row_bytes);
    r->hidden = calloc(users, r->row_bytes);
    r->recent = malloc(users * FORAGE_SIM_RECENT * sizeof(*r->recent));
    r->arms = calloc(users * FORAGE_SOURCES, sizeof(*r->arms));
    if (r->likes == NULL || r->seen == NULL || r->hidden == NULL || r->recent == NULL ||
        r->arms == NULL) {
        run_free(r);
        return TIDAL_ENOMEM;
    }
    memset(r->recent, 0xff, users * FORAGE_SIM_RECENT * sizeof(*r->recent));
    return 0;
}

typedef struct hidden_arg {
    const forage_run *r;
    size_t u;
} hidden_arg;

static bool
is_hidden(uint32_t item, void *arg)
{
    const hidden_arg *h = arg;
    return forage_run_hidden(h->r, h->u, item);
}

/* A knapsack over sources: f[s][j] is the best value of j slots from the
 * first s sources, take[s][j] how many of them source s gives. */
double
forage_sim_best_mix(const forage_candidates cands[FORAGE_SOURCES],
                    const double e[FORAGE_SOURCES][FORAGE_CANDIDATES_MAX],
                    size_t best[FORAGE_SOURCES])
{
    double f[FORAGE_SOURCES + 1][FORAGE_SLATE_SLOTS + 1];
    size_t take[FORAGE_SOURCES][FORAGE_SLATE_SLOTS + 1];
    size_t total = 0;
    for (size_t j = 0; j <= FORAGE_SLATE_SLOTS; j++) {
        f[0][j] = j == 0 ? 0.0 : -INFINITY;
    }
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        total += cands[s].n;
        for (size_t j = 0; j <= FORAGE_SLATE_SLOTS; j++) {
            f[s + 1][j] = -INFINITY;
            take[s][j] = 0;
            double prefix = 0.0;
            for (size_t c = 0; c <= j && c <= cands[s].n; c++) {
                prefix += c > 0 ? e[s][c - 1] : 0.0;
                double v = f[s][j - c] + prefix;
                if (v > f[s + 1][j]) {
                    f[s + 1][j] = v;
                    take[s][j] = c;
                }
            }
        }
    }
    size_t j = total < FORAGE_SLATE_SLOTS ? total : FORAGE_SLATE_SLOTS;
    double value = f[FORAGE_SOURCES][j];
    for (int s = FORAGE_SOURCES - 1; s >= 0; s--) {
        best[s] = take[s][j];
        j -= best[s];
    }
    return value;
}

/* The user's answers to a slate, and what they change in the run. */
static void
answer(forage_run *r, size_t u, const forage_slate *sl)
{
    const forage_world *w = r->w;
    for (size_t i = 0; i < sl->n; i++) {
        uint32_t item = sl->items[i];
        double a = forage_affinity(w->pop, u, w->label[item]);
        forage_signal sig = forage_answer(a, &r->answers);
        forage_arm_update(&r->arms[u * FORAGE_SOURCES + sl->source[i]], sig);
        forage_arm_update(&r->population[sl->source[i]], sig);
        r->seen[u * r->row_bytes + item / 8] |= (uint8_t)(1u << (item % 8));
        r->shown++;
        r->slots[sl->source[i]]++;
        if (sig == FORAGE_SIGNAL_LIKE) {
            r->liked++;
            r->likes[item]++;
            uint32_t *recent = r->recent + u * FORAGE_SIM_RECENT;
            memmove(recent + 1, recent, (FORAGE_SIM_RECENT - 1) * sizeof(*recent));
            recent[0] = item;
        } else if (sig == FORAGE_SIGNAL_HIDE) {
            r->hid++;
            r->hidden[u * r->row_bytes + item / 8] |= (uint8_t)(1u << (item % 8));
        } else {
            r->skipped++;
        }
    }
}

/* One slate for user u in run r. */
static int
run_step(forage_run *r, size_t u)
{
    forage_candidates cands[FORAGE_SOURCES];
    forage_sim_candidates(r, u, cands);
    hidden_arg h = {r, u};
    forage_slate_filter(cands, is_hidden, &h);
    double e[FORAGE_SOURCES][FORAGE_CANDIDATES_MAX];
    size_t avail[FORAGE_SOURCES], best[FORAGE_SOURCES], counts[FORAGE_SOURCES];
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        avail[s] = cands[s].n;
        for (size_t i = 0; i < cands[s].n; i++) {
            int label = r->w->label[cands[s].items[i]];
            e[s][i] = forage_expected_reward(forage_affinity(r->w->pop, u, label));
        }
    }
    double best_value = forage_sim_best_mix(cands, e, best);
    int rv = 0;
    if (r->policy == FORAGE_RUN_ORACLE) {
        memcpy(counts, best, sizeof(counts));
    } else {
        forage_prior prior[FORAGE_SOURCES];
        for (int s = 0; s < FORAGE_SOURCES; s++) {
            prior[s] = forage_arm_prior(&r->population[s], r->prior_strength);
        }
        rv = forage_bandit_compose_prior((forage_policy)r->policy, &r->arms[u * FORAGE_SOURCES],
                                         prior, avail, FORAGE_SLATE_SLOTS, &r->draws, counts);
    }
    forage_slate sl;
    if (rv != 0 || (rv = forage_slate_take(cands, counts, &sl)) != 0) {
        return rv;
    }
    double value = 0.0;
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            value += e[s][i];
        }
    }
    for (size_t i = 0; i < sl.n; i++) {
        r->hidden_shown += forage_run_hidden(r, u, sl.items[i]);
    }
    r->regret += best_value - value;
    r->reward += value;
    r->slates++;
    answer(r, u, &sl);
    return r->hidden_shown == 0 ? 0 : TIDAL_ESTATE;
}

static int
write_row(FILE *csv, size_t slate, const forage_run runs[FORAGE_RUNS])
{
    if (csv == NULL) {
        return 0;
    }
    fprintf(csv, "%zu", slate);
    for (int p = 0; p < FORAGE_RUNS; p++) {
        fprintf(csv, ",%.3f", runs[p].regret);
    }
    for (int p = 0; p < FORAGE_RUNS; p++) {
        fprintf(csv, ",%.3f", runs[p].reward);
    }
    fputc('\n', csv);
    return ferror(csv) ? TIDAL_EIO : 0;
}

int
forage_simulate(const forage_world *w, const forage_sim_opts *o, FILE *csv, forage_sim_result *res)
{
    memset(res, 0, sizeof(*res));
    size_t slates = o->slates ? o->slates : 10000;
    size_t every = o->every ? o->every : 100;
    forage_run runs[FORAGE_RUNS];
    int rv = 0;
    for (int p = 0; p < FORAGE_RUNS && rv == 0; p++) {
        rv = run_init(&runs[p], w, p, o);
        if (rv != 0) {
            while (p-- > 0) {
                run_free(&runs[p]);
            }
            return rv;
        }
    }
    if (csv != NULL) {
        fprintf(csv, "slate,regret_thompson,regret_ucb1,regret_random,regret_oracle,"
                     "reward_thompson,reward_ucb1,reward_random,reward_oracle\n");
    }
    forage_rng users;
    forage_rng_seed2(&users, o->seed, STREAM_USERS);
    for (size_t t = 1; t <= slates && rv == 0; t++) {
        size_t u = (size_t)forage_rng_below(&users, w->pop->users);
        for (int p = 0; p < FORAGE_RUNS && rv == 0; p++) {
            rv = run_step(&runs[p], u);
        }
        if (rv == 0 && (t % every == 0 || t == slates)) {
            rv = write_row(csv, t, runs);
        }
    }
    for (int p = 0; p < FORAGE_RUNS; p++) {
        run_free(&runs[p]);
        res->runs[p] = runs[p];
    }
    res->users = w->pop->users;
    res->slates = slates;
    return rv;
}
