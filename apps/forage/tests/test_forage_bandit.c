/*
 * The bandit and the slate rules: the signal-to-count rule, each policy's
 * composition, hidden items never shown, duplicates given to the earlier
 * source, a source whose items get hidden losing weight, and the population
 * prior: its arithmetic, and what it does to Thompson's and UCB1's slates.
 */
#include "forage_test.h"

#include <string.h>

#include "bandit.h"
#include "slate.h"

FORAGE_SUITE(bandit);

static const size_t plenty[FORAGE_SOURCES] = {10, 10, 10, 10};

static size_t
sum(const size_t c[FORAGE_SOURCES])
{
    return c[0] + c[1] + c[2] + c[3];
}

Test(bandit, signals_map_to_counts_and_rewards_by_the_rule)
{
    forage_arm a = {0};
    forage_arm_update(&a, FORAGE_SIGNAL_LIKE);
    forage_arm_update(&a, FORAGE_SIGNAL_VIEW);
    forage_arm_update(&a, FORAGE_SIGNAL_SKIP);
    forage_arm_update(&a, FORAGE_SIGNAL_HIDE);
    cr_assert_eq(a.successes, 1);
    cr_assert_eq(a.failures, 1 + FORAGE_HIDE_FAILURES);
    cr_assert_eq(forage_signal_reward(FORAGE_SIGNAL_LIKE), 1);
    cr_assert_eq(forage_signal_reward(FORAGE_SIGNAL_SKIP), 0);
    cr_assert_eq(forage_signal_reward(FORAGE_SIGNAL_HIDE), -1);
    cr_assert_eq(forage_signal_reward(FORAGE_SIGNAL_VIEW), 0);
    cr_assert(forage_arm_mean(&a) == 2.0 / 6.0);
}

Test(bandit, thompson_gives_a_certain_best_source_the_whole_slate)
{
    forage_arm arms[FORAGE_SOURCES] = {{10, 1000}, {1000, 10}, {10, 1000}, {10, 1000}};
    forage_rng r;
    forage_rng_seed(&r, 1);
    size_t c[FORAGE_SOURCES];
    FORAGE_PASS(forage_bandit_compose(FORAGE_POLICY_THOMPSON, arms, plenty, 10, &r, c));
    cr_assert_eq(c[FORAGE_SOURCE_SIMILAR], 10);
    /* When the best runs out of candidates, the next slots go elsewhere. */
    size_t few[FORAGE_SOURCES] = {10, 3, 10, 10};
    FORAGE_PASS(forage_bandit_compose(FORAGE_POLICY_THOMPSON, arms, few, 10, &r, c));
    cr_assert_eq(c[FORAGE_SOURCE_SIMILAR], 3);
    cr_assert_eq(sum(c), 10);
}

Test(bandit, thompson_shares_a_slate_between_equal_uncertain_sources)
{
    forage_arm arms[FORAGE_SOURCES] = {{0}};
    forage_rng r;
    forage_rng_seed(&r, 2);
    size_t total[FORAGE_SOURCES] = {0}, c[FORAGE_SOURCES];
    for (int i = 0; i < 1000; i++) {
        FORAGE_PASS(forage_bandit_compose(FORAGE_POLICY_THOMPSON, arms, plenty, 10, &r, c));
        for (int s = 0; s < FORAGE_SOURCES; s++) {
            total[s] += c[s];
        }
    }
    /* 10,000 slots, each source's share 1/4: sd about 43 slots. */
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        cr_assert(total[s] > 2300 && total[s] < 2700, "source %d: %zu slots", s, total[s]);
    }
}

Test(bandit, counts_never_exceed_candidates_and_fill_what_exists)
{
    forage_arm arms[FORAGE_SOURCES] = {{3, 1}, {0, 0}, {1, 5}, {2, 2}};
    forage_rng r;
    forage_rng_seed(&r, 3);
    size_t cases[][FORAGE_SOURCES] = {{0, 0, 0, 0}, {1, 0, 2, 0}, {0, 10, 0, 0}, {4, 4, 4, 4}};
    for (int p = FORAGE_POLICY_THOMPSON; p <= FORAGE_POLICY_RANDOM; p++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            size_t c[FORAGE_SOURCES];
            FORAGE_PASS(forage_bandit_compose((forage_policy)p, arms, cases[i], 10, &r, c));
            size_t avail = sum(cases[i]);
            cr_assert_eq(sum(c), avail < 10 ? avail : 10, "policy %d case %zu", p, i);
            for (int s = 0; s < FORAGE_SOURCES; s++) {
                cr_assert_leq(c[s], cases[i][s]);
            }
        }
    }
    size_t c[FORAGE_SOURCES];
    FORAGE_FAIL(forage_bandit_compose(FORAGE_POLICY_UCB1, arms, plenty, 11, &r, c), TIDAL_EINVAL);
    FORAGE_FAIL(forage_bandit_compose((forage_policy)7, arms, plenty, 10, &r, c), TIDAL_EINVAL);
}

