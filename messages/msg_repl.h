/*
 * Replication payloads: what regions, shippers, reconcilers and clients send
 * each other.  Same uniform shape as msgs.h: per type a struct and
 *   int tidal_msg_<name>_encode(const tidal_msg_<name> *m, tidal_buf *out);
 *   int tidal_msg_<name>_decode(const uint8_t *buf, size_t len,
 *                               tidal_msg_<name> *m, tidal_decode_err *err);
 * Layouts (msgpack arrays of exact arity; nothing may follow):
 *
 *   type  name          layout
 *   10    BATCH         [origin u16, shard u16, batch bin <= TIDAL_REPL_BATCH_BYTES_MAX]
 *   11    ACK           [origin u16, shard u16, applied_lsn u64]
 *   12    PEER          [region u16, region url str, shipper url str, reconciler url str]
 *   13    CLOCK         [wall_ns u64]: the sender's wall clock as it sends, read by
 *                       its peers' clock estimates (actors/clock.c).  A new type:
 *                       a region of an older version does not take it (counted as
 *                       TIDAL-REGION-MSG-TYPE there), and sends none, so its peers
 *                       never count it reachable for their clock fence
 *   20    WRITE         [req_id u64, record bin <= TIDAL_REPL_RECORD_BYTES_MAX]
 *   21    WRITE_RESULT  [code u32, seqno u64, lsn u64, shard u16]
 *   22    HANDOVER_REQ  [sid bin16, to_region u16]
 *   23    HANDOVER      [sid bin16, next_seqno u64, code u32]
 *   30    DIGEST        [from u16, round u64, hashes bin (8-byte LE words, a power
 *                        of two of them, <= TIDAL_REPL_DIGEST_BUCKETS_MAX),
 *                        on_demand bool (, covers array <= TIDAL_REGIONS_MAX
 *                        of u64)]: covers, on periodic digests only, is the
 *                        sender's position in each origin's log (index: origin
 *                        id, missing ones 0) when it hashed its state.  A
 *                        digest without it (4 elements: on demand, or from an
 *                        older region) is still taken; an older region
 *                        refuses a periodic digest with it (counted there as
 *                        TIDAL-REGION-DIGEST-DECODE) and answers on-demand ones
 *   31    ENTRIES       [from u16, round u64, want bin (bitmap, may be empty),
 *                        last bool, reply bool, part u32, whole bool,
 *                        entries array <= TIDAL_REPL_ENTRIES_MAX of bin]
 *   32    TICK          not msgpack: an empty payload is the actor's periodic
 *                       tick from its own timer, and the actor re-arms the
 *                       timer; a one-byte payload is a wake-up on demand (from
 *                       its region's writers, sync thread or API), after which
 *                       the timer keeps its own pace
 *
 * Views in decoded structs point into the input buffer.  Encoders refuse a
 * field out of bounds with TIDAL_EINVAL (nothing written); decoders refuse
 * malformed input with the mpread.h codes, and an url/bucket count that breaks
 * its rule with TIDAL_EFIELD.
 */
#ifndef TIDAL_MESSAGES_MSG_REPL_H
#define TIDAL_MESSAGES_MSG_REPL_H

#include "messages/msgs.h"
#include "store/batch.h"

#define TIDAL_REPL_BATCH_BYTES_MAX (TIDAL_BATCH_HEADER_BYTES + TIDAL_BATCH_PAYLOAD_BYTES_MAX)
_Static_assert(TIDAL_REPL_BATCH_BYTES_MAX + 64u <= TIDAL_PAYLOAD_BYTES_MAX,
               "a BATCH message (batch plus its wrapper) fits one envelope payload");

typedef struct tidal_msg_batch {
    uint16_t origin;
    uint16_t shard;
    tidal_view batch; /* header + payload, verbatim (store/batch.h) */
} tidal_msg_batch;

typedef struct tidal_msg_ack {
    uint16_t origin;
    uint16_t shard;
    uint64_t applied_lsn;
} tidal_msg_ack;

