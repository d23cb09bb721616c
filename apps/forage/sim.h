/*
 * The simulation of forage's discovery loop over a catalogue, without tidal:
 * the four sources computed from the simulation's own state, a population
 * answering slates (population.h), and one run per policy, each with its own
 * state, fed the same sequence of users.
 *
 * Sources, for user u (each excludes items u has seen or hidden):
 *   popular  the most-liked items so far in this run (ties: lower row), only
 *            items liked at least once;
 *   similar  the nearest neighbours (cosine) of u's last FORAGE_SIM_RECENT
 *            liked items, rank by rank across them (each one's nearest,
 *            newest like first, then each one's second...); nothing before
 *            u's first like;
 *   fresh    the newest items (created-at, ties: lower row);
 *   random   items drawn uniformly.
 *
 * Regret.  For a slate, every mix (slots per source, summing to the slate's
 * size: min(FORAGE_SLATE_SLOTS, candidates)) has an expected reward: the sum
 * over the items it would show of forage_expected_reward(affinity), known
 * from the hidden preferences.  The oracle knows it and takes the best mix.
 * A policy's regret for the slate is the best mix's expected reward minus
 * that of the mix it chose, both in the state its own run has reached; the
 * cumulative regret is the sum over slates.  Expected rewards, not the drawn
 * answers, so the measure carries no answer noise; the policies learn from
 * the drawn answers.  The oracle's run has regret 0 by construction; the
 * cumulative expected reward of every run is reported too.
 *
 * The population prior (bandit.h).  Each policy's run keeps its population's
 * arms: the sum of its users' counts, learned from the drawn answers its own
 * users gave, the user about to be served included (as the live app's
 * population counters will hold every user's answers).  Each slate's
 * composition gets forage_arm_prior of them as its arms' prior.  The oracle
 * uses none, and random draws nothing from it.
 */
#ifndef FORAGE_SIM_H
#define FORAGE_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bandit.h"
#include "catalogue.h"
#include "labels.h"
#include "nn.h"
#include "population.h"
#include "rng.h"
#include "slate.h"

/* Recent likes the similar source starts from. */
#define FORAGE_SIM_RECENT 3

/* Neighbours kept per item for the similar source. */
#define FORAGE_SIM_NEIGHBOURS 32

/* The runs: the three policies of bandit.h, then the oracle. */
#define FORAGE_RUN_ORACLE 3
#define FORAGE_RUNS 4

/* What the runs share, read-only once made. */
typedef struct forage_world {
    size_t n;         /* items */
    const int *label; /* n: each item's label or FORAGE_UNLABELLED */
    const forage_population *pop;
    uint32_t *fresh; /* n rows, newest first */
    uint32_t *neigh; /* n * FORAGE_SIM_NEIGHBOURS rows, nearest first */
} forage_world;

/* One policy's run. */
typedef struct forage_run {
    int policy; /* forage_policy, or FORAGE_RUN_ORACLE */
    const forage_world *w;
    forage_rng draws;   /* the policy's own draws and the random source's */
    forage_rng answers; /* the users' answers */
    size_t row_bytes;   /* bytes of one user's bitset */
    uint32_t *likes;    /* n: likes so far, per item */
    uint8_t *seen;      /* users * row_bytes */
    uint8_t *hidden;    /* users * row_bytes */
    uint32_t *recent;   /* users * FORAGE_SIM_RECENT, newest first; UINT32_MAX: none */
    forage_arm *arms;   /* users * FORAGE_SOURCES */
    double regret;      /* cumulative expected regret */
    double reward;      /* cumulative expected reward */
    uint64_t slates, shown, liked, skipped, hid;
    uint64_t hidden_shown; /* items shown although hidden: must stay 0 */
    uint64_t slots[FORAGE_SOURCES];
    /* The population's arms, the sum of arms over users, and the weight its
     * prior gets (forage_arm_prior; 0: no prior). */
    forage_arm population[FORAGE_SOURCES];
    double prior_strength;
} forage_run;

typedef struct forage_sim_opts {
    uint64_t seed;
    size_t slates; /* 0: 10000 */
    size_t every;  /* a CSV row every this many slates; 0: 100 */
    /* The population prior's weight (forage_arm_prior); 0: no prior, every
     * arm starts uniform.  The command passes FORAGE_PRIOR_STRENGTH. */
    double prior_strength;
} forage_sim_opts;

typedef struct forage_sim_result {
    forage_run runs[FORAGE_RUNS]; /* final counters; pointers freed, NULL */
    size_t users;
    size_t slates;
} forage_sim_result;

/* Builds the shared part: fresh order and neighbour table from ix, labels of
 * the items (n ints, kept by pointer), the population (kept by pointer).
 * Returns TIDAL_ENOMEM or TIDAL_EINVAL (fewer items than
 * FORAGE_SIM_NEIGHBOURS + 1); *out NULL then. */
__attribute__((warn_unused_result)) int forage_world_make(const forage_catalogue *c,
                                                          forage_nn_index *ix, const int *label,
                                                          const forage_population *pop,
                                                          forage_world **out);

/* Frees w; accepts NULL. */
void forage_world_free(forage_world *w);

/* The candidates of every source for user u in run r (sources.c).  Draws from
 * r->draws for the random source.  Cannot fail. */
void forage_sim_candidates(forage_run *r, size_t u, forage_candidates cands[FORAGE_SOURCES]);

/* The oracle's choice: the mix of slots per source, summing to
 * min(FORAGE_SLATE_SLOTS, all candidates), whose candidates' expected rewards
 * e[s][i] (source s's i-th candidate) add up to the most; the counts into
 * best, the sum returned.  Cannot fail. */
double forage_sim_best_mix(const forage_candidates cands[FORAGE_SOURCES],
                           const double e[FORAGE_SOURCES][FORAGE_CANDIDATES_MAX],
                           size_t best[FORAGE_SOURCES]);

/* Whether user u has hidden / seen item in run r.  Cannot fail. */
bool forage_run_hidden(const forage_run *r, size_t u, uint32_t item);
bool forage_run_seen(const forage_run *r, size_t u, uint32_t item);

/* Runs the four policies over o->slates slates of users drawn uniformly from
 * the population, writing a CSV (header, a row every o->every slates and the
 * last) to csv if not NULL.  Returns TIDAL_ENOMEM, TIDAL_EIO (csv failed),
 * or TIDAL_ESTATE if a hidden item reached a slate (a bug: never expected). */
__attribute__((warn_unused_result)) int
forage_simulate(const forage_world *w, const forage_sim_opts *o, FILE *csv, forage_sim_result *res);

#endif /* FORAGE_SIM_H */
