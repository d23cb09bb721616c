/*
 * The envelope through its encoder: round trips at every bound, the encoder's
 * refusals, truncation at every byte, frames of several envelopes.  The
 * validity rules broken in crafted wire bytes are in test_envelope_rules.c.
 */
#include <stdlib.h>
#include <string.h>

#include "messages/envelope.h"
#include "messages/types.h"
#include "tidal/errors.h"
#include "tidal/limits.h"
#include "tidal_test.h"

TIDAL_SUITE(envelope);

#define NAME_LEN_MAX (TIDAL_NAME_BYTES_MAX - 1u)
#define URL_LEN_MAX (TIDAL_URL_BYTES_MAX - 1u)

static tidal_view
sv(const char *s)
{
    return (tidal_view){(const uint8_t *)s, (uint32_t)strlen(s)};
}

/* A buffer of n copies of c (tests only; freed by the caller). */
static uint8_t *
filled(size_t n, char c)
{
    uint8_t *p = malloc(n + 1);
    cr_assert(p != NULL);
    memset(p, c, n);
    p[n] = 0;
    return p;
}

static tidal_envelope
sample(void)
{
    return (tidal_envelope){
        .type = TIDAL_MSG_PING,
        .flags = TIDAL_ENV_F_SYSTEM,
        .from_name = sv("alice"),
        .from_key = sv("k1"),
        .to_name = sv("bob"),
        .id = 42,
        .hlc = {.wall_ns = 1700000000000000000ull, .logical = 7, .node_id = 3},
        .payload = sv("hello"),
        .has_reply = true,
        .reply_url = sv("inproc://r"),
        .reply_name = sv("carol"),
        .reply_key = sv("ck"),
        .corr = 9,
    };
}

static bool
view_same(tidal_view a, tidal_view b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void
assert_same(const tidal_envelope *a, const tidal_envelope *b)
{
    cr_assert(a->type == b->type);
    cr_assert(a->flags == b->flags);
    cr_assert(view_same(a->from_name, b->from_name));
    cr_assert(view_same(a->from_key, b->from_key));
    cr_assert(view_same(a->to_name, b->to_name));
    cr_assert(view_same(a->to_key, b->to_key));
    cr_assert(a->id == b->id);
    cr_assert(tidal_hlc_compare(&a->hlc, &b->hlc) == 0);
    cr_assert(a->hlc.logical == b->hlc.logical && a->hlc.node_id == b->hlc.node_id);
    cr_assert(view_same(a->payload, b->payload));
    cr_assert(a->has_reply == b->has_reply);
    cr_assert(view_same(a->reply_url, b->reply_url));
    cr_assert(view_same(a->reply_name, b->reply_name));
    cr_assert(view_same(a->reply_key, b->reply_key));
    cr_assert(a->corr == b->corr);
}

static void
round_trip(const tidal_envelope *e)
{
    tidal_buf b;
    tidal_envelope d;
    tidal_decode_err err;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_envelope_encode(e, &b));
    cr_assert(b.len <= TIDAL_ENVELOPE_BYTES_MAX, "%zu bytes", b.len);
    TIDAL_PASS(tidal_envelope_decode_exact(b.data, b.len, &d, &err));
    cr_assert(err.code == 0 && err.id == NULL);
    assert_same(e, &d);
    tidal_buf_fini(&b);
}

Test(envelope, round_trip_sample_and_without_reply)
{
    tidal_envelope e = sample();
    round_trip(&e);
    e.has_reply = false;
    e.reply_url = e.reply_name = e.reply_key = (tidal_view){0};
    e.payload = (tidal_view){0};
    e.flags = 0;
    round_trip(&e);
}

