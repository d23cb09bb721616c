/*
 * Idempotency keys (idem.h): a hash map from key to result, and a ring of
 * (key, time) in put order, oldest at head.  Each remembered key is in both;
 * expiry and eviction pop the ring's head and remove its key from the map.
 * Both grow by doubling up to keys_max and are not shrunk.
 */
#include "store/idem.h"

#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/hmap.h"
#include "tidal/errors.h"

typedef struct idem_slot {
    tidal_idem_key key; /* map key */
    uint64_t value;
    int code;
} idem_slot;

typedef struct idem_ring_entry {
    tidal_idem_key key;
    uint64_t t_ns; /* when put, never less than the entry before it */
} idem_ring_entry;

struct tidal_idem {
    tidal_hmap map;        /* idem_slot by key */
    idem_ring_entry *ring; /* cap entries; count from head, wrapping */
    size_t cap;
    size_t head;
    size_t count;
    size_t keys_max;
    uint64_t retention_ns;
};

int
tidal_idem_open(const tidal_idem_opts *opts, tidal_idem **out)
{
    tidal_idem_opts o = {0};
    tidal_idem *m;

    if (opts != NULL) {
        o = *opts;
    }
    if (o.keys_max > TIDAL_IDEM_KEYS_MAX) {
        return TIDAL_EINVAL;
    }
    m = tidal__calloc(1, sizeof(*m));
    if (m == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&m->map, sizeof(idem_slot), sizeof(tidal_idem_key));
    m->keys_max = o.keys_max != 0 ? o.keys_max : TIDAL_IDEM_KEYS_DEFAULT;
    m->retention_ns = o.retention_ns != 0 ? o.retention_ns : TIDAL_IDEM_RETENTION_NS_DEFAULT;
    *out = m;
    return 0;
}

void
tidal_idem_close(tidal_idem *m)
{
    if (m == NULL) {
        return;
    }
    tidal_hmap_fini(&m->map);
    tidal__free(m->ring);
    tidal__free(m);
}

/* Forgets the oldest key. */
static void
pop_oldest(tidal_idem *m)
{
    bool removed = tidal_hmap_remove(&m->map, &m->ring[m->head].key);

    TIDAL_ASSERT(removed);
    m->head = (m->head + 1) % m->cap;
    m->count--;
}

void
tidal_idem_expire(tidal_idem *m, uint64_t now_ns)
{
    while (m->count > 0) {
        uint64_t t = m->ring[m->head].t_ns;
        if (now_ns < t || now_ns - t < m->retention_ns) {
            break;
        }
        pop_oldest(m);
    }
}

bool
tidal_idem_check(tidal_idem *m, const tidal_idem_key *key, uint64_t now_ns, tidal_idem_result *out)
{
    const idem_slot *s;

    tidal_idem_expire(m, now_ns);
    if ((s = tidal_hmap_find(&m->map, key)) == NULL) {
        return false;
    }
    out->code = s->code;
    out->value = s->value;
    return true;
}

/* Doubles the ring (up to keys_max), unwrapping it.  TIDAL_ENOMEM: unchanged. */
static int
ring_grow(tidal_idem *m)
{
    size_t cap = m->cap == 0 ? 64 : m->cap * 2;
    idem_ring_entry *r;

    cap = cap > m->keys_max ? m->keys_max : cap;
    r = tidal__malloc(cap * sizeof(*r));
    if (r == NULL) {
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < m->count; i++) {
        r[i] = m->ring[(m->head + i) % m->cap];
    }
    tidal__free(m->ring);
    m->ring = r;
    m->cap = cap;
    m->head = 0;
    return 0;
}

int
tidal_idem_put(tidal_idem *m, const tidal_idem_key *key, const tidal_idem_result *result,
               uint64_t now_ns)
{
    idem_ring_entry *e;
    idem_slot *s;
    bool created;
    uint64_t t = now_ns;
    int rv;

    tidal_idem_expire(m, now_ns);
    if (tidal_hmap_find(&m->map, key) != NULL) {
        return TIDAL_EEXIST;
    }
    if (m->count < m->keys_max) {
        /* Room in both first: a failure then forgets nothing live. */
        if (m->count == m->cap && (rv = ring_grow(m)) != 0) {
            return rv;
        }
        if ((rv = tidal_hmap_reserve(&m->map, m->count + 1)) != 0) {
            return rv;
        }
    } else {
        /* Full: the ring is at keys_max and the map holds keys_max, so after
         * the eviction neither needs to grow. */
        pop_oldest(m);
    }
    rv = tidal_hmap_upsert(&m->map, key, (void **)&s, &created);
    TIDAL_ASSERT(rv == 0);
    s->code = result->code;
    s->value = result->value;
    if (m->count > 0) {
        uint64_t newest = m->ring[(m->head + m->count - 1) % m->cap].t_ns;
        t = t < newest ? newest : t;
    }
    e = &m->ring[(m->head + m->count) % m->cap];
    e->key = *key;
    e->t_ns = t;
    m->count++;
    return 0;
}

size_t
tidal_idem_count(const tidal_idem *m)
{
    return m->count;
}

size_t
tidal_idem_memory_bytes(const tidal_idem *m)
{
    return sizeof(*m) + m->cap * sizeof(idem_ring_entry) + tidal_hmap_memory_bytes(&m->map);
}
