/*
 * A bounded, strict, non-allocating msgpack reader (see mpread.h).
 *
 * Every reader peeks at the value under the cursor, decides, and only then
 * advances: a failure leaves the cursor where it was.  The order of checks is
 * the same everywhere, so one input always gives one error:
 *
 *   1. no byte at all                            TIDAL_ETRUNCATED
 *   2. the first byte is another msgpack type    TIDAL_EFIELD
 *   3. the input ends inside the header          TIDAL_ETRUNCATED
 *   4. str/bin: length over the caller's bound   TIDAL_ETOOBIG  (before 5, so a
 *      huge declared length is "too big", never "truncated")
 *   5. str/bin: body longer than the bytes left  TIDAL_ETRUNCATED
 *   4'. containers: the declared count needs more bytes than are left (one per
 *      array element, two per map pair): TIDAL_ETRUNCATED if the count is one
 *      the caller accepts (the input ended early), TIDAL_ELENGTH if not (the
 *      length itself is bogus, such as `dd ff ff ff ff`)
 *   5'. containers: the count fits but is refused: TIDAL_EFIELD (exact arity)
 *      or TIDAL_ETOOBIG (over a maximum)
 *   6. ints: the value is outside the range asked for   TIDAL_EFIELD
 *
 * Multi-byte numbers are big-endian on the wire; they are assembled byte by
 * byte, so the input needs no alignment.
 */
#include "messages/mpread.h"

#include <string.h>

#include "tidal/errors.h"

/* Big-endian loads of the full readers, through mpread.h's one loader. */
static inline uint16_t
ld16(const uint8_t *p)
{
    return (uint16_t)tidal__mpr_be(p, 2);
}

static inline uint32_t
ld32(const uint8_t *p)
{
    return (uint32_t)tidal__mpr_be(p, 4);
}

static inline uint64_t
ld64(const uint8_t *p)
{
    return tidal__mpr_be(p, 8);
}

static const char *
err_id(int code)
{
    switch (code) {
    case TIDAL_ETRUNCATED:
        return "TIDAL-DECODE-TRUNCATED";
    case TIDAL_EFIELD:
        return "TIDAL-DECODE-FIELD";
    case TIDAL_ETOOBIG:
        return "TIDAL-DECODE-TOOBIG";
    case TIDAL_ELENGTH:
        return "TIDAL-DECODE-LENGTH";
    case TIDAL_ETRAILING:
        return "TIDAL-DECODE-TRAILING";
    case TIDAL_EVERSION:
        return "TIDAL-DECODE-VERSION";
    case TIDAL_ETYPE:
        return "TIDAL-DECODE-TYPE";
    default:
        return "TIDAL-DECODE-OTHER";
    }
}

/* Out of line and cold: the success path of every reader stays small. */
__attribute__((noinline, cold)) static int
mpr_fail(tidal_mpr *r, int code, const char *what, uint64_t expected, uint64_t actual)
{
    tidal_decode_err *e = r->err;
    if (e != NULL && e->code == 0) {
        e->code = code;
        e->id = err_id(code);
        e->what = what;
        e->offset = (size_t)(r->p - r->start);
        e->expected = expected;
        e->actual = actual;
    }
    return code;
}

void
tidal_mpr_init(tidal_mpr *r, const void *buf, size_t len, tidal_decode_err *err)
{
    r->start = buf;
    r->p = buf;
    r->end = r->start + len;
    r->err = err;
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
    }
}

size_t
tidal_mpr_left(const tidal_mpr *r)
{
    return (size_t)(r->end - r->p);
}

int
tidal_mpr_fail(tidal_mpr *r, int code, const char *what, uint64_t expected, uint64_t actual)
{
    return mpr_fail(r, code, what, expected, actual);
}

/* The header of the container under the cursor.  fix_lo..fix_lo+15 are the
 * fix forms; c16/c32 the 16- and 32-bit forms; per is the fewest bytes one
 * element can take.  The caller accepts exactly `want` elements (exact) or
 * at most `want`; what it accepts decides truncated versus bogus (4'). */
