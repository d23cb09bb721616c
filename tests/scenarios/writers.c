/*
 * Writers: one per region writing signals in its own sessions and
 * hides and unhides, every choice from its own stream of the seed, every
 * outcome recorded in its own model (so no lock is needed: a writer's model
 * is read only after it is joined).  A roaming writer writes one session at
 * a region chosen per operation, so the session's home moves.
 *
 * A write that returns an error is recorded as unknown: timed out, refused
 * for room or by a fenced clock, it may still take effect later (a queued
 * roaming write, a batch the disk took on a retry), so the checkers allow it
 * either way.
 *
 * On real threads each writer is a thread of its own.  In a simulation there
 * is no thread to give it: the scenario's thread makes the writers' steps
 * (writer_step), one writer's next step at a time, the writer drawn from the
 * seed, each followed by a seeded bit of simulated time - the same steps a
 * thread makes, under the same gate.
 */
#include <stdlib.h>
#include <string.h>

#include "scenarios/harness.h"

static const char *const sig_types[2] = {"view", "like"};

int
sc_model_signal(sc_model *m, int sess, uint64_t ts, tidal_entity_id item, int type, sc_outcome o)
{
    sc_session *s = &m->sess[sess];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        sc_signal *p = realloc(s->sig, cap * sizeof(*p));
        if (p == NULL) {
            return TIDAL_ENOMEM;
        }
        s->sig = p;
        s->cap = cap;
    }
    s->sig[s->n++] = (sc_signal){.ts_ns = ts, .item = item, .type = (uint8_t)type,
                                 .outcome = (uint8_t)o};
    return 0;
}

int
sc_model_hn(sc_model *m, const sc_hn_op *op)
{
    if (m->nhn == m->caphn) {
        size_t cap = m->caphn ? 2 * m->caphn : 64;
        sc_hn_op *p = realloc(m->hn, cap * sizeof(*p));
        if (p == NULL) {
            return TIDAL_ENOMEM;
        }
        m->hn = p;
        m->caphn = cap;
    }
    m->hn[m->nhn++] = *op;
    return 0;
}

void
sc_model_free(sc_model *m)
{
    for (int i = 0; i < SC_SESSIONS_MAX; i++) {
        free(m->sess[i].sig);
    }
    free(m->hn);
    memset(m, 0, sizeof(*m));
}

