/*
 * libFuzzer target for the replication payloads (messages/msg_repl.h): PEER,
 * ACK, CLOCK, BATCH, WRITE, WRITE_RESULT, DIGEST, ENTRIES, HANDOVER_REQ,
 * HANDOVER and TICK.  fuzz_envelope only reaches the runtime's own payloads (PING to
 * TIMER); these are what regions, shippers, reconcilers and clients read off
 * the wire from each other.
 *
 * Input: the first byte selects the type (its number, 10 for BATCH and so
 * on, or any other byte modulo the eleven types); the rest is the payload.
 *
 * What must hold for any input (a failure aborts):
 *  - decoding returns 0 or a TIDAL_E* code, and a failure fills err (id,
 *    field, an offset inside the payload);
 *  - what decodes keeps the bounds msg_repl.h promises (urls 1..127 bytes, a
 *    record 1..512 bytes, a power of two of bucket hashes, ...) and its views
 *    point inside the payload; ENTRIES walks (tidal_msg_entries_next) to
 *    exactly `count` entries, each within its bound;
 *  - what decodes re-encodes to no more bytes than the input, which decode
 *    to the same fields, which re-encode to the same bytes;
 *  - whatever the payload, an envelope of the type carries it verbatim: the
 *    direct encoder and msgpack-c's packer write the same bytes, which decode
 *    back to the type and the payload.  TICK has no decoder of its own (its
 *    payload's length alone means something), so this is all there is to it.
 *
 * tidal__fuzz_repl_one returns the selected decoder's result (0 for TICK);
 * tests/test_fuzz_repl.c replays fuzz/corpus/repl through it.
 */
#include "fuzz/fuzz_common.h"
#include "messages/msg_repl.h"
#include "messages/types.h"

int tidal__fuzz_repl_one(const uint8_t *data, size_t size);

static const uint16_t repl_types[] = {
    TIDAL_MSG_BATCH,        TIDAL_MSG_ACK,          TIDAL_MSG_PEER,     TIDAL_MSG_WRITE,
    TIDAL_MSG_WRITE_RESULT, TIDAL_MSG_HANDOVER_REQ, TIDAL_MSG_HANDOVER, TIDAL_MSG_DIGEST,
    TIDAL_MSG_ENTRIES,      TIDAL_MSG_TICK,         TIDAL_MSG_CLOCK,
};
#define REPL_TYPES (sizeof(repl_types) / sizeof(repl_types[0]))

static uint16_t
pick_type(uint8_t b)
{
    for (size_t i = 0; i < REPL_TYPES; i++) {
        if (repl_types[i] == b) {
            return b;
        }
    }
    return repl_types[b % REPL_TYPES];
}

/* v points inside [p, p + len). */
static bool
inside(tidal_view v, const uint8_t *p, size_t len)
{
    return v.len == 0 || (v.ptr >= p && v.ptr + v.len <= p + len);
}

/* Decoded m (from p, len) keeps its bounds (`valid`), re-encodes (into b) to
 * no more than len bytes, which decode to m2 with the same fields (`same`),
 * which re-encode (into c) to the same bytes.  Returns the decode result. */
