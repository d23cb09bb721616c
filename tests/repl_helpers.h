/*
 * Helpers shared by the replication suites (test_repl_ship.c,
 * test_repl_crash.c, test_scenarios.c, test_roaming.c, test_retrieve.c):
 * a cluster of regions on one transport, convergence waits, fault-trace
 * counts and signal bookkeeping.  Everything is static: each suite is one
 * binary.
 *
 * Every wait polls with a deadline (REPL_DEADLINE_MS, generous because
 * sanitizer builds are slow) and never sleeps a fixed time.
 */
#ifndef TIDAL_TESTS_REPL_HELPERS_H
#define TIDAL_TESTS_REPL_HELPERS_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/hlc.h"
#include "tidal/region.h"
#include "tidal_test.h"

/* Not every suite uses every helper. */
#define REPL_HELPER static __attribute__((unused))

#define REPL_DEADLINE_MS 5000u
#define REPL_REGIONS_MAX 4

typedef struct repl_env {
    tidal_cluster *c;
    tidal_region *r[REPL_REGIONS_MAX];
    int n;         /* regions opened (ids 0 .. n-1) */
    char sock[64]; /* ipc socket directory, "" if none */
    char dir[64];  /* parent of the regions' data directories, "" if none */
} repl_env;

/* Opens an empty cluster on scheme "inproc", "ipc" or "tcp" with a fixed
 * fault seed and two workers per region. */
REPL_HELPER void
repl_cluster(repl_env *e, const char *scheme, uint64_t seed)
{
    static unsigned serial;
    char url[128];
    memset(e, 0, sizeof(*e));
    if (strcmp(scheme, "ipc") == 0) {
        snprintf(e->sock, sizeof(e->sock), "%s", tidal_test_tmpdir());
        snprintf(url, sizeof(url), "ipc://%s", e->sock);
    } else if (strcmp(scheme, "tcp") == 0) {
        snprintf(url, sizeof(url), "tcp://127.0.0.1");
    } else {
        snprintf(url, sizeof(url), "inproc://repl-%d-%u", (int)getpid(), serial++);
    }
    /* tcp: the tests' loopback is the trusted network plaintext needs */
    tidal_cluster_opts co = {
        .url = url, .seed = seed, .workers = 2, .plaintext = strcmp(scheme, "tcp") == 0};
    TIDAL_PASS(tidal_cluster_open(&co, &e->c));
}

/* The data directory of region id (made on first use). */
REPL_HELPER const char *
repl_dir_of(repl_env *e, int id)
{
    static char path[REPL_REGIONS_MAX][96];
    if (e->dir[0] == '\0') {
        snprintf(e->dir, sizeof(e->dir), "%s", tidal_test_tmpdir());
    }
    snprintf(path[id], sizeof(path[id]), "%s/r%d", e->dir, id);
    return path[id];
}

/* Opens region o->region_id with the options o.  Reconciliation only on
 * demand (o->reconcile_ms 0 becomes UINT32_MAX), so that every convergence
 * a test sees comes from what it is testing. */
REPL_HELPER tidal_region *
repl_open_opts(repl_env *e, const tidal_region_opts *o)
{
    tidal_region_opts oo = *o;
    int id = oo.region_id;
    oo.role = id ? TIDAL_ROLE_FOLLOWER : 0;
    oo.reconcile_ms = oo.reconcile_ms != 0 ? oo.reconcile_ms : UINT32_MAX;
    TIDAL_PASS(tidal_region_open(e->c, &oo, &e->r[id]));
    if (id >= e->n) {
        e->n = id + 1;
    }
    return e->r[id];
}

/* Opens region id: ephemeral when durable is false, else in its directory
 * with the given policy. */
REPL_HELPER tidal_region *
repl_open_region(repl_env *e, int id, bool durable, tidal_durability_policy pol)
{
    tidal_region_opts o = {.region_id = (tidal_region_id)id};
    if (durable) {
        o.dir = repl_dir_of(e, id);
        o.durability = pol;
    }
    return repl_open_opts(e, &o);
}

