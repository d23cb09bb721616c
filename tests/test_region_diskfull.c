/*
 * A region whose disk fills up or fails its syncs, and gets better
 * (docs/wal-format.md, "When the disk refuses"; actors/pending.c,
 * store/wal_retry.c).  Under SYNC a write the disk refused fails with
 * TIDAL_EIO, is not seen (reads, digest) and not shipped; the region keeps
 * serving reads, and once the disk takes writes again it writes the refused
 * tail again and takes writes, without a reopen; the peers catch up and a
 * reopen finds the same state.  Under INTERVAL a failed sync makes the
 * region read-only and reports the LSNs at risk; under NONE a failed write
 * does (with none at risk), until a retry saw the disk take bytes.  The failures are injected at the system-call
 * boundary (tests/disk_faults.h): region 0 keeps its logs in a directory,
 * region 1 (its peer) is ephemeral, so every write to a file is region 0's.
 */
#include "actors/internal.h"
#include "disk_faults.h"
#include "repl_helpers.h"
#include "tidal/log.h"

TIDAL_SUITE(region_diskfull);

#define USER 7u
#define ITEM 100u

/* The operator log's lines, by event. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_lines[TIDAL_EVENT_COUNT];
static char log_text[TIDAL_EVENT_COUNT][512];

static void
capture(void *arg, int event, uint64_t count, const char *line)
{
    (void)arg;
    (void)count;
    pthread_mutex_lock(&log_lock);
    if (event >= 0 && event < TIDAL_EVENT_COUNT) {
        log_lines[event]++;
        snprintf(log_text[event], sizeof(log_text[event]), "%s", line);
    }
    pthread_mutex_unlock(&log_lock);
}

static int
lines_of(int event, char *text, size_t cap)
{
    pthread_mutex_lock(&log_lock);
    int n = log_lines[event];
    if (text != NULL) {
        snprintf(text, cap, "%s", log_text[event]);
    }
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* Region 0 in a directory under pol, region 1 ephemeral; the log captured. */
static void
open_pair(repl_env *e, tidal_durability_policy pol)
{
    memset(log_lines, 0, sizeof(log_lines));
    tidal_log_set(capture, NULL);
    repl_cluster(e, "inproc", 18);
    tidal_region_opts o = {.region_id = 0, .dir = repl_dir_of(e, 0), .durability = pol,
                           .interval_ms = 1};
    repl_open_opts(e, &o);
    repl_open_region(e, 1, false, TIDAL_SYNC);
}

/* Region 1 applied every LSN region 0 wrote, and their digests agree. */
static bool
peer_caught_up(repl_env *e)
{
    uint64_t last = repl_stats(e->r[0]).last_lsn;
    return repl_stats(e->r[1]).applied_lsn[0] == last && repl_digests_equal(e->r, 2);
}

/* Closes region 0 and opens it again from its directory: its state must be
 * the one it had. */
static void
reopen_same(repl_env *e, tidal_durability_policy pol)
{
    uint64_t before = tidal_region_digest(e->r[0]);
    TIDAL_PASS(tidal_region_close(e->r[0]));
    e->r[0] = NULL;
    tidal_region_opts o = {.region_id = 0, .dir = repl_dir_of(e, 0), .durability = pol};
    repl_open_opts(e, &o);
    cr_assert_eq(tidal_region_digest(e->r[0]), before, "the reopened region differs");
}

static uint64_t
session_signals(tidal_region *r, tidal_session_id s, uint64_t *seqnos, size_t cap)
{
    tidal_signal_view v[16];
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(r, s, v, 16, &n));
    for (size_t i = 0; i < n && i < cap; i++) {
        seqnos[i] = v[i].seqno;
    }
    return n;
}

/* SYNC, the disk full: the signal whose batch the disk refused fails, and
 * neither it nor its seqno is seen anywhere; a hide after it is refused
 * before the log; reads go on.  Space comes back: the next write succeeds
 * without a reopen, the refused signal is written again with the seqno it
 * had (no seqno given twice), the peer catches up, and a reopen finds the
 * same state. */
