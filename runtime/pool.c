/*
 * The worker pool: a fixed set of threads (the core count by default) running
 * units from one FIFO run queue.
 *
 * Thread rules:
 *  - A unit is on the run queue at most once (run_state QUEUED) and RUNNING on
 *    at most one thread (a worker, or an rx callback running it inline: see
 *    "inline runs" below), so one actor handles one message at a time.
 *  - A worker takes up to TIDAL_HANDLER_BURST_MAX envelopes from a unit under
 *    one lock, runs the handler on each with no lock held, then requeues the
 *    unit at the tail if more arrived: a busy actor cannot starve the others.
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

/* Signals an idle worker unless one is already on its way (see "Wake-ups"
 * above).  Caller holds runq_lock and has just queued work. */
static void
wake_one_locked(tidal_runtime *rt)
{
    if (rt->runq_waking == 0 && rt->runq_idle_workers > 0) {
        rt->runq_waking++;
        pthread_cond_signal(&rt->runq_cond);
    }
}

/* Puts u on the run queue if it is idle.  Caller holds act->lock. */
void
tidal__schedule_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    if (!tidal__claim_locked(act, u)) {
        return;
    }
    tidal_runtime *rt = act->rt;
    pthread_mutex_lock(&rt->runq_lock);
    u->run_next = NULL;
    if (rt->runq_tail != NULL) {
        rt->runq_tail->run_next = u;
    } else {
        rt->runq_head = u;
    }
    rt->runq_tail = u;
    wake_one_locked(rt);
    pthread_mutex_unlock(&rt->runq_lock);
}

/* Takes every unit of act off the run queue (stop must not wait for a
 * worker: the caller may be the only one).  Caller holds act->lock. */
void
tidal__runq_remove_actor(struct tidal__actor *act)
{
    tidal_runtime *rt = act->rt;
    uint32_t removed = 0;
    pthread_mutex_lock(&rt->runq_lock);
    struct tidal__unit **pp = &rt->runq_head;
    rt->runq_tail = NULL;
    while (*pp != NULL) {
        struct tidal__unit *u = *pp;
        if (u->owner == act) {
            *pp = u->run_next;
            u->run_state = TIDAL__IDLE;
            removed++;
        } else {
            rt->runq_tail = u;
            pp = &u->run_next;
        }
    }
    pthread_mutex_unlock(&rt->runq_lock);
    TIDAL_ASSERT(act->scheduled >= removed);
    act->scheduled -= removed;
    /* the run queue's references: the caller still holds its own */
    uint32_t refs = atomic_fetch_sub(&act->refs, removed);
    TIDAL_ASSERT(refs > removed);
}

/* Runs init for a unit that needs it.  Returns init's code. */
static int
unit_init(tidal_ctx *ctx)
{
    struct tidal__actor *act = ctx->actor;
    struct tidal__unit *u = ctx->unit;
    const tidal_behaviour *b = u->is_virtual ? &act->vbeh : &act->beh;
    void *arg = u->is_virtual ? act->varg : act->arg;
    void *state = NULL;
    int rv = b->init ? b->init(ctx, arg, &state) : 0;
    if (rv == 0) {
        u->state = state;
        u->needs_init = 0;
    }
    return rv;
}

/* Merges a burst's stamps into the clock service once (their maximum), so
 * every send the handlers make is stamped after every message they got.
 * Items stamped too far ahead of our wall clock are refused (marked by
 * clearing their frame pointer after counting them).  Returns how many
 * were refused.
 *
 * Not our own (TIDAL_VIA_SELF: this runtime's actors, timers and threads):
 * those were stamped by this very clock, so they cannot carry it anywhere,
 * and the check is about other clocks.  Our HLC runs ahead of our wall
 * clock by more than the tolerance exactly when the wall clock stepped
 * back by more than that; refusing our own timer ticks then stopped every
 * tick chain for good (the shipper's retransmits, the region's ACKs, the
 * reconciler's rounds), and the region never converged again. */
static uint32_t
merge_stamps(tidal_runtime *rt, struct tidal__item *items, uint32_t n)
{
    uint64_t wall = tidal__wall_ns(rt);
    uint64_t skew = rt->clock.max_skew_ns; /* set at open, never changed */
    tidal_hlc max = {0};
    uint32_t refused = 0;
    bool any = false;
    for (uint32_t i = 0; i < n; i++) {
        const tidal_hlc *h = &items[i].env.hlc;
        if (items[i].via != TIDAL_VIA_SELF && h->wall_ns > wall && h->wall_ns - wall > skew) {
            tidal__dead(rt, TIDAL_DEAD_HLC_SKEW, 1);
            tidal__item_done(&items[i]); /* frame = NULL marks it refused */
            refused++;
        } else if (!any || tidal_hlc_compare(h, &max) > 0) {
            max = *h;
            any = true;
        }
    }
    if (any) {
        tidal_clock_observe(rt, &max);
    }
    return refused;
}

