/*
 * A WAL whose disk fills up or fails its syncs, and gets better (store/wal.h,
 * "When the disk refuses"; store/wal_retry.c): what was not durable is not
 * acknowledged and not readable, the log refuses appends and says which LSNs
 * are at risk, and once the disk takes writes again the log writes its tail
 * again from memory - at the offsets its LSNs give, after cutting what the
 * failure left - and takes appends without a reopen.  The failures are
 * injected at the system-call boundary (tests/disk_faults.h), so every run
 * meets the same ones.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "disk_faults.h"
#include "store/wal_state.h"
#include "test_wal_helpers.h"
#include "tidal/log.h"

TIDAL_SUITE(wal_diskfull);

/* What on_disk and the operator log told. */
static pthread_mutex_t told_lock = PTHREAD_MUTEX_INITIALIZER;
static tidal_wal_disk_event told[64];
static int ntold;
static int nlines[TIDAL_EVENT_COUNT];
static char last_line[TIDAL_EVENT_COUNT][512];

static void
on_disk(void *arg, const tidal_wal_disk_event *ev)
{
    (void)arg;
    pthread_mutex_lock(&told_lock);
    if (ntold < 64) {
        told[ntold++] = *ev;
    }
    pthread_mutex_unlock(&told_lock);
}

static void
on_log(void *arg, int event, uint64_t count, const char *line)
{
    (void)arg;
    (void)count;
    pthread_mutex_lock(&told_lock);
    if (event >= 0 && event < TIDAL_EVENT_COUNT) {
        nlines[event]++;
        snprintf(last_line[event], sizeof(last_line[event]), "%s", line);
    }
    pthread_mutex_unlock(&told_lock);
}

/* A copy of the last line logged for event, taken under the lock the log
 * callback writes it under: the WAL's sync thread may be logging again.
 * Valid until the next call (test bodies run on one thread). */
static const char *
last_of(int event)
{
    static char copy[sizeof(last_line[0])];
    pthread_mutex_lock(&told_lock);
    snprintf(copy, sizeof(copy), "%s", last_line[event]);
    pthread_mutex_unlock(&told_lock);
    return copy;
}

static void
told_reset(void)
{
    pthread_mutex_lock(&told_lock);
    ntold = 0;
    memset(nlines, 0, sizeof(nlines));
    pthread_mutex_unlock(&told_lock);
    tidal_log_set(on_log, NULL);
}

static int
lines(int event)
{
    pthread_mutex_lock(&told_lock);
    int n = nlines[event];
    pthread_mutex_unlock(&told_lock);
    return n;
}

static tidal_wal_disk_event
told_first(void)
{
    pthread_mutex_lock(&told_lock);
    cr_assert(ntold > 0, "on_disk was not called");
    tidal_wal_disk_event ev = told[0];
    pthread_mutex_unlock(&told_lock);
    return ev;
}

/* Appends one batch of len bytes patterned for next_lsn, whatever happens:
 * the append's code. */
static int
try_append(tidal_wal *w, uint32_t len)
{
    uint64_t want = tidal_wal_next_lsn(w);
    uint8_t *p = malloc(len);
    uint64_t lsn = 0;
    cr_assert(p != NULL);
    for (uint32_t i = 0; i < len; i++) {
        p[i] = wal_pattern(want, i);
    }
    int rv = tidal_wal_append(w, p, len, 1, wal_hlc(want), wal_hlc(want), &lsn);
    free(p);
    cr_assert(rv != 0 || lsn == want);
    return rv;
}

static tidal_wal_stats
stats(tidal_wal *w)
{
    tidal_wal_stats st;
    tidal_wal_stats_get(w, &st);
    return st;
}

/* Reopens dir's log and checks it holds exactly LSNs 1..last, every byte
 * as appended, with nothing cut on the way. */
static void
reopen_holds(const tidal_wal_opts *o, uint64_t last)
{
    tidal_wal_recovery rep;
    tidal_wal *w = wal_open(o, &rep);
    cr_assert_eq(rep.truncated_bytes, 0, "a torn tail was left: %s", rep.truncated_reason);
    cr_assert_eq(rep.next_lsn, last + 1, "next LSN %llu after reopen, expected %llu",
                 (unsigned long long)rep.next_lsn, (unsigned long long)last + 1);
    struct wal_got *g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, last, "%zu batches after reopen, expected %llu", g->n,
                 (unsigned long long)last);
    free(g);
    tidal_wal_close(w);
}