Test(envelope, round_trip_every_field_at_its_maximum)
{
    uint8_t *name = filled(NAME_LEN_MAX, 'n');
    uint8_t *key = filled(TIDAL_KEY_BYTES_MAX, 'k');
    uint8_t *url = filled(URL_LEN_MAX, 'u');
    uint8_t *payload = filled(TIDAL_PAYLOAD_BYTES_MAX, 'p');
    tidal_envelope e = {
        .type = UINT16_MAX,
        .flags = TIDAL_ENV_F_MASK,
        .from_name = {name, NAME_LEN_MAX},
        .from_key = {key, TIDAL_KEY_BYTES_MAX},
        .to_name = {name, NAME_LEN_MAX},
        .to_key = {key, TIDAL_KEY_BYTES_MAX},
        .id = UINT64_MAX,
        .hlc = {.wall_ns = UINT64_MAX, .logical = UINT32_MAX, .node_id = UINT16_MAX},
        .payload = {payload, TIDAL_PAYLOAD_BYTES_MAX},
        .has_reply = true,
        .reply_url = {url, URL_LEN_MAX},
        .reply_name = {name, NAME_LEN_MAX},
        .reply_key = {key, TIDAL_KEY_BYTES_MAX},
        .corr = UINT64_MAX,
    };
    round_trip(&e);
    /* one below each maximum */
    e.from_name.len = e.to_name.len = e.reply_name.len = NAME_LEN_MAX - 1;
    e.from_key.len = e.to_key.len = e.reply_key.len = TIDAL_KEY_BYTES_MAX - 1;
    e.reply_url.len = URL_LEN_MAX - 1;
    e.payload.len = TIDAL_PAYLOAD_BYTES_MAX - 1;
    round_trip(&e);
    free(name);
    free(key);
    free(url);
    free(payload);
}

Test(envelope, encode_refuses_each_bound_plus_one_and_leaves_out_alone)
{
    uint8_t *big = filled(TIDAL_PAYLOAD_BYTES_MAX + 1, 'x');
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_buf_append(&b, "pre", 3));
    tidal_envelope e;
#define REFUSE(stmt)                                                                               \
    do {                                                                                           \
        e = sample();                                                                              \
        stmt;                                                                                      \
        TIDAL_FAIL(tidal_envelope_encode(&e, &b), TIDAL_EINVAL);                                   \
        cr_assert(b.len == 3 && memcmp(b.data, "pre", 3) == 0, "out changed: %s", #stmt);          \
    } while (0)
    REFUSE(e.from_name = ((tidal_view){big, NAME_LEN_MAX + 1}));
    REFUSE(e.to_name = ((tidal_view){big, NAME_LEN_MAX + 1}));
    REFUSE(e.reply_name = ((tidal_view){big, NAME_LEN_MAX + 1}));
    REFUSE(e.from_key = ((tidal_view){big, TIDAL_KEY_BYTES_MAX + 1}));
    REFUSE(e.to_key = ((tidal_view){big, TIDAL_KEY_BYTES_MAX + 1}));
    REFUSE(e.reply_key = ((tidal_view){big, TIDAL_KEY_BYTES_MAX + 1}));
    REFUSE(e.reply_url = ((tidal_view){big, URL_LEN_MAX + 1}));
    REFUSE(e.payload = ((tidal_view){big, TIDAL_PAYLOAD_BYTES_MAX + 1}));
    REFUSE(e.from_name = ((tidal_view){0}));
    REFUSE(e.to_name = ((tidal_view){0}));
    REFUSE(e.reply_url = ((tidal_view){0}));
    REFUSE(e.payload = ((tidal_view){NULL, 3}));
    REFUSE(e.type = 0);
    REFUSE(e.type = TIDAL_MSG_TYPE_USER_MIN - 1);
    REFUSE(e.flags = TIDAL_ENV_F_MASK + 1);
#undef REFUSE
    /* without a reply, the reply views are not looked at */
    e = sample();
    e.has_reply = false;
    e.reply_url = (tidal_view){0};
    TIDAL_PASS(tidal_envelope_encode(&e, &b));
    cr_assert(b.len > 3 && memcmp(b.data, "pre", 3) == 0);
    tidal_buf_fini(&b);
    free(big);
}

/* A packer target that fails once `room` bytes are used up. */
static int
write_until_full(void *data, const char *buf, size_t len)
{
    (void)buf;
    size_t *room = data;
    if (len > *room) {
        return -1;
    }
    *room -= len;
    return 0;
}

