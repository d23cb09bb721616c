/*
 * The ephemeral log's bound (store/wal.h): batches stay in memory until
 * released, up to memory_bytes; past it an append is refused with
 * TIDAL_EFULL (backpressure: nothing appended, no LSN taken) and
 * tidal_wal_wait_room waits for a release to make room.  A batch larger
 * than the bound never fits (TIDAL_ETOOBIG); a log on disk never refuses for
 * room.  The bound itself is range-checked.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "tidal_test.h"

#include "test_wal_helpers.h"

TIDAL_SUITE(wal_room);

#define PAYLOAD 100u
#define SLOT (TIDAL_BATCH_HEADER_BYTES + PAYLOAD) /* bytes one batch takes */

/* An ephemeral log with room for exactly `slots` batches of PAYLOAD bytes,
 * filled to the byte. */
static tidal_wal *
full_log(uint32_t slots)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    o.memory_bytes = (uint64_t)slots * SLOT;
    tidal_wal *w = wal_open(&o, NULL);
    for (uint32_t i = 0; i < slots; i++) {
        wal_append(w, PAYLOAD, 1);
    }
    return w;
}

static int
append_one(tidal_wal *w, uint32_t len)
{
    static const uint8_t p[PAYLOAD];
    uint64_t lsn;
    return tidal_wal_append(w, len > 0 ? p : NULL, len, 1, wal_hlc(1), wal_hlc(1), &lsn);
}

Test(wal_room, ephemeral_refuses_past_memory_bytes)
{
    tidal_wal *w = full_log(10);
    tidal_wal_stats st;
    uint64_t lsn;

    cr_assert_not(tidal_wal_wants_room(w), "full, but nobody was refused yet");
    TIDAL_FAIL(append_one(w, PAYLOAD), TIDAL_EFULL);
    cr_assert_eq(tidal_wal_next_lsn(w), 11, "a refused append takes no LSN");
    /* A smaller batch does not fit either: the bound is full to the byte. */
    TIDAL_FAIL(append_one(w, 0), TIDAL_EFULL);
    cr_assert(tidal_wal_wants_room(w), "a refusal is remembered for whoever releases");
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.refused_full, 2);
    cr_assert_eq(st.appends, 10);
    /* A release below the oldest batch frees nothing: still wanted. */
    cr_assert_eq(tidal_wal_release(w, 1), 0);
    cr_assert(tidal_wal_wants_room(w));
    /* Releasing what every peer has makes room, and answers the want. */
    cr_assert_eq(tidal_wal_release(w, 4), 0);
    cr_assert_not(tidal_wal_wants_room(w));
    TIDAL_PASS(tidal_wal_append(w, (const uint8_t[PAYLOAD]){0}, PAYLOAD, 1, wal_hlc(1),
                                wal_hlc(1), &lsn));
    cr_assert_eq(lsn, 11);
    TIDAL_FAIL(tidal_wal_read(w, 3, false, wal_collect, &(struct wal_got){0}), TIDAL_ENOENT);
    tidal_wal_close(w);
}

/* A batch of the bound's size exactly fits an empty log; one byte more never
 * fits, so it is refused for good (ETOOBIG), not told to wait (EFULL). */
Test(wal_room, batch_larger_than_the_bound_is_too_big)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    o.memory_bytes = SLOT;
    tidal_wal *w = wal_open(&o, NULL);
    uint8_t big[PAYLOAD + 1] = {0};

    TIDAL_FAIL(tidal_wal_wait_room(w, SLOT + 1, 0), TIDAL_ETOOBIG);
    uint64_t lsn;
    TIDAL_FAIL(tidal_wal_append(w, big, PAYLOAD + 1, 1, wal_hlc(1), wal_hlc(1), &lsn),
               TIDAL_ETOOBIG);
    cr_assert_not(tidal_wal_wants_room(w), "too big is not a want of room");
    TIDAL_PASS(tidal_wal_wait_room(w, SLOT, 0));
    TIDAL_PASS(append_one(w, PAYLOAD));
    cr_assert_eq(tidal_wal_next_lsn(w), 2);
    tidal_wal_close(w);
}

/* With a zero timeout the wait only checks: the answer follows the bytes
 * kept, batch by batch. */