Test(region_diskfull, sync_refused_write_is_not_seen_not_shipped_then_written_again)
{
    repl_env e;
    open_pair(&e, TIDAL_SYNC);
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(e.r[0], USER, NULL, &s));
    TIDAL_PASS(tidal_signal_in_session(e.r[0], s, "click", ITEM, 1.0, repl_now_ns()));
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM + 1));
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    uint64_t digest = tidal_region_digest(e.r[0]);
    uint64_t last = repl_stats(e.r[0]).last_lsn;

    disk_space(0);
    TIDAL_FAIL(tidal_signal_in_session(e.r[0], s, "click", ITEM, 1.0, repl_now_ns()), TIDAL_EIO);
    /* not seen: no count, no signal, no seqno, not in the digest */
    cr_assert_eq(repl_count(e.r[0], ITEM, "click"), 1, "the refused signal is counted");
    uint64_t seqnos[16];
    cr_assert_eq(session_signals(e.r[0], s, seqnos, 16), 1);
    tidal_session_view sv;
    TIDAL_PASS(tidal_get_session(e.r[0], s, &sv));
    cr_assert(sv.signals == 1 && sv.last_seqno == 1);
    cr_assert_eq(tidal_region_digest(e.r[0]), digest, "the refused write changed the state");
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert(st.disk_read_only, "the region takes writes its disk refuses");
    cr_assert(st.at_risk_first_lsn == last + 1 && st.at_risk_last_lsn == last + 1,
              "at risk %llu..%llu, expected %llu", (unsigned long long)st.at_risk_first_lsn,
              (unsigned long long)st.at_risk_last_lsn, (unsigned long long)last + 1);
    cr_assert_geq(st.disk_errors, 1);
    char text[512];
    cr_assert_geq(lines_of(TIDAL_EVENT_DISK_ERROR, text, sizeof(text)), 1);
    cr_assert(strstr(text, "No space left") != NULL && strstr(text, "at risk") != NULL, "%s",
              text);
    /* refused before the log, after one retry that the full disk failed */
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 2), TIDAL_EIO);
    TIDAL_FAIL(tidal_start_session(e.r[0], USER, NULL, &(tidal_session_id){0}), TIDAL_EIO);
    cr_assert(!repl_hidden(e.r[0], USER, ITEM + 2));
    cr_assert_eq(tidal_region_digest(e.r[0]), digest);
    /* never shipped: the peer has exactly what it had */
    cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), last, "a batch not durable was shipped");
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], last);
    cr_assert_eq(repl_count(e.r[1], ITEM, "click"), 1);

    disk_space(DISK_UNLIMITED);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM + 3));
    st = repl_stats(e.r[0]);
    cr_assert(!st.disk_read_only && st.at_risk_first_lsn == 0 && st.at_risk_last_lsn == 0);
    cr_assert_geq(st.disk_recoveries, 1);
    cr_assert(TIDAL_WAIT_UNTIL(lines_of(TIDAL_EVENT_DISK_RECOVERED, NULL, 0) >= 1, 10000));
    /* the refused signal was written again: seen now, with its seqno */
    cr_assert_eq(repl_count(e.r[0], ITEM, "click"), 2);
    TIDAL_PASS(tidal_signal_in_session(e.r[0], s, "click", ITEM, 1.0, repl_now_ns()));
    cr_assert_eq(session_signals(e.r[0], s, seqnos, 16), 3);
    for (uint64_t i = 0; i < 3; i++) {
        cr_assert_eq(seqnos[i], i + 1, "seqno %llu at %llu", (unsigned long long)seqnos[i],
                     (unsigned long long)i);
    }
    cr_assert_eq(repl_count(e.r[0], ITEM, "click"), 3);
    cr_assert(repl_hidden(e.r[0], USER, ITEM + 3));
    cr_assert(!repl_hidden(e.r[0], USER, ITEM + 2), "a refused write was made after all");
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS), "the peer never caught up");
    cr_assert_eq(repl_count(e.r[1], ITEM, "click"), 3);
    reopen_same(&e, TIDAL_SYNC);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    tidal_log_set(NULL, NULL);
    repl_close(&e);
}

/* SYNC: a session started as the disk fills - its START applied at the
 * append so that the writes after it could find the session - is out of
 * sight again when the caller hears TIDAL_EIO, and comes back when the
 * retry writes it after all. */
Test(region_diskfull, sync_refused_start_is_not_seen)
{
    repl_env e;
    open_pair(&e, TIDAL_SYNC);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM));
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    uint64_t digest = tidal_region_digest(e.r[0]);
    disk_space(0);
    tidal_session_id s = {0};
    TIDAL_FAIL(tidal_start_session(e.r[0], USER, NULL, &s), TIDAL_EIO);
    cr_assert_eq(tidal_region_digest(e.r[0]), digest, "the refused START is seen");
    disk_space(DISK_UNLIMITED);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM + 1));
    cr_assert_neq(tidal_region_digest(e.r[0]), digest);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    reopen_same(&e, TIDAL_SYNC);
    tidal_log_set(NULL, NULL);
    repl_close(&e);
}

/* SYNC: the sync that was to make a write durable fails (EIO, the pages it
 * covered lost, as Linux may).  The same: not seen, not shipped; the region
 * retries on its own and, once syncs work, the write is durable, seen and
 * shipped without any new write. */
