/*
 * Signal state: the exact window edges, expiry keeping every count at now,
 * the CRDT laws over random states, convergence of replicas that exchange
 * entries in any order and any number of times, the entry encoding (names,
 * not ids; every truncation; each broken rule; garbage), the bucket limit,
 * allocation failures, and the memory per stored signal together with the
 * session's record of it.
 */
#include "tidal_test.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "store/session.h"
#include "store/signals.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does
 * not install): bytes the program has allocated and not freed.  mallinfo2
 * does not see ASan's allocator. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

TIDAL_SUITE(signals);

#define MIN TIDAL_SIGNALS_MINUTE_NS
#define HOUR TIDAL_SIGNALS_HOUR_NS
/* 2023-11-14T22:13:20Z: an arbitrary time well away from 0. */
#define T0 (1700000000ull * 1000000000ull)

typedef struct fixture {
    tidal_sigtypes *types;
    tidal_signals *s;
    uint16_t view, like;
} fixture;

static void
fx_open(fixture *f)
{
    TIDAL_PASS(tidal_sigtypes_open(&f->types));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "view", &f->view));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "like", &f->like));
    TIDAL_PASS(tidal_signals_open(f->types, &f->s));
}

static void
fx_close(fixture *f)
{
    tidal_signals_close(f->s);
    tidal_sigtypes_close(f->types);
}

static int64_t
count(const fixture *f, tidal_entity_id item, uint16_t type, tidal_sigwindow w, uint64_t now)
{
    int64_t n = -999;
    TIDAL_PASS(tidal_signals_count(f->s, item, type, w, now, &n));
    return n;
}

Test(signals, one_hour_window_is_the_current_minute_and_the_59_before)
{
    fixture f;
    uint64_t now = T0 - T0 % MIN + 30 * 1000000000ull; /* half way through a minute */
    uint64_t nm0 = now - now % MIN;                    /* start of the current minute */

    fx_open(&f);
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 1, nm0));                  /* current */
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 10, nm0 - 59 * MIN));      /* oldest in */
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 100, nm0 - 59 * MIN - 1)); /* out */
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, now), 11);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, nm0), 11, "the minute's first ns");
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, nm0 - 1), 110, "a ns earlier");
    /* An event a minute ahead: the keep rule's slack keeps now's window whole
     * (signals.h); only a reader two minutes behind it would miss a bucket. */
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 1000, nm0 + MIN)); /* future */
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, now), 11);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, nm0), 11, "the minute's first ns");
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, nm0 + MIN), 1001, "a minute later");
    cr_assert_eq(count(&f, 1, f.like, TIDAL_SIGWINDOW_1H, now), 0, "other type");
    cr_assert_eq(count(&f, 2, f.view, TIDAL_SIGWINDOW_1H, now), 0, "other item");
    fx_close(&f);
}

Test(signals, day_and_week_windows_are_24_and_168_hour_buckets)
{
    fixture f;
    uint64_t nh0 = T0 - T0 % HOUR;
    uint64_t now = nh0 + 17 * MIN;

    fx_open(&f);
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 1, 1, nh0 + HOUR - 1));    /* current hour */
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 1, 2, nh0 - 23 * HOUR));   /* last of 24 */
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 2, 4, nh0 - 24 * HOUR));   /* first out */
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 1, 8, nh0 - 167 * HOUR));  /* last of 168 */
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 3, 16, nh0 - 168 * HOUR)); /* out */
    TIDAL_PASS(tidal_signals_apply(f.s, 5, f.like, 1, -1, nh0 + 5 * MIN));    /* a retraction */
    cr_assert_eq(count(&f, 5, f.like, TIDAL_SIGWINDOW_24H, now), 1 + 2 - 1);
    cr_assert_eq(count(&f, 5, f.like, TIDAL_SIGWINDOW_7D, now), 1 + 2 + 4 + 8 - 1);
    /* The 1 h window reads minute buckets: only the two current-hour events
     * that are not in a future minute. */
    cr_assert_eq(count(&f, 5, f.like, TIDAL_SIGWINDOW_1H, now), -1);
    int64_t n;
    TIDAL_FAIL(tidal_signals_count(f.s, 5, f.like, (tidal_sigwindow)-1, now, &n), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_signals_count(f.s, 5, f.like, (tidal_sigwindow)3, now, &n), TIDAL_EINVAL);
    fx_close(&f);
}

