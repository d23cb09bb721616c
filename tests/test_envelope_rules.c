/*
 * The envelope's validity rules (envelope.h), each broken on purpose in wire
 * bytes the encoder would refuse to write, with the code and field name each
 * must give.  craft() writes the sample envelope field by field with
 * msgpack-c's packer, replacing one field (or one container, elements and
 * all) with whatever the test hands it.
 */
#include <stdlib.h>
#include <string.h>

#include "messages/envelope.h"
#include "messages/types.h"
#include "tidal/errors.h"
#include "tidal/limits.h"
#include "tidal_test.h"

TIDAL_SUITE(envelope_rules);

#define NAME_LEN_MAX (TIDAL_NAME_BYTES_MAX - 1u)
#define URL_LEN_MAX (TIDAL_URL_BYTES_MAX - 1u)

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

enum slot {
    S_VERSION,
    S_TYPE,
    S_FROM,
    S_FROM_NAME,
    S_FROM_KEY,
    S_TO,
    S_TO_NAME,
    S_TO_KEY,
    S_ID,
    S_HLC,
    S_HLC_WALL,
    S_HLC_LOGICAL,
    S_HLC_NODE,
    S_PAYLOAD,
    S_REPLY,
    S_REPLY_URL,
    S_REPLY_NAME,
    S_REPLY_KEY,
    S_CORR,
    S_FLAGS,
    S_COUNT,
};

static const char *const slot_what[S_COUNT] = {
    "envelope.version",    "envelope.type",      "envelope.from",     "envelope.from.name",
    "envelope.from.key",   "envelope.to",        "envelope.to.name",  "envelope.to.key",
    "envelope.id",         "envelope.hlc",       "envelope.hlc.wall", "envelope.hlc.logical",
    "envelope.hlc.node",   "envelope.payload",   "envelope.reply",    "envelope.reply.url",
    "envelope.reply.name", "envelope.reply.key", "envelope.corr",     "envelope.flags",
};

/* What replaces one slot: raw bytes, or a str/bin of n filler bytes. */
typedef struct sub {
    enum { SUB_RAW, SUB_STR, SUB_BIN } kind;
    const uint8_t *raw;
    size_t raw_len;
    uint32_t n;
} sub;

static bool
put_sub(msgpack_packer *pk, int slot, int me, const sub *s)
{
    if (slot != me) {
        return false;
    }
    uint8_t *fill = s->kind == SUB_RAW ? NULL : filled(s->n, 'f');
    int rv = 0;
    if (s->kind == SUB_RAW) {
        rv = tidal_buf_append(pk->data, s->raw, s->raw_len);
    } else if (s->kind == SUB_STR) {
        rv = msgpack_pack_str(pk, s->n) | msgpack_pack_str_body(pk, fill, s->n);
    } else {
        rv = msgpack_pack_bin(pk, s->n) | msgpack_pack_bin_body(pk, fill, s->n);
    }
    cr_assert(rv == 0);
    free(fill);
    return true;
}

static void
put_str(msgpack_packer *pk, const char *s)
{
    cr_assert(msgpack_pack_str_with_body(pk, s, strlen(s)) == 0);
}

static void
put_bin(msgpack_packer *pk, const char *s)
{
    cr_assert(msgpack_pack_bin_with_body(pk, s, strlen(s)) == 0);
}

static void
put_uint(msgpack_packer *pk, uint64_t v)
{
    cr_assert(msgpack_pack_uint64(pk, v) == 0);
}

/* The sample envelope's wire bytes, with slot replaced by s (slot S_COUNT:
 * nothing replaced).  Replacing a container replaces its elements too. */
