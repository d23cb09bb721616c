/*
 * The session HWM tracker: the seed's test ported exactly, the edges (seqno
 * 0, UINT64_MAX, many sessions), the durable encoding (round trip, canonical
 * bytes, every truncation, CRC, each broken rule with the CRC recomputed) and
 * allocation failures.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/alloc.h"
#include "store/crc32c.h"
#include "base/hash.h"
#include "store/hwm.h"

TIDAL_SUITE(hwm);

static bool
should_apply(tidal_hwm *h, const tidal_session_id *id, uint64_t seqno)
{
    bool apply = false;
    TIDAL_PASS(tidal_hwm_should_apply(h, id, seqno, &apply));
    return apply;
}

/* test_session_seqno_hwm_rejects_duplicates from the seed, line for line. */
Test(hwm, seed_seqno_hwm_rejects_duplicates)
{
    tidal_hwm *tracker;
    tidal_session_id session;

    TIDAL_PASS(tidal_hwm_open(&tracker));
    TIDAL_PASS(tidal_session_id_new(&session));

    /* Sequence 1..5 -- all accepted. */
    for (uint64_t i = 1; i <= 5; i++) {
        cr_assert(should_apply(tracker, &session, i));
    }
    /* Re-send seqno 3 -- rejected. */
    cr_assert_not(should_apply(tracker, &session, 3));
    /* Seqno 6 -- accepted. */
    cr_assert(should_apply(tracker, &session, 6));
    /* HWM should be 6 now. */
    cr_assert_eq(tidal_hwm_get(tracker, &session), 6);
    tidal_hwm_close(tracker);
}

Test(hwm, seqno_zero_is_never_applied_and_stores_nothing)
{
    tidal_hwm *h;
    tidal_session_id id = {1, 2};

    TIDAL_PASS(tidal_hwm_open(&h));
    cr_assert_eq(tidal_hwm_get(h, &id), 0);
    cr_assert_not(should_apply(h, &id, 0));
    cr_assert_eq(tidal_hwm_count(h), 0);
    cr_assert(should_apply(h, &id, 1));
    cr_assert_not(should_apply(h, &id, 0));
    cr_assert_not(should_apply(h, &id, 1));
    cr_assert_eq(tidal_hwm_get(h, &id), 1);
    tidal_hwm_close(h);
    tidal_hwm_close(NULL);
}

Test(hwm, uint64_max_applies_once_then_nothing_does)
{
    tidal_hwm *h;
    tidal_session_id id = {3, 4};

    TIDAL_PASS(tidal_hwm_open(&h));
    cr_assert(should_apply(h, &id, UINT64_MAX - 1));
    cr_assert(should_apply(h, &id, UINT64_MAX));
    cr_assert_not(should_apply(h, &id, UINT64_MAX));
    cr_assert_not(should_apply(h, &id, 7));
    cr_assert_eq(tidal_hwm_get(h, &id), UINT64_MAX);
    tidal_hwm_close(h);
}

Test(hwm, a_jump_is_accepted_and_the_skipped_seqnos_then_refused)
{
    tidal_hwm *h;
    tidal_session_id id = {5, 5};

    /* Gap handling is the apply path's job; the tracker is a pure HWM. */
    TIDAL_PASS(tidal_hwm_open(&h));
    cr_assert(should_apply(h, &id, 1));
    cr_assert(should_apply(h, &id, 5));
    cr_assert_not(should_apply(h, &id, 3));
    tidal_hwm_close(h);
}

