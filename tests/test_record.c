/* WAL records: round trip of every kind, and every malformed form refused. */
#include <string.h>

#include "messages/record.h"
#include "messages/mpwrite.h"
#include "tidal_test.h"

TIDAL_SUITE(record);

static tidal_record
sample(uint8_t kind)
{
    tidal_record r = {.kind = kind};
    for (int i = 0; i < 16; i++) {
        r.sid[i] = (uint8_t)(0xa0 + i);
    }
    r.user = 0x1122334455667788ull;
    r.item = 300;
    r.region = 3;
    r.seqno = kind == TIDAL_REC_SESSION_HOME ? 6 : 42;
    r.hlc = (tidal_hlc){1700000000123456789ull, 7, 2};
    strcpy(r.type, "like");
    r.weight = 0.75;
    r.ts_ns = 1700000000000000000ull;
    r.p_minute = 9;
    r.p_hour = 123456789012ull;
    strcpy(r.key, "source-news");
    r.cp = 17;
    r.cn = UINT64_MAX;
    return r;
}

static void
assert_same(const tidal_record *a, const tidal_record *b)
{
    cr_assert_eq(a->kind, b->kind);
    if (a->kind != TIDAL_REC_HIDE && a->kind != TIDAL_REC_UNHIDE &&
        a->kind != TIDAL_REC_USER_COUNTER) {
        cr_assert(memcmp(a->sid, b->sid, 16) == 0);
    }
    switch (a->kind) {
    case TIDAL_REC_SESSION_SIGNAL:
        cr_assert_eq(a->seqno, b->seqno);
        cr_assert_str_eq(a->type, b->type);
        cr_assert_eq(a->item, b->item);
        cr_assert(a->weight == b->weight);
        cr_assert_eq(a->ts_ns, b->ts_ns);
        cr_assert_eq(a->region, b->region);
        cr_assert_eq(a->p_minute, b->p_minute);
        cr_assert_eq(a->p_hour, b->p_hour);
        break;
    case TIDAL_REC_SESSION_START:
        cr_assert_eq(a->user, b->user);
        cr_assert_eq(a->region, b->region);
        cr_assert_eq(tidal_hlc_compare(&a->hlc, &b->hlc), 0);
        break;
    case TIDAL_REC_SESSION_END:
        cr_assert_eq(tidal_hlc_compare(&a->hlc, &b->hlc), 0);
        break;
    case TIDAL_REC_SESSION_HOME:
        cr_assert_eq(a->region, b->region);
        cr_assert_eq(a->seqno, b->seqno);
        cr_assert_eq(tidal_hlc_compare(&a->hlc, &b->hlc), 0);
        break;
    case TIDAL_REC_USER_COUNTER:
        cr_assert_eq(a->user, b->user);
        cr_assert_str_eq(a->key, b->key);
        cr_assert_eq(a->region, b->region);
        cr_assert_eq(a->cp, b->cp);
        cr_assert_eq(a->cn, b->cn);
        break;
    default:
        cr_assert_eq(a->user, b->user);
        cr_assert_eq(a->item, b->item);
        cr_assert_eq(tidal_hlc_compare(&a->hlc, &b->hlc), 0);
        break;
    }
}

Test(record, every_kind_round_trips_and_every_cut_is_truncated)
{
    static const uint8_t kinds[] = {TIDAL_REC_SESSION_START, TIDAL_REC_SESSION_SIGNAL,
                                    TIDAL_REC_SESSION_END,   TIDAL_REC_SESSION_HOME,
                                    TIDAL_REC_HIDE,          TIDAL_REC_UNHIDE,
                                    TIDAL_REC_USER_COUNTER};
    for (size_t k = 0; k < sizeof(kinds); k++) {
        tidal_record r = sample(kinds[k]), d;
        tidal_buf b;
        tidal_buf_init(&b);
        TIDAL_PASS(tidal_record_encode(&r, &b));
        TIDAL_PASS(tidal_record_decode_exact(b.data, b.len, &d, NULL));
        assert_same(&r, &d);
        cr_assert_str_eq(tidal_record_kind_name(kinds[k]) ? "ok" : "", "ok");
        for (size_t cut = 0; cut < b.len; cut++) {
            tidal_decode_err err;
            TIDAL_FAIL(tidal_record_decode_exact(b.data, cut, &d, &err), TIDAL_ETRUNCATED);
            cr_assert_not_null(err.id);
        }
        /* trailing garbage */
        TIDAL_PASS(tidal_buf_append(&b, "\x01", 1));
        TIDAL_FAIL(tidal_record_decode_exact(b.data, b.len, &d, NULL), TIDAL_ETRAILING);
        size_t used = 0;
        TIDAL_PASS(tidal_record_decode_one(b.data, b.len, &used, &d, NULL));
        cr_assert_eq(used, b.len - 1);
        tidal_buf_fini(&b);
    }
}

Test(record, several_records_back_to_back_decode_in_order)
{
    tidal_buf b;
    tidal_buf_init(&b);
    for (uint64_t s = 1; s <= 100; s++) {
        tidal_record r = sample(TIDAL_REC_SESSION_SIGNAL);
        r.seqno = s;
        TIDAL_PASS(tidal_record_encode(&r, &b));
    }
    size_t off = 0;
    for (uint64_t s = 1; s <= 100; s++) {
        tidal_record d;
        size_t used;
        TIDAL_PASS(tidal_record_decode_one(b.data + off, b.len - off, &used, &d, NULL));
        cr_assert_eq(d.seqno, s);
        off += used;
    }
    cr_assert_eq(off, b.len);
    tidal_buf_fini(&b);
}

