/*
 * Idempotency keys: a retry within the retention returns the first result,
 * the key limit at -1, exactly and +1 (oldest evicted), time expiry at its
 * exact edge, a clock stepping back, bounded memory, options, and allocation
 * failures.
 */
#include "tidal_test.h"

#include "base/alloc.h"
#include "store/idem.h"

TIDAL_SUITE(idem);

#define SEC 1000000000ull
#define T0 (1700000000ull * SEC)

static tidal_idem_key
key(uint64_t n)
{
    tidal_idem_key k = {.hi = 0x1d3, .lo = n};
    return k;
}

static tidal_idem *
open_idem(size_t keys_max, uint64_t retention_ns)
{
    tidal_idem_opts o = {.keys_max = keys_max, .retention_ns = retention_ns};
    tidal_idem *m;
    TIDAL_PASS(tidal_idem_open(&o, &m));
    return m;
}

static void
put(tidal_idem *m, uint64_t n, uint64_t now)
{
    tidal_idem_key k = key(n);
    tidal_idem_result r = {.code = 0, .value = n * 10};
    TIDAL_PASS(tidal_idem_put(m, &k, &r, now));
}

static bool
known(tidal_idem *m, uint64_t n, uint64_t now)
{
    tidal_idem_key k = key(n);
    tidal_idem_result r;
    bool found = tidal_idem_check(m, &k, now, &r);
    if (found) {
        cr_assert_eq(r.value, n * 10);
    }
    return found;
}

Test(idem, a_retry_gets_the_first_result)
{
    tidal_idem *m;
    tidal_idem_key k = key(1);
    tidal_idem_result first = {.code = 0, .value = 41}, second = {.code = TIDAL_EFULL, .value = 9};
    tidal_idem_result got;

    TIDAL_PASS(tidal_idem_open(NULL, &m));
    cr_assert_not(tidal_idem_check(m, &k, T0, &got));
    TIDAL_PASS(tidal_idem_put(m, &k, &first, T0));
    TIDAL_FAIL(tidal_idem_put(m, &k, &second, T0 + SEC), TIDAL_EEXIST);
    cr_assert(tidal_idem_check(m, &k, T0 + 2 * SEC, &got));
    cr_assert(got.code == 0 && got.value == 41);
    /* Error results are remembered too. */
    tidal_idem_key k2 = key(2);
    TIDAL_PASS(tidal_idem_put(m, &k2, &second, T0));
    cr_assert(tidal_idem_check(m, &k2, T0, &got));
    cr_assert(got.code == TIDAL_EFULL && got.value == 9);
    tidal_idem_close(m);
    tidal_idem_close(NULL);
}

Test(idem, defaults_are_100000_keys_and_10_minutes)
{
    tidal_idem *m;
    tidal_idem_opts o = {0};

    TIDAL_PASS(tidal_idem_open(&o, &m));
    put(m, 1, T0);
    cr_assert(known(m, 1, T0 + 600 * SEC - 1));
    cr_assert_not(known(m, 1, T0 + 600 * SEC));
    for (uint64_t n = 0; n < TIDAL_IDEM_KEYS_DEFAULT + 1; n++) {
        put(m, 100 + n, T0 + SEC);
    }
    cr_assert_eq(tidal_idem_count(m), TIDAL_IDEM_KEYS_DEFAULT);
    cr_assert_not(known(m, 100, T0 + SEC));
    cr_assert(known(m, 101, T0 + SEC));
    tidal_idem_close(m);
}

Test(idem, key_limit_minus_one_exact_plus_one)
{
    enum { MAX = 1000 };
    tidal_idem *m = open_idem(MAX, 3600 * SEC);

    for (uint64_t n = 1; n <= MAX - 1; n++) {
        put(m, n, T0 + n);
    }
    cr_assert_eq(tidal_idem_count(m), MAX - 1);
    cr_assert(known(m, 1, T0 + MAX));
    put(m, MAX, T0 + MAX);
    cr_assert_eq(tidal_idem_count(m), MAX);
    cr_assert(known(m, 1, T0 + MAX), "exactly at the limit nothing is forgotten");
    put(m, MAX + 1, T0 + MAX + 1);
    cr_assert_eq(tidal_idem_count(m), MAX);
    cr_assert_not(known(m, 1, T0 + MAX + 1), "one past the limit forgets the oldest");
    cr_assert(known(m, 2, T0 + MAX + 1));
    cr_assert(known(m, MAX + 1, T0 + MAX + 1));
    tidal_idem_close(m);
}

