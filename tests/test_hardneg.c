/*
 * The hard-negative set: the seed's two scenarios, the tie rule (equal wall
 * and logical: hide wins whatever the node ids), stamps kept as given, and
 * the convergence property: any set of hides and unhides, applied in every
 * order (all permutations of small sets, random shuffles of larger ones) and
 * with random duplication, gives the same hidden() answers and the same
 * digest; replicas that saw different subsets and merged equal the union.
 * Also the entry encoding and allocation failures.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/alloc.h"
#include "store/hardneg.h"
#include "base/hash.h"

TIDAL_SUITE(hardneg);

static tidal_hlc
stamp(uint64_t wall, uint32_t logical, uint16_t node)
{
    tidal_hlc ts = {.wall_ns = wall, .logical = logical, .node_id = node};
    return ts;
}

static tidal_hardneg *
open_set(void)
{
    tidal_hardneg *h;
    TIDAL_PASS(tidal_hardneg_open(&h));
    return h;
}

Test(hardneg, seed_hide_at_higher_hlc_wins_over_earlier_unhide)
{
    tidal_hlc hide = stamp(100, 0, 0), unhide = stamp(50, 0, 1);
    tidal_hardneg *a = open_set(), *b = open_set();

    TIDAL_PASS(tidal_hardneg_hide(a, 3, 300, &hide));
    TIDAL_PASS(tidal_hardneg_unhide(a, 3, 300, &unhide));
    TIDAL_PASS(tidal_hardneg_unhide(b, 3, 300, &unhide));
    TIDAL_PASS(tidal_hardneg_hide(b, 3, 300, &hide));
    cr_assert(tidal_hardneg_hidden(a, 3, 300));
    cr_assert(tidal_hardneg_hidden(b, 3, 300));
    cr_assert_eq(tidal_hardneg_digest(a), tidal_hardneg_digest(b));
    cr_assert_not(tidal_hardneg_hidden(a, 3, 301), "other items are unaffected");
    cr_assert_not(tidal_hardneg_hidden(a, 4, 300), "other users are unaffected");
    tidal_hardneg_close(a);
    tidal_hardneg_close(b);
}

Test(hardneg, seed_unhide_with_strictly_higher_hlc_clears_the_hide)
{
    tidal_hlc hide = stamp(50, 0, 0), unhide = stamp(200, 0, 1);
    tidal_hardneg *a = open_set();

    TIDAL_PASS(tidal_hardneg_hide(a, 4, 400, &hide));
    cr_assert(tidal_hardneg_hidden(a, 4, 400));
    TIDAL_PASS(tidal_hardneg_unhide(a, 4, 400, &unhide));
    cr_assert_not(tidal_hardneg_hidden(a, 4, 400));
    /* A late-arriving older hide does not hide it again. */
    TIDAL_PASS(tidal_hardneg_hide(a, 4, 400, &hide));
    cr_assert_not(tidal_hardneg_hidden(a, 4, 400));
    tidal_hardneg_close(a);
}

Test(hardneg, equal_wall_and_logical_hide_wins_whatever_the_node_ids)
{
    tidal_hardneg *h = open_set();

    for (uint16_t hn = 0; hn < 4; hn++) {
        for (uint16_t un = 0; un < 4; un++) {
            tidal_entity_id item = 10u * hn + un;
            tidal_hlc hide = stamp(70, 5, hn), unhide = stamp(70, 5, un);
            TIDAL_PASS(tidal_hardneg_unhide(h, 1, item, &unhide));
            TIDAL_PASS(tidal_hardneg_hide(h, 1, item, &hide));
            cr_assert(tidal_hardneg_hidden(h, 1, item), "hide node %u, unhide node %u", hn, un);
        }
    }
    /* One logical tick later the unhide wins, even from a lower node. */
    tidal_hlc later = stamp(70, 6, 0);
    TIDAL_PASS(tidal_hardneg_unhide(h, 1, 33, &later));
    cr_assert_not(tidal_hardneg_hidden(h, 1, 33));
    tidal_hardneg_close(h);
}

