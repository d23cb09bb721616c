/*
 * The user index of the session table (session.h, "Sessions of a user";
 * layout in session_internal.h): for each user, the ids of the sessions
 * held, so that listing a user's sessions costs the user's sessions, not
 * the table's.
 *
 * Kept by every operation that makes, frees or re-assigns a slot: start (a
 * new session, or a merged start that names another user), the entry merge
 * that makes a session, remove and retire.  An entry's ids are in no order
 * (a freed id is swapped with the last); the listing sorts a copy.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/assert.h"
#include "store/session.h"
#include "store/session_internal.h"
#include "tidal/errors.h"

/* Ids an entry starts with: most users have a session or two. */
#define USER_IDS_CAP_MIN 2u

int
tidal__sess_users_reserve(tidal_sessions *t, uint64_t user)
{
    tidal__sess_user *u;
    bool created;
    int rv = tidal_hmap_upsert(&t->users, &user, (void **)&u, &created);

    if (rv != 0) {
        return rv;
    }
    if (u->n < u->cap) {
        return 0;
    }
    if (u->cap == UINT32_MAX) {
        return TIDAL_ELIMIT; /* not created: an entry this full has ids */
    }
    uint32_t cap = u->cap < USER_IDS_CAP_MIN ? USER_IDS_CAP_MIN
                   : u->cap > UINT32_MAX / 2 ? UINT32_MAX
                                             : u->cap * 2;
    tidal_session_id *ids = tidal__realloc(u->ids, (size_t)cap * sizeof(*ids));
    if (ids == NULL) {
        if (created) {
            tidal_hmap_remove_entry(&t->users, u);
        }
        return TIDAL_ENOMEM;
    }
    u->ids = ids;
    u->cap = cap;
    return 0;
}

void
tidal__sess_users_unreserve(tidal_sessions *t, uint64_t user)
{
    tidal__sess_user *u = tidal_hmap_find(&t->users, &user);

    if (u != NULL && u->n == 0) {
        tidal__free(u->ids);
        tidal_hmap_remove_entry(&t->users, u);
    }
}

void
tidal__sess_users_add(tidal_sessions *t, uint64_t user, const tidal_session_id *id)
{
    tidal__sess_user *u = tidal_hmap_find(&t->users, &user);

    TIDAL_ASSERT(u != NULL);
    TIDAL_ASSERT(u->n < u->cap);
    u->ids[u->n++] = *id;
}

void
tidal__sess_users_drop(tidal_sessions *t, uint64_t user, const tidal_session_id *id)
{
    tidal__sess_user *u = tidal_hmap_find(&t->users, &user);

    TIDAL_ASSERT(u != NULL);
    for (uint32_t i = 0; i < u->n; i++) {
        if (u->ids[i].hi == id->hi && u->ids[i].lo == id->lo) {
            u->ids[i] = u->ids[--u->n];
            if (u->n == 0) {
                tidal__free(u->ids);
                tidal_hmap_remove_entry(&t->users, u);
            }
            return;
        }
    }
    TIDAL_ASSERT(!"a held session is in its user's entry");
}

void
tidal__sess_users_fini(tidal_sessions *t)
{
    tidal__sess_user *u;
    size_t cursor = 0;

    while ((u = tidal_hmap_next(&t->users, &cursor)) != NULL) {
        tidal__free(u->ids);
    }
    tidal_hmap_fini(&t->users);
}

size_t
tidal__sess_users_memory_bytes(const tidal_sessions *t)
{
    const tidal__sess_user *u;
    size_t cursor = 0;
    size_t bytes = tidal_hmap_memory_bytes(&t->users);

    while ((u = tidal_hmap_next(&t->users, &cursor)) != NULL) {
        bytes += (size_t)u->cap * sizeof(tidal_session_id);
    }
    return bytes;
}

/* A session of the listing with its sort key. */
typedef struct listed {
    tidal_hlc started;
    tidal_session_id id;
} listed;

static int
by_start(const void *a, const void *b)
{
    const listed *x = a, *y = b;
    int c = tidal_hlc_compare(&x->started, &y->started);

    return c != 0 ? c : tidal_session_id_compare(&x->id, &y->id);
}

int
tidal_sessions_of_user(const tidal_sessions *t, tidal_entity_id user, uint64_t cutoff_ns,
                       tidal_session_id *out, size_t max, size_t *n)
{
    const tidal__sess_user *u = tidal_hmap_find(&t->users, &user);
    listed *v;
    size_t kept = 0;

    if (u == NULL) {
        *n = 0;
        return 0;
    }
    if ((v = tidal__malloc((size_t)u->n * sizeof(*v))) == NULL) {
        return TIDAL_ENOMEM;
    }
    for (uint32_t i = 0; i < u->n; i++) {
        const tidal__sess_slot *s = tidal_hmap_find(&t->map, &u->ids[i]);
        TIDAL_ASSERT(s != NULL);
        if (!(s->ended && s->ended_stamp.wall_ns < cutoff_ns)) {
            v[kept++] = (listed){s->started, s->id};
        }
    }
    qsort(v, kept, sizeof(*v), by_start);
    for (size_t i = 0; i < kept && i < max; i++) {
        out[i] = v[i].id;
    }
    tidal__free(v);
    *n = kept;
    return 0;
}