Test(idem, keys_expire_exactly_at_the_retention)
{
    tidal_idem *m = open_idem(0, 60 * SEC);

    put(m, 1, T0);
    put(m, 2, T0 + 10 * SEC);
    cr_assert(known(m, 1, T0 + 60 * SEC - 1));
    cr_assert_not(known(m, 1, T0 + 60 * SEC));
    cr_assert_eq(tidal_idem_count(m), 1, "forgotten on access");
    /* An expired key can be put again (the retry is a new write). */
    put(m, 1, T0 + 60 * SEC);
    cr_assert(known(m, 2, T0 + 69 * SEC));
    tidal_idem_expire(m, T0 + 70 * SEC);
    cr_assert_eq(tidal_idem_count(m), 1);
    tidal_idem_expire(m, T0 + 120 * SEC);
    cr_assert_eq(tidal_idem_count(m), 0);
    tidal_idem_close(m);
}

Test(idem, a_clock_stepping_back_never_shortens_the_retention)
{
    tidal_idem *m = open_idem(0, 60 * SEC);

    put(m, 1, T0 + 30 * SEC);
    put(m, 2, T0); /* stamped T0 + 30 s, after key 1 */
    cr_assert(known(m, 2, T0 + 89 * SEC));
    cr_assert_not(known(m, 2, T0 + 90 * SEC));
    /* A check with a time before the keys' does not expire them. */
    put(m, 3, T0 + 100 * SEC);
    cr_assert(known(m, 3, T0));
    tidal_idem_close(m);
}

Test(idem, memory_stays_bounded_under_endless_puts)
{
    enum { MAX = 5000 };
    tidal_idem *m = open_idem(MAX, 3600 * SEC);
    size_t at_limit = 0;

    for (uint64_t n = 0; n < 20 * MAX; n++) {
        put(m, n, T0 + n);
        if (n == MAX) {
            at_limit = tidal_idem_memory_bytes(m);
        }
    }
    cr_assert_eq(tidal_idem_count(m), MAX);
    cr_assert_eq(tidal_idem_memory_bytes(m), at_limit, "no growth past the limit");
    cr_log_info("idem: %d keys in %zu bytes (%.1f bytes/key)", MAX, at_limit,
                (double)at_limit / MAX);
    cr_assert(at_limit < (size_t)MAX * 120, "%zu bytes", at_limit);
    tidal_idem_close(m);
}

Test(idem, options_are_range_checked)
{
    tidal_idem *m;
    tidal_idem_opts o = {.keys_max = TIDAL_IDEM_KEYS_MAX};

    TIDAL_PASS(tidal_idem_open(&o, &m));
    tidal_idem_close(m);
    o.keys_max = TIDAL_IDEM_KEYS_MAX + 1;
    TIDAL_FAIL(tidal_idem_open(&o, &m), TIDAL_EINVAL);
    o.keys_max = 1;
    TIDAL_PASS(tidal_idem_open(&o, &m));
    put(m, 1, T0);
    put(m, 2, T0);
    cr_assert_not(known(m, 1, T0));
    cr_assert(known(m, 2, T0));
    tidal_idem_close(m);
}

Test(idem, out_of_memory_forgets_nothing_live)
{
    tidal_idem *m = open_idem(3000, 3600 * SEC);
    int failures = 0;

    for (uint64_t n = 1; n <= 6000; n++) {
        tidal_idem_key k = key(n);
        tidal_idem_result r = {.value = n * 10};
        size_t count = tidal_idem_count(m);
        int rv;
        tidal__alloc_fail_after(0);
        rv = tidal_idem_put(m, &k, &r, T0 + n);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_idem_count(m), count);
            cr_assert_not(known(m, n, T0 + n));
            cr_assert(n == 1 || known(m, n - 1, T0 + n));
            failures++;
            TIDAL_PASS(tidal_idem_put(m, &k, &r, T0 + n));
        }
    }
    cr_assert(failures >= 6, "growth was exercised (%d)", failures);
    cr_assert_eq(tidal_idem_count(m), 3000);
    tidal_idem_close(m);
}
