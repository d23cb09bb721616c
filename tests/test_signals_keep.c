/*
 * The keep rule of the signal state (store/signals.h): replicas that apply
 * the same events - some stamped before the 7-day window, some inside it -
 * in different orders, through apply, observe or reconciliation entries, and
 * that run expire at different moments, hold equal digests and equal entry
 * encodings at every point where both have applied the same events, and
 * every windowed count at a clock at or after the newest event is what the
 * stamps give, counted here from the events by whole minutes and hours.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/hash.h"
#include "store/signals.h"

TIDAL_SUITE(signals_keep);

#define MIN TIDAL_SIGNALS_MINUTE_NS
#define HOUR TIDAL_SIGNALS_HOUR_NS
#define DAY (24 * HOUR)
#define T0 (1700000000ull * 1000000000ull)
#define EVENTS 400
#define ITEMS 5

typedef struct event {
    tidal_entity_id item;
    tidal_region_id region;
    int64_t delta;
    uint64_t ts;
} event;

typedef struct replica {
    tidal_sigtypes *types;
    tidal_signals *s;
    uint16_t view;
} replica;

static void
rep_open(replica *r)
{
    TIDAL_PASS(tidal_sigtypes_open(&r->types));
    TIDAL_PASS(tidal_sigtypes_intern(r->types, "view", &r->view));
    TIDAL_PASS(tidal_signals_open(r->types, &r->s));
}

static void
rep_close(replica *r)
{
    tidal_signals_close(r->s);
    tidal_sigtypes_close(r->types);
}

/* Events over ten days up to T0 (a third of them before T0's 7-day
 * window), on a few items, from three regions. */
static void
make_events(event *ev, int n, uint64_t *s)
{
    for (int i = 0; i < n; i++) {
        ev[i].item = 1 + tidal_test_mix(s) % ITEMS;
        ev[i].region = (tidal_region_id)(tidal_test_mix(s) % 3);
        ev[i].delta = tidal_test_mix(s) % 4 == 0 ? -1 : 1;
        ev[i].ts = T0 - tidal_test_mix(s) % (10 * DAY);
    }
}

