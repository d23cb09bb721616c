/*
 * The bandit and the slate rules: the signal-to-count rule, each policy's
 * composition, hidden items never shown, duplicates given to the earlier
 * source, and a source whose items get hidden losing weight.
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
            FORAGE_PASS(
                forage_slate_build((forage_policy)p, arms, cands, hidden_in, hidden, &r, &sl));
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
