/*
 * The payload types of messages/msgs.h: golden wire bytes, round trips, each
 * bound at -1, exact and +1, and malformed input (cut at every byte, trailing
 * bytes, wrong arity, wrong field types) per type.
 */
#include <stdlib.h>
#include <string.h>

#include "messages/msgs.h"
#include "tidal_test.h"

TIDAL_SUITE(msgs);

#define NAME_LEN_MAX (TIDAL_NAME_BYTES_MAX - 1u)

/* Each decoder behind one signature, for the malformed-input loops. */
typedef int (*decode_any)(const uint8_t *buf, size_t len, tidal_decode_err *err);

#define DECODE_ANY(name)                                                                           \
    static int dec_##name(const uint8_t *buf, size_t len, tidal_decode_err *err)                   \
    {                                                                                              \
        tidal_msg_##name m;                                                                        \
        return tidal_msg_##name##_decode(buf, len, &m, err);                                       \
    }
DECODE_ANY(ping)
DECODE_ANY(pong)
DECODE_ANY(counter_add)
DECODE_ANY(counter_read)
DECODE_ANY(counter_value)
DECODE_ANY(child_exit)
DECODE_ANY(timer)
#undef DECODE_ANY

/* A valid encoding: every proper prefix is truncated, one more byte is trailing. */
static void
assert_cuts_and_trailing(const uint8_t *buf, size_t len, decode_any dec, const char *msg)
{
    tidal_decode_err err;
    TIDAL_PASS(dec(buf, len, &err));
    for (size_t cut = 0; cut < len; cut++) {
        int rv = dec(buf, cut, &err);
        cr_assert(rv == TIDAL_ETRUNCATED, "%s cut at %zu: %s", msg, cut, tidal_errname(rv));
    }
    uint8_t *more = malloc(len + 1);
    cr_assert(more != NULL);
    memcpy(more, buf, len);
    more[len] = 0x00;
    TIDAL_FAIL(dec(more, len + 1, &err), TIDAL_ETRAILING);
    cr_assert_str_eq(err.what, msg);
    cr_assert(err.offset == len);
    free(more);
}

static void
expect_bytes(const tidal_buf *b, const uint8_t *want, size_t len)
{
    cr_assert(b->len == len, "%zu bytes, want %zu", b->len, len);
    cr_assert(memcmp(b->data, want, len) == 0);
}

static void
expect_fail(decode_any dec, const uint8_t *buf, size_t len, int code, const char *what)
{
    tidal_decode_err err;
    int rv = dec(buf, len, &err);
    cr_assert(rv == code, "expected %s, got %s (%s)", tidal_errname(code), tidal_errname(rv),
              err.what != NULL ? err.what : "-");
    cr_assert_str_eq(err.what, what);
}

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

Test(msgs, ping_and_pong_round_trip_and_golden_bytes)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_ping ping = {.seq = 1, .body = {(const uint8_t *)"ab", 2}};
    TIDAL_PASS(tidal_msg_ping_encode(&ping, &b));
    expect_bytes(&b, BYTES(0x92, 0x01, 0xc4, 0x02, 'a', 'b'));
    assert_cuts_and_trailing(b.data, b.len, dec_ping, "ping");

    tidal_msg_pong pong;
    TIDAL_PASS(tidal_msg_pong_decode(b.data, b.len, &pong, NULL));
    cr_assert(pong.seq == 1 && pong.body.len == 2 && pong.body.ptr == b.data + 4);
    tidal_buf_reset(&b);
    pong.seq = UINT64_MAX;
    pong.body = (tidal_view){0};
    TIDAL_PASS(tidal_msg_pong_encode(&pong, &b));
    assert_cuts_and_trailing(b.data, b.len, dec_pong, "pong");
    TIDAL_PASS(tidal_msg_ping_decode(b.data, b.len, &ping, NULL));
    cr_assert(ping.seq == UINT64_MAX && ping.body.len == 0);
    tidal_buf_fini(&b);
}

