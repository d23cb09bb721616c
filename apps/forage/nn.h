/*
 * Exact k-nearest-neighbour search by cosine similarity.
 *
 * An index holds every vector normalised to unit length, in contiguous rows
 * of `stride` floats: dim rounded up to FORAGE_NN_LANES and zero padded, so
 * the dot product is a fixed inner loop of FORAGE_NN_LANES independent sums
 * that the compiler turns into SIMD (no reassociation of one sum is needed,
 * so it does so without -ffast-math).  The scalar reference computes the same
 * cosines with one plain sequential sum; both then pick the top k the same
 * way.  Their scores differ only by float rounding (the order of additions).
 *
 * Results are ordered by score, highest first, ties by lower row index.
 */
#ifndef FORAGE_NN_H
#define FORAGE_NN_H

#include <stddef.h>
#include <stdint.h>

/* Floats summed side by side: 8 fills two SSE registers or one AVX one. */
#define FORAGE_NN_LANES 8

typedef struct forage_nn_index {
    size_t n;      /* rows */
    size_t dim;    /* floats that carry data in each row */
    size_t stride; /* floats per row: dim rounded up to FORAGE_NN_LANES */
    float *rows;   /* n * stride, unit length, zero padded, 64-byte aligned */
    float *scores; /* n: a search's scratch; an index serves one search at a time */
} forage_nn_index;

typedef struct forage_nn_hit {
    uint32_t row;
    float score; /* cosine similarity, -1..1 */
} forage_nn_hit;

/* Floats per padded row for dim.  Cannot fail. */
size_t forage_nn_stride(size_t dim);

/* Writes in (dim floats) scaled to unit length into out (stride floats, the
 * padding zeroed).  Returns TIDAL_EINVAL, out untouched, for a zero or
 * non-finite vector. */
__attribute__((warn_unused_result)) int forage_nn_normalise(const float *in, size_t dim,
                                                            float *out);

/* Builds an index over n rows of dim floats (row-major).  On success *out is
 * the caller's (forage_nn_free).  Returns TIDAL_EINVAL for n or dim out of
 * range or a row that cannot be normalised, TIDAL_ENOMEM; *out is then NULL. */
__attribute__((warn_unused_result)) int forage_nn_build(const float *vec, size_t n, size_t dim,
                                                        forage_nn_index **out);

/* Frees an index; accepts NULL. */
void forage_nn_free(forage_nn_index *ix);

/* The dot product of two padded rows, vectorised.  Cannot fail. */
float forage_nn_dot(const float *restrict a, const float *restrict b, size_t stride);

/* The same with one sequential sum over dim floats: the reference. */
float forage_nn_dot_scalar(const float *a, const float *b, size_t dim);

/* The k rows nearest to query (a unit row of ix->stride floats), skipping row
 * `skip` (pass -1 to skip none: an item's own row when looking for its
 * neighbours).  Writes min(k, rows searched) hits to out, count to *n_out.
 * Returns TIDAL_EINVAL, nothing written, for k outside 1..FORAGE_NN_K_MAX. */
__attribute__((warn_unused_result)) int forage_nn_search(forage_nn_index *ix, const float *query,
                                                         size_t k, long skip, forage_nn_hit *out,
                                                         size_t *n_out);

/* The same through forage_nn_dot_scalar: the plain loop it is checked and
 * measured against. */
__attribute__((warn_unused_result)) int forage_nn_search_scalar(forage_nn_index *ix,
                                                                const float *query, size_t k,
                                                                long skip, forage_nn_hit *out,
                                                                size_t *n_out);

#endif /* FORAGE_NN_H */
