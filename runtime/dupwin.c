/*
 * Duplicate windows: for each sender it hears from, an actor keeps the
 * highest message id seen and a bitmap of the TIDAL_DUP_WINDOW_IDS ids below
 * it (an anti-replay window, as in IPsec), so a repeated (sender, id) is
 * counted as a duplicate.  A sender is (runtime uid, name, virtual key):
 * each virtual actor numbers its own messages, and two runtimes may use one
 * name.
 *
 * An actor keeps at most TIDAL_DUP_SENDERS_MAX windows, the least recently
 * heard sender's going first, so memory stays bounded however many names a
 * peer makes up.  The windows are in a list by recency and, past a few, in
 * a hash index by sender that grows with them: a fan-in from a thousand
 * senders, whose frames change sender every few envelopes, walked the list
 * to the one it wanted each time, and that walk was most of the receiving
 * thread's own time (docs/measurements.md).  The most recent sender is
 * compared first, so a steady sender costs no hash.
 *
 * Everything here runs under the actor's lock (rx.c), or once nothing else
 * can reach the actor (actor.c frees it).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* Windows an actor keeps before it indexes them: a short list is walked. */
#define INDEX_FROM 8u

/* Shifts a multi-word bitmap towards higher bit numbers by s (< window). */
static void
bits_shift(uint64_t *w, uint32_t words, uint64_t s)
{
    uint32_t ws = (uint32_t)(s / 64), bs = (uint32_t)(s % 64);
    for (uint32_t i = words; i-- > 0;) {
        uint64_t v = i >= ws ? w[i - ws] << bs : 0;
        if (bs != 0 && i >= ws + 1) {
            v |= w[i - ws - 1] >> (64 - bs);
        }
        w[i] = v;
    }
}

/* True if id was seen within w's window; records it either way. */
static bool
window_check(struct tidal__dupwin *w, uint64_t id)
{
    const uint32_t words = TIDAL_DUP_WINDOW_IDS / 64;
    if (id > w->top) {
        uint64_t s = id - w->top;
        if (s >= TIDAL_DUP_WINDOW_IDS) {
            memset(w->bits, 0, sizeof(w->bits));
        } else {
            bits_shift(w->bits, words, s);
        }
        w->top = id;
        w->bits[0] |= 1;
        return false;
    }
    uint64_t back = w->top - id;
    if (back >= TIDAL_DUP_WINDOW_IDS) {
        return false; /* older than the window: cannot tell */
    }
    uint64_t bit = 1ull << (back % 64);
    bool seen = (w->bits[back / 64] & bit) != 0;
    w->bits[back / 64] |= bit;
    return seen;
}

static bool
same_sender(const struct tidal__dupwin *w, uint64_t uid, const tidal_envelope *e)
{
    return w->uid == uid && w->name_len == e->from_name.len && w->key_len == e->from_key.len &&
           memcmp(w->name, e->from_name.ptr, e->from_name.len) == 0 &&
           memcmp(w->key, e->from_key.ptr, e->from_key.len) == 0;
}

/* ---- the list by recency ------------------------------------------------- */

static void
list_unlink(struct tidal__actor *act, struct tidal__dupwin *w)
{
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        act->dupwins = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    } else {
        act->dupwins_tail = w->prev;
    }
    w->prev = w->next = NULL;
}

static void
list_push_front(struct tidal__actor *act, struct tidal__dupwin *w)
{
    w->prev = NULL;
    w->next = act->dupwins;
    if (act->dupwins != NULL) {
        act->dupwins->prev = w;
    } else {
        act->dupwins_tail = w;
    }
    act->dupwins = w;
}

/* ---- the index by sender ---------------------------------------------------
 * NULL, or every window of the actor, chained by hnext in dupidx_cap (a
 * power of two, at least the window count) buckets. */

static void
index_add(struct tidal__actor *act, struct tidal__dupwin *w)
{
    struct tidal__dupwin **b = &act->dupidx[w->hash & (act->dupidx_cap - 1)];
    w->hnext = *b;
    *b = w;
}

static void
index_remove(struct tidal__actor *act, struct tidal__dupwin *w)
{
    if (act->dupidx == NULL) {
        return;
    }
    struct tidal__dupwin **pp = &act->dupidx[w->hash & (act->dupidx_cap - 1)];
    while (*pp != w) {
        TIDAL_ASSERT(*pp != NULL); /* every window is indexed */
        pp = &(*pp)->hnext;
    }
    *pp = w->hnext;
    w->hnext = NULL;
}

