/*
 * The checkers.  Each computes what must hold from the writers' models
 * (what the scenario asked for and what the calls answered), and compares
 * it with what a region returns through the public read API.  None uses the
 * store's merge code, its digest or its window arithmetic to decide what is
 * right: the expected windowed counts, the last writer of every hard
 * negative and the set of signals are recomputed here from first
 * principles (docs/design.md), so a bug in the engine cannot make its own
 * check agree with it.
 *
 * The rule for writes whose outcome is unknown (an error was returned) is
 * Maelstrom's: every acknowledged write must be there, and any subset of
 * the unknown ones may be.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenarios/harness.h"

/* ---- convergence ---------------------------------------------------------- */

static bool
converged_now(sc_run *run)
{
    uint64_t last[SC_REGIONS_MAX] = {0};
    for (int o = 0; o < run->n; o++) {
        if (run->r[o] != NULL) {
            tidal_region_stats st;
            tidal_region_stats_get(run->r[o], &st);
            last[o] = st.last_lsn;
        }
    }
    uint64_t d0 = 0;
    bool first = true;
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] == NULL) {
            continue;
        }
        tidal_region_stats st;
        tidal_region_stats_get(run->r[i], &st);
        for (int o = 0; o < run->n; o++) {
            if (o != i && run->r[o] != NULL && st.applied_lsn[o] < last[o]) {
                return false;
            }
        }
        uint64_t d = tidal_region_digest(run->r[i]);
        if (!first && d != d0) {
            return false;
        }
        d0 = d;
        first = false;
    }
    return true;
}

static bool
converged_cond(void *arg)
{
    return converged_now(arg);
}

bool
sc_check_converged(sc_run *run)
{
    uint64_t t0 = sc__now_ns(run);
    bool ok = sc__wait(run, converged_cond, run, SC_DEADLINE_MS);
    if (ok) {
        sc_verdict(run, "converged", true, "equal digests after %llu ms%s",
                   (unsigned long long)((sc__now_ns(run) - t0) / 1000000u),
                   run->sim != NULL ? " (simulated)" : "");
        return true;
    }
    char why[SC_REASON_BYTES] = "", *p = why;
    for (int i = 0; i < run->n && p < why + sizeof(why) - 48; i++) {
        if (run->r[i] != NULL) {
            tidal_region_stats st;
            tidal_region_stats_get(run->r[i], &st);
            p += snprintf(p, (size_t)(why + sizeof(why) - p), " r%d:%016llx/lsn%llu", i,
                          (unsigned long long)tidal_region_digest(run->r[i]),
                          (unsigned long long)st.last_lsn);
        }
    }
    sc_verdict(run, "converged", false, "no convergence within %u ms%s:%s", SC_DEADLINE_MS,
               run->sim != NULL ? " (simulated)" : "", why);
    return false;
}

/* ---- signals -------------------------------------------------------------- */

struct idx {
    uint64_t ts;
    size_t at;
};

