/*
 * The table of an owner's virtual actors (owner->vtab, by key) and its list
 * of idle ones: finding and adding units, the accounting of the cap on
 * active ones, retiring a unit that stopped itself, and freeing them all
 * when the owner stops.  Activation under the cap and the idle sweep are
 * vactor.c's; the fini of a passivation runs in pool.c.
 *
 * A unit is active unless it is evicting: chosen, as the least recently
 * used idle unit, to make room under the cap (vactor.c), and waiting for or
 * running its fini.  It stays in the table until that fini is done, so that
 * a message for its key finds it and waits for the fini instead of racing a
 * fresh init against it.
 *
 * Invariants, all guarded by owner->lock:
 *  - the table, and every unit's mailbox and run_state;
 *  - while the owner runs and its pool is up, a unit is on the idle list iff
 *    it is in the table, IDLE, not evicting, and its mailbox is empty
 *    (outside a locked section of rx.c's routing, which fills a mailbox and
 *    claims its unit under one hold);
 *  - vtab_n = units in the table; vcount = those not evicting <= vactive_max.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "runtime/internal.h"

/* limits.h's memory figure for TIDAL_VIRTUAL_ACTIVE_* counts on this. */
_Static_assert(sizeof(struct tidal__unit) <= 120, "a virtual unit grew: update limits.h");

/* A key's hash, kept in its unit and in its slot: a probe compares the
 * slot's before it reads a unit, and a growing table moves slots without
 * reading any unit (with a million units, each read of one is a cache
 * miss). */
static uint32_t
key_hash(const uint8_t *key, uint32_t len)
{
    return (uint32_t)tidal_hash64(key, len, 0x7669727475616cull);
}

/* The table holds at most three quarters of its slots, so a probe for an
 * absent key ends at an empty slot after a few steps. */
static bool
vtab_full(const struct tidal__actor *act)
{
    return ((uint64_t)act->vtab_n + 1) * 4 > (uint64_t)act->vtab_cap * 3;
}

/* The slot where a probe for hash h, which is not in tab, stops. */
static uint32_t
vtab_free_slot(const struct tidal__vslot *tab, uint32_t cap, uint32_t h)
{
    uint32_t i = h & (cap - 1);
    while (tab[i].u != NULL) {
        i = (i + 1) & (cap - 1);
    }
    return i;
}

static int
vtab_grow(struct tidal__actor *act)
{
    uint32_t ncap = act->vtab_cap ? act->vtab_cap * 2 : 64;
    struct tidal__vslot *n = tidal__calloc_table(ncap, sizeof(*n));
    if (n == NULL) {
        return TIDAL_ENOMEM;
    }
    struct tidal__vslot *old = act->vtab;
    uint32_t ocap = act->vtab_cap;
    for (uint32_t i = 0; i < ocap; i++) {
        if (old[i].u != NULL) {
            n[vtab_free_slot(n, ncap, old[i].hash)] = old[i];
        }
    }
    act->vtab = n;
    act->vtab_cap = ncap;
    tidal__free(old);
    return 0;
}

void
tidal__vlru_push_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    TIDAL_ASSERT(!u->in_lru && !u->evicting);
    u->in_lru = 1;
    u->lru_next = NULL;
    u->lru_prev = act->vlru_tail;
    if (act->vlru_tail != NULL) {
        act->vlru_tail->lru_next = u;
    } else {
        act->vlru_head = u;
    }
    act->vlru_tail = u;
}

void
tidal__vlru_remove_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    if (!u->in_lru) {
        return;
    }
    if (u->lru_prev != NULL) {
        u->lru_prev->lru_next = u->lru_next;
    } else {
        act->vlru_head = u->lru_next;
    }
    if (u->lru_next != NULL) {
        u->lru_next->lru_prev = u->lru_prev;
    } else {
        act->vlru_tail = u->lru_prev;
    }
    u->lru_prev = u->lru_next = NULL;
    u->in_lru = 0;
}

/* u, the head of the idle list, is chosen to make room under the cap: it
 * stops counting as active and holds a place in queued_n until its fini is
 * done (internal.h, vlru_head).  The caller queues it for a worker. */
void
tidal__vtab_evict_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    TIDAL_ASSERT(u->in_lru && u->run_state == TIDAL__IDLE && u->mbox.len == 0);
    tidal__vlru_remove_locked(act, u);
    u->evicting = 1;
    act->vcount--;
    act->queued_n++;
}

/* An evicting unit becomes active again (wanted again, with room made for
 * it), or leaves the table: it gives its place in queued_n back, and the
 * socket may resume. */
static void
evict_release_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    TIDAL_ASSERT(u->evicting);
    TIDAL_ASSERT(act->queued_n > 0);
    u->evicting = 0;
    act->queued_n--;
    tidal__rx_resume_locked(act);
}

void
tidal__vtab_unevict_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    TIDAL_ASSERT(act->vcount < act->vactive_max);
    evict_release_locked(act, u);
    act->vcount++;
}

