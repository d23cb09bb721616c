/*
 * Sessions: ids, start idempotence, seqno assignment and the sorted signal
 * vector, end and home rules, a roaming agent at the store level, the merge
 * laws over random replicas (including conflicting signals under one seqno),
 * the entry encoding (every truncation, each broken rule, garbage), limits,
 * allocation failures and the memory of passive sessions.
 */
#include "tidal_test.h"

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "store/session.h"

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

TIDAL_SUITE(session);

#define T0 (1700000000ull * 1000000000ull)

static tidal_hlc
stamp(uint64_t wall, uint32_t logical, uint16_t node)
{
    tidal_hlc ts = {.wall_ns = wall, .logical = logical, .node_id = node};
    return ts;
}

typedef struct fixture {
    tidal_sigtypes *types;
    tidal_sessions *t;
    uint16_t view, like;
} fixture;

static void
fx_open(fixture *f)
{
    TIDAL_PASS(tidal_sigtypes_open(&f->types));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "view", &f->view));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "like", &f->like));
    TIDAL_PASS(tidal_sessions_open(f->types, &f->t));
}

static void
fx_close(fixture *f)
{
    tidal_sessions_close(f->t);
    tidal_sigtypes_close(f->types);
}

static tidal_session_signal
signal_of(uint64_t seqno, tidal_entity_id item, uint16_t type)
{
    tidal_session_signal g = {.seqno = seqno,
                              .item = item,
                              .ts_ns = T0 + seqno,
                              .weight = 1.0f,
                              .type = type,
                              .origin = 0};
    return g;
}

Test(session, ids_are_random_nonzero_and_ordered)
{
    tidal_session_id a, b;

    for (int i = 0; i < 1000; i++) {
        TIDAL_PASS(tidal_session_id_new(&a));
        TIDAL_PASS(tidal_session_id_new(&b));
        cr_assert(a.hi != 0 || a.lo != 0);
        cr_assert_neq(tidal_session_id_compare(&a, &b), 0);
        cr_assert_eq(tidal_session_id_compare(&a, &b), -tidal_session_id_compare(&b, &a));
    }
    tidal_session_id x = {1, 2}, y = {1, 3}, z = {2, 0};
    cr_assert(tidal_session_id_compare(&x, &y) < 0 && tidal_session_id_compare(&y, &z) < 0);
    cr_assert_eq(tidal_session_id_compare(&x, &x), 0);
}

Test(session, a_repeated_start_changes_nothing)
{
    fixture f;
    tidal_session_id id = {7, 7}, zero = {0, 0};
    tidal_hlc ts = stamp(T0, 0, 1);
    tidal_session_state info;

    fx_open(&f);
    TIDAL_FAIL(tidal_sessions_get(f.t, &id, &info), TIDAL_ENOENT);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 42, 1, &ts));
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 42, 1, &ts));
    TIDAL_FAIL(tidal_sessions_start(f.t, &zero, 42, 1, &ts), TIDAL_EINVAL);
    tidal_session_id other = {7, 8};
    TIDAL_FAIL(tidal_sessions_start(f.t, &other, 42, TIDAL_REGIONS_MAX, &ts), TIDAL_EINVAL);
    TIDAL_PASS(tidal_sessions_get(f.t, &id, &info));
    cr_assert_eq(info.user, 42);
    cr_assert_eq(info.home, 1, "a repeated start changes nothing");
    cr_assert_eq(tidal_hlc_compare(&info.started, &ts), 0);
    cr_assert_eq(tidal_hlc_compare(&info.home_stamp, &ts), 0);
    cr_assert(info.handover_seqno == 1 && info.next_seqno == 1 && !info.ended);
    cr_assert_eq(info.signals, 0);
    cr_assert_eq(tidal_sessions_count(f.t), 1);
    fx_close(&f);
}

/* Two different starts of one id (two origins that drew it): never refused
 * (applying a logged record cannot fail), and merged alike in any order -
 * the smaller (stamp, user) names the user, the home is last-writer-wins. */