static void
craft(tidal_buf *b, int slot, const sub *s)
{
    msgpack_packer pk;
    tidal_buf_init(b);
    tidal_buf_packer(b, &pk);
    cr_assert(msgpack_pack_array(&pk, TIDAL_ENVELOPE_FIELDS) == 0);
#define SUB(me) put_sub(&pk, slot, (me), s)
    if (!SUB(S_VERSION)) {
        put_uint(&pk, TIDAL_ENVELOPE_VERSION);
    }
    if (!SUB(S_TYPE)) {
        put_uint(&pk, TIDAL_MSG_PING);
    }
    if (!SUB(S_FROM)) {
        cr_assert(msgpack_pack_array(&pk, 2) == 0);
        if (!SUB(S_FROM_NAME)) {
            put_str(&pk, "alice");
        }
        if (!SUB(S_FROM_KEY)) {
            put_bin(&pk, "k1");
        }
    }
    if (!SUB(S_TO)) {
        cr_assert(msgpack_pack_array(&pk, 2) == 0);
        if (!SUB(S_TO_NAME)) {
            put_str(&pk, "bob");
        }
        if (!SUB(S_TO_KEY)) {
            put_bin(&pk, "");
        }
    }
    if (!SUB(S_ID)) {
        put_uint(&pk, 42);
    }
    if (!SUB(S_HLC)) {
        cr_assert(msgpack_pack_array(&pk, 3) == 0);
        if (!SUB(S_HLC_WALL)) {
            put_uint(&pk, 1700000000000000000ull);
        }
        if (!SUB(S_HLC_LOGICAL)) {
            put_uint(&pk, 7);
        }
        if (!SUB(S_HLC_NODE)) {
            put_uint(&pk, 3);
        }
    }
    if (!SUB(S_PAYLOAD)) {
        put_bin(&pk, "hello");
    }
    if (!SUB(S_REPLY)) {
        cr_assert(msgpack_pack_array(&pk, 3) == 0);
        if (!SUB(S_REPLY_URL)) {
            put_str(&pk, "inproc://r");
        }
        if (!SUB(S_REPLY_NAME)) {
            put_str(&pk, "carol");
        }
        if (!SUB(S_REPLY_KEY)) {
            put_bin(&pk, "ck");
        }
    }
    if (!SUB(S_CORR)) {
        put_uint(&pk, 9);
    }
    if (!SUB(S_FLAGS)) {
        put_uint(&pk, TIDAL_ENV_F_SYSTEM);
    }
#undef SUB
    cr_assert(b->failed == 0);
}

/* Crafts with slot replaced and expects code on field `what` (NULL: the
 * slot's own name). */
static void
expect(int slot, sub s, int code, const char *what)
{
    tidal_buf b;
    tidal_envelope d;
    tidal_decode_err err;
    craft(&b, slot, &s);
    int rv = tidal_envelope_decode_exact(b.data, b.len, &d, &err);
    cr_assert(rv == code, "slot %s: expected %s, got %s (%s)", slot_what[slot % S_COUNT],
              tidal_errname(code), tidal_errname(rv), rv != 0 ? err.what : "-");
    if (code != 0) {
        cr_assert_str_eq(err.what, what != NULL ? what : slot_what[slot]);
    }
    tidal_buf_fini(&b);
}

#define RAW(...)                                                                                   \
    ((sub){.kind = SUB_RAW,                                                                        \
           .raw = (const uint8_t[]){__VA_ARGS__},                                                  \
           .raw_len = sizeof((const uint8_t[]){__VA_ARGS__})})
#define STR(len) ((sub){.kind = SUB_STR, .n = (len)})
#define BIN(len) ((sub){.kind = SUB_BIN, .n = (len)})

Test(envelope_rules, crafted_sample_decodes)
{
    expect(S_COUNT, RAW(0), 0, NULL);
}

Test(envelope_rules, wrong_msgpack_type_in_every_position_is_efield)
{
    for (int slot = 0; slot < S_COUNT; slot++) {
        switch (slot) {
        case S_FROM_NAME:
        case S_TO_NAME:
        case S_REPLY_URL:
        case S_REPLY_NAME:
            expect(slot, RAW(0xc4, 0x01, 'x'), TIDAL_EFIELD, NULL); /* bin for str */
            expect(slot, RAW(0x05), TIDAL_EFIELD, NULL);
            break;
        case S_FROM_KEY:
        case S_TO_KEY:
        case S_REPLY_KEY:
        case S_PAYLOAD:
            expect(slot, RAW(0xa1, 'x'), TIDAL_EFIELD, NULL); /* str for bin */
            expect(slot, RAW(0xc0), TIDAL_EFIELD, NULL);
            break;
        case S_FROM:
        case S_TO:
        case S_HLC:
        case S_REPLY:
            expect(slot, RAW(0xc3), TIDAL_EFIELD, NULL); /* bool for array */
            expect(slot, RAW(0x80), TIDAL_EFIELD, NULL); /* map for array */
            break;
        default: /* ints */
            expect(slot, RAW(0xa1, '1'), TIDAL_EFIELD, NULL);
            expect(slot, RAW(0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), TIDAL_EFIELD, NULL); /* 1.0 */
            expect(slot, RAW(0xff), TIDAL_EFIELD, NULL); /* -1: these ints are unsigned */
            break;
        }
    }
}

