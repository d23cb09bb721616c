/*
 * The versioned msgpack envelope: the unit every actor sends and receives.
 *
 * Wire layout (version 1): one msgpack array of exactly 10 elements
 *
 *   idx  field    msgpack type                       bound / meaning
 *   0    version  positive int                       == TIDAL_ENVELOPE_VERSION
 *   1    type     positive int                       1..65535, known (types.h)
 *   2    from     array[2] [name str, key bin]       name 1..TIDAL_NAME_BYTES_MAX-1,
 *                                                    key 0..TIDAL_KEY_BYTES_MAX
 *   3    to       array[2] [name str, key bin]       same bounds as from
 *   4    id       positive int (uint64)              sender's message id
 *   5    hlc      array[3] [wall uint64, logical uint32, node uint16]
 *   6    payload  bin                                0..TIDAL_PAYLOAD_BYTES_MAX
 *   7    reply    nil | array[3] [url str, name str, key bin]   where a reply goes
 *   8    corr     positive int (uint64)              correlation id, 0 = none
 *   9    flags    positive int                       bits in TIDAL_ENV_F_*; others 0
 *
 * An envelope is valid if and only if:
 *   1. it is an array of exactly 10 elements and every element has the type
 *      above (ints in any msgpack int width, holding a value in range);
 *   2. version equals TIDAL_ENVELOPE_VERSION (else TIDAL_EVERSION, checked
 *      before any other field, so a future version is refused, never misread);
 *   3. type is a known type (else TIDAL_ETYPE);
 *   4. every str/bin is within its bound (else TIDAL_ETOOBIG) and every
 *      declared container length fits in the bytes left (else TIDAL_ELENGTH;
 *      but TIDAL_ETRUNCATED when the length is the expected one and the input
 *      just ends early, see mpread.h);
 *   5. the reply url, when present, is 1..TIDAL_URL_BYTES_MAX-1 bytes, and
 *      the reply name and key have the bounds of from's;
 *   6. no bit outside TIDAL_ENV_F_MASK is set in flags (else TIDAL_EFIELD).
 * Input that ends early is TIDAL_ETRUNCATED.  tidal_envelope_decode_one reads
 * one envelope from the front of a buffer (a frame holds several, back to
 * back); tidal_envelope_decode_exact also refuses trailing bytes with
 * TIDAL_ETRAILING.
 *
 * An unknown version is refused whole.  When you add a field: bump
 * TIDAL_ENVELOPE_VERSION, extend the table above, the encoder and the decoder
 * (side by side in envelope.c), the round-trip test and the fuzz corpus.
 */
#ifndef TIDAL_MESSAGES_ENVELOPE_H
#define TIDAL_MESSAGES_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "messages/buf.h"
#include "messages/mpread.h"
#include "tidal/hlc.h"

#define TIDAL_ENVELOPE_VERSION 1u
#define TIDAL_ENVELOPE_FIELDS 10u

#define TIDAL_ENV_F_REPLY 0x01u     /* this envelope answers an ask (corr set) */
#define TIDAL_ENV_F_SYSTEM 0x02u    /* sent by the runtime itself, not a handler */
#define TIDAL_ENV_F_CREDITED 0x04u  /* the sender reserved mailbox room for it; honoured
                                       only in a frame from the receiver's own runtime */
#define TIDAL_ENV_F_MASK 0x07u

/* A string or byte view; not NUL-terminated, not owned. */
typedef struct tidal_view {
    const uint8_t *ptr;
    uint32_t len;
} tidal_view;

/* An envelope.  For encoding, the views point at the caller's data; after
 * decoding, they point into the decoded buffer, which must outlive them. */
typedef struct tidal_envelope {
    uint16_t type;
    uint8_t flags;
    tidal_view from_name;
    tidal_view from_key;
    tidal_view to_name;
    tidal_view to_key;
    uint64_t id;
    tidal_hlc hlc;
    tidal_view payload;
    bool has_reply;
    tidal_view reply_url;
    tidal_view reply_name;
    tidal_view reply_key;
    uint64_t corr;
} tidal_envelope;

/* Packs e with pk.  TIDAL_EINVAL if a field is out of its bound (e is then
 * not packed at all: the check runs first); TIDAL_ENOMEM if the packer's
 * write failed (part of e may have been written). */
int tidal_envelope_pack(msgpack_packer *pk, const tidal_envelope *e)
    __attribute__((warn_unused_result));

/* Appends e's encoding to out: the same bytes as tidal_envelope_pack, written
 * directly (messages/mpwrite.h) because this is the hot path.  TIDAL_EINVAL
 * for a field out of bounds, TIDAL_ENOMEM if out cannot grow; on error out's
 * length is unchanged. */
int tidal_envelope_encode(const tidal_envelope *e, tidal_buf *out)
    __attribute__((warn_unused_result));

/* Decodes one envelope from the front of [buf, buf+len).  On success *used is
 * its size in bytes and *e views into buf.  On error returns the code, fills
 * err (may be NULL), and leaves *e and *used unspecified.  Allocates nothing. */
int tidal_envelope_decode_one(const uint8_t *buf, size_t len, size_t *used, tidal_envelope *e,
                              tidal_decode_err *err) __attribute__((warn_unused_result));

/* As decode_one, and refuses trailing bytes (TIDAL_ETRAILING). */
int tidal_envelope_decode_exact(const uint8_t *buf, size_t len, tidal_envelope *e,
                                tidal_decode_err *err) __attribute__((warn_unused_result));

/* True if the view equals the NUL-terminated string s.  Cannot fail. */
bool tidal_view_eq(tidal_view v, const char *s);

#endif /* TIDAL_MESSAGES_ENVELOPE_H */
