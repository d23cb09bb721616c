/*
 * Socket-backed actors: references, the id table, the name index, lookup,
 * mailbox credit and counters.  Spawn and stop are in spawn.c, supervision in
 * supervise.c.
 *
 * Ids pack a slot index (low 20 bits) and the slot's generation (high 12
 * bits, never 0): a stale id meets a newer generation, or an empty slot, and
 * gives TIDAL_ECLOSED instead of another actor.  Slots never move (the array
 * only grows), so ids stay valid.  Names are unique per runtime and indexed by
 * an open-addressing hash table beside the slots.
 *
 * Credit: `intake` counts the envelopes an actor has accepted (reserved by a
 * local sender, or received from a remote one) and not yet handled.  It never
 * exceeds intake_max: local senders reserve before sending and wait (or fail
 * with TIDAL_EFULL) at the bound; remote frames pause the socket's receive
 * loop at the bound, so nng's own queues push back on the remote sender.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "runtime/internal.h"
#include "base/time.h"

#define SLOT_BITS 20u
#define SLOT_MASK ((1u << SLOT_BITS) - 1u)
#define GEN_MASK 0xfffu

uint32_t
tidal__slot_index(uint32_t id)
{
    return id & SLOT_MASK;
}

void
tidal__actor_ref(struct tidal__actor *act)
{
    atomic_fetch_add(&act->refs, 1);
}

static void
actor_free(struct tidal__actor *act)
{
    tidal__room_fini(&act->room); /* left by a failed arm: the runtime is going */
    tidal__dupwins_free(act);
    free(act->scratch);
    free(act->pipes); /* listen.c's record of peer pipes */
    tidal__free(act->vtab);
    tidal__mbox_fini(&act->unit.mbox);
    pthread_mutex_destroy(&act->lock);
    pthread_cond_destroy(&act->cond);
    free(act);
}

void
tidal__actor_unref(struct tidal__actor *act)
{
    if (atomic_fetch_sub(&act->refs, 1) == 1) {
        actor_free(act);
    }
}

/* ---- tables (rt->actors_lock held) --------------------------------------- */

static int
names_grow(tidal_runtime *rt)
{
    uint32_t ncap = rt->names_cap ? rt->names_cap * 2 : 64;
    struct tidal__actor **n = calloc(ncap, sizeof(*n));
    if (n == NULL) {
        return TIDAL_ENOMEM;
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < rt->names_cap; i++) {
        struct tidal__actor *a = rt->names[i];
        if (a == NULL || a == TIDAL__TOMB) {
            continue;
        }
        uint64_t h = tidal__hash(a->name, a->name_len, 0);
        uint32_t j = (uint32_t)h & (ncap - 1);
        while (n[j] != NULL) {
            j = (j + 1) & (ncap - 1);
        }
        n[j] = a;
        used++;
    }
    free(rt->names);
    rt->names = n;
    rt->names_cap = ncap;
    rt->names_used = used;
    return 0;
}

/* The index of name in rt->names, or UINT32_MAX. */
uint32_t
tidal__names_find(tidal_runtime *rt, const char *name, size_t len)
{
    if (rt->names_cap == 0) {
        return UINT32_MAX;
    }
    uint32_t mask = rt->names_cap - 1;
    uint32_t j = (uint32_t)tidal__hash(name, len, 0) & mask;
    for (;;) {
        struct tidal__actor *a = rt->names[j];
        if (a == NULL) {
            return UINT32_MAX;
        }
        if (a != TIDAL__TOMB && a->name_len == len && memcmp(a->name, name, len) == 0) {
            return j;
        }
        j = (j + 1) & mask;
    }
}

int
tidal__names_insert(tidal_runtime *rt, struct tidal__actor *act)
{
    if ((rt->names_used + 1) * 2 > rt->names_cap) {
        int rv = names_grow(rt);
        if (rv != 0) {
            return rv;
        }
    }
    uint32_t mask = rt->names_cap - 1;
    uint32_t j = (uint32_t)tidal__hash(act->name, act->name_len, 0) & mask;
    while (rt->names[j] != NULL && rt->names[j] != TIDAL__TOMB) {
        j = (j + 1) & mask;
    }
    if (rt->names[j] == NULL) {
        rt->names_used++;
    }
    rt->names[j] = act;
    return 0;
}

