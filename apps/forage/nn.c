/*
 * Exact k-NN: every row is scored (a dense pass the compiler vectorises),
 * then the top k are kept by insertion into a sorted array, which for k up to
 * FORAGE_NN_K_MAX costs little beside the n dot products.
 */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "limits.h"

size_t
forage_nn_stride(size_t dim)
{
    return (dim + FORAGE_NN_LANES - 1) / FORAGE_NN_LANES * FORAGE_NN_LANES;
}

int
forage_nn_normalise(const float *in, size_t dim, float *out)
{
    double sum = 0.0;
    for (size_t i = 0; i < dim; i++) {
        sum += (double)in[i] * in[i];
    }
    if (!(sum > 0.0) || !isfinite(sum)) {
        return TIDAL_EINVAL;
    }
    double inv = 1.0 / sqrt(sum);
    size_t stride = forage_nn_stride(dim);
    for (size_t i = 0; i < dim; i++) {
        out[i] = (float)(in[i] * inv);
    }
    for (size_t i = dim; i < stride; i++) {
        out[i] = 0.0f;
    }
    return 0;
}

int
forage_nn_build(const float *vec, size_t n, size_t dim, forage_nn_index **out)
{
    *out = NULL;
    if (n == 0 || n > UINT32_MAX || dim == 0 || dim > FORAGE_DIM_MAX) {
        return TIDAL_EINVAL;
    }
    forage_nn_index *ix = calloc(1, sizeof(*ix));
    if (ix == NULL) {
        return TIDAL_ENOMEM;
    }
    ix->n = n;
    ix->dim = dim;
    ix->stride = forage_nn_stride(dim);
    /* aligned_alloc wants a multiple of the alignment. */
    size_t bytes = (n * ix->stride * sizeof(float) + 63) / 64 * 64;
    ix->rows = aligned_alloc(64, bytes);
    ix->scores = malloc(n * sizeof(float));
    if (ix->rows == NULL || ix->scores == NULL) {
        forage_nn_free(ix);
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (forage_nn_normalise(vec + i * dim, dim, ix->rows + i * ix->stride) != 0) {
            forage_nn_free(ix);
            return TIDAL_EINVAL;
        }
    }
    *out = ix;
    return 0;
}

void
forage_nn_free(forage_nn_index *ix)
{
    if (ix == NULL) {
        return;
    }
    free(ix->rows);
    free(ix->scores);
    free(ix);
}

float
forage_nn_dot(const float *restrict a, const float *restrict b, size_t stride)
{
    /* FORAGE_NN_LANES partial sums, each a sequence of its own: the inner
     * loop has a fixed trip count and no dependency between its iterations,
     * so it becomes packed multiplies and adds. */
    float acc[FORAGE_NN_LANES] = {0};
    for (size_t i = 0; i < stride; i += FORAGE_NN_LANES) {
        for (size_t j = 0; j < FORAGE_NN_LANES; j++) {
            acc[j] += a[i + j] * b[i + j];
        }
    }
    float sum = 0.0f;
    for (size_t j = 0; j < FORAGE_NN_LANES; j++) {
        sum += acc[j];
    }
    return sum;
}

float
forage_nn_dot_scalar(const float *a, const float *b, size_t dim)
{
    float sum = 0.0f;
    for (size_t i = 0; i < dim; i++) {
        sum += a[i] * b[i];
    }
    return sum;
}

/* Keeps the k best of the scores in out, sorted: higher score first, then
 * lower row.  Returns the count kept. */
static size_t
top_k(const float *scores, size_t n, size_t k, long skip, forage_nn_hit *out)
{
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        if ((long)i == skip) {
            continue;
        }
        float s = scores[i];
        /* Rows come in increasing order, so a tie never displaces a kept row. */
        if (have == k && !(s > out[k - 1].score)) {
            continue;
        }
        size_t at = have < k ? have++ : k - 1;
        while (at > 0 && s > out[at - 1].score) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = (forage_nn_hit){.row = (uint32_t)i, .score = s};
    }
    return have;
}

int
forage_nn_search(forage_nn_index *ix, const float *query, size_t k, long skip, forage_nn_hit *out,
                 size_t *n_out)
{
    if (k == 0 || k > FORAGE_NN_K_MAX) {
        return TIDAL_EINVAL;
    }
    const size_t stride = ix->stride;
    const float *restrict rows = ix->rows;
    float *restrict scores = ix->scores;
    for (size_t i = 0; i < ix->n; i++) {
        scores[i] = forage_nn_dot(rows + i * stride, query, stride);
    }
    *n_out = top_k(scores, ix->n, k, skip, out);
    return 0;
}

int
forage_nn_search_scalar(forage_nn_index *ix, const float *query, size_t k, long skip,
                        forage_nn_hit *out, size_t *n_out)
{
    if (k == 0 || k > FORAGE_NN_K_MAX) {
        return TIDAL_EINVAL;
    }
    for (size_t i = 0; i < ix->n; i++) {
        ix->scores[i] = forage_nn_dot_scalar(ix->rows + i * ix->stride, query, ix->dim);
    }
    *n_out = top_k(ix->scores, ix->n, k, skip, out);
    return 0;
}
