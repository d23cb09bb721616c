/*
 * Embedding labels: a label is defined by example items; its vector is the
 * normalised mean of its examples' unit vectors; an item gets the label whose
 * vector is nearest by cosine similarity, or none ("unlabelled") when even
 * the nearest is below the threshold.
 *
 * A labels file (docs/catalogue.md) has one label per line:
 *
 *   <name> TAB <id>[,<id>...]
 *
 * with `#` comments and blank lines skipped; the ids must be in the
 * catalogue the labels are built against.
 */
#ifndef FORAGE_LABELS_H
#define FORAGE_LABELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catalogue.h"
#include "limits.h"
#include "nn.h"

/* No label: the nearest label's cosine is below the threshold. */
#define FORAGE_UNLABELLED (-1)

/* The cosine under which an item is unlabelled, unless the caller sets one:
 * in 32 dimensions two random directions rarely reach 0.5 (their cosine has
 * a standard deviation of about 0.18), so a match at 0.5 is meant. */
#define FORAGE_LABEL_THRESHOLD_DEFAULT 0.5f

typedef struct forage_label_def {
    char name[FORAGE_LABEL_NAME_BYTES_MAX + 1];
    size_t n_examples;
    uint64_t examples[FORAGE_LABEL_EXAMPLES_MAX];
} forage_label_def;

typedef struct forage_labels {
    size_t k;        /* labels */
    size_t stride;   /* floats per vector (nn padding) */
    float threshold; /* cosine below which: unlabelled */
    forage_label_def defs[FORAGE_LABELS_MAX];
    float *vec; /* k * stride, unit length */
} forage_labels;

/* Reads label definitions from path into defs (room for FORAGE_LABELS_MAX),
 * their count into *k.  Returns TIDAL_EIO (cannot read), TIDAL_ECORRUPT with
 * err = "path:line: what" (no TAB, empty or long name, a name given twice,
 * a bad id, too many labels or examples, no labels); defs are then garbage. */
__attribute__((warn_unused_result)) int forage_labels_read(const char *path, forage_label_def *defs,
                                                           size_t *k, char *err);

/* Writes definitions in the file format.  Returns TIDAL_EIO if f fails. */
__attribute__((warn_unused_result)) int forage_labels_write(const forage_label_def *defs, size_t k,
                                                            FILE *f);

/* Builds the label vectors of k definitions over the catalogue's index ix
 * (rows in catalogue order).  Returns TIDAL_EINVAL with err naming the label
 * and id for an example not in the catalogue or k outside 1..FORAGE_LABELS_MAX,
 * TIDAL_ENOMEM; *out (the caller's, forage_labels_free) is NULL then. */
__attribute__((warn_unused_result)) int forage_labels_build(const forage_catalogue *c,
                                                            const forage_nn_index *ix,
                                                            const forage_label_def *defs, size_t k,
                                                            float threshold, forage_labels **out,
                                                            char *err);

/* The label of a unit row (ix->stride floats): its index, or
 * FORAGE_UNLABELLED; the cosine with the nearest label into *sim if not NULL.
 * Ties go to the lower label index.  Cannot fail. */
int forage_labels_nearest(const forage_labels *l, const float *row, float *sim);

/* Labels every row of ix into out (ix->n ints).  Cannot fail. */
void forage_labels_assign(const forage_labels *l, const forage_nn_index *ix, int *out);

/* Frees l; accepts NULL. */
void forage_labels_free(forage_labels *l);

#endif /* FORAGE_LABELS_H */