static void
shuffle(int *order, int n, uint64_t *s)
{
    for (int i = 0; i < n; i++) {
        order[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(tidal_test_mix(s) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* The count of item in a window at now, from the events alone: a minute
 * window of 60 buckets, hour windows of 24 and 168 (docs/design.md). */
static int64_t
expected(const event *ev, int n, tidal_entity_id item, tidal_sigwindow w, uint64_t now)
{
    uint64_t width = w == TIDAL_SIGWINDOW_1H ? MIN : HOUR;
    uint64_t span = w == TIDAL_SIGWINDOW_1H ? 60 : w == TIDAL_SIGWINDOW_24H ? 24 : 168;
    int64_t sum = 0;

    for (int i = 0; i < n; i++) {
        uint64_t b = ev[i].ts / width, last = now / width;
        if (ev[i].item == item && b <= last && b + span > last) {
            sum += ev[i].delta;
        }
    }
    return sum;
}

/* Every entry of a and b, encoded, is the same bytes. */
static void
assert_same_entries(const replica *a, const replica *b)
{
    static uint8_t ba[1 << 14], bb[1 << 14];

    for (tidal_entity_id item = 1; item <= ITEMS; item++) {
        size_t la = 0, lb = 0;
        int ra = tidal_signals_entry_encode(a->s, item, a->view, ba, sizeof(ba), &la);
        int rb = tidal_signals_entry_encode(b->s, item, b->view, bb, sizeof(bb), &lb);
        cr_assert_eq(ra, rb, "item %llu: %s / %s", (unsigned long long)item, tidal_errname(ra),
                     tidal_errname(rb));
        cr_assert(ra != 0 || (la == lb && memcmp(ba, bb, la) == 0), "item %llu",
                  (unsigned long long)item);
    }
}

/* Replica a applies with tidal_signals_apply, b with observe (the record's
 * component after the event, as an origin writes it) - both in their own
 * order - and each runs expire at its own random moments.  After every
 * event both have applied, digests and entries are equal. */
Test(signals_keep, orders_and_expiry_times_do_not_show_in_the_state)
{
    static event ev[EVENTS];
    static int oa[EVENTS], ob[EVENTS];
    uint64_t s = 77;

    for (int round = 0; round < 20; round++) {
        replica a, b;
        rep_open(&a);
        rep_open(&b);
        make_events(ev, EVENTS, &s);
        for (int i = 0; i < EVENTS; i++) {
            ev[i].delta = 1; /* observe carries P components */
        }
        /* the same order for a prefix, then each its own: compare digests
         * wherever the applied sets are equal (the prefix and the end) */
        int prefix = EVENTS / 2;
        shuffle(oa, EVENTS, &s);
        memcpy(ob, oa, sizeof(oa));
        for (int i = EVENTS - 1; i > prefix; i--) {
            int j = prefix + (int)(tidal_test_mix(&s) % (uint64_t)(i - prefix + 1));
            int t = ob[i];
            ob[i] = ob[j];
            ob[j] = t;
        }
        for (int i = 0; i < EVENTS; i++) {
            const event *e = &ev[oa[i]];
            TIDAL_PASS(tidal_signals_apply(a.s, e->item, a.view, e->region, 1, e->ts));
            const event *f = &ev[ob[i]];
            uint64_t pm, ph;
            TIDAL_PASS(tidal_signals_component(b.s, f->item, b.view, f->region, f->ts, &pm, &ph));
            TIDAL_PASS(tidal_signals_observe(b.s, f->item, b.view, f->region, f->ts, pm + 1,
                                             ph + 1));
            if (tidal_test_mix(&s) % 7 == 0) {
                tidal_signals_expire(a.s);
            }
            if (tidal_test_mix(&s) % 11 == 0) {
                tidal_signals_expire(b.s);
            }
            if (i + 1 == prefix || i + 1 == EVENTS) {
                cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s),
                             "round %d after %d events", round, i + 1);
                assert_same_entries(&a, &b);
            }
        }
        rep_close(&a);
        rep_close(&b);
    }
}

/* Two regions each apply their own events and learn the other's through
 * entries, in random order and more than once, with expire at random: they
 * end equal to a replica that applied every event in order, and every
 * window at T0 and later reads what the stamps give. */
Test(signals_keep, reconciled_replicas_agree_and_read_what_the_stamps_give)
{
    static event ev[EVENTS];
    static uint8_t buf[1 << 14];
    uint64_t s = 2026;

    for (int round = 0; round < 20; round++) {
        replica r[2], truth;
        rep_open(&r[0]);
        rep_open(&r[1]);
        rep_open(&truth);
        make_events(ev, EVENTS, &s);
        for (int i = 0; i < EVENTS; i++) {
            const event *e = &ev[i];
            replica *home = &r[e->region % 2];
            TIDAL_PASS(tidal_signals_apply(home->s, e->item, home->view, e->region, e->delta,
                                           e->ts));
            TIDAL_PASS(tidal_signals_apply(truth.s, e->item, truth.view, e->region, e->delta,
                                           e->ts));
            if (tidal_test_mix(&s) % 5 == 0) {
                tidal_signals_expire(home->s);
            }
            if (tidal_test_mix(&s) % 40 == 0 || i + 1 == EVENTS) {
                /* a round both ways, each entry sent one to three times */
                for (int k = 0; k < 2; k++) {
                    for (tidal_entity_id item = 1; item <= ITEMS; item++) {
                        size_t len;
                        if (tidal_signals_entry_encode(r[k].s, item, r[k].view, buf, sizeof(buf),
                                                       &len) != 0) {
                            continue;
                        }
                        for (uint64_t t = 1 + tidal_test_mix(&s) % 3; t > 0; t--) {
                            TIDAL_PASS(tidal_signals_entry_merge(r[1 - k].s, buf, len, T0, NULL,
                                                                 NULL));
                        }
                    }
                }
            }
        }
        /* one more round from 1 to 0: 0 may have raised its floor last */
        for (tidal_entity_id item = 1; item <= ITEMS; item++) {
            size_t len;
            if (tidal_signals_entry_encode(r[0].s, item, r[0].view, buf, sizeof(buf), &len) == 0) {
                TIDAL_PASS(tidal_signals_entry_merge(r[1].s, buf, len, T0, NULL, NULL));
            }
        }
        tidal_signals_expire(r[1].s);
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(tidal_signals_digest(r[k].s), tidal_signals_digest(truth.s),
                         "round %d replica %d", round, k);
            assert_same_entries(&r[k], &truth);
        }
        uint64_t nows[] = {T0, T0 + 59 * MIN, T0 + 2 * HOUR, T0 + 3 * DAY, T0 + 8 * DAY};
        for (size_t t = 0; t < sizeof(nows) / sizeof(nows[0]); t++) {
            for (tidal_entity_id item = 1; item <= ITEMS; item++) {
                for (int w = 0; w < 3; w++) {
                    int64_t want = expected(ev, EVENTS, item, (tidal_sigwindow)w, nows[t]);
                    for (int k = 0; k < 2; k++) {
                        int64_t got = -999;
                        TIDAL_PASS(tidal_signals_count(r[k].s, item, r[k].view,
                                                       (tidal_sigwindow)w, nows[t], &got));
                        cr_assert_eq(got, want, "round %d item %llu window %d at +%llu min", round,
                                     (unsigned long long)item, w,
                                     (unsigned long long)((nows[t] - T0) / MIN));
                    }
                }
            }
        }
        rep_close(&r[0]);
        rep_close(&r[1]);
        rep_close(&truth);
    }
}

/* The defect's shape, exactly: a signal stamped before the window reaches
 * one replica before its expiry ran and the other after; the clock at which
 * each runs expire does not exist any more, so they agree at once. */
Test(signals_keep, a_signal_older_than_the_window_is_no_part_of_any_replica)
{
    replica a, b;

    rep_open(&a);
    rep_open(&b);
    TIDAL_PASS(tidal_signals_apply(a.s, 1, a.view, 0, 1, T0));
    TIDAL_PASS(tidal_signals_apply(a.s, 1, a.view, 1, 1, T0 - 8 * DAY));
    tidal_signals_expire(a.s);
    tidal_signals_expire(b.s);
    TIDAL_PASS(tidal_signals_apply(b.s, 1, b.view, 1, 1, T0 - 8 * DAY));
    /* b holds the old signal for now: it is all b has seen, and b's windows
     * at its own time read it */
    int64_t n = 0;
    TIDAL_PASS(tidal_signals_count(b.s, 1, b.view, TIDAL_SIGWINDOW_7D, T0 - 8 * DAY, &n));
    cr_assert_eq(n, 1);
    TIDAL_PASS(tidal_signals_apply(b.s, 1, b.view, 0, 1, T0));
    cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s), "before b's expire");
    tidal_signals_expire(b.s);
    cr_assert_eq(tidal_signals_digest(a.s), tidal_signals_digest(b.s), "after it");
    cr_assert_eq(tidal_signals_buckets(b.s), 2);
    rep_close(&a);
    rep_close(&b);
}
