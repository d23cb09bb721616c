/*
 * The PN-counter: arithmetic, the sparse representation, the CRDT laws over
 * random states (commutative, associative, idempotent merge; every order and
 * duplication of deliveries converges), the encoding (round trip, every
 * truncation, each corruption rule, random garbage) and allocation failures.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "store/pncounter.h"

TIDAL_SUITE(pncounter);

/* A random state: each region present with probability ~1/3. */
static void
random_state(tidal_pncounter *c, uint64_t *s)
{
    tidal_pncounter_init(c);
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        if (tidal_test_mix(s) % 3 != 0) {
            continue;
        }
        TIDAL_PASS(tidal_pncounter_add(c, r, (int64_t)(tidal_test_mix(s) % 1000) + 1));
        if (tidal_test_mix(s) % 2 == 0) {
            TIDAL_PASS(tidal_pncounter_add(c, r, -(int64_t)(tidal_test_mix(s) % 1000) - 1));
        }
    }
}

static void
assert_equal(const tidal_pncounter *a, const tidal_pncounter *b, const char *what)
{
    cr_assert(tidal_pncounter_equal(a, b), "%s: states differ", what);
    cr_assert_eq(tidal_pncounter_hash(a), tidal_pncounter_hash(b), "%s: hashes differ", what);
    cr_assert_eq(tidal_pncounter_value(a), tidal_pncounter_value(b), "%s: values differ", what);
}

Test(pncounter, value_is_sum_of_p_minus_sum_of_n)
{
    tidal_pncounter c;
    uint64_t p, n;

    tidal_pncounter_init(&c);
    cr_assert_eq(tidal_pncounter_value(&c), 0);
    TIDAL_PASS(tidal_pncounter_add(&c, 0, 5));
    TIDAL_PASS(tidal_pncounter_add(&c, 3, 7));
    TIDAL_PASS(tidal_pncounter_add(&c, 0, -2));
    TIDAL_PASS(tidal_pncounter_add(&c, 15, -20));
    cr_assert_eq(tidal_pncounter_value(&c), 5 + 7 - 2 - 20);
    tidal_pncounter_get(&c, 0, &p, &n);
    cr_assert(p == 5 && n == 2);
    tidal_pncounter_get(&c, 9, &p, &n);
    cr_assert(p == 0 && n == 0);
    cr_assert_eq(tidal_pncounter_regions(&c), 3);
    TIDAL_PASS(tidal_pncounter_add(&c, 0, INT64_MIN));
    tidal_pncounter_get(&c, 0, &p, &n);
    cr_assert_eq(n, 2 + (1ull << 63), "INT64_MIN's magnitude is 2^63");
    tidal_pncounter_fini(&c);
}

