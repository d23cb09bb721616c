/*
 * The simulator: the one thread that runs every runtime of a simulation,
 * and its clock (include/tidal/sim.h says what a user gets; runtime/sim.h
 * the order events run in).
 *
 * The three seams a runtime reaches the world through each have a
 * simulated side here:
 *   clock     tidal__now_ms and the HLC's wall read the simulated time;
 *   executor  a runtime of a simulation starts no worker and no timer
 *             thread: this loop runs its run queue (tidal__pool_run_one)
 *             and its due timers (tidal__timers_fire_due);
 *   carrier   frames travel through the simulated network (sim_net.c).
 * A blocking call made on the owner's thread (an ask, a send waiting for
 * room) runs the loop in place of waiting on its condition variable
 * (tidal__sim_wait_locked), so it returns when it would have on real
 * threads, in simulated time.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/random.h"
#include "runtime/sim.h"

#define LAT_MIN_US_DEFAULT 50u
#define LAT_MAX_US_DEFAULT 500u
#define START_WALL_NS_DEFAULT 1767225600000000000ull /* 2026-01-01T00:00:00Z */

static atomic_bool sim_open_flag;

int
tidal_sim_open(const tidal_sim_opts *opts, tidal_sim **out)
{
    static const tidal_sim_opts defaults = {0};
    if (out == NULL) {
        return TIDAL_EINVAL;
    }
    opts = opts != NULL ? opts : &defaults;
    uint32_t lo = opts->latency_min_us ? opts->latency_min_us : LAT_MIN_US_DEFAULT;
    uint32_t hi = opts->latency_max_us ? opts->latency_max_us : LAT_MAX_US_DEFAULT;
    if (lo > hi || hi > TIDAL_SIM_LATENCY_US_MAX) {
        return TIDAL_EINVAL;
    }
    tidal_sim *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return TIDAL_ENOMEM;
    }
    bool was = false;
    if (!atomic_compare_exchange_strong(&sim_open_flag, &was, true)) {
        free(s);
        return TIDAL_EBUSY;
    }
    s->owner = pthread_self();
    s->seed = opts->seed;
    s->lat_min_us = lo;
    s->lat_max_us = hi;
    s->start_wall_ns = opts->start_wall_ns ? opts->start_wall_ns : START_WALL_NS_DEFAULT;
    s->real_disk = opts->real_disk;
    tidal__random_seed(opts->seed);
    *out = s;
    return 0;
}

int
tidal_sim_close(tidal_sim *s)
{
    if (s == NULL) {
        return 0;
    }
    if (s->nrt > 0) {
        return TIDAL_EBUSY;
    }
    tidal__sim_net_fini(s);
    tidal__sim_disk_fini(s);
    free(s);
    tidal__random_unseed();
    atomic_store(&sim_open_flag, false);
    return 0;
}

tidal_sim *
tidal_runtime_sim(const tidal_runtime *rt)
{
    return rt->sim;
}

uint64_t
tidal_sim_now_ns(const tidal_sim *s)
{
    return s->now_ns;
}

uint64_t
tidal_sim_wall_ns(const tidal_sim *s)
{
    return s->start_wall_ns + s->now_ns;
}

void
tidal_sim_stats_get(const tidal_sim *s, tidal_sim_stats *out)
{
    *out = s->st;
    out->now_ns = s->now_ns;
    out->runtimes = s->nrt;
}

/* Adds rt to s (tidal_runtime_open).  TIDAL_ELIMIT past
 * TIDAL_SIM_RUNTIMES_MAX, TIDAL_EINVAL from another thread. */
int
tidal__sim_attach(tidal_sim *s, tidal_runtime *rt)
{
    if (!pthread_equal(s->owner, pthread_self())) {
        return TIDAL_EINVAL;
    }
    if (s->nrt == TIDAL_SIM_RUNTIMES_MAX) {
        return TIDAL_ELIMIT;
    }
    s->rts[s->nrt++] = rt;
    rt->sim_now_ns = &s->now_ns;
    rt->sim_wall0_ns = s->start_wall_ns;
    return 0;
}