/* n ephemeral regions 0 .. n-1. */
REPL_HELPER void
repl_open_ephemeral(repl_env *e, int n)
{
    for (int i = 0; i < n; i++) {
        repl_open_region(e, i, false, TIDAL_SYNC);
    }
}

/* Closes the cluster (asserting nothing was left open) and removes the
 * temporary directories. */
REPL_HELPER void
repl_close(repl_env *e)
{
    cr_assert_eq(tidal_cluster_close(e->c), 0, "tidal_cluster_close left work outstanding");
    e->c = NULL;
    if (e->sock[0]) {
        tidal_test_rmdir(e->sock);
    }
    if (e->dir[0]) {
        tidal_test_rmdir(e->dir);
    }
}

REPL_HELPER uint64_t
repl_now_ns(void)
{
    return tidal_hlc_wall_now(NULL);
}

/* Signals the session has in region r (0 if unknown there). */
REPL_HELPER size_t
repl_signals_len(tidal_region *r, tidal_session_id s)
{
    size_t n = 0;
    return tidal_session_signals(r, s, NULL, 0, &n) == 0 ? n : 0;
}

REPL_HELPER int64_t
repl_count(tidal_region *r, tidal_entity_id item, const char *type)
{
    int64_t n = -1;
    TIDAL_PASS(tidal_read_windowed_count(r, item, type, TIDAL_WINDOW_1H, &n));
    return n;
}

/* True when r hides item from user (retrieval leaves it out). */
REPL_HELPER bool
repl_hidden(tidal_region *r, tidal_entity_id user, tidal_entity_id item)
{
    tidal_scored_item out[1];
    size_t n = 0;
    tidal_retrieve q = {.user = user, .candidates = &item, .ncandidates = 1};
    TIDAL_PASS(tidal_retrieve_items(r, &q, out, &n));
    return n == 0;
}

/* Hides items first .. first + n - 1 for user in r, one write (batch) each. */
REPL_HELPER void
repl_hide_range(tidal_region *r, tidal_entity_id user, tidal_entity_id first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        TIDAL_PASS(tidal_hide_item(r, user, first + i));
    }
}

/* Asserts r hides (or, hidden false, shows) items first .. first + n - 1. */
REPL_HELPER void
repl_assert_hidden_range(tidal_region *r, tidal_entity_id user, tidal_entity_id first, uint32_t n,
                         bool hidden)
{
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(repl_hidden(r, user, first + i), hidden, "region %u: item %llu %s",
                     tidal_region_id_of(r), (unsigned long long)(first + i),
                     hidden ? "shown" : "hidden");
    }
}

REPL_HELPER tidal_region_stats
repl_stats(tidal_region *r)
{
    tidal_region_stats st;
    tidal_region_stats_get(r, &st);
    return st;
}

/* Injected faults of one kind recorded in rt's trace (link_id 0 = any link). */
REPL_HELPER size_t
repl_trace_count(tidal_runtime *rt, int kind, uint64_t link_id)
{
    tidal_trace_entry buf[256];
    size_t start = 0, n, count = 0;
    while ((n = tidal_trace_read(rt, start, buf, 256)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (buf[i].kind == kind && (link_id == 0 || buf[i].link_id == link_id)) {
                count++;
            }
        }
        start += n;
    }
    return count;
}

/* True when the digests of the regions in list (NULL entries skipped) are
 * all equal. */
REPL_HELPER bool
repl_digests_equal(tidal_region **list, int n)
{
    tidal_region *first = NULL;
    uint64_t d0 = 0;
    for (int i = 0; i < n; i++) {
        if (list[i] == NULL) {
            continue;
        }
        uint64_t d = tidal_region_digest(list[i]);
        if (first == NULL) {
            first = list[i];
            d0 = d;
        } else if (d != d0) {
            return false;
        }
    }
    return true;
}