Test(hwm, many_sessions_are_independent)
{
    enum { N = 20000 };
    tidal_hwm *h;
    uint64_t s = 1;

    TIDAL_PASS(tidal_hwm_open(&h));
    for (uint64_t round = 1; round <= 3; round++) {
        for (uint64_t k = 0; k < N; k++) {
            tidal_session_id id = {k, ~k};
            cr_assert(should_apply(h, &id, round * (k % 7 + 1)));
            cr_assert_not(should_apply(h, &id, round * (k % 7 + 1)));
        }
    }
    for (uint64_t k = 0; k < N; k++) {
        tidal_session_id id = {k, ~k};
        cr_assert_eq(tidal_hwm_get(h, &id), 3 * (k % 7 + 1));
    }
    cr_assert_eq(tidal_hwm_count(h), N);
    cr_log_info("hwm: %d sessions in %zu bytes", N, tidal_hwm_memory_bytes(h));
    tidal_session_id id = {1, ~1ull};
    cr_assert(tidal_hwm_remove(h, &id));
    cr_assert_not(tidal_hwm_remove(h, &id));
    cr_assert_eq(tidal_hwm_get(h, &id), 0);
    (void)tidal_test_mix(&s);
    tidal_hwm_close(h);
}

Test(hwm, raise_only_raises)
{
    tidal_hwm *h;
    tidal_session_id id = {9, 9};

    TIDAL_PASS(tidal_hwm_open(&h));
    TIDAL_PASS(tidal_hwm_raise(h, &id, 10));
    TIDAL_PASS(tidal_hwm_raise(h, &id, 4));
    TIDAL_PASS(tidal_hwm_raise(h, &id, 0));
    cr_assert_eq(tidal_hwm_get(h, &id), 10);
    tidal_hwm_close(h);
}

static tidal_hwm *
random_table(uint64_t *s, size_t n)
{
    tidal_hwm *h;

    TIDAL_PASS(tidal_hwm_open(&h));
    for (size_t i = 0; i < n; i++) {
        tidal_session_id id = {tidal_test_mix(s) % 50, tidal_test_mix(s)};
        TIDAL_PASS(tidal_hwm_raise(h, &id, 1 + tidal_test_mix(s) % 1000));
    }
    return h;
}

Test(hwm, encoding_round_trips_with_canonical_bytes)
{
    uint64_t s = 4;

    for (int round = 0; round < 50; round++) {
        size_t n = tidal_test_mix(&s) % 300;
        tidal_hwm *a = random_table(&s, n), *b, *c;
        size_t need = tidal_hwm_encoded_bytes(a), len, len2;
        uint8_t *buf = malloc(need), *buf2 = malloc(need);
        TIDAL_PASS(tidal_hwm_encode(a, buf, need, &len));
        cr_assert_eq(len, need);
        cr_assert_eq(len, 13 + 24 * tidal_hwm_count(a));
        TIDAL_PASS(tidal_hwm_open(&b));
        TIDAL_PASS(tidal_hwm_decode(b, buf, len));
        cr_assert_eq(tidal_hwm_count(b), tidal_hwm_count(a));
        /* Another insertion history, same contents: same bytes. */
        TIDAL_PASS(tidal_hwm_encode(b, buf2, need, &len2));
        cr_assert(len == len2 && memcmp(buf, buf2, len) == 0);
        /* Decoding into a table with entries raises them. */
        TIDAL_PASS(tidal_hwm_open(&c));
        tidal_session_id extra = {999, 1};
        TIDAL_PASS(tidal_hwm_raise(c, &extra, 5));
        TIDAL_PASS(tidal_hwm_decode(c, buf, len));
        cr_assert_eq(tidal_hwm_count(c), tidal_hwm_count(a) + 1);
        free(buf);
        free(buf2);
        tidal_hwm_close(a);
        tidal_hwm_close(b);
        tidal_hwm_close(c);
    }
}