Test(pncounter, region_limit_minus_one_exact_plus_one)
{
    tidal_pncounter c;

    tidal_pncounter_init(&c);
    TIDAL_PASS(tidal_pncounter_add(&c, TIDAL_REGIONS_MAX - 1, 1));
    TIDAL_FAIL(tidal_pncounter_add(&c, TIDAL_REGIONS_MAX, 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_pncounter_add(&c, TIDAL_REGIONS_MAX + 1, 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_pncounter_reserve(&c, TIDAL_REGIONS_MAX), TIDAL_EINVAL);
    cr_assert_eq(tidal_pncounter_regions(&c), 1);
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        TIDAL_PASS(tidal_pncounter_add(&c, r, 1));
    }
    cr_assert_eq(tidal_pncounter_regions(&c), TIDAL_REGIONS_MAX);
    cr_assert_eq(tidal_pncounter_value(&c), TIDAL_REGIONS_MAX + 1);
    tidal_pncounter_fini(&c);
}

Test(pncounter, zero_delta_stores_nothing)
{
    tidal_pncounter c, empty;

    tidal_pncounter_init(&c);
    tidal_pncounter_init(&empty);
    TIDAL_PASS(tidal_pncounter_add(&c, 4, 0));
    cr_assert_eq(tidal_pncounter_regions(&c), 0);
    assert_equal(&c, &empty, "add 0");
}

Test(pncounter, overflow_is_refused_and_changes_nothing)
{
    tidal_pncounter c;
    uint64_t p, n;

    tidal_pncounter_init(&c);
    TIDAL_PASS(tidal_pncounter_add(&c, 1, INT64_MAX));
    TIDAL_PASS(tidal_pncounter_add(&c, 1, INT64_MAX));
    TIDAL_PASS(tidal_pncounter_add(&c, 1, 1)); /* P = UINT64_MAX exactly */
    cr_assert(tidal_pncounter_would_overflow(&c, 1, 1));
    cr_assert_not(tidal_pncounter_would_overflow(&c, 1, -1));
    TIDAL_FAIL(tidal_pncounter_add(&c, 1, 1), TIDAL_ELIMIT);
    tidal_pncounter_get(&c, 1, &p, &n);
    cr_assert(p == UINT64_MAX && n == 0);
    /* The value wraps as two's complement: UINT64_MAX reads as -1. */
    cr_assert_eq(tidal_pncounter_value(&c), -1);
    tidal_pncounter_fini(&c);
}

Test(pncounter, one_region_is_inline_and_more_use_an_exact_array)
{
    tidal_pncounter c;

    cr_assert_eq(sizeof(tidal_pncounter), 24, "the inline form is 24 bytes");
    tidal_pncounter_init(&c);
    TIDAL_PASS(tidal_pncounter_add(&c, 2, 1));
    TIDAL_PASS(tidal_pncounter_add(&c, 2, -1));
    cr_assert_eq(tidal_pncounter_heap_bytes(&c), 0);
    TIDAL_PASS(tidal_pncounter_add(&c, 0, 1));
    cr_assert_eq(tidal_pncounter_heap_bytes(&c), 2 * sizeof(tidal_pn_entry));
    TIDAL_PASS(tidal_pncounter_add(&c, 1, 1));
    cr_assert_eq(tidal_pncounter_heap_bytes(&c), 3 * sizeof(tidal_pn_entry));
    tidal_pncounter_fini(&c);
    cr_assert_eq(tidal_pncounter_heap_bytes(&c), 0);
}

Test(pncounter, tag_belongs_to_the_container)
{
    tidal_pncounter a, b;
    uint64_t s = 3;

    random_state(&a, &s);
    random_state(&b, &s);
    a.tag = 77;
    TIDAL_PASS(tidal_pncounter_merge(&a, &b));
    TIDAL_PASS(tidal_pncounter_add(&a, 9, 1));
    TIDAL_PASS(tidal_pncounter_copy(&a, &b));
    cr_assert_eq(a.tag, 77);
    b.tag = 5;
    cr_assert(tidal_pncounter_equal(&a, &b), "equal ignores the tag");
    tidal_pncounter_fini(&a);
    tidal_pncounter_fini(&b);
}

Test(pncounter, merge_is_commutative_associative_idempotent)
{
    uint64_t s = 11;

    for (int i = 0; i < 3000; i++) {
        tidal_pncounter a, b, c, ab, ba, ab_c, bc, a_bc, aa;
        random_state(&a, &s);
        random_state(&b, &s);
        random_state(&c, &s);
        tidal_pncounter_init(&ab);
        tidal_pncounter_init(&ba);
        tidal_pncounter_init(&bc);
        tidal_pncounter_init(&aa);
        TIDAL_PASS(tidal_pncounter_copy(&ab, &a));
        TIDAL_PASS(tidal_pncounter_merge(&ab, &b));
        TIDAL_PASS(tidal_pncounter_copy(&ba, &b));
        TIDAL_PASS(tidal_pncounter_merge(&ba, &a));
        assert_equal(&ab, &ba, "commutative");

        tidal_pncounter_init(&ab_c);
        TIDAL_PASS(tidal_pncounter_copy(&ab_c, &ab));
        TIDAL_PASS(tidal_pncounter_merge(&ab_c, &c));
        TIDAL_PASS(tidal_pncounter_copy(&bc, &b));
        TIDAL_PASS(tidal_pncounter_merge(&bc, &c));
        tidal_pncounter_init(&a_bc);
        TIDAL_PASS(tidal_pncounter_copy(&a_bc, &a));
        TIDAL_PASS(tidal_pncounter_merge(&a_bc, &bc));
        assert_equal(&ab_c, &a_bc, "associative");

        TIDAL_PASS(tidal_pncounter_copy(&aa, &a));
        TIDAL_PASS(tidal_pncounter_merge(&aa, &a));
        assert_equal(&aa, &a, "idempotent");
        TIDAL_PASS(tidal_pncounter_merge(&ab, &a));
        assert_equal(&ab, &ba, "absorbs a part");
        TIDAL_PASS(tidal_pncounter_merge(&a, &a));
        assert_equal(&aa, &a, "self merge");

        tidal_pncounter *all[] = {&a, &b, &c, &ab, &ba, &ab_c, &bc, &a_bc, &aa};
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
            tidal_pncounter_fini(all[k]);
        }
    }
}

