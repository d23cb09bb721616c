/*
 * The hard-negative set (hardneg.h): a hash map from (user, item) to two
 * packed stamps.  A slot is 48 bytes (the two tidal_hlc structs would take
 * 32 with their padding, plus flags): the set is the largest replicated
 * table per user, so the layout is worth a few lines of packing.
 */
#include "store/hardneg.h"

#include <string.h>

#include "base/alloc.h"
#include "store/bytes.h"
#include "store/hmap.h"
#include "tidal/errors.h"

#define HN_HASH_SEED 0x486172644e656773ull /* "HardNegs" */
#define HN_HIDE 0x01u
#define HN_UNHIDE 0x02u

typedef struct hn_key {
    uint64_t user;
    uint64_t item;
} hn_key;

typedef struct hn_slot {
    hn_key key;
    uint64_t hide_wall;
    uint64_t unhide_wall;
    uint32_t hide_logical;
    uint32_t unhide_logical;
    uint16_t hide_node;
    uint16_t unhide_node;
    uint8_t flags; /* HN_HIDE, HN_UNHIDE */
} hn_slot;

struct tidal_hardneg {
    tidal_hmap map; /* hn_key -> hn_slot */
};

int
tidal_hardneg_open(tidal_hardneg **out)
{
    tidal_hardneg *h = tidal__malloc(sizeof(*h));

    if (h == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&h->map, sizeof(hn_slot), sizeof(hn_key));
    *out = h;
    return 0;
}

void
tidal_hardneg_close(tidal_hardneg *h)
{
    if (h == NULL) {
        return;
    }
    tidal_hmap_fini(&h->map);
    tidal__free(h);
}

static void
slot_to_entry(const hn_slot *s, tidal_hardneg_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->user = s->key.user;
    e->item = s->key.item;
    e->has_hide = (s->flags & HN_HIDE) != 0;
    e->has_unhide = (s->flags & HN_UNHIDE) != 0;
    if (e->has_hide) {
        e->hide.wall_ns = s->hide_wall;
        e->hide.logical = s->hide_logical;
        e->hide.node_id = s->hide_node;
    }
    if (e->has_unhide) {
        e->unhide.wall_ns = s->unhide_wall;
        e->unhide.logical = s->unhide_logical;
        e->unhide.node_id = s->unhide_node;
    }
}

/* Raises the slot's hide (or unhide) to ts if ts is greater by the full
 * triple, or if the field was empty. */
static void
raise_field(hn_slot *s, bool unhide, const tidal_hlc *ts)
{
    tidal_hardneg_entry cur;
    const tidal_hlc *old;

    slot_to_entry(s, &cur);
    old = unhide ? &cur.unhide : &cur.hide;
    if ((s->flags & (unhide ? HN_UNHIDE : HN_HIDE)) != 0 && tidal_hlc_compare(ts, old) <= 0) {
        return;
    }
    if (unhide) {
        s->unhide_wall = ts->wall_ns;
        s->unhide_logical = ts->logical;
        s->unhide_node = ts->node_id;
        s->flags |= HN_UNHIDE;
    } else {
        s->hide_wall = ts->wall_ns;
        s->hide_logical = ts->logical;
        s->hide_node = ts->node_id;
        s->flags |= HN_HIDE;
    }
}

static int
record(tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item, bool unhide,
       const tidal_hlc *ts)
{
    hn_key key = {.user = user, .item = item};
    bool created;
    void *e;
    int rv;

    if ((rv = tidal_hmap_upsert(&h->map, &key, &e, &created)) != 0) {
        return rv;
    }
    raise_field(e, unhide, ts);
    return 0;
}

int
tidal_hardneg_hide(tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                   const tidal_hlc *ts)
{
    return record(h, user, item, false, ts);
}

int
tidal_hardneg_unhide(tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                     const tidal_hlc *ts)
{
    return record(h, user, item, true, ts);
}

bool
tidal_hardneg_entry_hidden(const tidal_hardneg_entry *e)
{
    if (!e->has_hide) {
        return false;
    }
    if (!e->has_unhide) {
        return true;
    }
    /* (wall, logical) only: an unhide must be strictly later to win. */
    if (e->unhide.wall_ns != e->hide.wall_ns) {
        return e->unhide.wall_ns < e->hide.wall_ns;
    }
    return e->unhide.logical <= e->hide.logical;
}

bool
tidal_hardneg_get(const tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item,
                  tidal_hardneg_entry *out)
{
    hn_key key = {.user = user, .item = item};
    const hn_slot *s = tidal_hmap_find(&h->map, &key);

    if (s == NULL) {
        return false;
    }
    slot_to_entry(s, out);
    return true;
}

