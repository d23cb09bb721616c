/*
 * A direct msgpack writer for the hot path: static inline functions that
 * write one value at p and return the position after it.  The caller has
 * reserved room (tidal_buf_reserve) for the largest encoding of what it
 * writes; nothing here checks bounds.
 *
 * Each function emits exactly the bytes msgpack-c 4.0's packer emits for the
 * same value (smallest int encoding for unsigned values, str8 for 32..255-byte
 * strings, bin8/16/32, fixarray/array16/array32), so the two encoders are
 * interchangeable on the wire; tests/test_envelope.c pins that equality for
 * every width.
 */
#ifndef TIDAL_MESSAGES_MPWRITE_H
#define TIDAL_MESSAGES_MPWRITE_H

#include <stdint.h>
#include <string.h>

/* Largest encodings, for reservations. */
#define TIDAL_MPW_UINT_MAX_BYTES 9u
#define TIDAL_MPW_HEADER_MAX_BYTES 5u

static inline uint8_t *
tidal_mpw_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *
tidal_mpw_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static inline uint8_t *
tidal_mpw_uint(uint8_t *p, uint64_t v)
{
    if (v < 128u) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (v < 256u) {
        p[0] = 0xcc;
        p[1] = (uint8_t)v;
        return p + 2;
    }
    if (v < 65536u) {
        *p = 0xcd;
        return tidal_mpw_be16(p + 1, (uint16_t)v);
    }
    if (v < 4294967296ull) {
        *p = 0xce;
        return tidal_mpw_be32(p + 1, (uint32_t)v);
    }
    *p = 0xcf;
    p = tidal_mpw_be32(p + 1, (uint32_t)(v >> 32));
    return tidal_mpw_be32(p, (uint32_t)v);
}

static inline uint8_t *
tidal_mpw_array(uint8_t *p, uint32_t n)
{
    if (n < 16u) {
        *p = (uint8_t)(0x90u | n);
        return p + 1;
    }
    if (n < 65536u) {
        *p = 0xdc;
        return tidal_mpw_be16(p + 1, (uint16_t)n);
    }
    *p = 0xdd;
    return tidal_mpw_be32(p + 1, n);
}

static inline uint8_t *
tidal_mpw_nil(uint8_t *p)
{
    *p = 0xc0;
    return p + 1;
}

static inline uint8_t *
tidal_mpw_str(uint8_t *p, const void *s, uint32_t n)
{
    if (n < 32u) {
        *p++ = (uint8_t)(0xa0u | n);
    } else if (n < 256u) {
        *p++ = 0xd9;
        *p++ = (uint8_t)n;
    } else if (n < 65536u) {
        *p = 0xda;
        p = tidal_mpw_be16(p + 1, (uint16_t)n);
    } else {
        *p = 0xdb;
        p = tidal_mpw_be32(p + 1, n);
    }
    if (n > 0) {
        memcpy(p, s, n);
    }
    return p + n;
}

static inline uint8_t *
tidal_mpw_bin(uint8_t *p, const void *b, uint32_t n)
{
    if (n < 256u) {
        *p++ = 0xc4;
        *p++ = (uint8_t)n;
    } else if (n < 65536u) {
        *p = 0xc5;
        p = tidal_mpw_be16(p + 1, (uint16_t)n);
    } else {
        *p = 0xc6;
        p = tidal_mpw_be32(p + 1, n);
    }
    if (n > 0) {
        memcpy(p, b, n);
    }
    return p + n;
}

static inline uint8_t *
tidal_mpw_double(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    *p = 0xcb;
    p = tidal_mpw_be32(p + 1, (uint32_t)(bits >> 32));
    return tidal_mpw_be32(p, (uint32_t)bits);
}

#endif /* TIDAL_MESSAGES_MPWRITE_H */