static int
idx_cmp(const void *a, const void *b)
{
    const struct idx *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The region's signals of s; *n gets how many; NULL with *n = SIZE_MAX if it
 * does not know the session, NULL with a count if out of memory. */
static tidal_signal_view *
region_signals(tidal_region *r, tidal_session_id s, size_t *n)
{
    for (;;) {
        size_t want = 0;
        if (tidal_session_signals(r, s, NULL, 0, &want) != 0) {
            *n = SIZE_MAX;
            return NULL;
        }
        tidal_signal_view *v = malloc((want + 1) * sizeof(*v));
        if (v == NULL) {
            *n = want;
            return NULL;
        }
        if (tidal_session_signals(r, s, v, want + 1, n) == 0 && *n <= want + 1) {
            return v;
        }
        free(v); /* it grew meanwhile: again */
    }
}

static bool
session_holds(tidal_region *r, const sc_session *s, char *reason, size_t len)
{
    size_t n;
    tidal_signal_view *v = region_signals(r, s->sid, &n);
    if (v == NULL) {
        snprintf(reason, len, "region %u %s session %016llx", tidal_region_id_of(r),
                 n == SIZE_MAX ? "does not know" : "out of memory for", (unsigned long long)s->sid.lo);
        return false;
    }
    struct idx *ix = malloc((s->n + 1) * sizeof(*ix));
    uint32_t *seen = calloc(s->n + 1, sizeof(*seen));
    bool ok = ix != NULL && seen != NULL;
    if (!ok) {
        snprintf(reason, len, "out of memory");
    }
    for (size_t i = 0; ok && i < s->n; i++) {
        ix[i] = (struct idx){s->sig[i].ts_ns, i};
    }
    if (ok) {
        qsort(ix, s->n, sizeof(*ix), idx_cmp);
    }
    for (size_t k = 0; ok && k < n; k++) {
        struct idx key = {v[k].ts_ns, 0};
        struct idx *hit = bsearch(&key, ix, s->n, sizeof(*ix), idx_cmp);
        const sc_signal *want = hit ? &s->sig[hit->at] : NULL;
        if (v[k].seqno != k + 1) {
            snprintf(reason, len, "region %u session %016llx: seqno %llu at position %zu (lost or twice)",
                     tidal_region_id_of(r), (unsigned long long)s->sid.lo,
                     (unsigned long long)v[k].seqno, k + 1);
            ok = false;
        } else if (want == NULL || want->item != v[k].item ||
                   strcmp(v[k].type, want->type ? "like" : "view") != 0) {
            snprintf(reason, len, "region %u session %016llx: seqno %llu (ts %llu) was never written",
                     tidal_region_id_of(r), (unsigned long long)s->sid.lo,
                     (unsigned long long)v[k].seqno, (unsigned long long)v[k].ts_ns);
            ok = false;
        } else if (++seen[hit->at] > 1) {
            snprintf(reason, len, "region %u session %016llx: signal ts %llu is there twice",
                     tidal_region_id_of(r), (unsigned long long)s->sid.lo,
                     (unsigned long long)v[k].ts_ns);
            ok = false;
        }
    }
    for (size_t i = 0; ok && i < s->n; i++) {
        if (s->sig[i].outcome == SC_ACKED && seen[i] == 0) {
            snprintf(reason, len, "region %u session %016llx: acknowledged signal #%zu (ts %llu) is missing",
                     tidal_region_id_of(r), (unsigned long long)s->sid.lo, i + 1,
                     (unsigned long long)s->sig[i].ts_ns);
            ok = false;
        }
    }
    free(seen);
    free(ix);
    free(v);
    return ok;
}

bool
sc_signals_hold(tidal_region *r, const sc_model *m, char *reason, size_t len)
{
    for (int s = 0; s < m->nsess; s++) {
        if (!session_holds(r, &m->sess[s], reason, len)) {
            return false;
        }
    }
    return true;
}

/* ---- counters ------------------------------------------------------------- */

#define MINUTE_NS 60000000000ull
#define HOUR_NS 3600000000000ull

/* Whether a signal stamped ts counts in window w read at now: the window is
 * whole buckets of absolute time, the current one included (types.h). */
static bool
in_window(uint64_t ts, tidal_window w, uint64_t now)
{
    uint64_t unit = w == TIDAL_WINDOW_1H ? MINUTE_NS : HOUR_NS;
    uint64_t span = w == TIDAL_WINDOW_1H ? 60 : w == TIDAL_WINDOW_24H ? 24 : 168;
    uint64_t b = ts / unit, nb = now / unit;
    return b <= nb && b + span > nb;
}

bool
sc_counters_hold(tidal_region *r, const sc_model *const *ms, int nm, tidal_window w,
                 uint64_t now_ns, char *reason, size_t len)
{
    int64_t lo[SC_ITEMS][2] = {{0}}, hi[SC_ITEMS][2] = {{0}};
    for (int k = 0; k < nm; k++) {
        for (int s = 0; s < ms[k]->nsess; s++) {
            const sc_session *ss = &ms[k]->sess[s];
            for (size_t i = 0; i < ss->n; i++) {
                const sc_signal *g = &ss->sig[i];
                if (in_window(g->ts_ns, w, now_ns)) {
                    int slot = (int)(g->item - SC_ITEM_BASE);
                    hi[slot][g->type]++;
                    lo[slot][g->type] += g->outcome == SC_ACKED;
                }
            }
        }
    }
    for (int slot = 0; slot < SC_ITEMS; slot++) {
        for (int t = 0; t < 2; t++) {
            int64_t got = -1;
            int rv = tidal_read_windowed_count(r, SC_ITEM_BASE + (tidal_entity_id)slot,
                                               t ? "like" : "view", w, &got);
            if (rv != 0 || got < lo[slot][t] || got > hi[slot][t]) {
                snprintf(reason, len,
                         "region %u item %u %s window %d: %lld, expected %lld acknowledged + up to "
                         "%lld unknown%s%s",
                         tidal_region_id_of(r), SC_ITEM_BASE + slot, t ? "like" : "view", (int)w,
                         (long long)got, (long long)lo[slot][t],
                         (long long)(hi[slot][t] - lo[slot][t]), rv ? ": " : "",
                         rv ? tidal_errname(rv) : "");
                return false;
            }
        }
    }
    return true;
}

/* ---- hard negatives ------------------------------------------------------- */

static bool
hlc_after(const tidal_hlc *a, const tidal_hlc *b)
{
    return a->wall_ns > b->wall_ns || (a->wall_ns == b->wall_ns && a->logical > b->logical);
}

struct hn_max {
    bool any;
    tidal_hlc ts;
};

static void
raise_to(struct hn_max *m, const tidal_hlc *ts)
{
    if (!m->any || hlc_after(ts, &m->ts)) {
        m->any = true;
        m->ts = *ts;
    }
}

static bool
hidden_in(tidal_region *r, tidal_entity_id user, tidal_entity_id item, int *err)
{
    tidal_scored_item out[1];
    size_t n = 0;
    tidal_retrieve q = {.user = user, .candidates = &item, .ncandidates = 1};
    *err = tidal_retrieve_items(r, &q, out, &n);
    return n == 0;
}

bool
sc_hardneg_hold(tidal_region *r, const sc_model *const *ms, int nm, char *reason, size_t len)
{
    for (tidal_entity_id u = 1; u <= SC_USERS; u++) {
        for (tidal_entity_id it = 500; it < 500 + SC_HN_ITEMS; it++) {
            /* greatest hide and unhide, of the acknowledged and of all */
            struct hn_max ha = {0}, hall = {0}, ua = {0}, uall = {0};
            for (int k = 0; k < nm; k++) {
                for (size_t i = 0; i < ms[k]->nhn; i++) {
                    const sc_hn_op *op = &ms[k]->hn[i];
                    if (op->user != u || op->item != it) {
                        continue;
                    }
                    raise_to(op->hide ? &hall : &uall, &op->ts);
                    if (op->outcome == SC_ACKED) {
                        raise_to(op->hide ? &ha : &ua, &op->ts);
                    }
                }
            }
            /* hidden: a hide and no strictly later unhide (a tie is the hide's).
             * Hidden is possible with every unknown hide and no unknown unhide;
             * shown with every unknown unhide and no unknown hide. */
            bool can_hide = hall.any && !(ua.any && hlc_after(&ua.ts, &hall.ts));
            bool can_show = !ha.any || (uall.any && hlc_after(&uall.ts, &ha.ts));
            int err;
            bool hidden = hidden_in(r, u, it, &err);
            if (err != 0 || (hidden && !can_hide) || (!hidden && !can_show)) {
                snprintf(reason, len,
                         "region %u user %llu item %llu is %s; last acknowledged hide %llu.%u, "
                         "unhide %llu.%u%s%s",
                         tidal_region_id_of(r), (unsigned long long)u, (unsigned long long)it,
                         hidden ? "hidden" : "shown", (unsigned long long)ha.ts.wall_ns,
                         ha.ts.logical, (unsigned long long)ua.ts.wall_ns, ua.ts.logical,
                         err ? ": " : "", err ? tidal_errname(err) : "");
                return false;
            }
        }
    }
    return true;
}

/* ---- over every region ---------------------------------------------------- */

static int
models_of(sc_run *run, const sc_model **ms)
{
    for (int i = 0; i < run->nw; i++) {
        ms[i] = &run->w[i].m;
    }
    return run->nw;
}

struct clock_past {
    sc_run *run;
    int id;
    uint64_t ts;
};

static bool
clock_past(void *arg)
{
    const struct clock_past *c = arg;
    return sc_clock_now(c->run, c->id) > c->ts;
}

void
sc_check_counters(sc_run *run)
{
    const sc_model *ms[SC_WRITERS_MAX];
    int nm = models_of(run, ms);
    /* a stamp ahead of a reader's clock counts once its bucket is current:
     * wait until every clock has passed the latest stamp written */
    uint64_t latest = __atomic_load_n(&run->max_ts_ns, __ATOMIC_RELAXED);
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] != NULL && run->clk[i].fixed_ns == 0) { /* a set clock stays */
            struct clock_past c = {run, i, latest};
            (void)sc__wait(run, clock_past, &c, SC_DEADLINE_MS);
        }
    }
    char why[SC_REASON_BYTES];
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] != NULL && !sc_counters_hold(run->r[i], ms, nm, TIDAL_WINDOW_7D,
                                                    sc_clock_now(run, i), why, sizeof(why))) {
            sc_verdict(run, "counters", false, "%s", why);
            return;
        }
    }
    sc_verdict(run, "counters", true, "every count = acknowledged + a subset of unknown");
}