/* SYNC: a sync that fails - and, as Linux may, loses the pages it covered -
 * after a round that rolled over segments.  Nothing of that round is
 * acknowledged or readable, the log refuses appends and reports the LSNs
 * at risk (on_disk before any waiter hears of it), and once syncs work
 * again one retry writes the whole tail again from memory: the log is
 * whole and in LSN order after a reopen, with no LSN skipped. */
Test(wal_diskfull, sync_failed_round_is_written_again_from_memory)
{
    const char *dir = tidal_test_tmpdir();
    told_reset();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    o.segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN;
    o.on_disk = on_disk;
    tidal_wal *w = wal_open(&o, NULL);
    for (int i = 0; i < 10; i++) {
        wal_append(w, 300, 1);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, 10, 10000));

    /* round A (LSN 11) is held in its sync while 29 more queue; A's sync
     * succeeds, round B (12..40, rolling over twice) fails its first */
    disk_hold_syncs(true);
    TIDAL_PASS(try_append(w, 300));
    cr_assert(TIDAL_WAIT_UNTIL(disk_syncs_held() >= 1, 10000), "round A never synced");
    for (int i = 0; i < 29; i++) {
        TIDAL_PASS(try_append(w, 300));
    }
    disk_sync_fail(EIO, 1, true);
    disk_hold_syncs(false);

    TIDAL_PASS(tidal_wal_wait_durable(w, 11, 10000));
    TIDAL_FAIL(tidal_wal_wait_durable(w, 40, 10000), TIDAL_EIO);
    tidal_wal_stats st = stats(w);
    cr_assert(st.refusing, "the log takes appends after a failed sync");
    cr_assert_eq(st.at_risk_first, 12);
    cr_assert_eq(st.at_risk_last, 40);
    cr_assert_geq(st.disk_errors, 1);
    cr_assert_eq(tidal_wal_durable_lsn(w), 11, "durable moved past the failed sync");
    tidal_wal_disk_event ev = told_first();
    cr_assert(ev.refusing && !ev.recovered && ev.errors >= 1);
    cr_assert(ev.first == 12 && ev.last == 40, "on_disk told %llu..%llu",
              (unsigned long long)ev.first, (unsigned long long)ev.last);
    cr_assert_geq(lines(TIDAL_EVENT_DISK_ERROR), 1);
    const char *line = last_of(TIDAL_EVENT_DISK_ERROR);
    cr_assert(strstr(line, "LSNs 12..40 at risk") != NULL, "%s", line);
    /* not readable, and no append goes in after the failed tail */
    struct wal_got *g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 11, "a reader saw a batch that is not durable");
    free(g);
    TIDAL_FAIL(try_append(w, 300), TIDAL_EIO);
    cr_assert_eq(tidal_wal_next_lsn(w), 41, "a refused append took an LSN");
    TIDAL_FAIL(tidal_wal_wait_retry(w, 10000), TIDAL_EIO); /* syncs still fail */

    disk_sync_fail(0, 0, false);
    TIDAL_PASS(tidal_wal_wait_retry(w, 10000));
    cr_assert_eq(tidal_wal_durable_lsn(w), 40, "the retry did not make the tail durable");
    st = stats(w);
    cr_assert(!st.refusing && st.at_risk_first == 0 && st.at_risk_last == 0);
    cr_assert_eq(st.disk_recoveries, 1);
    cr_assert(TIDAL_WAIT_UNTIL(lines(TIDAL_EVENT_DISK_RECOVERED) == 1, 10000));
    TIDAL_PASS(try_append(w, 300));
    TIDAL_PASS(tidal_wal_wait_durable(w, 41, 10000));
    g = wal_read_all(w, 1, false);
    cr_assert_eq(g->n, 41);
    free(g);
    tidal_wal_close(w);
    reopen_holds(&o, 41);
    tidal_log_set(NULL, NULL);
    tidal_test_rmdir(dir);
}