/* Replicas each receive a random subset of the regions' increments, in
 * random order and with duplicates of whole states merged again, then merge
 * with each other in a random order: all end equal, with the true total. */
Test(pncounter, every_order_and_duplication_converges)
{
    uint64_t s = 99;

    for (int round = 0; round < 300; round++) {
        enum { REPLICAS = 4, REGIONS = 3 };
        tidal_pncounter origin[REGIONS];
        tidal_pncounter rep[REPLICAS];
        int64_t total = 0;

        /* Each region counts only its own events. */
        for (int r = 0; r < REGIONS; r++) {
            tidal_pncounter_init(&origin[r]);
            int events = (int)(tidal_test_mix(&s) % 20);
            for (int e = 0; e < events; e++) {
                int64_t d = (int64_t)(tidal_test_mix(&s) % 21) - 10;
                TIDAL_PASS(tidal_pncounter_add(&origin[r], (tidal_region_id)r, d));
                total += d;
            }
        }
        for (int k = 0; k < REPLICAS; k++) {
            tidal_pncounter_init(&rep[k]);
        }
        /* Random gossip: 40 merges of a random source into a random target. */
        for (int g = 0; g < 40; g++) {
            int to = (int)(tidal_test_mix(&s) % REPLICAS);
            if (tidal_test_mix(&s) % 2 == 0) {
                TIDAL_PASS(tidal_pncounter_merge(&rep[to], &origin[tidal_test_mix(&s) % REGIONS]));
            } else {
                TIDAL_PASS(tidal_pncounter_merge(&rep[to], &rep[tidal_test_mix(&s) % REPLICAS]));
            }
        }
        /* Then everyone gets everything, in a shuffled order. */
        for (int k = 0; k < REPLICAS; k++) {
            int order[REGIONS] = {0, 1, 2};
            for (int i = REGIONS - 1; i > 0; i--) {
                int j = (int)(tidal_test_mix(&s) % (uint64_t)(i + 1));
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int i = 0; i < REGIONS; i++) {
                TIDAL_PASS(tidal_pncounter_merge(&rep[k], &origin[order[i]]));
            }
        }
        for (int k = 0; k < REPLICAS; k++) {
            assert_equal(&rep[k], &rep[0], "replicas");
            cr_assert_eq(tidal_pncounter_value(&rep[k]), total);
        }
        for (int k = 0; k < REPLICAS; k++) {
            tidal_pncounter_fini(&rep[k]);
        }
        for (int r = 0; r < REGIONS; r++) {
            tidal_pncounter_fini(&origin[r]);
        }
    }
}

