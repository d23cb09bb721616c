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
static inline int tidal_mpr_array_exact(tidal_mpr *r, uint32_t n, const char *what);
/* An array header with at most max elements (TIDAL_ETOOBIG if more); count in *n. */
static inline int tidal_mpr_array(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what);
/* A map header with at most max pairs (TIDAL_ETOOBIG if more; each pair needs
 * two bytes). */
int tidal_mpr_map(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what);
/* Unsigned integer (any msgpack int encoding holding a value >= 0) <= max;
 * a negative value or one over max is TIDAL_EFIELD. */
static inline int tidal_mpr_uint(tidal_mpr *r, uint64_t max, uint64_t *v, const char *what);
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
static inline int tidal_mpr_str(tidal_mpr *r, uint32_t max, const char **s, uint32_t *len,
                                const char *what);
/* bin of at most max bytes, as a view. */
static inline int tidal_mpr_bin(tidal_mpr *r, uint32_t max, const uint8_t **b, uint32_t *len,
                                const char *what);
/* Fails with TIDAL_ETRAILING unless the input is fully consumed. */
int tidal_mpr_done(tidal_mpr *r, const char *what);

/* Records a failure at the cursor (for decoders' own semantic checks, such as
 * a version or type value out of range).  Returns code. */
int tidal_mpr_fail(tidal_mpr *r, int code, const char *what, uint64_t expected, uint64_t actual);

/* ---- the common forms, read inline ------------------------------------------
 *
 * A decoder reads a dozen or more values per envelope, and most are the
 * short forms: a fixint or a 1- to 8-byte uint, a fixstr, a bin8, a
 * fixarray.  The readers above take those here, in the caller, when
 * every rule holds; any other form, and every failure, goes to the full
 * reader (mpread.c, tidal__mpr_*_any), which applies the rules in their
 * order and reports the error.  So what is accepted and what each failure
 * says is the full reader's alone. */

int tidal__mpr_array_any(tidal_mpr *r, bool exact, uint32_t want, uint32_t *n, const char *what);
int tidal__mpr_uint_any(tidal_mpr *r, uint64_t max, uint64_t *v, const char *what);
int tidal__mpr_raw_any(tidal_mpr *r, bool is_str, uint32_t max, const uint8_t **ptr,
                       uint32_t *len, const char *what);

/* Big-endian loads; the input needs no alignment. */
static inline uint64_t
tidal__mpr_be(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

static inline int
tidal_mpr_array_exact(tidal_mpr *r, uint32_t n, const char *what)
{
    const uint8_t *p = r->p;
    if (n < 16 && p < r->end && p[0] == (0x90u | n) && (size_t)(r->end - p) - 1 >= n) {
        r->p = p + 1;
        return 0;
    }
    uint32_t got;
    return tidal__mpr_array_any(r, true, n, &got, what);
}

static inline int
tidal_mpr_array(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what)
{
    const uint8_t *p = r->p;
    if (p < r->end && (p[0] & 0xf0u) == 0x90u) {
        uint32_t count = p[0] & 0x0fu;
        if (count <= max && (size_t)(r->end - p) - 1 >= count) {
            r->p = p + 1;
            *n = count;
            return 0;
        }
    }
    return tidal__mpr_array_any(r, false, max, n, what);
}

static inline int
tidal_mpr_uint(tidal_mpr *r, uint64_t max, uint64_t *v, const char *what)
{
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (left > 0) {
        uint8_t b = p[0];
        /* 0xcc..0xcf: uint8, uint16, uint32, uint64 */
        unsigned bytes = b <= 0x7fu ? 0 : b >= 0xccu && b <= 0xcfu ? 1u << (b - 0xccu) : 99;
        if (bytes < 99 && left > bytes) {
            uint64_t u = bytes == 0 ? b : tidal__mpr_be(p + 1, bytes);
            if (u <= max) {
                r->p = p + 1 + bytes;
                *v = u;
                return 0;
            }
        }
    }
    return tidal__mpr_uint_any(r, max, v, what);
}

static inline int
tidal_mpr_str(tidal_mpr *r, uint32_t max, const char **s, uint32_t *len, const char *what)
{
    const uint8_t *p = r->p;
    if (p < r->end && (p[0] & 0xe0u) == 0xa0u) {
        uint32_t n = p[0] & 0x1fu;
        if (n <= max && (size_t)(r->end - p) - 1 >= n) {
            *s = (const char *)(p + 1);
            *len = n;
            r->p = p + 1 + n;
            return 0;
        }
    }
    const uint8_t *raw = NULL;
    int rv = tidal__mpr_raw_any(r, true, max, &raw, len, what);
    if (rv == 0) {
        *s = (const char *)raw;
    }
    return rv;
}

static inline int
tidal_mpr_bin(tidal_mpr *r, uint32_t max, const uint8_t **b, uint32_t *len, const char *what)
{
    const uint8_t *p = r->p;
    if ((size_t)(r->end - p) >= 2 && p[0] == 0xc4u) { /* bin8 */
        uint32_t n = p[1];
        if (n <= max && (size_t)(r->end - p) - 2 >= n) {
            *b = p + 2;
            *len = n;
            r->p = p + 2 + n;
            return 0;
        }
    }
    return tidal__mpr_raw_any(r, false, max, b, len, what);
}

#endif /* TIDAL_MESSAGES_MPREAD_H */
