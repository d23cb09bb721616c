/*
 * `tidal demo`, replication phase: three regions in one cluster, in a
 * deterministic simulation seeded from --seed (include/tidal/sim.h) unless
 * --real puts them on the chosen transport's real threads.  Agents start
 * sessions and write signals, some roam to another region mid-session;
 * users hide and unhide items from different regions with racing stamps;
 * every link duplicates and reorders envelopes, and region 2 is partitioned
 * from the others for part of the run, then healed.  Then the
 * invariants of docs/design.md are checked, each PASS or FAIL:
 *   convergence          every region's state digest is equal
 *   no double counting   every count and every session list is exact
 *   hard negatives       visibility is LWW by (wall, logical), hide wins ties
 *   visibility           a write in region 0 is readable in region 1 (p50/p99)
 *   bad input            garbage sent to a region is counted, state unchanged
 *
 * In the simulation every region runs on this thread and nothing moves but
 * what the phase runs: a write or tidal_region_wait_applied runs the
 * simulation until it returns, and every other wait runs it until its
 * condition holds or a simulated deadline passes (wait_until).  Stamps and
 * latencies read the simulated clock, so one seed gives one report: every
 * fault, every count, even the visibility figures (in simulated time).
 * Under --real the same waits poll the real clock.
 *
 * A signal (demo_stop.c) ends every wait early - its condition checks the
 * stop flag, in the simulation too - and skips the steps left; the cluster
 * is closed all the same.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>

#include "tidal/log.h"
#include "tidal/region.h"
#include "tidal/sim.h"
#include "tools/demo.h"

#define REGIONS 3
#define AGENTS 24
#define SIGNALS_PER_AGENT 12
#define PAIRS 16
#define VIS_WRITES 300

/* The phase's cluster and the clock it runs on. */
struct phase {
    tidal_sim *sim; /* NULL under --real */
    tidal_region *r[REGIONS];
};

/* Nanoseconds on the phase's clock: simulated, or CLOCK_MONOTONIC under
 * --real.  For latencies only. */
