/*
 * bench_visibility: how long a write made in region A takes to become
 * readable in region B, on inproc, ipc and tcp, beside a raw nng one-way hop
 * on the same transport in the same run.
 *
 * Cases, per transport, each in a fresh two-region cluster (A = region 0
 * writes, B = region 1 reads; cluster defaults otherwise):
 *   none/signal      ephemeral regions; tidal_signal_in_session on one session
 *                    started in A
 *   none/hide        ephemeral regions; tidal_hide_item on distinct (user, item)
 *   none/signal_api  as none/signal, but B is read through the public read
 *                    (tidal_session_signals' count) instead of the watermark
 *   sync/signal      regions with a directory under /tmp, durability SYNC: the
 *   sync/hide        figure includes A's fdatasync (the shipper ships only
 *                    what is durable, actors/internal.h)
 * One writer thread issues the writes one at a time and waits for each call
 * to return (acknowledged and durable under A's policy) before the next:
 * latency, not throughput.
 *
 * The read.  A reader thread polls B and stamps each write the first time B
 * shows it.  Its read is B's applied watermark, tidal_region_stats_get(B)
 * .applied_lsn[A]: each write here is one batch of one record, so write k of
 * a case is visible once the watermark passes the case's base + k.  The
 * follower path publishes that watermark after it has applied the batch and
 * released the state lock (actors/apply.c), so a read of B made after it
 * sees the write: the watermark never runs ahead of what a reader sees, and
 * it costs no state lock, so polling it does not slow the apply path down.
 * (A session signal held for an earlier seqno would pass the watermark
 * before it is readable; none is here: the session's start is applied
 * before a case begins and its seqnos arrive in order.)  The signal_api
 * case measures the same path through a public read, to show the two
 * agree.  Between reads the reader sleeps for the shortest time the
 * kernel gives (timer slack 1 ns, ~20 us per read here).  Each write gets
 * two stamps: "visible", when the first read that showed it ended (an upper
 * bound, used for the ratios), and "visible_lower_bound", when the last
 * read that did not show it began (or the issue, if later).  They differ by
 * a poll period, unless the reader itself waited for a CPU: on a loaded
 * 2-vCPU VM a wide gap at the tail says the tail is the observer's, not
 * the write's.  A reader spinning on
 * sched_yield instead would keep one of the 2 vCPUs busy and delay the
 * threads being measured by milliseconds at the tail.
 *
 * Baselines, interleaved chunk by chunk with the tidal writes (so machine
 * noise hits both alike):
 *   raw_hop              raw nng push/pull one way: the sender stamps the
 *                        message, a receiver thread blocked in nng_recv
 *                        records arrival minus stamp; the sender waits for it
 *                        before sending the next
 *   raw_hop_with_poller  the same while a thread polls as the tidal reader
 *                        does (so both run beside the same wake-ups)
 *   raw_fdatasync        (sync clusters) write of 128 bytes + fdatasync in
 *                        the same file system
 * The ratio the goal names is the p99 of visibility over the raw hop's p50
 * (goal for none: <= 2.5); the p99 over the raw hop's own p99 is given too,
 * because on a shared 2-vCPU VM the raw hop's tail is the scheduler's (a
 * wake-up that finds both vCPUs busy waits for a 4 ms tick, CONFIG_HZ=250),
 * and the load average at the start and end is printed with the figures.
 * A tidal write to visibility is two mailbox hops (the ask to A's writing
 * actor, then the batch to B's region actor), each an nng hop whose handler
 * runs on the receiving callback when its actor is idle (runtime/pool.c).
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "benches/bench_util.h"
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
};
static const struct vcase sync_cases[] = {
    {"signal", KIND_SIGNAL, READ_WATERMARK},
    {"hide", KIND_HIDE, READ_WATERMARK},
};

/* ---- polling ------------------------------------------------------------------- */

/* A poller's pause between two reads: the shortest sleep the kernel gives
 * (1 us asked; with the thread's timer slack at 1 ns it lasts ~20 us here).
 * Spinning on sched_yield instead keeps a vCPU busy and, on 2 vCPUs, delays
 * the very threads being measured by milliseconds at the tail. */
static void
poll_pause(void)
{
    struct timespec ts = {0, 1000};
    nanosleep(&ts, NULL);
}

