/*
 * The seeded catalogue generator (docs/catalogue.md says the model): items
 * drawn around a handful of label centroids, so that labels defined by a few
 * example items mean something, plus a share of items in no topic at all.
 * The same options give the same catalogue, byte for byte, once written.
 */
#ifndef FORAGE_GEN_H
#define FORAGE_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "labels.h"

/* Topics the generator knows a name for. */
#define FORAGE_GEN_TOPICS_MAX 12

/* Example items written per label. */
#define FORAGE_GEN_EXAMPLES 4

typedef struct forage_gen_opts {
    uint64_t seed;
    size_t items;  /* 0: 4000 */
    size_t dim;    /* 0: 32 */
    size_t topics; /* 0: 8; at most FORAGE_GEN_TOPICS_MAX */
} forage_gen_opts;

/* Generates a catalogue into *out (the caller's) and, for each topic, a label
 * definition with FORAGE_GEN_EXAMPLES of its items into defs (room for
 * FORAGE_GEN_TOPICS_MAX), their count into *k.  Returns TIDAL_EINVAL for an
 * option out of range (items 1..FORAGE_ITEMS_MAX but at least
 * topics * FORAGE_GEN_EXAMPLES * 4, dim 2..FORAGE_DIM_MAX) or TIDAL_ENOMEM;
 * *out is then NULL. */
__attribute__((warn_unused_result)) int forage_gen_catalogue(const forage_gen_opts *o,
                                                             forage_catalogue **out,
                                                             forage_label_def *defs, size_t *k);

#endif /* FORAGE_GEN_H */