Test(session, conflicting_starts_merge_alike_in_any_order)
{
    tidal_session_id id = {7, 7};
    struct {
        tidal_entity_id user;
        tidal_region_id home;
        tidal_hlc at;
    } starts[3] = {{42, 1, stamp(T0, 0, 1)}, {43, 3, stamp(T0 + 5, 0, 3)}, {41, 2, stamp(T0, 0, 1)}};
    int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        fixture f;
        fx_open(&f);
        for (int k = 0; k < 3; k++) {
            int i = orders[o][k];
            TIDAL_PASS(tidal_sessions_start(f.t, &id, starts[i].user, starts[i].home, &starts[i].at));
        }
        tidal_session_state info;
        TIDAL_PASS(tidal_sessions_get(f.t, &id, &info));
        cr_assert_eq(info.user, 41, "order %d: user %llu", o, (unsigned long long)info.user);
        cr_assert_eq(tidal_hlc_compare(&info.started, &starts[0].at), 0);
        cr_assert_eq(info.home, 3, "order %d: home %u", o, info.home);
        cr_assert_eq(tidal_hlc_compare(&info.home_stamp, &starts[1].at), 0);
        fx_close(&f);
    }
}

Test(session, signals_stay_sorted_by_seqno)
{
    fixture f;
    tidal_session_id id = {1, 1};
    tidal_hlc ts = stamp(T0, 0, 0);
    const tidal_session_signal *v;
    size_t n;
    uint64_t seq;

    fx_open(&f);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    for (uint64_t i = 1; i <= 5; i++) {
        TIDAL_PASS(tidal_sessions_assign_seqno(f.t, &id, &seq));
        cr_assert_eq(seq, i);
        tidal_session_signal g = signal_of(seq, 100 + i, f.view);
        TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
    }
    /* Gap filling: 9 first, then 7, then 6 and 8. */
    uint64_t late[] = {9, 7, 6, 8};
    for (size_t i = 0; i < 4; i++) {
        tidal_session_signal g = signal_of(late[i], 200 + late[i], f.like);
        TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
    }
    TIDAL_PASS(tidal_sessions_signals(f.t, &id, &v, &n));
    cr_assert_eq(n, 9);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(v[i].seqno, i + 1);
    }
    tidal_session_state info;
    TIDAL_PASS(tidal_sessions_get(f.t, &id, &info));
    cr_assert_eq(info.next_seqno, 10, "raised past the largest seqno held");
    TIDAL_PASS(tidal_sessions_assign_seqno(f.t, &id, &seq));
    cr_assert_eq(seq, 10);
    /* a write that took 10 and failed gives it back; only the last one */
    TIDAL_FAIL(tidal_sessions_unassign_seqno(f.t, &id, 9), TIDAL_ESTATE);
    TIDAL_PASS(tidal_sessions_unassign_seqno(f.t, &id, 10));
    TIDAL_FAIL(tidal_sessions_unassign_seqno(f.t, &id, 10), TIDAL_ESTATE);
    TIDAL_PASS(tidal_sessions_assign_seqno(f.t, &id, &seq));
    cr_assert_eq(seq, 10);
    tidal_session_id nobody = {7, 7};
    TIDAL_FAIL(tidal_sessions_unassign_seqno(f.t, &nobody, 1), TIDAL_ENOENT);
    fx_close(&f);
}

Test(session, add_signal_refuses_bad_input_and_changes_nothing)
{
    fixture f;
    tidal_session_id id = {1, 1}, unknown = {2, 2};
    tidal_hlc ts = stamp(T0, 0, 0);
    tidal_session_signal g = signal_of(1, 5, 0);
    const tidal_session_signal *v;
    size_t n;

    fx_open(&f);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    g.type = f.view;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &unknown, &g), TIDAL_ENOENT);
    TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
    g.item = 6;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EEXIST);
    g.seqno = 0;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.seqno = 2;
    g.weight = NAN;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.weight = INFINITY;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.weight = -0.5f;
    g.type = 0;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.type = 3;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.type = f.like;
    g.origin = TIDAL_REGIONS_MAX;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_EINVAL);
    g.origin = TIDAL_REGIONS_MAX - 1;
    g.seqno = UINT64_MAX;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &g), TIDAL_ELIMIT);
    TIDAL_PASS(tidal_sessions_signals(f.t, &id, &v, &n));
    cr_assert_eq(n, 1);
    cr_assert_eq(v[0].item, 5, "the first signal under a seqno stays");
    g.seqno = UINT64_MAX - 1;
    TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
    uint64_t seq;
    TIDAL_FAIL(tidal_sessions_assign_seqno(f.t, &id, &seq), TIDAL_ELIMIT);
    fx_close(&f);
}

