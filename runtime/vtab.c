/*
 * The table of an owner's virtual actors (owner->vtab, by key): finding or
 * creating a unit, retiring one that stopped itself, and freeing them all
 * when the owner stops.  Passivation of idle ones is vactor.c's.
 *
 * Invariant: the table, and every unit's mailbox and run_state, are guarded
 * by owner->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* A key's hash, kept in its unit: a lookup compares it before the key, and
 * a growing table moves a unit without reading its key (with a million
 * units, each read of one is a cache miss). */
static uint32_t
key_hash(const uint8_t *key, uint32_t len)
{
    return (uint32_t)tidal__hash(key, len, 0x7669727475616cull);
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
            uint32_t j = u->key_hash & (ncap - 1);
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
    TIDAL_ASSERT(key_len > 0);
    TIDAL_ASSERT(key_len <= TIDAL_KEY_BYTES_MAX);
    uint32_t h = key_hash(key, key_len);
    if (act->vtab_cap > 0) {
        for (struct tidal__unit *u = act->vtab[h & (act->vtab_cap - 1)]; u != NULL;
             u = u->hash_next) {
            if (u->key_hash == h && u->key_len == key_len && memcmp(u->key, key, key_len) == 0) {
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
    u->key_hash = h;
    memcpy(u->key, key, key_len);
    u->last_active_ms = tidal__now_ms();
    uint32_t j = h & (act->vtab_cap - 1);
    u->hash_next = act->vtab[j];
    act->vtab[j] = u;
    act->vcount++;
    atomic_fetch_add(&act->rt->st_activations, 1);
    return u;
}

void
tidal__vtab_unlink(struct tidal__actor *act, struct tidal__unit *u)
{
    struct tidal__unit **pp = &act->vtab[u->key_hash & (act->vtab_cap - 1)];
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
