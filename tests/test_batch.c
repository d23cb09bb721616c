/*
 * The WAL batch header v2 (store/batch.h): round trip, every validity rule
 * with its code, the CRC over header and payload, truncation at every
 * offset, and the limits at -1, exactly and +1.
 *
 * Corruption of a header field recomputes the CRC (restamp), so the decoder
 * is tested past the checksum: the rule under test is what refuses it.
 */
#include "tidal_test.h"

#include <stdlib.h>
#include <string.h>

#include "store/batch.h"
#include "store/crc32c.h"

TIDAL_SUITE(batch);

#define HDR TIDAL_BATCH_HEADER_BYTES

static tidal_batch_header
sample_header(uint32_t payload_len)
{
    tidal_batch_header h = {
        .origin = 3,
        .shard = 17,
        .count = 5,
        .first_lsn = 1000,
        .payload_len = payload_len,
        .hlc_min = {.wall_ns = 1700000000000000000ull, .logical = 2, .node_id = 3},
        .hlc_max = {.wall_ns = 1700000000000000001ull, .logical = 0, .node_id = 3},
    };
    return h;
}

/* A whole batch (header + payload) for h in a fresh buffer; payload bytes are
 * a pattern of seed. */
static uint8_t *
make_batch(const tidal_batch_header *h, uint8_t seed, size_t *len)
{
    uint8_t *b = malloc(HDR + h->payload_len + 16);

    cr_assert(b != NULL);
    for (uint32_t i = 0; i < h->payload_len; i++) {
        b[HDR + i] = (uint8_t)(seed + i * 13u);
    }
    TIDAL_PASS(tidal_batch_header_encode(h, b + HDR, b));
    *len = HDR + h->payload_len;
    return b;
}

static void
put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Recomputes the CRC of a batch whose payload length field says plen. */
static void
restamp(uint8_t *b, uint32_t plen)
{
    uint32_t crc = tidal_crc32c(0, b, 64);
    crc = tidal_crc32c(crc, b + HDR, plen);
    put32(b + 64, crc);
}

/* Expects decode of b to fail with code and leave the outputs untouched. */
static void
expect_refused(const uint8_t *b, size_t len, int code, const char *detail_has)
{
    tidal_batch_header h;
    size_t total = 12345;
    char detail[160] = "";

    memset(&h, 0xa5, sizeof(h));
    TIDAL_FAIL(tidal_batch_decode(b, len, &h, &total, detail, sizeof(detail)), code);
    cr_assert_eq(total, 12345, "total written on error");
    cr_assert_eq(h.count, 0xa5a5a5a5u, "header written on error");
    cr_assert(detail[0] != '\0', "no reason given");
    if (detail_has != NULL) {
        cr_assert(strstr(detail, detail_has) != NULL, "reason \"%s\" lacks \"%s\"", detail,
                  detail_has);
    }
}

static void
check_round_trip(const tidal_batch_header *h)
{
    tidal_batch_header d;
    size_t len;
    size_t total;
    uint8_t *b = make_batch(h, 7, &len);

    TIDAL_PASS(tidal_batch_decode(b, len, &d, &total, NULL, 0));
    cr_assert_eq(total, len);
    cr_assert_eq(d.version, TIDAL_BATCH_VERSION);
    cr_assert_eq(d.origin, h->origin);
    cr_assert_eq(d.shard, h->shard);
    cr_assert_eq(d.count, h->count);
    cr_assert_eq(d.first_lsn, h->first_lsn);
    cr_assert_eq(d.payload_len, h->payload_len);
    cr_assert_eq(tidal_hlc_compare(&d.hlc_min, &h->hlc_min), 0);
    cr_assert_eq(tidal_hlc_compare(&d.hlc_max, &h->hlc_max), 0);
    cr_assert_eq(d.hlc_min.node_id, h->hlc_min.node_id);
    cr_assert_eq(memcmp(b, TIDAL_BATCH_MAGIC, 4), 0);
    free(b);
}

Test(batch, round_trip_keeps_every_field)
{
    tidal_batch_header h = sample_header(100);

    check_round_trip(&h);
    h.payload_len = 0;
    check_round_trip(&h);
    h.origin = UINT16_MAX;
    h.shard = UINT16_MAX;
    h.first_lsn = 1;
    h.count = 1;
    check_round_trip(&h);
}

Test(batch, round_trip_hlc_extremes)
{
    tidal_batch_header h = sample_header(8);
    tidal_hlc lo = {.wall_ns = 0, .logical = 0, .node_id = 0};
    tidal_hlc hi = {.wall_ns = UINT64_MAX, .logical = UINT32_MAX, .node_id = UINT16_MAX};

    h.hlc_min = lo;
    h.hlc_max = hi;
    check_round_trip(&h);
    h.hlc_min = hi;
    check_round_trip(&h);
    h.hlc_min = lo;
    h.hlc_max = lo;
    check_round_trip(&h);
}