Test(msgs, body_bound_at_minus_one_exact_plus_one)
{
    uint8_t *body = calloc(1, TIDAL_MSG_BODY_BYTES_MAX + 1);
    cr_assert(body != NULL);
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_ping ping = {.seq = 5, .body = {body, TIDAL_MSG_BODY_BYTES_MAX - 1}};
    tidal_msg_timer timer = {.tag = 6, .body = ping.body};
    tidal_msg_ping p2;
    tidal_msg_timer t2;

    TIDAL_PASS(tidal_msg_ping_encode(&ping, &b));
    TIDAL_PASS(tidal_msg_ping_decode(b.data, b.len, &p2, NULL));
    tidal_buf_reset(&b);
    ping.body.len = timer.body.len = TIDAL_MSG_BODY_BYTES_MAX;
    TIDAL_PASS(tidal_msg_ping_encode(&ping, &b));
    cr_assert(b.len <= TIDAL_PAYLOAD_BYTES_MAX, "the largest ping fits an envelope payload");
    TIDAL_PASS(tidal_msg_ping_decode(b.data, b.len, &p2, NULL));
    cr_assert(p2.body.len == TIDAL_MSG_BODY_BYTES_MAX);
    tidal_buf_reset(&b);
    TIDAL_PASS(tidal_msg_timer_encode(&timer, &b));
    cr_assert(b.len <= TIDAL_PAYLOAD_BYTES_MAX);
    TIDAL_PASS(tidal_msg_timer_decode(b.data, b.len, &t2, NULL));
    tidal_buf_reset(&b);

    ping.body.len = timer.body.len = TIDAL_MSG_BODY_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_msg_ping_encode(&ping, &b), TIDAL_EINVAL);
    tidal_msg_pong pong = {.seq = 5, .body = ping.body};
    TIDAL_FAIL(tidal_msg_pong_encode(&pong, &b), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_msg_timer_encode(&timer, &b), TIDAL_EINVAL);
    cr_assert(b.len == 0);

    /* crafted: [5, bin32 of MAX+1] */
    uint32_t n = TIDAL_MSG_BODY_BYTES_MAX + 1;
    uint8_t hdr[] = {
        0x92, 0x05, 0xc6, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    TIDAL_PASS(tidal_buf_append(&b, hdr, sizeof(hdr)));
    TIDAL_PASS(tidal_buf_append(&b, body, n));
    expect_fail(dec_ping, b.data, b.len, TIDAL_ETOOBIG, "ping.body");
    expect_fail(dec_pong, b.data, b.len, TIDAL_ETOOBIG, "pong.body");
    expect_fail(dec_timer, b.data, b.len, TIDAL_ETOOBIG, "timer.body");
    tidal_buf_fini(&b);
    free(body);
}

Test(msgs, ping_malformed)
{
    expect_fail(dec_ping, BYTES(0x91, 0x01), TIDAL_EFIELD, "ping");
    expect_fail(dec_ping, BYTES(0x93, 0x01, 0xc4, 0x00, 0x01), TIDAL_EFIELD, "ping");
    expect_fail(dec_ping, BYTES(0x81, 0x01, 0x02), TIDAL_EFIELD, "ping");
    expect_fail(dec_ping, BYTES(0x92, 0xff, 0xc4, 0x00), TIDAL_EFIELD, "ping.seq");
    expect_fail(dec_ping, BYTES(0x92, 0x01, 0xa0), TIDAL_EFIELD, "ping.body");
    expect_fail(dec_ping, BYTES(0xdd, 0xff, 0xff, 0xff, 0xff), TIDAL_ELENGTH, "ping");
    expect_fail(dec_pong, BYTES(0x92, 0x01, 0xc0), TIDAL_EFIELD, "pong.body");
}