Test(session, end_is_sticky_and_keeps_the_first_stamp)
{
    fixture f;
    tidal_session_id id = {3, 3};
    tidal_hlc ts = stamp(T0, 0, 0), e1 = stamp(T0 + 10, 0, 0), e2 = stamp(T0 + 5, 0, 1);
    tidal_session_state info;

    fx_open(&f);
    TIDAL_FAIL(tidal_sessions_end(f.t, &id, &e1), TIDAL_ENOENT);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    TIDAL_PASS(tidal_sessions_end(f.t, &id, &e1));
    TIDAL_PASS(tidal_sessions_end(f.t, &id, &e2));
    TIDAL_PASS(tidal_sessions_end(f.t, &id, &e1));
    TIDAL_PASS(tidal_sessions_get(f.t, &id, &info));
    cr_assert(info.ended);
    cr_assert_eq(tidal_hlc_compare(&info.ended_stamp, &e2), 0);
    /* A write made before the end may still arrive. */
    tidal_session_signal g = signal_of(1, 9, f.view);
    TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
    fx_close(&f);
}

Test(session, home_moves_by_last_writer_wins)
{
    fixture f;
    tidal_session_id id = {4, 4};
    tidal_hlc ts = stamp(T0, 0, 0);
    tidal_session_state info;
    bool applied;

    fx_open(&f);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    tidal_hlc h1 = stamp(T0 + 100, 0, 0), h0 = stamp(T0 + 50, 0, 2);
    TIDAL_PASS(tidal_sessions_set_home(f.t, &id, 1, 6, &h1, &applied));
    cr_assert(applied);
    TIDAL_PASS(tidal_sessions_set_home(f.t, &id, 2, 3, &h0, &applied));
    cr_assert_not(applied, "an older move loses");
    TIDAL_PASS(tidal_sessions_get(f.t, &id, &info));
    cr_assert(info.home == 1 && info.handover_seqno == 6 && info.next_seqno == 6);
    /* Identical stamps: the greater region wins, in either order. */
    TIDAL_PASS(tidal_sessions_set_home(f.t, &id, 3, 7, &h1, &applied));
    cr_assert(applied);
    TIDAL_PASS(tidal_sessions_set_home(f.t, &id, 1, 6, &h1, &applied));
    cr_assert_not(applied);
    TIDAL_FAIL(tidal_sessions_set_home(f.t, &id, TIDAL_REGIONS_MAX, 6, &h1, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sessions_set_home(f.t, &id, 1, 0, &h1, NULL), TIDAL_EINVAL);
    tidal_session_id unknown = {9, 9};
    TIDAL_FAIL(tidal_sessions_set_home(f.t, &unknown, 1, 6, &h1, NULL), TIDAL_ENOENT);
    fx_close(&f);
}

/* Sends session id from one table to another through the entry encoding. */
static void
send_session(fixture *to, const fixture *from, const tidal_session_id *id)
{
    static uint8_t buf[1 << 22];
    tidal_session_id got;
    size_t len;

    TIDAL_PASS(tidal_sessions_entry_encode(from->t, id, buf, sizeof(buf), &len));
    TIDAL_PASS(tidal_sessions_entry_merge(to->t, buf, len, &got));
    cr_assert_eq(tidal_session_id_compare(&got, id), 0);
}

static void
reconcile(fixture *to, const fixture *from)
{
    tidal_session_id id;
    size_t cursor = 0;

    while (tidal_sessions_next(from->t, &cursor, &id)) {
        send_session(to, from, &id);
    }
}

/* The seed's roaming agent at the level of the tables: five signals at home
 * in region 0, the home moves to region 1 which continues the seqnos, and
 * both regions end with the same session. */
Test(session, a_roaming_agent_keeps_one_session)
{
    fixture a, b;
    tidal_session_id id;
    tidal_hlc ts = stamp(T0, 0, 0);
    uint64_t seq;
    const tidal_session_signal *v;
    size_t n;

    fx_open(&a);
    fx_open(&b);
    TIDAL_PASS(tidal_session_id_new(&id));
    TIDAL_PASS(tidal_sessions_start(a.t, &id, 1, 0, &ts));
    for (int i = 0; i < 5; i++) {
        TIDAL_PASS(tidal_sessions_assign_seqno(a.t, &id, &seq));
        tidal_session_signal g = signal_of(seq, 100 + seq, a.view);
        TIDAL_PASS(tidal_sessions_add_signal(a.t, &id, &g));
    }
    send_session(&b, &a, &id);
    TIDAL_PASS(tidal_sessions_signals(b.t, &id, &v, &n));
    cr_assert_eq(n, 5);
    /* Handover: the old home's next seqno goes with the move. */
    tidal_session_state info;
    TIDAL_PASS(tidal_sessions_get(a.t, &id, &info));
    tidal_hlc move = stamp(T0 + 1000, 0, 1);
    TIDAL_PASS(tidal_sessions_set_home(b.t, &id, 1, info.next_seqno, &move, NULL));
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_sessions_assign_seqno(b.t, &id, &seq));
        tidal_session_signal g = signal_of(seq, 100 + seq, b.like);
        g.origin = 1;
        TIDAL_PASS(tidal_sessions_add_signal(b.t, &id, &g));
    }
    send_session(&a, &b, &id);
    TIDAL_PASS(tidal_sessions_signals(a.t, &id, &v, &n));
    cr_assert_eq(n, 8);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(v[i].seqno, i + 1, "nothing lost, duplicated or reordered");
    }
    cr_assert_eq(tidal_sessions_digest(a.t), tidal_sessions_digest(b.t));
    fx_close(&a);
    fx_close(&b);
}