Test(signals, windows_near_time_zero_stop_at_bucket_zero)
{
    fixture f;

    fx_open(&f);
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 3, 0));
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 4, 5 * MIN));
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, 10 * MIN), 7);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_7D, 10 * MIN), 7);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, 0), 3);
    tidal_signals_expire(f.s);
    cr_assert_eq(tidal_signals_buckets(f.s), 3);
    fx_close(&f);
}

Test(signals, bad_arguments_change_nothing)
{
    fixture f;

    fx_open(&f);
    TIDAL_FAIL(tidal_signals_apply(f.s, 1, f.view, TIDAL_REGIONS_MAX, 1, T0), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_signals_apply(f.s, 1, 0, 0, 1, T0), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_signals_apply(f.s, 1, 99, 0, 1, T0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 0, T0));
    cr_assert_eq(tidal_signals_entries(f.s), 0, "delta 0 stores nothing");
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, TIDAL_REGIONS_MAX - 1, 1, T0));
    cr_assert_eq(tidal_signals_entries(f.s), 1);
    cr_assert_eq(tidal_signals_buckets(f.s), 2, "one minute and one hour bucket");
    fx_close(&f);
}

/* Random events for items 1..items, both types, regions 0..2, over 9 days. */
static void
random_events(fixture *f, int n, uint64_t items, uint64_t *s, int region_only)
{
    for (int i = 0; i < n; i++) {
        tidal_entity_id item = 1 + tidal_test_mix(s) % items;
        uint16_t type = tidal_test_mix(s) % 2 ? f->view : f->like;
        tidal_region_id region =
            region_only >= 0 ? (tidal_region_id)region_only : (tidal_region_id)(tidal_test_mix(s) % 3);
        int64_t delta = (int64_t)(tidal_test_mix(s) % 5) - 1;
        uint64_t ts = T0 - tidal_test_mix(s) % (9 * 24 * HOUR);
        TIDAL_PASS(tidal_signals_apply(f->s, item, type, region, delta, ts));
    }
}

Test(signals, expire_keeps_every_count_at_now_and_later)
{
    uint64_t s = 9;
    fixture f;

    fx_open(&f);
    random_events(&f, 20000, 300, &s, -1);
    size_t before = tidal_signals_buckets(f.s);
    int64_t counts[300][2][3];
    uint64_t later = T0 + 10 * MIN;
    for (uint64_t item = 1; item <= 300; item++) {
        for (int t = 0; t < 2; t++) {
            for (int w = 0; w < 3; w++) {
                counts[item - 1][t][w] =
                    count(&f, item, t ? f.view : f.like, (tidal_sigwindow)w, later);
            }
        }
    }
    uint64_t digest = tidal_signals_digest(f.s);
    tidal_signals_expire(f.s);
    cr_assert(tidal_signals_buckets(f.s) <= before);
    cr_assert_eq(tidal_signals_digest(f.s), digest, "expire changes no part of the state");
    for (uint64_t item = 1; item <= 300; item++) {
        for (int t = 0; t < 2; t++) {
            for (int w = 0; w < 3; w++) {
                cr_assert_eq(count(&f, item, t ? f.view : f.like, (tidal_sigwindow)w, later),
                             counts[item - 1][t][w]);
            }
        }
    }
    /* An event eight days on leaves everything older out, entries included;
     * the clock alone never does. */
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.like, 0, 1, T0 + 8 * 24 * HOUR));
    tidal_signals_expire(f.s);
    cr_assert_eq(tidal_signals_entries(f.s), 1);
    cr_assert_eq(tidal_signals_buckets(f.s), 2);
    fx_close(&f);
}

/* Sends every entry of from into to through the entry encoding. */
static void
reconcile(fixture *to, const fixture *from, uint64_t now)
{
    static uint8_t buf[1 << 16];
    tidal_entity_id item;
    uint16_t type;
    size_t cursor = 0, len;

    while (tidal_signals_next(from->s, &cursor, &item, &type)) {
        int rv = tidal_signals_entry_encode(from->s, item, type, buf, sizeof(buf), &len);
        if (rv == TIDAL_ENOENT) {
            continue; /* nothing left by the keep rule; expire frees it */
        }
        TIDAL_PASS(rv);
        TIDAL_PASS(tidal_signals_entry_merge(to->s, buf, len, now, NULL, NULL));
    }
}

