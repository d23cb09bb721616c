/*
 * bench_visibility: how long a write made in region A takes to become
 * readable in region B, on inproc, ipc and tcp, beside a raw nng one-way hop
 * on the same transport in the same run.
 *
 * Cases, per transport, in two two-region clusters, one for the none cases
 * and one for the sync cases, each opened fresh and run case after case in
 * this order (A = region 0 writes, B = region 1 reads; cluster defaults
 * otherwise):
 *   none/signal      ephemeral regions; tidal_signal_in_session on one session
 *                    started in A
 *   none/hide        ephemeral regions; tidal_hide_item on distinct (user, item)
 *   none/signal_api  as none/signal, but B is read through the public read
 *                    (tidal_session_signals' count) instead of the watermark
 *   none/hide_api    as none/hide, read through tidal_retrieve_items
 *   sync/signal      regions with a directory under /tmp, durability SYNC: the
 *   sync/hide        figure includes A's fdatasync (the shipper ships only
 *                    what is durable, actors/internal.h)
 * One writer thread issues the writes one at a time: it waits for each call
 * to return (acknowledged and durable under A's policy) and for the reader
 * to have seen the write in B before it issues the next (as the Redis
 * figure of the issue: SET, then GET on the replica until it shows it).
 * Latency, not throughput: a writer that ran ahead of B would measure its
 * own queue.
 *
 * The read.  A reader thread blocks in tidal_region_wait_applied(B, A, lsn)
 * for each write's LSN (each write here is one batch of one record, so
 * write k of a chunk is LSN base + k), then reads B and checks that the
 * read shows the write, and stamps the write "visible" when that read
 * returns.  The read is B's applied watermark
 * (tidal_region_stats_get(B).applied_lsn[A]) for the signal and hide cases,
 * and the public reads for signal_api (tidal_session_signals' count) and
 * hide_api (tidal_retrieve_items drops the hidden item).  The follower path
 * publishes the watermark, and wakes the waiters, after it has applied the
 * batch and released the state lock (actors/watermark.c), so the read after
 * the wake-up sees the write; a read that does not is counted as a failure.
 * Nothing polls: an earlier version polled B every ~20 us, and on 2 vCPUs
 * those ~50k nanosleeps a second delayed the very threads being measured
 * (its raw hop p99 was 3-4 ms; blocked, it is ~100 us).
 *
 * Baselines, interleaved chunk by chunk with the tidal writes (so machine
 * noise hits both alike):
 *   raw_hop              raw nng push/pull one way: the sender stamps the
 *                        message, a receiver thread blocked in nng_recv
 *                        records arrival minus stamp and posts a semaphore
 *                        the sender waits on before sending the next
 *   raw_fdatasync        (sync clusters) write of 128 bytes + fdatasync in
 *                        the same file system
 * The ratio the goal names is the p99 of visibility over the raw hop's p50
 * (goal for none: <= 2.5); the p99 over the raw hop's own p99 is given too,
 * as on a shared 2-vCPU VM part of any tail is the scheduler's, and the
 * load average at the start and end is printed with the figures.
 * A session signal at its home and a hide are each one mailbox hop to
 * visibility: the caller's thread writes it in A and ships the batch to B's
 * region actor itself (actors/client.c), an nng hop whose handler runs on
 * the receiving callback when the actor is idle (runtime/pool.c).
 *
 * Counts asserted (exit 1 on a mismatch): every write returned 0; B applied
 * exactly one batch per write and its watermark equals A's write count; B
 * reads every signal (session signal count) and every hide (retrieve returns
 * nothing for each pair); the raw receiver got every message.  Timings are
 * never asserted.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "benches/bench_ring.h"
#include "benches/bench_util.h"
#include "base/time.h"
#include "tidal/region.h"

#define WARMUP 50u
#define WAIT_MS 20000u
#define A_ID 0u
#define B_ID 1u
#define HIDE_ITEM 7u

enum kind { KIND_SIGNAL, KIND_HIDE };
enum readmode { READ_WATERMARK, READ_API };

struct vcase {
    const char *name;
    enum kind kind;
    enum readmode read;
};

static const struct vcase none_cases[] = {
    {"signal", KIND_SIGNAL, READ_WATERMARK},
    {"hide", KIND_HIDE, READ_WATERMARK},
    {"signal_api", KIND_SIGNAL, READ_API},
    {"hide_api", KIND_HIDE, READ_API},
};
static const struct vcase sync_cases[] = {
    {"signal", KIND_SIGNAL, READ_WATERMARK},
    {"hide", KIND_HIDE, READ_WATERMARK},
};

static void
loadavg_json(bench_json *j, const char *key)
{
    double l1 = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l1) != 1) {
            l1 = 0;
        }
        fclose(f);
    }
    bench_json_f(j, key, l1, 2);
}

/* ---- raw baselines ------------------------------------------------------------- */