/* The unit for key, or NULL. */
struct tidal__unit *
tidal__vtab_find_locked(struct tidal__actor *act, const uint8_t *key, uint32_t key_len)
{
    TIDAL_ASSERT(key_len > 0);
    TIDAL_ASSERT(key_len <= TIDAL_KEY_BYTES_MAX);
    if (act->vtab_cap == 0) {
        return NULL;
    }
    uint32_t h = key_hash(key, key_len);
    uint32_t mask = act->vtab_cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        struct tidal__unit *u = act->vtab[i].u;
        if (u == NULL) {
            return NULL;
        }
        if (act->vtab[i].hash == h && u->key_len == key_len && memcmp(u->key, key, key_len) == 0) {
            return u;
        }
    }
}

/* Adds a unit for key, absent from the table, as active (inactive in the
 * sense of needs_init: its init runs before its first message).  The caller
 * made room under the cap.  NULL if memory ran out. */
struct tidal__unit *
tidal__vtab_insert_locked(struct tidal__actor *act, const uint8_t *key, uint32_t key_len)
{
    TIDAL_ASSERT(key_len > 0);
    TIDAL_ASSERT(key_len <= TIDAL_KEY_BYTES_MAX);
    TIDAL_ASSERT(act->vcount < act->vactive_max);
    if (vtab_full(act) && vtab_grow(act) != 0) {
        return NULL;
    }
    struct tidal__unit *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return NULL;
    }
    uint32_t h = key_hash(key, key_len);
    u->owner = act;
    u->is_virtual = 1;
    u->needs_init = 1;
    atomic_init(&u->next_msg_id, 1);
    u->key_len = (uint8_t)key_len;
    u->key_hash = h;
    memcpy(u->key, key, key_len);
    u->last_active_ms = tidal__now_coarse_ms(act->rt);
    act->vtab[vtab_free_slot(act->vtab, act->vtab_cap, h)] = (struct tidal__vslot){h, u};
    act->vtab_n++;
    act->vcount++;
    /* IDLE with an empty mailbox: on the idle list like any such unit, so
     * that one whose first message could not be queued is found by the cap;
     * claiming it for that message takes it off (pool.c) */
    tidal__vlru_push_locked(act, u);
    atomic_fetch_add(&act->rt->st_activations, 1);
    return u;
}

void
tidal__vtab_unlink(struct tidal__actor *act, struct tidal__unit *u)
{
    uint32_t mask = act->vtab_cap - 1;
    uint32_t i = u->key_hash & mask;
    while (act->vtab[i].u != u) {
        TIDAL_ASSERT(act->vtab[i].u != NULL);
        i = (i + 1) & mask;
    }
    /* Backward shift: each slot after the hole whose home is not between
     * the hole and it (cyclically) moves into the hole, so that every probe
     * still meets its key before an empty slot. */
    for (uint32_t j = (i + 1) & mask; act->vtab[j].u != NULL; j = (j + 1) & mask) {
        uint32_t home = act->vtab[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            act->vtab[i] = act->vtab[j];
            i = j;
        }
    }
    act->vtab[i] = (struct tidal__vslot){0, NULL};
    act->vtab_n--;
    if (u->evicting) {
        evict_release_locked(act, u);
    } else {
        act->vcount--;
    }
    tidal__vlru_remove_locked(act, u);
}

/* tidal_ctx_stop on a virtual actor: it leaves the table now (a later message
 * for its key activates a fresh one) and what it had queued is dead-lettered.
 * Caller holds act->lock and has just finished running u. */
void
tidal__vactor_retire_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    (void)tidal__mbox_drain(act->rt, act, &u->mbox);
    tidal__vtab_unlink(act, u);
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

/* Frees every virtual unit at stop: queued envelopes are dead-lettered and
 * fini runs for each active state.  The owner is stopping, nothing of it is
 * running or queued.  Cannot fail. */
void
tidal__vactor_free_all(struct tidal__actor *act)
{
    pthread_mutex_lock(&act->lock);
    TIDAL_ASSERT(act->stopping);
    TIDAL_ASSERT(act->running == 0);
    struct tidal__vslot *tab = act->vtab;
    uint32_t cap = act->vtab_cap;
    act->vtab = NULL;
    act->vtab_cap = 0;
    act->vtab_n = 0;
    act->vcount = 0;
    act->vlru_head = act->vlru_tail = NULL;
    for (uint32_t i = 0; i < cap; i++) {
        if (tab[i].u != NULL) {
            (void)tidal__mbox_drain(act->rt, act, &tab[i].u->mbox);
        }
    }
    pthread_mutex_unlock(&act->lock);
    for (uint32_t i = 0; i < cap; i++) {
        struct tidal__unit *u = tab[i].u;
        if (u == NULL) {
            continue;
        }
        if (!u->needs_init && act->vbeh.fini != NULL) {
            act->vbeh.fini(u->state, act->varg);
        }
        tidal__mbox_fini(&u->mbox);
        free(u);
    }
    free(tab);
}
