/*
 * The worker pool: a fixed set of threads (the core count by default) running
 * units from one FIFO run queue (runq.c).
 *
 * Thread rules:
 *  - A unit is on the run queue at most once (run_state QUEUED) and RUNNING on
 *    at most one thread (a worker, or an rx callback running it inline: see
 *    "inline runs" below), so one actor handles one message at a time.
 *  - A worker takes the head of the queue, with up to TIDAL__RUN_BATCH_MAX
 *    entries of the same owner right behind it while the other workers still
 *    find as much queued (run.c runs them as one batch); it runs up to
 *    TIDAL_HANDLER_BURST_MAX envelopes of them, handlers with no lock held,
 *    then requeues each unit at the tail if more arrived: a busy actor
 *    cannot starve the others.
 *  - Handlers never block; sends from a handler never wait (TIDAL_EFULL).
 *  - Each run-queue entry holds a reference on the unit's owner actor.
 *
 * Wake-ups: at most one idle worker is being woken at a time.  A unit queued
 * while none is on its way signals one; a worker that wakes and finds more
 * queued than it takes signals the next.  A burst of units (one frame to
 * many virtual actors, a fan-in) so brings workers in one after another as
 * long as work is left, instead of waking every idle worker at once to
 * contend for the same owner's lock and the run queue's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/internal.h"

/* ---- inline runs -------------------------------------------------------------
 *
 * An rx callback that delivers to an idle unit runs it there and then, after
 * re-posting its recv, instead of waking a worker: one thread hand-off less
 * per hop (a wake-up is ~30 us on this machine kind, docs/measurements.md).  nng's
 * callback threads are a fixed pool too, so there is still never a thread per
 * actor.  Only the first idle unit a frame reaches runs inline, for at most
 * TIDAL__INLINE_BURSTS bursts (run.c); the others go to the run queue as
 * before.  Once the pool stops (quiesce, close) nothing runs inline:
 * tidal__pool_stop waits for every callback that may. */

/* True if the calling rx callback may run a unit inline; then it must call
 * tidal__inline_leave when done. */
bool
tidal__inline_enter(tidal_runtime *rt)
{
    if (!rt->inline_enabled) {
        return false;
    }
    atomic_fetch_add(&rt->inline_busy, 1);
    if (atomic_load(&rt->inline_off)) {
        atomic_fetch_sub(&rt->inline_busy, 1);
        return false;
    }
    return true;
}

void
tidal__inline_leave(tidal_runtime *rt)
{
    atomic_fetch_sub(&rt->inline_busy, 1);
}

/* How many units one worker takes at once: a batch (run.c) saves an
 * owner's lock per unit, but only while the other workers still find as
 * much queued, so a burst of slow handlers keeps every worker busy. */
static uint32_t
batch_max_locked(const tidal_runtime *rt)
{
    uint32_t share = rt->runq_len / (rt->nworkers > 0 ? rt->nworkers : 1);
    return share < 1 ? 1 : share > TIDAL__RUN_BATCH_MAX ? TIDAL__RUN_BATCH_MAX : share;
}

static void *
worker_main(void *arg)
{
    tidal_runtime *rt = arg;
    struct tidal__unit *units[TIDAL__RUN_BATCH_MAX];
    pthread_mutex_lock(&rt->runq_lock);
    for (;;) {
        while (!rt->runq_stop && rt->runq_head == NULL) {
            rt->runq_idle_workers++;
            pthread_cond_wait(&rt->runq_cond, &rt->runq_lock);
            rt->runq_idle_workers--;
            /* the signalled worker, or a spurious wake-up: either way one
             * fewer is on its way (a late one only costs an extra wake) */
            if (rt->runq_waking > 0) {
                rt->runq_waking--;
            }
        }
        if (rt->runq_stop) {
            break;
        }
        uint32_t n = tidal__runq_take_locked(rt, units, batch_max_locked(rt));
        if (rt->runq_head != NULL) {
            tidal__runq_wake_one_locked(rt); /* more than this worker takes: bring the next one in */
        }
        pthread_mutex_unlock(&rt->runq_lock);
        tidal__run_units(rt, units, n);
        pthread_mutex_lock(&rt->runq_lock);
    }
    pthread_mutex_unlock(&rt->runq_lock);
    return NULL;
}

/* Runs one unit from the run queue on the calling thread, as a worker
 * would; false if the queue is empty.  The executor of a runtime with no
 * workers: the simulator (sim.c).  Cannot fail. */
bool
tidal__pool_run_one(tidal_runtime *rt)
{
    struct tidal__unit *u = NULL;
    pthread_mutex_lock(&rt->runq_lock);
    uint32_t n = rt->runq_head != NULL ? tidal__runq_take_locked(rt, &u, 1) : 0;
    pthread_mutex_unlock(&rt->runq_lock);
    if (n == 0) {
        return false;
    }
    tidal__run_units(rt, &u, 1);
    return true;
}

/* Starts n workers (none: a simulation runs the queue, tidal__pool_run_one).
 * On error none is left running. */
int
tidal__pool_start(tidal_runtime *rt, uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    rt->workers = calloc(n, sizeof(pthread_t));
    if (rt->workers == NULL) {
        return TIDAL_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (pthread_create(&rt->workers[i], NULL, worker_main, rt) != 0) {
            rt->nworkers = i;
            tidal__pool_stop(rt);
            return TIDAL_ENOMEM;
        }
        rt->nworkers = i + 1;
    }
    return 0;
}

/* Joins the workers (each finishes its current unit first) and drops the
 * run queue's references; queued envelopes stay in their mailboxes.  Never
 * called from a worker.  Cannot fail. */
void
tidal__pool_stop(tidal_runtime *rt)
{
    atomic_store(&rt->inline_off, true);
    while (atomic_load(&rt->inline_busy) > 0) {
        struct timespec pause = {0, 100000L};
        nanosleep(&pause, NULL);
    }
    pthread_mutex_lock(&rt->runq_lock);
    rt->runq_stop = true;
    pthread_cond_broadcast(&rt->runq_cond);
    pthread_mutex_unlock(&rt->runq_lock);
    for (uint32_t i = 0; i < rt->nworkers; i++) {
        pthread_join(rt->workers[i], NULL);
    }
    free(rt->workers);
    rt->workers = NULL;
    rt->nworkers = 0;
    /* rx callbacks still queue units (inline runs are off, deliveries are
     * not): the queue is taken under its lock */
    pthread_mutex_lock(&rt->runq_lock);
    struct tidal__unit *u = rt->runq_head;
    rt->runq_head = rt->runq_tail = NULL;
    rt->runq_len = 0;
    pthread_mutex_unlock(&rt->runq_lock);
    while (u != NULL) {
        struct tidal__unit *next = u->run_next;
        struct tidal__actor *act = u->owner;
        pthread_mutex_lock(&act->lock);
        u->run_state = TIDAL__IDLE;
        act->scheduled--;
        pthread_cond_broadcast(&act->cond);
        pthread_mutex_unlock(&act->lock);
        tidal__actor_unref(act);
        u = next;
    }
}