typedef struct tidal_msg_clock {
    uint64_t wall_ns; /* the sender's wall clock (ns since the epoch) as it sent */
} tidal_msg_clock;

typedef struct tidal_msg_peer {
    uint16_t region;
    tidal_view region_url;
    tidal_view shipper_url;
    tidal_view reconciler_url;
} tidal_msg_peer;

typedef struct tidal_msg_write {
    uint64_t req_id;   /* idempotency key chosen by the client; 0 = none */
    tidal_view record; /* an encoded tidal_record (messages/record.h) */
} tidal_msg_write;

typedef struct tidal_msg_write_result {
    uint32_t code; /* 0 or a TIDAL_E* code */
    uint64_t seqno;
    uint64_t lsn;
    uint16_t shard;
} tidal_msg_write_result;

typedef struct tidal_msg_handover_req {
    uint8_t sid[16];
    uint16_t to_region;
} tidal_msg_handover_req;

typedef struct tidal_msg_handover {
    uint8_t sid[16];
    uint64_t next_seqno;
    uint32_t code; /* 0, or why the old home refused */
} tidal_msg_handover;

typedef struct tidal_msg_digest {
    uint16_t from;
    uint64_t round;
    tidal_view hashes; /* nbuckets * 8 bytes */
    bool on_demand;    /* asked for (a heal, a released log), not the timer's: always
                          answered (actors/reconciler.c, "Periodic rounds") */
    uint32_t ncovers;  /* 0: no covers on the wire (the 4-element form) */
    uint64_t covers[TIDAL_REGIONS_MAX]; /* [o]: the sender's position in origin o's
                                           log as it hashed its state; 0 past ncovers */
} tidal_msg_digest;

typedef struct tidal_msg_entries {
    uint16_t from;
    uint64_t round;
    tidal_view want; /* bitmap over buckets the sender wants entries of */
    bool last;       /* the sender's last ENTRIES message of this answer */
    bool reply;      /* answers the receiver's own DIGEST of `round`; false: answers
                        the want of the receiver's ENTRIES (a peer's round) */
    uint32_t part;   /* this message's place among the sender's ENTRIES of this
                        answer, from 0: the receiver tells a lost one */
    bool whole;      /* the answer leaves out none of the entries asked for (one
                        too big to travel is left out: actors/reconciler.c) */
    uint32_t count;  /* entries */
    tidal_view entries_raw; /* decode: the msgpack array body, walk with
                               tidal_msg_entries_next; encode: ignored */
    const tidal_view *entries; /* encode: count views; decode: unused */
} tidal_msg_entries;

#define TIDAL__REPL_DECL(name)                                                             \
    int tidal_msg_##name##_encode(const tidal_msg_##name *m, tidal_buf *out)               \
        __attribute__((warn_unused_result));                                               \
    int tidal_msg_##name##_decode(const uint8_t *buf, size_t len, tidal_msg_##name *m,     \
                                  tidal_decode_err *err) __attribute__((warn_unused_result));
TIDAL__REPL_DECL(batch)
TIDAL__REPL_DECL(ack)
TIDAL__REPL_DECL(clock)
TIDAL__REPL_DECL(peer)
TIDAL__REPL_DECL(write)
TIDAL__REPL_DECL(write_result)
TIDAL__REPL_DECL(handover_req)
TIDAL__REPL_DECL(handover)
TIDAL__REPL_DECL(digest)
TIDAL__REPL_DECL(entries)
#undef TIDAL__REPL_DECL

/* Walks a decoded ENTRIES message: *cursor starts at 0; fills *entry with the
 * next entry's bytes.  Returns 0, TIDAL_ENOENT at the end.  The decoder has
 * already validated every entry, so this cannot fail otherwise. */
int tidal_msg_entries_next(const tidal_msg_entries *m, size_t *cursor, tidal_view *entry);

#endif /* TIDAL_MESSAGES_MSG_REPL_H */
