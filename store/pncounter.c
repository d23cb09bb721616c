/*
 * The PN-counter (pncounter.h): a sparse per-region (P, N) map that is either
 * empty, one inline entry, or a heap array sized to exactly the number of
 * regions, sorted by region.  Growth goes inline -> heap and never back (a
 * state only gains regions).  Every function that allocates does so before
 * changing anything, so TIDAL_ENOMEM always leaves the state as it was.
 */
#include "store/pncounter.h"

#include <string.h>

#include "base/alloc.h"
#include "tidal/errors.h"

#define PN_HASH_SEED 0x504e636f756e7465ull /* "PNcounte" */

void
tidal_pncounter_init(tidal_pncounter *c)
{
    memset(c, 0, sizeof(*c));
}

void
tidal_pncounter_fini(tidal_pncounter *c)
{
    if (c->cap > 0) {
        tidal__free(c->u.many);
    }
    c->u.many = NULL;
    c->u.one.p = 0;
    c->u.one.n = 0;
    c->region = 0;
    c->len = 0;
    c->cap = 0;
}

/* Entry i (< len) as a value, whatever the representation. */
static tidal_pn_entry
entry_at(const tidal_pncounter *c, size_t i)
{
    tidal_pn_entry e;

    if (c->cap > 0) {
        return c->u.many[i];
    }
    e.p = c->u.one.p;
    e.n = c->u.one.n;
    e.region = c->region;
    return e;
}

/* Pointers to region's P and N, or false if the region has no entry. */
static bool
find(tidal_pncounter *c, tidal_region_id region, uint64_t **p, uint64_t **n)
{
    if (c->cap == 0) {
        if (c->len == 1 && c->region == region) {
            *p = &c->u.one.p;
            *n = &c->u.one.n;
            return true;
        }
        return false;
    }
    for (size_t i = 0; i < c->len; i++) {
        if (c->u.many[i].region == region) {
            *p = &c->u.many[i].p;
            *n = &c->u.many[i].n;
            return true;
        }
    }
    return false;
}

/* Makes room for n entries without allocating later.  TIDAL_ENOMEM: nothing
 * changed. */
static int
ensure_cap(tidal_pncounter *c, size_t n)
{
    tidal_pn_entry *a;

    if (n <= c->cap || (c->cap == 0 && n <= 1)) {
        return 0;
    }
    if (c->cap > 0) {
        a = tidal__realloc(c->u.many, n * sizeof(*a));
        if (a == NULL) {
            return TIDAL_ENOMEM;
        }
    } else {
        a = tidal__malloc(n * sizeof(*a));
        if (a == NULL) {
            return TIDAL_ENOMEM;
        }
        if (c->len == 1) {
            a[0] = entry_at(c, 0);
        }
    }
    c->u.many = a;
    c->cap = (uint8_t)n;
    return 0;
}

/* Adds an entry for a region that has none; the room is already there. */
static void
insert(tidal_pncounter *c, tidal_region_id region, uint64_t p, uint64_t n)
{
    size_t i;

    if (c->cap == 0) {
        c->u.one.p = p;
        c->u.one.n = n;
        c->region = region;
        c->len = 1;
        return;
    }
    for (i = c->len; i > 0 && c->u.many[i - 1].region > region; i--) {
        c->u.many[i] = c->u.many[i - 1];
    }
    c->u.many[i].p = p;
    c->u.many[i].n = n;
    c->u.many[i].region = region;
    c->len++;
}

static uint64_t
magnitude(int64_t delta)
{
    return delta >= 0 ? (uint64_t)delta : 0 - (uint64_t)delta;
}

bool
tidal_pncounter_would_overflow(const tidal_pncounter *c, tidal_region_id region, int64_t delta)
{
    uint64_t p, n;

    tidal_pncounter_get(c, region, &p, &n);
    return (delta > 0 ? p : n) > UINT64_MAX - magnitude(delta);
}