Test(msgs, counters_round_trip_bounds_and_golden_bytes)
{
    tidal_buf b;
    tidal_buf_init(&b);
    const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -33,           -1,       0,
                              127,       128,           INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        tidal_msg_counter_add add = {.delta = values[i]};
        tidal_msg_counter_value val = {.value = values[i]};
        tidal_msg_counter_add add2;
        tidal_msg_counter_value val2;
        tidal_buf_reset(&b);
        TIDAL_PASS(tidal_msg_counter_add_encode(&add, &b));
        TIDAL_PASS(tidal_msg_counter_add_decode(b.data, b.len, &add2, NULL));
        cr_assert(add2.delta == values[i]);
        assert_cuts_and_trailing(b.data, b.len, dec_counter_add, "counter_add");
        tidal_buf_reset(&b);
        TIDAL_PASS(tidal_msg_counter_value_encode(&val, &b));
        TIDAL_PASS(tidal_msg_counter_value_decode(b.data, b.len, &val2, NULL));
        cr_assert(val2.value == values[i]);
        assert_cuts_and_trailing(b.data, b.len, dec_counter_value, "counter_value");
    }
    tidal_buf_reset(&b);
    TIDAL_PASS(tidal_msg_counter_add_encode(&(tidal_msg_counter_add){.delta = -1}, &b));
    expect_bytes(&b, BYTES(0x91, 0xff));

    tidal_msg_counter_read rd = {.unused = 9};
    tidal_buf_reset(&b);
    TIDAL_PASS(tidal_msg_counter_read_encode(&rd, &b));
    expect_bytes(&b, BYTES(0x90));
    TIDAL_PASS(tidal_msg_counter_read_decode(b.data, b.len, &rd, NULL));
    cr_assert(rd.unused == 0);
    assert_cuts_and_trailing(b.data, b.len, dec_counter_read, "counter_read");
    tidal_buf_fini(&b);
}

Test(msgs, counters_malformed)
{
    /* INT64_MAX + 1 as a uint64 */
    expect_fail(dec_counter_add, BYTES(0x91, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0), TIDAL_EFIELD,
                "counter_add.delta");
    expect_fail(dec_counter_value,
                BYTES(0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), TIDAL_EFIELD,
                "counter_value.value");
    expect_fail(dec_counter_add, BYTES(0x91, 0xca, 0, 0, 0, 0), TIDAL_EFIELD, "counter_add.delta");
    expect_fail(dec_counter_add, BYTES(0x90), TIDAL_EFIELD, "counter_add");
    expect_fail(dec_counter_add, BYTES(0x92, 0x01, 0x02), TIDAL_EFIELD, "counter_add");
    expect_fail(dec_counter_value, BYTES(0xa1, 'x'), TIDAL_EFIELD, "counter_value");
    expect_fail(dec_counter_read, BYTES(0x91, 0x01), TIDAL_EFIELD, "counter_read");
    expect_fail(dec_counter_read, BYTES(0x91), TIDAL_ELENGTH, "counter_read");
    expect_fail(dec_counter_read, BYTES(0xc0), TIDAL_EFIELD, "counter_read");
    expect_fail(dec_counter_read, BYTES(0x80), TIDAL_EFIELD, "counter_read");
    /* a wider array header holding 0 elements is still an empty array */
    tidal_msg_counter_read rd;
    TIDAL_PASS(tidal_msg_counter_read_decode(BYTES(0xdc, 0x00, 0x00), &rd, NULL));
}

static tidal_msg_child_exit
child(const char *name, uint32_t code)
{
    return (tidal_msg_child_exit){.child = {(const uint8_t *)name, (uint32_t)strlen(name)},
                                  .code = code,
                                  .restarts = 3,
                                  .stopped = true};
}

static int
enc_child(const char *name, uint32_t code, tidal_buf *b)
{
    tidal_msg_child_exit m = child(name, code);
    return tidal_msg_child_exit_encode(&m, b);
}