/* SYNC on a disk that runs out of space in the middle of a batch: the
 * partial bytes never stay in the file, retries fail while the disk is
 * full (and say so), and a log closed while it still refuses reopens with
 * exactly what was durable - the refused tail was never acknowledged. */
Test(wal_diskfull, sync_enospc_cuts_the_partial_batch)
{
    const char *dir = tidal_test_tmpdir();
    told_reset();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = wal_open(&o, NULL);
    for (int i = 0; i < 5; i++) {
        wal_append(w, 300, 1);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, 5, 10000));
    disk_space(100); /* a third of the next batch */
    TIDAL_PASS(try_append(w, 300));
    TIDAL_FAIL(tidal_wal_wait_durable(w, 6, 10000), TIDAL_EIO);
    char path[512];
    wal_seg_path(path, sizeof(path), dir, 1);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_size, 5 * (TIDAL_BATCH_HEADER_BYTES + 300), "partial bytes left: %lld",
                 (long long)sb.st_size);
    uint64_t errors = stats(w).disk_errors;
    TIDAL_FAIL(tidal_wal_wait_retry(w, 10000), TIDAL_EIO);
    cr_assert_gt(stats(w).disk_errors, errors, "a retry on a full disk was not counted");
    const char *line = last_of(TIDAL_EVENT_DISK_ERROR);
    cr_assert(strstr(line, "No space left") != NULL, "%s", line);
    tidal_wal_close(w); /* still refusing: LSN 6 was never durable */
    disk_space(DISK_UNLIMITED);
    reopen_holds(&o, 5);
    tidal_log_set(NULL, NULL);
    tidal_test_rmdir(dir);
}

/* The sync thread retries on its own, on a timer: a log whose disk got its
 * space back writes its tail and takes appends without being asked. */
Test(wal_diskfull, sync_retries_on_a_timer)
{
    const char *dir = tidal_test_tmpdir();
    told_reset();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_SYNC);
    tidal_wal *w = wal_open(&o, NULL);
    wal_append(w, 300, 1);
    TIDAL_PASS(tidal_wal_wait_durable(w, 1, 10000));
    disk_space(0);
    TIDAL_PASS(try_append(w, 300));
    TIDAL_FAIL(tidal_wal_wait_durable(w, 2, 10000), TIDAL_EIO);
    disk_space(DISK_UNLIMITED);
    cr_assert(TIDAL_WAIT_UNTIL(tidal_wal_durable_lsn(w) == 2, 10000), "no retry on its own");
    cr_assert(TIDAL_WAIT_UNTIL(!stats(w).refusing, 10000));
    TIDAL_PASS(try_append(w, 300));
    TIDAL_PASS(tidal_wal_wait_durable(w, 3, 10000));
    TIDAL_FAIL(tidal_wal_wait_retry(w, 0), TIDAL_ESTATE); /* nothing to retry */
    tidal_wal_close(w);
    reopen_holds(&o, 3);
    tidal_log_set(NULL, NULL);
    tidal_test_rmdir(dir);
}

/* INTERVAL: the appends were written, the interval sync that was to make
 * them durable fails.  They are reported at risk, nothing is acknowledged,
 * the log refuses appends (read-only) until the retry has written them
 * again and synced them. */
Test(wal_diskfull, interval_failed_sync_refuses_and_reports_what_is_at_risk)
{
    const char *dir = tidal_test_tmpdir();
    told_reset();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_INTERVAL);
    o.interval_ms = 1;
    o.on_disk = on_disk;
    tidal_wal *w = wal_open(&o, NULL);
    for (int i = 0; i < 5; i++) {
        wal_append(w, 300, 1);
    }
    TIDAL_PASS(tidal_wal_wait_durable(w, 5, 10000));
    disk_hold_syncs(true);
    TIDAL_PASS(try_append(w, 300));
    cr_assert(TIDAL_WAIT_UNTIL(disk_syncs_held() >= 1, 10000), "no interval sync");
    TIDAL_PASS(try_append(w, 300));
    TIDAL_PASS(try_append(w, 300));
    disk_sync_fail(EIO, 0, true);
    disk_hold_syncs(false);
    TIDAL_FAIL(tidal_wal_wait_durable(w, 6, 10000), TIDAL_EIO);
    tidal_wal_stats st = stats(w);
    cr_assert(st.refusing);
    cr_assert(st.at_risk_first == 6 && st.at_risk_last == 8, "at risk %llu..%llu",
              (unsigned long long)st.at_risk_first, (unsigned long long)st.at_risk_last);
    tidal_wal_disk_event ev = told_first();
    cr_assert(ev.refusing && ev.first == 6 && ev.last == 8);
    TIDAL_FAIL(try_append(w, 300), TIDAL_EIO);
    const char *line = last_of(TIDAL_EVENT_DISK_ERROR);
    cr_assert(strstr(line, "LSNs 6..8 at risk") != NULL, "%s", line);
    disk_sync_fail(0, 0, false);
    TIDAL_PASS(tidal_wal_wait_retry(w, 10000));
    cr_assert_eq(tidal_wal_durable_lsn(w), 8);
    TIDAL_PASS(try_append(w, 300));
    TIDAL_PASS(tidal_wal_wait_durable(w, 9, 10000));
    tidal_wal_close(w);
    reopen_holds(&o, 9);
    tidal_log_set(NULL, NULL);
    tidal_test_rmdir(dir);
}