struct raw {
    nng_socket push, pull;
    pthread_t rx;
    sem_t arrived;             /* posted per message received */
    atomic_uint_least64_t got; /* messages received */
};

static void *
raw_rx_main(void *arg)
{
    struct raw *r = arg;
    uint8_t buf[BENCH_PAYLOAD_BYTES * 2];
    for (;;) {
        size_t sz = sizeof(buf);
        if (nng_recv(r->pull, buf, &sz, 0) != 0) {
            break;
        }
        uint64_t now = bench_now_ns();
        uint64_t t0;
        if (sz != BENCH_PAYLOAD_BYTES) {
            continue; /* counted as missing by the sender's check */
        }
        memcpy(&t0, buf, sizeof(t0));
        uint64_t *slot;
        memcpy(&slot, buf + 8, sizeof(slot));
        *slot = now - t0;
        atomic_fetch_add_explicit(&r->got, 1, memory_order_release);
        sem_post(&r->arrived);
    }
    return NULL;
}

static void
raw_open(struct raw *r, const char *transport, const char *dir)
{
    char url[TIDAL_URL_BYTES_MAX];
    memset(r, 0, sizeof(*r));
    BENCH_CHECK(sem_init(&r->arrived, 0, 0) == 0);
    BENCH_NNG(nng_pull0_open(&r->pull));
    BENCH_NNG(nng_push0_open(&r->push));
    bench_nng_listen(r->pull, transport, dir, "vis", url, sizeof(url));
    BENCH_NNG(nng_dial(r->push, url, NULL, 0));
    BENCH_CHECK(pthread_create(&r->rx, NULL, raw_rx_main, r) == 0);
}

static void
raw_close(struct raw *r, uint64_t expected)
{
    BENCH_NNG(nng_close(r->push));
    BENCH_NNG(nng_close(r->pull));
    pthread_join(r->rx, NULL);
    sem_destroy(&r->arrived);
    BENCH_CHECK(atomic_load(&r->got) == expected);
}

/* One raw hop; the receiver writes the sample into *out (its address
 * travels in the message).  Blocks until the receiver recorded it, outside
 * the timed span. */
static void
raw_hop(struct raw *r, uint64_t *out)
{
    uint8_t p[BENCH_PAYLOAD_BYTES];
    memset(p, 0x5a, sizeof(p));
    memcpy(p + 8, &out, sizeof(out));
    uint64_t t0 = bench_now_ns();
    memcpy(p, &t0, sizeof(t0));
    BENCH_NNG(nng_send(r->push, p, sizeof(p), 0));
    struct timespec until = tidal_deadline(CLOCK_REALTIME, WAIT_MS);
    BENCH_CHECK(sem_timedwait(&r->arrived, &until) == 0);
}

/* write + fdatasync of 128 bytes to fd; returns the ns they took. */
static uint64_t
raw_fdatasync(int fd)
{
    uint8_t p[128];
    memset(p, 0xa5, sizeof(p));
    uint64_t t0 = bench_now_ns();
    BENCH_CHECK(write(fd, p, sizeof(p)) == (ssize_t)sizeof(p));
    BENCH_CHECK(fdatasync(fd) == 0);
    return bench_now_ns() - t0;
}

/* ---- samples ---------------------------------------------------------------------- */

struct samples {
    uint64_t *ns;
    size_t n, cap;
};

static void
samples_init(struct samples *s, size_t cap)
{
    s->ns = calloc(cap ? cap : 1, sizeof(*s->ns));
    BENCH_CHECK(s->ns != NULL);
    s->n = 0;
    s->cap = cap;
}

static uint64_t *
samples_slot(struct samples *s)
{
    BENCH_CHECK(s->n < s->cap);
    return &s->ns[s->n++];
}