/* ---- Merge laws ------------------------------------------------------------ */

#define SESSIONS 3

/* A random replica: it saw a random part of a shared history of SESSIONS
 * sessions (start, signals, home moves, ends), plus, rarely, a conflicting
 * signal under a seqno (only forged input can do that). */
static void
random_replica(fixture *f, uint64_t history, uint64_t *s)
{
    for (uint64_t k = 0; k < SESSIONS; k++) {
        tidal_session_id id = {k + 1, history};
        uint64_t h = history * 31 + k;
        tidal_hlc st = stamp(T0 + h % 7, 0, (uint16_t)(h % 3));
        if (tidal_test_mix(s) % 4 == 0) {
            continue;
        }
        TIDAL_PASS(tidal_sessions_start(f->t, &id, 100 + k, (tidal_region_id)(h % 3), &st));
        for (uint64_t seq = 1; seq <= 12; seq++) {
            if (tidal_test_mix(s) % 2 == 0) {
                continue;
            }
            tidal_session_signal g = signal_of(seq, 1000 * k + seq, seq % 3 ? f->view : f->like);
            if (tidal_test_mix(s) % 20 == 0) {
                g.weight = 2.0f; /* a conflicting copy of seqno seq */
            }
            TIDAL_PASS(tidal_sessions_add_signal(f->t, &id, &g));
        }
        for (int m = 0; m < 3; m++) {
            if (tidal_test_mix(s) % 2 == 0) {
                tidal_hlc hs = stamp(T0 + 10 + (uint64_t)m, 0, (uint16_t)(tidal_test_mix(s) % 2));
                TIDAL_PASS(tidal_sessions_set_home(f->t, &id, (tidal_region_id)(m + hs.node_id),
                                                   5 + (uint64_t)m, &hs, NULL));
            }
        }
        if (tidal_test_mix(s) % 3 == 0) {
            tidal_hlc es = stamp(T0 + 100 + tidal_test_mix(s) % 3, 0, 0);
            TIDAL_PASS(tidal_sessions_end(f->t, &id, &es));
        }
    }
}