/* Timer slack 1 ns for the calling thread (the default 50 us would make
 * every pause ~75 us).  Best effort. */
static void
poll_thread_setup(void)
{
    (void)prctl(PR_SET_TIMERSLACK, 1ul, 0ul, 0ul, 0ul);
}

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
    }
    return NULL;
}

static void
raw_open(struct raw *r, const char *transport, const char *dir)
{
    char url[TIDAL_URL_BYTES_MAX];
    memset(r, 0, sizeof(*r));
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
    BENCH_CHECK(atomic_load(&r->got) == expected);
}

/* One raw hop; the receiver writes the sample into *out (its address
 * travels in the message).  Waits, polling, until the receiver recorded it,
 * outside the timed span. */
static void
raw_hop(struct raw *r, uint64_t *out)
{
    uint8_t p[BENCH_PAYLOAD_BYTES];
    uint64_t before = atomic_load(&r->got);
    memset(p, 0x5a, sizeof(p));
    memcpy(p + 8, &out, sizeof(out));
    uint64_t t0 = bench_now_ns();
    memcpy(p, &t0, sizeof(t0));
    BENCH_NNG(nng_send(r->push, p, sizeof(p), 0));
    uint64_t deadline = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    while (atomic_load_explicit(&r->got, memory_order_acquire) == before) {
        BENCH_CHECK(bench_now_ns() < deadline);
        poll_pause();
    }
}

struct poller {
    pthread_t th;
    atomic_bool stop;
};

static void *
poller_main(void *arg)
{
    struct poller *p = arg;
    poll_thread_setup();
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        poll_pause();
    }
    return NULL;
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
    uint64_t *visible_ns;    /* the first read that showed it ended (upper bound) */
    uint64_t *visible_lo_ns; /* the last read that did not show it began (lower bound) */
    uint64_t *ack_ns;
    /* the chunk the reader is watching */
    uint32_t off, k;
    uint64_t lsn_base;       /* B's watermark of A before the chunk */
    uint64_t signals_base;   /* B's signal count of the session before the chunk */
    uint64_t user_base;      /* the chunk's first hide user */
    uint64_t polls, poll_ns; /* the reader's reads and the time they took */
    int failed;
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

/* How many of the chunk's writes B shows now (the reader's read). */
static uint32_t
visible_now(struct run *r, uint32_t seen)
{
    uint64_t v;
    if (r->vc->read == READ_WATERMARK) {
        v = watermark(r->b) - r->lsn_base;
    } else if (r->vc->kind == KIND_SIGNAL) {
        v = signal_count(r->b, r->sid) - r->signals_base;
    } else {
        v = seen;
        while (v < r->k && hidden_in(r->b, r->user_base + v)) {
            v++;
        }
    }
    return v > r->k ? r->k : (uint32_t)v;
}

