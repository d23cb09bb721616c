/*
 * What every libFuzzer target in fuzz/ shares: the check that aborts (which
 * libFuzzer reports as a crash, and which fails a ctest replay), the rules a
 * result code must follow, and small helpers.  Header-only, all static: each
 * target is one translation unit, and tests/test_fuzz_*.c #include a target
 * to replay its corpus through the very same code.
 */
#ifndef TIDAL_FUZZ_COMMON_H
#define TIDAL_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messages/envelope.h"
#include "messages/mpread.h"
#include "tidal/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A result is 0 or one of tidal's codes: never garbage, never a negative
 * errno that slipped through. */
static inline bool
fuzz_code_ok(int rv)
{
    return rv == 0 || strcmp(tidal_errname(rv), "TIDAL_E?") != 0;
}

/* A decoder's result and its tidal_decode_err agree: a failure names its
 * id, its field, and an offset inside the input. */
static inline void
fuzz_check_decode(int rv, const tidal_decode_err *err, size_t len)
{
    if (rv == 0) {
        FUZZ_CHECK(err->code == 0);
        return;
    }
    FUZZ_CHECK(fuzz_code_ok(rv));
    FUZZ_CHECK(err->code == rv);
    FUZZ_CHECK(err->id != NULL);
    FUZZ_CHECK(err->what != NULL);
    FUZZ_CHECK(err->offset <= len);
}

static inline bool
fuzz_view_same(tidal_view a, tidal_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool
fuzz_bytes_same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Little-endian reads of the structure bytes targets put in front of their
 * input (callers check the length first). */
static inline uint16_t
fuzz_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint64_t
fuzz_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

#endif /* TIDAL_FUZZ_COMMON_H */