struct summary {
    uint64_t n, p50, p90, p99, p999, max, mean; /* ns */
};

/* Sorts s and summarises it.  Cannot fail. */
static struct summary
summarise(struct samples *s)
{
    struct summary m = {.n = s->n};
    uint64_t sum = 0;
    bench_sort_u64(s->ns, s->n);
    for (size_t i = 0; i < s->n; i++) {
        sum += s->ns[i];
    }
    m.p50 = bench_percentile(s->ns, s->n, 50);
    m.p90 = bench_percentile(s->ns, s->n, 90);
    m.p99 = bench_percentile(s->ns, s->n, 99);
    m.p999 = bench_percentile(s->ns, s->n, 99.9);
    m.max = s->n ? s->ns[s->n - 1] : 0;
    m.mean = s->n ? sum / s->n : 0;
    return m;
}

static void
summary_json(bench_json *j, const char *key, const struct summary *m)
{
    bench_json_obj(j, key);
    bench_json_u64(j, "samples", m->n);
    bench_json_f(j, "p50_us", (double)m->p50 / 1e3, 1);
    bench_json_f(j, "p90_us", (double)m->p90 / 1e3, 1);
    bench_json_f(j, "p99_us", (double)m->p99 / 1e3, 1);
    bench_json_f(j, "p999_us", (double)m->p999 / 1e3, 1);
    bench_json_f(j, "max_us", (double)m->max / 1e3, 1);
    bench_json_f(j, "mean_us", (double)m->mean / 1e3, 1);
    bench_json_close(j);
}

/* ---- one case ---------------------------------------------------------------------- */

struct run {
    tidal_region *a, *b;
    const struct vcase *vc;
    tidal_session_id sid;
    uint64_t *issue_ns;      /* per write of the case */
    uint64_t *visible_ns;    /* the read in B that showed it returned */
    uint64_t *ack_ns;
    /* the chunk the reader is watching */
    uint32_t off, k;
    uint64_t lsn_base;       /* B's watermark of A before the chunk */
    uint64_t signals_base;   /* B's signal count of the session before the chunk */
    uint64_t user_base;      /* the chunk's first hide user */
    sem_t seen; /* posted by the reader per write it stamped */
    int failed; /* 1: a wait timed out; 2: a read after the wait missed the write */
};

static uint64_t
wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
watermark(tidal_region *b)
{
    tidal_region_stats st;
    tidal_region_stats_get(b, &st);
    return st.applied_lsn[A_ID];
}

static uint64_t
signal_count(tidal_region *r, tidal_session_id sid)
{
    size_t n = 0;
    return tidal_session_signals(r, sid, NULL, 0, &n) == 0 ? n : 0;
}

static bool
hidden_in(tidal_region *r, uint64_t user)
{
    tidal_entity_id item = HIDE_ITEM;
    tidal_scored_item out[1];
    size_t n = 1;
    tidal_retrieve q = {.user = user, .candidates = &item, .ncandidates = 1};
    BENCH_PASS(tidal_retrieve_items(r, &q, out, &n));
    return n == 0;
}

/* Whether B's read shows write i of the chunk (0-based). */
static bool
read_shows(struct run *r, uint32_t i)
{
    if (r->vc->read == READ_WATERMARK) {
        return watermark(r->b) >= r->lsn_base + i + 1;
    }
    if (r->vc->kind == KIND_SIGNAL) {
        return signal_count(r->b, r->sid) >= r->signals_base + i + 1;
    }
    return hidden_in(r->b, r->user_base + i);
}

static void *
reader_main(void *arg)
{
    struct run *r = arg;
    for (uint32_t i = 0; i < r->k; i++) {
        if (tidal_region_wait_applied(r->b, A_ID, r->lsn_base + i + 1, WAIT_MS) != 0) {
            r->failed = 1;
        } else if (!read_shows(r, i)) {
            r->failed = 2;
        }
        r->visible_ns[r->off + i] = bench_now_ns();
        sem_post(&r->seen);
        if (r->failed) {
            break;
        }
    }
    return NULL;
}