Test(session, merge_is_commutative_associative_idempotent)
{
    uint64_t s = 19;

    for (int round = 0; round < 300; round++) {
        fixture a, b, c, ab, ba, ab_c, bc, a_bc;
        fixture *all[] = {&a, &b, &c, &ab, &ba, &ab_c, &bc, &a_bc};
        for (size_t i = 0; i < 8; i++) {
            fx_open(all[i]);
        }
        random_replica(&a, 1, &s);
        random_replica(&b, 1, &s);
        random_replica(&c, 1, &s);
        reconcile(&ab, &a);
        reconcile(&ab, &b);
        reconcile(&ba, &b);
        reconcile(&ba, &a);
        cr_assert_eq(tidal_sessions_digest(ab.t), tidal_sessions_digest(ba.t), "commutative");
        reconcile(&ab_c, &ab);
        reconcile(&ab_c, &c);
        reconcile(&bc, &b);
        reconcile(&bc, &c);
        reconcile(&a_bc, &a);
        reconcile(&a_bc, &bc);
        cr_assert_eq(tidal_sessions_digest(ab_c.t), tidal_sessions_digest(a_bc.t), "associative");
        uint64_t d = tidal_sessions_digest(a.t);
        reconcile(&a, &a);
        cr_assert_eq(tidal_sessions_digest(a.t), d, "idempotent");
        reconcile(&ab, &a);
        reconcile(&ab, &b);
        cr_assert_eq(tidal_sessions_digest(ab.t), tidal_sessions_digest(ba.t), "absorbs parts");
        /* Merging into a replica that already has the sessions (not only
         * into empty ones) gives the same. */
        reconcile(&b, &a);
        cr_assert_eq(tidal_sessions_digest(b.t), tidal_sessions_digest(ab.t), "into non-empty");
        for (size_t i = 0; i < 8; i++) {
            fx_close(all[i]);
        }
    }
}

Test(session, merge_refuses_another_user_and_changes_nothing)
{
    fixture a, b;
    tidal_session_id id = {5, 5};
    tidal_hlc ts = stamp(T0, 0, 0);
    uint8_t buf[512];
    size_t len;

    fx_open(&a);
    fx_open(&b);
    TIDAL_PASS(tidal_sessions_start(a.t, &id, 1, 0, &ts));
    TIDAL_PASS(tidal_sessions_start(b.t, &id, 2, 0, &ts));
    uint64_t d = tidal_sessions_digest(b.t);
    TIDAL_PASS(tidal_sessions_entry_encode(a.t, &id, buf, sizeof(buf), &len));
    TIDAL_FAIL(tidal_sessions_entry_merge(b.t, buf, len, NULL), TIDAL_EEXIST);
    cr_assert_eq(tidal_sessions_digest(b.t), d);
    fx_close(&a);
    fx_close(&b);
}

Test(session, entries_carry_type_names_not_local_ids)
{
    fixture a, b;
    tidal_session_id id = {6, 6};
    tidal_hlc ts = stamp(T0, 0, 0);
    uint64_t ha, hb;

    fx_open(&a);
    TIDAL_PASS(tidal_sigtypes_open(&b.types));
    TIDAL_PASS(tidal_sigtypes_intern(b.types, "like", &b.like));
    TIDAL_PASS(tidal_sigtypes_intern(b.types, "view", &b.view));
    TIDAL_PASS(tidal_sessions_open(b.types, &b.t));
    cr_assert_neq(a.view, b.view);
    TIDAL_PASS(tidal_sessions_start(a.t, &id, 1, 0, &ts));
    for (uint64_t seq = 1; seq <= 4; seq++) {
        tidal_session_signal g = signal_of(seq, seq, seq % 2 ? a.view : a.like);
        TIDAL_PASS(tidal_sessions_add_signal(a.t, &id, &g));
    }
    send_session(&b, &a, &id);
    const tidal_session_signal *v;
    size_t n;
    TIDAL_PASS(tidal_sessions_signals(b.t, &id, &v, &n));
    cr_assert_eq(v[0].type, b.view);
    cr_assert_eq(v[1].type, b.like);
    TIDAL_PASS(tidal_sessions_entry_hash(a.t, &id, &ha));
    TIDAL_PASS(tidal_sessions_entry_hash(b.t, &id, &hb));
    cr_assert_eq(ha, hb);
    tidal_session_id unknown = {1, 0};
    TIDAL_FAIL(tidal_sessions_entry_hash(a.t, &unknown, &ha), TIDAL_ENOENT);
    fx_close(&a);
    fx_close(&b);
}

/* ---- Entry decoding ------------------------------------------------------- */

/* A sample: ended, two types, three signals.  Offsets of its layout. */
enum {
    OFF_ID = 1,
    OFF_HOME = 25,
    OFF_HANDOVER = 41,
    OFF_NEXT = 63,
    OFF_FLAGS = 71,
    OFF_NAMES = 86, /* T, then "like" (1 + 4), then "view" (1 + 4) */
    OFF_SIGS = 98,  /* S, then the signals */
};