Test(bandit, ucb1_tries_every_source_for_a_new_user_then_exploits)
{
    forage_arm fresh[FORAGE_SOURCES] = {{0}};
    size_t c[FORAGE_SOURCES];
    FORAGE_PASS(forage_bandit_compose(FORAGE_POLICY_UCB1, fresh, plenty, 10, NULL, c));
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        cr_assert_geq(c[s], 1, "source %d got no slot", s);
    }
    /* Means 0.9 against 0.1 over 100 observations each: the bonus
     * (sqrt(2 ln 400 / 100) = 0.35) cannot close a gap of 0.8. */
    forage_arm known[FORAGE_SOURCES] = {{10, 90}, {10, 90}, {90, 10}, {10, 90}};
    FORAGE_PASS(forage_bandit_compose(FORAGE_POLICY_UCB1, known, plenty, 10, NULL, c));
    cr_assert_eq(c[FORAGE_SOURCE_FRESH], 10);
}

static bool
hidden_in(uint32_t item, void *arg)
{
    const uint32_t *set = arg;
    for (int i = 0; set[i] != 0; i++) {
        if (set[i] == item) {
            return true;
        }
    }
    return false;
}

static void
fill(forage_candidates cands[FORAGE_SOURCES])
{
    /* Items s*100+i, with 101 and 102 also offered by fresh and random. */
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        cands[s].n = FORAGE_CANDIDATES_MAX;
        for (uint32_t i = 0; i < FORAGE_CANDIDATES_MAX; i++) {
            cands[s].items[i] = (uint32_t)s * 100 + i + 1;
        }
    }
    cands[FORAGE_SOURCE_FRESH].items[4] = 101;
    cands[FORAGE_SOURCE_RANDOM].items[0] = 102;
}

Test(bandit, hidden_items_never_reach_a_slate_and_duplicates_stay_with_the_first_source)
{
    uint32_t hidden[] = {1, 5, 203, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 0};
    forage_arm arms[FORAGE_SOURCES] = {{0}, {0}, {0}, {50, 0}};
    forage_rng r;
    forage_rng_seed(&r, 4);
    for (int p = FORAGE_POLICY_THOMPSON; p <= FORAGE_POLICY_RANDOM; p++) {
        for (int round = 0; round < 200; round++) {
            forage_candidates cands[FORAGE_SOURCES];
            fill(cands);
            forage_slate sl;
            FORAGE_PASS(forage_slate_build((forage_policy)p, arms, NULL, cands, hidden_in, hidden,
                                           &r, &sl));
            cr_assert_eq(sl.n, 10);
            for (size_t i = 0; i < sl.n; i++) {
                cr_assert_not(hidden_in(sl.items[i], hidden), "hidden item %u shown", sl.items[i]);
                for (size_t j = 0; j < i; j++) {
                    cr_assert_neq(sl.items[i], sl.items[j]);
                }
                if (sl.items[i] == 101 || sl.items[i] == 102) {
                    cr_assert_eq(sl.source[i], FORAGE_SOURCE_SIMILAR);
                }
            }
            cr_assert_eq(cands[FORAGE_SOURCE_FRESH].n, FORAGE_CANDIDATES_MAX - 2);
            /* Random's only item not hidden or duplicated: 10 minus 9 hidden minus 102. */
            cr_assert_eq(cands[FORAGE_SOURCE_RANDOM].n, 0);
        }
    }
}