Test(msgs, child_exit_round_trip_and_golden_bytes)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_child_exit m = child("w1", TIDAL_EFULL);
    tidal_msg_child_exit d;
    TIDAL_PASS(tidal_msg_child_exit_encode(&m, &b));
    expect_bytes(&b, BYTES(0x94, 0xa2, 'w', '1', 0xcd, 0x27, 0x14, 0x03, 0xc3));
    TIDAL_PASS(tidal_msg_child_exit_decode(b.data, b.len, &d, NULL));
    cr_assert(tidal_view_eq(d.child, "w1"));
    cr_assert(d.code == TIDAL_EFULL && d.restarts == 3 && d.stopped);
    assert_cuts_and_trailing(b.data, b.len, dec_child_exit, "child_exit");

    m.stopped = false;
    m.restarts = UINT32_MAX;
    tidal_buf_reset(&b);
    TIDAL_PASS(tidal_msg_child_exit_encode(&m, &b));
    TIDAL_PASS(tidal_msg_child_exit_decode(b.data, b.len, &d, NULL));
    cr_assert(d.restarts == UINT32_MAX && !d.stopped);
    tidal_buf_fini(&b);
}

Test(msgs, child_exit_bounds_at_minus_one_exact_plus_one)
{
    char name[TIDAL_NAME_BYTES_MAX + 1];
    memset(name, 'c', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_child_exit d;

    const uint32_t lens[] = {1, NAME_LEN_MAX - 1, NAME_LEN_MAX};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        name[lens[i]] = '\0';
        tidal_buf_reset(&b);
        TIDAL_PASS(enc_child(name, TIDAL_EIO, &b));
        TIDAL_PASS(tidal_msg_child_exit_decode(b.data, b.len, &d, NULL));
        cr_assert(d.child.len == lens[i]);
        name[lens[i]] = 'c';
    }
    name[NAME_LEN_MAX + 1] = '\0';
    tidal_buf_reset(&b);
    TIDAL_FAIL(enc_child(name, TIDAL_EIO, &b), TIDAL_EINVAL);
    TIDAL_FAIL(enc_child("", TIDAL_EIO, &b), TIDAL_EINVAL);

    const uint32_t good[] = {TIDAL_MSG_EXIT_CODE_MIN, TIDAL_MSG_EXIT_CODE_MIN + 1,
                             TIDAL_MSG_EXIT_CODE_MAX - 1, TIDAL_MSG_EXIT_CODE_MAX};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        tidal_buf_reset(&b);
        TIDAL_PASS(enc_child("w", good[i], &b));
        TIDAL_PASS(tidal_msg_child_exit_decode(b.data, b.len, &d, NULL));
        cr_assert(d.code == good[i]);
    }
    const uint32_t bad[] = {0, TIDAL_MSG_EXIT_CODE_MIN - 1, TIDAL_MSG_EXIT_CODE_MAX + 1, 7};
    tidal_buf_reset(&b);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        TIDAL_FAIL(enc_child("w", bad[i], &b), TIDAL_EINVAL);
    }
    cr_assert(b.len == 0);
    tidal_buf_fini(&b);

    /* crafted on the wire: name 47 ok / 48 too big, codes 10000 / 11000, restarts 2^32 */
    uint8_t wire[64] = {0x94, 0xd9, NAME_LEN_MAX};
    memset(wire + 3, 'n', NAME_LEN_MAX);
    uint8_t tail[] = {0xcd, 0x27, 0x11, 0x00, 0xc2};
    memcpy(wire + 3 + NAME_LEN_MAX, tail, sizeof(tail));
    size_t len = 3 + NAME_LEN_MAX + sizeof(tail);
    TIDAL_PASS(dec_child_exit(wire, len, NULL));
    wire[2] = NAME_LEN_MAX + 1;
    expect_fail(dec_child_exit, wire, len, TIDAL_ETOOBIG, "child_exit.child");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa0, 0xcd, 0x27, 0x11, 0x00, 0xc2), TIDAL_EFIELD,
                "child_exit.child");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xcd, 0x27, 0x10, 0x00, 0xc2), TIDAL_EFIELD,
                "child_exit.code");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xcd, 0x2a, 0xf8, 0x00, 0xc2), TIDAL_EFIELD,
                "child_exit.code");
    TIDAL_PASS(dec_child_exit(BYTES(0x94, 0xa1, 'w', 0xcd, 0x2a, 0xf7, 0x00, 0xc2), NULL));
    expect_fail(dec_child_exit,
                BYTES(0x94, 0xa1, 'w', 0xcd, 0x27, 0x11, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xc2),
                TIDAL_EFIELD, "child_exit.restarts");
}