/* Takes a free slot for act and sets act->id.  On error nothing changes. */
int
tidal__slot_take(tidal_runtime *rt, struct tidal__actor *act)
{
    /* a slot whose generation is spent is never reused: ids never repeat */
    uint32_t i = rt->slot_free_hint;
    while (i < rt->slot_cap && (rt->slots[i] != NULL || rt->slot_gen[i] == GEN_MASK)) {
        i++;
    }
    if (i == rt->slot_cap) {
        if (rt->slot_cap == TIDAL_SOCKET_ACTORS_MAX) {
            return TIDAL_ELIMIT;
        }
        uint32_t ncap = rt->slot_cap ? rt->slot_cap * 2 : 64;
        struct tidal__actor **s = realloc(rt->slots, ncap * sizeof(*s));
        if (s == NULL) {
            return TIDAL_ENOMEM;
        }
        rt->slots = s;
        uint32_t *g = realloc(rt->slot_gen, ncap * sizeof(*g));
        if (g == NULL) {
            return TIDAL_ENOMEM; /* slots grew: harmless, the cap did not change */
        }
        rt->slot_gen = g;
        memset(s + rt->slot_cap, 0, (ncap - rt->slot_cap) * sizeof(*s));
        memset(g + rt->slot_cap, 0, (ncap - rt->slot_cap) * sizeof(*g));
        rt->slot_cap = ncap;
    }
    uint32_t gen = rt->slot_gen[i] + 1; /* 1 .. GEN_MASK */
    rt->slot_gen[i] = gen;
    rt->slots[i] = act;
    rt->slot_free_hint = i + 1;
    act->id = (gen << SLOT_BITS) | i;
    return 0;
}

/* Removes act from both tables.  Returns false if it was not there. */
bool
tidal__tables_remove(tidal_runtime *rt, struct tidal__actor *act)
{
    uint32_t i = act->id & SLOT_MASK;
    if (i >= rt->slot_cap || rt->slots[i] != act) {
        return false;
    }
    rt->slots[i] = NULL;
    if (i < rt->slot_free_hint) {
        rt->slot_free_hint = i;
    }
    uint32_t j = tidal__names_find(rt, act->name, act->name_len);
    TIDAL_ASSERT(j != UINT32_MAX);
    rt->names[j] = TIDAL__TOMB;
    rt->actor_count--;
    return true;
}

struct tidal__actor *
tidal__actor_get(tidal_runtime *rt, tidal_actor a)
{
    uint32_t idx = a.id & SLOT_MASK;
    uint32_t gen = a.id >> SLOT_BITS;
    struct tidal__actor *act = NULL;
    pthread_mutex_lock(&rt->actors_lock);
    if (a.id != 0 && idx < rt->slot_cap && rt->slot_gen[idx] == gen && rt->slots[idx] != NULL) {
        act = rt->slots[idx];
        tidal__actor_ref(act);
    }
    pthread_mutex_unlock(&rt->actors_lock);
    return act;
}

struct tidal__actor *
tidal__actor_find(tidal_runtime *rt, const char *name, size_t len)
{
    struct tidal__actor *act = NULL;
    pthread_mutex_lock(&rt->actors_lock);
    uint32_t j = tidal__names_find(rt, name, len);
    if (j != UINT32_MAX) {
        act = rt->names[j];
        tidal__actor_ref(act);
    }
    pthread_mutex_unlock(&rt->actors_lock);
    return act;
}

/* ---- credit ----------------------------------------------------------------- */

/* Reserves n envelopes of room, waiting up to timeout_ms.  TIDAL_EFULL if no
 * room came in time, TIDAL_ECLOSED if the actor is stopping. */
int
tidal__actor_reserve(struct tidal__actor *act, uint32_t n, uint32_t timeout_ms)
{
    int rv = 0;
    pthread_mutex_lock(&act->lock);
    if (act->intake + n > act->intake_max && timeout_ms > 0 && !act->stopping) {
        struct timespec dl = tidal_deadline(CLOCK_REALTIME, timeout_ms);
        tidal_runtime *rt = act->rt;
        uint64_t dl_ms = tidal__now_ms(rt) + timeout_ms;
        act->credit_waiters++;
        while (act->intake + n > act->intake_max && !act->stopping) {
            if (tidal__block(rt, &act->cond, &act->lock, &dl, dl_ms) != 0) {
                break;
            }
        }
        act->credit_waiters--;
    }
    if (act->stopping) {
        rv = TIDAL_ECLOSED;
    } else if (act->intake + n > act->intake_max) {
        rv = TIDAL_EFULL;
    } else {
        act->intake += n;
        act->credit_inflight += n;
        tidal__room_taken(&act->room, n);
    }
    pthread_mutex_unlock(&act->lock);
    return rv;
}

/* Reserves room past the bound (an injected duplicate must not block). */
void
tidal__actor_force_reserve(struct tidal__actor *act, uint32_t n)
{
    pthread_mutex_lock(&act->lock);
    act->intake += n;
    act->credit_inflight += n;
    tidal__room_taken(&act->room, n);
    pthread_mutex_unlock(&act->lock);
}

/* A sender gives back room it reserved for envelopes that will never arrive
 * (dropped, or the send failed).  Caller holds act->lock. */
void
tidal__actor_unreserve(struct tidal__actor *act, uint32_t n)
{
    act->credit_inflight -= n <= act->credit_inflight ? n : act->credit_inflight;
    tidal__actor_release_intake(act, n);
}

/* An envelope flagged credited arrived: true if it matches a reservation of
 * this actor (and consumes it), false if it must be counted on arrival.
 * Caller holds act->lock. */
