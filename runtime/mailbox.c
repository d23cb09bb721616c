/*
 * Mailboxes: a growable ring of queued envelopes per unit, and the frames
 * their views point into.
 *
 * Invariants:
 *  - An item's envelope views point into its frame's nng message, which stays
 *    alive until every item of the frame is done (frame refcount).
 *  - A ring never holds more than its bound; it grows by doubling from
 *    TIDAL__MBOX_FIRST_CAP and a virtual unit's is freed whenever it goes
 *    idle (pool.c), so an idle virtual actor costs no ring at all.
 * All functions here run under the owner's lock (or with no other thread able
 * to see the mailbox).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* Writes a frame's header (layout: mailbox.h) for a sender of uid.
 * Cannot fail. */
void
tidal__frame_header(uint8_t h[TIDAL_FRAME_HEADER_BYTES], uint64_t uid)
{
    memcpy(h, TIDAL_FRAME_MAGIC, 4);
    h[4] = TIDAL_FRAME_VERSION;
    h[5] = h[6] = h[7] = 0;
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (uint8_t)(uid >> (8 * i));
    }
}

void
tidal__frame_unref(struct tidal__frame *f)
{
    tidal__frame_unref_n(f, 1);
}

/* Drops n references at once (the items of one frame a burst handled).
 * Cannot fail. */
void
tidal__frame_unref_n(struct tidal__frame *f, uint32_t n)
{
    TIDAL_ASSERT(n > 0);
    if (atomic_fetch_sub(&f->refs, n) == n) {
        nng_msg_free(f->msg);
        free(f);
    }
}

void
tidal__item_done(struct tidal__item *it)
{
    tidal__frame_unref(it->frame);
    it->frame = NULL;
}

/* Appends a copy of *it.  TIDAL_EFULL at the bound, TIDAL_ENOMEM if the ring
 * cannot grow; on error nothing changes. */
int
tidal__mbox_push(struct tidal__mbox *mb, const struct tidal__item *it, uint32_t bound)
{
    if (mb->len >= bound) {
        return TIDAL_EFULL;
    }
    if (mb->len == mb->cap) {
        uint32_t ncap = mb->cap ? mb->cap * 2 : TIDAL__MBOX_FIRST_CAP;
        struct tidal__item *n = malloc((size_t)ncap * sizeof(*n));
        if (n == NULL) {
            return TIDAL_ENOMEM;
        }
        for (uint32_t i = 0; i < mb->len; i++) {
            n[i] = mb->ring[(mb->head + i) & (mb->cap - 1)];
        }
        free(mb->ring);
        mb->ring = n;
        mb->cap = ncap;
        mb->head = 0;
    }
    mb->ring[(mb->head + mb->len) & (mb->cap - 1)] = *it;
    mb->len++;
    return 0;
}

/* Moves up to max items, oldest first, into out.  Returns how many.
 * Cannot fail. */
uint32_t
tidal__mbox_pop(struct tidal__mbox *mb, struct tidal__item *out, uint32_t max)
{
    uint32_t n = mb->len < max ? mb->len : max;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = mb->ring[mb->head];
        mb->head = (mb->head + 1) & (mb->cap - 1);
    }
    mb->len -= n;
    return n;
}

/* Frees the ring (items must have been drained).  Cannot fail. */
void
tidal__mbox_fini(struct tidal__mbox *mb)
{
    TIDAL_ASSERT(mb->len == 0);
    free(mb->ring);
    mb->ring = NULL;
    mb->cap = 0;
    mb->head = 0;
}

/* The handler's view of a queued envelope.  Cannot fail. */
void
tidal__item_msg(const struct tidal__item *it, tidal_msg *m)
{
    const tidal_envelope *e = &it->env;
    m->type = e->type;
    m->id = e->id;
    m->hlc = e->hlc;
    m->payload = e->payload.len ? e->payload.ptr : NULL;
    m->len = e->payload.len;
    m->from_name = (const char *)e->from_name.ptr;
    m->from_name_len = e->from_name.len;
    m->from_key = e->from_key.ptr;
    m->from_key_len = e->from_key.len;
    m->corr = e->corr;
    m->is_reply = (e->flags & TIDAL_ENV_F_REPLY) != 0;
    m->can_reply = e->has_reply;
    m->via = it->via;
    m->internal = e;
}