/* Handles a burst of items; returns how many handler calls ran. */
static uint32_t
handle_items(tidal_ctx *ctx, struct tidal__item *items, uint32_t n)
{
    tidal_runtime *rt = ctx->rt;
    struct tidal__actor *act = ctx->actor;
    struct tidal__unit *u = ctx->unit;
    const tidal_behaviour *b = u->is_virtual ? &act->vbeh : &act->beh;
    uint32_t handled = 0;
    (void)merge_stamps(rt, items, n);
    for (uint32_t i = 0; i < n; i++) {
        if (items[i].frame == NULL) {
            continue; /* refused by merge_stamps */
        }
        if (u->stop_requested) {
            /* stopped by tidal_ctx_stop or by supervision: nothing behind it runs */
            tidal__dead(rt, TIDAL_DEAD_STOPPED, 1);
            tidal__item_done(&items[i]);
            continue;
        }
        if (u->needs_init && unit_init(ctx) != 0) {
            tidal__dead(rt, TIDAL_DEAD_NO_INIT, 1);
            tidal__item_done(&items[i]);
            continue;
        }
        tidal_msg m;
        tidal__item_msg(&items[i], &m);
        int rv = b->handle(ctx, u->state, &m);
        handled++;
        tidal__item_done(&items[i]);
        if (rv != 0) {
            tidal__actor_failed(ctx, rv);
        }
    }
    return handled;
}

/* Runs bursts of u's mailbox with u RUNNING: one burst on a worker (then u
 * goes back to the tail of the run queue if more arrived), up to
 * INLINE_BURSTS on an rx callback (then the rest goes to the run queue).
 * Drops the reference its run-queue entry or claim held. */
static void
run_unit(tidal_runtime *rt, struct tidal__unit *u, uint32_t bursts, bool on_rx)
{
    struct tidal__actor *act = u->owner;
    struct tidal__item items[TIDAL_HANDLER_BURST_MAX];

    pthread_mutex_lock(&act->lock);
    act->scheduled--;
    if (act->stopping) {
        u->run_state = TIDAL__IDLE;
        (void)tidal__mbox_drain(rt, act, &u->mbox);
        pthread_cond_broadcast(&act->cond);
        pthread_mutex_unlock(&act->lock);
        tidal__actor_unref(act);
        return;
    }
    u->run_state = TIDAL__RUNNING;
    act->running++;
    if (u->evicting) {
        /* a passivation for the owner's cap (vactor.c): its fini runs here,
         * on a worker, never on the rx callback that chose it */
        pthread_mutex_unlock(&act->lock);
        tidal__passivate(act, u, true);
        tidal__actor_unref(act);
        return;
    }
    for (;;) {
        uint32_t n = tidal__mbox_pop(&u->mbox, items, TIDAL_HANDLER_BURST_MAX);
        pthread_mutex_unlock(&act->lock);

        tidal_ctx ctx = {.rt = rt, .actor = act, .unit = u};
        uint32_t handled = handle_items(&ctx, items, n);
        /* counted before the flush: whoever sees a reply sees its handler counted */
        atomic_fetch_add(&rt->st_handled, handled);
        atomic_fetch_add(&act->st_handled, handled);
        if (on_rx) {
            atomic_fetch_add(&rt->st_handled_inline, handled);
        }
        tidal__ctx_flush(&ctx);

        pthread_mutex_lock(&act->lock);
        TIDAL_ASSERT(act->queued_n >= n);
        act->queued_n -= n;
        tidal__actor_release_intake(act, n);
        if (--bursts == 0 || u->mbox.len == 0 || u->stop_requested || act->stopping) {
            break;
        }
    }
    act->running--;
    if (u->is_virtual) {
        u->last_active_ms = tidal__now_coarse_ms(rt); /* for passivation (vactor.c) */
    }
    u->run_state = TIDAL__IDLE;
    bool stop_self = u->stop_requested && !u->is_virtual;
    bool retire = u->stop_requested && u->is_virtual && !act->stopping;
    if (retire) {
        tidal__vactor_retire_locked(act, u); /* passivated below, with no lock held */
    } else if (act->stopping) {
        (void)tidal__mbox_drain(rt, act, &u->mbox);
        pthread_cond_broadcast(&act->cond);
    } else if (u->mbox.len > 0) {
        tidal__schedule_locked(act, u);
    } else if (u->is_virtual) {
        /* an idle virtual actor keeps no ring: millions of them stay small */
        tidal__mbox_fini(&u->mbox);
        tidal__vlru_push_locked(act, u); /* the most recently used idle one */
    }
    if (stop_self && on_rx) {
        /* stopping closes the socket whose callback this is: a worker does it */
        if (!act->stopping) {
            tidal__schedule_locked(act, u);
        }
        stop_self = false;
    }
    pthread_mutex_unlock(&act->lock);
    if (retire) {
        tidal__vactor_retire_finish(act, u);
    }
    if (stop_self) {
        tidal_actor a = {act->id};
        /* the seam to spawn.c (internal.h); a concurrent stop may have won:
         * ECLOSED is fine */
        (void)rt->stop_actor(rt, a);
    }
    tidal__actor_unref(act);
}

