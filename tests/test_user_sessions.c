/*
 * A user's sessions (tidal_user_sessions, and tidal_sessions_of_user with
 * its index in store/session_users.c): every session of the user held,
 * ordered by start stamp then id, checked against a scan of the whole table
 * the test makes itself - through starts, merged starts that change the
 * user, entry merges that make a session, removes and retirements - and in
 * a cluster: sessions started in every region, one roaming, all listed at
 * every peer; ended ones freed by the retention disappear.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "store/session.h"

TIDAL_SUITE(user_sessions);

#define T0 (1700000000ull * 1000000000ull)
#define USERS 5
#define IDS 64

struct listed {
    tidal_hlc started;
    tidal_session_id id;
};

static int
by_start(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    int c = tidal_hlc_compare(&x->started, &y->started);
    return c != 0 ? c : tidal_session_id_compare(&x->id, &y->id);
}

/* The user's sessions by a scan of the whole table, sorted. */
static size_t
scan_of_user(const tidal_sessions *t, tidal_entity_id user, uint64_t cutoff,
             tidal_session_id *out)
{
    struct listed v[IDS];
    size_t cursor = 0, n = 0;
    tidal_session_id id;
    while (tidal_sessions_next(t, &cursor, &id)) {
        tidal_session_state st;
        TIDAL_PASS(tidal_sessions_get(t, &id, &st));
        if (st.user == user && !(st.ended && st.ended_stamp.wall_ns < cutoff)) {
            v[n++] = (struct listed){st.started, id};
        }
    }
    qsort(v, n, sizeof(v[0]), by_start);
    for (size_t i = 0; i < n; i++) {
        out[i] = v[i].id;
    }
    return n;
}

static void
assert_index_matches(const tidal_sessions *t, uint64_t cutoff, const char *when)
{
    for (tidal_entity_id user = 0; user < USERS; user++) {
        tidal_session_id want[IDS], got[IDS];
        size_t nwant = scan_of_user(t, user, cutoff, want), n = 999;
        TIDAL_PASS(tidal_sessions_of_user(t, user, cutoff, got, IDS, &n));
        cr_assert_eq(n, nwant, "%s: user %llu: %zu listed, the scan finds %zu", when,
                     (unsigned long long)user, n, nwant);
        for (size_t i = 0; i < n; i++) {
            cr_assert(tidal_session_id_compare(&got[i], &want[i]) == 0,
                      "%s: user %llu: rank %zu differs", when, (unsigned long long)user, i);
        }
    }
}

static uint64_t
lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* Random starts (some of ids held: merged, some naming another user with
 * an earlier stamp, which moves the session), ends, removes, retirements
 * and entry merges from a second table; the index agrees with a scan after
 * every step. */
Test(user_sessions, index_agrees_with_a_scan_through_every_operation)
{
    tidal_sigtypes *types;
    tidal_sessions *t, *other;
    TIDAL_PASS(tidal_sigtypes_open(&types));
    TIDAL_PASS(tidal_sessions_open(types, &t));
    TIDAL_PASS(tidal_sessions_open(types, &other));
    uint64_t seed = 7;
    uint8_t buf[4096];
    char when[64];
    for (int step = 0; step < 3000; step++) {
        tidal_session_id id = {1, 1 + lcg(&seed) % IDS};
        tidal_entity_id user = lcg(&seed) % USERS;
        tidal_hlc stamp = {T0 + lcg(&seed) % 1000, (uint32_t)(lcg(&seed) % 3), 0};
        size_t len;
        int rv;
        switch (lcg(&seed) % 6) {
        case 0:
        case 1:
            rv = tidal_sessions_start(t, &id, user, 0, &stamp);
            cr_assert(rv == 0 || rv == TIDAL_ESTATE, "start: %s", tidal_errname(rv));
            break;
        case 2:
            rv = tidal_sessions_end(t, &id, &stamp);
            cr_assert(rv == 0 || rv == TIDAL_ENOENT);
            break;
        case 3:
            rv = lcg(&seed) % 2 ? tidal_sessions_remove(t, &id) : tidal_sessions_retire(t, &id);
            cr_assert(rv == 0 || rv == TIDAL_ENOENT || rv == TIDAL_ESTATE);
            break;
        default: /* a copy from another replica: made here if unknown */
            id.hi = 2; /* ids the other table alone starts, never retired here */
            rv = tidal_sessions_start(other, &id, user, 1, &stamp);
            cr_assert_eq(rv, 0);
            TIDAL_PASS(tidal_sessions_entry_encode(other, &id, buf, sizeof(buf), &len));
            rv = tidal_sessions_entry_merge(t, buf, len, NULL);
            cr_assert(rv == 0 || rv == TIDAL_EEXIST, "merge: %s", tidal_errname(rv));
            break;
        }
        snprintf(when, sizeof(when), "step %d", step);
        assert_index_matches(t, 0, when);
        assert_index_matches(t, T0 + 500, when); /* ended before T0+500 left out */
    }
    /* Draining the table empties the index. */
    size_t cursor = 0;
    tidal_session_id id;
    while (tidal_sessions_next(t, &cursor, &id)) {
        TIDAL_PASS(tidal_sessions_remove(t, &id));
        cursor = 0;
    }
    for (tidal_entity_id user = 0; user < USERS; user++) {
        size_t n = 9;
        TIDAL_PASS(tidal_sessions_of_user(t, user, 0, NULL, 0, &n));
        cr_assert_eq(n, 0);
    }
    tidal_sessions_close(other);
    tidal_sessions_close(t);
    tidal_sigtypes_close(types);
}

