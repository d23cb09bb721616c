/*
 * The LWW register (lww.h).  One comparison decides everything: a write wins
 * if its stamp is greater in the HLC total order, or on an identical stamp if
 * its value is greater (longer, then memcmp).
 */
#include "store/lww.h"

#include <string.h>

#include "tidal/errors.h"

#define LWW_HASH_SEED 0x4c57575265676973ull /* "LWWRegis" */

void
tidal_lww_init(tidal_lww *r)
{
    memset(r, 0, sizeof(*r));
}

/* <0, 0, >0 as the write (value, len, stamp) is below, equal to, above r's. */
static int
compare_write(const tidal_lww *r, const uint8_t *value, size_t len, const tidal_hlc *stamp)
{
    int c;

    if (!r->set) {
        return 1;
    }
    c = tidal_hlc_compare(stamp, &r->stamp);
    if (c != 0) {
        return c;
    }
    if (len != r->len) {
        return len < r->len ? -1 : 1;
    }
    return len == 0 ? 0 : memcmp(value, r->value, len);
}

int
tidal_lww_set(tidal_lww *r, const void *value, size_t len, const tidal_hlc *stamp, bool *applied)
{
    bool win;

    if (len > TIDAL_LWW_VALUE_BYTES_MAX) {
        return TIDAL_ETOOBIG;
    }
    if (value == NULL && len > 0) {
        return TIDAL_EINVAL;
    }
    win = compare_write(r, value, len, stamp) > 0;
    if (win) {
        if (len > 0) {
            memcpy(r->value, value, len);
        }
        /* Zero the tail so the struct holds no stale bytes of an old value. */
        memset(r->value + len, 0, TIDAL_LWW_VALUE_BYTES_MAX - len);
        r->len = (uint16_t)len;
        r->stamp = *stamp;
        r->set = true;
    }
    if (applied != NULL) {
        *applied = win;
    }
    return 0;
}

bool
tidal_lww_get(const tidal_lww *r, const uint8_t **value, size_t *len, tidal_hlc *stamp)
{
    if (!r->set) {
        return false;
    }
    if (value != NULL) {
        *value = r->value;
    }
    if (len != NULL) {
        *len = r->len;
    }
    if (stamp != NULL) {
        *stamp = r->stamp;
    }
    return true;
}

void
tidal_lww_merge(tidal_lww *dst, const tidal_lww *src)
{
    if (src->set && compare_write(dst, src->value, src->len, &src->stamp) > 0) {
        *dst = *src;
    }
}

bool
tidal_lww_equal(const tidal_lww *a, const tidal_lww *b)
{
    if (a->set != b->set) {
        return false;
    }
    return !a->set || compare_write(a, b->value, b->len, &b->stamp) == 0;
}

void
tidal__lww_write(const tidal_lww *r, tidal__wr *w)
{
    tidal__wr_u8(w, r->set ? 1 : 0);
    if (!r->set) {
        return;
    }
    tidal__wr_hlc(w, &r->stamp);
    tidal__wr_u16(w, r->len);
    tidal__wr_bytes(w, r->value, r->len);
}

uint64_t
tidal_lww_hash(const tidal_lww *r)
{
    tidal_hasher h;
    tidal__wr w;

    tidal_hasher_init(&h, LWW_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    tidal__lww_write(r, &w);
    return tidal_hasher_final(&h);
}

int
tidal_lww_encode(const tidal_lww *r, uint8_t *buf, size_t cap, size_t *len)
{
    tidal__wr w;

    tidal__wr_init(&w, buf, cap, NULL);
    tidal__lww_write(r, &w);
    return tidal__wr_finish(&w, len);
}

int
tidal__lww_read(tidal_lww *r, tidal__rd *rd)
{
    size_t start = rd->off;
    const uint8_t *value;
    tidal_hlc stamp;
    uint16_t len;
    uint8_t flag;
    int rv;

    if ((rv = tidal__rd_u8(rd, &flag)) != 0) {
        goto fail_rewind;
    }
    if (flag > 1) {
        rv = TIDAL_ECORRUPT;
        goto fail_rewind;
    }
    if (flag == 0) {
        tidal_lww_init(r);
        return 0;
    }
    if ((rv = tidal__rd_hlc(rd, &stamp)) != 0 || (rv = tidal__rd_u16(rd, &len)) != 0) {
        goto fail_rewind;
    }
    if (len > TIDAL_LWW_VALUE_BYTES_MAX) {
        rv = TIDAL_ECORRUPT;
        goto fail_rewind;
    }
    if ((rv = tidal__rd_bytes(rd, &value, len)) != 0) {
        goto fail_rewind;
    }
    tidal_lww_init(r);
    memcpy(r->value, value, len);
    r->len = len;
    r->stamp = stamp;
    r->set = true;
    return 0;

fail_rewind:
    rd->off = start;
    return rv;
}

int
tidal_lww_decode(tidal_lww *r, const uint8_t *buf, size_t len)
{
    tidal_lww tmp;
    tidal__rd rd;
    int rv;

    tidal__rd_init(&rd, buf, len);
    if ((rv = tidal__lww_read(&tmp, &rd)) != 0) {
        return rv;
    }
    if ((rv = tidal__rd_end(&rd)) != 0) {
        return rv;
    }
    *r = tmp;
    return 0;
}