#define FUZZ_REPL(name, valid, same)                                                               \
    static int fuzz_##name(const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)               \
    {                                                                                              \
        tidal_msg_##name m;                                                                        \
        tidal_msg_##name m2;                                                                       \
        tidal_decode_err err;                                                                      \
        int rv = tidal_msg_##name##_decode(p, len, &m, &err);                                      \
        fuzz_check_decode(rv, &err, len);                                                          \
        if (rv != 0) {                                                                             \
            return rv;                                                                             \
        }                                                                                          \
        FUZZ_CHECK(valid);                                                                         \
        tidal_buf_reset(b);                                                                        \
        tidal_buf_reset(c);                                                                        \
        FUZZ_CHECK(tidal_msg_##name##_encode(&m, b) == 0);                                         \
        FUZZ_CHECK(b->len <= len);                                                                 \
        FUZZ_CHECK(tidal_msg_##name##_decode(b->data, b->len, &m2, NULL) == 0);                    \
        FUZZ_CHECK(same);                                                                          \
        FUZZ_CHECK(tidal_msg_##name##_encode(&m2, c) == 0);                                        \
        FUZZ_CHECK(fuzz_bytes_same(c->data, c->len, b->data, b->len));                             \
        return 0;                                                                                  \
    }

#define URL_OK(v) ((v).len >= 1 && (v).len < TIDAL_URL_BYTES_MAX && inside((v), p, len))

FUZZ_REPL(batch, m.batch.len <= TIDAL_REPL_BATCH_BYTES_MAX && inside(m.batch, p, len),
          m.origin == m2.origin && m.shard == m2.shard && fuzz_view_same(m.batch, m2.batch))
FUZZ_REPL(ack, true,
          m.origin == m2.origin && m.shard == m2.shard && m.applied_lsn == m2.applied_lsn)
FUZZ_REPL(clock, true, m.wall_ns == m2.wall_ns)
FUZZ_REPL(peer, URL_OK(m.region_url) && URL_OK(m.shipper_url) && URL_OK(m.reconciler_url),
          m.region == m2.region && fuzz_view_same(m.region_url, m2.region_url) &&
              fuzz_view_same(m.shipper_url, m2.shipper_url) &&
              fuzz_view_same(m.reconciler_url, m2.reconciler_url))
FUZZ_REPL(write,
          m.record.len >= 1 && m.record.len <= TIDAL_REPL_RECORD_BYTES_MAX &&
              inside(m.record, p, len),
          m.req_id == m2.req_id && fuzz_view_same(m.record, m2.record))
FUZZ_REPL(write_result, true,
          m.code == m2.code && m.seqno == m2.seqno && m.lsn == m2.lsn && m.shard == m2.shard)
FUZZ_REPL(handover_req, true,
          memcmp(m.sid, m2.sid, sizeof(m.sid)) == 0 && m.to_region == m2.to_region)
FUZZ_REPL(handover, true,
          memcmp(m.sid, m2.sid, sizeof(m.sid)) == 0 && m.next_seqno == m2.next_seqno &&
              m.code == m2.code)
FUZZ_REPL(digest,
          m.hashes.len % 8 == 0 && m.hashes.len / 8 >= 1 &&
              m.hashes.len / 8 <= TIDAL_REPL_DIGEST_BUCKETS_MAX &&
              (m.hashes.len / 8 & (m.hashes.len / 8 - 1)) == 0 && inside(m.hashes, p, len) &&
              m.ncovers <= TIDAL_REGIONS_MAX,
          m.from == m2.from && m.round == m2.round && fuzz_view_same(m.hashes, m2.hashes) &&
              m.on_demand == m2.on_demand && m.ncovers == m2.ncovers &&
              memcmp(m.covers, m2.covers, sizeof(m.covers)) == 0)

#undef URL_OK
#undef FUZZ_REPL

/* Walks a decoded ENTRIES message into views (a fresh array, freed by the
 * caller): exactly m->count entries, each within its bound and inside
 * [p, p + len), then TIDAL_ENOENT at the end of the raw list. */
static tidal_view *
entries_walk(const tidal_msg_entries *m, const uint8_t *p, size_t len)
{
    tidal_view *v = malloc((m->count != 0 ? m->count : 1) * sizeof(*v));
    size_t cursor = 0;
    uint32_t n = 0;
    tidal_view e;
    int rv;

    FUZZ_CHECK(v != NULL);
    FUZZ_CHECK(inside(m->entries_raw, p, len));
    while ((rv = tidal_msg_entries_next(m, &cursor, &e)) == 0) {
        FUZZ_CHECK(n < m->count);
        FUZZ_CHECK(e.len >= 1 && e.len <= TIDAL_REPL_ENTRY_BYTES_MAX && inside(e, p, len));
        v[n++] = e;
    }
    FUZZ_CHECK(rv == TIDAL_ENOENT);
    FUZZ_CHECK(n == m->count);
    FUZZ_CHECK(cursor == m->entries_raw.len);
    return v;
}

static int
fuzz_entries(const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)
{
    tidal_msg_entries m;
    tidal_msg_entries m2;
    tidal_decode_err err;
    int rv = tidal_msg_entries_decode(p, len, &m, &err);

    fuzz_check_decode(rv, &err, len);
    if (rv != 0) {
        return rv;
    }
    FUZZ_CHECK(m.count <= TIDAL_REPL_ENTRIES_MAX);
    FUZZ_CHECK(m.want.len <= TIDAL_REPL_DIGEST_BUCKETS_MAX / 8 && inside(m.want, p, len));
    tidal_view *v = entries_walk(&m, p, len);
    m.entries = v;
    tidal_buf_reset(b);
    tidal_buf_reset(c);
    FUZZ_CHECK(tidal_msg_entries_encode(&m, b) == 0);
    FUZZ_CHECK(b->len <= len);
    FUZZ_CHECK(tidal_msg_entries_decode(b->data, b->len, &m2, NULL) == 0);
    FUZZ_CHECK(m.from == m2.from && m.round == m2.round && fuzz_view_same(m.want, m2.want) &&
               m.last == m2.last && m.count == m2.count);
    tidal_view *v2 = entries_walk(&m2, b->data, b->len);
    for (uint32_t i = 0; i < m.count; i++) {
        FUZZ_CHECK(fuzz_view_same(v[i], v2[i]));
    }
    m2.entries = v2;
    FUZZ_CHECK(tidal_msg_entries_encode(&m2, c) == 0);
    FUZZ_CHECK(fuzz_bytes_same(c->data, c->len, b->data, b->len));
    free(v2);
    free(v);
    return 0;
}

/* An envelope of `type` carries the payload verbatim, and the two encoders
 * agree on its bytes. */
static void
fuzz_carry(uint16_t type, const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)
{
    static const char from[] = "shipper-1", to[] = "region-2";
    tidal_envelope e = {
        .type = type,
        .from_name = {(const uint8_t *)from, sizeof(from) - 1},
        .to_name = {(const uint8_t *)to, sizeof(to) - 1},
        .id = 7,
        .hlc = {1700000000000000000ull, 3, 1},
        .payload = {p, (uint32_t)len},
    };
    tidal_envelope d;
    msgpack_packer pk;

    if (len > TIDAL_PAYLOAD_BYTES_MAX) {
        return; /* libFuzzer's -max_len keeps inputs far below */
    }
    tidal_buf_reset(b);
    tidal_buf_reset(c);
    FUZZ_CHECK(tidal_envelope_encode(&e, b) == 0);
    tidal_buf_packer(c, &pk);
    FUZZ_CHECK(tidal_envelope_pack(&pk, &e) == 0);
    FUZZ_CHECK(fuzz_bytes_same(c->data, c->len, b->data, b->len));
    FUZZ_CHECK(tidal_envelope_decode_exact(b->data, b->len, &d, NULL) == 0);
    FUZZ_CHECK(d.type == type && fuzz_view_same(d.payload, e.payload));
}

int
tidal__fuzz_repl_one(const uint8_t *data, size_t size)
{
    tidal_buf b;
    tidal_buf c;
    int rv = 0;

    if (size == 0) {
        return 0;
    }
    uint16_t type = pick_type(data[0]);
    const uint8_t *p = data + 1;
    size_t len = size - 1;
    tidal_buf_init(&b);
    tidal_buf_init(&c);
    switch (type) {
    case TIDAL_MSG_BATCH:
        rv = fuzz_batch(p, len, &b, &c);
        break;
    case TIDAL_MSG_ACK:
        rv = fuzz_ack(p, len, &b, &c);
        break;
    case TIDAL_MSG_CLOCK:
        rv = fuzz_clock(p, len, &b, &c);
        break;
    case TIDAL_MSG_PEER:
        rv = fuzz_peer(p, len, &b, &c);
        break;
    case TIDAL_MSG_WRITE:
        rv = fuzz_write(p, len, &b, &c);
        break;
    case TIDAL_MSG_WRITE_RESULT:
        rv = fuzz_write_result(p, len, &b, &c);
        break;
    case TIDAL_MSG_HANDOVER_REQ:
        rv = fuzz_handover_req(p, len, &b, &c);
        break;
    case TIDAL_MSG_HANDOVER:
        rv = fuzz_handover(p, len, &b, &c);
        break;
    case TIDAL_MSG_DIGEST:
        rv = fuzz_digest(p, len, &b, &c);
        break;
    case TIDAL_MSG_ENTRIES:
        rv = fuzz_entries(p, len, &b, &c);
        break;
    default: /* TICK: no decoder; the envelope below is its whole path */
        break;
    }
    fuzz_carry(type, p, len, &b, &c);
    tidal_buf_fini(&b);
    tidal_buf_fini(&c);
    return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_repl_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