/* One write of the case, by the writer (this) thread. */
static void
write_one(struct run *r, uint64_t user)
{
    if (r->vc->kind == KIND_SIGNAL) {
        BENCH_PASS(tidal_signal_in_session(r->a, r->sid, "view", user, 1.0, wall_ns()));
    } else {
        BENCH_PASS(tidal_hide_item(r->a, user, HIDE_ITEM));
    }
}

/* Waits until B has applied all of A's writes. */
static void
wait_caught_up(tidal_region *a, tidal_region *b)
{
    tidal_region_stats sa;
    tidal_region_stats_get(a, &sa);
    BENCH_PASS(tidal_region_wait_applied(b, A_ID, sa.last_lsn, WAIT_MS));
}

struct baselines {
    struct raw raw;
    struct samples hop, fsync;
    int fsync_fd; /* -1 when the cluster is not durable */
    uint32_t raw_chunk, fsync_chunk;
};

static void
baseline_chunk(struct baselines *bl)
{
    for (uint32_t i = 0; i < bl->raw_chunk; i++) {
        raw_hop(&bl->raw, samples_slot(&bl->hop));
    }
    for (uint32_t i = 0; bl->fsync_fd >= 0 && i < bl->fsync_chunk; i++) {
        *samples_slot(&bl->fsync) = raw_fdatasync(bl->fsync_fd);
    }
}

struct case_result {
    const struct vcase *vc;
    struct summary visible, call;
    uint64_t b_duplicates, a_shipped;
};

/* Runs one case: warm-up, then n writes in chunks, each chunk followed by a
 * chunk of baselines.  Checks the counts. */
static struct case_result
run_case(tidal_region *a, tidal_region *b, const struct vcase *vc, uint32_t n, uint32_t chunk,
         struct baselines *bl, uint64_t *user_next)
{
    struct run r = {.a = a, .b = b, .vc = vc};
    r.issue_ns = calloc(n, sizeof(uint64_t));
    r.visible_ns = calloc(n, sizeof(uint64_t));
    r.ack_ns = calloc(n, sizeof(uint64_t));
    BENCH_CHECK(r.issue_ns != NULL && r.visible_ns != NULL && r.ack_ns != NULL);
    BENCH_CHECK(sem_init(&r.seen, 0, 0) == 0);
    if (vc->kind == KIND_SIGNAL) {
        BENCH_PASS(tidal_start_session(a, 42, NULL, &r.sid));
    }
    tidal_region_stats sa0, sb0;
    for (uint32_t i = 0; i < WARMUP; i++) {
        write_one(&r, (*user_next)++);
    }
    wait_caught_up(a, b);
    tidal_region_stats_get(a, &sa0);
    tidal_region_stats_get(b, &sb0);
    uint64_t first_user = *user_next;

    for (uint32_t done = 0; done < n; done += chunk) {
        r.off = done;
        r.k = n - done < chunk ? n - done : chunk;
        r.lsn_base = watermark(b);
        r.signals_base = vc->kind == KIND_SIGNAL ? signal_count(b, r.sid) : 0;
        r.user_base = *user_next;
        pthread_t rd;
        BENCH_CHECK(pthread_create(&rd, NULL, reader_main, &r) == 0);
        for (uint32_t i = 0; i < r.k && !r.failed; i++) {
            r.issue_ns[done + i] = bench_now_ns();
            write_one(&r, (*user_next)++);
            r.ack_ns[done + i] = bench_now_ns() - r.issue_ns[done + i];
            sem_wait(&r.seen); /* closed loop: the next write once B showed this one */
        }
        pthread_join(rd, NULL);
        if (r.failed) {
            bench_fatal(__FILE__, __LINE__, vc->name,
                        r.failed == 1 ? "a write never became visible in B"
                                      : "B's read missed a write its watermark had passed");
        }
        wait_caught_up(a, b);
        baseline_chunk(bl);
    }

    /* counts */
    tidal_region_stats sa1, sb1;
    tidal_region_stats_get(a, &sa1);
    tidal_region_stats_get(b, &sb1);
    BENCH_CHECK(sa1.writes - sa0.writes == n);
    BENCH_CHECK(sb1.applied_lsn[A_ID] == sa1.writes);
    BENCH_CHECK(sb1.batches_applied - sb0.batches_applied == n);
    if (vc->kind == KIND_SIGNAL) {
        BENCH_CHECK(signal_count(b, r.sid) == (uint64_t)n + WARMUP);
        BENCH_CHECK(signal_count(a, r.sid) == (uint64_t)n + WARMUP);
    } else {
        for (uint64_t u = first_user; u < first_user + n; u++) {
            BENCH_CHECK(hidden_in(b, u));
        }
    }

