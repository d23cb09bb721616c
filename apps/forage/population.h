/*
 * The simulated population: users with a hidden preference vector over the
 * catalogue's labels, and the reward model by which they answer a slate.
 *
 * User u's affinity for an item is pref[u][label of the item] (the last entry
 * for unlabelled items), in [0, 1].  Shown an item of affinity a, the user
 *
 *   likes it      with probability a                      (reward +1)
 *   else hides it if a < FORAGE_HIDE_AFFINITY             (reward -1)
 *   else skips it                                         (reward  0)
 *
 * so the expected reward of the item is a - (1 - a) * [a < FORAGE_HIDE_AFFINITY].
 *
 * Preferences (forage_population_make): each user has one favourite label,
 * drawn with probability proportional to 1 / (rank + 1) (label 0 is the most
 * common favourite), with affinity 0.6 + 0.35 U; one second label, uniform
 * among the others, 0.2 + 0.3 U; every other label 0.15 U; unlabelled items
 * 0.1 U (U uniform in [0, 1), fresh per entry).  About a third of a user's
 * other labels thus fall below FORAGE_HIDE_AFFINITY and get hidden.
 */
#ifndef FORAGE_POPULATION_H
#define FORAGE_POPULATION_H

#include <stddef.h>
#include <stdint.h>

#include "bandit.h"
#include "rng.h"

/* Affinity below which an item not liked is hidden rather than skipped. */
#define FORAGE_HIDE_AFFINITY 0.05

/* The rng stream (forage_rng_seed2) preferences are drawn from. */
#define FORAGE_POPULATION_STREAM 4

/* Users a population may hold. */
#define FORAGE_USERS_MAX 100000

typedef struct forage_population {
    size_t users;
    size_t labels; /* the catalogue's labels; pref rows have labels + 1 entries */
    float *pref;   /* users * (labels + 1) */
} forage_population;

/* Draws a population of `users` over `labels` labels from seed.  Returns
 * TIDAL_EINVAL (users outside 1..FORAGE_USERS_MAX, labels outside
 * 1..FORAGE_LABELS_MAX) or TIDAL_ENOMEM, *out NULL then. */
__attribute__((warn_unused_result)) int
forage_population_make(size_t users, size_t labels, uint64_t seed, forage_population **out);

/* Frees p; accepts NULL. */
void forage_population_free(forage_population *p);

/* User u's affinity for an item of label `label` (FORAGE_UNLABELLED for
 * none).  Cannot fail. */
double forage_affinity(const forage_population *p, size_t u, int label);

/* The expected reward of showing an item of affinity a.  Cannot fail. */
double forage_expected_reward(double a);

/* The user's answer to an item of affinity a: like, skip or hide, by the
 * model above, drawing one uniform from r.  Cannot fail. */
forage_signal forage_answer(double a, forage_rng *r);

#endif /* FORAGE_POPULATION_H */