static size_t
sample(fixture *f, uint8_t *buf, size_t cap)
{
    tidal_session_id id = {0xabc, 0xdef};
    tidal_hlc ts = stamp(T0, 1, 2), end = stamp(T0 + 9, 0, 0);
    size_t len;

    TIDAL_PASS(tidal_sessions_start(f->t, &id, 77, 2, &ts));
    for (uint64_t seq = 1; seq <= 3; seq++) {
        tidal_session_signal g = signal_of(seq, seq * 10, seq == 2 ? f->like : f->view);
        TIDAL_PASS(tidal_sessions_add_signal(f->t, &id, &g));
    }
    TIDAL_PASS(tidal_sessions_end(f->t, &id, &end));
    TIDAL_PASS(tidal_sessions_entry_encode(f->t, &id, buf, cap, &len));
    cr_assert_eq(len, OFF_SIGS + 4 + 3 * 32);
    cr_assert_eq(buf[OFF_NAMES], 2);
    cr_assert(memcmp(buf + OFF_NAMES + 3, "like", 4) == 0, "names sorted");
    return len;
}

static void
put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static int
merge_bytes(fixture *f, const uint8_t *buf, size_t len)
{
    return tidal_sessions_entry_merge(f->t, buf, len, NULL);
}

Test(session, entry_decode_rejects_truncation_and_trailing_bytes)
{
    fixture a, b;
    uint8_t buf[512];
    size_t len;

    fx_open(&a);
    fx_open(&b);
    len = sample(&a, buf, sizeof(buf));
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(merge_bytes(&b, buf, cut), TIDAL_ETRUNCATED);
    }
    buf[len] = 0;
    TIDAL_FAIL(merge_bytes(&b, buf, len + 1), TIDAL_ETRAILING);
    cr_assert_eq(tidal_sessions_count(b.t), 0);
    TIDAL_PASS(merge_bytes(&b, buf, len));
    cr_assert_eq(tidal_sessions_digest(a.t), tidal_sessions_digest(b.t));
    tidal_session_id id = {0xabc, 0xdef};
    TIDAL_FAIL(tidal_sessions_entry_encode(a.t, &id, buf, len - 1, &len), TIDAL_ETOOBIG);
    cr_assert_eq(len, OFF_SIGS + 4 + 3 * 32);
    fx_close(&a);
    fx_close(&b);
}

Test(session, entry_decode_rejects_each_broken_rule)
{
    fixture a, b;
    uint8_t buf[512], bad[512];
    size_t len;
    const size_t sig0 = OFF_SIGS + 4, sig1 = sig0 + 32;

    fx_open(&a);
    fx_open(&b);
    len = sample(&a, buf, sizeof(buf));
#define BROKEN(what, code, edit)                                                                   \
    do {                                                                                           \
        memcpy(bad, buf, len);                                                                     \
        edit;                                                                                      \
        cr_assert_eq(merge_bytes(&b, bad, len), code, "%s: got %s", what,                          \
                     tidal_errname(merge_bytes(&b, bad, len)));                                    \
    } while (0)
    BROKEN("version", TIDAL_EVERSION, bad[0] = 2);
    BROKEN("zero id", TIDAL_ECORRUPT, memset(bad + OFF_ID, 0, 16));
    BROKEN("home", TIDAL_ECORRUPT, bad[OFF_HOME] = TIDAL_REGIONS_MAX);
    BROKEN("handover 0", TIDAL_ECORRUPT, put64(bad + OFF_HANDOVER, 0));
    BROKEN("handover past next", TIDAL_ECORRUPT, put64(bad + OFF_HANDOVER, 5));
    BROKEN("next not past seqnos", TIDAL_ECORRUPT, put64(bad + OFF_NEXT, 3));
    BROKEN("flags", TIDAL_ECORRUPT, bad[OFF_FLAGS] = 4); /* bits 0, 1 known */
    BROKEN("names out of order", TIDAL_ECORRUPT, memcpy(bad + OFF_NAMES + 3, "wiew", 4));
    BROKEN("names repeated", TIDAL_ECORRUPT, memcpy(bad + OFF_NAMES + 8, "like", 4));
    BROKEN("name invalid", TIDAL_ECORRUPT, bad[OFF_NAMES + 3] = ' ');
    BROKEN("name empty", TIDAL_ECORRUPT, bad[OFF_NAMES + 2] = 0);
    BROKEN("too many names", TIDAL_ECORRUPT, bad[OFF_NAMES + 1] = 0xff);
    BROKEN("name unused", TIDAL_ECORRUPT, bad[sig1 + 28] = 1);
    BROKEN("type index", TIDAL_ECORRUPT, bad[sig0 + 28] = 2);
    BROKEN("seqno 0", TIDAL_ECORRUPT, put64(bad + sig0, 0));
    BROKEN("seqnos not increasing", TIDAL_ECORRUPT, put64(bad + sig1, 1));
    BROKEN("weight NaN", TIDAL_ECORRUPT, memset(bad + sig0 + 24, 0xff, 4));
    BROKEN("origin", TIDAL_ECORRUPT, bad[sig0 + 30] = TIDAL_REGIONS_MAX);
    BROKEN("signal count", TIDAL_ECORRUPT, memset(bad + OFF_SIGS, 0xff, 4));
    BROKEN("signal count short", TIDAL_ETRUNCATED, bad[OFF_SIGS] = 4);
    BROKEN("signal count long", TIDAL_ETRAILING, bad[OFF_SIGS] = 2);
#undef BROKEN
    cr_assert_eq(tidal_sessions_count(b.t), 0);
    cr_assert_eq(tidal_sigtypes_count(b.types), 2, "no junk name was interned");
    fx_close(&a);
    fx_close(&b);
}

