/*
 * Virtual actors: keyed units multiplexed on their owner's socket.
 *
 * A virtual actor exists only while active: it is created on its first
 * message (its init runs on a worker before that message is handled) and
 * passivated by a periodic sweep once it has been idle for idle_ms with an
 * empty mailbox (its fini runs: the place to persist state).  An active idle
 * virtual actor costs one struct tidal__unit plus a table slot: its mailbox
 * ring is freed whenever it empties after a handler run (pool.c).
 *
 * This file passivates; the table of units is vtab.c's.
 *
 * Invariants:
 *  - The table (owner->vtab) and every unit's mailbox and run_state are
 *    guarded by owner->lock.
 *  - A unit is passivated only from IDLE: the sweep marks it RUNNING while its
 *    fini runs with no lock held, so a message arriving meanwhile is queued,
 *    not lost, and the unit is re-initialised for it instead of being freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* Passivates units idle for idle_ms.  Runs on the timer thread. */
static void
sweep(struct tidal__actor *act, uint64_t now)
{
    tidal_runtime *rt = act->rt;
    for (uint32_t i = 0;; i++) {
        pthread_mutex_lock(&act->lock);
        if (i >= act->vtab_cap || act->stopping) {
            pthread_mutex_unlock(&act->lock);
            return;
        }
        struct tidal__unit *victims = NULL;
        for (struct tidal__unit *u = act->vtab[i]; u != NULL; u = u->hash_next) {
            if (u->run_state == TIDAL__IDLE && u->mbox.len == 0 &&
                now - u->last_active_ms >= act->vidle_ms) {
                u->run_state = TIDAL__RUNNING; /* fenced off while fini runs */
                act->running++;
                u->run_next = victims;
                victims = u;
            }
        }
        pthread_mutex_unlock(&act->lock);
        for (struct tidal__unit *u = victims, *next; u != NULL; u = next) {
            next = u->run_next;
            if (!u->needs_init && act->vbeh.fini != NULL) {
                act->vbeh.fini(u->state, act->varg);
            }
            u->state = NULL;
            pthread_mutex_lock(&act->lock);
            act->running--;
            u->run_state = TIDAL__IDLE;
            if (u->mbox.len > 0 && !act->stopping) {
                /* a message came while fini ran: this was a passivation, and
                 * the init it needs now is an activation */
                u->needs_init = 1;
                atomic_fetch_add(&rt->st_passivations, 1);
                atomic_fetch_add(&rt->st_activations, 1);
                tidal__schedule_locked(act, u);
                u = NULL;
            } else {
                (void)tidal__mbox_drain(rt, act, &u->mbox);
                tidal__vtab_unlink(act, u);
            }
            pthread_cond_broadcast(&act->cond);
            pthread_mutex_unlock(&act->lock);
            if (u != NULL) {
                tidal__mbox_fini(&u->mbox);
                free(u);
                atomic_fetch_add(&rt->st_passivations, 1);
            }
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
    sweep(act, tidal__now_ms());
    uint32_t period = act->vidle_ms / 2 ? act->vidle_ms / 2 : 1;
    /* the reference moves to the next timer; if none can be set, drop it */
    if (tidal__timer_add(rt, period, sweeper_fire, act,
                         (void (*)(void *))tidal__actor_unref) != 0) {
        tidal__actor_unref(act);
    }
}

/* Starts the periodic passivation sweep.  The timer holds a reference. */
int
tidal__vactor_start_sweeper(struct tidal__actor *act)
{
    tidal__actor_ref(act);
    uint32_t period = act->vidle_ms / 2 ? act->vidle_ms / 2 : 1;
    int rv = tidal__timer_add(act->rt, period, sweeper_fire, act,
                              (void (*)(void *))tidal__actor_unref);
    if (rv != 0) {
        tidal__actor_unref(act);
    }
    return rv;
}