Test(wal_room, wait_checks_the_bytes_a_release_freed)
{
    tidal_wal *w = full_log(4);

    TIDAL_FAIL(tidal_wal_wait_room(w, 1, 0), TIDAL_ETIMEDOUT);
    cr_assert_eq(tidal_wal_release(w, 2), 0); /* one batch gone */
    TIDAL_PASS(tidal_wal_wait_room(w, SLOT, 0));
    TIDAL_FAIL(tidal_wal_wait_room(w, SLOT + 1, 0), TIDAL_ETIMEDOUT);
    TIDAL_PASS(append_one(w, PAYLOAD));
    TIDAL_FAIL(append_one(w, 0), TIDAL_EFULL);
    cr_assert_eq(tidal_wal_release(w, 4), 0); /* two more */
    TIDAL_PASS(tidal_wal_wait_room(w, 2 * SLOT, 0));
    TIDAL_FAIL(tidal_wal_wait_room(w, 2 * SLOT + 1, 0), TIDAL_ETIMEDOUT);
    TIDAL_FAIL(tidal_wal_wait_room(NULL, 1, 0), TIDAL_EINVAL);
    tidal_wal_close(w);
}

Test(wal_room, wait_times_out_when_nothing_is_released)
{
    tidal_wal *w = full_log(3);
    tidal_wal_stats st;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    TIDAL_FAIL(tidal_wal_wait_room(w, 1, 30), TIDAL_ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_geq(ms, 29, "it waited its timeout (%lld ms), no less", (long long)ms);
    cr_assert_not(tidal_wal_wants_room(w), "nobody waits once it returned");
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.room_waits, 1);
    cr_assert_eq(tidal_wal_next_lsn(w), 4, "nothing appended");
    tidal_wal_close(w);
}

struct waiter {
    tidal_wal *w;
    size_t len;
    atomic_int rc; /* -1 while waiting */
};

static void *
wait_thread(void *arg)
{
    struct waiter *wt = arg;
    atomic_store(&wt->rc, tidal_wal_wait_room(wt->w, wt->len, 10000));
    return NULL;
}

/* Blocks until the log says a writer waits for room (a state, not a time). */
static void
until_wanted(tidal_wal *w)
{
    while (!tidal_wal_wants_room(w)) {
        sched_yield();
    }
}

Test(wal_room, release_wakes_every_waiter_it_made_room_for)
{
    tidal_wal *w = full_log(4);
    struct waiter a = {.w = w, .len = SLOT, .rc = -1};
    struct waiter b = {.w = w, .len = 2 * SLOT, .rc = -1};
    pthread_t ta, tb;
    tidal_wal_stats st;

    cr_assert_eq(pthread_create(&ta, NULL, wait_thread, &a), 0);
    until_wanted(w);
    cr_assert_eq(pthread_create(&tb, NULL, wait_thread, &b), 0);
    /* one batch freed: room for a, not for b */
    cr_assert_eq(tidal_wal_release(w, 2), 0);
    pthread_join(ta, NULL);
    cr_assert_eq(atomic_load(&a.rc), 0);
    /* b may or may not have started waiting yet; either way it needs more */
    TIDAL_FAIL(tidal_wal_wait_room(w, 2 * SLOT, 0), TIDAL_ETIMEDOUT);
    cr_assert_eq(atomic_load(&b.rc), -1, "b has no room yet: it cannot have returned");
    until_wanted(w);
    cr_assert_eq(tidal_wal_release(w, 3), 0);
    pthread_join(tb, NULL);
    cr_assert_eq(atomic_load(&b.rc), 0);
    cr_assert_not(tidal_wal_wants_room(w));
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.room_waits, 2);
    tidal_wal_close(w);
}

/* A log on disk keeps what it cannot cache in its files: it never refuses an
 * append for room, and nobody waits for it. */
Test(wal_room, log_on_disk_never_waits)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    o.memory_bytes = SLOT;
    tidal_wal *w = wal_open(&o, NULL);

    for (int i = 0; i < 5; i++) {
        wal_append(w, PAYLOAD, 1);
    }
    TIDAL_PASS(tidal_wal_wait_room(w, 4 * SLOT, 0));
    cr_assert_not(tidal_wal_wants_room(w));
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_room, memory_bytes_is_range_checked)
{
    tidal_wal_opts o = wal_opts(NULL, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = NULL;

    o.memory_bytes = TIDAL_WAL_MEMORY_BYTES_MIN - 1;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    o.memory_bytes = TIDAL_WAL_MEMORY_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_wal_open(&o, &w, NULL), TIDAL_EINVAL);
    cr_assert_null(w);
    o.memory_bytes = TIDAL_WAL_MEMORY_BYTES_MAX; /* a bound, not an allocation */
    tidal_wal_close(wal_open(&o, NULL));
    o.memory_bytes = TIDAL_WAL_MEMORY_BYTES_MIN; /* exactly one empty batch */
    w = wal_open(&o, NULL);
    TIDAL_PASS(append_one(w, 0));
    TIDAL_FAIL(append_one(w, 0), TIDAL_EFULL);
    TIDAL_FAIL(append_one(w, 1), TIDAL_ETOOBIG);
    tidal_wal_close(w);
}