Test(region_diskfull, sync_failed_fdatasync_is_retried_on_its_own)
{
    repl_env e;
    open_pair(&e, TIDAL_SYNC);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM));
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    uint64_t digest = tidal_region_digest(e.r[0]);
    disk_sync_fail(EIO, 0, true);
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 1), TIDAL_EIO);
    cr_assert(!repl_hidden(e.r[0], USER, ITEM + 1));
    cr_assert_eq(tidal_region_digest(e.r[0]), digest);
    cr_assert(repl_stats(e.r[0]).disk_read_only);
    disk_sync_fail(0, 0, false);
    cr_assert(TIDAL_WAIT_UNTIL(repl_hidden(e.r[0], USER, ITEM + 1), 10000),
              "the refused write was not written again on its own");
    cr_assert(TIDAL_WAIT_UNTIL(!repl_stats(e.r[0]).disk_read_only, 10000));
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    cr_assert(repl_hidden(e.r[1], USER, ITEM + 1));
    reopen_same(&e, TIDAL_SYNC);
    tidal_log_set(NULL, NULL);
    repl_close(&e);
}

/* INTERVAL: the write was applied when written, and the interval sync that
 * was to make it durable fails.  The call fails (not acknowledged), the
 * region becomes read-only (writes: TIDAL_EIO) and reports the LSNs that a
 * crash now would lose; once syncs work a write succeeds again, and the
 * writes at risk are durable and shipped. */
Test(region_diskfull, interval_failed_sync_makes_the_region_read_only)
{
    repl_env e;
    open_pair(&e, TIDAL_INTERVAL);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM));
    uint64_t last = repl_stats(e.r[0]).last_lsn;
    disk_sync_fail(EIO, 0, false);
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 1), TIDAL_EIO);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert(st.disk_read_only);
    cr_assert(st.at_risk_first_lsn == last + 1 && st.at_risk_last_lsn == last + 1,
              "at risk %llu..%llu", (unsigned long long)st.at_risk_first_lsn,
              (unsigned long long)st.at_risk_last_lsn);
    char text[512];
    cr_assert_geq(lines_of(TIDAL_EVENT_DISK_ERROR, text, sizeof(text)), 1);
    char want[64];
    snprintf(want, sizeof(want), "LSNs %llu..%llu at risk", (unsigned long long)last + 1,
             (unsigned long long)last + 1);
    cr_assert(strstr(text, want) != NULL, "%s", text);
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 2), TIDAL_EIO);
    cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), last, "a batch not durable was shipped");
    disk_sync_fail(0, 0, false);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM + 3));
    cr_assert(!repl_stats(e.r[0]).disk_read_only);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    cr_assert(repl_hidden(e.r[1], USER, ITEM + 1) && repl_hidden(e.r[1], USER, ITEM + 3));
    reopen_same(&e, TIDAL_INTERVAL);
    tidal_log_set(NULL, NULL);
    repl_close(&e);
}

/* NONE writes in the call: a write the disk refuses is refused (TIDAL_EIO,
 * not applied) and the region goes read-only as under INTERVAL - every
 * write TIDAL_EIO, the operator log and the stats saying so, with no LSN
 * at risk (a batch takes its LSNs once written whole) - until a retry saw
 * the disk take bytes again; then a write goes through without a reopen. */
Test(region_diskfull, none_failed_write_makes_the_region_read_only)
{
    repl_env e;
    open_pair(&e, TIDAL_NONE);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM));
    uint64_t digest = tidal_region_digest(e.r[0]);
    uint64_t last = repl_stats(e.r[0]).last_lsn;
    disk_space(0);
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 1), TIDAL_EIO);
    cr_assert(!repl_hidden(e.r[0], USER, ITEM + 1));
    cr_assert_eq(tidal_region_digest(e.r[0]), digest);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert(st.disk_read_only, "a refused NONE write left the region taking writes");
    cr_assert(st.at_risk_first_lsn == 0 && st.at_risk_last_lsn == 0, "at risk %llu..%llu",
              (unsigned long long)st.at_risk_first_lsn, (unsigned long long)st.at_risk_last_lsn);
    cr_assert_geq(st.disk_errors, 1);
    char text[512];
    cr_assert_geq(lines_of(TIDAL_EVENT_DISK_ERROR, text, sizeof(text)), 1);
    cr_assert(strstr(text, "no LSN at risk") != NULL, "%s", text);
    /* still full: read-only, and reads go on */
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, ITEM + 2), TIDAL_EIO);
    cr_assert(repl_stats(e.r[0]).disk_read_only);
    cr_assert(repl_hidden(e.r[0], USER, ITEM));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, last, "a refused write took an LSN");
    cr_assert_eq(lines_of(TIDAL_EVENT_DISK_RECOVERED, NULL, 0), 0);
    disk_space(DISK_UNLIMITED);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, ITEM + 3));
    cr_assert(!repl_stats(e.r[0]).disk_read_only);
    cr_assert_eq(lines_of(TIDAL_EVENT_DISK_RECOVERED, NULL, 0), 1);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    cr_assert(!repl_hidden(e.r[1], USER, ITEM + 1) && !repl_hidden(e.r[1], USER, ITEM + 2));
    cr_assert(repl_hidden(e.r[1], USER, ITEM + 3));
    reopen_same(&e, TIDAL_NONE);
    tidal_log_set(NULL, NULL);
    repl_close(&e);
}