Test(session, mutated_entries_are_rejected_or_canonical)
{
    fixture a;
    uint8_t good[512], buf[512], out[1024];
    size_t glen;
    uint64_t s = 5;
    int accepted = 0;

    fx_open(&a);
    glen = sample(&a, good, sizeof(good));
    for (int i = 0; i < 20000; i++) {
        fixture b;
        size_t len = glen, olen;
        tidal_session_id id;
        int rv;
        memcpy(buf, good, glen);
        for (uint64_t m = 1 + tidal_test_mix(&s) % 3; m > 0; m--) {
            buf[tidal_test_mix(&s) % glen] = (uint8_t)tidal_test_mix(&s);
        }
        if (i % 4 == 0) {
            len = tidal_test_mix(&s) % (glen + 1);
        }
        fx_open(&b);
        rv = tidal_sessions_entry_merge(b.t, buf, len, &id);
        cr_assert(rv == 0 || rv == TIDAL_ETRUNCATED || rv == TIDAL_ECORRUPT ||
                      rv == TIDAL_ETRAILING || rv == TIDAL_EVERSION,
                  "%s", tidal_errname(rv));
        if (rv == 0) {
            accepted++;
            TIDAL_PASS(tidal_sessions_entry_encode(b.t, &id, out, sizeof(out), &olen));
            cr_assert(olen == len && memcmp(out, buf, len) == 0, "accepted input is canonical");
        } else {
            cr_assert_eq(tidal_sessions_count(b.t), 0);
        }
        fx_close(&b);
    }
    cr_log_info("mutated entries accepted: %d of 20000", accepted);
    fx_close(&a);
}

/* ---- Limits, failures, memory --------------------------------------------- */

Test(session, signal_limit_minus_one_exact_plus_one)
{
    fixture f, g;
    tidal_session_id id = {8, 8};
    tidal_hlc ts = stamp(T0, 0, 0);

    fx_open(&f);
    fx_open(&g);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    for (uint64_t seq = 1; seq < TIDAL_SESSION_SIGNALS_MAX; seq++) {
        tidal_session_signal s = signal_of(seq, seq, f.view);
        TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &s));
    }
    tidal_session_signal s = signal_of(TIDAL_SESSION_SIGNALS_MAX, 1, f.view);
    TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &s));
    s.seqno++;
    TIDAL_FAIL(tidal_sessions_add_signal(f.t, &id, &s), TIDAL_ELIMIT);
    /* A full session still travels, and a union past the limit is refused. */
    send_session(&g, &f, &id);
    TIDAL_PASS(tidal_sessions_remove(f.t, &id));
    TIDAL_FAIL(tidal_sessions_remove(f.t, &id), TIDAL_ENOENT);
    TIDAL_PASS(tidal_sessions_start(f.t, &id, 1, 0, &ts));
    s = signal_of(TIDAL_SESSION_SIGNALS_MAX + 1, 1, f.view);
    TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &s));
    static uint8_t buf[TIDAL_SESSION_SIGNALS_MAX * 32 + 4096];
    size_t len;
    TIDAL_PASS(tidal_sessions_entry_encode(f.t, &id, buf, sizeof(buf), &len));
    uint64_t d = tidal_sessions_digest(g.t);
    TIDAL_FAIL(tidal_sessions_entry_merge(g.t, buf, len, NULL), TIDAL_ELIMIT);
    cr_assert_eq(tidal_sessions_digest(g.t), d);
    fx_close(&f);
    fx_close(&g);
}

