/*
 * WAL records: the msgpack records inside a batch's payload (store/batch.h).
 * They are on disk and on the wire: never renumber a kind.
 *
 * Every record is one msgpack array whose first element is its kind:
 *
 *   kind              layout
 *   1 SESSION_START   [1, sid bin16, user uint, home uint16, hlc]
 *   2 SESSION_SIGNAL  [2, sid bin16, seqno uint>=1, type str 1..31 no NUL, item uint,
 *                      weight float64, ts_ns uint, origin uint16,
 *                      p_minute uint, p_hour uint, hlc]
 *                     the hlc (the origin's clock at the write) is left out
 *                     when all zero: 10 fields, as every SIGNAL written
 *                     before stamps were kept, which decodes with a zero
 *                     hlc; 11 fields carry a stamp that is not all zero
 *                     (an 11th field of zeros is TIDAL_EFIELD), so each
 *                     record has one encoding
 *   3 SESSION_END     [3, sid bin16, hlc]
 *   4 SESSION_HOME    [4, sid bin16, home uint16, next_seqno uint, hlc]
 *   5 HIDE            [5, user uint, item uint, hlc]
 *   6 UNHIDE          [6, user uint, item uint, hlc]
 *   7 USER_COUNTER    [7, user uint, key str 1..31 no NUL, origin uint16 < 16,
 *                      p uint, n uint], (p, n) not (0, 0)
 *   hlc = [wall uint64, logical uint32, node uint16]
 *
 * Why SESSION_SIGNAL carries p_minute / p_hour: they are the origin's own
 * PN-counter components for (item, type) in the signal's minute and hour
 * buckets *after* this signal, not a +1.  USER_COUNTER carries, the same
 * way, the origin's (P, N) component of the (user, key) PN-counter after the
 * write (store/ucounters.h), not its delta.  Applying a record is then a max-merge
 * (and the session's signal list a union by seqno), so a batch applied twice,
 * replayed, or overtaken by reconciliation never counts anything twice.
 *
 * A record is valid iff it has its kind's exact arity and field types, in
 * bounds (TIDAL_EFIELD / TIDAL_ETOOBIG / TIDAL_ETRUNCATED / TIDAL_ELENGTH as
 * mpread.h), its kind is known (else TIDAL_ETYPE), and — for
 * tidal_record_decode_exact — nothing follows it (TIDAL_ETRAILING).
 *
 * When you add a kind: append it to TIDAL_RECORD_KIND_MAP, extend the table,
 * the encoder and decoder (side by side in record.c), and the round-trip and
 * malformed-input tests; docs/wal-format.md's table; the fuzz seeds
 * (fuzz/seeds_util.c, then build/tests/fuzz_seeds fuzz/corpus); who applies
 * it (actors/state.c) and who may write it (actors/apply.c,
 * record_foreign).
 */
#ifndef TIDAL_MESSAGES_RECORD_H
#define TIDAL_MESSAGES_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages/buf.h"
#include "messages/mpread.h"
#include "tidal/hlc.h"
#include "tidal/limits.h"

#define TIDAL_RECORD_KIND_MAP(X)                                                           \
    X(SESSION_START, 1)                                                                    \
    X(SESSION_SIGNAL, 2)                                                                   \
    X(SESSION_END, 3)                                                                      \
    X(SESSION_HOME, 4)                                                                     \
    X(HIDE, 5)                                                                             \
    X(UNHIDE, 6)                                                                           \
    X(USER_COUNTER, 7)

enum tidal_record_kind {
#define TIDAL__RECORD_KIND_ENUM(name, n) TIDAL_REC_##name = (n),
    TIDAL_RECORD_KIND_MAP(TIDAL__RECORD_KIND_ENUM)
#undef TIDAL__RECORD_KIND_ENUM
};

typedef struct tidal_record {
    uint8_t kind;            /* enum tidal_record_kind */
    uint8_t sid[16];         /* session id, big endian (hi then lo) */
    uint64_t user;           /* START, HIDE, UNHIDE, USER_COUNTER */
    uint64_t item;           /* SIGNAL, HIDE, UNHIDE */
    uint16_t region;         /* START: home; HOME: new home; SIGNAL, USER_COUNTER: origin */
    uint64_t seqno;          /* SIGNAL: its seqno; HOME: next seqno at the new home */
    tidal_hlc hlc;           /* START, END, HOME, HIDE, UNHIDE; SIGNAL: its stamp */
    char type[TIDAL_SIGNAL_TYPE_BYTES_MAX + 1]; /* SIGNAL: NUL-terminated */
    double weight;           /* SIGNAL */
    uint64_t ts_ns;          /* SIGNAL */
    uint64_t p_minute;       /* SIGNAL: origin's component after it, minute bucket */
    uint64_t p_hour;         /* SIGNAL: same, hour bucket */
    char key[TIDAL_USER_COUNTER_KEY_BYTES_MAX + 1]; /* USER_COUNTER: NUL-terminated */
    uint64_t cp;             /* USER_COUNTER: origin's P after it */
    uint64_t cn;             /* USER_COUNTER: origin's N after it */
    int64_t delta;           /* USER_COUNTER at its origin, for the write's gate
                                (cp, cn come from it); never encoded, 0 decoded */
} tidal_record;

/* Appends r's encoding to out.  TIDAL_EINVAL for an unknown kind or a field
 * out of bounds (nothing written); TIDAL_ENOMEM (out unchanged). */
int tidal_record_encode(const tidal_record *r, tidal_buf *out) __attribute__((warn_unused_result));

/* Decodes one record from the front of buf; *used gets its size.  On error
 * returns the code and fills err (may be NULL); *r is unspecified. */
int tidal_record_decode_one(const uint8_t *buf, size_t len, size_t *used, tidal_record *r,
                            tidal_decode_err *err) __attribute__((warn_unused_result));

/* As decode_one and refuses trailing bytes. */
int tidal_record_decode_exact(const uint8_t *buf, size_t len, tidal_record *r,
                              tidal_decode_err *err) __attribute__((warn_unused_result));

/* The kind's name ("SESSION_SIGNAL"), or NULL if unknown. */
const char *tidal_record_kind_name(uint32_t kind);

#endif /* TIDAL_MESSAGES_RECORD_H */
