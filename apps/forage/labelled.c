/*
 * Loading a labelled catalogue (labelled.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "labelled.h"

int
forage_labelled_load(const char *cat_path, const char *labels_path, float threshold,
                     forage_labelled *out, char *err)
{
    err[0] = '\0';
    forage_label_def defs[FORAGE_LABELS_MAX];
    size_t k = 0;
    memset(out, 0, sizeof(*out));
    int rv = forage_catalogue_load(cat_path, &out->cat, err);
    if (rv == 0) {
        rv = forage_labels_read(labels_path, defs, &k, err);
    }
    if (rv == 0 && (rv = forage_nn_build(out->cat->vec, out->cat->n, out->cat->dim, &out->ix))) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: cannot index: %s", cat_path, tidal_strerror(rv));
    }
    if (rv == 0) {
        rv = forage_labels_build(out->cat, out->ix, defs, k, threshold, &out->labels, err);
    }
    if (rv == 0 && (out->label = malloc(out->cat->n * sizeof(int))) == NULL) {
        rv = TIDAL_ENOMEM;
        snprintf(err, FORAGE_ERR_BYTES, "out of memory");
    }
    if (rv != 0) {
        forage_labelled_free(out);
        return rv;
    }
    forage_labels_assign(out->labels, out->ix, out->label);
    return 0;
}

void
forage_labelled_free(forage_labelled *l)
{
    free(l->label);
    forage_labels_free(l->labels);
    forage_nn_free(l->ix);
    forage_catalogue_free(l->cat);
    memset(l, 0, sizeof(*l));
}