Test(session, out_of_memory_changes_nothing)
{
    fixture f, g;
    uint64_t s = 12;
    int failures = 0;

    fx_open(&f);
    fx_open(&g);
    random_replica(&g, 2, &s);
    random_replica(&f, 2, &s);
    for (uint64_t k = 0; k < 400; k++) {
        tidal_session_id id = {100, k + 1};
        tidal_hlc ts = stamp(T0 + k, 0, 0);
        for (long n = 0;; n++) {
            uint64_t d = tidal_sessions_digest(f.t);
            int rv;
            tidal__alloc_fail_after(n);
            rv = tidal_sessions_start(f.t, &id, k, 0, &ts);
            if (rv == 0) {
                tidal_session_signal g1 = signal_of(1, k, f.view);
                rv = tidal_sessions_add_signal(f.t, &id, &g1);
                if (rv != 0) {
                    tidal__alloc_fail_after(-1);
                    TIDAL_PASS(tidal_sessions_remove(f.t, &id));
                }
            }
            tidal__alloc_fail_after(-1);
            if (rv == 0) {
                break;
            }
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_sessions_digest(f.t), d);
            failures++;
        }
    }
    tidal_session_id id;
    size_t cursor = 0;
    static uint8_t buf[1 << 16];
    while (tidal_sessions_next(g.t, &cursor, &id)) {
        size_t len;
        TIDAL_PASS(tidal_sessions_entry_encode(g.t, &id, buf, sizeof(buf), &len));
        for (long n = 0;; n++) {
            uint64_t d = tidal_sessions_digest(f.t);
            int rv;
            tidal__alloc_fail_after(n);
            rv = tidal_sessions_entry_merge(f.t, buf, len, NULL);
            tidal__alloc_fail_after(-1);
            if (rv == 0) {
                break;
            }
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_sessions_digest(f.t), d);
            failures++;
        }
    }
    cr_assert(failures > 20, "failures exercised: %d", failures);
    fx_close(&f);
    fx_close(&g);
}

static size_t
heap_in_use(void)
{
#ifdef TEST_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

/* 100,000 passive sessions with a few (1-5) signals each: the goal is at
 * most 2 KiB per session. */
Test(session, memory_per_passive_session)
{
    enum { N = 100000 };
    fixture f;
    uint64_t s = 3, signals = 0;
    size_t base;

    TIDAL_PASS(tidal_sigtypes_open(&f.types));
    TIDAL_PASS(tidal_sigtypes_intern(f.types, "view", &f.view));
    base = heap_in_use();
    TIDAL_PASS(tidal_sessions_open(f.types, &f.t));
    for (uint64_t k = 0; k < N; k++) {
        tidal_session_id id = {tidal_test_mix(&s), tidal_test_mix(&s)};
        tidal_hlc ts = stamp(T0 + k, 0, 0);
        TIDAL_PASS(tidal_sessions_start(f.t, &id, k, 0, &ts));
        for (uint64_t seq = 1, n = 1 + tidal_test_mix(&s) % 5; seq <= n; seq++) {
            tidal_session_signal g = signal_of(seq, tidal_test_mix(&s), f.view);
            TIDAL_PASS(tidal_sessions_add_signal(f.t, &id, &g));
            signals++;
        }
    }
    double per = (double)(heap_in_use() - base) / N;
    printf("memory: %d passive sessions with %.2f signals each on average: %.1f bytes/session "
           "(the table's own count: %.1f)%s\n",
           N, (double)signals / N, per, (double)tidal_sessions_memory_bytes(f.t) / N,
#ifdef TEST_ASAN
           " [ASan allocator: requested bytes, no malloc overhead]"
#else
           " [mallinfo2: glibc chunks, overhead included]"
#endif
    );
    fflush(stdout);
    cr_assert(per <= 2048.0, "%.1f bytes per session", per);
    fx_close(&f);
}