Test(bandit, take_refuses_counts_beyond_the_candidates)
{
    forage_candidates cands[FORAGE_SOURCES];
    fill(cands);
    cands[1].n = 2;
    forage_slate sl;
    size_t over[FORAGE_SOURCES] = {0, 3, 0, 0}, many[FORAGE_SOURCES] = {5, 0, 5, 1};
    FORAGE_FAIL(forage_slate_take(cands, over, &sl), TIDAL_EINVAL);
    FORAGE_FAIL(forage_slate_take(cands, many, &sl), TIDAL_EINVAL);
    cr_assert_eq(sl.n, 0);
}

/* Thompson's share of slots for source 0 over many slates, when sources 0
 * and 1 have the same likes and source 0's other answers were `sig`. */
static size_t
share_after(forage_signal sig, int times)
{
    forage_arm arms[FORAGE_SOURCES] = {{5, 5}, {5, 5}, {5, 5}, {5, 5}};
    for (int i = 0; i < times; i++) {
        forage_arm_update(&arms[0], sig);
    }
    forage_rng r;
    forage_rng_seed(&r, 6);
    size_t total = 0, c[FORAGE_SOURCES];
    for (int i = 0; i < 2000; i++) {
        cr_assert_eq(forage_bandit_compose(FORAGE_POLICY_THOMPSON, arms, plenty, 10, &r, c), 0);
        total += c[0];
    }
    return total;
}

Test(bandit, a_source_whose_items_get_hidden_loses_weight)
{
    size_t none = share_after(FORAGE_SIGNAL_VIEW, 5);
    size_t skipped = share_after(FORAGE_SIGNAL_SKIP, 5);
    size_t hidden = share_after(FORAGE_SIGNAL_HIDE, 5);
    /* 20,000 slots each; the differences are thousands of slots. */
    cr_assert_lt(skipped, none, "skips: %zu, none: %zu", skipped, none);
    cr_assert_lt(hidden, skipped, "hides: %zu, skips: %zu", hidden, skipped);
}

Test(bandit, prior_has_the_population_mean_and_at_most_the_strength)
{
    forage_arm none = {0, 0};
    forage_prior p = forage_arm_prior(&none, FORAGE_PRIOR_STRENGTH);
    cr_assert(p.successes == 0.0 && p.failures == 0.0, "an empty population gives a prior");
    forage_arm pop = {300, 700};
    p = forage_arm_prior(&pop, 0.0);
    cr_assert(p.successes == 0.0 && p.failures == 0.0, "strength 0 gives a prior");
    p = forage_arm_prior(&pop, 20.0);
    cr_assert_float_eq(p.successes + p.failures, 20.0, 1e-12);
    cr_assert_float_eq(p.successes / (p.successes + p.failures), 301.0 / 1002.0, 1e-12);
    /* Never weightier than the population's own observations. */
    forage_arm few = {3, 2};
    p = forage_arm_prior(&few, 20.0);
    cr_assert_float_eq(p.successes + p.failures, 5.0, 1e-12);
    cr_assert_float_eq(p.successes / 5.0, 4.0 / 7.0, 1e-12);
}

Test(bandit, a_zero_or_absent_prior_composes_as_before)
{
    forage_arm arms[FORAGE_SOURCES] = {{3, 1}, {0, 0}, {1, 5}, {2, 2}};
    forage_prior zero[FORAGE_SOURCES] = {{0}};
    for (int p = FORAGE_POLICY_THOMPSON; p <= FORAGE_POLICY_RANDOM; p++) {
        forage_rng a, b, c;
        forage_rng_seed(&a, 9);
        forage_rng_seed(&b, 9);
        forage_rng_seed(&c, 9);
        for (int i = 0; i < 100; i++) {
            size_t ca[FORAGE_SOURCES], cb[FORAGE_SOURCES], cc[FORAGE_SOURCES];
            FORAGE_PASS(forage_bandit_compose((forage_policy)p, arms, plenty, 10, &a, ca));
            FORAGE_PASS(
                forage_bandit_compose_prior((forage_policy)p, arms, NULL, plenty, 10, &b, cb));
            FORAGE_PASS(
                forage_bandit_compose_prior((forage_policy)p, arms, zero, plenty, 10, &c, cc));
            cr_assert(memcmp(ca, cb, sizeof(ca)) == 0, "policy %d slate %d: NULL prior", p, i);
            cr_assert(memcmp(ca, cc, sizeof(ca)) == 0, "policy %d slate %d: zero prior", p, i);
        }
    }
}