Test(hardneg, absent_hide_only_and_unhide_only)
{
    tidal_hardneg *h = open_set();
    tidal_hlc ts = stamp(1, 0, 0);
    tidal_hardneg_entry e;

    cr_assert_not(tidal_hardneg_hidden(h, 1, 1));
    cr_assert_not(tidal_hardneg_get(h, 1, 1, &e));
    TIDAL_PASS(tidal_hardneg_unhide(h, 1, 1, &ts));
    cr_assert_not(tidal_hardneg_hidden(h, 1, 1));
    TIDAL_PASS(tidal_hardneg_hide(h, 1, 2, &ts));
    cr_assert(tidal_hardneg_hidden(h, 1, 2));
    cr_assert_eq(tidal_hardneg_count(h), 2);
    tidal_hardneg_close(h);
    tidal_hardneg_close(NULL);
}

Test(hardneg, stamps_are_stored_exactly_as_given)
{
    tidal_hardneg *h = open_set();
    tidal_hlc hide = stamp(UINT64_MAX, UINT32_MAX, UINT16_MAX), unhide = stamp(0, 0, 0);
    tidal_hardneg_entry e;

    TIDAL_PASS(tidal_hardneg_hide(h, 9, 9, &hide));
    TIDAL_PASS(tidal_hardneg_unhide(h, 9, 9, &unhide));
    cr_assert(tidal_hardneg_get(h, 9, 9, &e));
    cr_assert(e.has_hide && e.has_unhide);
    cr_assert_eq(tidal_hlc_compare(&e.hide, &hide), 0);
    cr_assert_eq(tidal_hlc_compare(&e.unhide, &unhide), 0);
    cr_assert(tidal_hardneg_hidden(h, 9, 9));
    /* Each field keeps its maximum by the full triple. */
    tidal_hlc u2 = stamp(0, 0, 3);
    TIDAL_PASS(tidal_hardneg_unhide(h, 9, 9, &u2));
    cr_assert(tidal_hardneg_get(h, 9, 9, &e));
    cr_assert_eq(e.unhide.node_id, 3);
    tidal_hardneg_close(h);
}

/* ---- Convergence --------------------------------------------------------- */

typedef struct op {
    tidal_entity_id user, item;
    bool unhide;
    tidal_hlc ts;
} op;

#define PAIRS 3

/* Random operations on PAIRS (user, item) pairs with stamps from a small
 * space, so that ties on (wall, logical) with different nodes are common. */
static void
random_ops(op *ops, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t p = tidal_test_mix(s) % PAIRS;
        ops[i].user = 1 + p / 2;
        ops[i].item = 100 + p;
        ops[i].unhide = tidal_test_mix(s) % 2 == 0;
        ops[i].ts =
            stamp(tidal_test_mix(s) % 4, (uint32_t)(tidal_test_mix(s) % 2), (uint16_t)(tidal_test_mix(s) % 3));
    }
}

static void
apply_op(tidal_hardneg *h, const op *o)
{
    if (o->unhide) {
        TIDAL_PASS(tidal_hardneg_unhide(h, o->user, o->item, &o->ts));
    } else {
        TIDAL_PASS(tidal_hardneg_hide(h, o->user, o->item, &o->ts));
    }
}

/* The rule computed directly from the operations: the greatest hide and
 * unhide by (wall, logical); hidden iff a hide exists and no unhide is
 * strictly later. */
static bool
model_hidden(const op *ops, size_t n, tidal_entity_id user, tidal_entity_id item)
{
    bool has_h = false, has_u = false;
    uint64_t hw = 0, uw = 0;
    uint32_t hl = 0, ul = 0;

    for (size_t i = 0; i < n; i++) {
        const op *o = &ops[i];
        if (o->user != user || o->item != item) {
            continue;
        }
        if (o->unhide &&
            (!has_u || o->ts.wall_ns > uw || (o->ts.wall_ns == uw && o->ts.logical > ul))) {
            has_u = true;
            uw = o->ts.wall_ns;
            ul = o->ts.logical;
        }
        if (!o->unhide &&
            (!has_h || o->ts.wall_ns > hw || (o->ts.wall_ns == hw && o->ts.logical > hl))) {
            has_h = true;
            hw = o->ts.wall_ns;
            hl = o->ts.logical;
        }
    }
    return has_h && !(has_u && (uw > hw || (uw == hw && ul > hl)));
}

typedef struct outcome {
    bool hidden[PAIRS];
    uint64_t digest;
} outcome;

