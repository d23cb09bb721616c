/*
 * `tidal demo`: the README's main job.
 *
 * At this stage (the foundation) it runs two nodes in one process, node-a on
 * inproc and node-b on ipc by default, with counter actors, virtual session
 * actors, an echo actor and a driver.  It sends a counter workload through a
 * seeded fault profile (drop, duplicate, delay, reorder) and checks the
 * accounting exactly: handled = sent - dropped + duplicated, as the fault
 * layer counted them (a receiver flags a duplicate but still handles it).
 * Then it replays envelopes to one counter, after that count, and checks the
 * receiver flags each as a duplicate.  Then, with faults cleared, it measures
 * actor-to-actor throughput and ask latency; demo_cluster.c is the
 * replication phase, in a simulation seeded from --seed unless --real.  The
 * fault decisions of this phase are seeded too (its counts repeat); only
 * its timings do not.
 * Exit 0 if every check passes, 1 if one fails, 2 on a usage error
 * (demo_args.c reads the command line), 128 + the signal when SIGINT or
 * SIGTERM stops the run (demo_stop.c): its temporary directory is removed
 * on every path.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tidal/fault.h"
#include "tidal/runtime.h"
#include "tools/demo.h"
#include "tools/demo_actors.h"
#include "tools/tool.h"


static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
base_for(const char *transport, const char *dflt, const char *dir, const char *node, char *out,
         size_t cap)
{
    const char *t = transport ? transport : dflt;
    if (strcmp(t, "inproc") == 0) {
        return snprintf(out, cap, "inproc://demo-%d-%s", (int)getpid(), node) < (int)cap ? 0 : -1;
    }
    if (strcmp(t, "ipc") == 0) {
        return snprintf(out, cap, "ipc://%s", dir) < (int)cap ? 0 : -1;
    }
    return snprintf(out, cap, "tcp://127.0.0.1") < (int)cap ? 0 : -1;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether a signal asked the run to stop: every loop that may run long
 * checks it (demo_stop.c). */
static bool
stopped(void)
{
    return tidal_demo_stop_signal() != 0;
}

static bool
wait_for(atomic_long *v, long want, uint64_t timeout_ms)
{
    uint64_t end = now_ns() + timeout_ms * 1000000u;
    while (atomic_load(v) < want && now_ns() < end && !stopped()) {
        usleep(200);
    }
    return atomic_load(v) == want;
}

static long
handled_total(struct demo *d)
{
    long s = atomic_load(&d->session_msgs);
    for (int i = 0; i < COUNTERS; i++) {
        s += atomic_load(&d->counters[i].sum);
    }
    return s;
}

