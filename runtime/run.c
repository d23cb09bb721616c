/*
 * Running units: the handler calls of a unit's queued envelopes, on a
 * worker (a batch of one owner's units, below) or inline on an rx callback
 * (pool.c, "inline runs"), and the passivation of a virtual unit.
 *
 * Rules (pool.c states the pool's):
 *  - A run takes the unit RUNNING under its owner's lock, pops envelopes,
 *    runs their handlers with no lock held, then settles the unit under the
 *    lock again: back to the run queue if more arrived, else idle.
 *  - A worker runs several units of one owner as one batch (the run queue
 *    hands over a run of consecutive entries: tidal__runq_take_locked): the
 *    owner's lock is taken twice per batch instead of twice per unit, the
 *    clock merge and the counters once.  Each unit still handles its own
 *    envelopes in order, and the batch shares TIDAL_HANDLER_BURST_MAX items
 *    out evenly, so one unit's backlog waits its turn at the tail.  This is
 *    what a million virtual activations, each one envelope to a new unit,
 *    spend their time on.
 */
#include "runtime/internal.h"

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
 * clearing their frame pointer after counting them).
 *
 * Not our own (TIDAL_VIA_SELF: this runtime's actors, timers and threads):
 * those were stamped by this very clock, so they cannot carry it anywhere,
 * and the check is about other clocks.  Our HLC runs ahead of our wall
 * clock by more than the tolerance exactly when the wall clock stepped
 * back by more than that; refusing our own timer ticks then stopped every
 * tick chain for good (the shipper's retransmits, the region's ACKs, the
 * reconciler's rounds), and the region never converged again. */
static void
merge_stamps(tidal_runtime *rt, struct tidal__item *items, uint32_t n)
{
    uint64_t wall = tidal__wall_ns(rt);
    uint64_t skew = rt->clock.max_skew_ns; /* set at open, never changed */
    tidal_hlc max = {0};
    bool any = false;
    for (uint32_t i = 0; i < n; i++) {
        const tidal_hlc *h = &items[i].env.hlc;
        if (items[i].via != TIDAL_VIA_SELF && h->wall_ns > wall && h->wall_ns - wall > skew) {
            tidal__dead(rt, TIDAL_DEAD_HLC_SKEW, 1);
            tidal__item_done(&items[i]); /* frame = NULL marks it refused */
        } else if (!any || tidal_hlc_compare(h, &max) > 0) {
            max = *h;
            any = true;
        }
    }
    if (any) {
        tidal_clock_observe(rt, &max);
    }
}

/* Items handled, to be let go of a frame at a time: a burst's items mostly
 * share a few frames, and each let-go is an atomic on the frame's count. */
struct done {
    struct tidal__frame *frame;
    uint32_t n;
};

static void
done_flush(struct done *d)
{
    if (d->n > 0) {
        tidal__frame_unref_n(d->frame, d->n);
    }
    d->frame = NULL;
    d->n = 0;
}

static void
done_add(struct done *d, struct tidal__item *it)
{
    if (it->frame != d->frame) {
        done_flush(d);
        d->frame = it->frame;
    }
    d->n++;
    it->frame = NULL;
}

/* Handles a unit's items, whose stamps were merged; returns how many
 * handler calls ran. */
static uint32_t
handle_items(tidal_ctx *ctx, struct tidal__item *items, uint32_t n)
{
    tidal_runtime *rt = ctx->rt;
    struct tidal__actor *act = ctx->actor;
    struct tidal__unit *u = ctx->unit;
    const tidal_behaviour *b = u->is_virtual ? &act->vbeh : &act->beh;
    uint32_t handled = 0;
    struct done done = {0};
    for (uint32_t i = 0; i < n; i++) {
        if (items[i].frame == NULL) {
            continue; /* refused by merge_stamps */
        }
        if (u->stop_requested) {
            /* stopped by tidal_ctx_stop or by supervision: nothing behind it runs */
            tidal__dead(rt, TIDAL_DEAD_STOPPED, 1);
            done_add(&done, &items[i]);
            continue;
        }
        if (u->needs_init && unit_init(ctx) != 0) {
            tidal__dead(rt, TIDAL_DEAD_NO_INIT, 1);
            done_add(&done, &items[i]);
            continue;
        }
        tidal_msg m;
        tidal__item_msg(&items[i], &m);
        int rv = b->handle(ctx, u->state, &m);
        handled++;
        done_add(&done, &items[i]);
        if (rv != 0) {
            tidal__actor_failed(ctx, rv);
        }
    }
    done_flush(&done);
    return handled;
}

/* Counts handler calls that ran. */
static void
count_handled(tidal_runtime *rt, struct tidal__actor *act, uint32_t handled, bool on_rx)
{
    if (handled == 0) {
        return;
    }
    atomic_fetch_add(&rt->st_handled, handled);
    atomic_fetch_add(&act->st_handled, handled);
    if (on_rx) {
        atomic_fetch_add(&rt->st_handled_inline, handled);
    }
}

/* Handles one unit's burst with no lock held and flushes its sends.  The
 * calls ran are added to *uncounted, and counted before a flush that sends
 * anything: whoever sees a reply sees its handler counted.  The caller
 * counts what is left before the unit settles. */
static void
run_burst(tidal_runtime *rt, struct tidal__unit *u, struct tidal__item *items, uint32_t n,
          uint32_t *uncounted, bool on_rx)
{
    tidal_ctx ctx = {.rt = rt, .actor = u->owner, .unit = u};
    *uncounted += handle_items(&ctx, items, n);
    if (ctx.sent > 0) {
        count_handled(rt, u->owner, *uncounted, on_rx);
        *uncounted = 0;
    }
    tidal__ctx_flush(&ctx);
}

enum start { START_RUN, START_STOPPED, START_EVICT };

/* The start of u's run: it leaves the run queue's count and becomes
 * RUNNING (counted in act->running), or, when its actor is stopping, idle
 * with its mailbox dead-lettered.  Caller holds act->lock. */
static enum start
start_locked(tidal_runtime *rt, struct tidal__actor *act, struct tidal__unit *u)
{
    TIDAL_ASSERT(act->scheduled > 0);
    TIDAL_ASSERT(u->run_state == TIDAL__QUEUED);
    act->scheduled--;
    if (act->stopping) {
        u->run_state = TIDAL__IDLE;
        (void)tidal__mbox_drain(rt, act, &u->mbox);
        pthread_cond_broadcast(&act->cond);
        return START_STOPPED;
    }
    u->run_state = TIDAL__RUNNING;
    act->running++;
    /* a passivation for the owner's cap (vactor.c): its fini runs on a
     * worker, never on the rx callback that chose it */
    return u->evicting ? START_EVICT : START_RUN;
}

/* What settle_locked leaves to do once the lock is dropped. */
struct after {
    bool retire;    /* tidal__vactor_retire_finish */
    bool stop_self; /* stop the socket-backed actor (rt->stop_actor) */
};

/* The end of u's run: back to the run queue if more arrived, else idle (a
 * virtual unit then keeps no ring).  Caller holds act->lock. */
static void
settle_locked(tidal_runtime *rt, struct tidal__actor *act, struct tidal__unit *u, bool on_rx,
              struct after *after)
{
    TIDAL_ASSERT(u->run_state == TIDAL__RUNNING);
    TIDAL_ASSERT(act->running > 0);
    act->running--;
    if (u->is_virtual) {
        u->last_active_ms = tidal__now_coarse_ms(rt); /* for passivation (vactor.c) */
    }
    u->run_state = TIDAL__IDLE;
    after->stop_self = u->stop_requested && !u->is_virtual;
    after->retire = u->stop_requested && u->is_virtual && !act->stopping;
    if (after->retire) {
        tidal__vactor_retire_locked(act, u); /* passivated after, with no lock held */
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
    if (after->stop_self && on_rx) {
        /* stopping closes the socket whose callback this is: a worker does it */
        if (!act->stopping) {
            tidal__schedule_locked(act, u);
        }
        after->stop_self = false;
    }
}

/* The rest of settle_locked's work, with no lock held. */
static void
settle_after(tidal_runtime *rt, struct tidal__actor *act, struct tidal__unit *u,
             const struct after *after)
{
    if (after->retire) {
        tidal__vactor_retire_finish(act, u);
    }
    if (after->stop_self) {
        tidal_actor a = {act->id};
        /* the seam to spawn.c (internal.h); a concurrent stop may have won:
         * ECLOSED is fine */
        (void)rt->stop_actor(rt, a);
    }
}

/* An envelope batch's accounting once handled: room in the mailbox and
 * the intake.  Caller holds act->lock. */
static void
release_locked(struct tidal__actor *act, uint32_t n)
{
    TIDAL_ASSERT(act->queued_n >= n);
    act->queued_n -= n;
    tidal__actor_release_intake(act, n);
}

/* Runs up to bursts bursts of u, claimed for an rx callback, there and then
 * (then the rest goes to the run queue).  Drops the claim's reference. */
void
tidal__run_unit_inline(tidal_runtime *rt, struct tidal__unit *u)
{
    struct tidal__actor *act = u->owner;
    struct tidal__item items[TIDAL_HANDLER_BURST_MAX];
    uint32_t bursts = TIDAL__INLINE_BURSTS;

    pthread_mutex_lock(&act->lock);
    enum start s = start_locked(rt, act, u);
    if (s != START_RUN) {
        pthread_mutex_unlock(&act->lock);
        if (s == START_EVICT) {
            tidal__passivate(act, u, true);
        }
        tidal__actor_unref(act);
        return;
    }
    for (;;) {
        uint32_t n = tidal__mbox_pop(&u->mbox, items, TIDAL_HANDLER_BURST_MAX);
        pthread_mutex_unlock(&act->lock);
        merge_stamps(rt, items, n);
        uint32_t uncounted = 0;
        run_burst(rt, u, items, n, &uncounted, true);
        count_handled(rt, act, uncounted, true);
        pthread_mutex_lock(&act->lock);
        release_locked(act, n);
        if (--bursts == 0 || u->mbox.len == 0 || u->stop_requested || act->stopping) {
            break;
        }
    }
    struct after after;
    settle_locked(rt, act, u, true, &after);
    pthread_mutex_unlock(&act->lock);
    settle_after(rt, act, u, &after);
    tidal__actor_unref(act);
}

/* Runs one burst of each of units[0..n), all of one owner, taken off the
 * run queue together (tidal__runq_take_locked); each goes back to the tail of the
 * queue if more arrived.  Drops the n run-queue references. */
void
tidal__run_units(tidal_runtime *rt, struct tidal__unit **units, uint32_t n)
{
    TIDAL_ASSERT(n >= 1);
    TIDAL_ASSERT(n <= TIDAL__RUN_BATCH_MAX);
    struct tidal__actor *act = units[0]->owner;
    struct tidal__item items[TIDAL_HANDLER_BURST_MAX];
    struct tidal__unit *run[TIDAL__RUN_BATCH_MAX], *evict[TIDAL__RUN_BATCH_MAX];
    uint32_t count[TIDAL__RUN_BATCH_MAX];
    uint32_t nrun = 0, nevict = 0, total = 0;
    const uint32_t share = TIDAL_HANDLER_BURST_MAX / n;
    _Static_assert(TIDAL_HANDLER_BURST_MAX >= TIDAL__RUN_BATCH_MAX, "a share is at least one");

    pthread_mutex_lock(&act->lock);
    for (uint32_t i = 0; i < n; i++) {
        struct tidal__unit *u = units[i];
        TIDAL_ASSERT(u->owner == act);
        enum start s = start_locked(rt, act, u);
        if (s == START_RUN) {
            count[nrun] = tidal__mbox_pop(&u->mbox, items + total, share);
            total += count[nrun];
            run[nrun++] = u;
        } else if (s == START_EVICT) {
            evict[nevict++] = u;
        }
    }
    pthread_mutex_unlock(&act->lock);

    for (uint32_t i = 0; i < nevict; i++) {
        tidal__passivate(act, evict[i], true);
    }
    if (nrun > 0) {
        merge_stamps(rt, items, total);
        uint32_t uncounted = 0;
        for (uint32_t i = 0, off = 0; i < nrun; off += count[i], i++) {
            run_burst(rt, run[i], items + off, count[i], &uncounted, false);
        }
        count_handled(rt, act, uncounted, false);
        struct after after[TIDAL__RUN_BATCH_MAX];
        pthread_mutex_lock(&act->lock);
        release_locked(act, total);
        for (uint32_t i = 0; i < nrun; i++) {
            settle_locked(rt, act, run[i], false, &after[i]);
        }
        pthread_mutex_unlock(&act->lock);
        for (uint32_t i = 0; i < nrun; i++) {
            settle_after(rt, act, run[i], &after[i]);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        tidal__actor_unref(act);
    }
}

/* ---- passivation ---------------------------------------------------------------
 *
 * The last run of a virtual unit: its fini, by the idle sweep on the timer
 * thread (vactor.c) or for the owner's cap on a worker (above). */

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