static void
note_max_ts(sc_run *run, uint64_t ts)
{
    uint64_t cur = __atomic_load_n(&run->max_ts_ns, __ATOMIC_RELAXED);
    while (ts > cur &&
           !__atomic_compare_exchange_n(&run->max_ts_ns, &cur, ts, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
    }
}

static void
count_outcome(sc_model *m, int rv)
{
    if (rv == 0) {
        m->acked_writes++;
    } else {
        m->unknown_writes++;
        m->last_error = rv;
    }
}

void
sc_write_signal(sc_writer *w, int id, int sess)
{
    sc_run *run = w->run;
    sc_model *m = &w->m;
    uint64_t base = sc_clock_now(run, id);
    if (w->past_ts) {
        base -= sc_below(&w->rng, 8ull * 24 * 3600 * 1000000000ull); /* up to 8 days back */
    }
    /* the low 20 bits number the writer's signals: a stamp is unique in its
     * session, and names the signal for the checker */
    uint64_t seq = m->acked_writes + m->unknown_writes;
    uint64_t ts = (base & ~0xfffffull) | (seq & 0xfffffull);
    int slot = (int)sc_below(&w->rng, SC_ITEMS);
    int type = sc_below(&w->rng, 3) == 0;
    tidal_entity_id item = SC_ITEM_BASE + (tidal_entity_id)slot;
    int rv = tidal_signal_in_session(run->r[id], m->sess[sess].sid, sig_types[type], item, 1.0, ts);
    count_outcome(m, rv);
    note_max_ts(run, ts);
    (void)sc_model_signal(m, sess, ts, item, type, rv == 0 ? SC_ACKED : SC_UNKNOWN);
}

/* The stamp of a hide or unhide: the region's clock (mode 0), a few stamps
 * close together so that operations race and tie (mode 1), or logical
 * counters at the top of their range (mode 2). */
static tidal_hlc
hn_stamp(sc_writer *w, int id)
{
    tidal_hlc ts = {.node_id = (uint16_t)id};
    if (w->hn_mode == 0) {
        ts.wall_ns = sc_clock_now(w->run, id);
        ts.logical = (uint32_t)sc_below(&w->rng, 2);
        return ts;
    }
    ts.wall_ns = w->run->hn_base_ns + 10000000ull * sc_below(&w->rng, 6);
    if (w->hn_mode == 1) {
        ts.logical = (uint32_t)sc_below(&w->rng, 2);
        return ts;
    }
    /* at the top of the logical range, half of them at the region's clock:
     * the clock must move past (now, UINT32_MAX) without wrapping */
    if (sc_below(&w->rng, 2) == 0) {
        ts.wall_ns = sc_clock_now(w->run, id);
    }
    ts.logical = UINT32_MAX - (uint32_t)sc_below(&w->rng, 3);
    return ts;
}

void
sc_write_hn(sc_writer *w, int id)
{
    sc_hn_op op = {.user = 1 + sc_below(&w->rng, SC_USERS),
                   .item = 500 + sc_below(&w->rng, SC_HN_ITEMS),
                   .hide = sc_below(&w->rng, 2) == 0};
    op.ts = hn_stamp(w, id);
    tidal_region *r = w->run->r[id];
    int rv = op.hide ? tidal_hide_item_with_ts(r, op.user, op.item, op.ts)
                     : tidal_unhide_item_with_ts(r, op.user, op.item, op.ts);
    count_outcome(&w->m, rv);
    op.outcome = rv == 0 ? SC_ACKED : SC_UNKNOWN;
    (void)sc_model_hn(&w->m, &op);
}

/* The region of a roaming writer's next operation: any open region. */
static int
roam_region(sc_writer *w)
{
    sc_run *run = w->run;
    for (;;) {
        int id = (int)sc_below(&w->rng, (uint64_t)run->n);
        if (run->r[id] != NULL) {
            return id;
        }
    }
}

/* Whether w has anything left to do: sessions to try to start, or writes. */
static bool
writer_live(const sc_writer *w)
{
    if (w->run->stop_writers || w->stop) {
        return false;
    }
    return (w->m.nsess < w->sessions && w->session_tries < 100) || w->done < w->ops;
}

/* Whether the schedule's gate lets w make its next step: starting sessions
 * is never held, writes are held at gate_permille of its ops. */
static bool
writer_may_step(const sc_writer *w)
{
    if (w->m.nsess < w->sessions && w->session_tries < 100) {
        return true;
    }
    uint64_t gate = __atomic_load_n(&w->run->gate_permille, __ATOMIC_ACQUIRE);
    return gate >= 1000 || w->done * 1000 < gate * w->ops;
}

/* One step of w: one try to start its next session, else its next write. */
static void
writer_step(sc_writer *w)
{
    sc_run *run = w->run;
    if (w->m.nsess < w->sessions && w->session_tries < 100) {
        w->session_tries++;
        tidal_session_id sid;
        tidal_entity_id user = 10000u * (tidal_entity_id)(w->id + 1) + (tidal_entity_id)w->m.nsess;
        if (tidal_start_session(run->r[w->region], user, NULL, &sid) == 0) {
            w->m.sess[w->m.nsess++].sid = sid; /* a start that failed is no session */
        }
        return;
    }
    uint64_t hn = w->hn_percent ? (uint64_t)w->hn_percent : 25;
    int id = w->roam ? roam_region(w) : w->region;
    if (w->m.nsess > 0 && sc_below(&w->rng, 100) >= hn) {
        sc_write_signal(w, id, (int)sc_below(&w->rng, (uint64_t)w->m.nsess));
    } else {
        sc_write_hn(w, id);
    }
    __atomic_store_n(&w->done, w->done + 1, __ATOMIC_RELEASE);
}

static void *
writer_main(void *arg)
{
    sc_writer *w = arg;
    while (writer_live(w)) {
        if (!writer_may_step(w)) {
            sc__nap(); /* held at the schedule's gate until the next step */
            continue;
        }
        writer_step(w);
    }
    return NULL;
}

/* In a simulation: makes the started writers' steps (only's alone, if not
 * NULL) until none may make another under the gate.  Each step is one
 * writer's, drawn from the seed among those that may, and is followed by
 * [0, SC_SIM_STEP_MAX_NS] of simulated time; a write's own wait runs the
 * simulation too, up to its (simulated) write timeout, so this ends. */
static void
sim_steps(sc_run *run, sc_writer *only)
{
    for (;;) {
        sc_writer *ready[SC_WRITERS_MAX];
        uint64_t n = 0;
        for (int i = 0; i < run->nw; i++) {
            sc_writer *w = &run->w[i];
            if ((only == NULL || w == only) && w->started && writer_live(w) &&
                writer_may_step(w)) {
                ready[n++] = w;
            }
        }
        if (n == 0) {
            return;
        }
        writer_step(ready[sc_below(&run->sched_rng, n)]);
        tidal_sim_run_for(run->sim, sc_below(&run->sched_rng, SC_SIM_STEP_MAX_NS + 1));
    }
}

void
sc_writers(sc_run *run, int n, uint64_t ops, int sessions)
{
    run->nw = n;
    for (int i = 0; i < n; i++) {
        sc_writer *w = &run->w[i];
        w->run = run;
        w->id = i;
        w->region = i;
        w->rng = run->seed * 0x100000001b3ull + (uint64_t)i * 0x9e3779b97f4a7c15ull + 1;
        w->ops = ops;
        w->sessions = sessions < SC_SESSIONS_MAX ? sessions : SC_SESSIONS_MAX;
    }
}

int
sc_writers_start(sc_run *run)
{
    run->stop_writers = 0;
    for (int i = 0; i < run->nw; i++) {
        sc_writer *w = &run->w[i];
        if (!w->started && run->sim != NULL) {
            w->started = true; /* sc_progress and the joins make its steps */
        } else if (!w->started) {
            if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
                return TIDAL_ENOMEM;
            }
            w->started = true;
        }
    }
    return 0;
}