Test(signals, merge_is_commutative_associative_idempotent)
{
    uint64_t s = 31;

    for (int round = 0; round < 60; round++) {
        fixture a, b, c, ab, ba, ab_c, bc, a_bc;
        fixture *all[] = {&a, &b, &c, &ab, &ba, &ab_c, &bc, &a_bc};
        for (size_t i = 0; i < 8; i++) {
            fx_open(all[i]);
        }
        random_events(&a, 40, 6, &s, -1);
        random_events(&b, 40, 6, &s, -1);
        random_events(&c, 40, 6, &s, -1);
        reconcile(&ab, &a, T0);
        reconcile(&ab, &b, T0);
        reconcile(&ba, &b, T0);
        reconcile(&ba, &a, T0);
        cr_assert_eq(tidal_signals_digest(ab.s), tidal_signals_digest(ba.s), "commutative");
        reconcile(&ab_c, &ab, T0);
        reconcile(&ab_c, &c, T0);
        reconcile(&bc, &b, T0);
        reconcile(&bc, &c, T0);
        reconcile(&a_bc, &a, T0);
        reconcile(&a_bc, &bc, T0);
        cr_assert_eq(tidal_signals_digest(ab_c.s), tidal_signals_digest(a_bc.s), "associative");
        uint64_t d = tidal_signals_digest(a.s);
        reconcile(&a, &a, T0);
        reconcile(&ab, &a, T0);
        cr_assert_eq(tidal_signals_digest(a.s), d, "idempotent");
        cr_assert_eq(tidal_signals_digest(ab.s), tidal_signals_digest(ba.s), "absorbs a part");
        for (size_t i = 0; i < 8; i++) {
            fx_close(all[i]);
        }
    }
}

/* Three regions apply their own events; each replica then hears about the
 * others' entries in a random order, some twice, interleaved with more
 * events: all converge to the state of applying every event once. */
Test(signals, replicas_converge_whatever_the_order_and_duplication)
{
    uint64_t s = 4242;

    for (int round = 0; round < 30; round++) {
        fixture r[3], truth;
        fx_open(&truth);
        for (int k = 0; k < 3; k++) {
            fx_open(&r[k]);
        }
        for (int phase = 0; phase < 3; phase++) {
            for (int k = 0; k < 3; k++) {
                uint64_t save = s;
                random_events(&r[k], 30, 8, &s, k);
                random_events(&truth, 30, 8, &save, k); /* the same events */
            }
            for (int g = 0; g < 6; g++) {
                int to = (int)(tidal_test_mix(&s) % 3), from = (int)(tidal_test_mix(&s) % 3);
                reconcile(&r[to], &r[from], T0);
            }
        }
        for (int k = 0; k < 3; k++) {
            for (int j = 0; j < 3; j++) {
                reconcile(&r[k], &r[(k + j + 1) % 3], T0);
            }
        }
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(tidal_signals_digest(r[k].s), tidal_signals_digest(truth.s),
                         "round %d replica %d", round, k);
            for (uint64_t item = 1; item <= 8; item++) {
                cr_assert_eq(count(&r[k], item, r[k].view, TIDAL_SIGWINDOW_7D, T0),
                             count(&truth, item, truth.view, TIDAL_SIGWINDOW_7D, T0));
            }
            fx_close(&r[k]);
        }
        fx_close(&truth);
    }
}

Test(signals, entries_carry_type_names_not_local_ids)
{
    fixture a, b;
    uint8_t buf[512];
    size_t len;
    uint64_t ha, hb;
    tidal_entity_id item;
    uint16_t type, b_click;

    fx_open(&a);
    /* b interns in another order: its ids differ from a's. */
    TIDAL_PASS(tidal_sigtypes_open(&b.types));
    TIDAL_PASS(tidal_sigtypes_intern(b.types, "like", &b.like));
    TIDAL_PASS(tidal_sigtypes_intern(b.types, "click", &b_click));
    TIDAL_PASS(tidal_signals_open(b.types, &b.s));
    cr_assert_neq(a.like, b.like);
    TIDAL_PASS(tidal_signals_apply(a.s, 7, a.like, 0, 5, T0));
    TIDAL_PASS(tidal_signals_entry_encode(a.s, 7, a.like, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_signals_entry_merge(b.s, buf, len, T0, &item, &type));
    cr_assert(item == 7 && type == b.like);
    cr_assert_eq(count(&b, 7, b.like, TIDAL_SIGWINDOW_1H, T0), 5);
    TIDAL_PASS(tidal_signals_entry_hash(a.s, 7, a.like, &ha));
    TIDAL_PASS(tidal_signals_entry_hash(b.s, 7, b.like, &hb));
    cr_assert_eq(ha, hb, "hashes agree across regions");
    cr_assert_eq(ha, tidal_hash64(buf, len, 0x5369676e616c7321ull), "hash of the encoding");
    cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s));
    /* A name b never saw is interned on merge. */
    uint16_t a_share;
    TIDAL_PASS(tidal_sigtypes_intern(a.types, "share", &a_share));
    TIDAL_PASS(tidal_signals_apply(a.s, 8, a_share, 0, 1, T0));
    TIDAL_PASS(tidal_signals_entry_encode(a.s, 8, a_share, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_signals_entry_merge(b.s, buf, len, T0, &item, &type));
    cr_assert_str_eq(tidal_sigtypes_name(b.types, type), "share");
    TIDAL_FAIL(tidal_signals_entry_hash(a.s, 9, a.like, &ha), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_signals_entry_encode(a.s, 9, a.like, buf, sizeof(buf), &len), TIDAL_ENOENT);
    fx_close(&a);
    fx_close(&b);
}