Test(pncounter, encoding_round_trips_and_is_canonical)
{
    uint64_t s = 5;
    uint8_t buf[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];
    uint8_t buf2[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];

    for (int i = 0; i < 2000; i++) {
        tidal_pncounter a, b;
        size_t len, len2;
        random_state(&a, &s);
        tidal_pncounter_init(&b);
        TIDAL_PASS(tidal_pncounter_encode(&a, buf, sizeof(buf), &len));
        cr_assert_eq(len, 1 + 18 * tidal_pncounter_regions(&a));
        cr_assert_eq(tidal_pncounter_hash(&a), tidal_hash64(buf, len, 0x504e636f756e7465ull),
                     "the hash is the hash of the encoding");
        TIDAL_PASS(tidal_pncounter_decode(&b, buf, len));
        assert_equal(&a, &b, "round trip");
        TIDAL_PASS(tidal_pncounter_encode(&b, buf2, sizeof(buf2), &len2));
        cr_assert(len == len2 && memcmp(buf, buf2, len) == 0);
        tidal_pncounter_fini(&a);
        tidal_pncounter_fini(&b);
    }
}

Test(pncounter, encode_into_a_short_buffer_reports_the_size_needed)
{
    tidal_pncounter c;
    uint8_t buf[64];
    size_t len;

    tidal_pncounter_init(&c);
    TIDAL_PASS(tidal_pncounter_add(&c, 1, 1));
    TIDAL_PASS(tidal_pncounter_add(&c, 2, 1));
    TIDAL_FAIL(tidal_pncounter_encode(&c, buf, 36, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, 37);
    TIDAL_PASS(tidal_pncounter_encode(&c, buf, 37, &len));
    TIDAL_FAIL(tidal_pncounter_encode(&c, NULL, 0, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, 37);
    tidal_pncounter_fini(&c);
}

Test(pncounter, decode_rejects_every_truncation_and_trailing_bytes)
{
    tidal_pncounter c, d;
    uint8_t buf[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX + 1];
    size_t len;
    uint64_t s = 8;

    random_state(&c, &s);
    TIDAL_PASS(tidal_pncounter_add(&c, 0, 3));
    TIDAL_PASS(tidal_pncounter_add(&c, 9, 3));
    TIDAL_PASS(tidal_pncounter_encode(&c, buf, sizeof(buf), &len));
    tidal_pncounter_init(&d);
    TIDAL_PASS(tidal_pncounter_add(&d, 7, 42));
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_pncounter_decode(&d, buf, cut), TIDAL_ETRUNCATED);
    }
    TIDAL_FAIL(tidal_pncounter_decode(&d, NULL, 0), TIDAL_ETRUNCATED);
    buf[len] = 0;
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, len + 1), TIDAL_ETRAILING);
    cr_assert_eq(tidal_pncounter_value(&d), 42, "a failed decode leaves the target alone");
    cr_assert_eq(tidal_pncounter_regions(&d), 1);
    tidal_pncounter_fini(&c);
    tidal_pncounter_fini(&d);
}

/* Writes an entry of the format by hand. */
static size_t
put_entry(uint8_t *p, uint16_t region, uint64_t pv, uint64_t nv)
{
    p[0] = (uint8_t)region;
    p[1] = (uint8_t)(region >> 8);
    for (int i = 0; i < 8; i++) {
        p[2 + i] = (uint8_t)(pv >> (8 * i));
        p[10 + i] = (uint8_t)(nv >> (8 * i));
    }
    return 18;
}

