/*
 * Exact k-NN: normalisation, order and ties on a hand-made index, the
 * vectorised dot product against the plain one, and the vectorised search
 * giving the plain loop's neighbours over the shipped catalogue.
 */
#include "forage_test.h"

#include <math.h>
#include <string.h>

#include "catalogue.h"
#include "nn.h"
#include "rng.h"

FORAGE_SUITE(nn);

Test(nn, normalise_gives_unit_length_and_zero_padding)
{
    float in[3] = {3, 0, 4}, out[8];
    memset(out, 0x7f, sizeof(out));
    FORAGE_PASS(forage_nn_normalise(in, 3, out));
    cr_assert(fabsf(out[0] - 0.6f) < 1e-7f && fabsf(out[2] - 0.8f) < 1e-7f);
    for (int i = 3; i < 8; i++) {
        cr_assert(out[i] == 0.0f, "padding %d not zeroed", i);
    }
    float zero[3] = {0, 0, 0};
    FORAGE_FAIL(forage_nn_normalise(zero, 3, out), TIDAL_EINVAL);
    cr_assert_eq(forage_nn_stride(1), 8);
    cr_assert_eq(forage_nn_stride(8), 8);
    cr_assert_eq(forage_nn_stride(9), 16);
}

Test(nn, neighbours_come_by_cosine_ties_by_lower_row)
{
    /* Cosines with the query (1, 0): row 0: 1; rows 1 and 3: 0.6 (a tie);
     * row 2: -1; row 4: 0.8 (a long vector: length does not matter). */
    float vec[5 * 2] = {2, 0, 3, 4, -1, 0, 3, -4, 40, 30};
    forage_nn_index *ix;
    FORAGE_PASS(forage_nn_build(vec, 5, 2, &ix));
    float q[8];
    float raw[2] = {1, 0};
    FORAGE_PASS(forage_nn_normalise(raw, 2, q));
    forage_nn_hit hits[8];
    size_t n;
    FORAGE_PASS(forage_nn_search(ix, q, 4, -1, hits, &n));
    cr_assert_eq(n, 4);
    uint32_t want[4] = {0, 4, 1, 3};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(hits[i].row, want[i], "hit %d: row %u", i, hits[i].row);
    }
    cr_assert(fabsf(hits[1].score - 0.8f) < 1e-6f);
    /* Skipping row 0, asking for more than there are. */
    FORAGE_PASS(forage_nn_search_scalar(ix, q, 8, 0, hits, &n));
    cr_assert_eq(n, 4);
    cr_assert_eq(hits[0].row, 4);
    cr_assert_eq(hits[3].row, 2);
    FORAGE_FAIL(forage_nn_search(ix, q, 0, -1, hits, &n), TIDAL_EINVAL);
    FORAGE_FAIL(forage_nn_search(ix, q, 257, -1, hits, &n), TIDAL_EINVAL);
    forage_nn_free(ix);
}

Test(nn, vectorised_dot_equals_the_plain_one_within_rounding)
{
    forage_rng r;
    forage_rng_seed(&r, 11);
    for (size_t dim = 1; dim <= 70; dim++) {
        size_t stride = forage_nn_stride(dim);
        float a[80] = {0}, b[80] = {0};
        for (size_t i = 0; i < dim; i++) {
            a[i] = (float)forage_rng_normal(&r);
            b[i] = (float)forage_rng_normal(&r);
        }
        double exact = 0.0, mag = 0.0;
        for (size_t i = 0; i < dim; i++) {
            exact += (double)a[i] * b[i];
            mag += fabs((double)a[i] * b[i]);
        }
        float v = forage_nn_dot(a, b, stride), s = forage_nn_dot_scalar(a, b, dim);
        /* Float sums of dim terms: error at most ~dim ulps of the magnitude. */
        double tol = (double)dim * 1.2e-7 * mag + 1e-12;
        cr_assert(fabs(v - exact) <= tol, "dim %zu: vectorised %g, exact %g", dim, v, exact);
        cr_assert(fabs(s - exact) <= tol, "dim %zu: scalar %g, exact %g", dim, s, exact);
    }
}

Test(nn, vectorised_search_finds_the_plain_loops_neighbours_on_the_catalogue)
{
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    forage_nn_index *ix;
    FORAGE_PASS(forage_catalogue_load(FORAGE_DATA_DIR "/catalogue.tsv", &c, err));
    FORAGE_PASS(forage_nn_build(c->vec, c->n, c->dim, &ix));
    enum { K = 10 };
    size_t swaps = 0;
    for (size_t q = 0; q < c->n; q += 7) {
        forage_nn_hit v[K], s[K];
        size_t nv, ns;
        const float *query = ix->rows + q * ix->stride;
        FORAGE_PASS(forage_nn_search(ix, query, K, (long)q, v, &nv));
        FORAGE_PASS(forage_nn_search_scalar(ix, query, K, (long)q, s, &ns));
        cr_assert_eq(nv, K);
        cr_assert_eq(ns, K);
        for (size_t i = 0; i < K; i++) {
            cr_assert(fabsf(v[i].score - s[i].score) < 1e-5f, "query %zu hit %zu", q, i);
            if (v[i].row != s[i].row) {
                /* Only a near-tie may swap: the order of additions differs. */
                cr_assert(fabsf(v[i].score - s[i].score) < 1e-6f, "query %zu: rows %u vs %u", q,
                          v[i].row, s[i].row);
                swaps++;
            }
        }
    }
    cr_assert_lt(swaps, 4, "%zu near-tie swaps", swaps);
    forage_nn_free(ix);
    forage_catalogue_free(c);
}