    struct samples vis, ack;
    samples_init(&vis, n);
    samples_init(&ack, n);
    for (uint32_t i = 0; i < n; i++) {
        BENCH_CHECK(r.visible_ns[i] >= r.issue_ns[i]);
        *samples_slot(&vis) = r.visible_ns[i] - r.issue_ns[i];
        *samples_slot(&ack) = r.ack_ns[i];
    }
    struct case_result res = {.vc = vc,
                              .visible = summarise(&vis),
                              .call = summarise(&ack),
                              .b_duplicates = sb1.batches_duplicate - sb0.batches_duplicate,
                              .a_shipped = sa1.batches_shipped - sa0.batches_shipped};
    free(vis.ns);
    free(ack.ns);
    sem_destroy(&r.seen);
    free(r.issue_ns);
    free(r.visible_ns);
    free(r.ack_ns);
    return res;
}

static void
case_json(bench_json *j, const struct case_result *c, const struct summary *hop, double fsync_p50)
{
    double hop_p50 = (double)hop->p50;
    bench_json_obj(j, c->vc->name);
    bench_json_str(j, "read",
                   c->vc->read == READ_WATERMARK ? "tidal_region_stats_get(B).applied_lsn[A]"
                                                 : "tidal_session_signals(B) count");
    summary_json(j, "visible", &c->visible);
    summary_json(j, "write_call", &c->call);
    bench_json_f(j, "visible_p50_in_raw_hop_p50",
                 hop_p50 > 0 ? (double)c->visible.p50 / hop_p50 : 0, 2);
    bench_json_f(j, "visible_p99_in_raw_hop_p50",
                 hop_p50 > 0 ? (double)c->visible.p99 / hop_p50 : 0, 2);
    bench_json_f(j, "visible_p99_in_raw_hop_p99",
                 hop->p99 > 0 ? (double)c->visible.p99 / (double)hop->p99 : 0, 2);
    if (fsync_p50 > 0) {
        bench_json_f(j, "visible_p99_in_raw_hop_plus_fdatasync_p50",
                     (double)c->visible.p99 / (hop_p50 + fsync_p50), 2);
    }
    bench_json_u64(j, "b_batches_duplicate", c->b_duplicates);
    bench_json_u64(j, "a_batches_shipped", c->a_shipped);
    bench_json_close(j);
}

/* ---- per transport ------------------------------------------------------------------ */

struct cluster2 {
    tidal_cluster *c;
    tidal_region *a, *b;
};

static void
cluster_open(struct cluster2 *k, const char *transport, const char *dir, const char *tag, bool sync)
{
    char url[TIDAL_URL_BYTES_MAX], sub[128], da[160], db[160];
    snprintf(sub, sizeof(sub), "%s/%s", dir, tag);
    BENCH_CHECK(mkdir(sub, 0700) == 0);
    bench_base_url(transport, sub, tag, url, sizeof(url));
    /* tcp: loopback, the trusted network plaintext needs */
    tidal_cluster_opts co = {.url = url, .plaintext = strcmp(transport, "tcp") == 0};
    BENCH_PASS(tidal_cluster_open(&co, &k->c));
    snprintf(da, sizeof(da), "%s/a", sub);
    snprintf(db, sizeof(db), "%s/b", sub);
    tidal_region_opts oa = {
        .region_id = A_ID, .dir = sync ? da : NULL, .durability = sync ? TIDAL_SYNC : TIDAL_NONE};
    tidal_region_opts ob = {.region_id = B_ID,
                            .role = TIDAL_ROLE_FOLLOWER,
                            .dir = sync ? db : NULL,
                            .durability = sync ? TIDAL_SYNC : TIDAL_NONE};
    BENCH_PASS(tidal_region_open(k->c, &oa, &k->a));
    BENCH_PASS(tidal_region_open(k->c, &ob, &k->b));
}

#define NONE_CASES (sizeof(none_cases) / sizeof(none_cases[0]))
#define SYNC_CASES (sizeof(sync_cases) / sizeof(sync_cases[0]))

