/*
 * The four candidate sources of the live app, one actor each per region
 * ("forage-popular-<region>", "forage-similar-<region>", "forage-fresh-..."
 * and "forage-random-..." on the region's runtime: names are unique in the
 * cluster, whose regions share a base URL).  A slate asks each with a candidates request
 * (app_impl.h) and each answers with up to FORAGE_CANDIDATES_MAX catalogue
 * rows, best first, none of them in the request's exclusions:
 *
 *   popular  the items with the most likes in the last 24 hours, every
 *            region's that this region has applied (tidal_top_items);
 *   similar  the nearest neighbours (cosine) of the session's recent likes,
 *            rank by rank across them, newest like first; nothing before
 *            the session's first like;
 *   fresh    the newest items of the catalogue (created, ties by row);
 *   random   items drawn uniformly, from the actor's own seeded stream.
 *
 * Hidden items are not a source's concern: the slate drops them through
 * tidal_retrieve_items for every source at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidal/errors.h"

#include "app_impl.h"

/* Draws the random source may spend per slot before giving up on a
 * catalogue mostly excluded. */
#define RANDOM_TRIES_PER_SLOT 8

static void
put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t
forage_request_encode(const forage_request *q, uint8_t *buf)
{
    size_t off = 0;
    put_u64(buf + off, q->user), off += 8;
    put_u64(buf + off, q->n_recent), off += 8;
    for (size_t i = 0; i < q->n_recent; i++)
        put_u64(buf + off, q->recent[i]), off += 8;
    put_u64(buf + off, q->n_exclude), off += 8;
    for (size_t i = 0; i < q->n_exclude; i++)
        put_u64(buf + off, q->exclude[i]), off += 8;
    return off;
}

/* Reads a count and that many rows below n into rows (room for max). */
static int
get_rows(const uint8_t *buf, size_t len, size_t *off, size_t max, size_t n, size_t *count,
         uint32_t *rows)
{
    if (len - *off < 8)
        return TIDAL_EINVAL;
    uint64_t c = get_u64(buf + *off);
    *off += 8;
    if (c > max || (len - *off) / 8 < c)
        return TIDAL_EINVAL;
    for (uint64_t i = 0; i < c; i++, *off += 8) {
        uint64_t row = get_u64(buf + *off);
        if (row >= n)
            return TIDAL_EINVAL;
        rows[i] = (uint32_t)row;
    }
    *count = (size_t)c;
    return 0;
}

int
forage_request_decode(const uint8_t *buf, size_t len, size_t n, forage_request *out)
{
    size_t off = 8;
    if (buf == NULL || len < 8)
        return TIDAL_EINVAL;
    out->user = get_u64(buf);
    int rv = get_rows(buf, len, &off, FORAGE_RECENT_LIKES, n, &out->n_recent, out->recent);
    if (rv == 0)
        rv = get_rows(buf, len, &off, FORAGE_EXCLUDE_MAX, n, &out->n_exclude, out->exclude);
    return rv == 0 && off == len ? 0 : TIDAL_EINVAL;
}

size_t
forage_candidates_encode(const forage_candidates *c, uint8_t *buf)
{
    put_u64(buf, c->n);
    for (size_t i = 0; i < c->n; i++)
        put_u64(buf + 8 + 8 * i, c->items[i]);
    return 8 + 8 * c->n;
}

int
forage_candidates_decode(const uint8_t *buf, size_t len, size_t n, forage_candidates *out)
{
    size_t off = 0;
    out->n = 0;
    if (buf == NULL)
        return TIDAL_EINVAL;
    int rv = get_rows(buf, len, &off, FORAGE_CANDIDATES_MAX, n, &out->n, out->items);
    if (rv != 0 || off != len) {
        out->n = 0;
        return TIDAL_EINVAL;
    }
    return 0;
}

static bool
excluded(const forage_request *q, const forage_candidates *c, uint32_t row)
{
    for (size_t i = 0; i < q->n_exclude; i++)
        if (q->exclude[i] == row)
            return true;
    for (size_t i = 0; i < q->n_recent; i++)
        if (q->recent[i] == row)
            return true;
    for (size_t i = 0; i < c->n; i++)
        if (c->items[i] == row)
            return true;
    return false;
}

static int
popular(struct forage_app *a, uint32_t region, const forage_request *q, forage_candidates *c)
{
    size_t k = FORAGE_CANDIDATES_MAX + q->n_exclude + q->n_recent, n = 0;
    tidal_scored_item top[FORAGE_CANDIDATES_MAX + FORAGE_EXCLUDE_MAX + FORAGE_RECENT_LIKES];
    int rv = tidal_top_items(a->regions[region].r, FORAGE_SIGNAL_LIKE_TYPE, TIDAL_WINDOW_24H, k,
                             top, &n);
    for (size_t i = 0; rv == 0 && i < n && c->n < FORAGE_CANDIDATES_MAX; i++) {
        long row = forage_app_row(a, top[i].item);
        if (row >= 0 && !excluded(q, c, (uint32_t)row))
            c->items[c->n++] = (uint32_t)row;
    }
    return rv;
}