Test(batch, round_trip_lsn_extremes)
{
    tidal_batch_header h = sample_header(8);

    h.count = 10;
    h.first_lsn = UINT64_MAX - 10; /* last LSN UINT64_MAX - 1: fits */
    check_round_trip(&h);
    h.first_lsn = UINT64_MAX - 9; /* first + count overflows */
    uint8_t out[HDR];
    TIDAL_FAIL(tidal_batch_header_encode(&h, (const uint8_t *)"12345678", out), TIDAL_EINVAL);
}

Test(batch, crc_covers_payload_and_header)
{
    tidal_batch_header h = sample_header(64);
    size_t len;
    uint8_t *b = make_batch(&h, 1, &len);

    b[HDR + 10] ^= 0x01; /* payload */
    expect_refused(b, len, TIDAL_ECRC, "crc");
    b[HDR + 10] ^= 0x01;
    b[8] ^= 0x01; /* origin: a valid value, so only the CRC can tell */
    expect_refused(b, len, TIDAL_ECRC, "crc");
    b[8] ^= 0x01;
    b[16] ^= 0x40; /* first LSN */
    expect_refused(b, len, TIDAL_ECRC, "crc");
    b[16] ^= 0x40;
    b[65] ^= 0xff; /* the stored CRC itself */
    expect_refused(b, len, TIDAL_ECRC, "crc");
    b[65] ^= 0xff;
    TIDAL_PASS(tidal_batch_decode(b, len, NULL, NULL, NULL, 0));
    free(b);
}

Test(batch, bad_magic_is_corrupt)
{
    tidal_batch_header h = sample_header(16);
    size_t len;
    uint8_t *b = make_batch(&h, 1, &len);

    b[0] = 'X';
    restamp(b, 16);
    expect_refused(b, len, TIDAL_ECORRUPT, "magic");
    free(b);
}

Test(batch, version_1_and_3_are_refused_before_anything_else)
{
    tidal_batch_header h = sample_header(16);
    size_t len;
    uint8_t *b = make_batch(&h, 1, &len);
    static const uint16_t versions[] = {0, 1, 3, 0xffff};

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        put16(b + 4, versions[i]);
        restamp(b, 16);
        expect_refused(b, len, TIDAL_EVERSION, "version");
    }
    /* A v1 header whose other fields would break v2's rules: the version is
     * what is reported, so an old header is never misread as corrupt v2. */
    put16(b + 4, 1);
    put16(b + 6, 0xffff);
    put32(b + 12, 0);
    put32(b + 24, 0xffffffffu);
    expect_refused(b, len, TIDAL_EVERSION, "version");
    free(b);
}

/* A header corruption: up to three little-endian writes, then a restamp.
 * The sample header's hlc_min.wall is 1700000000000000000 and its
 * hlc_max.wall one more. */
struct poke {
    int off;
    int size;
    uint64_t val;
};
struct corruption {
    const char *reason; /* what the decoder's message must name */
    struct poke pokes[3];
};

static const struct corruption corruptions[] = {
    {"flags", {{6, 2, 1}}},
    {"reserved", {{30, 1, 1}}},
    {"reserved", {{46, 1, 1}}},    /* hlc_min padding */
    {"reserved", {{63, 1, 0x80}}}, /* hlc_max padding */
    {"reserved", {{71, 1, 1}}},
    {"count", {{12, 4, 0}}},
    {"count", {{12, 4, TIDAL_BATCH_RECORDS_MAX + 1}}},
    {"first LSN", {{16, 8, 0}}},
    {"overflow", {{16, 8, UINT64_MAX - 2}}},
    {"payload length", {{24, 4, TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1}}},
    {"hlc_min > hlc_max", {{32, 8, UINT64_MAX}}},
    {"hlc_min > hlc_max", {{32, 8, 1700000000000000001ull}, {40, 4, 1}}},
    {"hlc_min > hlc_max", {{32, 8, 1700000000000000001ull}, {40, 4, 0}, {44, 2, 4}}},
};

Test(batch, every_field_rule_gives_ecorrupt_past_the_crc)
{
    for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
        tidal_batch_header h = sample_header(16);
        size_t len;
        uint8_t *b = make_batch(&h, 1, &len);

        for (int k = 0; k < 3 && corruptions[i].pokes[k].size != 0; k++) {
            const struct poke *p = &corruptions[i].pokes[k];
            for (int j = 0; j < p->size; j++) {
                b[p->off + j] = (uint8_t)(p->val >> (8 * j));
            }
        }
        restamp(b, 16);
        expect_refused(b, len, TIDAL_ECORRUPT, corruptions[i].reason);
        free(b);
    }
}

