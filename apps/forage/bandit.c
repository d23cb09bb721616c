/*
 * Arms and slate composition (bandit.h states the rules).
 */
#include "bandit.h"

#include <math.h>
#include <string.h>

#include <tidal/errors.h>

static const char *const source_names[FORAGE_SOURCES] = {"popular", "similar", "fresh", "random"};
static const char *const policy_names[] = {"thompson", "ucb1", "random"};

const char *
forage_source_name(int s)
{
    return s >= 0 && s < FORAGE_SOURCES ? source_names[s] : "?";
}

const char *
forage_policy_name(int p)
{
    return p >= 0 && p < 3 ? policy_names[p] : "?";
}

int
forage_signal_reward(forage_signal sig)
{
    switch (sig) {
    case FORAGE_SIGNAL_LIKE:
        return 1;
    case FORAGE_SIGNAL_HIDE:
        return -1;
    default:
        return 0;
    }
}

void
forage_arm_update(forage_arm *a, forage_signal sig)
{
    switch (sig) {
    case FORAGE_SIGNAL_LIKE:
        a->successes++;
        break;
    case FORAGE_SIGNAL_SKIP:
        a->failures++;
        break;
    case FORAGE_SIGNAL_HIDE:
        a->failures += FORAGE_HIDE_FAILURES;
        break;
    case FORAGE_SIGNAL_VIEW:
        break;
    }
}

double
forage_arm_mean(const forage_arm *a)
{
    return (1.0 + (double)a->successes) / (2.0 + (double)a->successes + (double)a->failures);
}

forage_prior
forage_arm_prior(const forage_arm *population, double strength)
{
    double s = (double)population->successes, f = (double)population->failures;
    double w = strength < s + f ? strength : s + f;
    if (!(w > 0.0)) {
        return (forage_prior){0.0, 0.0};
    }
    double m = (1.0 + s) / (2.0 + s + f);
    return (forage_prior){w * m, w * (1.0 - m)};
}

/* UCB1's index of arm a with prior pseudo-counts pr (observations like the
 * arm's own), `pending` slots already given in this slate (observations at
 * the arm's current mean) out of `total` observations, pseudo ones included.
 * An arm with neither observations, pseudo-observations nor slots yet is
 * first in line; one given slots but never observed is taken at mean 1/2. */
static double
ucb1_index(const forage_arm *a, const forage_prior *pr, size_t pending, double total)
{
    double n = (double)(a->successes + a->failures) + pr->successes + pr->failures;
    double np = n + (double)pending;
    if (np == 0.0) {
        return INFINITY;
    }
    double mean = n > 0.0 ? ((double)a->successes + pr->successes) / n : 0.5;
    /* Fractional pseudo-counts can make total < 1, where ln is negative. */
    return mean + (total > 1.0 ? sqrt(2.0 * log(total) / np) : 0.0);
}

static double
score(forage_policy p, const forage_arm *a, const forage_prior *pr, size_t pending, double total,
      forage_rng *r)
{
    if (p == FORAGE_POLICY_THOMPSON) {
        return forage_rng_beta(r, 1.0 + (double)a->successes + pr->successes,
                               1.0 + (double)a->failures + pr->failures);
    }
    return ucb1_index(a, pr, pending, total);
}

int
forage_bandit_compose(forage_policy p, const forage_arm arms[FORAGE_SOURCES],
                      const size_t avail[FORAGE_SOURCES], size_t slots, forage_rng *r,
                      size_t counts[FORAGE_SOURCES])
{
    return forage_bandit_compose_prior(p, arms, NULL, avail, slots, r, counts);
}

int
forage_bandit_compose_prior(forage_policy p, const forage_arm arms[FORAGE_SOURCES],
                            const forage_prior prior[FORAGE_SOURCES],
                            const size_t avail[FORAGE_SOURCES], size_t slots, forage_rng *r,
                            size_t counts[FORAGE_SOURCES])
{
    static const forage_prior none[FORAGE_SOURCES];
    if (prior == NULL) {
        prior = none;
    }
    memset(counts, 0, FORAGE_SOURCES * sizeof(*counts));
    if (p > FORAGE_POLICY_RANDOM || slots > FORAGE_SLATE_SLOTS) {
        return TIDAL_EINVAL;
    }
    double total = 0.0;
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        total += (double)(arms[s].successes + arms[s].failures);
        total += prior[s].successes + prior[s].failures;
    }
    for (size_t slot = 0; slot < slots; slot++) {
        int open[FORAGE_SOURCES], n_open = 0;
        for (int s = 0; s < FORAGE_SOURCES; s++) {
            if (counts[s] < avail[s]) {
                open[n_open++] = s;
            }
        }
        if (n_open == 0) {
            break;
        }
        int best = open[0];
        if (p == FORAGE_POLICY_RANDOM) {
            best = open[forage_rng_below(r, (uint64_t)n_open)];
        } else {
            double best_score = -INFINITY;
            for (int i = 0; i < n_open; i++) {
                int s = open[i];
                double v = score(p, &arms[s], &prior[s], counts[s], total + (double)slot, r);
                if (v > best_score) {
                    best_score = v;
                    best = s;
                }
            }
        }
        counts[best]++;
    }
    return 0;
}
