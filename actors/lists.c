/*
 * Reads that list rather than look up (include/tidal/region.h): the
 * sessions of a user, every session in pages, and the top items of a
 * signal type by windowed count.
 * Each takes the state lock once, as the reads of read.c do.  A session
 * past the retention is gone to a reader from its expiry on, freed yet or
 * not (retention.c), so the listing leaves it out by the same cut-off as
 * tidal_get_session.
 */
#include <stdlib.h>

#include "actors/internal.h"
#include "store/signals_top.h"

int
tidal_user_sessions(tidal_region *r, tidal_entity_id user, tidal_session_id *out, size_t max,
                    size_t *n)
{
    if (r == NULL || n == NULL || (out == NULL && max > 0)) {
        return TIDAL_EINVAL;
    }
    uint64_t cutoff = tidal__retention_cutoff(r);
    size_t count = 0;
    pthread_mutex_lock(&r->state.lock);
    int rv = tidal_sessions_of_user(r->state.sessions, user, cutoff, out, max, &count);
    pthread_mutex_unlock(&r->state.lock);
    if (rv == 0) {
        *n = count;
    }
    return rv;
}

int
tidal_region_sessions(tidal_region *r, const tidal_session_id *after, tidal_session_id *out,
                      size_t max, size_t *n)
{
    if (r == NULL || n == NULL || (out == NULL && max > 0)) {
        return TIDAL_EINVAL;
    }
    uint64_t cutoff = tidal__retention_cutoff(r);
    size_t count = 0;
    pthread_mutex_lock(&r->state.lock);
    tidal_sessions_page(r->state.sessions, after, cutoff, out, max, &count);
    pthread_mutex_unlock(&r->state.lock);
    *n = count;
    return 0;
}

int
tidal_top_items(tidal_region *r, const char *type, tidal_window w, size_t k,
                tidal_scored_item *out, size_t *n)
{
    if (r == NULL || type == NULL || n == NULL || (out == NULL && k > 0) ||
        w < TIDAL_WINDOW_1H || w > TIDAL_WINDOW_7D) {
        return TIDAL_EINVAL;
    }
    uint64_t now = tidal_wall_ns(r->rt);
    tidal_signals_ranked *top = NULL;
    size_t got = 0;
    uint16_t id;
    int rv = 0;
    pthread_mutex_lock(&r->state.lock);
    /* no more room than there are slots: k may be a caller's "all" */
    size_t room = k < tidal_signals_entries(r->state.signals) ? k
                                                               : tidal_signals_entries(r->state.signals);
    if (room > 0 && tidal_sigtypes_find(r->state.types, type, &id) == 0) {
        top = malloc(room * sizeof(*top));
        rv = top == NULL ? TIDAL_ENOMEM
                         : tidal_signals_top(r->state.signals, id,
                                             (tidal_sigwindow)(w - TIDAL_WINDOW_1H), now, room,
                                             top, &got);
    }
    pthread_mutex_unlock(&r->state.lock);
    for (size_t i = 0; rv == 0 && i < got; i++) {
        out[i] = (tidal_scored_item){.item = top[i].item, .score = (double)top[i].count};
    }
    free(top);
    if (rv == 0) {
        *n = got;
    }
    return rv;
}