static outcome
outcome_of(const tidal_hardneg *h)
{
    outcome o;
    for (uint64_t p = 0; p < PAIRS; p++) {
        o.hidden[p] = tidal_hardneg_hidden(h, 1 + p / 2, 100 + p);
    }
    o.digest = tidal_hardneg_digest(h);
    return o;
}

/* Applies ops in the order perm, each op again with probability 1/3 (right
 * away or after the rest). */
static outcome
run_order(const op *ops, const size_t *perm, size_t n, uint64_t *s)
{
    tidal_hardneg *h = open_set();
    outcome o;

    for (size_t k = 0; k < n; k++) {
        apply_op(h, &ops[perm[k]]);
        if (tidal_test_mix(s) % 3 == 0) {
            apply_op(h, &ops[perm[k]]);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (tidal_test_mix(s) % 3 == 0) {
            apply_op(h, &ops[perm[tidal_test_mix(s) % n]]);
        }
    }
    o = outcome_of(h);
    tidal_hardneg_close(h);
    return o;
}

static void
assert_outcome(const outcome *got, const outcome *want, const op *ops, size_t n)
{
    for (uint64_t p = 0; p < PAIRS; p++) {
        cr_assert_eq(got->hidden[p], want->hidden[p], "pair %llu", (unsigned long long)p);
        cr_assert_eq(got->hidden[p], model_hidden(ops, n, 1 + p / 2, 100 + p), "model, pair %llu",
                     (unsigned long long)p);
    }
    cr_assert_eq(got->digest, want->digest, "digests differ");
}

static bool
next_perm(size_t *perm, size_t n)
{
    size_t i, j, t;

    if (n < 2) {
        return false;
    }
    for (i = n - 1; i > 0 && perm[i - 1] > perm[i]; i--) {
    }
    if (i == 0) {
        return false;
    }
    for (j = n - 1; perm[j] < perm[i - 1]; j--) {
    }
    t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
    for (size_t a = i, b = n - 1; a < b; a++, b--) {
        t = perm[a];
        perm[a] = perm[b];
        perm[b] = t;
    }
    return true;
}

Test(hardneg, every_permutation_with_duplicates_converges)
{
    uint64_t s = 2024;
    size_t orders = 0;

    for (int round = 0; round < 60; round++) {
        size_t n = 1 + (size_t)(round % 6); /* 1..6 ops: up to 720 orders */
        op ops[6];
        size_t perm[6];
        outcome first;

        random_ops(ops, n, &s);
        for (size_t i = 0; i < n; i++) {
            perm[i] = i;
        }
        first = run_order(ops, perm, n, &s);
        do {
            outcome o = run_order(ops, perm, n, &s);
            assert_outcome(&o, &first, ops, n);
            orders++;
        } while (next_perm(perm, n));
    }
    cr_log_info("orders checked: %zu", orders);
}

Test(hardneg, random_shuffles_of_larger_sets_converge)
{
    uint64_t s = 77;

    for (int round = 0; round < 40; round++) {
        size_t n = 10 + tidal_test_mix(&s) % 30;
        op ops[40];
        size_t perm[40];
        outcome first;

        random_ops(ops, n, &s);
        for (size_t i = 0; i < n; i++) {
            perm[i] = i;
        }
        first = run_order(ops, perm, n, &s);
        for (int k = 0; k < 50; k++) {
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = tidal_test_mix(&s) % (i + 1), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            outcome o = run_order(ops, perm, n, &s);
            assert_outcome(&o, &first, ops, n);
        }
    }
}

/* Sends every entry of from to to, through the entry encoding. */
static void
reconcile(tidal_hardneg *to, const tidal_hardneg *from)
{
    uint8_t buf[TIDAL_HARDNEG_ENTRY_BYTES_MAX];
    tidal_hardneg_entry e, d;
    size_t cursor = 0, len;

    while (tidal_hardneg_next(from, &cursor, &e)) {
        TIDAL_PASS(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &len));
        TIDAL_PASS(tidal_hardneg_entry_decode(buf, len, &d));
        cr_assert_eq(tidal_hardneg_entry_hash(&d), tidal_hardneg_entry_hash(&e));
        TIDAL_PASS(tidal_hardneg_entry_merge(to, &d));
    }
}

