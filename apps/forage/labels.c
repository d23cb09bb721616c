/*
 * Labels from examples (labels.h).  A label's vector averages its examples
 * after normalising each, so one long vector cannot outweigh the others, and
 * is normalised again, so comparing it with a unit item is a cosine.
 */
#include "labels.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

static int
parse_ids(char *list, forage_label_def *d)
{
    d->n_examples = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        if (d->n_examples == FORAGE_LABEL_EXAMPLES_MAX) {
            return -2;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(tok, &end, 10);
        if (tok[0] < '0' || tok[0] > '9' || *end != '\0' || errno != 0 || v == 0) {
            return -1;
        }
        d->examples[d->n_examples++] = (uint64_t)v;
    }
    return d->n_examples == 0 ? -1 : 0;
}

/* One definition line; on failure err says what. */
static int
parse_def(char *line, forage_label_def *defs, size_t *k, char *err, const char *path, long ln)
{
    char *tab = strchr(line, '\t');
    if (tab == NULL) {
        snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: want <name> TAB <id>[,<id>...]", path, ln);
        return TIDAL_ECORRUPT;
    }
    *tab = '\0';
    size_t len = strlen(line);
    if (len == 0 || len > FORAGE_LABEL_NAME_BYTES_MAX) {
        snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: label name of %zu bytes: want 1..%d", path, ln,
                 len, FORAGE_LABEL_NAME_BYTES_MAX);
        return TIDAL_ECORRUPT;
    }
    for (size_t i = 0; i < *k; i++) {
        if (strcmp(defs[i].name, line) == 0) {
            snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: label '%s' defined twice", path, ln, line);
            return TIDAL_ECORRUPT;
        }
    }
    if (*k == FORAGE_LABELS_MAX) {
        snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: more than %d labels", path, ln, FORAGE_LABELS_MAX);
        return TIDAL_ECORRUPT;
    }
    forage_label_def *d = &defs[*k];
    memcpy(d->name, line, len + 1);
    int rv = parse_ids(tab + 1, d);
    if (rv != 0) {
        snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: %s", path, ln,
                 rv == -2 ? "too many example ids" : "bad example id list");
        return TIDAL_ECORRUPT;
    }
    (*k)++;
    return 0;
}

int
forage_labels_read(const char *path, forage_label_def *defs, size_t *k, char *err)
{
    *k = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: %s", path, strerror(errno));
        return TIDAL_EIO;
    }
    char buf[FORAGE_LINE_BYTES_MAX + 2];
    long ln = 0;
    int rv = 0;
    while (rv == 0 && fgets(buf, sizeof(buf), f) != NULL) {
        ln++;
        size_t len = strcspn(buf, "\r\n");
        if (buf[len] == '\0' && len > FORAGE_LINE_BYTES_MAX) {
            snprintf(err, FORAGE_ERR_BYTES, "%s:%ld: line too long", path, ln);
            rv = TIDAL_ECORRUPT;
            break;
        }
        buf[len] = '\0';
        if (len > 0 && buf[0] != '#') {
            rv = parse_def(buf, defs, k, err, path, ln);
        }
    }
    if (rv == 0 && ferror(f)) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: read error", path);
        rv = TIDAL_EIO;
    }
    if (rv == 0 && *k == 0) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: no labels", path);
        rv = TIDAL_ECORRUPT;
    }
    fclose(f);
    return rv;
}

int
forage_labels_write(const forage_label_def *defs, size_t k, FILE *f)
{
    for (size_t i = 0; i < k; i++) {
        fprintf(f, "%s\t", defs[i].name);
        for (size_t j = 0; j < defs[i].n_examples; j++) {
            fprintf(f, "%s%" PRIu64, j ? "," : "", defs[i].examples[j]);
        }
        fputc('\n', f);
    }
    return ferror(f) ? TIDAL_EIO : 0;
}

/* The normalised mean of one label's examples into out (stride floats). */
static int
label_vector(const forage_catalogue *c, const forage_nn_index *ix, const forage_label_def *d,
             float *out, char *err)
{
    float sum[FORAGE_DIM_MAX] = {0};
    for (size_t j = 0; j < d->n_examples; j++) {
        long row = forage_catalogue_find(c, d->examples[j]);
        if (row < 0) {
            snprintf(err, FORAGE_ERR_BYTES,
                     "label '%s': example id %" PRIu64 " not in the catalogue", d->name,
                     d->examples[j]);
            return TIDAL_EINVAL;
        }
        const float *r = ix->rows + (size_t)row * ix->stride;
        for (size_t i = 0; i < ix->dim; i++) {
            sum[i] += r[i];
        }
    }
    if (forage_nn_normalise(sum, ix->dim, out) != 0) {
        /* Examples that cancel out exactly: no direction to label by. */
        snprintf(err, FORAGE_ERR_BYTES, "label '%s': its examples sum to zero", d->name);
        return TIDAL_EINVAL;
    }
    return 0;
}

int
forage_labels_build(const forage_catalogue *c, const forage_nn_index *ix,
                    const forage_label_def *defs, size_t k, float threshold, forage_labels **out,
                    char *err)
{
    *out = NULL;
    if (k == 0 || k > FORAGE_LABELS_MAX) {
        snprintf(err, FORAGE_ERR_BYTES, "%zu labels: want 1..%d", k, FORAGE_LABELS_MAX);
        return TIDAL_EINVAL;
    }
    forage_labels *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        return TIDAL_ENOMEM;
    }
    l->k = k;
    l->stride = ix->stride;
    l->threshold = threshold;
    memcpy(l->defs, defs, k * sizeof(*defs));
    l->vec = malloc(k * ix->stride * sizeof(float));
    if (l->vec == NULL) {
        free(l);
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < k; i++) {
        int rv = label_vector(c, ix, &defs[i], l->vec + i * ix->stride, err);
        if (rv != 0) {
            forage_labels_free(l);
            return rv;
        }
    }
    *out = l;
    return 0;
}

int
forage_labels_nearest(const forage_labels *l, const float *row, float *sim)
{
    int best = FORAGE_UNLABELLED;
    float best_sim = -2.0f;
    for (size_t i = 0; i < l->k; i++) {
        float s = forage_nn_dot(l->vec + i * l->stride, row, l->stride);
        if (s > best_sim) {
            best_sim = s;
            best = (int)i;
        }
    }
    if (sim != NULL) {
        *sim = best_sim;
    }
    return best_sim >= l->threshold ? best : FORAGE_UNLABELLED;
}

void
forage_labels_assign(const forage_labels *l, const forage_nn_index *ix, int *out)
{
    for (size_t i = 0; i < ix->n; i++) {
        out[i] = forage_labels_nearest(l, ix->rows + i * ix->stride, NULL);
    }
}

void
forage_labels_free(forage_labels *l)
{
    if (l == NULL) {
        return;
    }
    free(l->vec);
    free(l);
}