Test(msgs, child_exit_malformed)
{
    expect_fail(dec_child_exit, BYTES(0x93, 0xa1, 'w', 0x01, 0x00), TIDAL_EFIELD, "child_exit");
    expect_fail(dec_child_exit, BYTES(0x94, 0xc4, 0x01, 'w', 0xcd, 0x27, 0x11, 0x00, 0xc2),
                TIDAL_EFIELD, "child_exit.child");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xd0, 0xff, 0x00, 0xc2), TIDAL_EFIELD,
                "child_exit.code");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xcd, 0x27, 0x11, 0xc2, 0xc2), TIDAL_EFIELD,
                "child_exit.restarts");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xcd, 0x27, 0x11, 0x00, 0x01), TIDAL_EFIELD,
                "child_exit.stopped");
    expect_fail(dec_child_exit, BYTES(0x94, 0xa1, 'w', 0xcd, 0x27, 0x11, 0x00, 0xc0), TIDAL_EFIELD,
                "child_exit.stopped");
}

Test(msgs, timer_round_trip_and_malformed)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_timer t = {.tag = 300, .body = {(const uint8_t *)"tick", 4}};
    tidal_msg_timer d;
    TIDAL_PASS(tidal_msg_timer_encode(&t, &b));
    expect_bytes(&b, BYTES(0x92, 0xcd, 0x01, 0x2c, 0xc4, 0x04, 't', 'i', 'c', 'k'));
    TIDAL_PASS(tidal_msg_timer_decode(b.data, b.len, &d, NULL));
    cr_assert(d.tag == 300 && d.body.len == 4 && memcmp(d.body.ptr, "tick", 4) == 0);
    assert_cuts_and_trailing(b.data, b.len, dec_timer, "timer");
    tidal_buf_fini(&b);

    expect_fail(dec_timer, BYTES(0x91, 0x01), TIDAL_EFIELD, "timer");
    expect_fail(dec_timer, BYTES(0x92, 0xa1, '1', 0xc4, 0x00), TIDAL_EFIELD, "timer.tag");
    expect_fail(dec_timer, BYTES(0x92, 0x01, 0xa0), TIDAL_EFIELD, "timer.body");
    expect_fail(dec_timer, BYTES(0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff), TIDAL_ETOOBIG,
                "timer.body");
    expect_fail(dec_timer, BYTES(0xdc, 0xff, 0xff, 0x01), TIDAL_ELENGTH, "timer");
}

Test(msgs, encode_errors_leave_out_unchanged)
{
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_buf_append(&b, "xyz", 3));
    tidal_msg_ping ping = {.body = {NULL, 1}};
    tidal_msg_timer timer = {.body = {NULL, 1}};
    tidal_msg_child_exit ce = {.child = {NULL, 1}, .code = TIDAL_EIO};
    TIDAL_FAIL(tidal_msg_ping_encode(&ping, &b), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_msg_timer_encode(&timer, &b), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_msg_child_exit_encode(&ce, &b), TIDAL_EINVAL);
    cr_assert(b.len == 3 && memcmp(b.data, "xyz", 3) == 0);
    tidal_buf_fini(&b);
}
