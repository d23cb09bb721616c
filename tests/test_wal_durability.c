/*
 * WAL durability (store/wal_sync.c): SYNC with group commit (the durable LSN
 * advances, waiters wake, concurrent appenders share syncs), INTERVAL, NONE,
 * on_durable from the sync thread in increasing order, close with appends
 * not yet synced, and a real crash: a child process appending under SYNC is
 * killed with SIGKILL and every LSN it was told was durable must be there.
 */
#include "tidal_test.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "test_wal_helpers.h"
#include "wal_kill9.h"

extern char **environ;

TIDAL_SUITE(wal_durability);

/* What on_durable saw.  Checked on the test's thread: assertions from the
 * sync thread would not reach Criterion. */
struct durable_log {
    atomic_uint_least64_t calls;
    atomic_uint_least64_t last;
    atomic_bool backwards;      /* a value not above the previous one */
    atomic_bool on_test_thread; /* called on the thread that appends */
    pthread_t test_thread;
};

static void
on_durable(void *arg, uint64_t lsn)
{
    struct durable_log *d = arg;

    if (lsn <= atomic_load(&d->last)) {
        atomic_store(&d->backwards, true);
    }
    if (pthread_equal(pthread_self(), d->test_thread)) {
        atomic_store(&d->on_test_thread, true);
    }
    atomic_store(&d->last, lsn);
    atomic_fetch_add(&d->calls, 1);
}

static void
durable_log_init(struct durable_log *d)
{
    memset(d, 0, sizeof(*d));
    d->test_thread = pthread_self();
}

Test(wal_durability, sync_advances_the_durable_lsn)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    struct durable_log d;
    tidal_wal_stats st;
    tidal_wal *w;
    uint64_t lsn = 0;

    durable_log_init(&d);
    o.on_durable = on_durable;
    o.on_durable_arg = &d;
    w = wal_open(&o, NULL);
    cr_assert_eq(tidal_wal_durable_lsn(w), 0);
    for (int i = 0; i < 20; i++) {
        lsn = wal_append(w, 64, 2);
        TIDAL_PASS(tidal_wal_wait_durable(w, lsn + 1, 10000));
        cr_assert(tidal_wal_durable_lsn(w) >= lsn + 1);
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&d.last) == lsn + 1, 10000),
              "on_durable reaches the last LSN");
    cr_assert(!atomic_load(&d.backwards), "on_durable values only increase");
    cr_assert(!atomic_load(&d.on_test_thread), "on_durable runs on the sync thread");
    tidal_wal_stats_get(w, &st);
    cr_assert(st.syncs >= 20, "each wait needed a sync: %llu", (unsigned long long)st.syncs);
    /* An LSN never appended: the wait times out. */
    TIDAL_FAIL(tidal_wal_wait_durable(w, lsn + 100, 20), TIDAL_ETIMEDOUT);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

#define WRITERS 8
#define PER_WRITER 400
#define IN_FLIGHT 16

struct writer {
    tidal_wal *w;
    int id;
    int failures;
};

/* Appends PER_WRITER one-record batches, waiting for durability only every
 * IN_FLIGHT appends, as a real writer with many writes in flight does. */
static void *
writer_main(void *arg)
{
    struct writer *wr = arg;
    uint8_t p[64];
    uint64_t lsn;

    memset(p, wr->id, sizeof(p));
    for (int i = 0; i < PER_WRITER; i++) {
        tidal_hlc h = wal_hlc((uint64_t)i);
        if (tidal_wal_append(wr->w, p, sizeof(p), 1, h, h, &lsn) != 0) {
            wr->failures++;
            continue;
        }
        if ((i + 1) % IN_FLIGHT == 0 && tidal_wal_wait_durable(wr->w, lsn, 30000) != 0) {
            wr->failures++;
        }
    }
    return NULL;
}

/* Counts the batches per writer (payload byte = writer id). */
static int
count_by_writer(void *arg, const uint8_t *b, size_t len)
{
    int *per = arg;
    tidal_batch_header h;

    TIDAL_PASS(tidal_batch_decode(b, len, &h, NULL, NULL, 0));
    cr_assert_eq(h.payload_len, 64);
    cr_assert(b[TIDAL_BATCH_HEADER_BYTES] < WRITERS);
    per[b[TIDAL_BATCH_HEADER_BYTES]]++;
    return 0;
}