/* True when every region of list applied lsn[o] of every origin o, and all
 * digests are equal (lsn[o] = how many records origin o wrote). */
REPL_HELPER bool
repl_caught_up(tidal_region **list, int n, const uint64_t *lsn)
{
    for (int i = 0; i < n; i++) {
        if (list[i] == NULL) {
            continue;
        }
        tidal_region_stats st = repl_stats(list[i]);
        for (int o = 0; o < n; o++) {
            if (o != i && list[o] != NULL && st.applied_lsn[o] != lsn[o]) {
                return false;
            }
        }
    }
    return repl_digests_equal(list, n);
}

/* One poll of repl_wait_converged. */
REPL_HELPER bool
repl_converged_now(repl_env *e)
{
    uint64_t lsn[REPL_REGIONS_MAX] = {0};
    for (int i = 0; i < e->n; i++) {
        lsn[i] = e->r[i] ? repl_stats(e->r[i]).writes : 0;
    }
    return repl_caught_up(e->r, e->n, lsn);
}

/* A tidal_sim_run_until condition (arg: a repl_env): every region applied
 * every other's last LSN - stats.last_lsn, which a reopened region keeps,
 * where stats.writes counts its writes since the reopen only - and the
 * digests agree. */
REPL_HELPER bool
repl_converged_lsn(void *arg)
{
    repl_env *e = arg;
    uint64_t lsn[REPL_REGIONS_MAX] = {0};
    for (int i = 0; i < e->n; i++) {
        lsn[i] = e->r[i] ? repl_stats(e->r[i]).last_lsn : 0;
    }
    return repl_caught_up(e->r, e->n, lsn);
}

REPL_HELPER void
repl_dump(repl_env *e)
{
    for (int i = 0; i < e->n; i++) {
        if (e->r[i] == NULL) {
            continue;
        }
        tidal_region_stats st = repl_stats(e->r[i]);
        fprintf(stderr, "region %d: writes %llu digest %016llx applied", i,
                (unsigned long long)st.writes, (unsigned long long)tidal_region_digest(e->r[i]));
        for (int o = 0; o < e->n; o++) {
            fprintf(stderr, " %llu", (unsigned long long)st.applied_lsn[o]);
        }
        fprintf(stderr, " held %llu dup %llu seqdup %llu\n", (unsigned long long)st.batches_held,
                (unsigned long long)st.batches_duplicate, (unsigned long long)st.seqno_duplicates);
    }
}

/* Waits until every region of e applied every other region's writes (as
 * counted by their stats) and all digests are equal; asserts it happened. */
REPL_HELPER void
repl_wait_converged(repl_env *e)
{
    bool ok = TIDAL_WAIT_UNTIL(repl_converged_now(e), REPL_DEADLINE_MS);
    if (!ok) {
        repl_dump(e);
    }
    cr_assert(ok, "regions did not converge within %u ms", REPL_DEADLINE_MS);
}

/* Asserts the session's signals in r are exactly seqnos 1..n, in order,
 * each once, with the items written (items[i] for seqno i + 1, if given). */
REPL_HELPER void
repl_assert_signals(tidal_region *r, tidal_session_id s, size_t n, const tidal_entity_id *items)
{
    tidal_signal_view v[512];
    size_t got = 0;
    cr_assert(n <= 512);
    TIDAL_PASS(tidal_session_signals(r, s, v, 512, &got));
    cr_assert_eq(got, n, "region %u has %zu signals, expected %zu", tidal_region_id_of(r), got, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(v[i].seqno, i + 1, "region %u: signal %zu has seqno %llu",
                     tidal_region_id_of(r), i, (unsigned long long)v[i].seqno);
        if (items != NULL) {
            cr_assert_eq(v[i].item, items[i], "region %u: seqno %zu has item %llu, wrote %llu",
                         tidal_region_id_of(r), i + 1, (unsigned long long)v[i].item,
                         (unsigned long long)items[i]);
        }
    }
    tidal_session_view sv;
    TIDAL_PASS(tidal_get_session(r, s, &sv));
    cr_assert_eq(sv.last_seqno, n);
    cr_assert_eq(sv.signals, n);
}