Test(batch, rules_are_checked_in_order)
{
    tidal_batch_header h = sample_header(16);
    size_t len;
    uint8_t *b = make_batch(&h, 1, &len);

    /* Magic (rule 2) before version (rule 3). */
    b[0] = 'X';
    put16(b + 4, 1);
    expect_refused(b, len, TIDAL_ECORRUPT, "magic");
    memcpy(b, TIDAL_BATCH_MAGIC, 4);
    /* Fields (rule 4) before length (rule 5) and CRC (rule 6). */
    put16(b + 4, TIDAL_BATCH_VERSION);
    put32(b + 12, 0);
    expect_refused(b, HDR + 3, TIDAL_ECORRUPT, "count");
    /* Length (rule 5) before CRC (rule 6): count 6 is valid but not signed. */
    put32(b + 12, 6);
    expect_refused(b, HDR + 3, TIDAL_ETRUNCATED, "payload");
    expect_refused(b, len, TIDAL_ECRC, "crc");
    free(b);
}

Test(batch, truncated_at_every_offset)
{
    tidal_batch_header h = sample_header(100);
    size_t len;
    uint8_t *b = make_batch(&h, 9, &len);

    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1); /* exact size: ASan sees any over-read */
        cr_assert(copy != NULL);
        memcpy(copy, b, cut);
        expect_refused(copy, cut, TIDAL_ETRUNCATED, NULL);
        free(copy);
    }
    TIDAL_PASS(tidal_batch_decode(b, len, NULL, NULL, NULL, 0));
    free(b);
}

Test(batch, trailing_bytes_are_not_read)
{
    tidal_batch_header h = sample_header(20);
    size_t len;
    size_t total;
    uint8_t *b = make_batch(&h, 2, &len);

    memset(b + len, 0xee, 16);
    TIDAL_PASS(tidal_batch_decode(b, len + 16, NULL, &total, NULL, 0));
    cr_assert_eq(total, len);
    free(b);
}

Test(batch, payload_length_limit)
{
    tidal_batch_header h = sample_header(0);
    uint8_t *payload = calloc(1, TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1);
    uint8_t out[HDR];
    size_t len;
    uint8_t *b;

    cr_assert(payload != NULL);
    h.payload_len = TIDAL_BATCH_PAYLOAD_BYTES_MAX - 1;
    check_round_trip(&h);
    h.payload_len = TIDAL_BATCH_PAYLOAD_BYTES_MAX;
    check_round_trip(&h);
    h.payload_len = TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_batch_header_encode(&h, payload, out), TIDAL_EINVAL);
    /* The decoder refuses the +1 length even with every byte present. */
    h.payload_len = TIDAL_BATCH_PAYLOAD_BYTES_MAX;
    b = make_batch(&h, 3, &len);
    uint8_t *big = malloc(len + 1);
    cr_assert(big != NULL);
    memcpy(big, b, len);
    big[len] = 0;
    put32(big + 24, TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1);
    restamp(big, TIDAL_BATCH_PAYLOAD_BYTES_MAX + 1);
    expect_refused(big, len + 1, TIDAL_ECORRUPT, "payload length");
    free(big);
    free(b);
    free(payload);
}

Test(batch, record_count_limit)
{
    tidal_batch_header h = sample_header(4);
    uint8_t out[HDR];

    h.count = TIDAL_BATCH_RECORDS_MAX - 1;
    check_round_trip(&h);
    h.count = TIDAL_BATCH_RECORDS_MAX;
    check_round_trip(&h);
    h.count = TIDAL_BATCH_RECORDS_MAX + 1;
    TIDAL_FAIL(tidal_batch_header_encode(&h, (const uint8_t *)"abcd", out), TIDAL_EINVAL);
    h.count = 1;
    check_round_trip(&h);
    h.count = 0;
    TIDAL_FAIL(tidal_batch_header_encode(&h, (const uint8_t *)"abcd", out), TIDAL_EINVAL);
}

Test(batch, encoder_refuses_what_the_decoder_would)
{
    tidal_batch_header h = sample_header(4);
    uint8_t out[HDR];

    memset(out, 0x5a, sizeof(out));
    h.first_lsn = 0;
    TIDAL_FAIL(tidal_batch_header_encode(&h, (const uint8_t *)"abcd", out), TIDAL_EINVAL);
    h = sample_header(4);
    h.hlc_max.wall_ns = h.hlc_min.wall_ns - 1;
    TIDAL_FAIL(tidal_batch_header_encode(&h, (const uint8_t *)"abcd", out), TIDAL_EINVAL);
    h = sample_header(4);
    TIDAL_FAIL(tidal_batch_header_encode(&h, NULL, out), TIDAL_EINVAL);
    for (size_t i = 0; i < sizeof(out); i++) {
        cr_assert_eq(out[i], 0x5a, "out changed on error at %zu", i);
    }
    /* version and crc of the input are ignored. */
    h.version = 1;
    h.crc = 0xdeadbeef;
    TIDAL_PASS(tidal_batch_header_encode(&h, (const uint8_t *)"abcd", out));
}
