/*
 * The bounded msgpack reader: every int width at its boundaries, every error
 * class with its stable id, and the cursor standing still on every failure.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "messages/mpread.h"
#include "tidal/errors.h"
#include "tidal_test.h"

TIDAL_SUITE(mpread);

/* A failure must carry its code and id, point at the value, and leave the
 * cursor where it was. */
static void
check_fail(int rv, int code, const char *id, const tidal_mpr *r, const uint8_t *before,
           const tidal_decode_err *err)
{
    cr_assert(rv == code, "expected %s, got %s", tidal_errname(code), tidal_errname(rv));
    cr_assert(r->p == before, "the cursor moved on failure");
    cr_assert(err->code == code);
    cr_assert_str_eq(err->id, id);
    cr_assert_str_eq(err->what, "field");
    cr_assert(err->offset == (size_t)(before - r->start));
}

typedef struct int_case {
    uint8_t bytes[9];
    size_t size;
    bool neg;
    uint64_t u;
    int64_t s;
} int_case;

/* Every width at both ends of the range it is used for. */
static const int_case int_cases[] = {
    {{0x00}, 1, false, 0, 0},
    {{0x7f}, 1, false, 127, 0},
    {{0xcc, 0x80}, 2, false, 128, 0},
    {{0xcc, 0xff}, 2, false, 255, 0},
    {{0xcd, 0x01, 0x00}, 3, false, 256, 0},
    {{0xcd, 0xff, 0xff}, 3, false, 65535, 0},
    {{0xce, 0x00, 0x01, 0x00, 0x00}, 5, false, 65536, 0},
    {{0xce, 0xff, 0xff, 0xff, 0xff}, 5, false, UINT32_MAX, 0},
    {{0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}, 9, false, 1ull << 32, 0},
    {{0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, false, INT64_MAX, 0},
    {{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, false, UINT64_MAX, 0},
    {{0xff}, 1, true, 0, -1},
    {{0xe0}, 1, true, 0, -32},
    {{0xd0, 0xdf}, 2, true, 0, -33},
    {{0xd0, 0x80}, 2, true, 0, INT8_MIN},
    {{0xd0, 0x7f}, 2, false, 127, 0}, /* a signed width holding a value >= 0 */
    {{0xd1, 0xff, 0x7f}, 3, true, 0, -129},
    {{0xd1, 0x80, 0x00}, 3, true, 0, INT16_MIN},
    {{0xd1, 0x7f, 0xff}, 3, false, INT16_MAX, 0},
    {{0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, true, 0, -32769},
    {{0xd2, 0x80, 0x00, 0x00, 0x00}, 5, true, 0, INT32_MIN},
    {{0xd2, 0x7f, 0xff, 0xff, 0xff}, 5, false, INT32_MAX, 0},
    {{0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}, 9, true, 0, (int64_t)INT32_MIN - 1},
    {{0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, 9, true, 0, INT64_MIN},
    {{0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 9, false, INT64_MAX, 0},
};

#define N_INT_CASES (sizeof(int_cases) / sizeof(int_cases[0]))

Test(mpread, every_int_width_reads_its_boundaries)
{
    for (size_t i = 0; i < N_INT_CASES; i++) {
        const int_case *c = &int_cases[i];
        tidal_decode_err err;
        tidal_mpr r;
        uint64_t u = 0;
        int64_t s = 0;

        tidal_mpr_init(&r, c->bytes, c->size, &err);
        if (c->neg) {
            check_fail(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"), TIDAL_EFIELD,
                       "TIDAL-DECODE-FIELD", &r, c->bytes, &err);
        } else {
            TIDAL_PASS(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"));
            cr_assert(u == c->u, "case %zu: %llu", i, (unsigned long long)u);
            cr_assert(tidal_mpr_left(&r) == 0);
        }

        tidal_mpr_init(&r, c->bytes, c->size, &err);
        if (!c->neg && c->u > (uint64_t)INT64_MAX) {
            check_fail(tidal_mpr_int(&r, &s, "field"), TIDAL_EFIELD, "TIDAL-DECODE-FIELD", &r,
                       c->bytes, &err);
            continue;
        }
        TIDAL_PASS(tidal_mpr_int(&r, &s, "field"));
        cr_assert(s == (c->neg ? c->s : (int64_t)c->u), "case %zu: %lld", i, (long long)s);
        cr_assert(tidal_mpr_left(&r) == 0);
    }
}

Test(mpread, every_int_cut_short_is_truncated)
{
    for (size_t i = 0; i < N_INT_CASES; i++) {
        const int_case *c = &int_cases[i];
        for (size_t cut = 0; cut < c->size; cut++) {
            tidal_decode_err err;
            tidal_mpr r;
            uint64_t u;
            int64_t s;
            tidal_mpr_init(&r, c->bytes, cut, &err);
            check_fail(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"), TIDAL_ETRUNCATED,
                       "TIDAL-DECODE-TRUNCATED", &r, c->bytes, &err);
            tidal_mpr_init(&r, c->bytes, cut, &err);
            check_fail(tidal_mpr_int(&r, &s, "field"), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED",
                       &r, c->bytes, &err);
        }
    }
}

Test(mpread, uint_bound_at_minus_one_exact_plus_one)
{
    static const uint8_t v999[] = {0xcd, 0x03, 0xe7};
    static const uint8_t v1000[] = {0xcd, 0x03, 0xe8};
    static const uint8_t v1001[] = {0xcd, 0x03, 0xe9};
    tidal_decode_err err;
    tidal_mpr r;
    uint64_t u;

    tidal_mpr_init(&r, v999, sizeof(v999), &err);
    TIDAL_PASS(tidal_mpr_uint(&r, 1000, &u, "field"));
    cr_assert(u == 999);
    tidal_mpr_init(&r, v1000, sizeof(v1000), &err);
    TIDAL_PASS(tidal_mpr_uint(&r, 1000, &u, "field"));
    cr_assert(u == 1000);
    tidal_mpr_init(&r, v1001, sizeof(v1001), &err);
    check_fail(tidal_mpr_uint(&r, 1000, &u, "field"), TIDAL_EFIELD, "TIDAL-DECODE-FIELD", &r, v1001,
               &err);
    cr_assert(err.expected == 1000);
    cr_assert(err.actual == 1001);
}

Test(mpread, wrong_msgpack_type_is_efield)
{
    static const uint8_t str[] = {0xa1, 'x'};
    static const uint8_t bin[] = {0xc4, 0x01, 'x'};
    static const uint8_t nil[] = {0xc0};
    static const uint8_t one[] = {0x01};
    static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    static const uint8_t map[] = {0x80};
    static const uint8_t arr[] = {0x90};
    tidal_decode_err err;
    tidal_mpr r;
    uint64_t u;
    int64_t s;
    double d;
    bool b;
    const char *sp;
    const uint8_t *bp;
    uint32_t n;

#define WRONG(bytes, call)                                                                         \
    do {                                                                                           \
        tidal_mpr_init(&r, bytes, sizeof(bytes), &err);                                            \
        check_fail(call, TIDAL_EFIELD, "TIDAL-DECODE-FIELD", &r, bytes, &err);                     \
    } while (0)
    WRONG(str, tidal_mpr_uint(&r, UINT64_MAX, &u, "field"));
    WRONG(f32, tidal_mpr_int(&r, &s, "field"));
    WRONG(one, tidal_mpr_double(&r, &d, "field"));
    WRONG(nil, tidal_mpr_bool(&r, &b, "field"));
    WRONG(one, tidal_mpr_bool(&r, &b, "field"));
    WRONG(bin, tidal_mpr_str(&r, 10, &sp, &n, "field"));
    WRONG(str, tidal_mpr_bin(&r, 10, &bp, &n, "field"));
    WRONG(map, tidal_mpr_array(&r, 10, &n, "field"));
    WRONG(map, tidal_mpr_array_exact(&r, 0, "field"));
    WRONG(arr, tidal_mpr_map(&r, 10, &n, "field"));
    WRONG(nil, tidal_mpr_uint(&r, UINT64_MAX, &u, "field"));
#undef WRONG
}

Test(mpread, floats_bools_and_nil)
{
    static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    static const uint8_t f64[] = {0xcb, 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    static const uint8_t flags[] = {0xc3, 0xc2, 0xc0, 0x01};
    tidal_decode_err err;
    tidal_mpr r;
    double d;
    bool b;
    bool was_nil;

    tidal_mpr_init(&r, f32, sizeof(f32), &err);
    TIDAL_PASS(tidal_mpr_double(&r, &d, "field"));
    cr_assert(d == 1.5);
    tidal_mpr_init(&r, f64, sizeof(f64), &err);
    TIDAL_PASS(tidal_mpr_double(&r, &d, "field"));
    cr_assert(d == -2.5);
    for (size_t cut = 0; cut < sizeof(f64); cut++) {
        tidal_mpr_init(&r, f64, cut, &err);
        check_fail(tidal_mpr_double(&r, &d, "field"), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED",
                   &r, f64, &err);
    }
    for (size_t cut = 1; cut < sizeof(f32); cut++) {
        tidal_mpr_init(&r, f32, cut, &err);
        check_fail(tidal_mpr_double(&r, &d, "field"), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED",
                   &r, f32, &err);
    }

    tidal_mpr_init(&r, flags, sizeof(flags), &err);
    TIDAL_PASS(tidal_mpr_bool(&r, &b, "field"));
    cr_assert(b);
    TIDAL_PASS(tidal_mpr_bool(&r, &b, "field"));
    cr_assert(!b);
    TIDAL_PASS(tidal_mpr_nil(&r, &was_nil, "field"));
    cr_assert(was_nil);
    TIDAL_PASS(tidal_mpr_nil(&r, &was_nil, "field"));
    cr_assert(!was_nil);
    cr_assert(tidal_mpr_left(&r) == 1, "a non-nil value must not be consumed");

    tidal_mpr_init(&r, flags, 0, &err);
    check_fail(tidal_mpr_nil(&r, &was_nil, "field"), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED", &r,
               flags, &err);
    check_fail(tidal_mpr_bool(&r, &b, "field"), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED", &r,
               flags, &err);
}

/* Writes a str (is_str) or bin header for n bytes in the smallest form. */
static size_t
raw_header(uint8_t *p, bool is_str, uint32_t n)
{
    if (is_str && n < 32) {
        p[0] = (uint8_t)(0xa0u | n);
        return 1;
    }
    if (n <= 0xff) {
        p[0] = is_str ? 0xd9 : 0xc4;
        p[1] = (uint8_t)n;
        return 2;
    }
    if (n <= 0xffff) {
        p[0] = is_str ? 0xda : 0xc5;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)n;
        return 3;
    }
    p[0] = is_str ? 0xdb : 0xc6;
    p[1] = (uint8_t)(n >> 24);
    p[2] = (uint8_t)(n >> 16);
    p[3] = (uint8_t)(n >> 8);
    p[4] = (uint8_t)n;
    return 5;
}

static int
read_raw(tidal_mpr *r, bool is_str, uint32_t max, const uint8_t **v, uint32_t *n)
{
    if (!is_str) {
        return tidal_mpr_bin(r, max, v, n, "field");
    }
    const char *s = NULL;
    int rv = tidal_mpr_str(r, max, &s, n, "field");
    *v = (const uint8_t *)s;
    return rv;
}

Test(mpread, str_and_bin_every_width_bound_and_cut)
{
    static const uint32_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536};
    uint8_t *buf = malloc(65536 + 5);
    cr_assert(buf != NULL);
    for (int is_str = 0; is_str <= 1; is_str++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            uint32_t n = lens[i];
            size_t hdr = raw_header(buf, is_str, n);
            memset(buf + hdr, 'z', n);
            tidal_decode_err err;
            tidal_mpr r;
            const uint8_t *v;
            uint32_t got;

            /* bound exact and +1 accept, bound -1 refuses as too big */
            for (uint32_t max = n; max <= n + 1; max++) {
                tidal_mpr_init(&r, buf, hdr + n, &err);
                TIDAL_PASS(read_raw(&r, is_str, max, &v, &got));
                cr_assert(got == n && v == buf + hdr && tidal_mpr_left(&r) == 0);
            }
            if (n > 0) {
                tidal_mpr_init(&r, buf, hdr + n, &err);
                check_fail(read_raw(&r, is_str, n - 1, &v, &got), TIDAL_ETOOBIG,
                           "TIDAL-DECODE-TOOBIG", &r, buf, &err);
                cr_assert(err.expected == n - 1 && err.actual == n);
            }
            /* cut inside the header or the body: truncated */
            size_t cuts[] = {0, hdr - 1, hdr, hdr + n / 2, hdr + n - 1};
            for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
                if (cuts[c] >= hdr + n) {
                    continue;
                }
                tidal_mpr_init(&r, buf, cuts[c], &err);
                check_fail(read_raw(&r, is_str, UINT32_MAX, &v, &got), TIDAL_ETRUNCATED,
                           "TIDAL-DECODE-TRUNCATED", &r, buf, &err);
            }
        }
    }
    free(buf);
}

Test(mpread, huge_declared_str_is_too_big_not_truncated)
{
    static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
    static const uint8_t bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xff, 'a'};
    tidal_decode_err err;
    tidal_mpr r;
    const char *s;
    const uint8_t *b;
    uint32_t n;

    tidal_mpr_init(&r, str32, sizeof(str32), &err);
    check_fail(tidal_mpr_str(&r, 47, &s, &n, "field"), TIDAL_ETOOBIG, "TIDAL-DECODE-TOOBIG", &r,
               str32, &err);
    tidal_mpr_init(&r, bin32, sizeof(bin32), &err);
    check_fail(tidal_mpr_bin(&r, 1u << 20, &b, &n, "field"), TIDAL_ETOOBIG, "TIDAL-DECODE-TOOBIG",
               &r, bin32, &err);
    cr_assert(err.actual == UINT32_MAX);
}

static size_t
heap_in_use(void)
{
    return mallinfo2().uordblks;
}

Test(mpread, huge_container_length_is_elength_without_allocating)
{
    /* msgpack_unpack_next tries to allocate ~128 GiB for these (docs/dependencies.md) */
    static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t arr16[] = {0xdc, 0xff, 0xff, 0x01, 0x02};
    tidal_decode_err err;
    tidal_mpr r;
    uint32_t n;

    size_t before = heap_in_use();
    tidal_mpr_init(&r, arr32, sizeof(arr32), &err);
    check_fail(tidal_mpr_array_exact(&r, 10, "field"), TIDAL_ELENGTH, "TIDAL-DECODE-LENGTH", &r,
               arr32, &err);
    cr_assert(err.expected == UINT32_MAX && err.actual == 0);
    tidal_mpr_init(&r, arr32, sizeof(arr32), &err);
    check_fail(tidal_mpr_array(&r, 1024, &n, "field"), TIDAL_ELENGTH, "TIDAL-DECODE-LENGTH", &r,
               arr32, &err);
    tidal_mpr_init(&r, map32, sizeof(map32), &err);
    check_fail(tidal_mpr_map(&r, 1024, &n, "field"), TIDAL_ELENGTH, "TIDAL-DECODE-LENGTH", &r,
               map32, &err);
    tidal_mpr_init(&r, arr16, sizeof(arr16), &err);
    check_fail(tidal_mpr_array(&r, 1024, &n, "field"), TIDAL_ELENGTH, "TIDAL-DECODE-LENGTH", &r,
               arr16, &err);
    cr_assert(heap_in_use() == before, "the reader allocated");
}

Test(mpread, container_widths_bounds_and_cuts)
{
    /* fixarray 3, array16 3, array32 3, each followed by its 3 elements */
    static const uint8_t a_fix[] = {0x93, 1, 2, 3};
    static const uint8_t a16[] = {0xdc, 0x00, 0x03, 1, 2, 3};
    static const uint8_t a32[] = {0xdd, 0x00, 0x00, 0x00, 0x03, 1, 2, 3};
    static const uint8_t m_fix[] = {0x82, 1, 2, 3, 4};
    static const uint8_t m16[] = {0xde, 0x00, 0x02, 1, 2, 3, 4};
    static const uint8_t m32[] = {0xdf, 0x00, 0x00, 0x00, 0x02, 1, 2, 3, 4};
    static const uint8_t a15[] = {0x9f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const struct {
        const uint8_t *p;
        size_t len;
        bool map;
        uint32_t n;
    } cases[] = {{a_fix, sizeof(a_fix), false, 3}, {a16, sizeof(a16), false, 3},
                 {a32, sizeof(a32), false, 3},     {m_fix, sizeof(m_fix), true, 2},
                 {m16, sizeof(m16), true, 2},      {m32, sizeof(m32), true, 2},
                 {a15, sizeof(a15), false, 15}};
    tidal_decode_err err;
    tidal_mpr r;
    uint32_t n;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const uint8_t *p = cases[i].p;
        size_t len = cases[i].len;
        size_t hdr = len - cases[i].n * (cases[i].map ? 2 : 1);
        uint32_t want = cases[i].n;
#define READ(max)                                                                                  \
    (cases[i].map ? tidal_mpr_map(&r, max, &n, "field") : tidal_mpr_array(&r, max, &n, "field"))
        for (uint32_t max = want; max <= want + 1; max++) {
            tidal_mpr_init(&r, p, len, &err);
            TIDAL_PASS(READ(max));
            cr_assert(n == want && tidal_mpr_left(&r) == len - hdr);
        }
        tidal_mpr_init(&r, p, len, &err);
        check_fail(READ(want - 1), TIDAL_ETOOBIG, "TIDAL-DECODE-TOOBIG", &r, p, &err);
        /* an accepted count with its elements cut off: the input ended early */
        for (size_t cut = 0; cut < len; cut++) {
            tidal_mpr_init(&r, p, cut, &err);
            check_fail(READ(want), TIDAL_ETRUNCATED, "TIDAL-DECODE-TRUNCATED", &r, p, &err);
        }
#undef READ
        if (!cases[i].map) {
            tidal_mpr_init(&r, p, len, &err);
            TIDAL_PASS(tidal_mpr_array_exact(&r, want, "field"));
            tidal_mpr_init(&r, p, len, &err);
            check_fail(tidal_mpr_array_exact(&r, want - 1, "field"), TIDAL_EFIELD,
                       "TIDAL-DECODE-FIELD", &r, p, &err);
            tidal_mpr_init(&r, p, len - 1, &err);
            check_fail(tidal_mpr_array_exact(&r, want, "field"), TIDAL_ETRUNCATED,
                       "TIDAL-DECODE-TRUNCATED", &r, p, &err);
            /* a refused count that does not fit either: the length is bogus */
            tidal_mpr_init(&r, p, len - 1, &err);
            check_fail(tidal_mpr_array_exact(&r, want + 1, "field"), TIDAL_ELENGTH,
                       "TIDAL-DECODE-LENGTH", &r, p, &err);
        }
    }
}

Test(mpread, trailing_bytes_and_done)
{
    static const uint8_t two[] = {0x01, 0x02};
    tidal_decode_err err;
    tidal_mpr r;
    uint64_t u;

    tidal_mpr_init(&r, two, sizeof(two), &err);
    TIDAL_PASS(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"));
    const uint8_t *at = r.p;
    check_fail(tidal_mpr_done(&r, "field"), TIDAL_ETRAILING, "TIDAL-DECODE-TRAILING", &r, at, &err);
    cr_assert(err.offset == 1 && err.actual == 1);
    TIDAL_PASS(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"));
    TIDAL_PASS(tidal_mpr_done(&r, "field"));
}

Test(mpread, first_failure_is_kept_and_err_may_be_null)
{
    static const uint8_t bytes[] = {0xa1, 'x', 0x05};
    tidal_decode_err err;
    tidal_mpr r;
    uint64_t u;
    bool b;

    tidal_mpr_init(&r, bytes, sizeof(bytes), &err);
    TIDAL_FAIL(tidal_mpr_uint(&r, UINT64_MAX, &u, "first"), TIDAL_EFIELD);
    TIDAL_FAIL(tidal_mpr_bool(&r, &b, "second"), TIDAL_EFIELD);
    cr_assert_str_eq(err.what, "first");
    cr_assert(tidal_mpr_fail(&r, TIDAL_EVERSION, "third", 1, 2) == TIDAL_EVERSION);
    cr_assert_str_eq(err.what, "first");

    tidal_mpr_init(&r, bytes, sizeof(bytes), &err);
    cr_assert(err.code == 0 && err.id == NULL, "init clears err");
    cr_assert(tidal_mpr_fail(&r, TIDAL_ETYPE, "field", 7, 999) == TIDAL_ETYPE);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-TYPE");
    cr_assert(err.expected == 7 && err.actual == 999 && err.offset == 0);
    tidal_mpr_init(&r, bytes, sizeof(bytes), &err);
    cr_assert(tidal_mpr_fail(&r, TIDAL_EVERSION, "field", 1, 2) == TIDAL_EVERSION);
    cr_assert_str_eq(err.id, "TIDAL-DECODE-VERSION");

    tidal_mpr_init(&r, bytes, sizeof(bytes), NULL);
    TIDAL_FAIL(tidal_mpr_uint(&r, UINT64_MAX, &u, "field"), TIDAL_EFIELD);
    TIDAL_FAIL(tidal_mpr_done(&r, "field"), TIDAL_ETRAILING);
}

/* ---- the inline forms (mpread.h) against the full readers ------------------ */

/* One reader's outcome: code, where the cursor went, what it read, what the
 * error says. */
typedef struct outcome {
    int rv;
    size_t at;
    uint64_t v;
    const uint8_t *ptr;
    uint32_t len;
    tidal_decode_err err;
} outcome;

enum reader { R_UINT, R_STR, R_BIN, R_ARRAY_EXACT, R_ARRAY, R_COUNT };

static outcome
read_one(enum reader k, bool inline_form, const uint8_t *in, size_t n, uint64_t bound)
{
    outcome o = {0};
    tidal_mpr r;
    tidal_mpr_init(&r, in, n, &o.err);
    uint32_t count = 0;
    const char *s = NULL;
    switch (k) {
    case R_UINT:
        o.rv = inline_form ? tidal_mpr_uint(&r, bound, &o.v, "field")
                           : tidal__mpr_uint_any(&r, bound, &o.v, "field");
        break;
    case R_STR:
        o.rv = inline_form ? tidal_mpr_str(&r, (uint32_t)bound, &s, &o.len, "field")
                           : tidal__mpr_raw_any(&r, true, (uint32_t)bound, &o.ptr, &o.len,
                                                "field");
        if (inline_form && o.rv == 0) {
            o.ptr = (const uint8_t *)s;
        }
        break;
    case R_BIN:
        o.rv = inline_form ? tidal_mpr_bin(&r, (uint32_t)bound, &o.ptr, &o.len, "field")
                           : tidal__mpr_raw_any(&r, false, (uint32_t)bound, &o.ptr, &o.len,
                                                "field");
        break;
    case R_ARRAY_EXACT:
        o.rv = inline_form ? tidal_mpr_array_exact(&r, (uint32_t)bound, "field")
                           : tidal__mpr_array_any(&r, true, (uint32_t)bound, &count, "field");
        break;
    default:
        o.rv = inline_form ? tidal_mpr_array(&r, (uint32_t)bound, &count, "field")
                           : tidal__mpr_array_any(&r, false, (uint32_t)bound, &count, "field");
        o.v = count;
        break;
    }
    o.at = (size_t)(r.p - in);
    return o;
}

static void
same_outcome(enum reader k, const uint8_t *in, size_t n, uint64_t bound)
{
    outcome a = read_one(k, true, in, n, bound), b = read_one(k, false, in, n, bound);
    cr_assert(a.rv == b.rv && a.at == b.at, "reader %d, %zu bytes from %02x, bound %llu: "
              "inline %d at %zu, full %d at %zu", (int)k, n, n ? in[0] : 0,
              (unsigned long long)bound, a.rv, a.at, b.rv, b.at);
    if (a.rv == 0) {
        cr_assert(a.v == b.v && a.ptr == b.ptr && a.len == b.len);
    } else {
        cr_assert(a.err.code == b.err.code && a.err.offset == b.err.offset &&
                  a.err.expected == b.err.expected && a.err.actual == b.err.actual);
    }
}

/* Every first byte, every length cut short or not, bounds at and around what
 * the bytes say: the inline forms accept exactly what the full readers accept,
 * read the same, and fail the same way. */
Test(mpread, inline_forms_read_as_the_full_readers)
{
    static const uint64_t bounds[] = {0, 1, 2, 3, 15, 16, 127, 128, 255, 256, 65535, 65536,
                                      UINT32_MAX, UINT64_MAX};
    uint8_t in[300];
    uint32_t seed = 12345;
    for (unsigned b0 = 0; b0 < 256; b0++) {
        for (unsigned trial = 0; trial < 8; trial++) {
            in[0] = (uint8_t)b0;
            for (size_t i = 1; i < sizeof(in); i++) {
                seed = seed * 1103515245u + 12345u;
                /* small second bytes too, so short lengths fit what follows */
                in[i] = (uint8_t)(trial < 4 ? (seed >> 16) : (seed >> 16) % 8);
            }
            for (size_t n = 0; n <= 20; n++) {
                for (size_t j = 0; j < sizeof(bounds) / sizeof(bounds[0]); j++) {
                    for (int k = 0; k < R_COUNT; k++) {
                        if ((k == R_STR || k == R_BIN || k == R_ARRAY_EXACT || k == R_ARRAY) &&
                            bounds[j] > UINT32_MAX) {
                            continue;
                        }
                        same_outcome((enum reader)k, in, n, bounds[j]);
                    }
                }
            }
            same_outcome(R_STR, in, sizeof(in), 31);
            same_outcome(R_BIN, in, sizeof(in), 255);
        }
    }
}