Test(envelope_rules, wrong_arity_and_empty_strings_are_efield)
{
    expect(S_FROM, RAW(0x91, 0xa1, 'a'), TIDAL_EFIELD, NULL);
    expect(S_TO, RAW(0x93, 0xa1, 'a', 0xc4, 0x00, 0x00), TIDAL_EFIELD, NULL);
    expect(S_HLC, RAW(0x92, 0x01, 0x02), TIDAL_EFIELD, NULL);
    expect(S_HLC, RAW(0x94, 0x01, 0x02, 0x03, 0x04), TIDAL_EFIELD, NULL);
    expect(S_REPLY, RAW(0x92, 0xa1, 'u', 0xa1, 'n'), TIDAL_EFIELD, NULL);
    expect(S_FROM_NAME, STR(0), TIDAL_EFIELD, NULL);
    expect(S_TO_NAME, STR(0), TIDAL_EFIELD, NULL);
    expect(S_REPLY_NAME, STR(0), TIDAL_EFIELD, NULL);
    expect(S_REPLY_URL, STR(0), TIDAL_EFIELD, NULL);
    expect(S_REPLY, RAW(0xc0), 0, NULL); /* nil: no reply */

    /* the outer array: 9 and 11 elements, 0 elements, and more than any version has */
    static const uint8_t nine[] = {0x99, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t empty[] = {0x90};
    tidal_envelope d;
    tidal_decode_err err;
    TIDAL_FAIL(tidal_envelope_decode_exact(nine, sizeof(nine), &d, &err), TIDAL_EFIELD);
    cr_assert_str_eq(err.what, "envelope");
    cr_assert(err.expected == 10 && err.actual == 9 && err.offset == 0);
    TIDAL_FAIL(tidal_envelope_decode_exact(empty, sizeof(empty), &d, &err), TIDAL_EFIELD);
    tidal_buf b;
    craft(&b, S_COUNT, &RAW(0));
    b.data[0] = 0x9b; /* 11 elements, version 1 */
    TIDAL_PASS(tidal_buf_append(&b, "\x00", 1));
    TIDAL_FAIL(tidal_envelope_decode_exact(b.data, b.len, &d, &err), TIDAL_EFIELD);
    cr_assert_str_eq(err.what, "envelope");
    tidal_buf_fini(&b);
    uint8_t many[3 + 65] = {0xdc, 0x00, 65};
    memset(many + 3, 0x01, 65);
    TIDAL_FAIL(tidal_envelope_decode_exact(many, sizeof(many), &d, &err), TIDAL_ETOOBIG);
}

Test(envelope_rules, version_other_than_one_is_eversion_before_anything_else)
{
    expect(S_VERSION, RAW(0x00), TIDAL_EVERSION, NULL);
    expect(S_VERSION, RAW(0x02), TIDAL_EVERSION, NULL);
    expect(S_VERSION, RAW(0xcd, 0x01, 0x01), TIDAL_EVERSION, NULL);
    expect(S_VERSION, RAW(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), TIDAL_EVERSION,
           NULL);
    expect(S_VERSION, RAW(0xd0, 0x01), 0, NULL); /* 1 in a signed width is still 1 */

    /* a version-2 envelope of another arity with unreadable fields after the
     * version is refused as a version, never misread */
    static const uint8_t v2_short[] = {0x93, 0x02, 0xc1, 0xc1};
    static const uint8_t v2_long[] = {0x9c, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t v0[] = {0x9a, 0x00};
    tidal_envelope d;
    tidal_decode_err err;
    TIDAL_FAIL(tidal_envelope_decode_exact(v2_short, sizeof(v2_short), &d, &err), TIDAL_EVERSION);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-VERSION");
    cr_assert(err.offset == 1 && err.expected == 1 && err.actual == 2);
    TIDAL_FAIL(tidal_envelope_decode_exact(v2_long, sizeof(v2_long), &d, &err), TIDAL_EVERSION);
    /* a header promising more than the input holds is truncated before the
     * version is looked at */
    TIDAL_FAIL(tidal_envelope_decode_one(v0, sizeof(v0), &(size_t){0}, &d, &err), TIDAL_ETRUNCATED);
}

Test(envelope_rules, unknown_type_is_etype)
{
    expect(S_TYPE, RAW(0x00), TIDAL_ETYPE, NULL);
    expect(S_TYPE, RAW(0xcd, 0x03, 0xe7), TIDAL_ETYPE, NULL);             /* 999 */
    expect(S_TYPE, RAW(0x08), TIDAL_ETYPE, NULL);                         /* first unassigned */
    expect(S_TYPE, RAW(0xce, 0x00, 0x01, 0x00, 0x00), TIDAL_ETYPE, NULL); /* 65536 */
    expect(S_TYPE, RAW(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), TIDAL_ETYPE, NULL);
    expect(S_TYPE, RAW(0x07), 0, NULL);
    expect(S_TYPE, RAW(0xcd, 0x03, 0xe8), 0, NULL); /* 1000: the first user type */
    expect(S_TYPE, RAW(0xcd, 0xff, 0xff), 0, NULL); /* 65535 */
    tidal_buf b;
    tidal_envelope d;
    tidal_decode_err err;
    craft(&b, S_TYPE, &RAW(0xcd, 0x03, 0xe7));
    TIDAL_FAIL(tidal_envelope_decode_exact(b.data, b.len, &d, &err), TIDAL_ETYPE);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-TYPE");
    cr_assert(err.offset == 2 && err.actual == 999);
    tidal_buf_fini(&b);
}

Test(envelope_rules, every_str_and_bin_bound_at_minus_one_exact_plus_one)
{
    static const struct {
        int slot;
        uint32_t max;
        bool str;
    } bounds[] = {
        {S_FROM_NAME, NAME_LEN_MAX, true},         {S_TO_NAME, NAME_LEN_MAX, true},
        {S_REPLY_NAME, NAME_LEN_MAX, true},        {S_REPLY_URL, URL_LEN_MAX, true},
        {S_FROM_KEY, TIDAL_KEY_BYTES_MAX, false},  {S_TO_KEY, TIDAL_KEY_BYTES_MAX, false},
        {S_REPLY_KEY, TIDAL_KEY_BYTES_MAX, false}, {S_PAYLOAD, TIDAL_PAYLOAD_BYTES_MAX, false},
    };
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        uint32_t max = bounds[i].max;
        int slot = bounds[i].slot;
        expect(slot, bounds[i].str ? STR(max - 1) : BIN(max - 1), 0, NULL);
        expect(slot, bounds[i].str ? STR(max) : BIN(max), 0, NULL);
        expect(slot, bounds[i].str ? STR(max + 1) : BIN(max + 1), TIDAL_ETOOBIG, NULL);
    }
    /* a declared length far beyond the input is too big, not truncated */
    expect(S_PAYLOAD, RAW(0xc6, 0xff, 0xff, 0xff, 0xff), TIDAL_ETOOBIG, NULL);
    expect(S_FROM_NAME, RAW(0xdb, 0x7f, 0xff, 0xff, 0xff), TIDAL_ETOOBIG, NULL);
}

Test(envelope_rules, hlc_int_bounds_at_minus_one_exact_plus_one)
{
    expect(S_HLC_LOGICAL, RAW(0xce, 0xff, 0xff, 0xff, 0xfe), 0, NULL);
    expect(S_HLC_LOGICAL, RAW(0xce, 0xff, 0xff, 0xff, 0xff), 0, NULL);
    expect(S_HLC_LOGICAL, RAW(0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0), TIDAL_EFIELD, NULL);
    expect(S_HLC_NODE, RAW(0xcd, 0xff, 0xfe), 0, NULL);
    expect(S_HLC_NODE, RAW(0xcd, 0xff, 0xff), 0, NULL);
    expect(S_HLC_NODE, RAW(0xce, 0x00, 0x01, 0x00, 0x00), TIDAL_EFIELD, NULL);
    expect(S_HLC_WALL, RAW(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 0, NULL);
}

Test(envelope_rules, huge_container_lengths_are_elength)
{
    expect(S_FROM, RAW(0xdd, 0xff, 0xff, 0xff, 0xff), TIDAL_ELENGTH, NULL);
    expect(S_TO, RAW(0xdc, 0xff, 0xff), TIDAL_ELENGTH, NULL);
    expect(S_HLC, RAW(0xdd, 0x00, 0x01, 0x00, 0x00), TIDAL_ELENGTH, NULL);
    expect(S_REPLY, RAW(0xdd, 0x80, 0x00, 0x00, 0x00), TIDAL_ELENGTH, NULL);

    static const uint8_t outer[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    tidal_envelope d;
    tidal_decode_err err;
    TIDAL_FAIL(tidal_envelope_decode_exact(outer, sizeof(outer), &d, &err), TIDAL_ELENGTH);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-LENGTH");
    cr_assert_str_eq(err.what, "envelope");
}

Test(envelope_rules, flags_outside_the_mask_are_efield)
{
    expect(S_FLAGS, RAW(TIDAL_ENV_F_MASK), 0, NULL);
    expect(S_FLAGS, RAW(0x00), 0, NULL);
    expect(S_FLAGS, RAW(TIDAL_ENV_F_MASK + 1), TIDAL_EFIELD, NULL);
    expect(S_FLAGS, RAW(0xcc, 0x80), TIDAL_EFIELD, NULL);
    expect(S_FLAGS, RAW(0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0x01), TIDAL_EFIELD, NULL);
}

Test(envelope_rules, trailing_garbage_is_etrailing)
{
    tidal_buf b;
    tidal_envelope d;
    tidal_decode_err err;
    size_t used;
    craft(&b, S_COUNT, &RAW(0));
    size_t len = b.len;
    TIDAL_PASS(tidal_buf_append(&b, "\xc1", 1));
    TIDAL_FAIL(tidal_envelope_decode_exact(b.data, b.len, &d, &err), TIDAL_ETRAILING);
    cr_assert(err.offset == len);
    TIDAL_PASS(tidal_envelope_decode_one(b.data, b.len, &used, &d, &err));
    cr_assert(used == len);
    tidal_buf_fini(&b);
}
