/*
 * The payloads of tidal's own message types (types.h): per type a struct and
 * the uniform pair
 *
 *   int tidal_msg_<name>_encode(const tidal_msg_<name> *m, tidal_buf *out);
 *   int tidal_msg_<name>_decode(const uint8_t *buf, size_t len,
 *                               tidal_msg_<name> *m, tidal_decode_err *err);
 *
 * Every payload is one msgpack array of a fixed arity (layouts in
 * msg_ping.c, msg_counter.c and msg_system.c, beside their code).
 *
 * Encoders append to out.  They return TIDAL_EINVAL if a field is out of its
 * bound (nothing is written: the check runs first) or TIDAL_ENOMEM if out
 * could not grow; on error out's length is unchanged.
 *
 * Decoders read bytes from outside: exact arity, typed fields, bounds, no
 * trailing bytes (TIDAL_ETRAILING), no allocation.  On success the views in
 * *m point into buf, which must outlive them.  On error they return the
 * TIDAL_E* code, fill err (may be NULL; see mpread.h) and leave *m
 * unspecified.
 */
#ifndef TIDAL_MESSAGES_MSGS_H
#define TIDAL_MESSAGES_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages/buf.h"
#include "messages/envelope.h"
#include "messages/mpread.h"
#include "messages/types.h"
#include "tidal/errors.h"
#include "tidal/limits.h"

/* An opaque body (ping, pong, timer).  64 bytes below the envelope's payload
 * bound: the payload's array header, the uint64 before the body and the bin
 * header take at most 1 + 9 + 5 bytes, so any valid body fits a payload. */
#define TIDAL_MSG_BODY_BYTES_MAX (TIDAL_PAYLOAD_BYTES_MAX - 64u)

/* A child's exit code is a TIDAL_E* code.  Codes added after this build must
 * still decode, so the whole block above TIDAL_ERRNO_BASE is accepted; 0 (a
 * CHILD_EXIT reports a failure) and nng's codes are refused. */
#define TIDAL_MSG_EXIT_CODE_MIN (TIDAL_ERRNO_BASE + 1u)
#define TIDAL_MSG_EXIT_CODE_MAX (TIDAL_ERRNO_BASE + 999u)

/* PING: [seq uint64, body bin 0..TIDAL_MSG_BODY_BYTES_MAX]. */
typedef struct tidal_msg_ping {
    uint64_t seq;    /* chosen by the sender, echoed in the pong */
    tidal_view body; /* opaque; echoed in the pong */
} tidal_msg_ping;

/* PONG: the same layout as PING, carrying the ping's seq and body. */
typedef struct tidal_msg_pong {
    uint64_t seq;
    tidal_view body;
} tidal_msg_pong;

/* COUNTER_ADD: [delta int64]. */
typedef struct tidal_msg_counter_add {
    int64_t delta; /* added to the counter; may be negative */
} tidal_msg_counter_add;

/* COUNTER_READ: [] (an empty array).  C has no empty structs: the member is
 * ignored by the encoder and zeroed by the decoder. */
typedef struct tidal_msg_counter_read {
    uint8_t unused;
} tidal_msg_counter_read;

/* COUNTER_VALUE: [value int64]. */
typedef struct tidal_msg_counter_value {
    int64_t value;
} tidal_msg_counter_value;

/* CHILD_EXIT: [child str 1..TIDAL_NAME_BYTES_MAX-1, code uint32, restarts uint32,
 * stopped bool]. */
typedef struct tidal_msg_child_exit {
    tidal_view child;  /* the child actor's name */
    uint32_t code;     /* why it failed: TIDAL_MSG_EXIT_CODE_MIN..MAX */
    uint32_t restarts; /* restarts within the supervision window, this one included */
    bool stopped;      /* true if the supervisor gave up and stopped it */
} tidal_msg_child_exit;

/* TIMER: [tag uint64, body bin 0..TIDAL_MSG_BODY_BYTES_MAX]. */
typedef struct tidal_msg_timer {
    uint64_t tag;    /* chosen by whoever set the timer */
    tidal_view body; /* opaque, chosen by whoever set the timer */
} tidal_msg_timer;

int tidal_msg_ping_encode(const tidal_msg_ping *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_ping_decode(const uint8_t *buf, size_t len, tidal_msg_ping *m, tidal_decode_err *err)
    __attribute__((warn_unused_result));

int tidal_msg_pong_encode(const tidal_msg_pong *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_pong_decode(const uint8_t *buf, size_t len, tidal_msg_pong *m, tidal_decode_err *err)
    __attribute__((warn_unused_result));

int tidal_msg_counter_add_encode(const tidal_msg_counter_add *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_counter_add_decode(const uint8_t *buf, size_t len, tidal_msg_counter_add *m,
                                 tidal_decode_err *err) __attribute__((warn_unused_result));

int tidal_msg_counter_read_encode(const tidal_msg_counter_read *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_counter_read_decode(const uint8_t *buf, size_t len, tidal_msg_counter_read *m,
                                  tidal_decode_err *err) __attribute__((warn_unused_result));

int tidal_msg_counter_value_encode(const tidal_msg_counter_value *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_counter_value_decode(const uint8_t *buf, size_t len, tidal_msg_counter_value *m,
                                   tidal_decode_err *err) __attribute__((warn_unused_result));

int tidal_msg_child_exit_encode(const tidal_msg_child_exit *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_child_exit_decode(const uint8_t *buf, size_t len, tidal_msg_child_exit *m,
                                tidal_decode_err *err) __attribute__((warn_unused_result));

int tidal_msg_timer_encode(const tidal_msg_timer *m, tidal_buf *out)
    __attribute__((warn_unused_result));
int tidal_msg_timer_decode(const uint8_t *buf, size_t len, tidal_msg_timer *m,
                           tidal_decode_err *err) __attribute__((warn_unused_result));

#endif /* TIDAL_MESSAGES_MSGS_H */
