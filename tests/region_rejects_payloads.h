/*
 * Payloads for test_region_rejects.c: each builder writes one message a
 * region's actor must reject into out (tidal_buf, initialised) and returns
 * the code a write must be answered with (0 for what is not a write).
 * Batches are region 0's LSN 2: the next in line at region 1, which would
 * apply one that is right.  CRCs are computed over what the batch holds
 * (tidal_batch_header_encode), so the decoder is tested past the checksum,
 * except where a case breaks the checksum itself.  Everything is static:
 * the suite is one binary.
 */
#ifndef TIDAL_TESTS_REGION_REJECTS_PAYLOADS_H
#define TIDAL_TESTS_REGION_REJECTS_PAYLOADS_H

#include "messages/msg_repl.h"
#include "messages/record.h"
#include "repl_helpers.h"
#include "store/batch.h"

#define KIND_HARDNEG 1u /* actors/reconciler.c's first entry kind */

/* The session the payloads are about (set by the suite). */
static uint8_t rp_sid[16];

static int
garbage(tidal_buf *out)
{
    const uint8_t b[] = {0x93, 0x01}; /* an array of 3 holding one element */
    TIDAL_PASS(tidal_buf_append(out, b, sizeof(b)));
    return 0;
}

static tidal_record
hide_rec(void)
{
    return (tidal_record){.kind = TIDAL_REC_HIDE, .user = 77, .item = 78,
                          .hlc = {.wall_ns = repl_now_ns(), .node_id = 0}};
}

static tidal_record
signal_rec(const char *type, uint16_t origin)
{
    tidal_record r = {.kind = TIDAL_REC_SESSION_SIGNAL, .seqno = 1, .item = 79, .weight = 1.0,
                      .ts_ns = repl_now_ns(), .region = origin, .p_minute = 1, .p_hour = 1};
    memcpy(r.sid, rp_sid, 16);
    snprintf(r.type, sizeof(r.type), "%s", type);
    return r;
}

/* A batch of region `origin` at first_lsn with `count` and this payload,
 * its CRC computed over it; in a BATCH message from msg_origin. */
static void
batch_msg(tidal_buf *out, uint16_t msg_origin, uint16_t origin, uint32_t count,
          const tidal_buf *payload, size_t extra)
{
    tidal_batch_header h = {.origin = origin, .count = count, .first_lsn = 2,
                            .payload_len = (uint32_t)payload->len};
    h.hlc_min = h.hlc_max = (tidal_hlc){.wall_ns = repl_now_ns()};
    tidal_buf b;
    tidal_buf_init(&b);
    uint8_t hdr[TIDAL_BATCH_HEADER_BYTES];
    TIDAL_PASS(tidal_batch_header_encode(&h, payload->data, hdr));
    TIDAL_PASS(tidal_buf_append(&b, hdr, sizeof(hdr)));
    TIDAL_PASS(tidal_buf_append(&b, payload->data, payload->len));
    for (size_t i = 0; i < extra; i++) {
        TIDAL_PASS(tidal_buf_append(&b, "", 1));
    }
    tidal_msg_batch m = {.origin = msg_origin, .batch = {b.data, (uint32_t)b.len}};
    TIDAL_PASS(tidal_msg_batch_encode(&m, out));
    tidal_buf_fini(&b);
}

/* A BATCH of region 0's LSN 2 holding recs (count adds to their number). */
static void
records_batch(tidal_buf *out, const tidal_record *recs, uint32_t n, uint32_t count_extra,
              size_t payload_extra, uint16_t msg_origin, uint16_t origin)
{
    tidal_buf p;
    tidal_buf_init(&p);
    for (uint32_t i = 0; i < n; i++) {
        TIDAL_PASS(tidal_record_encode(&recs[i], &p));
    }
    for (size_t i = 0; i < payload_extra; i++) {
        TIDAL_PASS(tidal_buf_append(&p, "\xc1", 1));
    }
    batch_msg(out, msg_origin, origin, n + count_extra, &p, 0);
    tidal_buf_fini(&p);
}

/* The bytes of a good batch (one hide, region 0's LSN 2), in its message. */
static int
good_batch(tidal_buf *out)
{
    tidal_record r = hide_rec();
    records_batch(out, &r, 1, 0, 0, 0, 0);
    return 0;
}

/* The batch inside a BATCH message built by good_batch: offset and length. */
static uint8_t *
batch_bytes(tidal_buf *msg, size_t *len)
{
    tidal_msg_batch m;
    TIDAL_PASS(tidal_msg_batch_decode(msg->data, msg->len, &m, NULL));
    *len = m.batch.len;
    return msg->data + (m.batch.ptr - msg->data);
}