Test(envelope, pack_reports_a_failed_write_as_enomem)
{
    tidal_envelope e = sample();
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_envelope_encode(&e, &b));
    for (size_t room = 0; room < b.len; room++) {
        size_t left = room;
        msgpack_packer pk;
        msgpack_packer_init(&pk, &left, write_until_full);
        TIDAL_FAIL(tidal_envelope_pack(&pk, &e), TIDAL_ENOMEM);
    }
    size_t left = b.len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &left, write_until_full);
    TIDAL_PASS(tidal_envelope_pack(&pk, &e));
    cr_assert(left == 0);
    tidal_buf_fini(&b);
}

static void
assert_truncated_at_every_offset(const tidal_envelope *e)
{
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_envelope_encode(e, &b));
    for (size_t cut = 0; cut < b.len; cut++) {
        tidal_envelope d;
        tidal_decode_err err;
        size_t used;
        int rv = tidal_envelope_decode_one(b.data, cut, &used, &d, &err);
        cr_assert(rv == TIDAL_ETRUNCATED, "cut at %zu of %zu: %s (%s)", cut, b.len,
                  tidal_errname(rv), err.what);
        cr_assert_str_eq(err.id, "TIDAL-DECODE-TRUNCATED");
        cr_assert(err.offset <= cut);
    }
    tidal_buf_fini(&b);
}

Test(envelope, truncation_at_every_byte_offset_is_etruncated)
{
    tidal_envelope e = sample();
    assert_truncated_at_every_offset(&e);
    e.has_reply = false;
    assert_truncated_at_every_offset(&e);

    uint8_t *payload = filled(TIDAL_PAYLOAD_BYTES_MAX, 'p');
    e = sample();
    e.payload = (tidal_view){payload, TIDAL_PAYLOAD_BYTES_MAX};
    e.id = e.corr = UINT64_MAX;
    assert_truncated_at_every_offset(&e);
    free(payload);
}

Test(envelope, frame_of_envelopes_back_to_back_and_trailing_bytes)
{
    tidal_envelope e = sample();
    tidal_envelope d;
    tidal_decode_err err;
    tidal_buf b;
    size_t used;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_envelope_encode(&e, &b));
    size_t one = b.len;
    e.id = 43;
    TIDAL_PASS(tidal_envelope_encode(&e, &b));

    TIDAL_PASS(tidal_envelope_decode_one(b.data, b.len, &used, &d, &err));
    cr_assert(used == one && d.id == 42);
    TIDAL_PASS(tidal_envelope_decode_one(b.data + used, b.len - used, &used, &d, &err));
    cr_assert(used == b.len - one && d.id == 43);

    TIDAL_FAIL(tidal_envelope_decode_exact(b.data, b.len, &d, &err), TIDAL_ETRAILING);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-TRAILING");
    cr_assert(err.offset == one && err.actual == b.len - one);
    TIDAL_FAIL(tidal_envelope_decode_exact(b.data, one + 1, &d, &err), TIDAL_ETRAILING);
    TIDAL_PASS(tidal_envelope_decode_exact(b.data, one, &d, NULL));
    tidal_buf_fini(&b);
}

Test(envelope, view_eq)
{
    cr_assert(tidal_view_eq(sv("abc"), "abc"));
    cr_assert(!tidal_view_eq(sv("abc"), "ab"));
    cr_assert(!tidal_view_eq(sv("ab"), "abc"));
    cr_assert(!tidal_view_eq(sv("abc"), "abd"));
    cr_assert(tidal_view_eq((tidal_view){0}, ""));
    cr_assert(!tidal_view_eq((tidal_view){(const uint8_t *)"a\0b", 3}, "a"));
}

Test(envelope, type_names_and_known_types)
{
    cr_assert_str_eq(tidal_msg_type_name(TIDAL_MSG_PING), "PING");
    cr_assert_str_eq(tidal_msg_type_name(TIDAL_MSG_TIMER), "TIMER");
    cr_assert(tidal_msg_type_name(0) == NULL);
    cr_assert(tidal_msg_type_name(TIDAL_MSG_TYPE_USER_MIN) == NULL);
    cr_assert(!tidal_msg_type_known(0));
    cr_assert(!tidal_msg_type_known(TIDAL_MSG_TYPE_USER_MIN - 1));
    cr_assert(tidal_msg_type_known(TIDAL_MSG_TYPE_USER_MIN));
    cr_assert(tidal_msg_type_known(UINT16_MAX));
    cr_assert(!tidal_msg_type_known(UINT16_MAX + 1u));
}
