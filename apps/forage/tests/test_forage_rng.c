/*
 * The samplers against their closed forms: sample means and variances of
 * 200,000 draws from a fixed seed, within generous bounds (five standard
 * errors for means; variances within 5%, several standard errors even for
 * the heavy-tailed Gamma(0.3)).  A fixed seed makes each check deterministic.
 */
#include "forage_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "rng.h"

FORAGE_SUITE(rng);

#define DRAWS 200000

typedef double (*draw_fn)(forage_rng *r, double a, double b);

static void
check_moments(const char *what, draw_fn fn, double a, double b, double mean, double var)
{
    forage_rng r;
    forage_rng_seed(&r, 12345);
    double sum = 0.0, sq = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double x = fn(&r, a, b);
        cr_assert(isfinite(x), "%s: non-finite draw", what);
        sum += x;
        sq += x * x;
    }
    double m = sum / DRAWS, v = sq / DRAWS - m * m;
    double se = sqrt(var / DRAWS);
    cr_assert(fabs(m - mean) <= 5.0 * se, "%s: mean %.5f, want %.5f (se %.5f)", what, m, mean, se);
    cr_assert(fabs(v - var) <= 0.05 * var, "%s: variance %.5f, want %.5f", what, v, var);
}

static double
uniform(forage_rng *r, double a, double b)
{
    (void)a;
    (void)b;
    return forage_rng_uniform(r);
}

static double
normal(forage_rng *r, double a, double b)
{
    (void)a;
    (void)b;
    return forage_rng_normal(r);
}

static double
gamma_(forage_rng *r, double a, double b)
{
    (void)b;
    return forage_rng_gamma(r, a);
}

static double
beta(forage_rng *r, double a, double b)
{
    return forage_rng_beta(r, a, b);
}

Test(rng, same_seed_same_stream_other_stream_differs)
{
    forage_rng a, b, c;
    forage_rng_seed(&a, 5);
    forage_rng_seed(&b, 5);
    forage_rng_seed2(&c, 5, 1);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = forage_rng_next(&a);
        cr_assert_eq(x, forage_rng_next(&b));
        same_c += x == forage_rng_next(&c);
    }
    cr_assert_eq(same_c, 0);
}

Test(rng, uniform_and_normal_match_their_moments)
{
    check_moments("uniform", uniform, 0, 0, 0.5, 1.0 / 12.0);
    check_moments("normal", normal, 0, 0, 0.0, 1.0);
}

Test(rng, gamma_matches_mean_and_variance_equal_to_shape)
{
    static const double shapes[] = {0.3, 1.0, 2.5, 9.0};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char what[32];
        snprintf(what, sizeof(what), "gamma(%.1f)", shapes[i]);
        check_moments(what, gamma_, shapes[i], 0, shapes[i], shapes[i]);
    }
}

Test(rng, beta_matches_its_mean_and_variance)
{
    static const double ab[][2] = {{1, 1}, {2, 5}, {0.5, 0.5}, {30, 10}, {1, 200}};
    for (size_t i = 0; i < sizeof(ab) / sizeof(ab[0]); i++) {
        double a = ab[i][0], b = ab[i][1], s = a + b;
        char what[48];
        snprintf(what, sizeof(what), "beta(%.1f, %.1f)", a, b);
        check_moments(what, beta, a, b, a / s, a * b / (s * s * (s + 1.0)));
    }
}

Test(rng, below_is_uniform_over_its_range)
{
    forage_rng r;
    forage_rng_seed(&r, 9);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint64_t x = forage_rng_below(&r, 3);
        cr_assert_lt(x, 3);
        counts[x]++;
    }
    /* Binomial(30000, 1/3): sd about 82; 5 sd. */
    for (int i = 0; i < 3; i++) {
        cr_assert(abs(counts[i] - 10000) < 410, "value %d drawn %d times", i, counts[i]);
    }
}