struct progress {
    sc_run *run;
    uint32_t permille;
};

static bool
progressed(void *arg)
{
    const struct progress *p = arg;
    for (int i = 0; i < p->run->nw; i++) {
        sc_writer *w = &p->run->w[i];
        uint64_t done = __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
        /* in integers, as the gate: 0.68 * 3000 in doubles is above 2040,
         * where the gate holds the writer */
        if (w->started && done < w->ops && done * 1000 < (uint64_t)p->permille * w->ops) {
            return false;
        }
    }
    return true;
}

bool
sc_progress(sc_run *run, double fraction)
{
    uint32_t permille = fraction >= 1.0 ? 1000 : (uint32_t)(fraction * 1000.0 + 0.5);
    uint32_t cur = __atomic_load_n(&run->gate_permille, __ATOMIC_RELAXED);
    if (permille > cur) {
        __atomic_store_n(&run->gate_permille, permille, __ATOMIC_RELEASE);
    }
    permille = permille > cur ? permille : cur;
    fraction = (double)permille / 1000.0;
    if (run->sim != NULL) {
        sim_steps(run, NULL); /* every writer to the gate, or to its end */
    }
    struct progress p = {run, permille};
    bool ok = sc__wait(run, progressed, &p, SC_DEADLINE_MS);
    if (!ok) {
        sc_verdict(run, "progress", false, "writers did not reach %.0f%% of their writes in %u ms",
                   fraction * 100, SC_DEADLINE_MS);
    }
    return ok;
}

void
sc_writer_join(sc_writer *w)
{
    if (w->started && w->run->sim != NULL) {
        sim_steps(w->run, w); /* what a thread would make before it ends */
        w->started = false;
    } else if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = false;
    }
}

void
sc_writers_join(sc_run *run)
{
    __atomic_store_n(&run->gate_permille, 1000, __ATOMIC_RELEASE); /* let them finish */
    if (run->sim != NULL) {
        sim_steps(run, NULL); /* interleaved, as the threads would be */
    }
    for (int i = 0; i < run->nw; i++) {
        sc_writer_join(&run->w[i]);
    }
}
