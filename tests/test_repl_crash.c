/*
 * Crash and restart of regions with a directory: no acknowledged write is
 * lost (docs/design.md, invariant 4), new writes continue the seqnos and LSNs of
 * the old ones, and shipping resumes both ways until every region converges.
 *
 * A crash (tidal_region_crash) stops a region as kill -9 would: only what its
 * WAL files hold survives.  The region handle is freed by the crash, so a
 * writer thread and the crashing thread agree on a lock that brackets each
 * write: the crash lands between two acknowledged writes of a running
 * stream, never inside a call on a freed handle.  A write the process was
 * appending when it died is simulated by appending a batch to the closed
 * log with the WAL's own API and then tearing it (truncating the file).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include "messages/record.h"
#include "repl_helpers.h"
#include "store/wal.h"
#include "tidal/log.h"

TIDAL_SUITE(repl_crash);

#define CRASH_SEED 0xc4a5full

/* ---- a writer thread and a crash between two of its writes ---- */

struct stream {
    pthread_mutex_t lock; /* held by the writer across each write */
    pthread_cond_t cond;
    atomic_bool crash_pending; /* the crasher wants the lock: the writer pauses */
    bool crashed;
    tidal_region *r;
    tidal_session_id sid;
    atomic_int acked; /* signals acknowledged (durable) so far; read without the lock */
    int max;          /* stop after this many */
    int hold_at;      /* wait here for the crash: it comes mid-stream, however fast the writes */
    int err;          /* first error, 0 if none */
    tidal_entity_id items[WL_SIGNALS_MAX];
};

static void *
stream_main(void *arg)
{
    struct stream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int k = atomic_load(&s->acked);
        while ((atomic_load(&s->crash_pending) || k == s->hold_at) && !s->crashed) {
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (s->crashed || k == s->max || s->err != 0) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        tidal_entity_id item = 100 + (tidal_entity_id)(k % 5);
        int rv = tidal_signal_in_session(s->r, s->sid, "view", item, 1.0, repl_now_ns());
        if (rv == 0) {
            s->items[k] = item;
            atomic_store(&s->acked, k + 1);
        } else {
            s->err = rv;
        }
        pthread_mutex_unlock(&s->lock);
    }
}

/* Crashes the stream's region between two of its writes. */
static void
stream_crash(struct stream *s)
{
    atomic_store(&s->crash_pending, true);
    pthread_mutex_lock(&s->lock);
    TIDAL_PASS(tidal_region_crash(s->r));
    s->crashed = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static tidal_region_opts
dir_opts(repl_env *e, int id, tidal_durability_policy pol)
{
    return (tidal_region_opts){.region_id = (tidal_region_id)id,
                               .dir = repl_dir_of(e, id),
                               .durability = pol,
                               .reconcile_ms = UINT32_MAX};
}

static void
reopen(repl_env *e, int id, tidal_durability_policy pol)
{
    tidal_region_opts o = dir_opts(e, id, pol);
    TIDAL_PASS(tidal_region_open(e->c, &o, &e->r[id]));
}

/* Waits until every region applied origin's total records and the digests
 * are equal (stats.writes restarts at 0 with each incarnation, so the total
 * is counted by the test). */
static void
wait_applied(repl_env *e, int origin, uint64_t total)
{
    bool ok = TIDAL_WAIT_UNTIL(
        ({
            bool all = repl_digests_equal(e->r, e->n);
            for (int i = 0; i < e->n; i++) {
                all = all && (i == origin || repl_stats(e->r[i]).applied_lsn[origin] == total);
            }
            all;
        }),
        REPL_DEADLINE_MS);
    if (!ok) {
        repl_dump(e);
    }
    cr_assert(ok, "regions did not apply origin %d's %llu records", origin,
              (unsigned long long)total);
}

/* Region 0 (the origin) crashes between two writes of a writer thread's
 * stream; reopened from its directory it holds every acknowledged write,
 * continues the seqnos and LSNs, and region 1 converges with it. */
static void
origin_crash_mid_stream(tidal_durability_policy pol)
{
    repl_env e;
    repl_cluster(&e, "inproc", CRASH_SEED);
    repl_open_region(&e, 0, true, pol);
    repl_open_region(&e, 1, true, pol);
    struct stream s = {.r = e.r[0], .max = 200, .hold_at = 120};
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    TIDAL_PASS(tidal_start_session(e.r[0], 9, NULL, &s.sid));
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stream_main, &s), 0);
    bool mid = TIDAL_WAIT_UNTIL(atomic_load(&s.acked) >= 40, REPL_DEADLINE_MS);
    stream_crash(&s);
    e.r[0] = NULL;
    pthread_join(t, NULL);
    cr_assert(mid, "the writer did not get going");
    cr_assert_eq(s.err, 0, "a write failed: %s", tidal_errname(s.err));
    cr_assert_lt(s.acked, s.max, "the crash came after the stream ended");

    reopen(&e, 0, pol);
    size_t n = (size_t)s.acked;
    repl_assert_signals(e.r[0], s.sid, n, s.items);
    int64_t want[5] = {0};
    for (size_t i = 0; i < n; i++) {
        want[s.items[i] - 100]++;
    }
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(repl_count(e.r[0], 100 + (tidal_entity_id)i, "view"), want[i]);
    }
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(e.r[0], s.sid, &v));
    cr_assert_eq(v.home, 0);

    /* new writes continue the seqnos (and the LSNs: region 1 applies them) */
    for (int i = 0; i < 10; i++) {
        s.items[n + (size_t)i] = 200 + (tidal_entity_id)i;
        TIDAL_PASS(tidal_signal_in_session(e.r[0], s.sid, "view", 200 + (tidal_entity_id)i, 1.0,
                                           repl_now_ns()));
    }
    repl_assert_signals(e.r[0], s.sid, n + 10, s.items);
    wait_applied(&e, 0, 1 + n + 10);
    repl_assert_signals(e.r[1], s.sid, n + 10, s.items);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(repl_count(e.r[1], 100 + (tidal_entity_id)i, "view"), want[i]);
    }
    pthread_cond_destroy(&s.cond);
    pthread_mutex_destroy(&s.lock);
    repl_close(&e);
}

