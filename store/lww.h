/*
 * A last-writer-wins register holding an opaque value of at most
 * TIDAL_LWW_VALUE_BYTES_MAX bytes, ordered by the full HLC triple.
 *
 * A write is (value, stamp).  The register keeps the write with the greatest
 * stamp in the total order (wall, logical, node id) of tidal_hlc_compare, so
 * writes on two nodes with the same (wall, logical) are ordered by node id.
 * Two different values with the very same triple can only come from a bug or
 * forged input; to stay convergent even then, the tie goes to the greater
 * value (longer first, then memcmp).  set and merge are therefore the same
 * operation: a commutative, associative, idempotent max.
 *
 * A flat value type (no allocation, nothing to free).  Not thread-safe.
 */
#ifndef TIDAL_STORE_LWW_H
#define TIDAL_STORE_LWW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/bytes.h"
#include "tidal/hlc.h"
#include "tidal/limits.h"

/* Bytes of the largest encoding. */
#define TIDAL_LWW_ENCODED_BYTES_MAX (1 + 14 + 2 + TIDAL_LWW_VALUE_BYTES_MAX)

typedef struct tidal_lww {
    tidal_hlc stamp; /* the winning write's stamp (zero while empty) */
    uint16_t len;    /* value bytes */
    bool set;        /* false until the first write */
    uint8_t value[TIDAL_LWW_VALUE_BYTES_MAX];
} tidal_lww;

/* An empty register (no value).  Cannot fail. */
void tidal_lww_init(tidal_lww *r);

/* Offers the write (value[0..len), stamp): it replaces the current one if the
 * register is empty or the write is greater (see above).  *applied (may be
 * NULL) says whether it did.  TIDAL_ETOOBIG if len exceeds
 * TIDAL_LWW_VALUE_BYTES_MAX, TIDAL_EINVAL for a NULL value with len > 0; on
 * error nothing is changed. */
int tidal_lww_set(tidal_lww *r, const void *value, size_t len, const tidal_hlc *stamp,
                  bool *applied) __attribute__((warn_unused_result));

/* The current value and stamp; false (outputs untouched) if empty.  *value
 * points into the register.  Any output may be NULL.  Cannot fail. */
bool tidal_lww_get(const tidal_lww *r, const uint8_t **value, size_t *len, tidal_hlc *stamp);

/* dst = the greater of dst and src (an empty register loses).  Cannot fail. */
void tidal_lww_merge(tidal_lww *dst, const tidal_lww *src);

/* True if both are empty, or both hold the same value and stamp.  Cannot fail. */
bool tidal_lww_equal(const tidal_lww *a, const tidal_lww *b);

/* The hash (store/hash.h) of the encoding.  Cannot fail. */
uint64_t tidal_lww_hash(const tidal_lww *r);

/* Encodes the register; *len gets the size written, or needed on
 * TIDAL_ETOOBIG.  Format, integers little-endian:
 *   offset size  field
 *   0      1     1 if set, 0 if empty (then nothing follows)
 *   1      8     stamp wall ns
 *   9      4     stamp logical
 *   13     2     stamp node id
 *   15     2     value length L, 0..TIDAL_LWW_VALUE_BYTES_MAX
 *   17     L     value
 * Valid if and only if: the first byte is 0 or 1; an empty register is
 * exactly that byte; L is within bounds; exactly 17 + L bytes when set.
 * No version byte: a value embedded in versioned containers. */
int tidal_lww_encode(const tidal_lww *r, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes buf[0..len) into r.  TIDAL_ETRUNCATED, TIDAL_ECORRUPT,
 * TIDAL_ETRAILING as in the rules above; on error r is unchanged. */
int tidal_lww_decode(tidal_lww *r, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

/* For containers: the same encoding on a cursor.  The write cannot fail; the
 * read returns the codes of tidal_lww_decode but TIDAL_ETRAILING and on error
 * leaves r and the cursor unchanged. */
void tidal__lww_write(const tidal_lww *r, tidal__wr *w);
int tidal__lww_read(tidal_lww *r, tidal__rd *rd) __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_LWW_H */
