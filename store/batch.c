/*
 * The WAL batch header v2: encoder and decoder side by side.
 *
 * The layout table and the numbered validity rules are in batch.h, next to
 * the constants; this file follows them in order.  Every multi-byte field is
 * little endian and assembled a byte at a time, so the format does not depend
 * on the host's byte order or on the buffer's alignment.
 *
 * What the CRC covers: bytes 0..63 of the header (every field, the reserved
 * word at 28 and the HLC padding included, all zero) and then the payload.
 * Bytes 64..71 (the CRC itself and the trailing reserved word) are outside
 * it; the reserved word is checked to be zero by rule 4 instead.
 *
 * The decoder never trusts a field before the rule that covers it: the
 * version is read before any other field (an old or future header is never
 * misread as v2), and the payload length is range-checked before it is used
 * to find the end of the batch.
 */
#include "store/batch.h"
#include "store/le.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store/crc32c.h"
#include "tidal/errors.h"

/* Offsets of the v2 header (batch.h). */
#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_FLAGS 6
#define OFF_ORIGIN 8
#define OFF_SHARD 10
#define OFF_COUNT 12
#define OFF_FIRST_LSN 16
#define OFF_PAYLOAD_LEN 24
#define OFF_RESERVED1 28
#define OFF_HLC_MIN 32
#define OFF_HLC_MAX 48
#define OFF_CRC 64
#define OFF_RESERVED2 68
/* Bytes 0..CRC_COVER_BYTES of the header are covered by the CRC. */
#define CRC_COVER_BYTES 64

_Static_assert(OFF_RESERVED2 + 4 == TIDAL_BATCH_HEADER_BYTES, "header layout adds up");
_Static_assert(sizeof(TIDAL_BATCH_MAGIC) - 1 == 4, "magic is four bytes");
_Static_assert(TIDAL_BATCH_PAYLOAD_BYTES_MAX <= UINT32_MAX - TIDAL_BATCH_HEADER_BYTES,
               "a whole batch's size fits in 32 bits");

/* An HLC stamp at p: wall (8), logical (4), node id (2), zero padding (2). */
static void
put_hlc(uint8_t *p, const tidal_hlc *ts)
{
    put64(p, ts->wall_ns);
    put32(p + 8, ts->logical);
    put16(p + 12, ts->node_id);
    put16(p + 14, 0);
}

static void
get_hlc(const uint8_t *p, tidal_hlc *ts)
{
    ts->wall_ns = get64(p);
    ts->logical = get32(p + 8);
    ts->node_id = get16(p + 12);
}

/* Rule 4 on decoded fields (the zero checks on raw bytes are the decoder's).
 * Returns NULL if they hold, else the name of the first field that breaks
 * them.  Shared by encoder and decoder so the two cannot disagree. */
static const char *
fields_invalid(const tidal_batch_header *h)
{
    if (h->count < 1) {
        return "count < 1";
    }
    if (h->count > TIDAL_BATCH_RECORDS_MAX) {
        return "count > TIDAL_BATCH_RECORDS_MAX";
    }
    if (h->first_lsn < 1) {
        return "first LSN < 1";
    }
    if (h->first_lsn > UINT64_MAX - h->count) {
        return "last LSN overflows 64 bits";
    }
    if (h->payload_len > TIDAL_BATCH_PAYLOAD_BYTES_MAX) {
        return "payload length > TIDAL_BATCH_PAYLOAD_BYTES_MAX";
    }
    if (tidal_hlc_compare(&h->hlc_min, &h->hlc_max) > 0) {
        return "hlc_min > hlc_max";
    }
    return NULL;
}

int
tidal_batch_header_encode(const tidal_batch_header *h, const uint8_t *payload,
                          uint8_t out[TIDAL_BATCH_HEADER_BYTES])
{
    uint8_t b[TIDAL_BATCH_HEADER_BYTES];
    uint32_t crc;

    if (h == NULL || out == NULL || (payload == NULL && h->payload_len != 0)) {
        return TIDAL_EINVAL;
    }
    if (fields_invalid(h) != NULL) {
        return TIDAL_EINVAL;
    }
    memset(b, 0, sizeof(b));
    memcpy(b + OFF_MAGIC, TIDAL_BATCH_MAGIC, 4);
    put16(b + OFF_VERSION, TIDAL_BATCH_VERSION);
    put16(b + OFF_FLAGS, 0);
    put16(b + OFF_ORIGIN, h->origin);
    put16(b + OFF_SHARD, h->shard);
    put32(b + OFF_COUNT, h->count);
    put64(b + OFF_FIRST_LSN, h->first_lsn);
    put32(b + OFF_PAYLOAD_LEN, h->payload_len);
    put_hlc(b + OFF_HLC_MIN, &h->hlc_min);
    put_hlc(b + OFF_HLC_MAX, &h->hlc_max);
    crc = tidal_crc32c(0, b, CRC_COVER_BYTES);
    crc = tidal_crc32c(crc, payload, h->payload_len);
    put32(b + OFF_CRC, crc);
    memcpy(out, b, sizeof(b));
    return 0;
}