int
tidal_pncounter_reserve(tidal_pncounter *c, tidal_region_id region)
{
    uint64_t *p, *n;

    if (region >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    if (find(c, region, &p, &n)) {
        return 0;
    }
    return ensure_cap(c, (size_t)c->len + 1);
}

int
tidal_pncounter_add(tidal_pncounter *c, tidal_region_id region, int64_t delta)
{
    uint64_t mag = magnitude(delta);
    uint64_t *p, *n;
    int rv;

    if (region >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    if (delta == 0) {
        return 0;
    }
    if (find(c, region, &p, &n)) {
        uint64_t *x = delta > 0 ? p : n;
        if (*x > UINT64_MAX - mag) {
            return TIDAL_ELIMIT;
        }
        *x += mag;
        return 0;
    }
    if ((rv = ensure_cap(c, (size_t)c->len + 1)) != 0) {
        return rv;
    }
    insert(c, region, delta > 0 ? mag : 0, delta > 0 ? 0 : mag);
    return 0;
}

int
tidal_pncounter_raise(tidal_pncounter *c, tidal_region_id region, uint64_t p, uint64_t n)
{
    uint64_t *cp, *cn;
    int rv;

    if (region >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    if (find(c, region, &cp, &cn)) {
        *cp = *cp > p ? *cp : p;
        *cn = *cn > n ? *cn : n;
        return 0;
    }
    if (p == 0 && n == 0) {
        return 0;
    }
    if ((rv = ensure_cap(c, (size_t)c->len + 1)) != 0) {
        return rv;
    }
    insert(c, region, p, n);
    return 0;
}

int64_t
tidal_pncounter_value(const tidal_pncounter *c)
{
    uint64_t sum = 0;

    for (size_t i = 0; i < c->len; i++) {
        tidal_pn_entry e = entry_at(c, i);
        sum += e.p - e.n;
    }
    /* Two's complement without implementation-defined conversion. */
    return sum <= INT64_MAX ? (int64_t)sum : -(int64_t)(~sum) - 1;
}

void
tidal_pncounter_get(const tidal_pncounter *c, tidal_region_id region, uint64_t *p, uint64_t *n)
{
    *p = 0;
    *n = 0;
    for (size_t i = 0; i < c->len; i++) {
        tidal_pn_entry e = entry_at(c, i);
        if (e.region == region) {
            *p = e.p;
            *n = e.n;
            return;
        }
    }
}

size_t
tidal_pncounter_regions(const tidal_pncounter *c)
{
    return c->len;
}

int
tidal_pncounter_reserve_merge(tidal_pncounter *dst, const tidal_pncounter *src)
{
    size_t missing = 0;

    for (size_t i = 0; i < src->len; i++) {
        uint64_t *p, *n;
        if (!find(dst, entry_at(src, i).region, &p, &n)) {
            missing++;
        }
    }
    return ensure_cap(dst, dst->len + missing);
}

int
tidal_pncounter_merge(tidal_pncounter *dst, const tidal_pncounter *src)
{
    int rv;

    if ((rv = tidal_pncounter_reserve_merge(dst, src)) != 0) {
        return rv;
    }
    for (size_t i = 0; i < src->len; i++) {
        tidal_pn_entry e = entry_at(src, i);
        uint64_t *p, *n;
        if (find(dst, e.region, &p, &n)) {
            *p = *p > e.p ? *p : e.p;
            *n = *n > e.n ? *n : e.n;
        } else {
            insert(dst, e.region, e.p, e.n);
        }
    }
    return 0;
}

int
tidal_pncounter_copy(tidal_pncounter *dst, const tidal_pncounter *src)
{
    tidal_pncounter tmp;
    uint32_t tag = dst->tag;
    int rv;

    if (dst == src) {
        return 0;
    }
    tidal_pncounter_init(&tmp);
    if ((rv = tidal_pncounter_merge(&tmp, src)) != 0) {
        return rv;
    }
    tidal_pncounter_fini(dst);
    *dst = tmp;
    dst->tag = tag;
    return 0;
}

bool
tidal_pncounter_equal(const tidal_pncounter *a, const tidal_pncounter *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (size_t i = 0; i < a->len; i++) {
        tidal_pn_entry x = entry_at(a, i);
        tidal_pn_entry y = entry_at(b, i);
        if (x.region != y.region || x.p != y.p || x.n != y.n) {
            return false;
        }
    }
    return true;
}

size_t
tidal_pncounter_heap_bytes(const tidal_pncounter *c)
{
    return (size_t)c->cap * sizeof(tidal_pn_entry);
}

void
tidal__pncounter_write(const tidal_pncounter *c, tidal__wr *w)
{
    tidal__wr_u8(w, c->len);
    for (size_t i = 0; i < c->len; i++) {
        tidal_pn_entry e = entry_at(c, i);
        tidal__wr_u16(w, e.region);
        tidal__wr_u64(w, e.p);
        tidal__wr_u64(w, e.n);
    }
}

uint64_t
tidal_pncounter_hash(const tidal_pncounter *c)
{
    tidal_hasher h;
    tidal__wr w;

    tidal_hasher_init(&h, PN_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    tidal__pncounter_write(c, &w);
    return tidal_hasher_final(&h);
}

int
tidal_pncounter_encode(const tidal_pncounter *c, uint8_t *buf, size_t cap, size_t *len)
{
    tidal__wr w;

    tidal__wr_init(&w, buf, cap, NULL);
    tidal__pncounter_write(c, &w);
    return tidal__wr_finish(&w, len);
}

int
tidal__pncounter_read(tidal_pncounter *c, tidal__rd *r)
{
    tidal_pn_entry e[TIDAL_REGIONS_MAX];
    tidal_pncounter tmp;
    uint8_t count;
    size_t start = r->off;
    int rv;

    if ((rv = tidal__rd_u8(r, &count)) != 0) {
        goto fail_rewind;
    }
    if (count > TIDAL_REGIONS_MAX) {
        rv = TIDAL_ECORRUPT;
        goto fail_rewind;
    }
    for (size_t i = 0; i < count; i++) {
        if ((rv = tidal__rd_u16(r, &e[i].region)) != 0 || (rv = tidal__rd_u64(r, &e[i].p)) != 0 ||
            (rv = tidal__rd_u64(r, &e[i].n)) != 0) {
            goto fail_rewind;
        }
        if (e[i].region >= TIDAL_REGIONS_MAX || (i > 0 && e[i].region <= e[i - 1].region) ||
            (e[i].p == 0 && e[i].n == 0)) {
            rv = TIDAL_ECORRUPT;
            goto fail_rewind;
        }
    }
    tidal_pncounter_init(&tmp);
    if ((rv = ensure_cap(&tmp, count)) != 0) {
        goto fail_rewind;
    }
    for (size_t i = 0; i < count; i++) {
        insert(&tmp, e[i].region, e[i].p, e[i].n);
    }
    tmp.tag = c->tag;
    tidal_pncounter_fini(c);
    *c = tmp;
    return 0;

fail_rewind:
    r->off = start;
    return rv;
}

int
tidal_pncounter_decode(tidal_pncounter *c, const uint8_t *buf, size_t len)
{
    tidal_pncounter tmp;
    tidal__rd r;
    int rv;

    tidal_pncounter_init(&tmp);
    tidal__rd_init(&r, buf, len);
    if ((rv = tidal__pncounter_read(&tmp, &r)) != 0) {
        return rv;
    }
    if ((rv = tidal__rd_end(&r)) != 0) {
        tidal_pncounter_fini(&tmp);
        return rv;
    }
    tmp.tag = c->tag;
    tidal_pncounter_fini(c);
    *c = tmp;
    return 0;
}