Test(wal_durability, concurrent_appenders_share_syncs)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    pthread_t t[WRITERS];
    struct writer wr[WRITERS];
    int per[WRITERS] = {0};
    tidal_wal_stats st;
    tidal_wal *w;

    o.segment_bytes = 64 << 10; /* a few roll-overs under load too */
    w = wal_open(&o, NULL);
    for (int i = 0; i < WRITERS; i++) {
        wr[i] = (struct writer){.w = w, .id = i};
        cr_assert(pthread_create(&t[i], NULL, writer_main, &wr[i]) == 0);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(wr[i].failures, 0, "writer %d", i);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, WRITERS * PER_WRITER, 30000));
    tidal_wal_stats_get(w, &st);
    cr_log_info("%llu appends, %llu syncs, %llu segments", (unsigned long long)st.appends,
                (unsigned long long)st.syncs, (unsigned long long)st.segments);
    cr_assert_eq(st.appends, WRITERS * PER_WRITER);
    cr_assert(st.syncs < st.appends / 2, "group commit: %llu syncs for %llu appends",
              (unsigned long long)st.syncs, (unsigned long long)st.appends);
    cr_assert(st.segments > 1);
    TIDAL_PASS(tidal_wal_read(w, 1, false, count_by_writer, per));
    for (int i = 0; i < WRITERS; i++) {
        cr_assert_eq(per[i], PER_WRITER, "writer %d", i);
    }
    tidal_wal_close(w);

    tidal_wal_recovery rep;
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, WRITERS * PER_WRITER);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_durability, interval_syncs_on_its_timer)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_INTERVAL);
    struct durable_log d;
    tidal_wal *w;
    uint64_t lsn = 0;

    durable_log_init(&d);
    o.interval_ms = 5;
    o.on_durable = on_durable;
    o.on_durable_arg = &d;
    w = wal_open(&o, NULL);
    for (int i = 0; i < 10; i++) {
        lsn = wal_append(w, 32, 1);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, lsn, 10000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&d.last) == lsn, 10000));
    cr_assert(!atomic_load(&d.on_test_thread));
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_durability, interval_readers_see_only_durable_batches)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_INTERVAL);
    tidal_wal_recovery rep;
    struct wal_got *g;
    tidal_wal *w;
    uint64_t lsn;

    o.interval_ms = TIDAL_WAL_INTERVAL_MS_MAX; /* no timer sync during the test */
    w = wal_open(&o, NULL);
    lsn = wal_append(w, 32, 1);
    cr_assert_eq(tidal_wal_durable_lsn(w), 0);
    TIDAL_FAIL(tidal_wal_wait_durable(w, lsn, 20), TIDAL_ETIMEDOUT);
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 0, "a reader never sees a batch that could still be lost");
    free(g);
    g = wal_read_all(w, 1, true);
    cr_assert_eq(g->n, 1, "unless it asks for volatile ones");
    free(g);
    tidal_wal_close(w); /* syncs */
    w = wal_open(&o, &rep);
    cr_assert_eq(rep.batches, 1);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

Test(wal_durability, none_is_durable_when_written)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    struct durable_log d;
    tidal_wal_stats st;
    tidal_wal *w;
    uint64_t lsn = 0;

    durable_log_init(&d);
    o.on_durable = on_durable;
    o.on_durable_arg = &d;
    w = wal_open(&o, NULL);
    for (int i = 0; i < 100; i++) {
        lsn = wal_append(w, 32, 1);
        cr_assert_eq(tidal_wal_durable_lsn(w), lsn);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, lsn, 0));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&d.last) == lsn, 10000));
    cr_assert(!atomic_load(&d.backwards));
    cr_assert(!atomic_load(&d.on_test_thread), "on_durable comes from the WAL's thread");
    tidal_wal_stats_get(w, &st);
    cr_assert_eq(st.syncs, 0, "NONE never syncs");
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

/* Appends PER_WRITER batches without ever waiting. */
static void *
burst_main(void *arg)
{
    struct writer *wr = arg;
    uint8_t p[64];
    uint64_t lsn;

    memset(p, wr->id, sizeof(p));
    for (int i = 0; i < PER_WRITER; i++) {
        tidal_hlc h = wal_hlc(1);
        if (tidal_wal_append(wr->w, p, sizeof(p), 1, h, h, &lsn) != 0) {
            wr->failures++;
        }
    }
    return NULL;
}