Test(repl_crash, origin_crash_mid_stream_sync)
{
    origin_crash_mid_stream(TIDAL_SYNC);
}
Test(repl_crash, origin_crash_mid_stream_none)
{
    origin_crash_mid_stream(TIDAL_NONE);
}

/* The follower crashes; reopened (cut off from the origin) it holds exactly
 * what it had applied, from its copy of the origin's log; healed, it catches
 * up with what the origin wrote meanwhile. */
static void
follower_crash(tidal_durability_policy pol)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", CRASH_SEED);
    repl_open_region(&e, 0, true, pol);
    repl_open_region(&e, 1, true, pol);
    repl_wl_start(e.r[0], &w, 2, 1000);
    repl_wl_signals(e.r[0], &w, 10);
    wait_applied(&e, 0, 22);
    TIDAL_PASS(tidal_region_crash(e.r[1]));
    e.r[1] = NULL;

    /* cut before writing, so that nothing sent while the follower is down
     * waits in a link for its return */
    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    TIDAL_PASS(tidal_fault_partition(rt0, "*", "region-1*", 0));
    repl_wl_signals(e.r[0], &w, 10);
    bool cut =
        TIDAL_WAIT_UNTIL(repl_trace_count(rt0, TIDAL_FAULT_PARTITION, 0) > 0, REPL_DEADLINE_MS);
    cr_assert(cut, "nothing was cut");
    reopen(&e, 1, pol);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 22, "recovered applied LSN");
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(repl_signals_len(e.r[1], w.sid[i]), 10, "recovered signals");
    }
    TIDAL_PASS(tidal_fault_clear(rt0, "*", "region-1*"));
    wait_applied(&e, 0, 42);
    repl_wl_check(e.r[1], &w);
    repl_close(&e);
}

Test(repl_crash, follower_crash_recovers_and_catches_up_sync)
{
    follower_crash(TIDAL_SYNC);
}
Test(repl_crash, follower_crash_recovers_and_catches_up_none)
{
    follower_crash(TIDAL_NONE);
}

/* ---- torn tails ---- */

/* The newest segment of (origin)'s log in region dir: its path and size. */
static void
newest_segment(const char *dir, int origin, char *path, size_t cap)
{
    char sub[160];
    snprintf(sub, sizeof(sub), "%s/wal/shard-0000", dir);
    DIR *d = opendir(sub);
    cr_assert(d != NULL, "no %s", sub);
    char best[256] = "", prefix[8];
    snprintf(prefix, sizeof(prefix), "r%04x-", origin);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, 6) == 0 && strcmp(de->d_name, best) > 0) {
            snprintf(best, sizeof(best), "%s", de->d_name);
        }
    }
    closedir(d);
    cr_assert(best[0] != '\0', "no segment of origin %d in %s", origin, sub);
    snprintf(path, cap, "%s/%s", sub, best);
}

static void
tear(const char *path, off_t bytes)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_gt(st.st_size, bytes);
    cr_assert_eq(truncate(path, st.st_size - bytes), 0);
}

struct captured {
    char *buf;
    size_t cap;
    size_t len;
    uint64_t truncated; /* TIDAL_EVENT_LOG_TRUNCATED lines */
};