void
sc_check_signals(sc_run *run)
{
    char why[SC_REASON_BYTES];
    size_t sigs = 0;
    for (int k = 0; k < run->nw; k++) {
        for (int s = 0; s < run->w[k].m.nsess; s++) {
            sigs += run->w[k].m.sess[s].n;
        }
        for (int i = 0; i < run->n; i++) {
            if (run->r[i] != NULL && !sc_signals_hold(run->r[i], &run->w[k].m, why, sizeof(why))) {
                sc_verdict(run, "signals", false, "%s", why);
                return;
            }
        }
    }
    sc_verdict(run, "signals", true, "%zu signals written: every acknowledged one once, everywhere",
               sigs);
}

void
sc_check_hardneg(sc_run *run)
{
    const sc_model *ms[SC_WRITERS_MAX];
    int nm = models_of(run, ms);
    char why[SC_REASON_BYTES];
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] != NULL && !sc_hardneg_hold(run->r[i], ms, nm, why, sizeof(why))) {
            sc_verdict(run, "hardneg", false, "%s", why);
            return;
        }
    }
    sc_verdict(run, "hardneg", true, "visibility is the last writer by (wall, logical), hide on ties");
}

void
sc_check_all(sc_run *run)
{
    sc_writers_join(run);
    sc_heal(run);
    (void)sc_check_converged(run);
    sc_check_counters(run);
    sc_check_signals(run);
    sc_check_hardneg(run);
}