Test(pncounter, decode_rejects_each_broken_rule)
{
    uint8_t buf[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX + 64];
    tidal_pncounter d;
    size_t n;

    tidal_pncounter_init(&d);
    /* Count above the limit. */
    buf[0] = TIDAL_REGIONS_MAX + 1;
    n = 1;
    for (unsigned i = 0; i <= TIDAL_REGIONS_MAX; i++) {
        n += put_entry(buf + n, (uint16_t)i, 1, 0);
    }
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, n), TIDAL_ECORRUPT);
    /* Region out of range. */
    buf[0] = 1;
    n = 1 + put_entry(buf + 1, TIDAL_REGIONS_MAX, 1, 0);
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, n), TIDAL_ECORRUPT);
    /* Regions out of order, and repeated. */
    buf[0] = 2;
    n = 1 + put_entry(buf + 1, 3, 1, 0);
    n += put_entry(buf + n, 2, 1, 0);
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, n), TIDAL_ECORRUPT);
    n = 1 + put_entry(buf + 1, 3, 1, 0);
    n += put_entry(buf + n, 3, 2, 0);
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, n), TIDAL_ECORRUPT);
    /* An all-zero entry is not canonical. */
    buf[0] = 1;
    n = 1 + put_entry(buf + 1, 3, 0, 0);
    TIDAL_FAIL(tidal_pncounter_decode(&d, buf, n), TIDAL_ECORRUPT);
    /* The largest valid input decodes. */
    buf[0] = TIDAL_REGIONS_MAX;
    n = 1;
    for (unsigned i = 0; i < TIDAL_REGIONS_MAX; i++) {
        n += put_entry(buf + n, (uint16_t)i, UINT64_MAX, UINT64_MAX);
    }
    cr_assert_eq(n, TIDAL_PNCOUNTER_ENCODED_BYTES_MAX);
    TIDAL_PASS(tidal_pncounter_decode(&d, buf, n));
    cr_assert_eq(tidal_pncounter_regions(&d), TIDAL_REGIONS_MAX);
    tidal_pncounter_fini(&d);
}

Test(pncounter, random_garbage_is_rejected_or_decodes_canonically)
{
    uint8_t buf[80], out[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];
    uint64_t s = 123;
    int ok = 0;

    for (int i = 0; i < 20000; i++) {
        tidal_pncounter d;
        size_t len = tidal_test_mix(&s) % sizeof(buf), olen;
        int rv;
        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)tidal_test_mix(&s);
        }
        /* Bias toward plausible headers so that deeper rules are reached. */
        if (len > 0 && i % 2 == 0) {
            buf[0] = (uint8_t)(tidal_test_mix(&s) % 5);
            for (size_t e = 0; e < buf[0] && 1 + 18 * e + 1 < len; e++) {
                buf[1 + 18 * e] = (uint8_t)(tidal_test_mix(&s) % 20);
                buf[2 + 18 * e] = 0;
            }
        }
        tidal_pncounter_init(&d);
        rv = tidal_pncounter_decode(&d, buf, len);
        cr_assert(rv == 0 || rv == TIDAL_ETRUNCATED || rv == TIDAL_ECORRUPT ||
                      rv == TIDAL_ETRAILING,
                  "unexpected %s", tidal_errname(rv));
        if (rv == 0) {
            ok++;
            TIDAL_PASS(tidal_pncounter_encode(&d, out, sizeof(out), &olen));
            cr_assert(olen == len && memcmp(out, buf, len) == 0, "accepted input is canonical");
        }
        tidal_pncounter_fini(&d);
    }
    cr_log_info("random inputs accepted: %d of 20000", ok);
}

Test(pncounter, out_of_memory_changes_nothing)
{
    uint64_t s = 17;

    for (int i = 0; i < 300; i++) {
        tidal_pncounter a, b, before;
        uint8_t buf[TIDAL_PNCOUNTER_ENCODED_BYTES_MAX];
        size_t len;
        int rv;

        random_state(&a, &s);
        random_state(&b, &s);
        tidal_pncounter_init(&before);
        TIDAL_PASS(tidal_pncounter_copy(&before, &a));
        tidal__alloc_fail_after(0);
        rv = tidal_pncounter_merge(&a, &b);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            assert_equal(&a, &before, "failed merge");
        }
        TIDAL_PASS(tidal_pncounter_copy(&a, &before));
        tidal__alloc_fail_after(0);
        rv = tidal_pncounter_add(&a, (tidal_region_id)(tidal_test_mix(&s) % TIDAL_REGIONS_MAX), 5);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            assert_equal(&a, &before, "failed add");
        }
        TIDAL_PASS(tidal_pncounter_copy(&a, &before));
        TIDAL_PASS(tidal_pncounter_encode(&b, buf, sizeof(buf), &len));
        tidal__alloc_fail_after(0);
        rv = tidal_pncounter_decode(&a, buf, len);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            assert_equal(&a, &before, "failed decode");
        }
        tidal_pncounter_fini(&a);
        tidal_pncounter_fini(&b);
        tidal_pncounter_fini(&before);
    }
}