static int
mpr_container(tidal_mpr *r, uint8_t fix_lo, uint8_t c16, uint8_t c32, uint32_t per, bool exact,
              uint32_t want, uint32_t *n, const char *what)
{
    size_t left = tidal_mpr_left(r);
    if (left == 0) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, 1, 0);
    }
    uint8_t b = r->p[0];
    uint32_t count;
    size_t hdr;
    if ((b & 0xf0u) == fix_lo) {
        count = b & 0x0fu;
        hdr = 1;
    } else if (b == c16) {
        if (left < 3) {
            return mpr_fail(r, TIDAL_ETRUNCATED, what, 3, left);
        }
        count = ld16(r->p + 1);
        hdr = 3;
    } else if (b == c32) {
        if (left < 5) {
            return mpr_fail(r, TIDAL_ETRUNCATED, what, 5, left);
        }
        count = ld32(r->p + 1);
        hdr = 5;
    } else {
        return mpr_fail(r, TIDAL_EFIELD, what, fix_lo, b);
    }
    bool accepted = exact ? count == want : count <= want;
    uint64_t need = (uint64_t)count * per;
    if (need > left - hdr) {
        return mpr_fail(r, accepted ? TIDAL_ETRUNCATED : TIDAL_ELENGTH, what, need, left - hdr);
    }
    if (!accepted) {
        return mpr_fail(r, exact ? TIDAL_EFIELD : TIDAL_ETOOBIG, what, want, count);
    }
    r->p += hdr;
    *n = count;
    return 0;
}

/* The full reader of an array header (mpread.h: tidal_mpr_array_exact,
 * tidal_mpr_array). */
int
tidal__mpr_array_any(tidal_mpr *r, bool exact, uint32_t want, uint32_t *n, const char *what)
{
    return mpr_container(r, 0x90u, 0xdcu, 0xddu, 1, exact, want, n, what);
}

int
tidal_mpr_map(tidal_mpr *r, uint32_t max, uint32_t *n, const char *what)
{
    return mpr_container(r, 0x80u, 0xdeu, 0xdfu, 2, false, max, n, what);
}

/* Peeks at an int of any width.  On success *size is its encoded size, and
 * either *neg is false and *u holds the value, or *neg is true and *s holds a
 * negative value.  Fails (without recording) with TIDAL_ETRUNCATED or
 * TIDAL_EFIELD; *size is then the bytes the value needs. */
static int
mpr_peek_int(const tidal_mpr *r, uint64_t *u, int64_t *s, bool *neg, size_t *size)
{
    size_t left = tidal_mpr_left(r);
    if (left == 0) {
        *size = 1;
        return TIDAL_ETRUNCATED;
    }
    const uint8_t *p = r->p;
    uint8_t b = p[0];
    int64_t sv;
    *neg = false;
    if (b <= 0x7fu) {
        *u = b;
        *size = 1;
        return 0;
    }
    if (b >= 0xe0u) {
        *s = (int64_t)(int8_t)b;
        *neg = true;
        *size = 1;
        return 0;
    }
    switch (b) {
    case 0xcc: /* uint8 */
    case 0xd0: /* int8 */
        *size = 2;
        break;
    case 0xcd: /* uint16 */
    case 0xd1: /* int16 */
        *size = 3;
        break;
    case 0xce: /* uint32 */
    case 0xd2: /* int32 */
        *size = 5;
        break;
    case 0xcf: /* uint64 */
    case 0xd3: /* int64 */
        *size = 9;
        break;
    default:
        *size = 1;
        return TIDAL_EFIELD;
    }
    if (left < *size) {
        return TIDAL_ETRUNCATED;
    }
    switch (b) {
    case 0xcc:
        *u = p[1];
        return 0;
    case 0xcd:
        *u = ld16(p + 1);
        return 0;
    case 0xce:
        *u = ld32(p + 1);
        return 0;
    case 0xcf:
        *u = ld64(p + 1);
        return 0;
    case 0xd0:
        sv = (int8_t)p[1];
        break;
    case 0xd1:
        sv = (int16_t)ld16(p + 1);
        break;
    case 0xd2:
        sv = (int32_t)ld32(p + 1);
        break;
    default:
        sv = (int64_t)ld64(p + 1);
        break;
    }
    /* Signed encodings may carry values >= 0 (other packers emit them). */
    if (sv < 0) {
        *s = sv;
        *neg = true;
    } else {
        *u = (uint64_t)sv;
    }
    return 0;
}

/* The full reader of an unsigned integer (mpread.h: tidal_mpr_uint). */
int
tidal__mpr_uint_any(tidal_mpr *r, uint64_t max, uint64_t *v, const char *what)
{
    uint64_t u = 0;
    int64_t s = 0;
    bool neg;
    size_t size;
    int rv = mpr_peek_int(r, &u, &s, &neg, &size);
    if (rv != 0) {
        return mpr_fail(r, rv, what, size, tidal_mpr_left(r));
    }
    if (neg) {
        /* actual carries the two's-complement bits of the negative value. */
        return mpr_fail(r, TIDAL_EFIELD, what, max, (uint64_t)s);
    }
    if (u > max) {
        return mpr_fail(r, TIDAL_EFIELD, what, max, u);
    }
    r->p += size;
    *v = u;
    return 0;
}

