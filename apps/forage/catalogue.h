/*
 * A catalogue: items with an id, a title, a creation time and a fixed-length
 * float vector (an embedding).  The text format is in docs/catalogue.md; the
 * loader checks every field and refuses a bad file with "file:line: what".
 *
 * Invariants of a loaded catalogue: 1 <= n <= FORAGE_ITEMS_MAX, 1 <= dim <=
 * FORAGE_DIM_MAX, ids unique, every float finite, no vector all zeros, and
 * items in file order.
 */
#ifndef FORAGE_CATALOGUE_H
#define FORAGE_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "limits.h"

typedef struct forage_catalogue {
    size_t n;         /* items */
    size_t dim;       /* floats per item */
    uint64_t *ids;    /* n */
    int64_t *created; /* n; seconds since the Unix epoch, UTC */
    char **titles;    /* n; each NUL-terminated, owned by the catalogue */
    float *vec;       /* n * dim, row-major, as read */
} forage_catalogue;

/* Reads a catalogue from path.  On success *out is owned by the caller
 * (forage_catalogue_free).  On failure returns TIDAL_ECORRUPT for a bad file,
 * TIDAL_EIO if it cannot be read, TIDAL_ENOMEM, or TIDAL_ETOOBIG past
 * FORAGE_ITEMS_MAX; err (FORAGE_ERR_BYTES) says "path:line: what is wrong"
 * and *out is NULL. */
__attribute__((warn_unused_result)) int forage_catalogue_load(const char *path,
                                                              forage_catalogue **out, char *err);

/* The same from an open stream; name is what error messages call it. */
__attribute__((warn_unused_result)) int forage_catalogue_read(FILE *f, const char *name,
                                                              forage_catalogue **out, char *err);

/* Writes c in the documented format, vectors with %.4f.  Returns TIDAL_EIO
 * if the stream fails (part of it may have been written). */
__attribute__((warn_unused_result)) int forage_catalogue_write(const forage_catalogue *c, FILE *f);

/* The index of the item with this id, or -1.  A linear scan: catalogues are
 * small and this is for set-up, not per query.  Cannot fail. */
long forage_catalogue_find(const forage_catalogue *c, uint64_t id);

/* Frees c and everything it owns; accepts NULL. */
void forage_catalogue_free(forage_catalogue *c);

#endif /* FORAGE_CATALOGUE_H */