static uint64_t
elapsed_ns(const struct phase *ph)
{
    if (ph->sim != NULL) {
        return tidal_sim_now_ns(ph->sim);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A write's stamp: the region's wall clock, the simulation's in one. */
static uint64_t
stamp_ns(tidal_region *r)
{
    return tidal_wall_ns(tidal_region_runtime(r));
}

/* Whether the run may go on: no error and no signal asking it to stop. */
static bool
go_on(int rv)
{
    return rv == 0 && tidal_demo_stop_signal() == 0;
}

struct waiter {
    bool (*done)(void *arg);
    void *arg;
};

/* A wait's end: its condition, or a signal asking the run to stop. */
static bool
waiter_done(void *arg)
{
    const struct waiter *w = arg;
    return tidal_demo_stop_signal() != 0 || w->done(w->arg);
}

/* Waits until done(arg) holds, at most ms on the phase's clock: runs the
 * simulation, or polls under --real.  Returns done(arg) at the end; a
 * signal ends the wait early.  Cannot fail otherwise. */
static bool
wait_until(const struct phase *ph, bool (*done)(void *arg), void *arg, uint64_t ms)
{
    struct waiter w = {done, arg};
    uint64_t end = elapsed_ns(ph) + ms * 1000000u;
    if (ph->sim != NULL) {
        /* TIDAL_ETIMEDOUT: the deadline came first, done() is false */
        int rv = tidal_sim_run_until(ph->sim, waiter_done, &w, end);
        return rv == 0 && done(arg); /* 0 may be the signal's */
    }
    while (!waiter_done(&w) && elapsed_ns(ph) < end) {
        usleep(500);
    }
    return done(arg);
}

static bool
all_digests_equal(void *arg)
{
    tidal_region **r = arg;
    uint64_t d = tidal_region_digest(r[0]);
    for (int i = 1; i < REGIONS; i++) {
        if (tidal_region_digest(r[i]) != d) {
            return false;
        }
    }
    return true;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The hide/unhide races: per pair, the expected visibility by LWW on
 * (wall, logical) with hide winning ties, computed here independently. */
struct race {
    tidal_hlc hide, unhide;
    bool has_hide, has_unhide;
};

static bool
expect_visible(const struct race *x)
{
    if (!x->has_hide) {
        return true;
    }
    if (!x->has_unhide) {
        return false;
    }
    return x->unhide.wall_ns > x->hide.wall_ns ||
           (x->unhide.wall_ns == x->hide.wall_ns && x->unhide.logical > x->hide.logical);
}

static int
run_races(tidal_region *const *r, struct race *races, uint64_t seed)
{
    uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (int round = 0; round < 4; round++) {
        for (int p = 0; p < PAIRS; p++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            int from = (int)((s >> 33) % REGIONS);
            bool hide = (s >> 20) & 1;
            tidal_hlc ts = {.wall_ns = 1000 + ((s >> 40) % 8), .logical = (uint32_t)((s >> 8) % 2),
                            .node_id = (uint16_t)from};
            int rv = hide ? tidal_hide_item_with_ts(r[from], 9000 + p, 500 + p, ts)
                          : tidal_unhide_item_with_ts(r[from], 9000 + p, 500 + p, ts);
            if (rv != 0) {
                return rv;
            }
            tidal_hlc *slot = hide ? &races[p].hide : &races[p].unhide;
            bool *has = hide ? &races[p].has_hide : &races[p].has_unhide;
            if (!*has || ts.wall_ns > slot->wall_ns ||
                (ts.wall_ns == slot->wall_ns && ts.logical > slot->logical) ||
                (ts.wall_ns == slot->wall_ns && ts.logical == slot->logical &&
                 ts.node_id > slot->node_id)) {
                *slot = ts;
            }
            *has = true;
        }
    }
    return 0;
}

struct tally {
    int64_t view[40], like[40];
};

/* Agents: sessions at their home, signals at home then (agents homed in 0 or
 * 1, every other one) in the other of 0 and 1 - roaming - while region 2 may
 * be cut off. */
struct known {
    tidal_region *r;
    tidal_session_id sid;
};

static bool
session_known(void *arg)
{
    struct known *k = arg;
    tidal_session_view v;
    return tidal_get_session(k->r, k->sid, &v) == 0;
}

static int
run_agents(const struct phase *ph, int first, int last, struct tally *t, tidal_session_id *sids)
{
    tidal_region *const *r = ph->r;
    for (int i = first; i < last; i++) {
        int home = i % REGIONS;
        int rv = tidal_start_session(r[home], 1000 + (uint64_t)i, NULL, &sids[i]);
        if (rv != 0) {
            return rv;
        }
        bool roams = home != 2 && i % 2 == 1;
        int away = home == 0 ? 1 : 0;
        if (roams) { /* the start must reach the region the agent roams to */
            struct known k = {r[away], sids[i]};
            (void)wait_until(ph, session_known, &k, 5000); /* else the count check fails */
        }
        for (int j = 0; j < SIGNALS_PER_AGENT; j++) {
            int at = roams && j >= SIGNALS_PER_AGENT / 2 ? away : home;
            int item = (i * 7 + j) % 40;
            const char *type = j % 3 == 0 ? "like" : "view";
            rv = tidal_signal_in_session(r[at], sids[i], type, 100 + (uint64_t)item, 1.0,
                                         stamp_ns(r[at]));
            if (rv != 0) {
                return rv;
            }
            (j % 3 == 0 ? t->like : t->view)[item]++;
        }
    }
    return 0;
}

static bool
counts_exact(tidal_region *const *r, const struct tally *t, const tidal_session_id *sids)
{
    for (int k = 0; k < REGIONS; k++) {
        for (int item = 0; item < 40; item++) {
            int64_t v = -1, l = -1;
            if (tidal_read_windowed_count(r[k], 100 + (uint64_t)item, "view", TIDAL_WINDOW_1H,
                                          &v) != 0 ||
                tidal_read_windowed_count(r[k], 100 + (uint64_t)item, "like", TIDAL_WINDOW_1H,
                                          &l) != 0 ||
                v != t->view[item] || l != t->like[item]) {
                return false;
            }
        }
        for (int i = 0; i < AGENTS; i++) {
            size_t n = 0;
            if (tidal_session_signals(r[k], sids[i], NULL, 0, &n) != 0 || n != SIGNALS_PER_AGENT) {
                return false;
            }
        }
    }
    return true;
}

static bool
hardnegs_exact(tidal_region *const *r, const struct race *races)
{
    for (int k = 0; k < REGIONS; k++) {
        for (int p = 0; p < PAIRS; p++) {
            tidal_entity_id item = 500 + (uint64_t)p;
            tidal_scored_item out[1];
            size_t n = 0;
            tidal_retrieve q = {.user = 9000 + (uint64_t)p, .candidates = &item, .ncandidates = 1};
            if (tidal_retrieve_items(r[k], &q, out, &n) != 0 ||
                (n == 1) != expect_visible(&races[p])) {
                return false;
            }
        }
    }
    return true;
}

/* Visibility: a write in region 0, then region 1 blocks until it has
 * applied the write's LSN and reads it (tidal_region_wait_applied: no
 * polling).  A read that misses the write fails the check. */
static int
measure_visibility(const struct phase *ph, uint64_t *p50, uint64_t *p99)
{
    tidal_region *const *r = ph->r;
    tidal_session_id s;
    uint64_t lat[VIS_WRITES];
    int rv = tidal_start_session(r[0], 77, NULL, &s);
    for (int i = 0; go_on(rv) && i < VIS_WRITES; i++) {
        uint64_t t0 = elapsed_ns(ph);
        rv = tidal_signal_in_session(r[0], s, "view", 7, 1.0, stamp_ns(r[0]));
        tidal_region_stats st;
        tidal_region_stats_get(r[0], &st);
        size_t n = 0;
        rv = rv != 0 ? rv : tidal_region_wait_applied(r[1], 0, st.last_lsn, 5000);
        rv = rv != 0 ? rv : tidal_session_signals(r[1], s, NULL, 0, &n);
        if (rv == 0 && n != (size_t)i + 1) {
            rv = TIDAL_ESTATE; /* applied but not readable: the watermark lied */
        }
        lat[i] = elapsed_ns(ph) - t0;
    }
    if (go_on(rv)) { /* a stopped run leaves lat partly unwritten */
        qsort(lat, VIS_WRITES, sizeof(lat[0]), cmp_u64);
        *p50 = lat[VIS_WRITES / 2];
        *p99 = lat[VIS_WRITES * 99 / 100];
    }
    return rv;
}

/* The operator log during the bad-input check (tidal/log.h): the rejection
 * is reported there, not on stderr, and the report names its reason. */
struct bad_input_log {
    uint64_t rejected; /* TIDAL_EVENT_INPUT_REJECTED lines */
    uint64_t other;    /* any other event */
    char reason[48];
};

static void
bad_input_line(void *arg, int event, uint64_t count, const char *line)
{
    struct bad_input_log *l = arg;
    (void)count;
    if (event != TIDAL_EVENT_INPUT_REJECTED) {
        l->other++;
        fprintf(stderr, "%s\n", line); /* not the check's: still shown */
        return;
    }
    l->rejected++;
    /* "tidal: TIDAL-INPUT-REJECTED: <reason id>: rejected input on ..." */
    const char *id = strstr(line, "REJECTED: ");
    if (id != NULL) {
        id += strlen("REJECTED: ");
        size_t n = strcspn(id, ":");
        snprintf(l->reason, sizeof(l->reason), "%.*s", (int)n, id);
    }
}

struct rejections {
    tidal_runtime *rt;
    tidal_stats before;
};

static uint64_t
rejected_since(const struct rejections *x)
{
    tidal_stats now;
    tidal_runtime_stats(x->rt, &now);
    uint64_t n = 0;
    for (int k = 0; k < TIDAL_REJECT_COUNT; k++) {
        n += now.rejected[k] - x->before.rejected[k];
    }
    return n;
}

static bool
any_rejected(void *arg)
{
    return rejected_since(arg) > 0;
}

/* Bad input: garbage sent to region 1's public listener as a foreign peer
 * would - pushed over an nng socket under --real, injected into the
 * simulation otherwise (tidal_sim_inject: no socket there, the same frame
 * checks) - is rejected, counted and logged once, and the state does not
 * change. */
static bool
bad_input(const struct phase *ph, char reason[48])
{
    static const char junk[] = "TDLF\x01\x00\x00\x00garbage that is not an envelope";
    tidal_runtime *rt = tidal_region_runtime(ph->r[1]);
    tidal_actor a;
    tidal_addr to;
    if (tidal_lookup(rt, "region-1", &a) != 0 || tidal_actor_addr(rt, a, &to) != 0) {
        return false;
    }
    struct bad_input_log log = {0};
    tidal_log_set(bad_input_line, &log);
    struct rejections x = {.rt = rt};
    tidal_runtime_stats(rt, &x.before);
    uint64_t d = tidal_region_digest(ph->r[1]);
    nng_socket s = NNG_SOCKET_INITIALIZER;
    bool ok;
    if (ph->sim != NULL) {
        ok = tidal_sim_inject(ph->sim, to.url, junk, sizeof(junk)) == 0;
    } else {
        ok = nng_push0_open(&s) == 0 && nng_dial(s, to.url, NULL, 0) == 0 &&
             nng_send(s, (void *)junk, sizeof(junk), 0) == 0;
    }
    ok = ok && wait_until(ph, any_rejected, &x, 5000);
    if (ph->sim == NULL) {
        (void)nng_close(s); /* after the rejection: a close may drop what it queued */
    }
    tidal_log_set(NULL, NULL);
    snprintf(reason, 48, "%s", log.reason);
    return ok && rejected_since(&x) == 1 && log.rejected == 1 && log.reason[0] != '\0' &&
           tidal_region_digest(ph->r[1]) == d;
}

/* Opens the phase's cluster: in a simulation seeded from seed (its own
 * sim:// URLs), or under --real on transport.  On error what was opened
 * stays in *ph and *c for the caller to close. */
static int
open_cluster(struct phase *ph, const char *transport, const char *dir, uint64_t seed, bool real,
             tidal_cluster **c, struct tidal_demo_cluster_report *rep)
{
    char url[128];
    if (!real) {
        snprintf(url, sizeof(url), "sim://demo-cluster");
    } else if (transport == NULL || strcmp(transport, "inproc") == 0) {
        snprintf(url, sizeof(url), "inproc://demo-cluster-%d", (int)getpid());
    } else if (strcmp(transport, "ipc") == 0) {
        snprintf(url, sizeof(url), "ipc://%s", dir);
    } else {
        snprintf(url, sizeof(url), "tcp://127.0.0.1");
    }
    snprintf(rep->url, sizeof(rep->url), "%s", url);
    rep->simulated = !real;
    int rv = 0;
    if (!real) {
        tidal_sim_opts so = {.seed = seed};
        rv = tidal_sim_open(&so, &ph->sim);
    }
    /* tcp: on loopback, the trusted network plaintext needs */
    tidal_cluster_opts co = {
        .url = url, .seed = seed, .plaintext = strncmp(url, "tcp", 3) == 0, .sim = ph->sim};
    rv = rv != 0 ? rv : tidal_cluster_open(&co, c);
    for (int i = 0; rv == 0 && i < REGIONS; i++) {
        tidal_region_opts ro = {.region_id = (tidal_region_id)i};
        rv = tidal_region_open(*c, &ro, &ph->r[i]);
    }
    tidal_fault_rule noisy = {.duplicate = 0.10, .reorder_window = 4};
    for (int a = 0; rv == 0 && a < REGIONS; a++) {
        for (int b = a + 1; rv == 0 && b < REGIONS; b++) {
            rv = tidal_cluster_fault_set(*c, (tidal_region_id)a, (tidal_region_id)b, &noisy, 1);
        }
    }
    return rv;
}

/* The writes: agents, a partition of region 2, more agents, the races. */
static int
write_all(const struct phase *ph, tidal_cluster *c, uint64_t seed, struct tally *t,
          struct race *races, tidal_session_id *sids)
{
    int rv = run_agents(ph, 0, AGENTS / 2, t, sids);
    rv = go_on(rv) ? tidal_cluster_partition(c, 2, 0) : rv;
    rv = go_on(rv) ? tidal_cluster_partition(c, 2, 1) : rv;
    rv = go_on(rv) ? run_agents(ph, AGENTS / 2, AGENTS, t, sids) : rv;
    return go_on(rv) ? run_races(ph->r, races, seed) : rv;
}

int
tidal_tool_demo_cluster(const char *transport, const char *dir, uint64_t seed, bool real,
                        struct tidal_demo_cluster_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    struct phase ph = {0};
    tidal_cluster *c = NULL;
    static struct tally t;
    static struct race races[PAIRS];
    static tidal_session_id sids[AGENTS];
    memset(&t, 0, sizeof(t));
    memset(races, 0, sizeof(races));
    int rv = open_cluster(&ph, transport, dir, seed, real, &c, rep);
    rv = go_on(rv) ? write_all(&ph, c, seed, &t, races, sids) : rv;
    for (int i = 0; rv == 0 && i < REGIONS; i++) {
        tidal_stats st;
        tidal_runtime_stats(tidal_region_runtime(ph.r[i]), &st);
        for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
            rep->faults[k] += st.faults[k];
        }
    }
    uint64_t t0 = elapsed_ns(&ph);
    rv = go_on(rv) ? tidal_cluster_heal(c) : rv;
    if (go_on(rv)) {
        rep->converged = wait_until(&ph, all_digests_equal, ph.r, 10000);
        rep->converge_ns = elapsed_ns(&ph) - t0;
        rep->exact = counts_exact(ph.r, &t, sids);
        rep->hardneg = hardnegs_exact(ph.r, races);
        rv = measure_visibility(&ph, &rep->vis_p50_ns, &rep->vis_p99_ns);
        rep->visibility = rv == 0 && rep->vis_p99_ns < 200000000u;
        rep->bad_input = go_on(rv) && bad_input(&ph, rep->bad_input_reason);
        rep->writes = AGENTS * (SIGNALS_PER_AGENT + 1) + 4 * PAIRS;
    }
    for (int i = 0; i < REGIONS; i++) {
        tidal_region_stats rs;
        if (ph.r[i] != NULL) {
            tidal_region_stats_get(ph.r[i], &rs);
            rep->dup_batches += rs.batches_duplicate;
            rep->reconcile_entries += rs.reconcile_entries;
        }
    }
    int crv = tidal_cluster_close(c);
    int srv = tidal_sim_close(ph.sim); /* after its runtimes, which the cluster closed */
    return rv != 0 ? rv : crv != 0 ? crv : srv;
}