/* Takes rt out of s (tidal_runtime_close).  Cannot fail. */
void
tidal__sim_detach(tidal_sim *s, tidal_runtime *rt)
{
    for (uint32_t i = 0; i < s->nrt; i++) {
        if (s->rts[i] == rt) {
            memmove(&s->rts[i], &s->rts[i + 1], (s->nrt - i - 1) * sizeof(s->rts[0]));
            s->nrt--;
            s->rr = s->nrt > 0 ? s->rr % s->nrt : 0;
            return;
        }
    }
}

/* Runs one unit of the next runtime (in turn) that has one queued. */
static bool
run_one_unit(tidal_sim *s)
{
    for (uint32_t k = 0; k < s->nrt; k++) {
        uint32_t i = (s->rr + k) % s->nrt;
        if (tidal__pool_run_one(s->rts[i])) {
            s->rr = (i + 1) % s->nrt;
            s->st.unit_runs++;
            return true;
        }
    }
    return false;
}

/* Runs the next event due by deadline_ns, moving time to it.  Returns false
 * (time moved to deadline_ns) if none is. */
static bool
step(tidal_sim *s, uint64_t deadline_ns)
{
    TIDAL_ASSERT(!s->running);
    s->running = true;
    bool ran = run_one_unit(s);
    if (!ran) {
        /* the earliest timer (by runtime order on a tie) or network event */
        tidal_runtime *trt = NULL;
        uint64_t tdue = UINT64_MAX, due_ms;
        for (uint32_t i = 0; i < s->nrt; i++) {
            if (tidal__timers_next_due(s->rts[i], &due_ms)) {
                uint64_t ns = (due_ms - TIDAL__SIM_MONO_BASE_MS) * 1000000u;
                if (ns < tdue) {
                    tdue = ns;
                    trt = s->rts[i];
                }
            }
        }
        uint64_t ndue = s->len > 0 ? s->heap[0].due_ns : UINT64_MAX;
        uint64_t due = tdue <= ndue ? tdue : ndue;
        if (due != UINT64_MAX && due <= deadline_ns) {
            s->now_ns = due > s->now_ns ? due : s->now_ns;
            if (tdue <= ndue) {
                tidal__timers_fire_due(trt, TIDAL__SIM_MONO_BASE_MS + s->now_ns / 1000000u);
                s->st.timers++;
            } else {
                tidal__sim_run_net_event(s);
            }
            ran = true;
        } else if (deadline_ns > s->now_ns) {
            s->now_ns = deadline_ns;
        }
    }
    s->st.events += ran;
    s->running = false;
    return ran;
}

int
tidal_sim_run_until(tidal_sim *s, bool (*done)(void *arg), void *arg, uint64_t deadline_ns)
{
    TIDAL_ASSERT(pthread_equal(s->owner, pthread_self()));
    for (;;) {
        if (done != NULL && done(arg)) {
            return 0;
        }
        if (!step(s, deadline_ns)) {
            return done != NULL && done(arg) ? 0 : TIDAL_ETIMEDOUT;
        }
    }
}

void
tidal_sim_run_for(tidal_sim *s, uint64_t ns)
{
    uint64_t end = s->now_ns + ns;
    int rv = tidal_sim_run_until(s, NULL, NULL, end);
    TIDAL_ASSERT(rv == TIDAL_ETIMEDOUT); /* no condition: it ends at the deadline */
}

/* For a blocking call of a runtime of a simulation, in place of waiting on a
 * condition variable with lock held: runs one event with lock released, or,
 * if none is due by deadline_ms (rt's clock), moves time there.  Returns 0
 * after an event (the caller checks its condition again), TIDAL_ETIMEDOUT
 * at the deadline - also at once when called from inside an event (a
 * handler or timer must not wait), and from a thread that is not the
 * simulation's. */
int
tidal__sim_wait_locked(tidal_runtime *rt, pthread_mutex_t *lock, uint64_t deadline_ms)
{
    tidal_sim *s = rt->sim;
    if (s->running || !pthread_equal(s->owner, pthread_self())) {
        return TIDAL_ETIMEDOUT;
    }
    uint64_t dl_ns = deadline_ms > TIDAL__SIM_MONO_BASE_MS
                         ? (deadline_ms - TIDAL__SIM_MONO_BASE_MS) * 1000000u
                         : 0;
    pthread_mutex_unlock(lock);
    bool ran = step(s, dl_ns);
    pthread_mutex_lock(lock);
    return ran ? 0 : TIDAL_ETIMEDOUT;
}