/* Priors of strength 20 from a population that likes fresh's items 80% of
 * the time and the others' 20%. */
static void
fresh_population_prior(forage_prior prior[FORAGE_SOURCES])
{
    forage_arm pop[FORAGE_SOURCES] = {{200, 800}, {200, 800}, {800, 200}, {200, 800}};
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        prior[s] = forage_arm_prior(&pop[s], 20.0);
    }
}

/* Thompson's slots for fresh over 1,000 slates of a user with these arms. */
static size_t
thompson_fresh_slots(const forage_arm arms[FORAGE_SOURCES], const forage_prior *prior)
{
    forage_rng r;
    forage_rng_seed(&r, 10);
    size_t total = 0, c[FORAGE_SOURCES];
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(
            forage_bandit_compose_prior(FORAGE_POLICY_THOMPSON, arms, prior, plenty, 10, &r, c), 0);
        total += c[FORAGE_SOURCE_FRESH];
    }
    return total;
}

Test(bandit, thompson_starts_a_new_user_on_the_population_favourite)
{
    forage_arm fresh_user[FORAGE_SOURCES] = {{0}};
    forage_prior prior[FORAGE_SOURCES];
    fresh_population_prior(prior);
    /* 10,000 slots.  Without a prior fresh's share is 1/4 (sd about 43
     * slots); with Beta(17, 5) against three Beta(5, 17) it is the best
     * draw about 99% of the time. */
    size_t without = thompson_fresh_slots(fresh_user, NULL);
    size_t with = thompson_fresh_slots(fresh_user, prior);
    cr_assert(without > 2300 && without < 2700, "without a prior: %zu", without);
    cr_assert_gt(with, 9000, "with the prior: %zu", with);
    /* The user's own answers outweigh the prior: 100 failures on fresh
     * against its 20 pseudo-observations make Beta(17, 105), mean 0.14,
     * below the others' 0.23: fresh falls from almost every slot to about
     * 1.5% of them, far below even a uniform prior's quarter. */
    forage_arm dislikes_fresh[FORAGE_SOURCES] = {{0}, {0}, {0, 100}, {0}};
    size_t own = thompson_fresh_slots(dislikes_fresh, prior);
    cr_assert_lt(own, 625, "a user who dislikes fresh still gets %zu slots of it", own);
}

Test(bandit, ucb1_with_a_prior_starts_on_the_favourite_yet_still_explores)
{
    forage_arm fresh_user[FORAGE_SOURCES] = {{0}};
    forage_prior prior[FORAGE_SOURCES];
    fresh_population_prior(prior);
    size_t c[FORAGE_SOURCES];
    /* Pseudo-counts are observations: N = 80, fresh's index 0.8 + 0.66
     * against 0.2 + 0.66, and fresh keeps the lead for the whole slate. */
    FORAGE_PASS(
        forage_bandit_compose_prior(FORAGE_POLICY_UCB1, fresh_user, prior, plenty, 10, NULL, c));
    cr_assert_eq(c[FORAGE_SOURCE_FRESH], 10);
    /* A source the population never saw has no prior: still tried first. */
    prior[FORAGE_SOURCE_RANDOM] = (forage_prior){0.0, 0.0};
    FORAGE_PASS(
        forage_bandit_compose_prior(FORAGE_POLICY_UCB1, fresh_user, prior, plenty, 10, NULL, c));
    cr_assert_geq(c[FORAGE_SOURCE_RANDOM], 1);
    /* A source the user never saw, with a poor prior, is tried once the
     * user's other arms hold many observations: ln 620 = 6.43, its index
     * 0.2 + sqrt(2 * 6.43 / 20) = 1.00 against 0.4 + sqrt(2 * 6.43 / 200)
     * = 0.65 for the others. */
    forage_arm seasoned[FORAGE_SOURCES] = {{80, 120}, {80, 120}, {80, 120}, {0, 0}};
    forage_prior poor[FORAGE_SOURCES] = {{0.0, 0.0}, {0.0, 0.0}, {0.0, 0.0}, {4.0, 16.0}};
    FORAGE_PASS(
        forage_bandit_compose_prior(FORAGE_POLICY_UCB1, seasoned, poor, plenty, 10, NULL, c));
    cr_assert_geq(c[FORAGE_SOURCE_RANDOM], 1);
}