bool
tidal__actor_take_credit(struct tidal__actor *act)
{
    if (act->credit_inflight == 0) {
        return false;
    }
    act->credit_inflight--;
    return true;
}

/* ---- room notifications (room.c) ---- */

/* Room for a sender woken by tidal_ctx_when_room.  Caller holds act->lock. */
static bool
has_room_locked(const struct tidal__actor *act)
{
    return act->stopping || act->intake <= act->intake_max / 2;
}

/* The room a woken sender is presumed to take (room.c): a coalesced
 * frame's worth, or half the bound if that is less. */
static uint32_t
room_share(const struct tidal__actor *act)
{
    uint32_t half = act->intake_max / 2;
    if (half == 0) {
        return 1;
    }
    return half < TIDAL_COALESCE_ENVELOPES_MAX ? half : TIDAL_COALESCE_ENVELOPES_MAX;
}

int
tidal__actor_when_room(struct tidal__actor *act, tidal__timer_fn fn, void *arg,
                       void (*free_arg)(void *))
{
    pthread_mutex_lock(&act->lock);
    int rv = tidal__room_wait(&act->room, act->rt, has_room_locked(act), room_share(act), fn, arg,
                              free_arg);
    pthread_mutex_unlock(&act->lock);
    return rv;
}

/* The actor is stopping: wakes every waiter.  Caller holds act->lock. */
void
tidal__actor_room_stop_locked(struct tidal__actor *act)
{
    tidal__room_fire(&act->room, act->rt);
}

/* Gives back n envelopes of room.  Caller holds act->lock. */
void
tidal__actor_release_intake(struct tidal__actor *act, uint32_t n)
{
    TIDAL_ASSERT(act->intake >= n);
    act->intake -= n;
    if (act->room.head != NULL && act->stopping) {
        tidal__room_fire(&act->room, act->rt);
    } else if (act->room.head != NULL && has_room_locked(act)) {
        tidal__room_give(&act->room, act->rt, act->intake_max - act->intake, room_share(act),
                         act->intake == 0);
    }
    if (act->credit_waiters > 0) {
        pthread_cond_broadcast(&act->cond);
    }
    if (act->rx_paused && act->intake < act->intake_max) {
        tidal__rx_resume_locked(act);
    }
}

/* ---- lookup, addresses, stats ------------------------------------------------ */

int
tidal_lookup(tidal_runtime *rt, const char *name, tidal_actor *out)
{
    if (rt == NULL || name == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__actor *act = tidal__actor_find(rt, name, strlen(name));
    if (act == NULL || act->is_reply_endpoint) {
        if (act != NULL) {
            tidal__actor_unref(act);
        }
        return TIDAL_ENOENT;
    }
    out->id = act->id;
    tidal__actor_unref(act);
    return 0;
}

int
tidal_actor_addr(tidal_runtime *rt, tidal_actor a, tidal_addr *out)
{
    if (rt == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__actor *act = tidal__actor_get(rt, a);
    if (act == NULL) {
        return TIDAL_ECLOSED;
    }
    int rv = tidal_addr_make(out, act->url, act->name, NULL, 0);
    tidal__actor_unref(act);
    return rv;
}

int
tidal_actor_stats_get(tidal_runtime *rt, tidal_actor a, tidal_actor_stats *out)
{
    if (rt == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__actor *act = tidal__actor_get(rt, a);
    if (act == NULL) {
        return TIDAL_ECLOSED;
    }
    memset(out, 0, sizeof(*out));
    out->received = atomic_load(&act->st_received);
    out->handled = atomic_load(&act->st_handled);
    out->duplicates_seen = atomic_load(&act->st_dups);
    out->restarts = atomic_load(&act->st_restarts);
    pthread_mutex_lock(&act->lock);
    out->queued = act->intake;
    out->virtual_active = act->vcount;
    pthread_mutex_unlock(&act->lock);
    tidal__actor_unref(act);
    return 0;
}

/* Dead-letters everything queued (reason STOPPED) and releases its intake.
 * Returns how many were dropped.  Called with act->lock held. */
uint32_t
tidal__mbox_drain(tidal_runtime *rt, struct tidal__actor *act, struct tidal__mbox *mb)
{
    struct tidal__item it;
    uint32_t n = 0;
    while (tidal__mbox_pop(mb, &it, 1) == 1) {
        tidal__item_done(&it);
        n++;
    }
    if (n > 0) {
        tidal__dead(rt, TIDAL_DEAD_STOPPED, n);
        TIDAL_ASSERT(act->queued_n >= n);
        act->queued_n -= n;
        tidal__actor_release_intake(act, n);
    }
    return n;
}

/* A paused actor has room again: let its carrier hand frames over.  Caller
 * holds act->lock.  Cannot fail. */
void
tidal__rx_resume_locked(struct tidal__actor *act)
{
    if (act->rx_paused && !act->rx_closed && !act->rx_settling && act->queued_n < act->intake_max) {
        act->rx_paused = false;
        act->rt->carrier->rx_resume_locked(act);
    }
}
