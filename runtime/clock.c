/*
 * The clock service of a runtime, and the one place the runtime reads time:
 * elapsed milliseconds for timers, passivation and supervision, and the
 * hybrid logical clock (store/hlc.h) that stamps every envelope.  In a
 * simulation (sim.c) both read the simulated clock: the elapsed time here,
 * the wall through the HLC's wall source, set at open.
 *
 * Lock: rt->clock_lock guards the HLC and is a leaf.
 */
#include "base/time.h"
#include "runtime/internal.h"

uint64_t
tidal__now_ms(tidal_runtime *rt)
{
    if (rt->sim_now_ns != NULL) {
        return TIDAL__SIM_MONO_BASE_MS + *rt->sim_now_ns / 1000000u;
    }
    return tidal_monotonic_ms();
}

uint64_t
tidal__now_coarse_ms(tidal_runtime *rt)
{
    if (rt->sim_now_ns != NULL) {
        return TIDAL__SIM_MONO_BASE_MS + *rt->sim_now_ns / 1000000u;
    }
    return tidal_monotonic_coarse_ms();
}

uint64_t
tidal__clock_sim_wall(void *arg)
{
    const tidal_runtime *rt = arg;
    return rt->sim_wall0_ns + *rt->sim_now_ns;
}

uint64_t
tidal__wall_ns(tidal_runtime *rt)
{
    /* the HLC's own wall source: set at open, never changed */
    return rt->clock.wall(rt->clock.wall_arg);
}

uint64_t
tidal_wall_ns(tidal_runtime *rt)
{
    return tidal__wall_ns(rt);
}

tidal_hlc
tidal__clock_now(tidal_runtime *rt)
{
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc t = tidal_hlc_now(&rt->clock);
    pthread_mutex_unlock(&rt->clock_lock);
    return t;
}

tidal_hlc
tidal_now(tidal_runtime *rt)
{
    return tidal__clock_now(rt);
}

int
tidal_clock_update(tidal_runtime *rt, const tidal_hlc *remote, tidal_hlc *out)
{
    if (rt == NULL || remote == NULL) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc t;
    int rv = tidal_hlc_update(&rt->clock, remote, &t);
    pthread_mutex_unlock(&rt->clock_lock);
    if (rv == 0 && out != NULL) {
        *out = t;
    }
    return rv;
}

void
tidal_clock_observe(tidal_runtime *rt, const tidal_hlc *ts)
{
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc_observe(&rt->clock, ts);
    pthread_mutex_unlock(&rt->clock_lock);
}