/* NONE writes its batch in the append, and that write is all it asks of
 * the disk: one the disk refuses is refused (cut off the file, no LSN
 * taken) and the log refuses every append after it, read-only, with no LSN
 * at risk (each batch took its LSNs once written whole), until a retry saw
 * the disk take bytes again - a probe, not the cut alone, which succeeds
 * on a full disk. */
Test(wal_diskfull, none_failed_append_refuses_until_the_disk_takes_bytes)
{
    const char *dir = tidal_test_tmpdir();
    told_reset();
    tidal_wal_opts o = wal_opts(dir, TIDAL_DURABILITY_NONE);
    o.on_disk = on_disk;
    tidal_wal *w = wal_open(&o, NULL);
    for (int i = 0; i < 3; i++) {
        wal_append(w, 300, 1);
    }
    disk_space(150);
    TIDAL_FAIL(try_append(w, 300), TIDAL_EIO);
    tidal_wal_stats st = stats(w);
    cr_assert(st.refusing, "a refused NONE append left the log taking appends");
    cr_assert(st.at_risk_first == 0 && st.at_risk_last == 0, "at risk %llu..%llu",
              (unsigned long long)st.at_risk_first, (unsigned long long)st.at_risk_last);
    cr_assert_eq(tidal_wal_next_lsn(w), 4, "a refused append took an LSN");
    tidal_wal_disk_event ev = told_first();
    cr_assert(ev.refusing && ev.errors == 1 && ev.first == 0 && ev.last == 0);
    cr_assert(last_of(TIDAL_EVENT_DISK_ERROR)[0] != '\0', "no TIDAL-DISK-ERROR line");
    cr_assert(strstr(last_of(TIDAL_EVENT_DISK_ERROR), "no LSN at risk") != NULL, "%s",
              last_of(TIDAL_EVENT_DISK_ERROR));
    /* the disk still full: the cut works, the probe does not */
    disk_space(TIDAL__WAL_PROBE_BYTES - 1);
    TIDAL_FAIL(tidal_wal_wait_retry(w, 10000), TIDAL_EIO);
    TIDAL_FAIL(try_append(w, 10), TIDAL_EIO);
    cr_assert(stats(w).refusing);
    cr_assert_eq(stats(w).disk_recoveries, 0);
    /* exactly a probe's room: taken, and the log takes appends again */
    disk_space(TIDAL__WAL_PROBE_BYTES);
    TIDAL_PASS(tidal_wal_wait_retry(w, 10000));
    st = stats(w);
    cr_assert(!st.refusing && st.disk_recoveries == 1);
    cr_assert_eq(lines(TIDAL_EVENT_DISK_RECOVERED), 1);
    disk_space(DISK_UNLIMITED);
    TIDAL_PASS(try_append(w, 300));
    cr_assert_eq(tidal_wal_durable_lsn(w), 4);
    TIDAL_FAIL(tidal_wal_wait_retry(w, 1000), TIDAL_ESTATE); /* not refusing */
    tidal_wal_close(w);
    reopen_holds(&o, 4); /* no probe's zeroes, no partial batch left */
    tidal_log_set(NULL, NULL);
    tidal_test_rmdir(dir);
}
