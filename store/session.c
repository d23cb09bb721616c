/*
 * The session table (session.h): operations on one session at a time.  The
 * reconciliation codec is in session_codec.c; the layout in
 * session_internal.h.
 */
#include "store/session.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

/* Signals a vector starts with. */
#define SESS_SIGNALS_CAP_MIN 4u

int
tidal_sessions_open(tidal_sigtypes *types, tidal_sessions **out)
{
    tidal_sessions *t = tidal__malloc(sizeof(*t));

    if (t == NULL) {
        return TIDAL_ENOMEM;
    }
    tidal_hmap_init(&t->map, sizeof(tidal__sess_slot), sizeof(tidal_session_id));
    tidal_hmap_init(&t->tombs, sizeof(tidal__sess_tomb), sizeof(tidal_session_id));
    tidal_hmap_init(&t->users, sizeof(tidal__sess_user), sizeof(uint64_t));
    t->types = types;
    *out = t;
    return 0;
}

void
tidal_sessions_close(tidal_sessions *t)
{
    tidal__sess_slot *s;
    size_t cursor = 0;

    if (t == NULL) {
        return;
    }
    while ((s = tidal_hmap_next(&t->map, &cursor)) != NULL) {
        tidal__free(s->sig);
    }
    tidal_hmap_fini(&t->map);
    tidal_hmap_fini(&t->tombs);
    tidal__sess_users_fini(t);
    tidal__free(t);
}

static bool
id_valid(const tidal_session_id *id)
{
    return id->hi != 0 || id->lo != 0;
}

static tidal__sess_slot *
find(const tidal_sessions *t, const tidal_session_id *id)
{
    return tidal_hmap_find(&t->map, id);
}

