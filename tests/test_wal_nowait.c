/*
 * No one waits for the disk under a lock (store/wal_state.h, "Lock order";
 * wal_sync.c): every fdatasync and fsync is the sync thread's, without the
 * log's lock, so appends - roll-overs included - and a region's readers go
 * on while a sync is stuck.  This binary links with -Wl,--wrap=fdatasync:
 * the test holds every fdatasync at a gate and watches what still moves.
 * The deadlines below only bound how long a test waits for something that
 * must happen; none of them is a timing threshold.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "actors/internal.h"
#include "repl_helpers.h"
#include "test_wal_helpers.h"

TIDAL_SUITE(wal_nowait);

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static atomic_int held; /* fdatasync calls waiting at the gate */

int
__wrap_fdatasync(int fd)
{
    pthread_mutex_lock(&gate_lock);
    atomic_fetch_add(&held, 1);
    while (gate_closed) {
        pthread_cond_wait(&gate_cond, &gate_lock);
    }
    atomic_fetch_sub(&held, 1);
    pthread_mutex_unlock(&gate_lock);
    return __real_fdatasync(fd);
}

static void
gate(bool closed)
{
    pthread_mutex_lock(&gate_lock);
    gate_closed = closed;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

/* Appends n batches of len bytes on a thread of its own, so that a test can
 * tell an append that returns from one that hangs. */
struct appender {
    tidal_wal *w;
    uint32_t n, len;
    atomic_bool done;
};

static void *
append_n(void *arg)
{
    struct appender *a = arg;
    for (uint32_t i = 0; i < a->n; i++) {
        (void)wal_append(a->w, a->len, 1);
    }
    atomic_store(&a->done, true);
    return NULL;
}

/* Appends 100 batches while the sync thread's fdatasync is held (under
 * INTERVAL the appenders roll over a dozen segments meanwhile; under SYNC
 * the sync thread does, once it is free): every append returns, nothing new
 * becomes durable, and once the gate opens everything does.  The test thread
 * touches the log only once the appends returned: a build whose appends
 * wait for the disk fails here instead of hanging. */
static void
appends_pass_a_stuck_sync(tidal_durability d)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, d);
    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN;
    o.interval_ms = 1;
    tidal_wal *w = wal_open(&o, NULL);
    uint64_t durable = tidal_wal_durable_lsn(w);
    gate(true);
    struct appender first = {.w = w, .n = 1, .len = 300};
    append_n(&first); /* the sync thread's round takes it, and waits */
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&held) >= 1, 10000), "no fdatasync started");
    struct appender a = {.w = w, .n = 100, .len = 300};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, append_n, &a), 0);
    bool returned = TIDAL_WAIT_UNTIL(atomic_load(&a.done), 10000);
    uint64_t durable_while_stuck = returned ? tidal_wal_durable_lsn(w) : durable;
    gate(false);
    pthread_join(t, NULL);
    cr_assert(returned, "an append waited for the stuck sync");
    cr_assert_eq(durable_while_stuck, durable, "durable moved while its sync was stuck");
    TIDAL_PASS(tidal_wal_wait_durable(w, 101, 10000));
    tidal_wal_stats st;
    tidal_wal_stats_get(w, &st);
    cr_assert_gt(st.segments_live, 5, "the batches rolled over segments");
    tidal_wal_close(w);
    w = wal_open(&o, NULL);
    struct wal_got *g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 101, "every batch durable and readable after reopen");
    free(g);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_nowait, sync_appends_pass_a_stuck_sync)
{
    appends_pass_a_stuck_sync(TIDAL_DURABILITY_SYNC);
}

Test(wal_nowait, interval_appends_and_roll_overs_pass_a_stuck_sync)
{
    appends_pass_a_stuck_sync(TIDAL_DURABILITY_INTERVAL);
}

/* Under SYNC the roll-over is the sync thread's: with the first round's
 * sync through and the log a few batches short of a new segment, a stuck
 * sync in the next round - the one that rolls over - holds no appender. */
Test(wal_nowait, a_sync_roll_over_holds_no_appender)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN;
    tidal_wal *w = wal_open(&o, NULL);
    struct appender fill = {.w = w, .n = 12, .len = 300}; /* ~4.4 KiB: one short */
    append_n(&fill);
    TIDAL_PASS(tidal_wal_wait_durable(w, 12, 10000));
    gate(true);
    struct appender a = {.w = w, .n = 30, .len = 300}; /* the round rolls over */
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, append_n, &a), 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&held) >= 1, 10000), "no fdatasync started");
    bool returned = TIDAL_WAIT_UNTIL(atomic_load(&a.done), 10000);
    bool durable_held = returned && tidal_wal_durable_lsn(w) < 42;
    gate(false);
    pthread_join(t, NULL);
    cr_assert(returned, "an append waited for the stuck sync of a roll-over");
    cr_assert(durable_held, "batches counted as durable before their sync returned");
    TIDAL_PASS(tidal_wal_wait_durable(w, 42, 10000));
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

/* Under SYNC, a queue of unwritten batches past memory_bytes refuses an
 * append with TIDAL_EFULL rather than holding it (its caller may hold
 * locks); tidal_wal_wait_room waits for the room, which the sync thread's
 * writes make once the gate opens. */