Test(pncounter, raise_is_a_merge_with_one_region)
{
    uint64_t s = 71;

    for (int i = 0; i < 2000; i++) {
        tidal_pncounter a, b, one;
        tidal_region_id r = (tidal_region_id)(tidal_test_mix(&s) % TIDAL_REGIONS_MAX);
        uint64_t p = tidal_test_mix(&s) % 3 == 0 ? 0 : tidal_test_mix(&s) % 2000;
        uint64_t n = tidal_test_mix(&s) % 3 == 0 ? 0 : tidal_test_mix(&s) % 2000;
        random_state(&a, &s);
        tidal_pncounter_init(&b);
        tidal_pncounter_init(&one);
        TIDAL_PASS(tidal_pncounter_copy(&b, &a));
        TIDAL_PASS(tidal_pncounter_raise(&a, r, p, n));
        TIDAL_PASS(tidal_pncounter_add(&one, r, (int64_t)p));
        TIDAL_PASS(tidal_pncounter_add(&one, r, -(int64_t)n));
        TIDAL_PASS(tidal_pncounter_merge(&b, &one));
        assert_equal(&a, &b, "raise");
        TIDAL_PASS(tidal_pncounter_raise(&a, r, p, n));
        assert_equal(&a, &b, "raise twice");
        tidal_pncounter_fini(&a);
        tidal_pncounter_fini(&b);
        tidal_pncounter_fini(&one);
    }
    tidal_pncounter c;
    tidal_pncounter_init(&c);
    TIDAL_FAIL(tidal_pncounter_raise(&c, TIDAL_REGIONS_MAX, 1, 0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_pncounter_raise(&c, 1, 0, 0));
    cr_assert_eq(tidal_pncounter_regions(&c), 0, "(0, 0) stores nothing");
    TIDAL_PASS(tidal_pncounter_raise(&c, 1, UINT64_MAX, 0));
    TIDAL_PASS(tidal_pncounter_raise(&c, 2, 0, 1));
    TIDAL_PASS(tidal_pncounter_reserve(&c, 3));
    tidal__alloc_fail_after(0);
    TIDAL_PASS(tidal_pncounter_raise(&c, 3, 9, 9));
    TIDAL_FAIL(tidal_pncounter_raise(&c, 4, 9, 9), TIDAL_ENOMEM);
    tidal__alloc_fail_after(-1);
    cr_assert_eq(tidal_pncounter_regions(&c), 3);
    tidal_pncounter_fini(&c);
}

Test(pncounter, reserve_then_add_cannot_fail_for_memory)
{
    tidal_pncounter c;

    tidal_pncounter_init(&c);
    TIDAL_PASS(tidal_pncounter_add(&c, 1, 1));
    TIDAL_PASS(tidal_pncounter_reserve(&c, 2));
    tidal__alloc_fail_after(0);
    TIDAL_PASS(tidal_pncounter_add(&c, 2, 1));
    TIDAL_FAIL(tidal_pncounter_add(&c, 3, 1), TIDAL_ENOMEM);
    tidal__alloc_fail_after(-1);
    cr_assert_eq(tidal_pncounter_value(&c), 2);
    tidal_pncounter_fini(&c);
}