static void
bench_transport(bench_json *j, const char *transport, const char *dir, uint32_t n, uint32_t chunk)
{
    const uint32_t chunks = (n + chunk - 1) / chunk;
    struct baselines bl = {.fsync_fd = -1,
                           .raw_chunk = chunk / 5 ? chunk / 5 : 1,
                           .fsync_chunk = chunk / 10 ? chunk / 10 : 1};
    struct case_result none_res[NONE_CASES], sync_res[SYNC_CASES];
    char sub[128], path[160];
    snprintf(sub, sizeof(sub), "%s/%s", dir, transport);
    BENCH_CHECK(mkdir(sub, 0700) == 0);
    raw_open(&bl.raw, transport, sub);
    samples_init(&bl.hop, (NONE_CASES + SYNC_CASES) * chunks * bl.raw_chunk + WARMUP);
    samples_init(&bl.fsync, SYNC_CASES * chunks * bl.fsync_chunk);
    for (uint32_t i = 0; i < WARMUP; i++) {
        raw_hop(&bl.raw, samples_slot(&bl.hop));
    }
    bl.hop.n = 0; /* warm-up samples dropped */
    uint64_t user_next = 1000;

    struct cluster2 k;
    cluster_open(&k, transport, sub, "none", false);
    for (size_t c = 0; c < NONE_CASES; c++) {
        none_res[c] = run_case(k.a, k.b, &none_cases[c], n, chunk, &bl, &user_next);
    }
    BENCH_PASS(tidal_cluster_close(k.c));

    snprintf(path, sizeof(path), "%s/fsync.dat", sub);
    bl.fsync_fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    BENCH_CHECK(bl.fsync_fd >= 0);
    cluster_open(&k, transport, sub, "sync", true);
    for (size_t c = 0; c < SYNC_CASES; c++) {
        sync_res[c] = run_case(k.a, k.b, &sync_cases[c], n, chunk, &bl, &user_next);
    }
    BENCH_PASS(tidal_cluster_close(k.c));
    close(bl.fsync_fd);
    raw_close(&bl.raw, WARMUP + bl.hop.n);

    struct summary hop = summarise(&bl.hop), fsync = summarise(&bl.fsync);
    bench_json_obj(j, transport);
    summary_json(j, "raw_hop", &hop);
    summary_json(j, "raw_fdatasync_128B", &fsync);
    bench_json_obj(j, "none");
    for (size_t c = 0; c < NONE_CASES; c++) {
        case_json(j, &none_res[c], &hop, 0);
    }
    bench_json_close(j);
    bench_json_obj(j, "sync");
    for (size_t c = 0; c < SYNC_CASES; c++) {
        case_json(j, &sync_res[c], &hop, (double)fsync.p50);
    }
    bench_json_close(j);
    bench_json_close(j);
    fflush(stdout); /* a failure later leaves what was measured */
    free(bl.hop.ns);
    free(bl.fsync.ns);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "  Visibility latency: a write in region A (session signal or\n"
                                   "  hide) until region B shows it, on inproc, ipc and tcp, for\n"
                                   "  ephemeral regions (none) and SYNC regions with a directory\n"
                                   "  (sync), beside a raw nng push/pull one-way hop; prints one\n"
                                   "  JSON object.\n");
    uint32_t n = quick ? 200 : 10000;
    uint32_t chunk = quick ? 50 : 500;
    setenv("TIDAL_QUIET", "1", 0);
    char dir[64];
    bench_tmpdir(dir, sizeof(dir), "tidal-vis");
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "visibility");
    bench_json_bool(&j, "quick", quick);
    bench_json_u64(&j, "writes_per_case", n);
    bench_json_u64(&j, "chunk_writes", chunk);
    bench_json_str(&j, "read", "reader thread blocks in tidal_region_wait_applied(B), then reads B");
    bench_json_str(&j, "raw_hop", "nng push/pull one way, stamp in message, receiver records");
    loadavg_json(&j, "loadavg_1m_start");
    for (int t = 0; t < BENCH_TRANSPORTS; t++) {
        bench_transport(&j, bench_transports[t], dir, n, chunk);
    }
    loadavg_json(&j, "loadavg_1m_end");
    bench_json_end(&j);
    bench_rmdir(dir);
    return 0;
}