/* Returns from the calling phase, saying which call failed. */
#define CHECK(expr)                                                                                \
    do {                                                                                           \
        int rv_ = (expr);                                                                          \
        if (rv_ != 0) {                                                                            \
            fprintf(stderr, "tidal demo: %s: %s\n", #expr, tidal_strerror(rv_));                   \
            return rv_;                                                                            \
        }                                                                                          \
    } while (0)

/* One run: its nodes, its actors and what it measured. */
struct run {
    struct opts o;
    struct demo *d;
    tidal_runtime *a, *b;
    tidal_addr counters[COUNTERS], sessions, driver;
    struct report r;
};

/* Opens node-a and node-b and spawns the actors.  On error what was opened
 * stays in *x for the caller to close. */
static int
open_nodes(struct run *x, const char *ua, const char *ub)
{
    tidal_runtime_opts oa = {.url = ua, .name = "node-a", .node_id = 1, .seed = x->o.seed};
    tidal_runtime_opts ob = {.url = ub, .name = "node-b", .node_id = 2, .seed = x->o.seed};
    if ((x->d = calloc(1, sizeof(*x->d))) == NULL) {
        return TIDAL_ENOMEM;
    }
    CHECK(tidal_runtime_open(&oa, &x->a));
    CHECK(tidal_runtime_open(&ob, &x->b));
    CHECK(tidal_demo_spawn_all(x->a, x->b, x->d, x->counters, &x->sessions, &x->driver));
    return 0;
}

/* Phase 1: counters and sessions under the seeded fault profile.  The check,
 * once the fault layer has let everything go: the handler calls (counter
 * sums plus session messages) equal the envelopes sent, less those dropped,
 * plus those duplicated (a receiver flags a duplicate but still handles it). */
static int
phase_faults(struct run *x)
{
    struct report *r = &x->r;
    tidal_fault_rule noisy = {.drop = 0.05,
                              .duplicate = 0.05,
                              .delay = 0.02,
                              .delay_min_ms = 1,
                              .delay_max_ms = 5,
                              .reorder_window = 4};
    tidal_fault_rule dupes = {.duplicate = 0.10, .reorder_window = 3};
    CHECK(tidal_fault_set(x->a, "node-a", "counter-*", &noisy));
    CHECK(tidal_fault_set(x->a, "node-a", "sessions/*", &dupes));
    int64_t one = 1;
    r->counter_sent = x->o.messages;
    r->session_sent = x->o.messages / 4;
    for (uint64_t i = 0; i < r->counter_sent && !stopped(); i++) {
        CHECK(tidal_send(x->a, &x->counters[i % COUNTERS], T_ADD, &one, 8, 5000));
    }
    for (uint64_t i = 0; i < r->session_sent && !stopped(); i++) {
        uint8_t key[16] = {0};
        key[15] = (uint8_t)(i % SESSIONS);
        tidal_addr s;
        CHECK(tidal_addr_virtual(&s, &x->sessions, key, sizeof(key)));
        CHECK(tidal_send(x->a, &s, T_ADD, &one, 8, 5000));
    }
    tidal_fault_clear_all(x->a); /* releases envelopes still held back */
    tidal_stats st;
    tidal_runtime_stats(x->a, &st);
    r->dropped = st.faults[TIDAL_FAULT_DROP];
    r->duplicated = st.faults[TIDAL_FAULT_DUPLICATE];
    long want = (long)(r->counter_sent + r->session_sent - r->dropped + r->duplicated);
    uint64_t end = now_ns() + 10000000000ull;
    while (handled_total(x->d) < want && now_ns() < end && !stopped()) {
        usleep(500);
    }
    usleep(20000); /* anything past the expected count would show as excess */
    r->handled = (uint64_t)handled_total(x->d);
    r->accounting_ok = (long)r->handled == want;
    return 0;
}

/* The replay, after phase 1's count: the last REPLAYED envelopes sent to
 * counter-0 go again with their ids.  The check: counter-0 flags each one as
 * a duplicate. */
static int
phase_replay(struct run *x)
{
    struct report *r = &x->r;
    tidal_actor c0;
    tidal_actor_stats before, after;
    CHECK(tidal_lookup(x->a, "counter-0", &c0));
    CHECK(tidal_actor_stats_get(x->a, c0, &before));
    uint32_t replayed = 0;
    CHECK(tidal_fault_replay(x->a, "node-a", "counter-0", REPLAYED, &replayed));
    r->replayed = replayed;
    uint64_t end = now_ns() + 5000000000ull;
    do {
        CHECK(tidal_actor_stats_get(x->a, c0, &after));
    } while (after.duplicates_seen < before.duplicates_seen + replayed && now_ns() < end &&
             !stopped() && usleep(500) == 0);
    r->replay_ok = replayed > 0 && after.duplicates_seen >= before.duplicates_seen + replayed;
    r->dups_seen_before = before.duplicates_seen;
    r->dups_seen_after = after.duplicates_seen;
    tidal_stats st;
    tidal_runtime_stats(x->a, &st);
    memcpy(r->faults, st.faults, sizeof(r->faults));
    return 0;
}

/* Phase 2, throughput: the driver on node-a sends 10 x --messages to the sink
 * on node-b, no faults.  Counts the nng messages node-b received meanwhile:
 * the envelopes are coalesced, many to a frame. */
static int
phase_throughput(struct run *x)
{
    struct report *r = &x->r;
    tidal_stats b0, b1;
    tidal_runtime_stats(x->b, &b0);
    r->tput_msgs = (uint64_t)x->o.messages * 10;
    uint32_t go = (uint32_t)r->tput_msgs;
    uint64_t t0 = now_ns();
    CHECK(tidal_send(x->a, &x->driver, T_GO, &go, 4, 5000));
    if (!wait_for(&x->d->sink_count, (long)r->tput_msgs, 60000)) {
        if (stopped()) {
            return 0;
        }
        fprintf(stderr, "tidal demo: throughput run did not finish\n");
        return TIDAL_ETIMEDOUT;
    }
    r->tput_ns = now_ns() - t0;
    tidal_runtime_stats(x->b, &b1);
    r->frames = b1.frames_received - b0.frames_received;
    return 0;
}

/* Phase 2, ask latency: ASKS round trips node-a -> node-b, one at a time. */
static int
phase_asks(struct run *x)
{
    struct report *r = &x->r;
    r->asks = ASKS;
    uint64_t *lat = calloc(r->asks, sizeof(*lat));
    if (lat == NULL) {
        return TIDAL_ENOMEM;
    }
    int rv = 0;
    for (uint64_t i = 0; i < r->asks; i++) {
        if (stopped()) {
            goto free_lat;
        }
        tidal_reply rep;
        uint64_t t = now_ns();
        if ((rv = tidal_ask(x->a, &x->d->sink, T_ECHO, &i, 8, 5000, &rep)) != 0) {
            fprintf(stderr, "tidal demo: tidal_ask: %s\n", tidal_strerror(rv));
            goto free_lat;
        }
        lat[i] = now_ns() - t;
        tidal_reply_free(&rep);
    }
    qsort(lat, r->asks, sizeof(*lat), cmp_u64);
    r->ask_p50_ns = lat[r->asks / 2];
    r->ask_p99_ns = lat[r->asks * 99 / 100];
free_lat:
    free(lat);
    return rv;
}

/* Dead letters and rejected input on both nodes over the whole run. */
static void
count_losses(struct run *x)
{
    tidal_stats sa, sb;
    tidal_runtime_stats(x->a, &sa);
    tidal_runtime_stats(x->b, &sb);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        x->r.dead_by[k] = sa.dead[k] + sb.dead[k];
        x->r.dead += x->r.dead_by[k];
    }
    for (int k = 0; k < TIDAL_REJECT_COUNT; k++) {
        x->r.rejected += sa.rejected[k] + sb.rejected[k];
    }
}

