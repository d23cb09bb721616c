/*
 * `tidal demo`, replication phase: three regions in one cluster on the chosen
 * transport.  Agents start sessions and write signals, some roam to another
 * region mid-session; users hide and unhide items from different regions with
 * racing stamps; every link duplicates and reorders envelopes, and region 2 is
 * partitioned from the others for part of the run, then healed.  Then the
 * invariants of docs/design.md are checked, each PASS or FAIL:
 *   convergence          every region's state digest is equal
 *   no double counting   every count and every session list is exact
 *   hard negatives       visibility is LWW by (wall, logical), hide wins ties
 *   visibility           a write in region 0 is readable in region 1 (p50/p99)
 *   bad input            garbage on a region's socket is counted, state unchanged
 * A signal (demo_stop.c) ends every wait early and skips the steps left; the
 * cluster is closed all the same.
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
#include "tools/demo.h"

#define REGIONS 3
#define AGENTS 24
#define SIGNALS_PER_AGENT 12
#define PAIRS 16
#define VIS_WRITES 300

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether the run may go on: no error and no signal asking it to stop. */
static bool
go_on(int rv)
{
    return rv == 0 && tidal_demo_stop_signal() == 0;
}

static bool
all_digests_equal(tidal_region **r)
{
    uint64_t d = tidal_region_digest(r[0]);
    for (int i = 1; i < REGIONS; i++) {
        if (tidal_region_digest(r[i]) != d) {
            return false;
        }
    }
    return true;
}

