/*
 * The merge of another replica's copy of a session entry (session.h,
 * tidal_sessions_entry_merge): the entry is decoded whole and checked
 * (session_codec.c) before anything changes, then merged by the CRDT rules
 * of each field and the union of the signals by seqno, so that entries and
 * their parts (session_parts.c) merged in any order, any number of times,
 * give one state.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/pncounter.h"
#include "store/session.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

/* Signals in the union by seqno of two sorted vectors. */
static size_t
union_count(const tidal_session_signal *a, size_t na, const tidal_session_signal *b, size_t nb)
{
    size_t i = 0, j = 0, n = 0;

    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i].seqno < b[j].seqno)) {
            i++;
        } else if (i == na || b[j].seqno < a[i].seqno) {
            j++;
        } else {
            i++;
            j++;
        }
        n++;
    }
    return n;
}

/* Writes the union into out (which may be a itself when b adds no seqno);
 * under one seqno the greater signal wins. */
static void
union_fill(const tidal_sigtypes *types, tidal_session_signal *out, const tidal_session_signal *a,
           size_t na, const tidal_session_signal *b, size_t nb)
{
    size_t i = 0, j = 0, n = 0;

    while (i < na || j < nb) {
        if (j == nb || (i < na && a[i].seqno < b[j].seqno)) {
            out[n++] = a[i++];
        } else if (i == na || b[j].seqno < a[i].seqno) {
            out[n++] = b[j++];
        } else {
            out[n++] = tidal__sess_signal_compare(types, &b[j], &a[i]) > 0 ? b[j] : a[i];
            i++;
            j++;
        }
    }
}

/* Merges the decoded copy r into the local slot s.  TIDAL_EEXIST,
 * TIDAL_ELIMIT, TIDAL_ENOMEM with s unchanged. */
static int
merge_slot(const tidal_sigtypes *types, tidal__sess_slot *s, const tidal__sess_slot *r)
{
    size_t n = union_count(s->sig, s->nsig, r->sig, r->nsig);

    if (s->user != r->user) {
        return TIDAL_EEXIST;
    }
    if (n > TIDAL_SESSION_SIGNALS_MAX) {
        return TIDAL_ELIMIT;
    }
    if (n != s->nsig) {
        tidal_session_signal *v = tidal__malloc(n * sizeof(*v));
        if (v == NULL) {
            return TIDAL_ENOMEM;
        }
        union_fill(types, v, s->sig, s->nsig, r->sig, r->nsig);
        tidal__free(s->sig);
        s->sig = v;
        s->nsig = s->cap = (uint32_t)n;
    } else {
        /* Every remote seqno is held already: only conflicts can change. */
        union_fill(types, s->sig, s->sig, s->nsig, r->sig, r->nsig);
    }
    if (tidal_hlc_compare(&r->started, &s->started) < 0) {
        s->started = r->started;
    }
    (void)tidal__sess_merge_home(s, r->home, r->handover_seqno, &r->home_stamp);
    if (r->ended) {
        tidal__sess_merge_end(s, &r->ended_stamp);
    }
    if (s->next_seqno < r->next_seqno) {
        s->next_seqno = r->next_seqno;
    }
    return 0;
}

int
tidal_sessions_entry_merge(tidal_sessions *t, const uint8_t *buf, size_t len, tidal_session_id *id)
{
    tidal__sess_slot r;
    tidal__sess_slot *s;
    bool created;
    int rv;

    if ((rv = tidal__sess_entry_read(t->types, buf, len, &r)) != 0) {
        return rv;
    }
    if (tidal_hmap_find(&t->tombs, &r.id) != NULL) {
        tidal__free(r.sig);
        return TIDAL_ESTATE; /* freed: a merge never brings it back */
    }
    s = tidal_hmap_find(&t->map, &r.id);
    if (s != NULL) {
        rv = merge_slot(t->types, s, &r);
        tidal__free(r.sig);
    } else if ((rv = tidal__sess_users_reserve(t, r.user)) != 0) {
        tidal__free(r.sig);
    } else if ((rv = tidal_hmap_upsert(&t->map, &r.id, (void **)&s, &created)) != 0) {
        tidal__sess_users_unreserve(t, r.user);
        tidal__free(r.sig);
    } else {
        /* The new slot takes the decoded vector. */
        tidal__sess_users_add(t, r.user, &r.id);
        *s = r;
    }
    if (rv == 0 && id != NULL) {
        *id = r.id;
    }
    return rv;
}
