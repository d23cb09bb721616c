/*
 * libFuzzer target for the WAL's on-disk and on-wire units: the batch header
 * (store/batch.h) and the msgpack records of its payload (messages/record.h),
 * read the way a follower reads a shipped batch (actors/apply.c
 * payload_valid: exactly `count` records, nothing after them).
 *
 * Input: the first byte holds flags, the rest is the bytes under test.
 *   bit 0  the bytes are a batch (header + payload); else bare records, back
 *          to back, as a batch's payload holds them
 *   bit 1  (batch) write the right CRC into the header before decoding, so
 *          that mutations get past rule 6 to the records and the rules
 *          before it; else the bytes are decoded as they are
 *
 * What must hold for any input (a failure aborts):
 *  - every result is 0 or a TIDAL_E* code; a refused batch says why (a
 *    one-line detail), a refused record fills err;
 *  - tidal_batch_span agrees with tidal_batch_decode on rules 1 to 3 (the
 *    same code when they fail, the same first LSN and count when the batch
 *    is valid);
 *  - a valid batch re-encodes (tidal_batch_header_encode from its fields) to
 *    the same 72 header bytes, and the batch cut one byte short is
 *    TIDAL_ETRUNCATED (a torn tail reads as torn, never as something else);
 *  - every record that decodes re-encodes to at most the bytes it came from
 *    (4 more for a SESSION_SIGNAL whose weight came as a float32: the
 *    encoder always writes a float64), decodes back to the same fields, bit
 *    for bit, and re-encodes to the same bytes;
 *  - bare records that all decode make, with tidal_batch_header_encode, a
 *    batch that decodes and holds them.
 *
 * tidal__fuzz_record_one returns the first failure (the batch's, then its
 * payload's), or 0; tests/test_fuzz_record.c replays fuzz/corpus/record.
 */
#include "fuzz/fuzz_common.h"
#include "messages/record.h"
#include "store/batch.h"
#include "store/crc32c.h"

int tidal__fuzz_record_one(const uint8_t *data, size_t size);

#define FLAG_BATCH 0x01u
#define FLAG_FIX_CRC 0x02u

static bool
record_same(const tidal_record *a, const tidal_record *b)
{
    return a->kind == b->kind && memcmp(a->sid, b->sid, sizeof(a->sid)) == 0 &&
           a->user == b->user && a->item == b->item && a->region == b->region &&
           a->seqno == b->seqno && a->hlc.wall_ns == b->hlc.wall_ns &&
           a->hlc.logical == b->hlc.logical && a->hlc.node_id == b->hlc.node_id &&
           memcmp(a->type, b->type, sizeof(a->type)) == 0 &&
           memcmp(&a->weight, &b->weight, sizeof(a->weight)) == 0 && a->ts_ns == b->ts_ns &&
           a->p_minute == b->p_minute && a->p_hour == b->p_hour;
}

/* r decoded from `used` bytes: the round trip of the file comment. */
static void
record_roundtrip(const tidal_record *r, size_t used, tidal_buf *b, tidal_buf *c)
{
    tidal_record r2;
    size_t slack = r->kind == TIDAL_REC_SESSION_SIGNAL ? 4 : 0;

    tidal_buf_reset(b);
    tidal_buf_reset(c);
    FUZZ_CHECK(tidal_record_encode(r, b) == 0);
    FUZZ_CHECK(b->len <= used + slack);
    FUZZ_CHECK(tidal_record_decode_exact(b->data, b->len, &r2, NULL) == 0);
    FUZZ_CHECK(record_same(r, &r2));
    FUZZ_CHECK(tidal_record_encode(&r2, c) == 0);
    FUZZ_CHECK(fuzz_bytes_same(c->data, c->len, b->data, b->len));
}

/* Decodes records from p until len bytes are used, an error, or `max`
 * records (then what is left stays unread).  *count gets the records
 * decoded, *off the bytes they took.  Returns the error or 0. */
static int
records_walk(const uint8_t *p, size_t len, uint32_t max, uint32_t *count, size_t *off, tidal_buf *b,
             tidal_buf *c)
{
    *count = 0;
    *off = 0;
    while (*off < len && *count < max) {
        tidal_record r;
        tidal_record exact;
        tidal_decode_err err;
        size_t used = 0;
        int rv = tidal_record_decode_one(p + *off, len - *off, &used, &r, &err);
        fuzz_check_decode(rv, &err, len - *off);
        if (rv != 0) {
            return rv;
        }
        FUZZ_CHECK(used >= 1 && used <= len - *off);
        FUZZ_CHECK(tidal_record_decode_exact(p + *off, used, &exact, NULL) == 0);
        FUZZ_CHECK(record_same(&r, &exact));
        FUZZ_CHECK(tidal_record_kind_name(r.kind) != NULL);
        record_roundtrip(&r, used, b, c);
        *off += used;
        (*count)++;
    }
    return 0;
}

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What tidal_batch_decode must say about rules 1 to 3 (0 if they hold). */
static int
shape_code(const uint8_t *p, size_t len)
{
    if (len < TIDAL_BATCH_HEADER_BYTES) {
        return TIDAL_ETRUNCATED;
    }
    if (memcmp(p, TIDAL_BATCH_MAGIC, 4) != 0) {
        return TIDAL_ECORRUPT;
    }
    return fuzz_le16(p + 4) == TIDAL_BATCH_VERSION ? 0 : TIDAL_EVERSION;
}

