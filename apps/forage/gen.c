/*
 * The generator's model, all from one seed:
 *
 * - `topics` centroids, random directions in `dim` dimensions;
 * - each item is, with probability 0.9, of a topic t chosen uniformly: its
 *   vector is centroid_t + 0.6 * g, g with independent N(0, 1/dim) entries
 *   (so |g| is about 1 and the cosine with its centroid about 0.86); otherwise
 *   it is in no topic: a random direction;
 * - topics rise at different times: topic t's items are created uniformly in
 *   [start + t/(topics+1) * span, start + span], with start 2026-01-01 UTC
 *   and span 180 days, so the newest items lean towards the later topics;
 *   items in no topic are created anywhere in the span;
 * - ids are 1..items in generation order; titles are "<topic> <n>" or
 *   "misc <n>";
 * - a topic's label is defined by its first FORAGE_GEN_EXAMPLES items.
 *
 * Vectors are rounded to 4 decimals, as the file holds them, so the
 * catalogue returned is the one a reader of the written file gets.
 */
#include "gen.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "rng.h"

#define GEN_START_S 1767225600 /* 2026-01-01T00:00:00Z */
#define GEN_SPAN_S (180 * 86400)
#define GEN_TOPIC_SHARE 0.9
#define GEN_NOISE 0.6

static const char *const topic_names[FORAGE_GEN_TOPICS_MAX] = {
    "ambient", "baroque",  "cumbia", "dub",  "electro",   "fado",
    "gamelan", "highlife", "idm",    "jazz", "krautrock", "lofi",
};

static void
random_direction(forage_rng *r, size_t dim, float *out)
{
    double norm;
    do {
        norm = 0.0;
        for (size_t i = 0; i < dim; i++) {
            out[i] = (float)forage_rng_normal(r);
            norm += (double)out[i] * out[i];
        }
    } while (norm == 0.0);
    for (size_t i = 0; i < dim; i++) {
        out[i] = (float)(out[i] / sqrt(norm));
    }
}

/* Rounds to the 4 decimals of the file format. */
static float
round4(double v)
{
    return (float)(round(v * 1e4) / 1e4);
}

static int
alloc_catalogue(size_t n, size_t dim, forage_catalogue **out)
{
    forage_catalogue *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return TIDAL_ENOMEM;
    }
    c->dim = dim;
    c->ids = calloc(n, sizeof(*c->ids));
    c->created = calloc(n, sizeof(*c->created));
    c->titles = calloc(n, sizeof(*c->titles));
    c->vec = calloc(n * dim, sizeof(*c->vec));
    if (c->ids == NULL || c->created == NULL || c->titles == NULL || c->vec == NULL) {
        forage_catalogue_free(c);
        return TIDAL_ENOMEM;
    }
    *out = c;
    return 0;
}

/* One item: its vector, creation time and title; returns its topic or -1. */
static int
gen_item(forage_rng *r, const forage_gen_opts *o, const float *centroids, forage_catalogue *c,
         size_t *per_topic)
{
    size_t i = c->n;
    float *row = c->vec + i * o->dim;
    int topic = -1;
    double t0 = 0.0;
    if (forage_rng_uniform(r) < GEN_TOPIC_SHARE) {
        topic = (int)forage_rng_below(r, o->topics);
        double sd = GEN_NOISE / sqrt((double)o->dim);
        do {
            bool zero = true;
            for (size_t j = 0; j < o->dim; j++) {
                row[j] = round4(centroids[(size_t)topic * o->dim + j] + sd * forage_rng_normal(r));
                zero = zero && row[j] == 0.0f;
            }
            if (!zero) {
                break;
            }
        } while (true);
        t0 = (double)topic / (double)(o->topics + 1);
    } else {
        random_direction(r, o->dim, row);
        for (size_t j = 0; j < o->dim; j++) {
            row[j] = round4(row[j]);
        }
    }
    c->created[i] = GEN_START_S + (int64_t)((t0 + (1.0 - t0) * forage_rng_uniform(r)) * GEN_SPAN_S);
    c->ids[i] = i + 1;
    char title[64];
    size_t nth = topic >= 0 ? ++per_topic[topic] : ++per_topic[o->topics];
    snprintf(title, sizeof(title), "%s %zu", topic >= 0 ? topic_names[topic] : "misc", nth);
    c->titles[i] = strdup(title);
    c->n++;
    return c->titles[i] == NULL ? TIDAL_ENOMEM : topic;
}

int
forage_gen_catalogue(const forage_gen_opts *opts, forage_catalogue **out, forage_label_def *defs,
                     size_t *k)
{
    *out = NULL;
    forage_gen_opts o = *opts;
    o.items = o.items ? o.items : 4000;
    o.dim = o.dim ? o.dim : 32;
    o.topics = o.topics ? o.topics : 8;
    if (o.topics > FORAGE_GEN_TOPICS_MAX || o.dim < 2 || o.dim > FORAGE_DIM_MAX ||
        o.items > FORAGE_ITEMS_MAX || o.items < o.topics * FORAGE_GEN_EXAMPLES * 4) {
        return TIDAL_EINVAL;
    }
    forage_rng r;
    forage_rng_seed(&r, o.seed);
    float *centroids = malloc(o.topics * o.dim * sizeof(float));
    forage_catalogue *c = NULL;
    if (centroids == NULL || alloc_catalogue(o.items, o.dim, &c) != 0) {
        free(centroids);
        return TIDAL_ENOMEM;
    }
    for (size_t t = 0; t < o.topics; t++) {
        random_direction(&r, o.dim, centroids + t * o.dim);
        memset(&defs[t], 0, sizeof(defs[t]));
        snprintf(defs[t].name, sizeof(defs[t].name), "%s", topic_names[t]);
    }
    size_t per_topic[FORAGE_GEN_TOPICS_MAX + 1] = {0};
    int rv = 0;
    while (c->n < o.items) {
        int topic = gen_item(&r, &o, centroids, c, per_topic);
        if (topic == TIDAL_ENOMEM) {
            rv = TIDAL_ENOMEM;
            break;
        }
        if (topic >= 0 && defs[topic].n_examples < FORAGE_GEN_EXAMPLES) {
            defs[topic].examples[defs[topic].n_examples++] = c->ids[c->n - 1];
        }
    }
    free(centroids);
    /* A topic with too few items for its examples: the minimum item count
     * makes this vanishingly unlikely, but a label must not be empty. */
    for (size_t t = 0; rv == 0 && t < o.topics; t++) {
        rv = defs[t].n_examples == FORAGE_GEN_EXAMPLES ? 0 : TIDAL_EINVAL;
    }
    if (rv != 0) {
        forage_catalogue_free(c);
        return rv;
    }
    *k = o.topics;
    *out = c;
    return 0;
}
