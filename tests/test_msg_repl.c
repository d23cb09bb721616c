/* Replication payloads: round trips, limits and malformed input. */
#include <string.h>

#include "messages/msg_repl.h"
#include "messages/mpwrite.h"
#include "tidal_test.h"

TIDAL_SUITE(msg_repl);

#define ROUND_TRIP(name, in, out)                                                          \
    do {                                                                                   \
        tidal_buf b_;                                                                      \
        tidal_buf_init(&b_);                                                               \
        TIDAL_PASS(tidal_msg_##name##_encode(&(in), &b_));                                 \
        TIDAL_PASS(tidal_msg_##name##_decode(b_.data, b_.len, &(out), NULL));              \
        for (size_t cut_ = 0; cut_ < b_.len; cut_++) {                                     \
            cr_assert_neq(tidal_msg_##name##_decode(b_.data, cut_, &(out), NULL), 0);      \
        }                                                                                  \
        TIDAL_PASS(tidal_buf_append(&b_, "\xc0", 1));                                      \
        TIDAL_FAIL(tidal_msg_##name##_decode(b_.data, b_.len, &(out), NULL), TIDAL_ETRAILING); \
        b_.len--;                                                                          \
        TIDAL_PASS(tidal_msg_##name##_decode(b_.data, b_.len, &(out), NULL));              \
        keep = b_;                                                                         \
    } while (0)

Test(msg_repl, every_payload_round_trips_and_refuses_cuts_and_trailing_bytes)
{
    tidal_buf keep;
    static uint8_t big[TIDAL_REPL_BATCH_BYTES_MAX];
    memset(big, 7, sizeof(big));
    tidal_msg_batch b = {.origin = 3, .shard = 9, .batch = {big, sizeof(big)}}, b2;
    ROUND_TRIP(batch, b, b2);
    cr_assert(b2.origin == 3 && b2.shard == 9 && b2.batch.len == sizeof(big));
    tidal_buf_fini(&keep);
    b.batch.len = sizeof(big) + 1;
    tidal_buf t;
    tidal_buf_init(&t);
    TIDAL_FAIL(tidal_msg_batch_encode(&b, &t), TIDAL_EINVAL);

    tidal_msg_ack a = {.origin = 1, .shard = 2, .applied_lsn = UINT64_MAX}, a2;
    ROUND_TRIP(ack, a, a2);
    cr_assert_eq(a2.applied_lsn, UINT64_MAX);
    tidal_buf_fini(&keep);

    tidal_msg_clock c = {.wall_ns = UINT64_MAX}, c2;
    ROUND_TRIP(clock, c, c2);
    cr_assert_eq(c2.wall_ns, UINT64_MAX);
    tidal_buf_fini(&keep);

    tidal_msg_peer p = {.region = 4,
                        .region_url = {(const uint8_t *)"inproc://x/region-4", 19},
                        .shipper_url = {(const uint8_t *)"inproc://x/shipper-4", 20},
                        .reconciler_url = {(const uint8_t *)"tcp://127.0.0.1:5555", 20}},
                   p2;
    ROUND_TRIP(peer, p, p2);
    cr_assert(p2.shipper_url.len == 20 && memcmp(p2.shipper_url.ptr, "inproc://x/shipper-4", 20) == 0);
    tidal_buf_fini(&keep);
    p.region_url.len = 0;
    TIDAL_FAIL(tidal_msg_peer_encode(&p, &t), TIDAL_EINVAL);

    tidal_msg_write w = {.req_id = 77, .record = {big, TIDAL_REPL_RECORD_BYTES_MAX}}, w2;
    ROUND_TRIP(write, w, w2);
    cr_assert(w2.req_id == 77 && w2.record.len == TIDAL_REPL_RECORD_BYTES_MAX);
    tidal_buf_fini(&keep);
    w.record.len = TIDAL_REPL_RECORD_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_msg_write_encode(&w, &t), TIDAL_EINVAL);

    tidal_msg_write_result r = {.code = TIDAL_ENOENT, .seqno = 5, .lsn = 1ull << 40, .shard = 1}, r2;
    ROUND_TRIP(write_result, r, r2);
    cr_assert(r2.code == TIDAL_ENOENT && r2.lsn == 1ull << 40);
    tidal_buf_fini(&keep);

    tidal_msg_handover_req h = {.to_region = 2}, h2;
    memset(h.sid, 0xee, 16);
    ROUND_TRIP(handover_req, h, h2);
    cr_assert(h2.to_region == 2 && h2.sid[15] == 0xee);
    tidal_buf_fini(&keep);

    tidal_msg_handover ho = {.next_seqno = 6, .code = 0}, ho2;
    memset(ho.sid, 0x11, 16);
    ROUND_TRIP(handover, ho, ho2);
    cr_assert_eq(ho2.next_seqno, 6);
    tidal_buf_fini(&keep);

    uint64_t hashes[256];
    memset(hashes, 0x42, sizeof(hashes));
    tidal_msg_digest d = {.from = 1, .round = 3, .hashes = {(const uint8_t *)hashes, sizeof(hashes)},
                          .on_demand = true},
                     d2;
    ROUND_TRIP(digest, d, d2);
    cr_assert_eq(d2.hashes.len, sizeof(hashes));
    cr_assert(d2.on_demand);
    cr_assert_eq(d2.ncovers, 0, "an on-demand digest goes as 4 elements");
    cr_assert_eq(keep.data[0], 0x94);
    tidal_buf_fini(&keep);
    d.on_demand = false;
    ROUND_TRIP(digest, d, d2);
    cr_assert_not(d2.on_demand);
    tidal_buf_fini(&keep);
    d.ncovers = TIDAL_REGIONS_MAX; /* a periodic digest says how much it covers */
    for (uint32_t o = 0; o < TIDAL_REGIONS_MAX; o++) {
        d.covers[o] = o == 5 ? UINT64_MAX : o * 1000u;
    }
    ROUND_TRIP(digest, d, d2);
    cr_assert_eq(keep.data[0], 0x95);
    cr_assert_eq(d2.ncovers, TIDAL_REGIONS_MAX);
    cr_assert_eq(memcmp(d2.covers, d.covers, sizeof(d.covers)), 0);
    tidal_buf_fini(&keep);
    d.ncovers = 2;
    ROUND_TRIP(digest, d, d2);
    cr_assert(d2.ncovers == 2 && d2.covers[1] == 1000 && d2.covers[2] == 0,
              "the origins past the list are covered up to 0");
    tidal_buf_fini(&keep);
    d.ncovers = TIDAL_REGIONS_MAX + 1;
    TIDAL_FAIL(tidal_msg_digest_encode(&d, &t), TIDAL_EINVAL);
    d.ncovers = 0;
    d.hashes.len = 24; /* three buckets: not a power of two */
    TIDAL_FAIL(tidal_msg_digest_encode(&d, &t), TIDAL_EINVAL);

    tidal_view ents[3] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"bb", 2}, {big, 1000}};
    uint8_t want[32] = {0x81};
    tidal_msg_entries e = {.from = 2, .round = 3, .want = {want, sizeof(want)}, .last = true,
                           .reply = true, .part = 70000, .whole = false, .count = 3,
                           .entries = ents},
                      e2;
    ROUND_TRIP(entries, e, e2);
    cr_assert(e2.last && e2.count == 3 && e2.want.len == 32);
    cr_assert(e2.reply && e2.part == 70000 && !e2.whole);
    size_t cur = 0;
    tidal_view v;
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(tidal_msg_entries_next(&e2, &cur, &v));
        cr_assert_eq(v.len, ents[i].len);
        cr_assert(memcmp(v.ptr, ents[i].ptr, v.len) == 0);
    }
    TIDAL_FAIL(tidal_msg_entries_next(&e2, &cur, &v), TIDAL_ENOENT);
    tidal_buf_fini(&keep);
    tidal_buf_fini(&t);
}

Test(msg_repl, malformed_fields_are_refused)
{
    uint8_t raw[256], *p;
    tidal_msg_handover_req h;
    p = tidal_mpw_array(raw, 2);
    p = tidal_mpw_bin(p, "0123456789abcde", 15); /* a 15-byte session id */
    p = tidal_mpw_uint(p, 1);
    TIDAL_FAIL(tidal_msg_handover_req_decode(raw, (size_t)(p - raw), &h, NULL), TIDAL_EFIELD);
    tidal_msg_ack a;
    p = tidal_mpw_array(raw, 3);
    p = tidal_mpw_uint(p, 70000); /* origin past uint16 */
    p = tidal_mpw_uint(p, 0);
    p = tidal_mpw_uint(p, 0);
    TIDAL_FAIL(tidal_msg_ack_decode(raw, (size_t)(p - raw), &a, NULL), TIDAL_EFIELD);
    /* a CLOCK of another arity (an ACK's), or whose wall is not an unsigned integer */
    tidal_msg_clock c;
    p = tidal_mpw_array(raw, 3);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 0);
    p = tidal_mpw_uint(p, 5);
    cr_assert_neq(tidal_msg_clock_decode(raw, (size_t)(p - raw), &c, NULL), 0);
    p = tidal_mpw_array(raw, 1);
    p = tidal_mpw_str(p, "now", 3);
    cr_assert_neq(tidal_msg_clock_decode(raw, (size_t)(p - raw), &c, NULL), 0);
    tidal_msg_peer pe;
    p = tidal_mpw_array(raw, 4);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_str(p, "", 0); /* empty url */
    p = tidal_mpw_str(p, "x", 1);
    p = tidal_mpw_str(p, "y", 1);
    TIDAL_FAIL(tidal_msg_peer_decode(raw, (size_t)(p - raw), &pe, NULL), TIDAL_EFIELD);
    /* a DIGEST of 3 or 6 elements, covers past the region count or not
     * unsigned; an empty covers list is taken, as covering nothing known */
    uint8_t hb[8] = {0};
    tidal_msg_digest d;
    for (uint32_t arity = 3; arity <= 6; arity++) {
        p = tidal_mpw_array(raw, arity);
        p = tidal_mpw_uint(p, 1);
        p = tidal_mpw_uint(p, 2);
        p = tidal_mpw_bin(p, hb, sizeof(hb));
        if (arity >= 4) {
            *p++ = 0xc2;
        }
        if (arity >= 5) {
            p = tidal_mpw_array(p, 0);
        }
        if (arity >= 6) {
            *p++ = 0xc0;
        }
        int rv = tidal_msg_digest_decode(raw, (size_t)(p - raw), &d, NULL);
        if (arity == 4 || arity == 5) {
            TIDAL_PASS(rv);
            cr_assert_eq(d.ncovers, 0);
        } else {
            TIDAL_FAIL(rv, arity == 3 ? TIDAL_EFIELD : TIDAL_ETOOBIG);
        }
    }
    p = tidal_mpw_array(raw, 5);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 2);
    p = tidal_mpw_bin(p, hb, sizeof(hb));
    *p++ = 0xc2;
    uint8_t *list = p;
    p = tidal_mpw_array(p, TIDAL_REGIONS_MAX + 1);
    for (uint32_t o = 0; o <= TIDAL_REGIONS_MAX; o++) {
        p = tidal_mpw_uint(p, o);
    }
    TIDAL_FAIL(tidal_msg_digest_decode(raw, (size_t)(p - raw), &d, NULL), TIDAL_ETOOBIG);
    p = tidal_mpw_array(list, 1);
    p = tidal_mpw_str(p, "7", 1);
    cr_assert_neq(tidal_msg_digest_decode(raw, (size_t)(p - raw), &d, NULL), 0);
    static const uint8_t huge[] = {0x98, 0x01, 0x01, 0xc4, 0x00, 0xc3, 0xc3, 0x00,
                                   0xc3, 0xdd, 0xff, 0xff, 0xff, 0xff};
    tidal_msg_entries e;
    cr_assert_neq(tidal_msg_entries_decode(huge, sizeof(huge), &e, NULL), 0);
}