/* Indexes every window in a table of at least dupwin_n buckets.  False
 * without memory: the index it had (or none) is kept, which finds the same
 * windows, only slower. */
static bool
index_grow(struct tidal__actor *act)
{
    uint32_t cap = act->dupidx_cap ? act->dupidx_cap : 16;
    while (cap < act->dupwin_n) {
        cap *= 2;
    }
    struct tidal__dupwin **idx = calloc(cap, sizeof(*idx));
    if (idx == NULL) {
        return false;
    }
    free(act->dupidx);
    act->dupidx = idx;
    act->dupidx_cap = cap;
    for (struct tidal__dupwin *w = act->dupwins; w != NULL; w = w->next) {
        index_add(act, w);
    }
    return true;
}

/* The window of the sender of e (hash h), through the index when there is
 * one, else along the list; NULL if the actor has none. */
static struct tidal__dupwin *
find(struct tidal__actor *act, uint64_t h, uint64_t uid, const tidal_envelope *e)
{
    if (act->dupidx != NULL) {
        struct tidal__dupwin *w = act->dupidx[h & (act->dupidx_cap - 1)];
        for (; w != NULL; w = w->hnext) {
            if (w->hash == h && same_sender(w, uid, e)) {
                return w;
            }
        }
        return NULL;
    }
    for (struct tidal__dupwin *w = act->dupwins; w != NULL; w = w->next) {
        if (w->hash == h && same_sender(w, uid, e)) {
            return w;
        }
    }
    return NULL;
}

/* A window for a sender not heard from: a new one, or the least recently
 * heard sender's once the actor has TIDAL_DUP_SENDERS_MAX.  NULL without
 * memory. */
static struct tidal__dupwin *
window_new(struct tidal__actor *act)
{
    struct tidal__dupwin *w;
    if (act->dupwin_n >= TIDAL_DUP_SENDERS_MAX) {
        w = act->dupwins_tail;
        list_unlink(act, w);
        index_remove(act, w);
        memset(w, 0, sizeof(*w));
        return w;
    }
    if ((w = calloc(1, sizeof(*w))) != NULL) {
        act->dupwin_n++;
    }
    return w;
}

/* True if (sender, id) of e, arrived in a frame of runtime uid, was seen
 * within the window; records it either way.  Caller holds act->lock. */
bool
tidal__dup_seen(struct tidal__actor *act, uint64_t uid, const tidal_envelope *e)
{
    struct tidal__dupwin *w = act->dupwins;
    if (w != NULL && same_sender(w, uid, e)) {
        return window_check(w, e->id);
    }
    uint64_t h = tidal__hash(e->from_name.ptr, e->from_name.len, uid);
    h = tidal__hash(e->from_key.ptr, e->from_key.len, h);
    if ((w = find(act, h, uid, e)) != NULL) {
        list_unlink(act, w);
        list_push_front(act, w);
        return window_check(w, e->id);
    }
    if ((w = window_new(act)) == NULL) {
        return false; /* cannot track: deliver, uncounted */
    }
    w->hash = h;
    w->uid = uid;
    w->name_len = e->from_name.len;
    memcpy(w->name, e->from_name.ptr, e->from_name.len);
    w->key_len = e->from_key.len;
    memcpy(w->key, e->from_key.ptr, e->from_key.len);
    list_push_front(act, w);
    bool grown = act->dupwin_n > INDEX_FROM && act->dupwin_n > act->dupidx_cap &&
                 index_grow(act); /* indexes w with the rest */
    if (!grown && act->dupidx != NULL) {
        index_add(act, w);
    }
    return window_check(w, e->id);
}

/* Frees every window of an actor nothing else can reach.  Cannot fail. */
void
tidal__dupwins_free(struct tidal__actor *act)
{
    for (struct tidal__dupwin *w = act->dupwins, *n; w != NULL; w = n) {
        n = w->next;
        free(w);
    }
    free(act->dupidx);
    act->dupwins = act->dupwins_tail = NULL;
    act->dupidx = NULL;
    act->dupidx_cap = 0;
    act->dupwin_n = 0;
}
