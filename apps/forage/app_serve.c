/*
 * Serving a slate and taking an answer (app.h): the two calls that write.
 * Both run under the session's lock, so two slates of one session get two
 * numbers and an answer finds the slate it is about.
 */
#include <stdlib.h>
#include <string.h>

#include "tidal/errors.h"

#include "app_impl.h"

/* Asks source s of region i for candidates; a source that does not answer
 * in time, or answers garbage, offers nothing to this slate. */
static void
ask_source(forage_app *a, uint32_t i, int s, const uint8_t *req, size_t len, forage_candidates *c)
{
    tidal_reply rep;
    c->n = 0;
    tidal_runtime *rt = tidal_region_runtime(a->regions[i].r);
    if (tidal_ask(rt, &a->regions[i].sources[s], FORAGE_MSG_CANDIDATES, req, (uint32_t)len,
                  FORAGE_SOURCE_TIMEOUT_MS, &rep) != 0)
        return;
    if (rep.type != FORAGE_MSG_CANDIDATES ||
        forage_candidates_decode(rep.payload, rep.len, a->cat->n, c) != 0)
        c->n = 0;
    tidal_reply_free(&rep);
}

/* The rows the user may see, among every source's candidates: the rest are
 * hidden (tidal_retrieve_items filters hard negatives). */
typedef struct visible {
    size_t n;
    uint32_t rows[FORAGE_SOURCES * FORAGE_CANDIDATES_MAX];
} visible;

static int
find_visible(forage_app *a, tidal_region *r, tidal_entity_id user,
             const forage_candidates cands[FORAGE_SOURCES], visible *out)
{
    tidal_entity_id ids[FORAGE_SOURCES * FORAGE_CANDIDATES_MAX];
    tidal_scored_item got[FORAGE_SOURCES * FORAGE_CANDIDATES_MAX];
    size_t n = 0, kept = 0;
    for (int s = 0; s < FORAGE_SOURCES; s++)
        for (size_t i = 0; i < cands[s].n; i++)
            ids[n++] = a->cat->ids[cands[s].items[i]];
    out->n = 0;
    if (n == 0)
        return 0;
    tidal_retrieve q = {.user = user, .candidates = ids, .ncandidates = n};
    int rv = tidal_retrieve_items(r, &q, got, &kept);
    for (size_t i = 0; rv == 0 && i < kept; i++) {
        long row = forage_app_row(a, got[i].item);
        if (row >= 0)
            out->rows[out->n++] = (uint32_t)row;
    }
    return rv;
}

static bool
is_hidden(uint32_t row, void *arg)
{
    const visible *v = arg;
    for (size_t i = 0; i < v->n; i++)
        if (v->rows[i] == row)
            return false;
    return true;
}