Test(signals, merge_keeps_what_the_rule_keeps_and_leaves_the_future_for_later)
{
    fixture a, b;
    uint8_t buf[512];
    size_t len;

    fx_open(&a);
    fx_open(&b);
    TIDAL_PASS(tidal_signals_apply(a.s, 1, a.view, 0, 1, T0 - 2 * HOUR));
    TIDAL_PASS(tidal_signals_entry_encode(a.s, 1, a.view, buf, sizeof(buf), &len));
    /* b already holds an event at T0: the minute bucket two hours back is
     * out of the rule, the hour bucket is not, whatever b's clock says. */
    TIDAL_PASS(tidal_signals_apply(b.s, 2, b.view, 1, 1, T0));
    TIDAL_PASS(tidal_signals_entry_merge(b.s, buf, len, T0 + 30 * 24 * HOUR, NULL, NULL));
    cr_assert_eq(tidal_signals_buckets(b.s), 3);
    TIDAL_PASS(tidal_signals_apply(a.s, 2, a.view, 1, 1, T0));
    cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s));
    /* An event eight days on: the entry is wholly out, and merging it again
     * creates nothing. */
    TIDAL_PASS(tidal_signals_apply(b.s, 3, b.view, 1, 1, T0 + 8 * 24 * HOUR));
    TIDAL_PASS(tidal_signals_entry_merge(b.s, buf, len, T0 + 8 * 24 * HOUR, NULL, NULL));
    tidal_signals_expire(b.s);
    cr_assert_eq(tidal_signals_entries(b.s), 1);
    /* Buckets more than one bucket ahead of the merging clock wait. */
    fixture c;
    fx_open(&c);
    TIDAL_PASS(tidal_signals_entry_merge(c.s, buf, len, T0 - 4 * HOUR, NULL, NULL));
    cr_assert_eq(tidal_signals_entries(c.s), 0, "two hours ahead: nothing yet");
    TIDAL_PASS(tidal_signals_entry_merge(c.s, buf, len, T0 - 3 * HOUR + 1, NULL, NULL));
    cr_assert_eq(tidal_signals_buckets(c.s), 1, "the hour bucket is next: taken");
    TIDAL_PASS(tidal_signals_entry_merge(c.s, buf, len, T0 - 2 * HOUR, NULL, NULL));
    fixture d;
    fx_open(&d);
    TIDAL_PASS(tidal_signals_apply(d.s, 1, d.view, 0, 1, T0 - 2 * HOUR));
    cr_assert_eq(tidal_signals_digest(c.s), tidal_signals_digest(d.s), "all of it, once due");
    fx_close(&d);
    fx_close(&c);
    fx_close(&a);
    fx_close(&b);
}

/* ---- State-based records (observe) ---------------------------------------- */

typedef struct sig_record {
    tidal_entity_id item;
    uint16_t type;
    uint64_t ts;
    uint64_t p_minute, p_hour;
} sig_record;

/* The origin's path: read its own components, count the event by raising
 * them by one, and keep the record that carries the values after it. */
static sig_record
origin_event(fixture *f, tidal_region_id self, tidal_entity_id item, uint16_t type, uint64_t ts)
{
    sig_record r = {.item = item, .type = type, .ts = ts};
    uint64_t pm, ph;

    TIDAL_PASS(tidal_signals_component(f->s, item, type, self, ts, &pm, &ph));
    r.p_minute = pm + 1;
    r.p_hour = ph + 1;
    TIDAL_PASS(tidal_signals_observe(f->s, item, type, self, ts, r.p_minute, r.p_hour));
    return r;
}