/* Makes the run's temporary directory in o->dir (default /tmp) and tells
 * the signal watcher.  Prints why on failure. */
static bool
make_dir(const struct opts *o, char *dir, size_t cap)
{
    const char *parent = o->dir != NULL ? o->dir : "/tmp";
    if (snprintf(dir, cap, "%s/tidal-demo-XXXXXX", parent) >= (int)cap || mkdtemp(dir) == NULL) {
        fprintf(stderr, "tidal demo: cannot make a directory in '%s': %s\n", parent,
                strerror(errno));
        return false;
    }
    tidal_demo_stop_dir(dir);
    return true;
}

/* Every phase, then the report unless a signal stopped the run.  Returns the
 * exit code; closes what it opened. */
static int
run_phases(struct run *x, const char *dir)
{
    /* node-a and node-b close before the replication phase: a simulation
     * takes over the process's random source, and no other thread may draw
     * from it while one runs (base/random.h) */
    char ua[128], ub[128];
    base_for(x->o.transport, "inproc", dir, "a", ua, sizeof(ua));
    base_for(x->o.transport, "ipc", dir, "b", ub, sizeof(ub));
    int code = 1;
    int rv = open_nodes(x, ua, ub);
    rv = rv != 0 || stopped() ? rv : phase_faults(x);
    rv = rv != 0 || stopped() ? rv : phase_replay(x);
    rv = rv != 0 || stopped() ? rv : phase_throughput(x);
    rv = rv != 0 || stopped() ? rv : phase_asks(x);
    if (rv == 0 && !stopped()) {
        count_losses(x);
    }
    int ca = tidal_runtime_close(x->a);
    int cb = tidal_runtime_close(x->b);
    if (rv == 0 && !stopped()) {
        x->r.cluster_rv =
            tidal_tool_demo_cluster(x->o.transport, dir, x->o.seed, x->o.real != 0, &x->r.cl);
    }
    if (rv == 0 && !stopped()) {
        tidal_demo_print_report(&x->o, ua, ub, &x->r);
        code = tidal_demo_passed(&x->r) ? 0 : 1;
    }
    if (ca != 0 || cb != 0) {
        code = 1;
    }
    free(x->d);
    return code;
}

int
tidal_tool_demo(int argc, char **argv)
{
    struct run x = {0};
    enum demo_parse prv = tidal_demo_parse(argc, argv, &x.o);
    if (prv != DEMO_RUN) {
        return prv == DEMO_HELP ? 0 : 2;
    }
    int rv = tidal_demo_stop_watch(); /* before any thread starts */
    if (rv != 0) {
        fprintf(stderr, "tidal demo: cannot watch for signals: %s\n", strerror(rv));
        return 1;
    }
    char dir[PATH_MAX];
    int code = 1;
    if (make_dir(&x.o, dir, sizeof(dir))) {
        code = run_phases(&x, dir);
        tidal_demo_rmtree(dir);
        tidal_demo_stop_dir(NULL);
    }
    int sig = tidal_demo_stop_signal();
    if (sig != 0) {
        fprintf(stderr, "tidal demo: stopped by %s: nodes closed, temporary directory removed\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM");
        code = DEMO_EXIT_SIGNAL(sig);
    }
    tidal_demo_stop_unwatch();
    return code;
}
