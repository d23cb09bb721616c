/*
 * The forage command's parts shared between its subcommands (cli.h):
 * option parsing and loading a labelled catalogue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "cli.h"

int
forage_opt_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = value ? strtoull(value, &end, 10) : 0;
    if (value == NULL || value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
        v < min || v > max) {
        fprintf(stderr, "forage: %s wants a number in %" PRIu64 "..%" PRIu64 "\n", name, min, max);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int
forage_labelled_load(const char *cat_path, const char *labels_path, float threshold,
                     forage_labelled *out)
{
    char err[FORAGE_ERR_BYTES] = "";
    forage_label_def defs[FORAGE_LABELS_MAX];
    size_t k = 0;
    memset(out, 0, sizeof(*out));
    int rv = forage_catalogue_load(cat_path, &out->cat, err);
    if (rv == 0) {
        rv = forage_labels_read(labels_path, defs, &k, err);
    }
    if (rv == 0 && (rv = forage_nn_build(out->cat->vec, out->cat->n, out->cat->dim, &out->ix))) {
        snprintf(err, sizeof(err), "%s: cannot index: %s", cat_path, tidal_strerror(rv));
    }
    if (rv == 0) {
        rv = forage_labels_build(out->cat, out->ix, defs, k, threshold, &out->labels, err);
    }
    if (rv == 0 && (out->label = malloc(out->cat->n * sizeof(int))) == NULL) {
        rv = TIDAL_ENOMEM;
        snprintf(err, sizeof(err), "out of memory");
    }
    if (rv != 0) {
        fprintf(stderr, "forage: %s\n", err);
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
