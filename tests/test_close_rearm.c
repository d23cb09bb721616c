/*
 * Closing a runtime while a handler re-arms its timer (a periodic actor: the
 * shipper, the region actor and the reconciler all are) and reports a
 * refused re-arm as its failure.
 *
 * Close step 1 stops the timers (since 3640fc3 they refuse new ones with
 * TIDAL_ECLOSED instead of crashing on freed state); a handler still running
 * then returns that code, so supervision restarts the actor; its init cannot
 * arm a timer either, so supervision stops it: run_unit (runtime/pool.c)
 * calls tidal_stop from the worker, and actor_shutdown's tidal__rx_stop
 * (runtime/rx.c) runs concurrently with close step 2's tidal__rx_stop of the
 * same actor.  Both see act->rx_aio != NULL and both nng_aio_stop and
 * nng_aio_free it: nng panics ("pthread_mutex_lock: Invalid argument") or
 * the heap is corrupted.
 *
 * It crashed until tidal__rx_stop let one caller own the teardown
 * (act->rx_stopping, under act->lock): this test guards that fix.  The
 * actor layer also no longer reports ECLOSED from a re-arm as a failure
 * (actors/internal.h, tidal__tick_after), so regions do not take this path.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "messages/types.h"
#include "tidal/runtime.h"
#include "tidal_test.h"

TIDAL_SUITE(close_rearm);

static atomic_uint ticks;

static int
busy_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)arg;
    *state = NULL;
    return tidal_ctx_timer(ctx, 0, TIDAL_MSG_TICK, NULL, 0);
}

/* Stays in the handler a little, then re-arms at once: a close almost
 * always finds a handler running. */
static int
busy_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)state;
    (void)msg;
    atomic_fetch_add(&ticks, 1);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 300000L);
    return tidal_ctx_timer(ctx, 0, TIDAL_MSG_TICK, NULL, 0);
}

static const tidal_behaviour busy = {.init = busy_init, .handle = busy_handle};

Test(close_rearm, close_while_a_handler_rearms_its_timer)
{
    for (int round = 0; round < 40; round++) {
        tidal_runtime *rt;
        tidal_runtime_opts o = {.workers = 2};
        TIDAL_PASS(tidal_runtime_open(&o, &rt));
        tidal_actor a[4];
        for (int i = 0; i < 4; i++) {
            char name[16];
            snprintf(name, sizeof(name), "busy-%d", i);
            tidal_spawn_opts so = {.name = name, .behaviour = &busy};
            TIDAL_PASS(tidal_spawn(rt, &so, &a[i]));
        }
        unsigned before = atomic_load(&ticks);
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&ticks) > before + 8, 5000));
        TIDAL_PASS(tidal_runtime_close(rt));
    }
}
