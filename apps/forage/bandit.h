/*
 * The multi-armed bandit that decides how many slots of a slate each
 * candidate source gets, one bandit per user, one arm per source.
 *
 * An arm is two grow-only counts, successes and failures, so that it can
 * later live in tidal's replicated PN-counters (two counters, or the P and N
 * halves of one) and merge across regions by addition.  A signal maps to the
 * counts by this rule (reward: like +1, skip 0, hide -1):
 *
 *   like  -> successes += 1
 *   skip  -> failures  += 1
 *   hide  -> failures  += FORAGE_HIDE_FAILURES (2): a hide is worse than a
 *            skip, so a source whose items get hidden loses weight faster
 *   view  -> nothing: every view is followed by one of the three above
 *
 * The arm's posterior over "an item from this source is liked" is
 * Beta(1 + successes, 1 + failures) (a uniform prior), or, with a population
 * prior, Beta(1 + successes + prior successes, 1 + failures + prior failures).
 *
 * The population prior (empirical Bayes).  A user sees few slates, so a new
 * user's arms learn from what every user taught: the population's arm for a
 * source is the sum of every user's counts for it (the live app keeps it
 * under a reserved population user; the simulation sums its own users'), and
 * forage_arm_prior turns it into fractional pseudo-counts with the
 * population's posterior mean and a weight of at most `strength`
 * pseudo-observations (FORAGE_PRIOR_STRENGTH): the prior weighs as much as
 * that many answers of the user's own, so a user's own answers overtake it
 * within a slate or two on that source.  Its weight is also never more than
 * the population's observations, so a population that has seen nothing
 * leaves the uniform prior.  The pseudo-counts are doubles, kept beside the
 * arm (forage_prior), not in it: an arm mirrors tidal's integer counters.
 *
 * Slate composition (forage_bandit_compose): the slots are given one at a
 * time; each goes to the source with the highest score among those that
 * still have an unused candidate, ties to the lower source index.
 *
 *   Thompson: a fresh draw from each arm's posterior per slot, so a source's
 *             expected share of the slate is the probability that it is the
 *             best one: confident arms take the slate, uncertain ones keep
 *             some slots.
 *   UCB1:     mean + sqrt(2 ln N / n), with n = successes + failures (a hide
 *             counts as two observations) and N the user's total.  Slots
 *             already given in this slate count as observations at the arm's
 *             current mean, so a deterministic index still spreads a slate
 *             when arms are close.  An arm neither observed nor given a slot
 *             yet scores +inf (so a new user's slate tries every source); one
 *             given slots but never observed is taken at mean 1/2.
 *             With a prior, its pseudo-counts count as observations the user
 *             already made (a warm start): n and the mean include them, and N
 *             includes every arm's.  The index is UCB1's on that history, so
 *             the bonus still grows with ln N and shrinks with n: an arm the
 *             user never saw, whose prior weighs at most
 *             FORAGE_PRIOR_STRENGTH, is still tried once the user's other
 *             arms have piled up enough observations (the more, the lower
 *             its prior mean); an arm with no prior and no observation
 *             still scores +inf; and while N < 1 (fractional pseudo-counts
 *             alone) the bonus is 0 rather than the root of a negative.
 *             (Using the prior in the mean alone, the bonus on the user's
 *             own n, changes almost nothing: the bonus of a few
 *             observations dwarfs the means.)
 *   Random:   a uniformly random source among those with candidates left.
 */
#ifndef FORAGE_BANDIT_H
#define FORAGE_BANDIT_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "rng.h"

/* Failures a hide adds to its source's arm. */
#define FORAGE_HIDE_FAILURES 2

/* The population prior's weight, in pseudo-observations (answers of the
 * user's own it weighs as much as): two slates' worth, so the prior decides
 * a new user's first slates and the user's own answers take over after
 * that.  In the simulation (README) 20 to 100 do about equally well and 10
 * or fewer worse; 20 is the least weight in that range, leaving the most to
 * a user who differs from the population. */
#define FORAGE_PRIOR_STRENGTH 20.0

typedef enum forage_source {
    FORAGE_SOURCE_POPULAR = 0, /* popular in this region */
    FORAGE_SOURCE_SIMILAR = 1, /* similar to the session's recent items */
    FORAGE_SOURCE_FRESH = 2,   /* the newest items */
    FORAGE_SOURCE_RANDOM = 3,  /* uniformly random items */
} forage_source;

typedef enum forage_policy {
    FORAGE_POLICY_THOMPSON = 0,
    FORAGE_POLICY_UCB1 = 1,
    FORAGE_POLICY_RANDOM = 2,
} forage_policy;

typedef enum forage_signal {
    FORAGE_SIGNAL_VIEW = 0,
    FORAGE_SIGNAL_LIKE = 1,
    FORAGE_SIGNAL_SKIP = 2,
    FORAGE_SIGNAL_HIDE = 3,
} forage_signal;

typedef struct forage_arm {
    uint64_t successes;
    uint64_t failures;
} forage_arm;

/* Pseudo-counts an arm's posterior adds to its own (forage_arm_prior); all
 * zero: the uniform prior alone. */
typedef struct forage_prior {
    double successes;
    double failures;
} forage_prior;

/* The source's name ("popular", ...); "?" out of range.  Cannot fail. */
const char *forage_source_name(int s);

/* The policy's name ("thompson", "ucb1", "random"); "?" out of range. */
const char *forage_policy_name(int p);

/* The reward of a signal: +1, 0, -1 (view: 0).  Cannot fail. */
int forage_signal_reward(forage_signal sig);

/* Applies one signal to an arm by the rule above.  Cannot fail. */
void forage_arm_update(forage_arm *a, forage_signal sig);

/* The posterior mean (1 + s) / (2 + s + f).  Cannot fail. */
double forage_arm_mean(const forage_arm *a);

/* The prior an arm gets from the population's arm for the same source (the
 * sum of every user's counts).  With S and F the population's counts, its
 * posterior mean m = (1 + S) / (2 + S + F) and its weight w = min(strength,
 * S + F): w m pseudo-successes and w (1 - m) pseudo-failures.  Zero for a
 * population that has observed nothing or a strength <= 0.  Cannot fail. */
forage_prior forage_arm_prior(const forage_arm *population, double strength);

/* Gives `slots` slots to the FORAGE_SOURCES sources: counts[s] slots to
 * source s, never more than avail[s] (its usable candidates).  The counts sum
 * to min(slots, sum of avail).  r supplies the draws of Thompson and random
 * (UCB1 draws nothing).  Returns TIDAL_EINVAL, counts zeroed, for an unknown
 * policy or slots above FORAGE_SLATE_SLOTS.  The arms' priors are uniform:
 * forage_bandit_compose_prior with no prior. */
__attribute__((warn_unused_result)) int forage_bandit_compose(forage_policy p,
                                                              const forage_arm arms[FORAGE_SOURCES],
                                                              const size_t avail[FORAGE_SOURCES],
                                                              size_t slots, forage_rng *r,
                                                              size_t counts[FORAGE_SOURCES]);

/* forage_bandit_compose with prior[s] added to arm s's counts by the rules
 * above (Thompson's posterior, UCB1's mean); prior NULL: none.  Errors as
 * forage_bandit_compose's. */
__attribute__((warn_unused_result)) int
forage_bandit_compose_prior(forage_policy p, const forage_arm arms[FORAGE_SOURCES],
                            const forage_prior prior[FORAGE_SOURCES],
                            const size_t avail[FORAGE_SOURCES], size_t slots, forage_rng *r,
                            size_t counts[FORAGE_SOURCES]);

#endif /* FORAGE_BANDIT_H */