static int
batch_cut(tidal_buf *out)
{
    tidal_buf g;
    tidal_buf_init(&g);
    good_batch(&g);
    size_t len;
    const uint8_t *b = batch_bytes(&g, &len);
    tidal_msg_batch m = {.origin = 0, .batch = {b, (uint32_t)len - 1}}; /* one byte short */
    TIDAL_PASS(tidal_msg_batch_encode(&m, out));
    tidal_buf_fini(&g);
    return 0;
}

/* A good batch with bytes[off] set to v (the CRC is not recomputed). */
static void
batch_poked(tidal_buf *out, size_t off, uint8_t v)
{
    good_batch(out);
    size_t len;
    uint8_t *b = batch_bytes(out, &len);
    cr_assert_lt(off, len);
    b[off] = v;
}

static int
batch_version_3(tidal_buf *out)
{
    batch_poked(out, 4, 3); /* version, u16 LE at offset 4 */
    return 0;
}

static int
batch_bad_magic(tidal_buf *out)
{
    batch_poked(out, 0, 'X');
    return 0;
}

static int
batch_crc_wrong(tidal_buf *out)
{
    good_batch(out);
    size_t len;
    uint8_t *b = batch_bytes(out, &len);
    b[len - 1] ^= 0x01; /* the payload's last byte: the stored CRC no longer matches */
    return 0;
}

static int
batch_trailing(tidal_buf *out)
{
    tidal_buf p;
    tidal_buf_init(&p);
    tidal_record r = hide_rec();
    TIDAL_PASS(tidal_record_encode(&r, &p));
    batch_msg(out, 0, 0, 1, &p, 1); /* one byte after the batch */
    tidal_buf_fini(&p);
    return 0;
}

/* Correct CRCs (batch_msg computes them) over records that are not right. */
static int
records_garbage(tidal_buf *out)
{
    tidal_buf p;
    tidal_buf_init(&p);
    TIDAL_PASS(tidal_buf_append(&p, "\x94\x05\xc1\xc1\xc1", 5));
    batch_msg(out, 0, 0, 1, &p, 0);
    tidal_buf_fini(&p);
    return 0;
}

static int
records_fewer_than_count(tidal_buf *out)
{
    tidal_record r = hide_rec();
    records_batch(out, &r, 1, 1, 0, 0, 0);
    return 0;
}

static int
records_then_bytes(tidal_buf *out)
{
    tidal_record r = hide_rec();
    records_batch(out, &r, 1, 0, 1, 0, 0);
    return 0;
}

/* A hide the state would take, then a signal whose type it refuses. */
static int
records_bad_type(tidal_buf *out)
{
    tidal_record r[2] = {hide_rec(), signal_rec("no spaces", 0)};
    records_batch(out, r, 2, 0, 0, 0, 0);
    return 0;
}

static int
records_other_origin(tidal_buf *out)
{
    tidal_record r[2] = {hide_rec(), signal_rec("view", 2)};
    records_batch(out, r, 2, 0, 0, 0, 0);
    return 0;
}

/* A USER_COUNTER carrying region 2's component in region 0's log. */
static int
records_counter_other_origin(tidal_buf *out)
{
    tidal_record r[2] = {
        hide_rec(),
        {.kind = TIDAL_REC_USER_COUNTER, .user = 1, .region = 2, .key = "src", .cp = 3}};
    records_batch(out, r, 2, 0, 0, 0, 0);
    return 0;
}

static int
batch_header_other_origin(tidal_buf *out)
{
    tidal_record r = hide_rec();
    records_batch(out, &r, 1, 0, 0, 0, 2);
    return 0;
}

static int
batch_of_itself(tidal_buf *out)
{
    tidal_record r = hide_rec();
    records_batch(out, &r, 1, 0, 0, 1, 1);
    return 0;
}

static void
ack(tidal_buf *out, uint16_t origin, uint64_t lsn)
{
    tidal_msg_ack a = {.origin = origin, .applied_lsn = lsn};
    TIDAL_PASS(tidal_msg_ack_encode(&a, out));
}

/* to region 1, as a log base: skips region 0's log to LSN 5 */
static int
ack_base_5(tidal_buf *out)
{
    ack(out, 0, 5);
    return 0;
}

static int
ack_of_region_1(tidal_buf *out)
{
    ack(out, 1, 5);
    return 0;
}

/* to shipper 0: region 1 says it lost region 0's LSN 1 (resend) */
static int
ack_0_at_0(tidal_buf *out)
{
    ack(out, 0, 0);
    return 0;
}

static int
ack_0_at_1000(tidal_buf *out)
{
    ack(out, 0, 1000);
    return 0;
}

static int
ack_1_at_1(tidal_buf *out)
{
    ack(out, 1, 1);
    return 0;
}

