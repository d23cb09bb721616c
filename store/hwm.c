/*
 * The session HWM tracker (hwm.h): a hash map from session id to HWM, and the
 * table's checksummed encoding (format in hwm.h).
 */
#include "store/hwm.h"

#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/bytes.h"
#include "store/crc32c.h"
#include "store/hmap.h"
#include "tidal/errors.h"

#define HWM_RECORD_BYTES 24u
#define HWM_HEADER_BYTES 9u
#define HWM_CRC_BYTES 4u

typedef struct hwm_slot {
    tidal_session_id id; /* key */
    uint64_t hwm;        /* >= 1 */
} hwm_slot;

struct tidal_hwm {
    tidal_hmap map; /* hwm_slot by id */
};

int
tidal_hwm_open(tidal_hwm **out)
{
    tidal_hwm *h = tidal__malloc(sizeof(*h));

    if (h == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&h->map, sizeof(hwm_slot), sizeof(tidal_session_id));
    *out = h;
    return 0;
}

void
tidal_hwm_close(tidal_hwm *h)
{
    if (h == NULL) {
        return;
    }
    tidal_hmap_fini(&h->map);
    tidal__free(h);
}

int
tidal_hwm_should_apply(tidal_hwm *h, const tidal_session_id *id, uint64_t seqno, bool *apply)
{
    hwm_slot *s = tidal_hmap_find(&h->map, id);
    bool created;
    int rv;

    if (s != NULL) {
        *apply = seqno > s->hwm;
        if (*apply) {
            s->hwm = seqno;
        }
        return 0;
    }
    if (seqno == 0) {
        /* At the HWM of an unknown session: refused, and nothing stored. */
        *apply = false;
        return 0;
    }
    if ((rv = tidal_hmap_upsert(&h->map, id, (void **)&s, &created)) != 0) {
        return rv;
    }
    s->hwm = seqno;
    *apply = true;
    return 0;
}

uint64_t
tidal_hwm_get(const tidal_hwm *h, const tidal_session_id *id)
{
    const hwm_slot *s = tidal_hmap_find(&h->map, id);

    return s != NULL ? s->hwm : 0;
}

int
tidal_hwm_raise(tidal_hwm *h, const tidal_session_id *id, uint64_t seqno)
{
    bool apply;

    return tidal_hwm_should_apply(h, id, seqno, &apply);
}

bool
tidal_hwm_remove(tidal_hwm *h, const tidal_session_id *id)
{
    return tidal_hmap_remove(&h->map, id);
}

size_t
tidal_hwm_count(const tidal_hwm *h)
{
    return tidal_hmap_count(&h->map);
}

size_t
tidal_hwm_memory_bytes(const tidal_hwm *h)
{
    return sizeof(*h) + tidal_hmap_memory_bytes(&h->map);
}

size_t
tidal_hwm_encoded_bytes(const tidal_hwm *h)
{
    return HWM_HEADER_BYTES + tidal_hmap_count(&h->map) * HWM_RECORD_BYTES + HWM_CRC_BYTES;
}

static uint64_t
le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

/* Orders two encoded records by id (hi, lo). */
static int
record_compare(const void *a, const void *b)
{
    uint64_t ahi = le64(a), bhi = le64(b);
    uint64_t alo = le64((const uint8_t *)a + 8), blo = le64((const uint8_t *)b + 8);

    if (ahi != bhi) {
        return ahi < bhi ? -1 : 1;
    }
    return alo < blo ? -1 : alo > blo;
}

int
tidal_hwm_encode(const tidal_hwm *h, uint8_t *buf, size_t cap, size_t *len)
{
    size_t n = tidal_hmap_count(&h->map);
    size_t need = tidal_hwm_encoded_bytes(h);
    const hwm_slot *s;
    size_t cursor = 0;
    tidal__wr w;

    *len = need;
    if (buf == NULL || cap < need) {
        return TIDAL_ETOOBIG;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__wr_u8(&w, TIDAL_HWM_VERSION);
    tidal__wr_u64(&w, n);
    while ((s = tidal_hmap_next(&h->map, &cursor)) != NULL) {
        tidal__wr_u64(&w, s->id.hi);
        tidal__wr_u64(&w, s->id.lo);
        tidal__wr_u64(&w, s->hwm);
    }
    /* Sorted in place, so the bytes do not depend on the table's history. */
    qsort(buf + HWM_HEADER_BYTES, n, HWM_RECORD_BYTES, record_compare);
    tidal__wr_u32(&w, tidal_crc32c(0, buf, w.len));
    return tidal__wr_finish(&w, len);
}

/* Checks everything but the records' contents; *n gets the record count. */
static int
check_frame(const uint8_t *buf, size_t len, size_t *n)
{
    uint64_t count = 0, crc = 0;
    tidal__rd r;
    uint8_t version = 0;
    size_t need;

    tidal__rd_init(&r, buf, len);
    if (len < HWM_HEADER_BYTES + HWM_CRC_BYTES) {
        return TIDAL_ETRUNCATED;
    }
    (void)tidal__rd_u8(&r, &version);
    if (version != TIDAL_HWM_VERSION) {
        return TIDAL_EVERSION;
    }
    (void)tidal__rd_u64(&r, &count);
    if (count > (len - HWM_HEADER_BYTES - HWM_CRC_BYTES) / HWM_RECORD_BYTES) {
        return TIDAL_ETRUNCATED;
    }
    need = HWM_HEADER_BYTES + (size_t)count * HWM_RECORD_BYTES + HWM_CRC_BYTES;
    if (len != need) {
        return TIDAL_ETRAILING;
    }
    r.off = need - HWM_CRC_BYTES;
    (void)tidal__rd_uint(&r, &crc, 4);
    if (crc != tidal_crc32c(0, buf, need - HWM_CRC_BYTES)) {
        return TIDAL_ECRC;
    }
    *n = (size_t)count;
    return 0;
}

int
tidal_hwm_decode(tidal_hwm *h, const uint8_t *buf, size_t len)
{
    const uint8_t *rec;
    size_t n = 0, added = 0;
    int rv;

    if ((rv = check_frame(buf, len, &n)) != 0) {
        return rv;
    }
    rec = buf + HWM_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, rec += HWM_RECORD_BYTES) {
        tidal_session_id id = {.hi = le64(rec), .lo = le64(rec + 8)};
        if ((id.hi == 0 && id.lo == 0) || le64(rec + 16) == 0 ||
            (i > 0 && record_compare(rec - HWM_RECORD_BYTES, rec) >= 0)) {
            return TIDAL_ECORRUPT;
        }
        added += tidal_hmap_find(&h->map, &id) == NULL;
    }
    /* Room first, so that the raises below cannot fail half way. */
    if ((rv = tidal_hmap_reserve(&h->map, tidal_hmap_count(&h->map) + added)) != 0) {
        return rv;
    }
    rec = buf + HWM_HEADER_BYTES;
    for (size_t i = 0; i < n; i++, rec += HWM_RECORD_BYTES) {
        tidal_session_id id = {.hi = le64(rec), .lo = le64(rec + 8)};
        rv = tidal_hwm_raise(h, &id, le64(rec + 16));
        TIDAL_ASSERT(rv == 0);
    }
    return 0;
}
