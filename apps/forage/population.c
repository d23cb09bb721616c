/*
 * The simulated users (population.h states the model).
 */
#include "population.h"

#include <stdlib.h>

#include <tidal/errors.h>

#include "labels.h"

/* The favourite label, drawn with weight 1 / (rank + 1). */
static size_t
draw_favourite(forage_rng *r, size_t labels)
{
    double total = 0.0;
    for (size_t i = 0; i < labels; i++) {
        total += 1.0 / (double)(i + 1);
    }
    double x = forage_rng_uniform(r) * total;
    for (size_t i = 0; i < labels; i++) {
        x -= 1.0 / (double)(i + 1);
        if (x < 0.0) {
            return i;
        }
    }
    return labels - 1;
}

static void
draw_user(forage_rng *r, size_t labels, float *pref)
{
    size_t fav = draw_favourite(r, labels);
    size_t second = labels > 1 ? (fav + 1 + forage_rng_below(r, labels - 1)) % labels : fav;
    for (size_t i = 0; i < labels; i++) {
        pref[i] = (float)(0.15 * forage_rng_uniform(r));
    }
    pref[labels] = (float)(0.1 * forage_rng_uniform(r));
    if (second != fav) {
        pref[second] = (float)(0.2 + 0.3 * forage_rng_uniform(r));
    }
    pref[fav] = (float)(0.6 + 0.35 * forage_rng_uniform(r));
}

int
forage_population_make(size_t users, size_t labels, uint64_t seed, forage_population **out)
{
    *out = NULL;
    if (users == 0 || users > FORAGE_USERS_MAX || labels == 0 || labels > FORAGE_LABELS_MAX) {
        return TIDAL_EINVAL;
    }
    forage_population *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return TIDAL_ENOMEM;
    }
    p->users = users;
    p->labels = labels;
    p->pref = malloc(users * (labels + 1) * sizeof(float));
    if (p->pref == NULL) {
        free(p);
        return TIDAL_ENOMEM;
    }
    forage_rng r;
    /* A stream of its own: the simulation seeds its other streams from the
     * same seed. */
    forage_rng_seed2(&r, seed, FORAGE_POPULATION_STREAM);
    for (size_t u = 0; u < users; u++) {
        draw_user(&r, labels, p->pref + u * (labels + 1));
    }
    *out = p;
    return 0;
}

void
forage_population_free(forage_population *p)
{
    if (p == NULL) {
        return;
    }
    free(p->pref);
    free(p);
}

double
forage_affinity(const forage_population *p, size_t u, int label)
{
    size_t i = label == FORAGE_UNLABELLED ? p->labels : (size_t)label;
    return p->pref[u * (p->labels + 1) + i];
}

double
forage_expected_reward(double a)
{
    return a - (a < FORAGE_HIDE_AFFINITY ? 1.0 - a : 0.0);
}

forage_signal
forage_answer(double a, forage_rng *r)
{
    if (forage_rng_uniform(r) < a) {
        return FORAGE_SIGNAL_LIKE;
    }
    return a < FORAGE_HIDE_AFFINITY ? FORAGE_SIGNAL_HIDE : FORAGE_SIGNAL_SKIP;
}