Test(signals, observed_records_count_once_whatever_the_order_and_duplication)
{
    enum { EVENTS = 400 };
    static sig_record rec[2][EVENTS];
    uint64_t s = 606;
    fixture origin[2], replica;

    fx_open(&origin[0]);
    fx_open(&origin[1]);
    fx_open(&replica);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < EVENTS; i++) {
            tidal_entity_id item = 1 + tidal_test_mix(&s) % 5;
            uint64_t ts = T0 - tidal_test_mix(&s) % (2 * HOUR);
            rec[k][i] = origin_event(&origin[k], (tidal_region_id)k, item, origin[k].view, ts);
        }
    }
    /* The replica gets both logs interleaved, shuffled, with duplicates. */
    for (int pass = 0; pass < 3; pass++) {
        for (int i = 0; i < 2 * EVENTS; i++) {
            int k = (int)(tidal_test_mix(&s) % 2);
            const sig_record *r = &rec[k][tidal_test_mix(&s) % EVENTS];
            TIDAL_PASS(tidal_signals_observe(replica.s, r->item, replica.view, (tidal_region_id)k,
                                             r->ts, r->p_minute, r->p_hour));
        }
    }
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < EVENTS; i++) {
            const sig_record *r = &rec[k][i];
            TIDAL_PASS(tidal_signals_observe(replica.s, r->item, replica.view, (tidal_region_id)k,
                                             r->ts, r->p_minute, r->p_hour));
        }
    }
    /* Equal to the two origins' states merged, and every event counted once. */
    fixture merged;
    fx_open(&merged);
    reconcile(&merged, &origin[0], T0);
    reconcile(&merged, &origin[1], T0);
    cr_assert_eq(tidal_signals_digest(replica.s), tidal_signals_digest(merged.s));
    int64_t total = 0;
    for (tidal_entity_id item = 1; item <= 5; item++) {
        total += count(&replica, item, replica.view, TIDAL_SIGWINDOW_24H, T0);
    }
    cr_assert_eq(total, 2 * EVENTS);
    fx_close(&merged);
    fx_close(&origin[0]);
    fx_close(&origin[1]);
    fx_close(&replica);
}

Test(signals, observe_and_component_edges)
{
    fixture f;
    uint64_t pm = 7, ph = 7;

    fx_open(&f);
    TIDAL_PASS(tidal_signals_component(f.s, 1, f.view, 2, T0, &pm, &ph));
    cr_assert(pm == 0 && ph == 0, "nothing yet");
    TIDAL_FAIL(tidal_signals_component(f.s, 1, f.view, TIDAL_REGIONS_MAX, T0, &pm, &ph),
               TIDAL_EINVAL);
    TIDAL_FAIL(tidal_signals_observe(f.s, 1, f.view, TIDAL_REGIONS_MAX, T0, 1, 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_signals_observe(f.s, 1, 77, 0, T0, 1, 1), TIDAL_EINVAL);
    TIDAL_PASS(tidal_signals_observe(f.s, 1, f.view, 0, T0, 0, 0));
    cr_assert_eq(tidal_signals_entries(f.s), 0, "(0, 0) stores nothing");
    /* Only the hour bucket. */
    TIDAL_PASS(tidal_signals_observe(f.s, 1, f.view, 2, T0, 0, 5));
    cr_assert_eq(tidal_signals_buckets(f.s), 1);
    TIDAL_PASS(tidal_signals_component(f.s, 1, f.view, 2, T0, &pm, &ph));
    cr_assert(pm == 0 && ph == 5);
    /* A lower value changes nothing; a higher one raises. */
    TIDAL_PASS(tidal_signals_observe(f.s, 1, f.view, 2, T0, 3, 4));
    TIDAL_PASS(tidal_signals_component(f.s, 1, f.view, 2, T0, &pm, &ph));
    cr_assert(pm == 3 && ph == 5);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, T0), 3);
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_24H, T0), 5);
    /* A max cannot overflow. */
    TIDAL_PASS(tidal_signals_observe(f.s, 1, f.view, 2, T0, UINT64_MAX, UINT64_MAX));
    TIDAL_PASS(tidal_signals_observe(f.s, 1, f.view, 2, T0, UINT64_MAX, UINT64_MAX));
    fx_close(&f);
}