/* Records the slate in the session: one "shown:<source>" signal per item. */
static int
record_slate(forage_app *a, tidal_region *r, tidal_session_id s, const forage_slate *sl, uint32_t k)
{
    uint64_t now = tidal_wall_ns(tidal_region_runtime(r));
    for (size_t i = 0; i < sl->n; i++) {
        char type[32];
        forage_shown_type(sl->source[i], type);
        int rv = tidal_signal_in_session(r, s, type, a->cat->ids[sl->items[i]], (double)k, now);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int
serve(forage_app *a, uint32_t region, tidal_session_id s, forage_served *out)
{
    tidal_region *r = a->regions[region].r;
    forage_session_facts f;
    int rv = forage_session_read(a, r, s, -1, &f, NULL, NULL);
    if (rv != 0)
        return rv;
    uint8_t req[FORAGE_REQUEST_BYTES_MAX];
    size_t len = forage_request_encode(&f.req, req);
    forage_candidates cands[FORAGE_SOURCES];
    for (int src = 0; src < FORAGE_SOURCES; src++)
        ask_source(a, region, src, req, len, &cands[src]);
    visible v;
    forage_arm arms[FORAGE_SOURCES], pop[FORAGE_SOURCES];
    forage_prior prior[FORAGE_SOURCES];
    forage_slate sl;
    if ((rv = find_visible(a, r, f.user, cands, &v)) != 0 ||
        (rv = forage_weights_arms(a, region, f.user, arms)) != 0 ||
        (rv = forage_weights_arms(a, region, FORAGE_POPULATION_USER, pop)) != 0)
        return rv;
    for (int src = 0; src < FORAGE_SOURCES; src++)
        prior[src] = forage_arm_prior(&pop[src], FORAGE_PRIOR_STRENGTH);
    pthread_mutex_lock(&a->rng_lock);
    rv = forage_slate_build(a->policy, arms, prior, cands, is_hidden, &v, &a->rng, &sl);
    pthread_mutex_unlock(&a->rng_lock);
    if (rv == 0)
        rv = record_slate(a, r, s, &sl, f.last_slate + 1);
    if (rv != 0)
        return rv;
    *out = (forage_served){.session = s, .user = f.user, .slate = f.last_slate + 1, .n = sl.n};
    for (size_t i = 0; i < sl.n; i++) {
        uint32_t row = sl.items[i];
        int l = a->lab.label[row];
        out->items[i] = (forage_served_item){
            .item = a->cat->ids[row],
            .source = sl.source[i],
            .label = l,
            .title = a->cat->titles[row],
            .label_name = l == FORAGE_UNLABELLED ? "unlabelled" : a->lab.labels->defs[l].name,
        };
    }
    return 0;
}

int
forage_app_slate(forage_app *a, uint32_t region, tidal_session_id s, forage_served *out)
{
    if (a == NULL || region >= a->nregions || out == NULL)
        return TIDAL_EINVAL;
    pthread_mutex_t *lock = forage_session_lock(a, s);
    pthread_mutex_lock(lock);
    int rv = serve(a, region, s, out);
    pthread_mutex_unlock(lock);
    return rv;
}

/* The bandit counters an answer adds to (schema.h): the same key and delta
 * for the user and for the population.  A view or an unhide teaches the
 * bandit nothing. */
static int
count_answer(tidal_region *r, tidal_entity_id user, int source, forage_answer ans)
{
    char key[32];
    int64_t delta = ans == FORAGE_ANSWER_HIDE ? FORAGE_HIDE_FAILURES : 1;
    if (ans != FORAGE_ANSWER_LIKE && ans != FORAGE_ANSWER_SKIP && ans != FORAGE_ANSWER_HIDE)
        return 0;
    forage_arm_key(source, ans == FORAGE_ANSWER_LIKE, key);
    int rv = tidal_user_counter_add(r, user, key, delta);
    if (rv == 0)
        rv = tidal_user_counter_add(r, FORAGE_POPULATION_USER, key, delta);
    return rv;
}

static int
answer(forage_app *a, uint32_t region, tidal_session_id s, long row, forage_answer ans)
{
    tidal_region *r = a->regions[region].r;
    forage_session_facts f;
    uint32_t k = 0;
    int source = -1;
    int rv = forage_session_read(a, r, s, row, &f, &k, &source);
    if (rv != 0)
        return rv;
    if (k == 0)
        return TIDAL_ESTATE; /* never shown in this session: nothing to answer */
    uint64_t item = a->cat->ids[row];
    uint64_t now = tidal_wall_ns(tidal_region_runtime(r));
    rv = tidal_signal_in_session(r, s, forage_answer_type(ans), item, (double)k, now);
    if (rv == 0 && ans == FORAGE_ANSWER_HIDE)
        rv = tidal_hide_item(r, f.user, item);
    if (rv == 0 && ans == FORAGE_ANSWER_UNHIDE)
        rv = tidal_unhide_item(r, f.user, item);
    if (rv == 0)
        rv = count_answer(r, f.user, source, ans);
    return rv;
}

int
forage_app_answer(forage_app *a, uint32_t region, tidal_session_id s, uint64_t item,
                  forage_answer ans)
{
    if (a == NULL || region >= a->nregions || (unsigned)ans >= FORAGE_ANSWERS)
        return TIDAL_EINVAL;
    long row = forage_app_row(a, item);
    if (row < 0)
        return TIDAL_EINVAL;
    pthread_mutex_t *lock = forage_session_lock(a, s);
    pthread_mutex_lock(lock);
    int rv = answer(a, region, s, row, ans);
    pthread_mutex_unlock(lock);
    return rv;
}