bool
tidal_hardneg_hidden(const tidal_hardneg *h, tidal_entity_id user, tidal_entity_id item)
{
    tidal_hardneg_entry e;

    return tidal_hardneg_get(h, user, item, &e) && tidal_hardneg_entry_hidden(&e);
}

size_t
tidal_hardneg_count(const tidal_hardneg *h)
{
    return tidal_hmap_count(&h->map);
}

size_t
tidal_hardneg_memory_bytes(const tidal_hardneg *h)
{
    return sizeof(*h) + tidal_hmap_memory_bytes(&h->map);
}

bool
tidal_hardneg_next(const tidal_hardneg *h, size_t *cursor, tidal_hardneg_entry *out)
{
    const hn_slot *s = tidal_hmap_next(&h->map, cursor);

    if (s == NULL) {
        return false;
    }
    slot_to_entry(s, out);
    return true;
}

int
tidal_hardneg_entry_merge(tidal_hardneg *h, const tidal_hardneg_entry *e)
{
    hn_key key = {.user = e->user, .item = e->item};
    bool created;
    void *s;
    int rv;

    if (!e->has_hide && !e->has_unhide) {
        return TIDAL_EINVAL;
    }
    if ((rv = tidal_hmap_upsert(&h->map, &key, &s, &created)) != 0) {
        return rv;
    }
    if (e->has_hide) {
        raise_field(s, false, &e->hide);
    }
    if (e->has_unhide) {
        raise_field(s, true, &e->unhide);
    }
    return 0;
}

static void
entry_write(const tidal_hardneg_entry *e, tidal__wr *w)
{
    tidal__wr_u8(w, TIDAL_HARDNEG_ENTRY_VERSION);
    tidal__wr_u64(w, e->user);
    tidal__wr_u64(w, e->item);
    tidal__wr_u8(w, (uint8_t)((e->has_hide ? HN_HIDE : 0) | (e->has_unhide ? HN_UNHIDE : 0)));
    if (e->has_hide) {
        tidal__wr_hlc(w, &e->hide);
    }
    if (e->has_unhide) {
        tidal__wr_hlc(w, &e->unhide);
    }
}

uint64_t
tidal_hardneg_entry_hash(const tidal_hardneg_entry *e)
{
    tidal_hasher h;
    tidal__wr w;

    tidal_hasher_init(&h, HN_HASH_SEED);
    tidal__wr_init(&w, NULL, 0, &h);
    entry_write(e, &w);
    return tidal_hasher_final(&h);
}

uint64_t
tidal_hardneg_digest(const tidal_hardneg *h)
{
    tidal_hardneg_entry e;
    size_t cursor = 0;
    uint64_t sum = 0;

    while (tidal_hardneg_next(h, &cursor, &e)) {
        sum += tidal_hardneg_entry_hash(&e);
    }
    return sum;
}

int
tidal_hardneg_entry_encode(const tidal_hardneg_entry *e, uint8_t *buf, size_t cap, size_t *len)
{
    tidal__wr w;

    if (!e->has_hide && !e->has_unhide) {
        return TIDAL_EINVAL;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    entry_write(e, &w);
    return tidal__wr_finish(&w, len);
}

int
tidal_hardneg_entry_decode(const uint8_t *buf, size_t len, tidal_hardneg_entry *e)
{
    tidal_hardneg_entry tmp;
    uint8_t version, flags;
    tidal__rd r;
    int rv;

    memset(&tmp, 0, sizeof(tmp));
    tidal__rd_init(&r, buf, len);
    if ((rv = tidal__rd_u8(&r, &version)) != 0) {
        return rv;
    }
    if (version != TIDAL_HARDNEG_ENTRY_VERSION) {
        return TIDAL_EVERSION;
    }
    if ((rv = tidal__rd_u64(&r, &tmp.user)) != 0 || (rv = tidal__rd_u64(&r, &tmp.item)) != 0 ||
        (rv = tidal__rd_u8(&r, &flags)) != 0) {
        return rv;
    }
    if ((flags & ~(HN_HIDE | HN_UNHIDE)) != 0 || flags == 0) {
        return TIDAL_ECORRUPT;
    }
    tmp.has_hide = (flags & HN_HIDE) != 0;
    tmp.has_unhide = (flags & HN_UNHIDE) != 0;
    if (tmp.has_hide && (rv = tidal__rd_hlc(&r, &tmp.hide)) != 0) {
        return rv;
    }
    if (tmp.has_unhide && (rv = tidal__rd_hlc(&r, &tmp.unhide)) != 0) {
        return rv;
    }
    if ((rv = tidal__rd_end(&r)) != 0) {
        return rv;
    }
    *e = tmp;
    return 0;
}