/* ---- Entry decoding ------------------------------------------------------- */

static size_t
sample_entry(fixture *f, uint8_t *buf, size_t cap)
{
    size_t len;
    TIDAL_PASS(tidal_signals_apply(f->s, 3, f->view, 0, 2, T0));
    TIDAL_PASS(tidal_signals_apply(f->s, 3, f->view, 1, -1, T0 - 3 * MIN));
    TIDAL_PASS(tidal_signals_apply(f->s, 3, f->view, 2, 4, T0 - 40 * MIN)); /* the hour before */
    TIDAL_PASS(tidal_signals_entry_encode(f->s, 3, f->view, buf, cap, &len));
    return len;
}

Test(signals, entry_decode_rejects_every_truncation_and_trailing_bytes)
{
    fixture a, b;
    uint8_t buf[512];
    size_t len;

    fx_open(&a);
    fx_open(&b);
    len = sample_entry(&a, buf, sizeof(buf));
    TIDAL_PASS(tidal_signals_apply(b.s, 3, b.view, 5, 1, T0));
    uint64_t d = tidal_signals_digest(b.s);
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_signals_entry_merge(b.s, buf, cut, T0, NULL, NULL), TIDAL_ETRUNCATED);
    }
    buf[len] = 0;
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, buf, len + 1, T0, NULL, NULL), TIDAL_ETRAILING);
    cr_assert_eq(tidal_signals_digest(b.s), d, "failed merges change nothing");
    TIDAL_FAIL(tidal_signals_entry_encode(a.s, 3, a.view, buf, len - 1, &len), TIDAL_ETOOBIG);
    fx_close(&a);
    fx_close(&b);
}

Test(signals, entry_decode_rejects_each_broken_rule)
{
    fixture a, b;
    uint8_t buf[512], bad[512];
    size_t len;
    /* Layout of the sample: version, item, name "view" (4), M = 3, H = 2,
     * then minute buckets (older first), then hour buckets. */
    const size_t name_len = 9, name = 10, counts = 14, first = 18;

    fx_open(&a);
    fx_open(&b);
    len = sample_entry(&a, buf, sizeof(buf));
    cr_assert_eq(buf[counts], 3);
    cr_assert_eq(buf[counts + 2], 2);

    memcpy(bad, buf, len);
    bad[0] = 9;
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_EVERSION);
    memcpy(bad, buf, len);
    bad[name_len] = 0;
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    bad[name_len] = TIDAL_SIGTYPE_NAME_BYTES_MAX;
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_ECORRUPT);
    memcpy(bad, buf, len);
    bad[name + 1] = ' ';
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_ECORRUPT);
    /* No bucket at all. */
    memcpy(bad, buf, first);
    memset(bad + counts, 0, 4);
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, first, T0, NULL, NULL), TIDAL_ECORRUPT);
    /* Minute buckets out of order: swap their numbers. */
    memcpy(bad, buf, len);
    {
        size_t second = first + 4 + 1 + 18; /* each sample counter has one region */
        uint8_t t[4];
        memcpy(t, bad + first, 4);
        memcpy(bad + first, bad + second, 4);
        memcpy(bad + second, t, 4);
        TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_ECORRUPT);
        /* Equal numbers. */
        memcpy(bad + first, bad + second, 4);
        TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len, T0, NULL, NULL), TIDAL_ECORRUPT);
    }
    /* An empty counter. */
    memcpy(bad, buf, len);
    bad[first + 4] = 0;
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, first + 5, T0, NULL, NULL), TIDAL_ETRUNCATED);
    memmove(bad + first + 5, buf + first + 5 + 18, len - first - 5 - 18);
    TIDAL_FAIL(tidal_signals_entry_merge(b.s, bad, len - 18, T0, NULL, NULL), TIDAL_ECORRUPT);
    cr_assert_eq(tidal_signals_entries(b.s), 0);
    /* And the unbroken input merges. */
    TIDAL_PASS(tidal_signals_entry_merge(b.s, buf, len, T0, NULL, NULL));
    cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s));
    fx_close(&a);
    fx_close(&b);
}