/* ---- a workload of sessions and signals, and its expected state ---- */

#define WL_SESSIONS_MAX 8
#define WL_SIGNALS_MAX 256
#define WL_ITEMS 7

typedef struct repl_workload {
    int nsessions;
    tidal_entity_id item_base; /* items item_base .. item_base + WL_ITEMS - 1 */
    tidal_session_id sid[WL_SESSIONS_MAX];
    size_t nsig[WL_SESSIONS_MAX];
    tidal_entity_id items[WL_SESSIONS_MAX][WL_SIGNALS_MAX];
    int64_t view[WL_ITEMS], like[WL_ITEMS]; /* expected windowed counts */
    uint64_t k;                             /* signals written so far */
} repl_workload;

/* Starts n sessions in r (users item_base + i). */
REPL_HELPER void
repl_wl_start(tidal_region *r, repl_workload *w, int n, tidal_entity_id item_base)
{
    memset(w, 0, sizeof(*w));
    cr_assert(n <= WL_SESSIONS_MAX);
    w->nsessions = n;
    w->item_base = item_base;
    for (int i = 0; i < n; i++) {
        TIDAL_PASS(tidal_start_session(r, item_base + (tidal_entity_id)i, NULL, &w->sid[i]));
    }
}

/* Writes one signal to session i in r ("like" every third, else "view"). */
REPL_HELPER void
repl_wl_signal(tidal_region *r, repl_workload *w, int i)
{
    uint64_t k = w->k++;
    int slot = (int)(k % WL_ITEMS);
    tidal_entity_id item = w->item_base + (tidal_entity_id)slot;
    bool like = k % 3 == 0;
    cr_assert(w->nsig[i] < WL_SIGNALS_MAX);
    TIDAL_PASS(
        tidal_signal_in_session(r, w->sid[i], like ? "like" : "view", item, 1.0, repl_now_ns()));
    w->items[i][w->nsig[i]++] = item;
    if (like) {
        w->like[slot]++;
    } else {
        w->view[slot]++;
    }
}

/* Writes per_session signals to every session, round robin. */
REPL_HELPER void
repl_wl_signals(tidal_region *r, repl_workload *w, int per_session)
{
    for (int j = 0; j < per_session; j++) {
        for (int i = 0; i < w->nsessions; i++) {
            repl_wl_signal(r, w, i);
        }
    }
}

/* Asserts r holds exactly the workload: every session with its signals
 * 1..n in write order, each once, and the windowed counts. */
REPL_HELPER void
repl_wl_check(tidal_region *r, const repl_workload *w)
{
    for (int i = 0; i < w->nsessions; i++) {
        repl_assert_signals(r, w->sid[i], w->nsig[i], w->items[i]);
    }
    for (int s = 0; s < WL_ITEMS; s++) {
        tidal_entity_id item = w->item_base + (tidal_entity_id)s;
        cr_assert_eq(repl_count(r, item, "view"), w->view[s],
                     "region %u item %llu view %lld != %lld", tidal_region_id_of(r),
                     (unsigned long long)item, (long long)repl_count(r, item, "view"),
                     (long long)w->view[s]);
        cr_assert_eq(repl_count(r, item, "like"), w->like[s],
                     "region %u item %llu like %lld != %lld", tidal_region_id_of(r),
                     (unsigned long long)item, (long long)repl_count(r, item, "like"),
                     (long long)w->like[s]);
    }
}

#endif /* TIDAL_TESTS_REPL_HELPERS_H */