/* Writes the CRC the header at p (len bytes) should carry, if its payload
 * length fits in the input. */
static void
fix_crc(uint8_t *p, size_t len)
{
    if (len < TIDAL_BATCH_HEADER_BYTES) {
        return;
    }
    uint32_t plen = le32(p + 24);
    if (plen > len - TIDAL_BATCH_HEADER_BYTES) {
        return;
    }
    uint32_t crc = tidal_crc32c(0, p, 64);
    crc = tidal_crc32c(crc, p + TIDAL_BATCH_HEADER_BYTES, plen);
    for (int i = 0; i < 4; i++) {
        p[64 + i] = (uint8_t)(crc >> (8 * i));
    }
}

static int
fuzz_batch(uint8_t *p, size_t len, bool crc, tidal_buf *b, tidal_buf *c)
{
    tidal_batch_header h;
    char detail[160] = "";
    size_t total = 0;
    uint64_t first = 0;
    uint32_t count = 0;
    uint8_t out[TIDAL_BATCH_HEADER_BYTES];

    if (crc) {
        fix_crc(p, len);
    }
    int rv = tidal_batch_decode(p, len, &h, &total, detail, sizeof(detail));
    int shape = shape_code(p, len);
    int span = tidal_batch_span(p, len, &first, &count);
    FUZZ_CHECK(fuzz_code_ok(rv));
    FUZZ_CHECK(span == shape);
    if (shape != 0) {
        FUZZ_CHECK(rv == shape);
    }
    if (rv != 0) {
        FUZZ_CHECK(detail[0] != '\0' && strchr(detail, '\n') == NULL);
        return rv;
    }
    FUZZ_CHECK(h.version == TIDAL_BATCH_VERSION && first == h.first_lsn && count == h.count);
    FUZZ_CHECK(total == TIDAL_BATCH_HEADER_BYTES + (size_t)h.payload_len && total <= len);
    FUZZ_CHECK(tidal_batch_header_encode(&h, p + TIDAL_BATCH_HEADER_BYTES, out) == 0);
    FUZZ_CHECK(memcmp(out, p, sizeof(out)) == 0);
    FUZZ_CHECK(tidal_batch_decode(p, total - 1, NULL, NULL, NULL, 0) == TIDAL_ETRUNCATED);

    /* The payload, as a follower reads it: count records, nothing after. */
    uint32_t n = 0;
    size_t off = 0;
    rv = records_walk(p + TIDAL_BATCH_HEADER_BYTES, h.payload_len, h.count, &n, &off, b, c);
    if (rv == 0 && (n != h.count || off != h.payload_len)) {
        rv = n != h.count ? TIDAL_ETRUNCATED : TIDAL_ETRAILING;
    }
    return rv;
}

static int
fuzz_records(const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)
{
    uint32_t n = 0;
    size_t off = 0;
    int rv = records_walk(p, len, TIDAL_BATCH_RECORDS_MAX, &n, &off, b, c);

    if (rv != 0 || n == 0 || off != len || len > TIDAL_BATCH_PAYLOAD_BYTES_MAX) {
        return rv;
    }
    /* Records that decode make a batch, as tidal_wal_append makes one. */
    tidal_batch_header h = {.count = n,
                            .first_lsn = 1,
                            .payload_len = (uint32_t)len,
                            .hlc_min = {1, 0, 0},
                            .hlc_max = {2, 0, 0}};
    tidal_batch_header d;
    size_t total = 0;
    uint8_t *batch = malloc(TIDAL_BATCH_HEADER_BYTES + len);
    FUZZ_CHECK(batch != NULL);
    FUZZ_CHECK(tidal_batch_header_encode(&h, p, batch) == 0);
    memcpy(batch + TIDAL_BATCH_HEADER_BYTES, p, len);
    FUZZ_CHECK(tidal_batch_decode(batch, TIDAL_BATCH_HEADER_BYTES + len, &d, &total, NULL, 0) == 0);
    FUZZ_CHECK(d.count == n && d.payload_len == len && total == TIDAL_BATCH_HEADER_BYTES + len);
    free(batch);
    return 0;
}

int
tidal__fuzz_record_one(const uint8_t *data, size_t size)
{
    tidal_buf b;
    tidal_buf c;
    int rv;

    if (size == 0) {
        return 0;
    }
    uint8_t flags = data[0];
    size_t len = size - 1;
    /* A copy the CRC fix may write to, exactly as long as the input so
     * that ASan catches a read past it. */
    uint8_t *p = malloc(len != 0 ? len : 1);
    FUZZ_CHECK(p != NULL);
    memcpy(p, data + 1, len);
    tidal_buf_init(&b);
    tidal_buf_init(&c);
    if (flags & FLAG_BATCH) {
        rv = fuzz_batch(p, len, (flags & FLAG_FIX_CRC) != 0, &b, &c);
    } else {
        rv = fuzz_records(p, len, &b, &c);
    }
    tidal_buf_fini(&b);
    tidal_buf_fini(&c);
    free(p);
    return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_record_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