static void *
reader_main(void *arg)
{
    struct run *r = arg;
    uint32_t seen = 0;
    uint64_t t0 = bench_now_ns();
    uint64_t deadline = t0 + (uint64_t)WAIT_MS * 1000000u;
    uint64_t prev_before = 0; /* when the previous read began (0: none yet) */
    poll_thread_setup();
    while (seen < r->k) {
        r->polls++;
        uint64_t before = bench_now_ns();
        uint32_t v = visible_now(r, seen);
        uint64_t now = bench_now_ns();
        while (seen < v) {
            r->visible_lo_ns[r->off + seen] = prev_before;
            r->visible_ns[r->off + seen++] = now;
        }
        prev_before = before;
        if (seen < r->k) {
            if (now > deadline) {
                r->failed = 1;
                return NULL;
            }
            poll_pause();
        }
    }
    r->poll_ns += bench_now_ns() - t0;
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

/* Waits until B's watermark of A equals A's writes. */
static void
wait_caught_up(tidal_region *a, tidal_region *b)
{
    tidal_region_stats sa;
    tidal_region_stats_get(a, &sa);
    uint64_t deadline = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    while (watermark(b) != sa.writes) {
        BENCH_CHECK(bench_now_ns() < deadline);
        usleep(100);
    }
}

struct baselines {
    struct raw raw;
    struct samples hop, hop_poll, fsync;
    int fsync_fd; /* -1 when the cluster is not durable */
    uint32_t raw_chunk, fsync_chunk;
};

static void
baseline_chunk(struct baselines *bl)
{
    for (uint32_t i = 0; i < bl->raw_chunk; i++) {
        raw_hop(&bl->raw, samples_slot(&bl->hop));
    }
    struct poller p = {0};
    atomic_init(&p.stop, false);
    BENCH_CHECK(pthread_create(&p.th, NULL, poller_main, &p) == 0);
    for (uint32_t i = 0; i < bl->raw_chunk; i++) {
        raw_hop(&bl->raw, samples_slot(&bl->hop_poll));
    }
    atomic_store(&p.stop, true);
    pthread_join(p.th, NULL);
    for (uint32_t i = 0; bl->fsync_fd >= 0 && i < bl->fsync_chunk; i++) {
        *samples_slot(&bl->fsync) = raw_fdatasync(bl->fsync_fd);
    }
}

struct case_result {
    const struct vcase *vc;
    struct summary visible, visible_lo, call;
    uint64_t b_duplicates, a_shipped;
    double poll_period_ns;
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
    r.visible_lo_ns = calloc(n, sizeof(uint64_t));
    r.ack_ns = calloc(n, sizeof(uint64_t));
    BENCH_CHECK(r.issue_ns != NULL && r.visible_ns != NULL && r.visible_lo_ns != NULL &&
                r.ack_ns != NULL);
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
        for (uint32_t i = 0; i < r.k; i++) {
            r.issue_ns[done + i] = bench_now_ns();
            write_one(&r, (*user_next)++);
            r.ack_ns[done + i] = bench_now_ns() - r.issue_ns[done + i];
        }
        pthread_join(rd, NULL);
        if (r.failed) {
            bench_fatal(__FILE__, __LINE__, vc->name, "a write never became visible in B");
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

    struct samples vis, vis_lo, ack;
    samples_init(&vis, n);
    samples_init(&vis_lo, n);
    samples_init(&ack, n);
    for (uint32_t i = 0; i < n; i++) {
        BENCH_CHECK(r.visible_ns[i] >= r.issue_ns[i]);
        *samples_slot(&vis) = r.visible_ns[i] - r.issue_ns[i];
        uint64_t lo = r.visible_lo_ns[i] > r.issue_ns[i] ? r.visible_lo_ns[i] : r.issue_ns[i];
        *samples_slot(&vis_lo) = lo - r.issue_ns[i];
        *samples_slot(&ack) = r.ack_ns[i];
    }
    struct case_result res = {.vc = vc,
                              .visible = summarise(&vis),
                              .visible_lo = summarise(&vis_lo),
                              .call = summarise(&ack),
                              .b_duplicates = sb1.batches_duplicate - sb0.batches_duplicate,
                              .a_shipped = sa1.batches_shipped - sa0.batches_shipped,
                              .poll_period_ns = r.polls ? (double)r.poll_ns / (double)r.polls : 0};
    free(vis.ns);
    free(vis_lo.ns);
    free(ack.ns);
    free(r.issue_ns);
    free(r.visible_ns);
    free(r.visible_lo_ns);
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
    summary_json(j, "visible_lower_bound", &c->visible_lo);
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
    bench_json_f(j, "reader_poll_period_mean_us", c->poll_period_ns / 1e3, 1);
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
    tidal_cluster_opts co = {.url = url};
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
    samples_init(&bl.hop_poll, (NONE_CASES + SYNC_CASES) * chunks * bl.raw_chunk);
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
    raw_close(&bl.raw, WARMUP + bl.hop.n + bl.hop_poll.n);

    struct summary hop = summarise(&bl.hop), hop_poll = summarise(&bl.hop_poll),
                   fsync = summarise(&bl.fsync);
    bench_json_obj(j, transport);
    summary_json(j, "raw_hop", &hop);
    summary_json(j, "raw_hop_with_poller", &hop_poll);
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
    free(bl.hop_poll.ns);
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
    poll_thread_setup(); /* this thread waits for the raw receiver by polling */
    char dir[64];
    bench_tmpdir(dir, sizeof(dir), "tidal-vis");
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "visibility");
    bench_json_bool(&j, "quick", quick);
    bench_json_u64(&j, "writes_per_case", n);
    bench_json_u64(&j, "chunk_writes", chunk);
    bench_json_str(&j, "read", "reader thread polls B, ~1 us nanosleep (slack 1 ns) between reads");
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