/* The user's sessions as region r should list them: the given ids sorted
 * by the start stamps r reports. */
static void
assert_listed(tidal_region *r, tidal_entity_id user, const tidal_session_id *ids, size_t n)
{
    struct listed want[16];
    for (size_t i = 0; i < n; i++) {
        tidal_session_view v;
        TIDAL_PASS(tidal_get_session(r, ids[i], &v));
        cr_assert_eq(v.user, user);
        want[i] = (struct listed){v.started, ids[i]};
    }
    qsort(want, n, sizeof(want[0]), by_start);
    tidal_session_id got[16];
    size_t count = 99;
    TIDAL_PASS(tidal_user_sessions(r, user, got, 16, &count));
    cr_assert_eq(count, n, "region %u, user %llu: %zu listed, expected %zu",
                 (unsigned)tidal_region_id_of(r), (unsigned long long)user, count, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert(tidal_session_id_compare(&got[i], &want[i].id) == 0,
                  "region %u, user %llu: rank %zu differs", (unsigned)tidal_region_id_of(r),
                  (unsigned long long)user, i);
    }
}

/* Users 1-3 start sessions in every region of three; one of user 1's roams
 * to region 2 and ends there; every region lists every user's sessions,
 * its own and its peers'. */
Test(user_sessions, every_region_lists_sessions_started_anywhere_and_roaming)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x05e5);
    repl_open_ephemeral(&e, 3);
    tidal_session_id of[4][16];
    size_t n[4] = {0};
    for (int round = 0; round < 3; round++) {
        for (tidal_entity_id user = 1; user <= 3; user++) {
            for (int r = 0; r < 3; r++) {
                if ((round + r + (int)user) % 2 == 0) {
                    TIDAL_PASS(tidal_start_session(e.r[r], user, NULL, &of[user][n[user]++]));
                }
            }
        }
    }
    /* roams: written at region 2 once it knows the session (its start was
     * region 0's), the home moves there */
    repl_wait_converged(&e);
    TIDAL_PASS(tidal_signal_in_session(e.r[2], of[1][0], "view", 5, 1.0, repl_now_ns()));
    TIDAL_PASS(tidal_end_session(e.r[2], of[1][0]));
    repl_wait_converged(&e);
    for (int r = 0; r < 3; r++) {
        for (tidal_entity_id user = 1; user <= 3; user++) {
            assert_listed(e.r[r], user, of[user], n[user]);
        }
        size_t none = 9;
        TIDAL_PASS(tidal_user_sessions(e.r[r], 99, NULL, 0, &none));
        cr_assert_eq(none, 0, "a user with no session");
    }
    /* max cuts the copy, *n still counts them all */
    tidal_session_id one[1], all[16];
    size_t c1 = 0, call = 0;
    TIDAL_PASS(tidal_user_sessions(e.r[1], 2, one, 1, &c1));
    TIDAL_PASS(tidal_user_sessions(e.r[1], 2, all, 16, &call));
    cr_assert(c1 == n[2] && call == n[2] && tidal_session_id_compare(&one[0], &all[0]) == 0);
    TIDAL_FAIL(tidal_user_sessions(NULL, 2, all, 16, &call), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_sessions(e.r[1], 2, all, 16, NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_user_sessions(e.r[1], 2, NULL, 1, &call), TIDAL_EINVAL);
    repl_close(&e);
}

static bool
freed_everywhere(repl_env *e)
{
    return repl_stats(e->r[0]).sessions_freed == 1 && repl_stats(e->r[1]).sessions_freed == 1;
}

/* A short retention: user 7's ended session is freed in both regions and
 * leaves the listing; the live one stays. */
Test(user_sessions, sessions_freed_by_the_retention_disappear)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x05e6);
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .session_retention_ms = 100};
        repl_open_opts(&e, &o);
    }
    tidal_session_id live, gone;
    TIDAL_PASS(tidal_start_session(e.r[0], 7, NULL, &gone));
    TIDAL_PASS(tidal_start_session(e.r[1], 7, NULL, &live));
    repl_wait_converged(&e);
    tidal_session_id both[2] = {gone, live};
    for (int r = 0; r < 2; r++) {
        assert_listed(e.r[r], 7, both, 2);
    }
    TIDAL_PASS(tidal_end_session(e.r[0], gone));
    cr_assert(TIDAL_WAIT_UNTIL(freed_everywhere(&e), REPL_DEADLINE_MS),
              "the ended session was not freed in both regions");
    for (int r = 0; r < 2; r++) {
        assert_listed(e.r[r], 7, &live, 1);
    }
    repl_close(&e);
}
