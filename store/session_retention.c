/*
 * Retention of ended sessions (session.h, "Retention"): which sessions are
 * expired at a cut-off, freeing them for a tombstone, the sweeps of both
 * tables in slices, and the tombstone's encoding for reconciliation.
 *
 * The rule lives in the caller (actors/retention.c: the cut-off is its wall
 * clock less its retention); this file only applies it, so that the table's
 * invariant - a session and a tombstone of one id are never held together -
 * is kept in one place.
 */
#include <string.h>

#include "base/alloc.h"
#include "store/bytes.h"
#include "store/session.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

static bool
slot_expired(const tidal__sess_slot *s, uint64_t cutoff_ns)
{
    return s->ended && s->ended_stamp.wall_ns < cutoff_ns;
}

bool
tidal_sessions_expired(const tidal_sessions *t, const tidal_session_id *id, uint64_t cutoff_ns)
{
    const tidal__sess_slot *s = tidal_hmap_find(&t->map, id);

    return s != NULL && slot_expired(s, cutoff_ns);
}

/* Adds (or lowers) the tombstone of id.  TIDAL_ENOMEM: nothing changed. */
static int
tomb_put(tidal_sessions *t, const tidal_session_id *id, const tidal_hlc *ended)
{
    tidal__sess_tomb *b;
    bool created;
    int rv = tidal_hmap_upsert(&t->tombs, id, (void **)&b, &created);

    if (rv != 0) {
        return rv;
    }
    if (created || tidal_hlc_compare(ended, &b->ended) < 0) {
        b->ended = *ended;
    }
    return 0;
}

/* Frees slot s (found in the map) for a tombstone.  TIDAL_ENOMEM: nothing
 * changed.  Other slots may move. */
static int
retire_slot(tidal_sessions *t, tidal__sess_slot *s)
{
    tidal_session_id id = s->id;
    tidal_hlc ended = s->ended_stamp;
    /* the tombstone first: the slot stays if it cannot be had, and a tombs
     * insert never moves the slot (another map) */
    int rv = tomb_put(t, &id, &ended);

    if (rv != 0) {
        return rv;
    }
    tidal__sess_users_drop(t, s->user, &id);
    tidal__free(s->sig);
    tidal_hmap_remove_entry(&t->map, s);
    return 0;
}

int
tidal_sessions_retire(tidal_sessions *t, const tidal_session_id *id)
{
    tidal__sess_slot *s = tidal_hmap_find(&t->map, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    if (!s->ended) {
        return TIDAL_ESTATE;
    }
    return retire_slot(t, s);
}

int
tidal_sessions_bury(tidal_sessions *t, const tidal_session_id *id, const tidal_hlc *ended)
{
    if (id->hi == 0 && id->lo == 0) {
        return TIDAL_EINVAL;
    }
    if (tidal_hmap_find(&t->map, id) != NULL) {
        return TIDAL_EEXIST;
    }
    return tomb_put(t, id, ended);
}

bool
tidal_sessions_tomb(const tidal_sessions *t, const tidal_session_id *id, tidal_hlc *ended)
{
    const tidal__sess_tomb *b = tidal_hmap_find(&t->tombs, id);

    if (b != NULL && ended != NULL) {
        *ended = b->ended;
    }
    return b != NULL;
}

size_t
tidal_sessions_tombs(const tidal_sessions *t)
{
    return tidal_hmap_count(&t->tombs);
}

/* The cursor of tidal_hmap_next is the slot after the entry it returned: a
 * removal shifts the entries after the hole back into it, so the slot just
 * returned is looked at again (a shift from the start of the table round to
 * its end may show one twice: harmless, each step is idempotent). */
bool
tidal_sessions_sweep(tidal_sessions *t, uint64_t cutoff_ns, size_t *cursor, size_t budget,
                     void (*retired)(void *arg, const tidal_session_id *id), void *arg)
{
    tidal__sess_slot *s;

    for (size_t seen = 0; seen < budget; seen++) {
        if ((s = tidal_hmap_next(&t->map, cursor)) == NULL) {
            *cursor = 0;
            return true;
        }
        if (!slot_expired(s, cutoff_ns)) {
            continue;
        }
        tidal_session_id id = s->id;
        if (retire_slot(t, s) == 0) {
            (*cursor)--;
            if (retired != NULL) {
                retired(arg, &id);
            }
        }
    }
    return false;
}

bool
tidal_sessions_sweep_tombs(tidal_sessions *t, uint64_t cutoff_ns, size_t *cursor, size_t budget)
{
    tidal__sess_tomb *b;

    for (size_t seen = 0; seen < budget; seen++) {
        if ((b = tidal_hmap_next(&t->tombs, cursor)) == NULL) {
            *cursor = 0;
            return true;
        }
        if (b->ended.wall_ns < cutoff_ns) {
            tidal_hmap_remove_entry(&t->tombs, b);
            (*cursor)--;
        }
    }
    return false;
}

bool
tidal_sessions_next_tomb(const tidal_sessions *t, size_t *cursor, tidal_session_id *id)
{
    const tidal__sess_tomb *b = tidal_hmap_next(&t->tombs, cursor);

    if (b == NULL) {
        return false;
    }
    *id = b->id;
    return true;
}

int
tidal_sessions_entry_peek(const uint8_t *buf, size_t len, tidal_session_id *id, bool *ended,
                          tidal_hlc *end)
{
    tidal__sess_slot s;
    int rv = tidal__sess_read_header(buf, len, &s);

    if (rv != 0) {
        return rv;
    }
    *id = s.id;
    *ended = s.ended != 0;
    *end = s.ended_stamp;
    return 0;
}

int
tidal_sessions_tomb_encode(const tidal_sessions *t, const tidal_session_id *id, uint8_t *buf,
                           size_t cap, size_t *len)
{
    const tidal__sess_tomb *b = tidal_hmap_find(&t->tombs, id);
    const tidal__sess_slot *s = b == NULL ? tidal_hmap_find(&t->map, id) : NULL;
    tidal__wr w;

    if (b == NULL && (s == NULL || !s->ended)) {
        return TIDAL_ENOENT;
    }
    tidal__wr_init(&w, buf, cap, NULL);
    tidal__wr_u8(&w, TIDAL_SESSION_TOMB_VERSION);
    tidal__wr_u64(&w, id->hi);
    tidal__wr_u64(&w, id->lo);
    tidal__wr_hlc(&w, b != NULL ? &b->ended : &s->ended_stamp);
    return tidal__wr_finish(&w, len);
}

int
tidal_sessions_tomb_decode(const uint8_t *buf, size_t len, tidal_session_id *id, tidal_hlc *ended)
{
    tidal__rd r;
    uint8_t version;
    tidal_session_id got;
    tidal_hlc ts;
    int rv;

    tidal__rd_init(&r, buf, len);
    if ((rv = tidal__rd_u8(&r, &version)) != 0) {
        return rv;
    }
    if (version != TIDAL_SESSION_TOMB_VERSION) {
        return TIDAL_EVERSION;
    }
    if ((rv = tidal__rd_u64(&r, &got.hi)) != 0 || (rv = tidal__rd_u64(&r, &got.lo)) != 0 ||
        (rv = tidal__rd_hlc(&r, &ts)) != 0 || (rv = tidal__rd_end(&r)) != 0) {
        return rv;
    }
    if (got.hi == 0 && got.lo == 0) {
        return TIDAL_ECORRUPT;
    }
    *id = got;
    *ended = ts;
    return 0;
}