static int
similar(struct forage_app *a, const forage_request *q, forage_candidates *c)
{
    size_t k = FORAGE_CANDIDATES_MAX + q->n_exclude + q->n_recent;
    if (k > FORAGE_NN_K_MAX)
        k = FORAGE_NN_K_MAX;
    forage_nn_hit *hits = malloc(FORAGE_RECENT_LIKES * FORAGE_NN_K_MAX * sizeof(*hits));
    size_t got[FORAGE_RECENT_LIKES] = {0};
    if (hits == NULL)
        return TIDAL_ENOMEM;
    int rv = 0;
    pthread_mutex_lock(&a->nn_lock);
    for (size_t i = 0; rv == 0 && i < q->n_recent; i++) {
        const float *row = a->ix->rows + (size_t)q->recent[i] * a->ix->stride;
        rv = forage_nn_search(a->ix, row, k, (long)q->recent[i], hits + i * FORAGE_NN_K_MAX,
                              &got[i]);
    }
    pthread_mutex_unlock(&a->nn_lock);
    for (size_t rank = 0; rv == 0 && rank < k && c->n < FORAGE_CANDIDATES_MAX; rank++) {
        for (size_t i = 0; i < q->n_recent && c->n < FORAGE_CANDIDATES_MAX; i++) {
            if (rank < got[i] && !excluded(q, c, hits[i * FORAGE_NN_K_MAX + rank].row))
                c->items[c->n++] = hits[i * FORAGE_NN_K_MAX + rank].row;
        }
    }
    free(hits);
    return rv;
}

static void
fresh(struct forage_app *a, const forage_request *q, forage_candidates *c)
{
    for (size_t i = 0; i < a->cat->n && c->n < FORAGE_CANDIDATES_MAX; i++)
        if (!excluded(q, c, a->fresh[i]))
            c->items[c->n++] = a->fresh[i];
}

static void
random_rows(struct forage_app *a, forage_rng *rng, const forage_request *q, forage_candidates *c)
{
    for (int t = 0; t < RANDOM_TRIES_PER_SLOT * FORAGE_CANDIDATES_MAX; t++) {
        uint32_t row = (uint32_t)forage_rng_below(rng, a->cat->n);
        if (!excluded(q, c, row)) {
            c->items[c->n++] = row;
            if (c->n == FORAGE_CANDIDATES_MAX)
                return;
        }
    }
}

/* A source actor's state: what it serves and, for random, its draws. */
typedef struct source_state {
    forage_source_arg *arg;
    forage_rng rng;
} source_state;

static int
source_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    forage_source_arg *sa = arg;
    source_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return TIDAL_ENOMEM;
    st->arg = sa;
    forage_rng_seed2(&st->rng, sa->app->seed,
                     1 + sa->region * FORAGE_SOURCES + (uint64_t)sa->source);
    *state = st;
    return 0;
}

static int
source_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    source_state *st = state;
    struct forage_app *a = st->arg->app;
    forage_request q;
    forage_candidates c = {.n = 0};
    if (msg->type != FORAGE_MSG_CANDIDATES || !msg->can_reply ||
        forage_request_decode(msg->payload, msg->len, a->cat->n, &q) != 0)
        return 0; /* not a request: nothing to answer, and nothing wrong here */
    int rv = 0;
    switch (st->arg->source) {
    case FORAGE_SOURCE_POPULAR:
        rv = popular(a, st->arg->region, &q, &c);
        break;
    case FORAGE_SOURCE_SIMILAR:
        rv = similar(a, &q, &c);
        break;
    case FORAGE_SOURCE_FRESH:
        fresh(a, &q, &c);
        break;
    default:
        random_rows(a, &st->rng, &q, &c);
        break;
    }
    if (rv != 0)
        c.n = 0; /* a source that cannot read offers nothing this time */
    uint8_t buf[8 + 8 * FORAGE_CANDIDATES_MAX];
    size_t len = forage_candidates_encode(&c, buf);
    /* A reply that cannot go (the asker gone) leaves the asker to its
     * timeout: the slate then does without this source. */
    int sent = tidal_ctx_reply(ctx, msg, FORAGE_MSG_CANDIDATES, buf, (uint32_t)len);
    (void)sent;
    return 0;
}

static void
source_fini(void *state, void *arg)
{
    (void)arg;
    free(state);
}

static const tidal_behaviour source_behaviour = {
    .init = source_init,
    .handle = source_handle,
    .fini = source_fini,
};

int
forage_sources_spawn(struct forage_app *a, uint32_t i)
{
    forage_region_part *ar = &a->regions[i];
    tidal_runtime *rt = tidal_region_runtime(ar->r);
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        char name[48];
        snprintf(name, sizeof(name), "forage-%s-%u", forage_source_name(s), i);
        a->source_args[i][s] = (forage_source_arg){.app = a, .region = i, .source = s};
        tidal_spawn_opts so = {
            .name = name, .behaviour = &source_behaviour, .arg = &a->source_args[i][s]};
        int rv = tidal_spawn(rt, &so, &ar->actors[s]);
        if (rv == 0) {
            ar->spawned[s] = true;
            rv = tidal_actor_addr(rt, ar->actors[s], &ar->sources[s]);
        }
        if (rv != 0) {
            forage_sources_stop(a, i);
            return rv;
        }
    }
    return 0;
}

void
forage_sources_stop(struct forage_app *a, uint32_t i)
{
    forage_region_part *ar = &a->regions[i];
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        if (ar->spawned[s])
            (void)tidal_stop(tidal_region_runtime(ar->r), ar->actors[s]);
        ar->spawned[s] = false;
    }
}