Test(hardneg, merged_replicas_equal_the_union_of_what_they_saw)
{
    uint64_t s = 555;

    for (int round = 0; round < 300; round++) {
        size_t n = 1 + tidal_test_mix(&s) % 25;
        op ops[25];
        tidal_hardneg *a = open_set(), *b = open_set(), *all = open_set();
        outcome oa, ob, oall;

        random_ops(ops, n, &s);
        for (size_t i = 0; i < n; i++) {
            uint64_t who = tidal_test_mix(&s) % 4; /* a, b, both, or b twice */
            if (who != 1) {
                apply_op(a, &ops[i]);
            }
            if (who != 0) {
                apply_op(b, &ops[i]);
            }
            if (who == 3) {
                apply_op(b, &ops[i]);
            }
            apply_op(all, &ops[i]);
        }
        reconcile(a, b);
        reconcile(b, a);
        reconcile(b, a); /* again: idempotent */
        oa = outcome_of(a);
        ob = outcome_of(b);
        oall = outcome_of(all);
        assert_outcome(&oa, &oall, ops, n);
        assert_outcome(&ob, &oall, ops, n);
        cr_assert_eq(tidal_hardneg_count(a), tidal_hardneg_count(all));
        tidal_hardneg_close(a);
        tidal_hardneg_close(b);
        tidal_hardneg_close(all);
    }
}

Test(hardneg, iteration_and_digest_cover_every_entry_once)
{
    tidal_hardneg *h = open_set();
    tidal_hardneg_entry e;
    size_t cursor = 0, n = 0;
    uint64_t sum = 0;
    size_t mem0 = tidal_hardneg_memory_bytes(h);

    for (uint64_t i = 0; i < 5000; i++) {
        tidal_hlc ts = stamp(i, 0, 0);
        TIDAL_PASS(tidal_hardneg_hide(h, i % 50, i, &ts));
    }
    while (tidal_hardneg_next(h, &cursor, &e)) {
        sum += tidal_hardneg_entry_hash(&e);
        n++;
    }
    cr_assert_eq(n, 5000);
    cr_assert_eq(tidal_hardneg_count(h), 5000);
    cr_assert_eq(sum, tidal_hardneg_digest(h));
    cr_assert(tidal_hardneg_memory_bytes(h) > mem0);
    cr_log_info("hardneg: %zu entries, %zu bytes (%.1f bytes/entry)", n,
                tidal_hardneg_memory_bytes(h), (double)tidal_hardneg_memory_bytes(h) / (double)n);
    cr_assert(tidal_hardneg_memory_bytes(h) < 5000 * 2 * 49 + 64, "slots are 48 bytes + tag");
    tidal_hardneg_close(h);
}

/* ---- Entry encoding ------------------------------------------------------- */

Test(hardneg, entry_encoding_round_trips_each_shape)
{
    uint8_t buf[TIDAL_HARDNEG_ENTRY_BYTES_MAX];
    tidal_hardneg_entry e = {.user = 0x0102030405060708ull, .item = 99};
    size_t len;

    for (int shape = 1; shape <= 3; shape++) {
        tidal_hardneg_entry d;
        e.has_hide = (shape & 1) != 0;
        e.has_unhide = (shape & 2) != 0;
        e.hide = e.has_hide ? stamp(5, 6, 7) : stamp(0, 0, 0);
        e.unhide = e.has_unhide ? stamp(8, 9, 10) : stamp(0, 0, 0);
        TIDAL_PASS(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &len));
        cr_assert_eq(len, 18 + 14 * (size_t)(e.has_hide + e.has_unhide));
        cr_assert_eq(buf[0], TIDAL_HARDNEG_ENTRY_VERSION);
        cr_assert_eq(tidal_hardneg_entry_hash(&e), tidal_hash64(buf, len, 0x486172644e656773ull));
        TIDAL_PASS(tidal_hardneg_entry_decode(buf, len, &d));
        cr_assert(d.user == e.user && d.item == e.item);
        cr_assert(d.has_hide == e.has_hide && d.has_unhide == e.has_unhide);
        cr_assert_eq(tidal_hlc_compare(&d.hide, &e.hide), 0);
        cr_assert_eq(tidal_hlc_compare(&d.unhide, &e.unhide), 0);
    }
    e.has_hide = e.has_unhide = false;
    TIDAL_FAIL(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &len), TIDAL_EINVAL);
    tidal_hardneg *h = open_set();
    TIDAL_FAIL(tidal_hardneg_entry_merge(h, &e), TIDAL_EINVAL);
    cr_assert_eq(tidal_hardneg_count(h), 0);
    tidal_hardneg_close(h);
}

