/*
 * Virtual actors: keyed units multiplexed on their owner's socket.
 *
 * A virtual actor exists only while active: it is created on its first
 * message (its init runs on a worker before that message is handled) and
 * passivated (its fini runs: the place to persist state) either by a
 * periodic sweep once it has been idle for idle_ms with an empty mailbox,
 * or, when its owner is at its cap of active ones (vactive_max,
 * include/tidal/limits.h) and a new key arrives, as the least recently used
 * idle one.  An active idle virtual actor costs one struct tidal__unit plus
 * a table slot: its mailbox ring is freed whenever it empties after a
 * handler run (pool.c).
 *
 * The cap.  An activation past it takes the head of the owner's idle list
 * (vtab.c: the least recently used unit that is IDLE with an empty mailbox,
 * in O(1)), marks it evicting and queues it on the run queue, where a
 * worker runs its fini and frees it (pool.c, tidal__passivate).  The
 * activation is usually made on an nng rx callback under owner->lock: fini,
 * which may persist state and take its time, is never run there, and the
 * callback only pays a list unlink and a run-queue push.  With no idle unit
 * at the cap, the new key's message is refused (dead letter VIRTUAL_FULL)
 * and nothing else changes.  An evicting unit holds a place in its owner's
 * queued_n until its fini is done, so keys arriving faster than the workers
 * run those fini pause the socket (rx.c) rather than grow the table.
 *
 * This file activates and runs the sweep; the table and the idle list are
 * vtab.c's, the fini of a passivation is pool.c's.
 *
 * Invariants:
 *  - The table (owner->vtab) and every unit's mailbox and run_state are
 *    guarded by owner->lock.
 *  - A unit is passivated only from IDLE with an empty mailbox: it is marked
 *    RUNNING while its fini runs with no lock held, so a message arriving
 *    meanwhile is queued, not lost, and the unit is re-initialised for it
 *    instead of being freed.  For an evicting unit such a message is
 *    admitted under the cap first, as a new key is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* Makes room for one more active unit: true if vcount is below the cap,
 * after evicting the least recently used idle unit if it had to (queued for
 * a worker, which runs its fini: pool.c).  False if the cap is reached and
 * no unit is idle. */
static bool
admit_locked(struct tidal__actor *act)
{
    if (act->vcount < act->vactive_max) {
        return true;
    }
    struct tidal__unit *v = act->vlru_head;
    if (v == NULL) {
        return false;
    }
    tidal__vtab_evict_locked(act, v);
    tidal__schedule_locked(act, v); /* IDLE: this queues it, with its reference */
    return true;
}

struct tidal__unit *
tidal__vactor_get_locked(struct tidal__actor *act, const uint8_t *key, uint32_t key_len,
                         bool create)
{
    struct tidal__unit *u = tidal__vtab_find_locked(act, key, key_len);
    if (!create) {
        return u;
    }
    if (u != NULL && !u->evicting) {
        return u;
    }
    /* A new key, or one wanted again before its fini for the cap is done:
     * either needs an active place.  (Room first: a refusal costs no
     * allocation.)  If that fini has not started, the unit simply stays
     * active, with its state; if it has, a fresh init follows it. */
    if (!admit_locked(act)) {
        tidal__dead(act->rt, TIDAL_DEAD_VIRTUAL_FULL, 1);
        return NULL;
    }
    if (u != NULL) {
        tidal__vtab_unevict_locked(act, u);
        return u;
    }
    if ((u = tidal__vtab_insert_locked(act, key, key_len)) == NULL) {
        /* a victim evicted above is not brought back: its fini persists its
         * state, and its next message re-activates it */
        tidal__dead(act->rt, TIDAL_DEAD_NO_INIT, 1);
    }
    return u;
}

/* Slots the sweep reads per hold of the owner's lock: senders and workers
 * wait for it at most that long. */
#define SWEEP_SLOTS 64u

/* Passivates units idle for idle_ms.  Runs on the timer thread.  Between
 * two holds of the lock a passivation may shift a unit from a slot ahead
 * into one already read (vtab.c's backward shift): it waits for the next
 * sweep.  A unit
 * whose last activity is stamped after now was read was active since: it
 * is not idle (now - last_active_ms would wrap). */
static void
sweep(struct tidal__actor *act, uint64_t now)
{
    for (uint32_t i = 0;;) {
        pthread_mutex_lock(&act->lock);
        if (i >= act->vtab_cap || act->stopping) {
            pthread_mutex_unlock(&act->lock);
            return;
        }
        struct tidal__unit *victims = NULL;
        for (uint32_t end = i + SWEEP_SLOTS; i < end && i < act->vtab_cap; i++) {
            struct tidal__unit *u = act->vtab[i].u;
            if (u != NULL && u->run_state == TIDAL__IDLE && u->mbox.len == 0 && !u->evicting &&
                now >= u->last_active_ms && now - u->last_active_ms >= act->vidle_ms) {
                tidal__vlru_remove_locked(act, u); /* not a victim for the cap now */
                u->run_state = TIDAL__RUNNING;     /* fenced off while fini runs */
                act->running++;
                u->run_next = victims;
                victims = u;
            }
        }
        pthread_mutex_unlock(&act->lock);
        for (struct tidal__unit *u = victims, *next; u != NULL; u = next) {
            next = u->run_next;
            tidal__passivate(act, u, false);
        }
    }
}

static void
sweeper_fire(tidal_runtime *rt, void *arg)
{
    struct tidal__actor *act = arg;
    if (atomic_load(&rt->closing)) {
        tidal__actor_unref(act);
        return;
    }
    pthread_mutex_lock(&act->lock);
    bool stopping = act->stopping;
    pthread_mutex_unlock(&act->lock);
    if (stopping) {
        tidal__actor_unref(act);
        return;
    }
    sweep(act, tidal__now_ms(rt));
    uint32_t period = act->vidle_ms / 2 ? act->vidle_ms / 2 : 1;
    /* the reference moves to the next timer; if none can be set, drop it */
    if (tidal__timer_add(rt, period, sweeper_fire, act, (void (*)(void *))tidal__actor_unref) !=
        0) {
        tidal__actor_unref(act);
    }
}

/* Starts the periodic passivation sweep.  The timer holds a reference. */
int
tidal__vactor_start_sweeper(struct tidal__actor *act)
{
    tidal__actor_ref(act);
    uint32_t period = act->vidle_ms / 2 ? act->vidle_ms / 2 : 1;
    int rv =
        tidal__timer_add(act->rt, period, sweeper_fire, act, (void (*)(void *))tidal__actor_unref);
    if (rv != 0) {
        tidal__actor_unref(act);
    }
    return rv;
}