static void
capture_line(void *arg, int event, uint64_t count, const char *line)
{
    struct captured *c = arg;
    (void)count;
    if (event == TIDAL_EVENT_LOG_TRUNCATED) {
        c->truncated++;
    }
    int n = snprintf(c->buf + c->len, c->cap - c->len, "%s\n", line);
    if (n > 0) {
        c->len = c->len + (size_t)n < c->cap ? c->len + (size_t)n : c->cap - 1;
    }
}

/* Runs fn with the operator events it logs captured into buf (tidal/log.h);
 * fails unless exactly one of them reports a truncated tail. */
static void
capture_log(void (*fn)(void *), void *arg, char *buf, size_t cap)
{
    struct captured c = {.buf = buf, .cap = cap};
    buf[0] = '\0';
    uint64_t before = tidal_log_count(TIDAL_EVENT_LOG_TRUNCATED);
    tidal_log_set(capture_line, &c);
    fn(arg);
    tidal_log_set(NULL, NULL);
    fprintf(stderr, "%s", buf); /* still shown */
    cr_assert_eq(c.truncated, 1, "truncated tails logged: %" PRIu64, c.truncated);
    cr_assert_eq(tidal_log_count(TIDAL_EVENT_LOG_TRUNCATED), before + 1);
}

struct reopen_arg {
    repl_env *e;
    int id;
    tidal_durability_policy pol;
};

static void
reopen_cb(void *arg)
{
    struct reopen_arg *a = arg;
    reopen(a->e, a->id, a->pol);
}

/* A write region 0 was appending when it died: a session signal batch
 * written to its own log (never acknowledged, never shipped).  The log is
 * abandoned, not closed: a clean close would record the batch durable in
 * the manifest, and cutting it then would be a loss, not a torn write. */
static void
append_unacked(const char *dir, tidal_session_id sid, uint64_t seqno)
{
    tidal_wal_opts o = {.dir = dir, .origin = 0, .shard = 0, .durability = TIDAL_DURABILITY_NONE};
    tidal_wal *w;
    TIDAL_PASS(tidal_wal_open(&o, &w, NULL));
    tidal_record rec = {.kind = TIDAL_REC_SESSION_SIGNAL,
                        .item = 999,
                        .region = 0,
                        .seqno = seqno,
                        .type = "view",
                        .weight = 1.0,
                        .ts_ns = repl_now_ns(),
                        .p_minute = 1,
                        .p_hour = 1};
    for (int i = 0; i < 8; i++) {
        rec.sid[i] = (uint8_t)(sid.hi >> (56 - 8 * i));
        rec.sid[8 + i] = (uint8_t)(sid.lo >> (56 - 8 * i));
    }
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_record_encode(&rec, &b));
    tidal_hlc h = {.wall_ns = repl_now_ns()};
    uint64_t first;
    TIDAL_PASS(tidal_wal_append(w, b.data, (uint32_t)b.len, 1, h, h, &first));
    tidal_buf_fini(&b);
    tidal_wal_abandon(w);
}

/* The origin's own newest segment ends in a torn batch: it reopens (the
 * tail reported and cut), holds every acknowledged write, and its next
 * writes take the torn batch's place in the log and reach the peer. */
static void
torn_own_tail(tidal_durability_policy pol)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", CRASH_SEED);
    repl_open_region(&e, 0, true, pol);
    repl_open_region(&e, 1, true, pol);
    repl_wl_start(e.r[0], &w, 1, 1000);
    repl_wl_signals(e.r[0], &w, 15);
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    e.r[0] = NULL;
    append_unacked(repl_dir_of(&e, 0), w.sid[0], 16);
    char seg[512];
    newest_segment(repl_dir_of(&e, 0), 0, seg, sizeof(seg));
    tear(seg, 3);

    char err[4096];
    struct reopen_arg ra = {&e, 0, pol};
    capture_log(reopen_cb, &ra, err, sizeof(err));
    cr_assert(strstr(err, "torn tail") != NULL, "torn tail not reported: %s", err);
    repl_wl_check(e.r[0], &w);
    repl_wl_signals(e.r[0], &w, 5);
    repl_wl_check(e.r[0], &w);
    wait_applied(&e, 0, 1 + 20);
    repl_wl_check(e.r[1], &w);
    cr_assert_eq(repl_count(e.r[1], 999, "view"), 0, "the torn write never reached the peer");
    repl_close(&e);
}

Test(repl_crash, torn_own_tail_sync)
{
    torn_own_tail(TIDAL_SYNC);
}
Test(repl_crash, torn_own_tail_none)
{
    torn_own_tail(TIDAL_NONE);
}

/* Region 0's copy of region 1's log is torn: region 0 reopens with less of
 * region 1's log than it had acknowledged, and region 1 re-ships the rest. */
