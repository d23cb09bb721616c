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

static uint32_t
key_slot(const struct tidal__actor *act, const uint8_t *key, uint32_t len)
{
    return (uint32_t)tidal__hash(key, len, 0x7669727475616cull) & (act->vtab_cap - 1);
}

static int
vtab_grow(struct tidal__actor *act)
{
    uint32_t ncap = act->vtab_cap ? act->vtab_cap * 2 : 64;
    struct tidal__unit **n = calloc(ncap, sizeof(*n));
    if (n == NULL) {
        return TIDAL_ENOMEM;
    }
    struct tidal__unit **old = act->vtab;
    uint32_t ocap = act->vtab_cap;
    act->vtab = n;
    act->vtab_cap = ncap;
    for (uint32_t i = 0; i < ocap; i++) {
        for (struct tidal__unit *u = old[i], *next; u != NULL; u = next) {
            next = u->hash_next;
            uint32_t j = key_slot(act, u->key, u->key_len);
            u->hash_next = n[j];
            n[j] = u;
        }
    }
    free(old);
    return 0;
}

/* Finds the unit for key, creating it (inactive: needs_init) if asked.
 * Returns NULL if absent and not created, or on allocation failure.
 * Caller holds act->lock. */
struct tidal__unit *
tidal__vactor_get_locked(struct tidal__actor *act, const uint8_t *key, uint32_t key_len,
                         bool create)
{
    TIDAL_ASSERT(key_len > 0 && key_len <= TIDAL_KEY_BYTES_MAX);
    if (act->vtab_cap > 0) {
        for (struct tidal__unit *u = act->vtab[key_slot(act, key, key_len)]; u != NULL;
             u = u->hash_next) {
            if (u->key_len == key_len && memcmp(u->key, key, key_len) == 0) {
                return u;
            }
        }
    }
    if (!create) {
        return NULL;
    }
    if (act->vcount >= act->vtab_cap && vtab_grow(act) != 0) {
        return NULL;
    }
    struct tidal__unit *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return NULL;
    }
    u->owner = act;
    u->is_virtual = 1;
    u->needs_init = 1;
    atomic_init(&u->next_msg_id, 1);
    u->key_len = (uint8_t)key_len;
    memcpy(u->key, key, key_len);
    u->last_active_ms = tidal__now_ms();
    uint32_t j = key_slot(act, key, key_len);
    u->hash_next = act->vtab[j];
    act->vtab[j] = u;
    act->vcount++;
    atomic_fetch_add(&act->rt->st_activations, 1);
    return u;
}

static void
vtab_unlink(struct tidal__actor *act, struct tidal__unit *u)
{
    struct tidal__unit **pp = &act->vtab[key_slot(act, u->key, u->key_len)];
    while (*pp != u) {
        pp = &(*pp)->hash_next;
    }
    *pp = u->hash_next;
    act->vcount--;
}

/* tidal_ctx_stop on a virtual actor: it leaves the table now (a later message
 * for its key activates a fresh one) and what it had queued is dead-lettered.
 * Caller holds act->lock and has just finished running u. */
void
tidal__vactor_retire_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    (void)tidal__mbox_drain(act->rt, act, &u->mbox);
    vtab_unlink(act, u);
}

/* Second half of a retire, with no lock held: fini and free.  Cannot fail. */
void
tidal__vactor_retire_finish(struct tidal__actor *act, struct tidal__unit *u)
{
    if (!u->needs_init && act->vbeh.fini != NULL) {
        act->vbeh.fini(u->state, act->varg);
    }
    tidal__mbox_fini(&u->mbox);
    free(u);
    atomic_fetch_add(&act->rt->st_passivations, 1);
}

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
                vtab_unlink(act, u);
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

/* Frees every virtual unit at stop: queued envelopes are dead-lettered and
 * fini runs for each active state.  The owner is stopping, nothing of it is
 * running or queued.  Cannot fail. */
void
tidal__vactor_free_all(struct tidal__actor *act)
{
    pthread_mutex_lock(&act->lock);
    TIDAL_ASSERT(act->stopping && act->running == 0);
    struct tidal__unit **tab = act->vtab;
    uint32_t cap = act->vtab_cap;
    act->vtab = NULL;
    act->vtab_cap = 0;
    act->vcount = 0;
    for (uint32_t i = 0; i < cap; i++) {
        for (struct tidal__unit *u = tab[i]; u != NULL; u = u->hash_next) {
            (void)tidal__mbox_drain(act->rt, act, &u->mbox);
        }
    }
    pthread_mutex_unlock(&act->lock);
    for (uint32_t i = 0; i < cap; i++) {
        for (struct tidal__unit *u = tab[i], *next; u != NULL; u = next) {
            next = u->hash_next;
            if (!u->needs_init && act->vbeh.fini != NULL) {
                act->vbeh.fini(u->state, act->varg);
            }
            tidal__mbox_fini(&u->mbox);
            free(u);
        }
    }
    free(tab);
}

/* "owner" or "owner/<hex key>": the name fault rules match.  Cannot fail
 * (truncates to cap). */
void
tidal__unit_fullname(const struct tidal__actor *act, const struct tidal__unit *u, char *out,
                     size_t cap)
{
    tidal__fullname(act->name, u->key, u->is_virtual ? u->key_len : 0, out, cap);
}