static int
peer_itself(tidal_buf *out)
{
    const char *u = "inproc://nowhere";
    tidal_view v = {(const uint8_t *)u, (uint32_t)strlen(u)};
    tidal_msg_peer p = {.region = 1, .region_url = v, .shipper_url = v, .reconciler_url = v};
    TIDAL_PASS(tidal_msg_peer_encode(&p, out));
    return 0;
}

/* A WRITE whose record is rec_bytes; returns what decoding it gives. */
static int
write_of(tidal_buf *out, const uint8_t *rec_bytes, size_t len)
{
    tidal_msg_write w = {.req_id = 0, .record = {rec_bytes, (uint32_t)len}};
    TIDAL_PASS(tidal_msg_write_encode(&w, out));
    tidal_record r;
    return tidal_record_decode_exact(rec_bytes, len, &r, NULL);
}

static int
write_garbage(tidal_buf *out)
{
    garbage(out);
    tidal_msg_write w;
    int rv = tidal_msg_write_decode(out->data, out->len, &w, NULL);
    cr_assert_neq(rv, 0);
    return rv;
}

static int
write_garbage_record(tidal_buf *out)
{
    int rv = write_of(out, (const uint8_t *)"\x94\x05\xc1\xc1", 4);
    cr_assert_neq(rv, 0);
    return rv;
}

static int
write_rec(tidal_buf *out, const tidal_record *r)
{
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_record_encode(r, &b));
    TIDAL_PASS(write_of(out, b.data, b.len));
    tidal_buf_fini(&b);
    return TIDAL_EINVAL;
}

static int
write_signal(tidal_buf *out)
{
    tidal_record r = signal_rec("view", 1);
    return write_rec(out, &r);
}

static int
write_other_session(tidal_buf *out)
{
    tidal_record r = signal_rec("view", 1);
    r.sid[15] ^= 0xff;
    return write_rec(out, &r);
}

/* A client's HOME record would give the session to region 0. */
static int
write_home(tidal_buf *out)
{
    tidal_record r = {.kind = TIDAL_REC_SESSION_HOME, .region = 0, .seqno = 1,
                      .hlc = {.wall_ns = repl_now_ns()}};
    memcpy(r.sid, rp_sid, 16);
    return write_rec(out, &r);
}

/* region 0 asking for the session on region 1's behalf */
static int
handover_req_for_region_1(tidal_buf *out)
{
    tidal_msg_handover_req m = {.to_region = 1};
    memcpy(m.sid, rp_sid, 16);
    TIDAL_PASS(tidal_msg_handover_req_encode(&m, out));
    return 0;
}

/* an on-demand round's tick */
static int
tick_one(tidal_buf *out)
{
    uint8_t one = 1;
    TIDAL_PASS(tidal_buf_append(out, &one, 1));
    return 0;
}

static int
handover_req_other_session(tidal_buf *out)
{
    tidal_msg_handover_req m = {.to_region = 0};
    memcpy(m.sid, rp_sid, 16);
    m.sid[0] ^= 0xff;
    TIDAL_PASS(tidal_msg_handover_req_encode(&m, out));
    return 0;
}

static int
handover_other_session(tidal_buf *out)
{
    tidal_msg_handover m = {.next_seqno = 1};
    memcpy(m.sid, rp_sid, 16);
    m.sid[0] ^= 0xff;
    TIDAL_PASS(tidal_msg_handover_encode(&m, out));
    return 0;
}

static void
digest_from(tidal_buf *out, uint16_t from)
{
    static uint64_t hashes[256]; /* all zero: every bucket differs */
    tidal_msg_digest m = {.from = from, .round = 1,
                          .hashes = {(const uint8_t *)hashes, sizeof(hashes)}, .on_demand = true};
    TIDAL_PASS(tidal_msg_digest_encode(&m, out));
}

static int
digest_from_0(tidal_buf *out)
{
    digest_from(out, 0);
    return 0;
}

static int
digest_from_5(tidal_buf *out)
{
    digest_from(out, 5);
    return 0;
}

static void
entries_of(tidal_buf *out, const uint8_t *entry, uint32_t len)
{
    tidal_view v = {entry, len};
    tidal_msg_entries m = {.from = 0, .round = 1, .last = true, .count = 1, .entries = &v};
    TIDAL_PASS(tidal_msg_entries_encode(&m, out));
}

static int
entry_hardneg_cut(tidal_buf *out)
{
    const uint8_t e[] = {KIND_HARDNEG, 1, 2, 3}; /* a version byte and 2 of 17 more */
    entries_of(out, e, sizeof(e));
    return 0;
}

static int
entry_unknown_kind(tidal_buf *out)
{
    const uint8_t e[] = {0x7f, 1, 2, 3};
    entries_of(out, e, sizeof(e));
    return 0;
}

#endif /* TIDAL_TESTS_REGION_REJECTS_PAYLOADS_H */
