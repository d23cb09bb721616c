/*
 * The four candidate sources as the simulation computes them (sim.h), and
 * the world they read.  The tidal-backed sources will replace these: popular
 * from windowed counts, similar from the session's recent items, both read
 * through tidal.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

/* Random draws tried per slot before the random source gives up: a user who
 * has seen most of the catalogue gets a shorter list rather than a long loop. */
#define RANDOM_TRIES_PER_SLOT 16

static const forage_catalogue *sort_cat;

static int
cmp_newest(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int64_t cx = sort_cat->created[x], cy = sort_cat->created[y];
    if (cx != cy) {
        return cx > cy ? -1 : 1;
    }
    return x < y ? -1 : (x > y);
}

static int
make_neighbours(forage_nn_index *ix, uint32_t *neigh)
{
    forage_nn_hit hits[FORAGE_SIM_NEIGHBOURS];
    for (size_t i = 0; i < ix->n; i++) {
        size_t got;
        int rv = forage_nn_search(ix, ix->rows + i * ix->stride, FORAGE_SIM_NEIGHBOURS, (long)i,
                                  hits, &got);
        if (rv != 0) {
            return rv;
        }
        for (size_t j = 0; j < FORAGE_SIM_NEIGHBOURS; j++) {
            neigh[i * FORAGE_SIM_NEIGHBOURS + j] = j < got ? hits[j].row : UINT32_MAX;
        }
    }
    return 0;
}

int
forage_world_make(const forage_catalogue *c, forage_nn_index *ix, const int *label,
                  const forage_population *pop, forage_world **out)
{
    *out = NULL;
    if (c->n <= FORAGE_SIM_NEIGHBOURS || ix->n != c->n) {
        return TIDAL_EINVAL;
    }
    forage_world *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    w->n = c->n;
    w->label = label;
    w->pop = pop;
    w->fresh = malloc(c->n * sizeof(*w->fresh));
    w->neigh = malloc(c->n * FORAGE_SIM_NEIGHBOURS * sizeof(*w->neigh));
    if (w->fresh == NULL || w->neigh == NULL) {
        forage_world_free(w);
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        w->fresh[i] = (uint32_t)i;
    }
    /* qsort has no context argument in C11; set-up is single-threaded. */
    sort_cat = c;
    qsort(w->fresh, c->n, sizeof(*w->fresh), cmp_newest);
    sort_cat = NULL;
    int rv = make_neighbours(ix, w->neigh);
    if (rv != 0) {
        forage_world_free(w);
        return rv;
    }
    *out = w;
    return 0;
}

void
forage_world_free(forage_world *w)
{
    if (w == NULL) {
        return;
    }
    free(w->fresh);
    free(w->neigh);
    free(w);
}

static bool
bit(const uint8_t *set, size_t row_bytes, size_t u, uint32_t item)
{
    return (set[u * row_bytes + item / 8] >> (item % 8)) & 1;
}

bool
forage_run_hidden(const forage_run *r, size_t u, uint32_t item)
{
    return bit(r->hidden, r->row_bytes, u, item);
}

bool
forage_run_seen(const forage_run *r, size_t u, uint32_t item)
{
    return bit(r->seen, r->row_bytes, u, item);
}

static bool
usable(const forage_run *r, size_t u, uint32_t item)
{
    return !forage_run_seen(r, u, item) && !forage_run_hidden(r, u, item);
}

static void
popular(const forage_run *r, size_t u, forage_candidates *c)
{
    uint32_t best_likes[FORAGE_CANDIDATES_MAX];
    c->n = 0;
    for (uint32_t i = 0; i < r->w->n; i++) {
        uint32_t l = r->likes[i];
        if (l == 0 || (c->n == FORAGE_CANDIDATES_MAX && l <= best_likes[c->n - 1]) ||
            !usable(r, u, i)) {
            continue;
        }
        size_t at = c->n < FORAGE_CANDIDATES_MAX ? c->n++ : FORAGE_CANDIDATES_MAX - 1;
        while (at > 0 && l > best_likes[at - 1]) {
            best_likes[at] = best_likes[at - 1];
            c->items[at] = c->items[at - 1];
            at--;
        }
        best_likes[at] = l;
        c->items[at] = i;
    }
}

static bool
listed(const forage_candidates *c, uint32_t item)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->items[i] == item) {
            return true;
        }
    }
    return false;
}

/* Neighbours of the recent likes, taken rank by rank across them (the
 * nearest of each, then the second of each...), newest like first. */
static void
similar(const forage_run *r, size_t u, forage_candidates *c)
{
    const uint32_t *recent = r->recent + u * FORAGE_SIM_RECENT;
    c->n = 0;
    for (size_t rank = 0; rank < FORAGE_SIM_NEIGHBOURS; rank++) {
        for (size_t j = 0; j < FORAGE_SIM_RECENT && recent[j] != UINT32_MAX; j++) {
            uint32_t item = r->w->neigh[(size_t)recent[j] * FORAGE_SIM_NEIGHBOURS + rank];
            if (item == UINT32_MAX || !usable(r, u, item) || listed(c, item)) {
                continue;
            }
            c->items[c->n++] = item;
            if (c->n == FORAGE_CANDIDATES_MAX) {
                return;
            }
        }
    }
}

static void
fresh(const forage_run *r, size_t u, forage_candidates *c)
{
    c->n = 0;
    for (size_t i = 0; i < r->w->n && c->n < FORAGE_CANDIDATES_MAX; i++) {
        if (usable(r, u, r->w->fresh[i])) {
            c->items[c->n++] = r->w->fresh[i];
        }
    }
}

static void
random_items(forage_run *r, size_t u, forage_candidates *c)
{
    c->n = 0;
    for (int t = 0; t < RANDOM_TRIES_PER_SLOT * FORAGE_CANDIDATES_MAX; t++) {
        uint32_t item = (uint32_t)forage_rng_below(&r->draws, r->w->n);
        if (usable(r, u, item) && !listed(c, item)) {
            c->items[c->n++] = item;
            if (c->n == FORAGE_CANDIDATES_MAX) {
                return;
            }
        }
    }
}

void
forage_sim_candidates(forage_run *r, size_t u, forage_candidates cands[FORAGE_SOURCES])
{
    popular(r, u, &cands[FORAGE_SOURCE_POPULAR]);
    similar(r, u, &cands[FORAGE_SOURCE_SIMILAR]);
    fresh(r, u, &cands[FORAGE_SOURCE_FRESH]);
    random_items(r, u, &cands[FORAGE_SOURCE_RANDOM]);
}