Test(signals, random_garbage_is_rejected_or_round_trips)
{
    fixture a, b;
    uint8_t good[512], buf[512], out[1024];
    size_t glen;
    uint64_t s = 3;
    int accepted = 0;

    fx_open(&a);
    glen = sample_entry(&a, good, sizeof(good));
    for (int i = 0; i < 20000; i++) {
        size_t len = glen;
        int rv;
        memcpy(buf, good, glen);
        /* Mutate a few bytes of a valid entry, or cut it. */
        for (uint64_t m = 1 + tidal_test_mix(&s) % 3; m > 0; m--) {
            buf[tidal_test_mix(&s) % glen] = (uint8_t)tidal_test_mix(&s);
        }
        if (i % 4 == 0) {
            len = tidal_test_mix(&s) % (glen + 1);
        }
        fx_open(&b);
        rv = tidal_signals_entry_merge(b.s, buf, len, T0, NULL, NULL);
        cr_assert(rv == 0 || rv == TIDAL_ETRUNCATED || rv == TIDAL_ECORRUPT ||
                      rv == TIDAL_ETRAILING || rv == TIDAL_EVERSION,
                  "%s", tidal_errname(rv));
        if (rv == 0) {
            tidal_entity_id item;
            uint16_t type;
            size_t cursor = 0, olen;
            accepted++;
            if (!tidal_signals_next(b.s, &cursor, &item, &type)) {
                fx_close(&b); /* every bucket was out of the rule or ahead */
                continue;
            }
            TIDAL_PASS(tidal_signals_entry_encode(b.s, item, type, out, sizeof(out), &olen));
            /* the same bytes unless the keep rule dropped buckets */
            cr_assert(olen < len || (olen == len && memcmp(out, buf, len) == 0),
                      "accepted input is canonical");
        } else {
            cr_assert_eq(tidal_signals_entries(b.s), 0);
        }
        fx_close(&b);
    }
    cr_log_info("mutated entries accepted: %d of 20000", accepted);
    fx_close(&a);
}

/* ---- Limits and failures -------------------------------------------------- */

Test(signals, the_keep_rule_bounds_an_entry_whatever_the_stamps)
{
    fixture f;

    fx_open(&f);
    /* One event per minute for twelve days, and one at every step stamped
     * eight days back: the entry never holds more than the 61 minute and 169
     * hour buckets the rule keeps, expire or not, so the bucket limit is
     * never near. */
    for (uint64_t m = 0; m < 12 * 24 * 60; m++) {
        TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, 1, T0 + m * MIN));
        TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 1, 1, T0 + m * MIN - 8 * 24 * HOUR));
        /* plus the two the newest event pushed out, freed at the next touch */
        cr_assert_leq(tidal_signals_buckets(f.s),
                      TIDAL_SIGNALS_MINUTES_HELD + TIDAL_SIGNALS_HOURS_HELD + 2);
    }
    cr_assert_eq(count(&f, 1, f.view, TIDAL_SIGWINDOW_1H, T0 + (12 * 24 * 60 - 1) * MIN), 60);
    /* A component's overflow is still refused, and changes neither bucket. */
    uint64_t m = 12 * 24 * 60;
    TIDAL_PASS(tidal_signals_apply(f.s, 1, f.view, 0, INT64_MAX, T0 + m * MIN));
    uint64_t d = tidal_signals_digest(f.s);
    TIDAL_FAIL(tidal_signals_apply(f.s, 1, f.view, 0, INT64_MAX, T0 + m * MIN), TIDAL_ELIMIT);
    cr_assert_eq(tidal_signals_digest(f.s), d, "an overflow changes neither bucket");
    fx_close(&f);
}

Test(signals, out_of_memory_changes_nothing)
{
    uint64_t s = 8;
    fixture f, g;
    int failures = 0;
    static uint8_t buf[4096];

    fx_open(&f);
    fx_open(&g);
    random_events(&g, 3000, 40, &s, 2);
    for (int i = 0; i < 3000; i++) {
        tidal_entity_id item = 1 + tidal_test_mix(&s) % 50;
        uint64_t ts = T0 - tidal_test_mix(&s) % (3 * HOUR);
        tidal_region_id region = (tidal_region_id)(tidal_test_mix(&s) % 4);
        uint64_t d = tidal_signals_digest(f.s);
        size_t entries = tidal_signals_entries(f.s);
        int rv;
        tidal__alloc_fail_after((long)(tidal_test_mix(&s) % 3));
        if (i % 2 == 0) {
            rv = tidal_signals_apply(f.s, item, f.view, region, 1, ts);
        } else {
            rv = tidal_signals_observe(f.s, item, f.view, region, ts, (uint64_t)i, (uint64_t)i);
        }
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_signals_digest(f.s), d);
            cr_assert_eq(tidal_signals_entries(f.s), entries);
            failures++;
        }
    }
    /* Merges of g's entries under failing allocations. */
    tidal_entity_id item;
    uint16_t type;
    size_t cursor = 0, len;
    while (tidal_signals_next(g.s, &cursor, &item, &type)) {
        TIDAL_PASS(tidal_signals_entry_encode(g.s, item, type, buf, sizeof(buf), &len));
        for (long k = 0;; k++) {
            uint64_t d = tidal_signals_digest(f.s);
            int rv;
            tidal__alloc_fail_after(k);
            rv = tidal_signals_entry_merge(f.s, buf, len, T0, NULL, NULL);
            tidal__alloc_fail_after(-1);
            if (rv == 0) {
                break;
            }
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_signals_digest(f.s), d);
            failures++;
        }
    }
    cr_assert(failures > 100, "failures exercised: %d", failures);
    fx_close(&f);
    fx_close(&g);
}