/* ---- passivation ---------------------------------------------------------------
 *
 * The last run of a virtual unit: its fini, by the idle sweep on the timer
 * thread (vactor.c) or for the owner's cap on a worker (run_unit above). */

static void
count_passivation(tidal_runtime *rt, bool for_cap, bool reactivated)
{
    atomic_fetch_add(&rt->st_passivations, 1);
    atomic_fetch_add(&rt->st_passivations_cap, for_cap ? 1u : 0u);
    atomic_fetch_add(&rt->st_activations, reactivated ? 1u : 0u);
}

/* Runs fini for u, which the caller made RUNNING (counted in act->running),
 * with no lock held; then frees u, or re-activates it for messages that came
 * meanwhile (they were queued, not lost).  for_cap: an eviction, counted
 * apart.  Cannot fail. */
void
tidal__passivate(struct tidal__actor *act, struct tidal__unit *u, bool for_cap)
{
    tidal_runtime *rt = act->rt;
    if (!u->needs_init && act->vbeh.fini != NULL) {
        act->vbeh.fini(u->state, act->varg);
    }
    u->state = NULL;
    pthread_mutex_lock(&act->lock);
    act->running--;
    u->run_state = TIDAL__IDLE;
    bool keep = u->mbox.len > 0 && !act->stopping;
    if (keep) {
        /* this was a passivation, and the init it needs now is an
         * activation.  It is active: an evicting unit is admitted under the
         * cap before a message is queued for it (vactor.c). */
        TIDAL_ASSERT(!u->evicting);
        u->needs_init = 1;
        count_passivation(rt, for_cap, true); /* before its init can run */
        tidal__schedule_locked(act, u);
    } else {
        (void)tidal__mbox_drain(rt, act, &u->mbox);
        tidal__vtab_unlink(act, u);
    }
    pthread_cond_broadcast(&act->cond);
    pthread_mutex_unlock(&act->lock);
    if (!keep) {
        tidal__mbox_fini(&u->mbox);
        free(u);
        count_passivation(rt, for_cap, false); /* once done: its fini's effects show */
    }
}

/* ---- inline runs -------------------------------------------------------------
 *
 * An rx callback that delivers to an idle unit runs it there and then, after
 * re-posting its recv, instead of waking a worker: one thread hand-off less
 * per hop (a wake-up is ~30 us on this machine kind, docs/measurements.md).  nng's
 * callback threads are a fixed pool too, so there is still never a thread per
 * actor.  Only the first idle unit a frame reaches runs inline, for at most
 * INLINE_BURSTS bursts; the others go to the run queue as before.  Once the
 * pool stops (quiesce, close) nothing runs inline: tidal__pool_stop waits for
 * every callback that may. */

#define INLINE_BURSTS 4u

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

/* Claims u if it is idle: it then counts as scheduled and holds a
 * reference, and must be queued (tidal__schedule_locked) or run inline
 * (tidal__run_unit_inline, as a unit a worker popped).  Caller holds
 * act->lock. */
bool
tidal__claim_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    if (u->run_state != TIDAL__IDLE) {
        return false;
    }
    tidal__vlru_remove_locked(act, u); /* busy now: no victim for the cap */
    u->run_state = TIDAL__QUEUED;
    act->scheduled++;
    tidal__actor_ref(act);
    return true;
}

void
tidal__run_unit_inline(tidal_runtime *rt, struct tidal__unit *u)
{
    run_unit(rt, u, INLINE_BURSTS, true);
}

static void *
worker_main(void *arg)
{
    tidal_runtime *rt = arg;
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
        struct tidal__unit *u = rt->runq_head;
        rt->runq_head = u->run_next;
        if (rt->runq_head == NULL) {
            rt->runq_tail = NULL;
        } else {
            wake_one_locked(rt); /* more than this worker takes: bring the next one in */
        }
        pthread_mutex_unlock(&rt->runq_lock);
        run_unit(rt, u, 1, false);
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
    pthread_mutex_lock(&rt->runq_lock);
    struct tidal__unit *u = rt->runq_head;
    if (u != NULL) {
        rt->runq_head = u->run_next;
        if (rt->runq_head == NULL) {
            rt->runq_tail = NULL;
        }
    }
    pthread_mutex_unlock(&rt->runq_lock);
    if (u == NULL) {
        return false;
    }
    run_unit(rt, u, 1, false);
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