static bool
wait_converged(tidal_region **r, uint64_t ms)
{
    uint64_t end = now_ns() + ms * 1000000u;
    while (!all_digests_equal(r) && now_ns() < end && go_on(0)) {
        usleep(2000);
    }
    return all_digests_equal(r);
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
run_races(tidal_region **r, struct race *races, uint64_t seed)
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
static int
run_agents(tidal_region **r, int first, int last, struct tally *t, tidal_session_id *sids)
{
    for (int i = first; i < last; i++) {
        int home = i % REGIONS;
        int rv = tidal_start_session(r[home], 1000 + (uint64_t)i, NULL, &sids[i]);
        if (rv != 0) {
            return rv;
        }
        bool roams = home != 2 && i % 2 == 1;
        int away = home == 0 ? 1 : 0;
        if (roams) { /* the start must reach the region the agent roams to */
            tidal_session_view v;
            uint64_t end = now_ns() + 5000000000ull;
            while (tidal_get_session(r[away], sids[i], &v) != 0 && now_ns() < end && go_on(0)) {
                usleep(500);
            }
        }
        for (int j = 0; j < SIGNALS_PER_AGENT; j++) {
            int at = roams && j >= SIGNALS_PER_AGENT / 2 ? away : home;
            int item = (i * 7 + j) % 40;
            const char *type = j % 3 == 0 ? "like" : "view";
            rv = tidal_signal_in_session(r[at], sids[i], type, 100 + (uint64_t)item, 1.0, now_ns());
            if (rv != 0) {
                return rv;
            }
            (j % 3 == 0 ? t->like : t->view)[item]++;
        }
    }
    return 0;
}

static bool
counts_exact(tidal_region **r, const struct tally *t, const tidal_session_id *sids)
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
hardnegs_exact(tidal_region **r, const struct race *races)
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
measure_visibility(tidal_region **r, uint64_t *p50, uint64_t *p99)
{
    tidal_session_id s;
    uint64_t lat[VIS_WRITES];
    int rv = tidal_start_session(r[0], 77, NULL, &s);
    for (int i = 0; go_on(rv) && i < VIS_WRITES; i++) {
        uint64_t t0 = now_ns();
        rv = tidal_signal_in_session(r[0], s, "view", 7, 1.0, t0);
        tidal_region_stats st;
        tidal_region_stats_get(r[0], &st);
        size_t n = 0;
        rv = rv != 0 ? rv : tidal_region_wait_applied(r[1], 0, st.last_lsn, 5000);
        rv = rv != 0 ? rv : tidal_session_signals(r[1], s, NULL, 0, &n);
        if (rv == 0 && n != (size_t)i + 1) {
            rv = TIDAL_ESTATE; /* applied but not readable: the watermark lied */
        }
        lat[i] = now_ns() - t0;
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

/* Bad input: garbage pushed at region 1's socket is rejected, counted and
 * logged once, and the state does not change. */
static bool
bad_input(tidal_region **r, char reason[48])
{
    struct bad_input_log log = {0};
    tidal_log_set(bad_input_line, &log);
    tidal_stats before, after;
    tidal_runtime *rt = tidal_region_runtime(r[1]);
    tidal_actor a;
    tidal_addr to;
    nng_socket s;
    uint64_t d = tidal_region_digest(r[1]);
    if (tidal_lookup(rt, "region-1", &a) != 0 || tidal_actor_addr(rt, a, &to) != 0 ||
        nng_push0_open(&s) != 0) {
        return false;
    }
    tidal_runtime_stats(rt, &before);
    static const char junk[] = "TDLF\x01\x00\x00\x00garbage that is not an envelope";
    bool ok = nng_dial(s, to.url, NULL, 0) == 0 && nng_send(s, (void *)junk, sizeof(junk), 0) == 0;
    uint64_t end = now_ns() + 5000000000ull;
    uint64_t rejected = 0;
    while (ok && now_ns() < end && go_on(0)) {
        tidal_runtime_stats(rt, &after);
        rejected = 0;
        for (int k = 0; k < TIDAL_REJECT_COUNT; k++) {
            rejected += after.rejected[k] - before.rejected[k];
        }
        if (rejected > 0) {
            break;
        }
        usleep(500);
    }
    nng_close(s);
    tidal_log_set(NULL, NULL);
    snprintf(reason, 48, "%s", log.reason);
    return ok && rejected == 1 && log.rejected == 1 && log.reason[0] != '\0' &&
           tidal_region_digest(r[1]) == d;
}

int
tidal_tool_demo_cluster(const char *transport, const char *dir, uint64_t seed,
                        struct tidal_demo_cluster_report *rep)
{
    char url[128];
    if (transport == NULL || strcmp(transport, "inproc") == 0) {
        snprintf(url, sizeof(url), "inproc://demo-cluster-%d", (int)getpid());
    } else if (strcmp(transport, "ipc") == 0) {
        snprintf(url, sizeof(url), "ipc://%s", dir);
    } else {
        snprintf(url, sizeof(url), "tcp://127.0.0.1");
    }
    memset(rep, 0, sizeof(*rep));
    snprintf(rep->url, sizeof(rep->url), "%s", url);
    /* tcp: on loopback, the trusted network plaintext needs */
    tidal_cluster_opts co = {.url = url, .seed = seed, .plaintext = strncmp(url, "tcp", 3) == 0};
    tidal_cluster *c = NULL;
    tidal_region *r[REGIONS] = {0};
    static struct tally t;
    static struct race races[PAIRS];
    static tidal_session_id sids[AGENTS];
    memset(&t, 0, sizeof(t));
    memset(races, 0, sizeof(races));
    int rv = tidal_cluster_open(&co, &c);
    for (int i = 0; rv == 0 && i < REGIONS; i++) {
        tidal_region_opts ro = {.region_id = (tidal_region_id)i};
        rv = tidal_region_open(c, &ro, &r[i]);
    }
    tidal_fault_rule noisy = {.duplicate = 0.10, .reorder_window = 4};
    for (int a = 0; rv == 0 && a < REGIONS; a++) {
        for (int b = a + 1; rv == 0 && b < REGIONS; b++) {
            rv = tidal_cluster_fault_set(c, (tidal_region_id)a, (tidal_region_id)b, &noisy, 1);
        }
    }
    rv = go_on(rv) ? run_agents(r, 0, AGENTS / 2, &t, sids) : rv;
    rv = go_on(rv) ? tidal_cluster_partition(c, 2, 0) : rv;
    rv = go_on(rv) ? tidal_cluster_partition(c, 2, 1) : rv;
    rv = go_on(rv) ? run_agents(r, AGENTS / 2, AGENTS, &t, sids) : rv;
    rv = go_on(rv) ? run_races(r, races, seed) : rv;
    for (int i = 0; rv == 0 && i < REGIONS; i++) {
        tidal_stats st;
        tidal_runtime_stats(tidal_region_runtime(r[i]), &st);
        for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
            rep->faults[k] += st.faults[k];
        }
    }
    uint64_t t0 = now_ns();
    rv = go_on(rv) ? tidal_cluster_heal(c) : rv;
    if (go_on(rv)) {
        rep->converged = wait_converged(r, 10000);
        rep->converge_ms = (now_ns() - t0) / 1000000u;
        rep->exact = counts_exact(r, &t, sids);
        rep->hardneg = hardnegs_exact(r, races);
        rv = measure_visibility(r, &rep->vis_p50_ns, &rep->vis_p99_ns);
        rep->visibility = rv == 0 && rep->vis_p99_ns < 200000000u;
        rep->bad_input = rv == 0 && bad_input(r, rep->bad_input_reason);
        rep->writes = AGENTS * (SIGNALS_PER_AGENT + 1) + 4 * PAIRS;
    }
    for (int i = 0; i < REGIONS; i++) {
        tidal_region_stats rs;
        if (r[i] != NULL) {
            tidal_region_stats_get(r[i], &rs);
            rep->dup_batches += rs.batches_duplicate;
            rep->reconcile_entries += rs.reconcile_entries;
        }
    }
    int crv = tidal_cluster_close(c);
    return rv != 0 ? rv : crv;
}