int
tidal_mpr_int(tidal_mpr *r, int64_t *v, const char *what)
{
    uint64_t u = 0;
    int64_t s = 0;
    bool neg;
    size_t size;
    int rv = mpr_peek_int(r, &u, &s, &neg, &size);
    if (rv != 0) {
        return mpr_fail(r, rv, what, size, tidal_mpr_left(r));
    }
    if (!neg && u > (uint64_t)INT64_MAX) {
        return mpr_fail(r, TIDAL_EFIELD, what, (uint64_t)INT64_MAX, u);
    }
    r->p += size;
    *v = neg ? s : (int64_t)u;
    return 0;
}

int
tidal_mpr_double(tidal_mpr *r, double *v, const char *what)
{
    size_t left = tidal_mpr_left(r);
    if (left == 0) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, 1, 0);
    }
    uint8_t b = r->p[0];
    if (b == 0xca) {
        if (left < 5) {
            return mpr_fail(r, TIDAL_ETRUNCATED, what, 5, left);
        }
        uint32_t bits = ld32(r->p + 1);
        float f;
        memcpy(&f, &bits, sizeof(f));
        *v = f;
        r->p += 5;
        return 0;
    }
    if (b == 0xcb) {
        if (left < 9) {
            return mpr_fail(r, TIDAL_ETRUNCATED, what, 9, left);
        }
        uint64_t bits = ld64(r->p + 1);
        memcpy(v, &bits, sizeof(*v));
        r->p += 9;
        return 0;
    }
    return mpr_fail(r, TIDAL_EFIELD, what, 0xcb, b);
}

int
tidal_mpr_bool(tidal_mpr *r, bool *v, const char *what)
{
    if (r->p == r->end) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, 1, 0);
    }
    uint8_t b = r->p[0];
    if (b != 0xc2u && b != 0xc3u) {
        return mpr_fail(r, TIDAL_EFIELD, what, 0xc3, b);
    }
    *v = b == 0xc3u;
    r->p++;
    return 0;
}

int
tidal_mpr_nil(tidal_mpr *r, bool *was_nil, const char *what)
{
    if (r->p == r->end) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, 1, 0);
    }
    *was_nil = r->p[0] == 0xc0u;
    if (*was_nil) {
        r->p++;
    }
    return 0;
}

/* The full reader of a str (is_str) or bin under the cursor of at most max
 * bytes, as a view (mpread.h: tidal_mpr_str, tidal_mpr_bin). */
int
tidal__mpr_raw_any(tidal_mpr *r, bool is_str, uint32_t max, const uint8_t **ptr, uint32_t *len,
                   const char *what)
{
    size_t left = tidal_mpr_left(r);
    if (left == 0) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, 1, 0);
    }
    uint8_t b = r->p[0];
    uint32_t n = 0;
    size_t hdr;
    if (is_str && (b & 0xe0u) == 0xa0u) {
        n = b & 0x1fu;
        hdr = 1;
    } else if (b == (is_str ? 0xd9u : 0xc4u)) {
        hdr = 2;
    } else if (b == (is_str ? 0xdau : 0xc5u)) {
        hdr = 3;
    } else if (b == (is_str ? 0xdbu : 0xc6u)) {
        hdr = 5;
    } else {
        return mpr_fail(r, TIDAL_EFIELD, what, is_str ? 0xdb : 0xc6, b);
    }
    if (left < hdr) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, hdr, left);
    }
    switch (hdr) {
    case 2:
        n = r->p[1];
        break;
    case 3:
        n = ld16(r->p + 1);
        break;
    case 5:
        n = ld32(r->p + 1);
        break;
    default:
        break;
    }
    if (n > max) {
        return mpr_fail(r, TIDAL_ETOOBIG, what, max, n);
    }
    if (n > left - hdr) {
        return mpr_fail(r, TIDAL_ETRUNCATED, what, hdr + n, left);
    }
    *ptr = r->p + hdr;
    *len = n;
    r->p += hdr + n;
    return 0;
}

int
tidal_mpr_done(tidal_mpr *r, const char *what)
{
    if (r->p != r->end) {
        return mpr_fail(r, TIDAL_ETRAILING, what, 0, tidal_mpr_left(r));
    }
    return 0;
}
