/*
 * Message types: one number per kind of payload, and one encode/decode pair
 * per type (messages/msg_*.c), uniform in shape:
 *
 *   int tidal_msg_<name>_encode(const tidal_msg_<name> *m, tidal_buf *out);
 *   int tidal_msg_<name>_decode(const uint8_t *buf, size_t len,
 *                               tidal_msg_<name> *m, tidal_decode_err *err);
 *
 * Decoders are strict like the envelope's: exact array arity, typed fields,
 * bounds, no trailing bytes, no allocation (views into the input).
 *
 * Numbers 1..999 belong to tidal and must appear in TIDAL_MSG_TYPE_MAP; an
 * envelope carrying an unlisted number in that range is refused with
 * TIDAL_ETYPE.  Numbers TIDAL_MSG_TYPE_USER_MIN..65535 are for applications
 * and tests; their payload is opaque to tidal.  0 is never valid.
 *
 * These numbers are on the wire and on disk: never renumber.  When you add a
 * type: add it to the map, write msg_<name>.c with its encoder and decoder side
 * by side, a round-trip test, a malformed-input test and a fuzz seed.
 */
#ifndef TIDAL_MESSAGES_TYPES_H
#define TIDAL_MESSAGES_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#define TIDAL_MSG_TYPE_USER_MIN 1000u

/* X(name, number, description) */
#define TIDAL_MSG_TYPE_MAP(X)                                                          \
    X(PING, 1, "ping: seq + opaque body, answered by pong")                            \
    X(PONG, 2, "pong: the ping's seq + body")                                          \
    X(COUNTER_ADD, 3, "add a signed delta to a counter")                               \
    X(COUNTER_READ, 4, "ask for a counter's value")                                    \
    X(COUNTER_VALUE, 5, "a counter's value")                                           \
    X(CHILD_EXIT, 6, "supervision: a child failed and was restarted or stopped")       \
    X(TIMER, 7, "a timer fired (payload chosen by whoever set it)")                    \
    X(BATCH, 10, "replication: a WAL batch shipped to a peer")                         \
    X(ACK, 11, "replication: highest LSN of an origin applied")                        \
    X(PEER, 12, "replication: a region introduces itself")                             \
    X(CLOCK, 13, "replication: a region's wall clock, read as it sends")              \
    X(WRITE, 20, "client: a write for a region or session actor")                      \
    X(WRITE_RESULT, 21, "client: the result of a write")                               \
    X(HANDOVER_REQ, 22, "session: asks the home region to hand a session over")        \
    X(HANDOVER, 23, "session: the old home hands a session over")                      \
    X(DIGEST, 30, "reconciler: bucket hashes of a region's state")                     \
    X(ENTRIES, 31, "reconciler: the entries of differing buckets")                     \
    X(TICK, 32, "a periodic timer tick")

enum tidal_msg_type {
#define TIDAL__MSG_TYPE_ENUM(name, n, desc) TIDAL_MSG_##name = (n),
    TIDAL_MSG_TYPE_MAP(TIDAL__MSG_TYPE_ENUM)
#undef TIDAL__MSG_TYPE_ENUM
};

/* True for a tidal type in the map or any number in TIDAL_MSG_TYPE_USER_MIN..65535
 * (the wire carries 16 bits).  Cannot fail. */
bool tidal_msg_type_known(uint32_t type);

/* The type's name ("PING"), or NULL if not in the map. */
const char *tidal_msg_type_name(uint32_t type);

#endif /* TIDAL_MESSAGES_TYPES_H */