Test(record, bad_records_are_refused_with_distinct_codes)
{
    tidal_record r = sample(TIDAL_REC_SESSION_SIGNAL), d;
    tidal_buf b;
    tidal_buf_init(&b);
    /* the encoder refuses what the decoder would */
    r.kind = 99;
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    r = sample(TIDAL_REC_SESSION_SIGNAL);
    r.type[0] = '\0';
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    r = sample(TIDAL_REC_SESSION_SIGNAL);
    r.seqno = 0;
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    cr_assert_eq(b.len, 0);

    uint8_t raw[64], *p;
    /* unknown kind */
    p = tidal_mpw_array(raw, 2);
    p = tidal_mpw_uint(p, 99);
    p = tidal_mpw_uint(p, 1);
    TIDAL_FAIL(tidal_record_decode_exact(raw, (size_t)(p - raw), &d, NULL), TIDAL_ETYPE);
    /* wrong arity for a known kind */
    p = tidal_mpw_array(raw, 3);
    p = tidal_mpw_uint(p, TIDAL_REC_HIDE);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 2);
    TIDAL_FAIL(tidal_record_decode_exact(raw, (size_t)(p - raw), &d, NULL), TIDAL_EFIELD);
    /* a session id that is not 16 bytes */
    p = tidal_mpw_array(raw, 3);
    p = tidal_mpw_uint(p, TIDAL_REC_SESSION_END);
    p = tidal_mpw_bin(p, "short", 5);
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 1);
    TIDAL_FAIL(tidal_record_decode_exact(raw, (size_t)(p - raw), &d, NULL), TIDAL_EFIELD);
    /* an hlc node id past uint16 */
    p = tidal_mpw_array(raw, 4);
    p = tidal_mpw_uint(p, TIDAL_REC_UNHIDE);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 2);
    p = tidal_mpw_array(p, 3);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 1);
    p = tidal_mpw_uint(p, 70000);
    TIDAL_FAIL(tidal_record_decode_exact(raw, (size_t)(p - raw), &d, NULL), TIDAL_EFIELD);
    /* a type with a NUL inside: the C string would drop what follows it,
     * so the record applied would not be the one read (found by
     * fuzz_record) */
    tidal_record sig = sample(TIDAL_REC_SESSION_SIGNAL);
    tidal_buf_reset(&b);
    TIDAL_PASS(tidal_record_encode(&sig, &b));
    uint8_t *name = memmem(b.data, b.len, "like", 4);
    cr_assert(name != NULL);
    name[1] = '\0';
    tidal_decode_err err;
    TIDAL_FAIL(tidal_record_decode_exact(b.data, b.len, &d, &err), TIDAL_EFIELD);
    cr_assert_str_eq(err.what, "record.type");
    name[1] = 'i';
    TIDAL_PASS(tidal_record_decode_exact(b.data, b.len, &d, NULL));
    /* a huge declared array */
    static const uint8_t huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    cr_assert_neq(tidal_record_decode_exact(huge, sizeof(huge), &d, NULL), 0);
    /* not an array at all */
    TIDAL_FAIL(tidal_record_decode_exact((const uint8_t *)"\xc0", 1, &d, NULL), TIDAL_EFIELD);
    tidal_buf_fini(&b);
}

/* A USER_COUNTER's own rules: a key of 1..31 bytes with no NUL, an origin
 * below TIDAL_REGIONS_MAX, a component that is not (0, 0).  The encoder
 * refuses what the decoder would. */
static int
user_counter_raw(const char *key, uint32_t klen, uint64_t origin, uint64_t p, uint64_t n)
{
    uint8_t raw[128], *q = raw;
    tidal_record d;
    q = tidal_mpw_array(q, 6);
    q = tidal_mpw_uint(q, TIDAL_REC_USER_COUNTER);
    q = tidal_mpw_uint(q, 5);
    q = tidal_mpw_str(q, key, klen);
    q = tidal_mpw_uint(q, origin);
    q = tidal_mpw_uint(q, p);
    q = tidal_mpw_uint(q, n);
    return tidal_record_decode_exact(raw, (size_t)(q - raw), &d, NULL);
}

Test(record, bad_user_counters_are_refused)
{
    static const char k32[] = "0123456789abcdef0123456789abcdef";
    TIDAL_PASS(user_counter_raw(k32, 31, 15, 1, 0));
    TIDAL_FAIL(user_counter_raw(k32, 32, 15, 1, 0), TIDAL_ETOOBIG);
    TIDAL_FAIL(user_counter_raw(k32, 0, 15, 1, 0), TIDAL_EFIELD);
    TIDAL_FAIL(user_counter_raw("a\0b", 3, 15, 1, 0), TIDAL_EFIELD);
    TIDAL_FAIL(user_counter_raw(k32, 4, 16, 1, 0), TIDAL_EFIELD);
    TIDAL_FAIL(user_counter_raw(k32, 4, 1, 0, 0), TIDAL_EFIELD);
    TIDAL_PASS(user_counter_raw(k32, 4, 1, 0, 1));

    tidal_buf b;
    tidal_buf_init(&b);
    tidal_record r = sample(TIDAL_REC_USER_COUNTER);
    r.cp = r.cn = 0;
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    r = sample(TIDAL_REC_USER_COUNTER);
    r.region = TIDAL_REGIONS_MAX;
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    r = sample(TIDAL_REC_USER_COUNTER);
    r.key[0] = '\0';
    TIDAL_FAIL(tidal_record_encode(&r, &b), TIDAL_EINVAL);
    cr_assert_eq(b.len, 0);
    tidal_buf_fini(&b);
}