/* Writes a one-line reason into detail (may be NULL) and returns code. */
__attribute__((format(printf, 4, 5))) static int
reject(char *detail, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;

    if (detail != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(detail, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Rule 4's zero checks on the raw header: flags, the two reserved words and
 * the two HLC paddings.  Returns the offset of the first non-zero field, or
 * -1 if all are zero. */
static int
nonzero_reserved(const uint8_t *buf)
{
    static const struct {
        int off;
        int size;
    } zero[] = {{OFF_FLAGS, 2},
                {OFF_RESERVED1, 4},
                {OFF_HLC_MIN + 14, 2},
                {OFF_HLC_MAX + 14, 2},
                {OFF_RESERVED2, 4}};

    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        for (int k = 0; k < zero[i].size; k++) {
            if (buf[zero[i].off + k] != 0) {
                return zero[i].off;
            }
        }
    }
    return -1;
}

int
tidal_batch_decode(const uint8_t *buf, size_t len, tidal_batch_header *h, size_t *total,
                   char *detail, size_t detail_cap)
{
    tidal_batch_header d;
    const char *bad;
    uint32_t crc;
    int off;

    if (buf == NULL && len != 0) {
        return reject(detail, detail_cap, TIDAL_EINVAL, "NULL buffer");
    }
    /* Rule 1. */
    if (len < TIDAL_BATCH_HEADER_BYTES) {
        return reject(detail, detail_cap, TIDAL_ETRUNCATED, "header: expected %u bytes, have %zu",
                      TIDAL_BATCH_HEADER_BYTES, len);
    }
    /* Rule 2. */
    if (memcmp(buf + OFF_MAGIC, TIDAL_BATCH_MAGIC, 4) != 0) {
        return reject(detail, detail_cap, TIDAL_ECORRUPT,
                      "magic: expected bytes 54 44 4c 42 (\"TDLB\"), got %02x %02x %02x %02x",
                      buf[0], buf[1], buf[2], buf[3]);
    }
    /* Rule 3, before any other field is read. */
    memset(&d, 0, sizeof(d));
    d.version = get16(buf + OFF_VERSION);
    if (d.version != TIDAL_BATCH_VERSION) {
        return reject(detail, detail_cap, TIDAL_EVERSION, "version: expected %u, got %u",
                      TIDAL_BATCH_VERSION, d.version);
    }
    /* Rule 4. */
    off = nonzero_reserved(buf);
    if (off >= 0) {
        return reject(detail, detail_cap, TIDAL_ECORRUPT, "%s at header offset %d: expected zero",
                      off == OFF_FLAGS ? "flags" : "reserved bytes", off);
    }
    d.origin = get16(buf + OFF_ORIGIN);
    d.shard = get16(buf + OFF_SHARD);
    d.count = get32(buf + OFF_COUNT);
    d.first_lsn = get64(buf + OFF_FIRST_LSN);
    d.payload_len = get32(buf + OFF_PAYLOAD_LEN);
    get_hlc(buf + OFF_HLC_MIN, &d.hlc_min);
    get_hlc(buf + OFF_HLC_MAX, &d.hlc_max);
    d.crc = get32(buf + OFF_CRC);
    bad = fields_invalid(&d);
    if (bad != NULL) {
        return reject(detail, detail_cap, TIDAL_ECORRUPT,
                      "%s (count %u, first LSN %llu, payload length %u)", bad, d.count,
                      (unsigned long long)d.first_lsn, d.payload_len);
    }
    /* Rule 5. */
    if (len - TIDAL_BATCH_HEADER_BYTES < d.payload_len) {
        return reject(detail, detail_cap, TIDAL_ETRUNCATED, "payload: expected %u bytes, have %zu",
                      d.payload_len, len - TIDAL_BATCH_HEADER_BYTES);
    }
    /* Rule 6. */
    crc = tidal_crc32c(0, buf, CRC_COVER_BYTES);
    crc = tidal_crc32c(crc, buf + TIDAL_BATCH_HEADER_BYTES, d.payload_len);
    if (crc != d.crc) {
        return reject(detail, detail_cap, TIDAL_ECRC, "crc: stored 0x%08x, computed 0x%08x", d.crc,
                      crc);
    }
    if (h != NULL) {
        *h = d;
    }
    if (total != NULL) {
        *total = TIDAL_BATCH_HEADER_BYTES + (size_t)d.payload_len;
    }
    return 0;
}

int
tidal_batch_span(const uint8_t *buf, size_t len, uint64_t *first_lsn, uint32_t *count)
{
    if (buf == NULL || len < TIDAL_BATCH_HEADER_BYTES) {
        return TIDAL_ETRUNCATED;
    }
    if (memcmp(buf + OFF_MAGIC, TIDAL_BATCH_MAGIC, 4) != 0) {
        return TIDAL_ECORRUPT;
    }
    if (get16(buf + OFF_VERSION) != TIDAL_BATCH_VERSION) {
        return TIDAL_EVERSION;
    }
    *first_lsn = get64(buf + OFF_FIRST_LSN);
    *count = get32(buf + OFF_COUNT);
    return 0;
}
