/*
 * A catalogue ready to serve: loaded, indexed for k-NN, labelled.  The
 * forage command and the live app (app.h) both start from one.
 */
#ifndef FORAGE_LABELLED_H
#define FORAGE_LABELLED_H

#include "catalogue.h"
#include "labels.h"
#include "nn.h"

/* A catalogue, its index, its labels and each item's label. */
typedef struct forage_labelled {
    forage_catalogue *cat;
    forage_nn_index *ix;
    forage_labels *labels;
    int *label; /* cat->n */
} forage_labelled;

/* Loads the catalogue at cat_path and the labels at labels_path and labels
 * every item.  On failure err (FORAGE_ERR_BYTES) says what is wrong
 * ("path:line: what" for a bad file), what was made is freed, and the
 * error is returned. */
__attribute__((warn_unused_result)) int forage_labelled_load(const char *cat_path,
                                                             const char *labels_path,
                                                             float threshold, forage_labelled *out,
                                                             char *err);

/* Frees what forage_labelled_load made; accepts a zeroed struct. */
void forage_labelled_free(forage_labelled *l);

#endif /* FORAGE_LABELLED_H */
