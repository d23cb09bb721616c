/*
 * Bounded little-endian byte writer and reader for the state encodings of
 * store/ (pncounter, lww, hardneg, signals, session, hwm).
 *
 * The writer never writes past its capacity: it keeps counting, so an encoder
 * runs to the end and reports the size it needed (encoders return
 * TIDAL_ETOOBIG with *len set to that size).  With a NULL buffer it only
 * measures, and with a hasher attached every byte also goes into the hash, so
 * an entry's hash is exactly the hash of its encoding without building it.
 *
 * The reader checks every length against what remains and returns
 * TIDAL_ETRUNCATED instead of reading past the end.
 *
 * An HLC is written as 14 bytes: wall u64, logical u32, node id u16.
 */
#ifndef TIDAL_STORE_BYTES_H
#define TIDAL_STORE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/hash.h"
#include "tidal/errors.h"
#include "tidal/hlc.h"

#define TIDAL__HLC_BYTES 14u

typedef struct tidal__wr {
    uint8_t *buf;       /* NULL: measure (and hash) only */
    size_t cap;         /* bytes available at buf */
    size_t len;         /* bytes produced so far, even past cap */
    tidal_hasher *hash; /* NULL, or a hash that every byte also feeds */
} tidal__wr;

typedef struct tidal__rd {
    const uint8_t *p; /* the input */
    size_t len;       /* its length */
    size_t off;       /* bytes consumed */
} tidal__rd;

static inline void
tidal__wr_init(tidal__wr *w, uint8_t *buf, size_t cap, tidal_hasher *hash)
{
    w->buf = buf;
    w->cap = buf != NULL ? cap : 0;
    w->len = 0;
    w->hash = hash;
}

static inline void
tidal__wr_bytes(tidal__wr *w, const void *p, size_t n)
{
    if (n == 0) {
        return;
    }
    if (w->buf != NULL && w->len <= w->cap && n <= w->cap - w->len) {
        memcpy(w->buf + w->len, p, n);
    }
    if (w->hash != NULL) {
        tidal_hasher_update(w->hash, p, n);
    }
    w->len += n;
}

static inline void
tidal__wr_uint(tidal__wr *w, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    tidal__wr_bytes(w, b, n);
}

static inline void
tidal__wr_u8(tidal__wr *w, uint8_t v)
{
    tidal__wr_uint(w, v, 1);
}

static inline void
tidal__wr_u16(tidal__wr *w, uint16_t v)
{
    tidal__wr_uint(w, v, 2);
}

static inline void
tidal__wr_u32(tidal__wr *w, uint32_t v)
{
    tidal__wr_uint(w, v, 4);
}

static inline void
tidal__wr_u64(tidal__wr *w, uint64_t v)
{
    tidal__wr_uint(w, v, 8);
}

static inline void
tidal__wr_hlc(tidal__wr *w, const tidal_hlc *ts)
{
    tidal__wr_u64(w, ts->wall_ns);
    tidal__wr_u32(w, ts->logical);
    tidal__wr_u16(w, ts->node_id);
}

/* *len = bytes the encoding needs; TIDAL_ETOOBIG if they did not fit (the
 * buffer then holds a prefix and must not be used).  With a NULL buffer the
 * capacity is 0, so this measures: TIDAL_ETOOBIG and the size. */
static inline int
tidal__wr_finish(const tidal__wr *w, size_t *len)
{
    *len = w->len;
    return w->len > w->cap ? TIDAL_ETOOBIG : 0;
}

static inline void
tidal__rd_init(tidal__rd *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p != NULL ? len : 0;
    r->off = 0;
}

static inline size_t
tidal__rd_left(const tidal__rd *r)
{
    return r->len - r->off;
}

/* *out points at the next n bytes, which are consumed.  TIDAL_ETRUNCATED if
 * fewer remain (nothing consumed). */
static inline int
tidal__rd_bytes(tidal__rd *r, const uint8_t **out, size_t n)
{
    if (n > tidal__rd_left(r)) {
        return TIDAL_ETRUNCATED;
    }
    *out = r->p + r->off;
    r->off += n;
    return 0;
}

static inline int
tidal__rd_uint(tidal__rd *r, uint64_t *v, unsigned n)
{
    const uint8_t *b = NULL;
    int rv = tidal__rd_bytes(r, &b, n);
    *v = 0;
    if (rv != 0) {
        return rv;
    }
    for (unsigned i = 0; i < n; i++) {
        *v |= (uint64_t)b[i] << (8 * i);
    }
    return 0;
}

static inline int
tidal__rd_u8(tidal__rd *r, uint8_t *v)
{
    uint64_t x = 0;
    int rv = tidal__rd_uint(r, &x, 1);
    *v = (uint8_t)x;
    return rv;
}

static inline int
tidal__rd_u16(tidal__rd *r, uint16_t *v)
{
    uint64_t x = 0;
    int rv = tidal__rd_uint(r, &x, 2);
    *v = (uint16_t)x;
    return rv;
}

static inline int
tidal__rd_u32(tidal__rd *r, uint32_t *v)
{
    uint64_t x = 0;
    int rv = tidal__rd_uint(r, &x, 4);
    *v = (uint32_t)x;
    return rv;
}

static inline int
tidal__rd_u64(tidal__rd *r, uint64_t *v)
{
    return tidal__rd_uint(r, v, 8);
}

static inline int
tidal__rd_hlc(tidal__rd *r, tidal_hlc *ts)
{
    uint64_t wall = 0;
    uint32_t logical = 0;
    uint16_t node = 0;
    int rv;

    if ((rv = tidal__rd_u64(r, &wall)) != 0 || (rv = tidal__rd_u32(r, &logical)) != 0 ||
        (rv = tidal__rd_u16(r, &node)) != 0) {
        return rv;
    }
    ts->wall_ns = wall;
    ts->logical = logical;
    ts->node_id = node;
    return 0;
}

/* 0 if every byte was consumed, TIDAL_ETRAILING otherwise. */
static inline int
tidal__rd_end(const tidal__rd *r)
{
    return tidal__rd_left(r) == 0 ? 0 : TIDAL_ETRAILING;
}

#endif /* TIDAL_STORE_BYTES_H */
