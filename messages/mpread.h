/*
 * A bounded, strict, non-allocating msgpack reader.
 *
 * msgpack-c's unpacker allocates what the input declares (docs/dependencies.md:
 * five bytes can ask for 128 GiB), so every decoder that reads bytes from
 * outside uses this cursor instead.  Invariants:
 *  - It never reads past end and never allocates.
 *  - A container header whose declared element count needs more bytes than
 *    are left (one per array element, two per map pair) fails before anything
 *    is read: with TIDAL_ELENGTH if the count is not one the caller accepts
 *    (the length itself is bogus, such as `dd ff ff ff ff`), with
 *    TIDAL_ETRUNCATED if it is (the input just ended early: a valid message
 *    cut anywhere reads as truncated).  A count that fits but is refused is
 *    TIDAL_EFIELD (exact arity) or TIDAL_ETOOBIG (over a maximum).
 *  - Input that ends inside a value fails with TIDAL_ETRUNCATED; a value of
 *    another msgpack type than asked, or an int outside the range asked, fails
 *    with TIDAL_EFIELD; a str/bin longer than the caller's bound fails with
 *    TIDAL_ETOOBIG (checked before truncation: a huge declared length is too
 *    big, not truncated).
 *  - On any failure the cursor does not move and err records the offset.
 *  - Strings and binaries are returned as views into the input (no copy).
 */
#ifndef TIDAL_MESSAGES_MPREAD_H
#define TIDAL_MESSAGES_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where and why decoding stopped: a stable id for counters and logs
 * ("TIDAL-DECODE-TRUNCATED"), the byte offset, and for length problems the
 * limit expected and the value found. */
typedef struct tidal_decode_err {
    int code;          /* TIDAL_E* code, 0 while no error */
    const char *id;    /* stable id, e.g. "TIDAL-DECODE-TRUNCATED"; NULL while no error */
    const char *what;  /* the field being read, e.g. "envelope.from.name" */
    size_t offset;     /* byte offset in the input where the problem starts */
    uint64_t expected; /* a bound or wanted value, when meaningful (else 0) */
    uint64_t actual;   /* the value found, when meaningful (else 0) */
} tidal_decode_err;

typedef struct tidal_mpr {
    const uint8_t *start; /* the whole input, for offsets */
    const uint8_t *p;     /* next byte */
    const uint8_t *end;   /* one past the last byte */
    tidal_decode_err *err; /* filled on the first failure only (may be NULL) */
} tidal_mpr;

/* Starts a cursor over [buf, buf+len).  err may be NULL; if not, it is
 * cleared (code 0, id NULL).  Cannot fail. */
void tidal_mpr_init(tidal_mpr *r, const void *buf, size_t len, tidal_decode_err *err);

/* Bytes not yet read.  Cannot fail. */
size_t tidal_mpr_left(const tidal_mpr *r);

/* Each reader below returns 0 and advances, or returns a TIDAL_E* code,
 * fills r->err (with `what` as the field name) and does not advance. */

/* An array header with exactly n elements (TIDAL_EFIELD if the count differs). */
int tidal_mpr_array_exact(tidal_mpr *r, uint32_t n, const char *what);
/* An array header with at most max elements (TIDAL_ETOOBIG if more); count in *n. */
int tidal_mpr_array(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what);
/* A map header with at most max pairs (TIDAL_ETOOBIG if more; each pair needs
 * two bytes). */
int tidal_mpr_map(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what);
/* Unsigned integer (any msgpack int encoding holding a value >= 0) <= max;
 * a negative value or one over max is TIDAL_EFIELD. */
int tidal_mpr_uint(tidal_mpr *r, uint64_t max, uint64_t *v, const char *what);
/* Signed integer within [INT64_MIN, INT64_MAX]. */
int tidal_mpr_int(tidal_mpr *r, int64_t *v, const char *what);
/* float32 or float64 (ints refused). */
int tidal_mpr_double(tidal_mpr *r, double *v, const char *what);
/* true/false. */
int tidal_mpr_bool(tidal_mpr *r, bool *v, const char *what);
/* nil: 0 and advances if the next value is nil; *was_nil says which.
 * Never fails except on truncation. */
int tidal_mpr_nil(tidal_mpr *r, bool *was_nil, const char *what);
/* str of at most max bytes, as a view (not NUL-terminated). */
int tidal_mpr_str(tidal_mpr *r, uint32_t max, const char **s, uint32_t *len, const char *what);
/* bin of at most max bytes, as a view. */
int tidal_mpr_bin(tidal_mpr *r, uint32_t max, const uint8_t **b, uint32_t *len,
                  const char *what);
/* Fails with TIDAL_ETRAILING unless the input is fully consumed. */
int tidal_mpr_done(tidal_mpr *r, const char *what);

/* Records a failure at the cursor (for decoders' own semantic checks, such as
 * a version or type value out of range).  Returns code. */
int tidal_mpr_fail(tidal_mpr *r, int code, const char *what, uint64_t expected, uint64_t actual);

#endif /* TIDAL_MESSAGES_MPREAD_H */
