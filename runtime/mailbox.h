/*
 * Frames and mailboxes, shared by the files of runtime/: the frame an nng
 * message carries (its header, and the rules a valid one keeps), the
 * queued envelope that views into it, and the ring of them a unit has
 * (mailbox.c).  Included by internal.h, whose lock order applies: a
 * mailbox is guarded by its owner's lock.
 */
#ifndef TIDAL_RUNTIME_MAILBOX_H
#define TIDAL_RUNTIME_MAILBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "messages/envelope.h"
#include "tidal/runtime.h"

/* ---- Frames: one nng message of coalesced envelopes ----------------------
 *
 *   offset size  field
 *   0      4     magic "TDLF"
 *   4      1     frame version (1)
 *   5      1     flags: none defined, must be 0
 *   6      2     reserved, zero
 *   8      8     sender runtime uid (little endian)
 *   16     ...   envelopes back to back (messages/envelope.h)
 *
 * A frame is valid iff: it is at most TIDAL_FRAME_BYTES_MAX bytes, its header
 * is exactly as above (unknown version or flag bits refused), it holds 1 to
 * TIDAL_FRAME_ENVELOPES_MAX envelopes and every envelope decodes strictly with
 * nothing left over.  An invalid frame is rejected whole: none of its
 * envelopes is delivered.  An envelope's TIDAL_ENV_F_CREDITED flag counts
 * only when the uid is the receiver's own runtime. */
#define TIDAL_FRAME_MAGIC "TDLF"
#define TIDAL_FRAME_VERSION 1u
#define TIDAL_FRAME_HEADER_BYTES 16u

struct tidal__frame {
    nng_msg *msg;
    atomic_uint refs; /* queued items still pointing into msg */
};

/* One queued envelope: a view into its frame. */
struct tidal__item {
    struct tidal__frame *frame;
    tidal_envelope env;
    bool credited; /* arrived on a reservation (rx scratch only) */
    uint16_t via;  /* the connection it came through (tidal_msg.via) */
};

/* A ring's first capacity, in items (192 bytes each).  Small, because a
 * virtual actor's ring is freed whenever it goes idle and made again for
 * its next message (mailbox.c): a ring of two stays within glibc's
 * per-thread cache (chunks up to 1032 bytes), where eight items' 1.5 KiB
 * went through the shared heap on every activation. */
#define TIDAL__MBOX_FIRST_CAP 2u

/* A growable ring of items, up to its owner's bound. */
struct tidal__mbox {
    struct tidal__item *ring;
    uint32_t cap;
    uint32_t head;
    uint32_t len;
};

/* ---- mailbox.c ---- */
void tidal__frame_header(uint8_t h[TIDAL_FRAME_HEADER_BYTES], uint64_t uid);
int tidal__mbox_push(struct tidal__mbox *mb, const struct tidal__item *it, uint32_t bound);
uint32_t tidal__mbox_pop(struct tidal__mbox *mb, struct tidal__item *out, uint32_t max);
void tidal__mbox_fini(struct tidal__mbox *mb);
void tidal__item_done(struct tidal__item *it);
void tidal__frame_unref(struct tidal__frame *f);
void tidal__frame_unref_n(struct tidal__frame *f, uint32_t n);
void tidal__item_msg(const struct tidal__item *it, tidal_msg *m);

#endif /* TIDAL_RUNTIME_MAILBOX_H */