/* ---- Memory --------------------------------------------------------------- */

static size_t
heap_in_use(void)
{
#ifdef TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    /* Large blocks are mmapped and counted apart from the arenas. */
    return mi.uordblks + mi.hblkhd;
#endif
}

/* 100,000 signals over 50,000 items and three types, within the last hour,
 * recorded both in the signal state and in 10,000 sessions of 10 signals:
 * the memory goal is <= 200 bytes per signal for the two together. */
Test(signals, memory_per_signal_with_its_session_record)
{
    enum { SIGNALS = 100000, ITEMS = 50000, SESSIONS = 10000 };
    tidal_sigtypes *types;
    tidal_signals *sig;
    tidal_sessions *ses;
    uint16_t type[3];
    uint64_t s = 1;
    size_t base, after_signals, after_all;

    TIDAL_PASS(tidal_sigtypes_open(&types));
    TIDAL_PASS(tidal_sigtypes_intern(types, "view", &type[0]));
    TIDAL_PASS(tidal_sigtypes_intern(types, "like", &type[1]));
    TIDAL_PASS(tidal_sigtypes_intern(types, "click", &type[2]));
    base = heap_in_use();
    TIDAL_PASS(tidal_signals_open(types, &sig));
    TIDAL_PASS(tidal_sessions_open(types, &ses));
    for (uint64_t k = 0; k < SESSIONS; k++) {
        tidal_session_id id = {.hi = 1, .lo = k + 1};
        tidal_hlc ts = {.wall_ns = T0, .node_id = 0};
        TIDAL_PASS(tidal_sessions_start(ses, &id, 1000 + k, 0, &ts));
    }
    for (int i = 0; i < SIGNALS; i++) {
        tidal_session_signal g = {
            .seqno = (uint64_t)(i / SESSIONS) + 1,
            .item = 1 + tidal_test_mix(&s) % ITEMS,
            .ts_ns = T0 - tidal_test_mix(&s) % HOUR,
            .weight = 1.0f,
            .type = type[tidal_test_mix(&s) % 3],
            .origin = (tidal_region_id)(tidal_test_mix(&s) % 2),
        };
        tidal_session_id id = {.hi = 1, .lo = (uint64_t)(i % SESSIONS) + 1};
        TIDAL_PASS(tidal_signals_apply(sig, g.item, g.type, g.origin, 1, g.ts_ns));
        TIDAL_PASS(tidal_sessions_add_signal(ses, &id, &g));
    }
    after_all = heap_in_use();
    after_signals = tidal_signals_memory_bytes(sig);
    double per_signal = (double)(after_all - base) / SIGNALS;
    printf("memory: %d signals over %d items and %d sessions: %.1f bytes/signal in all "
           "(signal state %.1f B/signal by its own count over %zu entries, %zu buckets; "
           "sessions %.1f B/signal by their count)%s\n",
           SIGNALS, ITEMS, SESSIONS, per_signal, (double)after_signals / SIGNALS,
           tidal_signals_entries(sig), tidal_signals_buckets(sig),
           (double)tidal_sessions_memory_bytes(ses) / SIGNALS,
#ifdef TEST_ASAN
           " [ASan allocator: requested bytes, no malloc overhead]"
#else
           " [mallinfo2: glibc chunks, overhead included]"
#endif
    );
    fflush(stdout);
    cr_assert(per_signal <= 200.0, "%.1f bytes per signal", per_signal);
    tidal_sessions_close(ses);
    tidal_signals_close(sig);
    tidal_sigtypes_close(types);
}