Test(wal_durability, close_with_appends_in_flight_loses_nothing)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    struct durable_log d;
    pthread_t t[4];
    struct writer wr[4];
    tidal_wal_recovery rep;
    tidal_wal *w;
    uint64_t reported;

    durable_log_init(&d);
    o.on_durable = on_durable;
    o.on_durable_arg = &d;
    w = wal_open(&o, NULL);
    for (int i = 0; i < 4; i++) {
        wr[i] = (struct writer){.w = w, .id = i};
        cr_assert(pthread_create(&t[i], NULL, burst_main, &wr[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(wr[i].failures, 0);
    }
    /* Most of these are written but not synced yet. */
    tidal_wal_close(w);
    reported = atomic_load(&d.last);
    cr_assert_eq(reported, 4 * PER_WRITER, "close syncs and reports everything");

    w = wal_open(&o, &rep);
    cr_assert_eq(rep.next_lsn, 4 * PER_WRITER + 1);
    cr_assert_eq(rep.truncated_bytes, 0);
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}

/* ---- a real crash --------------------------------------------------------------- */

#define CRASH_REPORTS 300

/* Reads one LSN from fd within 30 s; false at end of file. */
static bool
read_lsn(int fd, uint64_t *lsn)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    size_t got = 0;

    while (got < sizeof(*lsn)) {
        cr_assert(poll(&p, 1, 30000) == 1, "the child reports nothing");
        ssize_t n = read(fd, (uint8_t *)lsn + got, sizeof(*lsn) - got);
        if (n == 0) {
            return false;
        }
        cr_assert(n > 0);
        got += (size_t)n;
    }
    return true;
}

static int
count_records(void *arg, const uint8_t *b, size_t len)
{
    uint64_t *records = arg;
    tidal_batch_header h;

    TIDAL_PASS(tidal_batch_decode(b, len, &h, NULL, NULL, 0));
    cr_assert_eq(h.first_lsn, *records + 1, "LSNs contiguous from 1");
    *records += h.count;
    return 0;
}

Test(wal_durability, kill_9_loses_nothing_reported_durable)
{
    const char *dir = tidal_test_tmpdir();
    tidal_wal_opts o = wal_kill9_opts(dir);
    tidal_wal_recovery rep;
    uint64_t max_reported = 0;
    uint64_t records = 0;
    uint64_t lsn;
    int reports = 0;
    int status;
    int fds[2];
    pid_t pid;
    tidal_wal *w;

    cr_assert(pipe(fds) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {TIDAL_WAL_KILL9_CHILD, (char *)dir, NULL};
    cr_assert(posix_spawn(&pid, TIDAL_WAL_KILL9_CHILD, &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    while (reports < CRASH_REPORTS) {
        cr_assert(read_lsn(fds[0], &lsn), "the child died early");
        max_reported = lsn > max_reported ? lsn : max_reported;
        reports++;
    }
    cr_assert(kill(pid, SIGKILL) == 0);
    cr_assert(waitpid(pid, &status, 0) == pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child exited itself");
    /* Whatever it reported before dying counts too. */
    while (read_lsn(fds[0], &lsn)) {
        max_reported = lsn > max_reported ? lsn : max_reported;
    }
    close(fds[0]);

    w = wal_open(&o, &rep);
    cr_log_info("killed after %d reports; max durable LSN reported %llu; recovered %llu "
                "batches, next LSN %llu, torn tail %llu bytes",
                reports, (unsigned long long)max_reported, (unsigned long long)rep.batches,
                (unsigned long long)rep.next_lsn, (unsigned long long)rep.truncated_bytes);
    cr_assert(rep.next_lsn > max_reported, "durable LSN %llu lost (next %llu)",
              (unsigned long long)max_reported, (unsigned long long)rep.next_lsn);
    if (rep.truncated_bytes != 0) {
        cr_assert(rep.truncated_segment[0] != '\0');
        cr_assert(rep.truncated_reason[0] != '\0');
    }
    TIDAL_PASS(tidal_wal_read(w, 1, false, count_records, &records));
    cr_assert_eq(records, rep.next_lsn - 1, "every recovered LSN is readable");
    tidal_wal_close(w);
    tidal_test_rmdir(dir);
}
