/*
 * CRC32C, two ways that must agree bit for bit (see crc32c.h for the
 * parameters).
 *
 * Hardware: the SSE4.2 crc32 instruction folds 8 bytes per instruction (about
 * 8 bytes every 3 cycles, one dependent chain).  It is compiled with a
 * per-function target attribute and chosen at run time, so one binary runs on
 * any x86-64 and the build needs no -msse4.2.
 *
 * Software: slicing-by-8 (Kounavis and Berry): eight 256-entry tables, where
 * table k maps a byte to its CRC followed by k zero bytes, fold 8 bytes per
 * step with 8 independent lookups instead of 8 dependent ones.  The tables
 * are built once, on first use, under pthread_once.
 *
 * Both paths read the buffer a byte or a memcpy at a time: WAL buffers have
 * no alignment guarantee and an unaligned pointer cast is undefined behaviour
 * (UBSan reports it).  Multi-byte words are assembled little-endian
 * explicitly, because the reflected CRC consumes bytes in address order
 * whatever the host's byte order.
 */
#include "store/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define TIDAL_CRC32C_X86 1
#include <nmmintrin.h>
#endif

/* The reflected Castagnoli polynomial. */
#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
table_build(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        }
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = (c >> 8) ^ table[0][c & 0xffu];
            table[k][n] = c;
        }
    }
}

static uint32_t
load32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t
tidal_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /* pthread_once cannot fail with a valid control and routine. */
    (void)pthread_once(&table_once, table_build);
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = load32le(p) ^ crc;
        uint32_t hi = load32le(p + 4);
        crc = table[7][lo & 0xffu] ^ table[6][(lo >> 8) & 0xffu] ^ table[5][(lo >> 16) & 0xffu] ^
              table[4][lo >> 24] ^ table[3][hi & 0xffu] ^ table[2][(hi >> 8) & 0xffu] ^
              table[1][(hi >> 16) & 0xffu] ^ table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p) & 0xffu];
        p++;
        len--;
    }
    return ~crc;
}

#ifdef TIDAL_CRC32C_X86

static uint64_t
load64le(const unsigned char *p)
{
    /* x86 is little-endian, so a plain memcpy is already the LE word. */
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint64_t c = ~crc;

    /* Four words per iteration only trims loop overhead: the chain through c
     * is what bounds the speed. */
    while (len >= 32) {
        c = _mm_crc32_u64(c, load64le(p));
        c = _mm_crc32_u64(c, load64le(p + 8));
        c = _mm_crc32_u64(c, load64le(p + 16));
        c = _mm_crc32_u64(c, load64le(p + 24));
        p += 32;
        len -= 32;
    }
    while (len >= 8) {
        c = _mm_crc32_u64(c, load64le(p));
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len > 0) {
        c32 = _mm_crc32_u8(c32, *p);
        p++;
        len--;
    }
    return ~c32;
}

bool
tidal_crc32c_hw_available(void)
{
    /* Reads a word the compiler's runtime fills in by a constructor before
     * main: cheap enough per call, and free of any lazy-initialisation race. */
    return __builtin_cpu_supports("sse4.2");
}

uint32_t
tidal_crc32c(uint32_t crc, const void *buf, size_t len)
{
    if (tidal_crc32c_hw_available()) {
        return crc32c_hw(crc, buf, len);
    }
    return tidal_crc32c_sw(crc, buf, len);
}

#else /* !TIDAL_CRC32C_X86 */

bool
tidal_crc32c_hw_available(void)
{
    return false;
}

uint32_t
tidal_crc32c(uint32_t crc, const void *buf, size_t len)
{
    return tidal_crc32c_sw(crc, buf, len);
}

#endif /* TIDAL_CRC32C_X86 */