Test(hardneg, entry_decode_rejects_truncation_trailing_version_and_flags)
{
    uint8_t buf[TIDAL_HARDNEG_ENTRY_BYTES_MAX + 1];
    tidal_hardneg_entry e = {.user = 1,
                             .item = 2,
                             .has_hide = true,
                             .has_unhide = true,
                             .hide = {3, 4, 5},
                             .unhide = {6, 7, 8}};
    tidal_hardneg_entry d, keep = {.user = 42};
    size_t len;

    TIDAL_PASS(tidal_hardneg_entry_encode(&e, buf, sizeof(buf), &len));
    cr_assert_eq(len, TIDAL_HARDNEG_ENTRY_BYTES_MAX);
    TIDAL_FAIL(tidal_hardneg_entry_encode(&e, buf, len - 1, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, TIDAL_HARDNEG_ENTRY_BYTES_MAX);
    d = keep;
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_hardneg_entry_decode(buf, cut, &d), TIDAL_ETRUNCATED);
    }
    buf[len] = 0;
    TIDAL_FAIL(tidal_hardneg_entry_decode(buf, len + 1, &d), TIDAL_ETRAILING);
    buf[0] = 2;
    TIDAL_FAIL(tidal_hardneg_entry_decode(buf, len, &d), TIDAL_EVERSION);
    buf[0] = TIDAL_HARDNEG_ENTRY_VERSION;
    buf[17] = 0;
    TIDAL_FAIL(tidal_hardneg_entry_decode(buf, 18, &d), TIDAL_ECORRUPT);
    buf[17] = 4;
    TIDAL_FAIL(tidal_hardneg_entry_decode(buf, len, &d), TIDAL_ECORRUPT);
    buf[17] = 1; /* claims one stamp: the second is trailing */
    TIDAL_FAIL(tidal_hardneg_entry_decode(buf, len, &d), TIDAL_ETRAILING);
    cr_assert_eq(d.user, 42, "failed decodes leave the output alone");
}

Test(hardneg, random_garbage_is_rejected_or_round_trips)
{
    uint8_t buf[64], out[TIDAL_HARDNEG_ENTRY_BYTES_MAX];
    uint64_t s = 1;

    for (int i = 0; i < 20000; i++) {
        tidal_hardneg_entry d;
        size_t len = tidal_test_mix(&s) % sizeof(buf), olen;
        int rv;
        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)tidal_test_mix(&s);
        }
        if (len > 17 && i % 2 == 0) {
            buf[0] = TIDAL_HARDNEG_ENTRY_VERSION;
            buf[17] = (uint8_t)(tidal_test_mix(&s) % 5);
        }
        rv = tidal_hardneg_entry_decode(buf, len, &d);
        cr_assert(rv == 0 || rv == TIDAL_ETRUNCATED || rv == TIDAL_ECORRUPT ||
                  rv == TIDAL_ETRAILING || rv == TIDAL_EVERSION);
        if (rv == 0) {
            TIDAL_PASS(tidal_hardneg_entry_encode(&d, out, sizeof(out), &olen));
            cr_assert(olen == len && memcmp(out, buf, len) == 0);
        }
    }
}

Test(hardneg, out_of_memory_changes_nothing)
{
    tidal_hardneg *h = open_set();
    uint64_t digest;
    size_t count;
    int failures = 0;

    for (uint64_t i = 0; i < 2000; i++) {
        tidal_hlc ts = stamp(i, 0, 1);
        int rv;
        count = tidal_hardneg_count(h);
        digest = tidal_hardneg_digest(h);
        tidal__alloc_fail_after(0);
        rv = tidal_hardneg_hide(h, 1, i, &ts);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_hardneg_count(h), count);
            cr_assert_eq(tidal_hardneg_digest(h), digest);
            failures++;
            TIDAL_PASS(tidal_hardneg_hide(h, 1, i, &ts));
        }
        /* Updating an existing entry never allocates. */
        tidal__alloc_fail_after(0);
        TIDAL_PASS(tidal_hardneg_unhide(h, 1, i, &ts));
        tidal__alloc_fail_after(-1);
    }
    cr_assert(failures > 5, "growth was exercised (%d)", failures);
    cr_assert_eq(tidal_hardneg_count(h), 2000);
    tidal_hardneg_close(h);
}