int
tidal_sessions_start(tidal_sessions *t, const tidal_session_id *id, tidal_entity_id user,
                     tidal_region_id home, const tidal_hlc *stamp)
{
    tidal__sess_slot *s;
    bool created;
    int rv;

    if (!id_valid(id) || home >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    if (tidal_hmap_find(&t->tombs, id) != NULL) {
        return TIDAL_ESTATE; /* freed: a start never brings it back */
    }
    if ((s = find(t, id)) != NULL) {
        int c = tidal_hlc_compare(stamp, &s->started);
        if (c < 0 || (c == 0 && user < s->user)) {
            if (user != s->user) {
                /* the index moves first: the only step that can fail */
                if ((rv = tidal__sess_users_reserve(t, user)) != 0) {
                    return rv;
                }
                tidal__sess_users_drop(t, s->user, id);
                tidal__sess_users_add(t, user, id);
            }
            s->user = user;
            s->started = *stamp;
        }
        (void)tidal__sess_merge_home(s, home, 1, stamp); /* a start's handover seqno */
        return 0;
    }
    if ((rv = tidal__sess_users_reserve(t, user)) != 0) {
        return rv;
    }
    if ((rv = tidal_hmap_upsert(&t->map, id, (void **)&s, &created)) != 0) {
        tidal__sess_users_unreserve(t, user);
        return rv;
    }
    tidal__sess_users_add(t, user, id);
    s->user = user;
    s->home = home;
    s->started = *stamp;
    s->home_stamp = *stamp;
    s->handover_seqno = 1;
    s->next_seqno = 1;
    return 0;
}

int
tidal_sessions_get(const tidal_sessions *t, const tidal_session_id *id, tidal_session_state *out)
{
    const tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    memset(out, 0, sizeof(*out));
    out->user = s->user;
    out->home = s->home;
    out->home_stamp = s->home_stamp;
    out->handover_seqno = s->handover_seqno;
    out->started = s->started;
    out->ended = s->ended != 0;
    out->ended_stamp = s->ended_stamp;
    out->next_seqno = s->next_seqno;
    out->signals = s->nsig;
    return 0;
}

int
tidal_sessions_assign_seqno(tidal_sessions *t, const tidal_session_id *id, uint64_t *seqno)
{
    tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    if (s->next_seqno == UINT64_MAX) {
        return TIDAL_ELIMIT;
    }
    *seqno = s->next_seqno++;
    return 0;
}

int
tidal_sessions_unassign_seqno(tidal_sessions *t, const tidal_session_id *id, uint64_t seqno)
{
    tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    if (seqno == UINT64_MAX || s->next_seqno != seqno + 1) {
        return TIDAL_ESTATE;
    }
    s->next_seqno = seqno;
    return 0;
}

bool
tidal__sess_signal_valid(const tidal_sigtypes *types, const tidal_session_signal *sig)
{
    return sig->seqno != 0 && isfinite(sig->weight) && sig->origin < TIDAL_REGIONS_MAX &&
           tidal_sigtypes_name(types, sig->type) != NULL;
}

/* Index of the first signal with seqno >= seqno. */
static size_t
lower_bound(const tidal__sess_slot *s, uint64_t seqno)
{
    size_t lo = 0, hi = s->nsig;

    if (hi > 0 && s->sig[hi - 1].seqno < seqno) {
        return hi;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->sig[mid].seqno < seqno) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
tidal_sessions_add_signal(tidal_sessions *t, const tidal_session_id *id,
                          const tidal_session_signal *sig)
{
    tidal__sess_slot *s = find(t, id);
    size_t i;

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    if (!tidal__sess_signal_valid(t->types, sig)) {
        return TIDAL_EINVAL;
    }
    i = lower_bound(s, sig->seqno);
    if (i < s->nsig && s->sig[i].seqno == sig->seqno) {
        return TIDAL_EEXIST;
    }
    if (s->nsig == TIDAL_SESSION_SIGNALS_MAX || sig->seqno == UINT64_MAX) {
        return TIDAL_ELIMIT;
    }
    if (s->nsig == s->cap) {
        /* 4, 8, 12, 18, 27...: by half again past 8, because a passive
         * session keeps its slack for as long as it lives. */
        uint32_t cap =
            s->cap == 0 ? SESS_SIGNALS_CAP_MIN : (s->cap < 8 ? s->cap * 2 : s->cap + s->cap / 2);
        tidal_session_signal *v;
        cap = cap > TIDAL_SESSION_SIGNALS_MAX ? TIDAL_SESSION_SIGNALS_MAX : cap;
        v = tidal__realloc(s->sig, cap * sizeof(*v));
        if (v == NULL) {
            return TIDAL_ENOMEM;
        }
        s->sig = v;
        s->cap = cap;
    }
    memmove(&s->sig[i + 1], &s->sig[i], (s->nsig - i) * sizeof(*s->sig));
    s->sig[i] = *sig;
    s->nsig++;
    if (s->next_seqno <= sig->seqno) {
        s->next_seqno = sig->seqno + 1;
    }
    return 0;
}

int
tidal_sessions_signals(const tidal_sessions *t, const tidal_session_id *id,
                       const tidal_session_signal **sigs, size_t *n)
{
    const tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    *sigs = s->sig;
    *n = s->nsig;
    return 0;
}

void
tidal__sess_merge_end(tidal__sess_slot *s, const tidal_hlc *stamp)
{
    if (!s->ended || tidal_hlc_compare(stamp, &s->ended_stamp) < 0) {
        s->ended_stamp = *stamp;
    }
    s->ended = 1;
}

int
tidal_sessions_end(tidal_sessions *t, const tidal_session_id *id, const tidal_hlc *stamp)
{
    tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__sess_merge_end(s, stamp);
    return 0;
}

bool
tidal__sess_merge_home(tidal__sess_slot *s, tidal_region_id region, uint64_t handover,
                       const tidal_hlc *stamp)
{
    int c = tidal_hlc_compare(stamp, &s->home_stamp);

    if (c == 0) {
        /* Identical stamps: a deterministic tie-break keeps replicas equal. */
        c = region != s->home ? (region > s->home ? 1 : -1)
                              : (handover > s->handover_seqno) - (handover < s->handover_seqno);
    }
    if (c <= 0) {
        return false;
    }
    s->home = region;
    s->handover_seqno = handover;
    s->home_stamp = *stamp;
    if (s->next_seqno < handover) {
        s->next_seqno = handover;
    }
    return true;
}

int
tidal_sessions_set_home(tidal_sessions *t, const tidal_session_id *id, tidal_region_id region,
                        uint64_t handover_seqno, const tidal_hlc *stamp, bool *applied)
{
    tidal__sess_slot *s = find(t, id);
    bool won;

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    if (region >= TIDAL_REGIONS_MAX || handover_seqno == 0) {
        return TIDAL_EINVAL;
    }
    won = tidal__sess_merge_home(s, region, handover_seqno, stamp);
    if (applied != NULL) {
        *applied = won;
    }
    return 0;
}

int
tidal_sessions_remove(tidal_sessions *t, const tidal_session_id *id)
{
    tidal__sess_slot *s = find(t, id);

    if (s == NULL) {
        return TIDAL_ENOENT;
    }
    tidal__sess_users_drop(t, s->user, id);
    tidal__free(s->sig);
    tidal_hmap_remove_entry(&t->map, s);
    return 0;
}

size_t
tidal_sessions_count(const tidal_sessions *t)
{
    return tidal_hmap_count(&t->map);
}

size_t
tidal_sessions_memory_bytes(const tidal_sessions *t)
{
    const tidal__sess_slot *s;
    size_t cursor = 0;
    size_t bytes = sizeof(*t) + tidal_hmap_memory_bytes(&t->map) +
                   tidal__sess_users_memory_bytes(t);

    while ((s = tidal_hmap_next(&t->map, &cursor)) != NULL) {
        bytes += (size_t)s->cap * sizeof(tidal_session_signal);
    }
    return bytes;
}

bool
tidal_sessions_next(const tidal_sessions *t, size_t *cursor, tidal_session_id *id)
{
    const tidal__sess_slot *s = tidal_hmap_next(&t->map, cursor);

    if (s == NULL) {
        return false;
    }
    *id = s->id;
    return true;
}

int
tidal__sess_signal_compare(const tidal_sigtypes *types, const tidal_session_signal *a,
                           const tidal_session_signal *b)
{
    uint32_t wa, wb;
    const char *na, *nb;

    if (a->item != b->item) {
        return a->item < b->item ? -1 : 1;
    }
    if (a->ts_ns != b->ts_ns) {
        return a->ts_ns < b->ts_ns ? -1 : 1;
    }
    memcpy(&wa, &a->weight, sizeof(wa));
    memcpy(&wb, &b->weight, sizeof(wb));
    if (wa != wb) {
        return wa < wb ? -1 : 1;
    }
    if (a->origin != b->origin) {
        return a->origin < b->origin ? -1 : 1;
    }
    na = tidal_sigtypes_name(types, a->type);
    nb = tidal_sigtypes_name(types, b->type);
    int c = strcmp(na != NULL ? na : "", nb != NULL ? nb : "");
    /* last, so that of two copies of one signal, the stamped one wins */
    return c != 0 ? c : tidal_hlc_compare(&a->stamp, &b->stamp);
}
