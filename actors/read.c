/*
 * Reads from a region's state (include/tidal/region.h): sessions, their
 * signals, windowed counts and retrieval.  Each read takes the state lock
 * once and copies out.  Retrieve's scoring is documented in client.c.  A
 * session past the retention is gone to a reader from its expiry on, freed
 * yet or not (retention.c), so that every region answers alike.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "store/hlc.h"

int
tidal_get_session(tidal_region *r, tidal_session_id s, tidal_session_view *out)
{
    if (r == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    tidal_session_state info;
    pthread_mutex_lock(&r->state.lock);
    int rv = tidal_sessions_get(r->state.sessions, &s, &info);
    uint64_t hwm = tidal_hwm_get(r->state.hwm, &s);
    pthread_mutex_unlock(&r->state.lock);
    if (rv != 0 || tidal__retention_expired(r, &info)) {
        return TIDAL_ENOENT; /* unknown, or past the retention: freed or about to be */
    }
    *out = (tidal_session_view){.id = s, .user = info.user, .home = info.home,
                                .started = info.started, .ended = info.ended,
                                .last_seqno = hwm, .signals = (uint32_t)info.signals};
    return 0;
}

/* The index of the first of sigs[0, n) with a seqno of at least from
 * (sorted by seqno: store/session.h).  Cannot fail. */
static size_t
first_from(const tidal_session_signal *sigs, size_t n, tidal_seqno from)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sigs[mid].seqno < from) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int
tidal_session_signals_from(tidal_region *r, tidal_session_id s, tidal_seqno from,
                           tidal_signal_view *out, size_t max, size_t *n)
{
    if (r == NULL || n == NULL || (out == NULL && max > 0)) {
        return TIDAL_EINVAL;
    }
    const tidal_session_signal *sigs;
    tidal_session_state info;
    size_t count, first = 0;
    pthread_mutex_lock(&r->state.lock);
    int rv = tidal_sessions_get(r->state.sessions, &s, &info);
    if (rv == 0 && tidal__retention_expired(r, &info)) {
        rv = TIDAL_ENOENT; /* past the retention: freed or about to be */
    }
    rv = rv != 0 ? rv : tidal_sessions_signals(r->state.sessions, &s, &sigs, &count);
    if (rv == 0) {
        first = first_from(sigs, count, from);
    }
    for (size_t i = first; rv == 0 && i < count && i - first < max; i++) {
        const char *name = tidal_sigtypes_name(r->state.types, sigs[i].type);
        tidal_signal_view *v = &out[i - first];
        *v = (tidal_signal_view){.seqno = sigs[i].seqno, .item = sigs[i].item,
                                 .weight = sigs[i].weight, .ts_ns = sigs[i].ts_ns,
                                 .origin = sigs[i].origin, .stamp = sigs[i].stamp};
        snprintf(v->type, sizeof(v->type), "%s", name != NULL ? name : "");
    }
    pthread_mutex_unlock(&r->state.lock);
    if (rv != 0) {
        return TIDAL_ENOENT;
    }
    *n = count - first;
    return 0;
}

int
tidal_session_signals(tidal_region *r, tidal_session_id s, tidal_signal_view *out, size_t max,
                      size_t *n)
{
    return tidal_session_signals_from(r, s, 0, out, max, n);
}

int
tidal_read_windowed_count(tidal_region *r, tidal_entity_id item, const char *type,
                          tidal_window w, int64_t *out)
{
    if (r == NULL || type == NULL || out == NULL || w < TIDAL_WINDOW_1H || w > TIDAL_WINDOW_7D) {
        return TIDAL_EINVAL;
    }
    uint16_t id;
    uint64_t now = tidal_wall_ns(r->rt);
    int rv = 0;
    *out = 0;
    pthread_mutex_lock(&r->state.lock);
    if (tidal_sigtypes_find(r->state.types, type, &id) == 0) {
        rv = tidal_signals_count(r->state.signals, item, id, (tidal_sigwindow)(w - TIDAL_WINDOW_1H),
                                 now, out);
    }
    pthread_mutex_unlock(&r->state.lock);
    return rv;
}

struct ranked {
    tidal_scored_item it;
    size_t order;
};

static int
by_score(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->it.score != y->it.score) {
        return x->it.score > y->it.score ? -1 : 1;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The score of one item (client.c's header).  Caller holds state_lock. */
static double
score_of(tidal_region *r, tidal_entity_id item, uint64_t now)
{
    double score = 0;
    size_t ntypes = tidal_sigtypes_count(r->state.types);
    for (size_t t = 1; t <= ntypes; t++) { /* type ids are 1..count (store/sigtypes.h) */
        int64_t h = 0, d = 0, w = 0;
        tidal_signals *s = r->state.signals;
        if (tidal_signals_count(s, item, (uint16_t)t, TIDAL_SIGWINDOW_1H, now, &h) == 0 &&
            tidal_signals_count(s, item, (uint16_t)t, TIDAL_SIGWINDOW_24H, now, &d) == 0 &&
            tidal_signals_count(s, item, (uint16_t)t, TIDAL_SIGWINDOW_7D, now, &w) == 0) {
            score += (double)h + (double)d / 10.0 + (double)w / 100.0;
        }
    }
    return score;
}

int
tidal_retrieve_items(tidal_region *r, const tidal_retrieve *q, tidal_scored_item *out, size_t *n)
{
    if (r == NULL || q == NULL || n == NULL || (q->ncandidates > 0 && q->candidates == NULL) ||
        (q->ncandidates > 0 && out == NULL)) {
        return TIDAL_EINVAL;
    }
    struct ranked *rk = calloc(q->ncandidates ? q->ncandidates : 1, sizeof(*rk));
    if (rk == NULL) {
        return TIDAL_ENOMEM;
    }
    uint64_t now = tidal_wall_ns(r->rt);
    size_t kept = 0;
    pthread_mutex_lock(&r->state.lock);
    for (size_t i = 0; i < q->ncandidates; i++) {
        tidal_entity_id item = q->candidates[i];
        if (tidal_hardneg_hidden(r->state.hardneg, q->user, item)) {
            continue;
        }
        rk[kept++] = (struct ranked){{item, score_of(r, item, now)}, i};
    }
    pthread_mutex_unlock(&r->state.lock);
    qsort(rk, kept, sizeof(*rk), by_score);
    size_t limit = q->limit != 0 && q->limit < kept ? q->limit : kept;
    for (size_t i = 0; i < limit; i++) {
        out[i] = rk[i].it;
    }
    *n = limit;
    free(rk);
    return 0;
}