Test(hwm, encode_into_a_short_buffer_reports_the_size_needed)
{
    uint64_t s = 6;
    tidal_hwm *a = random_table(&s, 10);
    uint8_t buf[512];
    size_t len;

    TIDAL_FAIL(tidal_hwm_encode(a, buf, 13 + 24 * 10 - 1, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, 13 + 24 * 10);
    TIDAL_FAIL(tidal_hwm_encode(a, NULL, 0, &len), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_hwm_encode(a, buf, len, &len));
    tidal_hwm_close(a);
}

/* Rewrites the CRC after an edit, so that the rules behind it are reached. */
static void
fix_crc(uint8_t *buf, size_t len)
{
    uint32_t crc = tidal_crc32c(0, buf, len - 4);
    for (int i = 0; i < 4; i++) {
        buf[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

Test(hwm, decode_rejects_truncation_crc_and_each_broken_rule)
{
    tidal_hwm *a, *b;
    tidal_session_id ids[3] = {{1, 1}, {1, 2}, {2, 0}};
    uint8_t buf[128], bad[128];
    size_t len;

    TIDAL_PASS(tidal_hwm_open(&a));
    TIDAL_PASS(tidal_hwm_open(&b));
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_hwm_raise(a, &ids[i], 10 + (uint64_t)i));
    }
    TIDAL_PASS(tidal_hwm_encode(a, buf, sizeof(buf), &len));
    cr_assert_eq(len, 13 + 72);
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_hwm_decode(b, buf, cut), TIDAL_ETRUNCATED);
    }
    memcpy(bad, buf, len);
    bad[len] = 0;
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len + 1), TIDAL_ETRAILING);
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, buf, len);
        bad[i] ^= 0x40;
        int rv = tidal_hwm_decode(b, bad, len);
        cr_assert(rv == TIDAL_ECRC || (i == 0 && rv == TIDAL_EVERSION) ||
                      (i >= 1 && i < 9 && (rv == TIDAL_ETRUNCATED || rv == TIDAL_ETRAILING)),
                  "flip at %zu: %s", i, tidal_errname(rv));
    }
    /* Past the CRC. */
    memcpy(bad, buf, len);
    put64(bad + 9 + 24 + 16, 0); /* an HWM of 0 */
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    memset(bad + 9, 0, 16); /* the zero id */
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    memcpy(bad + 9 + 24, bad + 9, 24); /* a repeated id */
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    memcpy(bad + 9, buf + 9 + 48, 24); /* out of order */
    memcpy(bad + 9 + 48, buf + 9, 24);
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    bad[0] = 2;
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_EVERSION);
    memcpy(bad, buf, len);
    put64(bad + 1, UINT64_MAX); /* a count no input can hold */
    fix_crc(bad, len);
    TIDAL_FAIL(tidal_hwm_decode(b, bad, len), TIDAL_ETRUNCATED);
    cr_assert_eq(tidal_hwm_count(b), 0, "failed decodes change nothing");
    /* An empty table is 13 bytes. */
    tidal_hwm *e;
    TIDAL_PASS(tidal_hwm_open(&e));
    TIDAL_PASS(tidal_hwm_encode(e, bad, sizeof(bad), &len));
    cr_assert_eq(len, 13);
    TIDAL_PASS(tidal_hwm_decode(b, bad, len));
    tidal_hwm_close(e);
    tidal_hwm_close(a);
    tidal_hwm_close(b);
}

Test(hwm, out_of_memory_changes_nothing)
{
    uint64_t s = 10;
    tidal_hwm *a = random_table(&s, 3000), *b;
    uint8_t *buf = malloc(tidal_hwm_encoded_bytes(a));
    size_t len;
    int failures = 0;

    TIDAL_PASS(tidal_hwm_encode(a, buf, tidal_hwm_encoded_bytes(a), &len));
    TIDAL_PASS(tidal_hwm_open(&b));
    for (uint64_t k = 0; k < 1000; k++) {
        tidal_session_id id = {7, k};
        bool apply = false;
        size_t n = tidal_hwm_count(b);
        int rv;
        tidal__alloc_fail_after(0);
        rv = tidal_hwm_should_apply(b, &id, 1, &apply);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_hwm_count(b), n);
            cr_assert_eq(tidal_hwm_get(b, &id), 0);
            failures++;
            TIDAL_PASS(tidal_hwm_should_apply(b, &id, 1, &apply));
        }
        cr_assert(apply);
    }
    size_t n = tidal_hwm_count(b);
    tidal__alloc_fail_after(0);
    TIDAL_FAIL(tidal_hwm_decode(b, buf, len), TIDAL_ENOMEM);
    tidal__alloc_fail_after(-1);
    cr_assert_eq(tidal_hwm_count(b), n);
    cr_assert(failures > 3);
    free(buf);
    tidal_hwm_close(a);
    tidal_hwm_close(b);
}