struct filler {
    tidal_wal *w;
    int full_at; /* appends made before the first TIDAL_EFULL; -1: none */
    int room;    /* what tidal_wal_wait_room returned */
    atomic_bool refused, done;
};

static void *
fill_queue(void *arg)
{
    struct filler *f = arg;
    uint8_t p[200] = {0};
    f->full_at = -1;
    for (int i = 0; i < 100 && f->full_at < 0; i++) {
        tidal_hlc h = wal_hlc((uint64_t)i + 10);
        uint64_t lsn;
        int rv = tidal_wal_append(f->w, p, sizeof(p), 1, h, h, &lsn);
        if (rv == TIDAL_EFULL) {
            f->full_at = i;
        }
    }
    atomic_store(&f->refused, true);
    f->room = tidal_wal_wait_room(f->w, TIDAL_BATCH_HEADER_BYTES + sizeof(p), 10000);
    atomic_store(&f->done, true);
    return NULL;
}

Test(wal_nowait, a_full_sync_queue_refuses_and_wait_room_waits_outside)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    o.memory_bytes = 1500; /* five 272-byte batches queue */
    tidal_wal *w = wal_open(&o, NULL);
    gate(true);
    struct appender first = {.w = w, .n = 1, .len = 200};
    append_n(&first); /* the sync thread writes it, then waits at the gate */
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&held) >= 1, 10000));
    struct filler f = {.w = w};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, fill_queue, &f), 0);
    bool refused = TIDAL_WAIT_UNTIL(atomic_load(&f.refused), 10000);
    bool waiting = refused && !atomic_load(&f.done); /* no room while the sync is stuck */
    gate(false);
    pthread_join(t, NULL);
    cr_assert(refused, "an append waited for room instead of being refused");
    cr_assert_eq(f.full_at, 5, "refused at %d queued", f.full_at);
    cr_assert(waiting, "wait_room found room the stuck sync could not have made");
    TIDAL_PASS(f.room);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

/* A region's reads go on while its log's sync is stuck: writes roll its
 * INTERVAL log over segments meanwhile, under the state lock, and never
 * wait for the disk there.  Writer and reader run on threads of their own;
 * the test thread only watches. */
struct region_work {
    tidal_region *r;
    atomic_bool written; /* the writer made all 60 writes */
    atomic_bool seen;    /* the reader saw the last one */
    atomic_bool stop;
    atomic_int failed;
};

static void *
write_hides(void *arg)
{
    struct region_work *w = arg;
    for (int i = 0; i < 60; i++) {
        tidal_record rec = {.kind = TIDAL_REC_HIDE, .user = 5, .item = (tidal_entity_id)i,
                            .hlc = tidal_now(tidal_region_runtime(w->r))};
        uint64_t lsn;
        if (tidal__write_local(w->r, NULL, &rec, 1, &lsn) != 0) { /* no durability wait */
            atomic_fetch_add(&w->failed, 1);
        }
    }
    atomic_store(&w->written, true);
    return NULL;
}

static void *
read_hides(void *arg)
{
    struct region_work *w = arg;
    while (!atomic_load(&w->stop)) {
        if (repl_hidden(w->r, 5, 59)) {
            atomic_store(&w->seen, true);
            break;
        }
    }
    return NULL;
}

Test(wal_nowait, reads_pass_a_stuck_sync)
{
    repl_env e;
    repl_cluster(&e, "inproc", 0x5a);
    tidal_region_opts o = {.region_id = 0,
                           .dir = repl_dir_of(&e, 0),
                           .durability = TIDAL_INTERVAL,
                           .interval_ms = 1,
                           .segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN};
    repl_open_opts(&e, &o);
    struct region_work w = {.r = e.r[0]};
    gate(true);
    tidal_record first = {.kind = TIDAL_REC_HIDE, .user = 6, .item = 1,
                          .hlc = tidal_now(tidal_region_runtime(w.r))};
    uint64_t lsn;
    TIDAL_PASS(tidal__write_local(w.r, NULL, &first, 1, &lsn));
    /* the interval's round takes it and waits at the gate: from here on a
     * sync is stuck while the writer rolls segments and the reader reads */
    bool stuck = TIDAL_WAIT_UNTIL(atomic_load(&held) >= 1, 10000);
    pthread_t tw, tr;
    cr_assert_eq(pthread_create(&tw, NULL, write_hides, &w), 0);
    cr_assert_eq(pthread_create(&tr, NULL, read_hides, &w), 0);
    bool ok = TIDAL_WAIT_UNTIL(atomic_load(&w.written) && atomic_load(&w.seen), 10000);
    bool still_stuck = atomic_load(&held) >= 1;
    gate(false);
    atomic_store(&w.stop, true);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    cr_assert(stuck, "no sync was stuck");
    cr_assert(still_stuck, "the sync got through before the writes and reads were done");
    cr_assert(ok, "a write or a read waited behind the stuck sync");
    cr_assert_eq(atomic_load(&w.failed), 0);
    cr_assert_eq(repl_stats(e.r[0]).writes, 61);
    repl_close(&e);
}
