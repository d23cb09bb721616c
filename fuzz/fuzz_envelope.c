/*
 * libFuzzer target for the receive path: a frame (envelopes back to back) is
 * decoded with tidal_envelope_decode_one until an error or its end, and each
 * payload whose type tidal knows goes through that type's decoder.  Every
 * payload decoder also gets the raw input, which reaches their corners faster.
 *
 * What must hold for any input (a failure aborts, which libFuzzer reports):
 *  - decoding returns 0 or a TIDAL_E* code, and a failure fills err (id,
 *    field name, an offset inside the input);
 *  - what decodes, re-encodes: the encoding is no longer than the input that
 *    gave it (the encoder picks the smallest msgpack forms), decodes back to
 *    the same fields, and re-encoding that gives the same bytes.
 *
 * tests/test_fuzz_corpus.c includes this file to replay the corpus and past
 * crashes through tidal__fuzz_one, the very same path, in every ctest run.
 */
#include "fuzz/fuzz_common.h"
#include "messages/msgs.h"

int tidal__fuzz_one(const uint8_t *data, size_t size);

/* Decoded m re-encodes (into b) to no more than len bytes, which decode to m2
 * with the same fields (`same`), which re-encode (into c) to the same bytes. */
#define FUZZ_MSG(name, same)                                                                       \
    static void fuzz_##name(const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)              \
    {                                                                                              \
        tidal_msg_##name m;                                                                        \
        tidal_msg_##name m2;                                                                       \
        tidal_decode_err err;                                                                      \
        int rv = tidal_msg_##name##_decode(p, len, &m, &err);                                      \
        fuzz_check_decode(rv, &err, len);                                                          \
        if (rv != 0) {                                                                             \
            return;                                                                                \
        }                                                                                          \
        tidal_buf_reset(b);                                                                        \
        tidal_buf_reset(c);                                                                        \
        FUZZ_CHECK(tidal_msg_##name##_encode(&m, b) == 0);                                         \
        FUZZ_CHECK(b->len <= len);                                                                 \
        FUZZ_CHECK(tidal_msg_##name##_decode(b->data, b->len, &m2, NULL) == 0);                    \
        FUZZ_CHECK(same);                                                                          \
        FUZZ_CHECK(tidal_msg_##name##_encode(&m2, c) == 0);                                        \
        FUZZ_CHECK(c->len == b->len && memcmp(c->data, b->data, b->len) == 0);                     \
    }

FUZZ_MSG(ping, m.seq == m2.seq && fuzz_view_same(m.body, m2.body))
FUZZ_MSG(pong, m.seq == m2.seq && fuzz_view_same(m.body, m2.body))
FUZZ_MSG(counter_add, m.delta == m2.delta)
FUZZ_MSG(counter_read, m.unused == m2.unused)
FUZZ_MSG(counter_value, m.value == m2.value)
FUZZ_MSG(child_exit, fuzz_view_same(m.child, m2.child) && m.code == m2.code &&
                         m.restarts == m2.restarts && m.stopped == m2.stopped)
FUZZ_MSG(timer, m.tag == m2.tag && fuzz_view_same(m.body, m2.body))

#undef FUZZ_MSG

static void
fuzz_payload(uint32_t type, const uint8_t *p, size_t len, tidal_buf *b, tidal_buf *c)
{
    switch (type) {
    case TIDAL_MSG_PING:
        fuzz_ping(p, len, b, c);
        break;
    case TIDAL_MSG_PONG:
        fuzz_pong(p, len, b, c);
        break;
    case TIDAL_MSG_COUNTER_ADD:
        fuzz_counter_add(p, len, b, c);
        break;
    case TIDAL_MSG_COUNTER_READ:
        fuzz_counter_read(p, len, b, c);
        break;
    case TIDAL_MSG_COUNTER_VALUE:
        fuzz_counter_value(p, len, b, c);
        break;
    case TIDAL_MSG_CHILD_EXIT:
        fuzz_child_exit(p, len, b, c);
        break;
    case TIDAL_MSG_TIMER:
        fuzz_timer(p, len, b, c);
        break;
    default:
        /* application types: the payload is opaque to tidal */
        break;
    }
}

static bool
envelope_same(const tidal_envelope *a, const tidal_envelope *b)
{
    return a->type == b->type && a->flags == b->flags &&
           fuzz_view_same(a->from_name, b->from_name) && fuzz_view_same(a->from_key, b->from_key) &&
           fuzz_view_same(a->to_name, b->to_name) && fuzz_view_same(a->to_key, b->to_key) &&
           a->id == b->id && a->hlc.wall_ns == b->hlc.wall_ns && a->hlc.logical == b->hlc.logical &&
           a->hlc.node_id == b->hlc.node_id && fuzz_view_same(a->payload, b->payload) &&
           a->has_reply == b->has_reply && fuzz_view_same(a->reply_url, b->reply_url) &&
           fuzz_view_same(a->reply_name, b->reply_name) &&
           fuzz_view_same(a->reply_key, b->reply_key) && a->corr == b->corr;
}

/* One envelope that decoded from `used` input bytes, re-encoded. */
static void
fuzz_reencode(const tidal_envelope *e, size_t used, tidal_buf *b, tidal_buf *c)
{
    tidal_envelope e2;
    tidal_buf_reset(b);
    tidal_buf_reset(c);
    FUZZ_CHECK(tidal_envelope_encode(e, b) == 0);
    FUZZ_CHECK(b->len <= used);
    FUZZ_CHECK(tidal_envelope_decode_exact(b->data, b->len, &e2, NULL) == 0);
    FUZZ_CHECK(envelope_same(e, &e2));
    FUZZ_CHECK(tidal_envelope_encode(&e2, c) == 0);
    FUZZ_CHECK(c->len == b->len && memcmp(c->data, b->data, b->len) == 0);
}

/* Decodes data as a frame; returns the result of the last decode (0 if the
 * whole frame decoded). */
static int
fuzz_frame(const uint8_t *data, size_t size, tidal_buf *b, tidal_buf *c)
{
    size_t off = 0;
    int rv = 0;
    while (off < size) {
        tidal_envelope e;
        tidal_decode_err err;
        size_t used = 0;
        rv = tidal_envelope_decode_one(data + off, size - off, &used, &e, &err);
        fuzz_check_decode(rv, &err, size - off);
        if (rv != 0) {
            break;
        }
        FUZZ_CHECK(used > 0 && used <= size - off);
        FUZZ_CHECK(e.payload.ptr >= data + off && e.payload.ptr + e.payload.len <= data + size);
        fuzz_reencode(&e, used, b, c);
        fuzz_payload(e.type, e.payload.ptr, e.payload.len, b, c);
        off += used;
    }
    return rv;
}

int
tidal__fuzz_one(const uint8_t *data, size_t size)
{
    tidal_buf b;
    tidal_buf c;
    tidal_buf_init(&b);
    tidal_buf_init(&c);
    int rv = fuzz_frame(data, size, &b, &c);
    for (uint32_t type = TIDAL_MSG_PING; type <= TIDAL_MSG_TIMER; type++) {
        fuzz_payload(type, data, size, &b, &c);
    }
    tidal_buf_fini(&b);
    tidal_buf_fini(&c);
    return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