Test(repl_crash, torn_peer_copy_is_reshipped)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", CRASH_SEED);
    repl_open_region(&e, 0, true, TIDAL_SYNC);
    repl_open_region(&e, 1, true, TIDAL_SYNC);
    repl_wl_start(e.r[1], &w, 1, 2000);
    repl_wl_signals(e.r[1], &w, 15);
    wait_applied(&e, 1, 16);
    bool acked = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).acked_lsn[0] == 16, REPL_DEADLINE_MS);
    cr_assert(acked, "region 0 acknowledged region 1's log");
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    e.r[0] = NULL;
    char seg[512];
    newest_segment(repl_dir_of(&e, 0), 1, seg, sizeof(seg));
    tear(seg, 4);

    char err[4096];
    struct reopen_arg ra = {&e, 0, TIDAL_SYNC};
    capture_log(reopen_cb, &ra, err, sizeof(err));
    cr_assert(strstr(err, "torn tail") != NULL, "torn tail not reported: %s", err);
    cr_assert_eq(repl_stats(e.r[0]).applied_lsn[1], 15, "the torn batch is gone");
    wait_applied(&e, 1, 16);
    repl_wl_check(e.r[0], &w);
    repl_close(&e);
}

/* ---- a follower back with less than it acknowledged ---- */

/* An ephemeral follower restarts empty after its origin released every
 * batch it had acknowledged: the origin's shipper tells it where the log now
 * starts, its reconciler brings the rest, and shipping goes on. */
Test(repl_crash, ephemeral_follower_restart_after_release)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", CRASH_SEED);
    repl_open_ephemeral(&e, 2);
    repl_wl_start(e.r[0], &w, 2, 1000);
    repl_wl_signals(e.r[0], &w, 10);
    repl_wait_converged(&e);
    bool acked = TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] == 22, REPL_DEADLINE_MS);
    cr_assert(acked, "region 1 acknowledged (so region 0 released) its log");
    TIDAL_PASS(tidal_region_crash(e.r[1]));
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    cr_assert_eq(repl_signals_len(e.r[1], w.sid[0]), 0, "an ephemeral region restarts empty");
    repl_wait_converged(&e); /* no write, no explicit round */
    bool merged = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).reconcile_entries > 0, REPL_DEADLINE_MS);
    cr_assert(merged, "the state came from the reconciler");
    repl_wl_check(e.r[1], &w);
    repl_wl_signals(e.r[0], &w, 1);
    repl_wait_converged(&e);
    repl_wl_check(e.r[1], &w);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 24, "shipping goes on");
    repl_close(&e);
}

/* A follower with a directory loses its copy of the origin's log (its one
 * segment file deleted while it was down).  The copy's manifest knows of
 * the segment, so the open is refused; with salvage it opens with nothing
 * of that origin, and is caught up again - the origin, having a directory,
 * keeps its whole log and ships it from the start - and after another
 * restart it recovers the new copy. */
Test(repl_crash, follower_lost_its_copy_is_reshipped)
{
    repl_env e;
    repl_workload w;
    repl_cluster(&e, "inproc", CRASH_SEED);
    tidal_region_opts o0 = dir_opts(&e, 0, TIDAL_NONE), o1 = dir_opts(&e, 1, TIDAL_NONE);
    o1.segment_bytes = 4096;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o1, &e.r[1]));
    e.n = 2;
    repl_wl_start(e.r[1], &w, 1, 2000);
    repl_wl_signals(e.r[1], &w, 80);
    repl_wait_converged(&e);
    bool acked = TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).acked_lsn[0] == 81, REPL_DEADLINE_MS);
    cr_assert(acked);
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    char seg[512];
    newest_segment(repl_dir_of(&e, 0), 1, seg, sizeof(seg));
    cr_assert_eq(unlink(seg), 0); /* the copy was one segment: now gone */
    TIDAL_FAIL(tidal_region_open(e.c, &o0, &e.r[0]), TIDAL_ECORRUPT);
    o0.salvage = true;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).applied_lsn[1], 0);
    cr_assert_eq(repl_stats(e.r[0]).logs_salvaged, 1, "the copy's loss is counted");
    cr_assert_eq(repl_stats(e.r[0]).lost_lsns, 0, "its own log lost nothing");
    repl_wait_converged(&e);
    repl_wl_check(e.r[0], &w);
    repl_wl_signals(e.r[1], &w, 3);
    repl_wait_converged(&e);
    repl_wl_check(e.r[0], &w);

    TIDAL_PASS(tidal_region_crash(e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    repl_wait_converged(&e);
    repl_wl_check(e.r[0], &w);
    repl_close(&e);
}
