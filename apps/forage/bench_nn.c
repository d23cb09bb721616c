/*
 * bench_nn: exact k-NN over a catalogue, the vectorised search beside the
 * plain scalar loop, in the same run.  Each run queries every item (or the
 * first --queries) for its k nearest; runs alternate between the two
 * searches, and the medians are reported.  It also counts the queries whose
 * neighbour lists differ between the two (near-ties may swap; see nn.h).
 *
 *   bench_nn [--catalogue F] [--runs N] [--queries N] [--k N] [--quick]
 *
 * Prints one JSON object; exit 1 if a search fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tidal/errors.h>

#include "bench_util.h"
#include "catalogue.h"
#include "limits.h"
#include "nn.h"

#define RUNS_MAX 101

typedef int (*search_fn)(forage_nn_index *, const float *, size_t, long, forage_nn_hit *, size_t *);

/* One pass over the queries; the hits of every query into hits (q * k). */
static int
pass(search_fn fn, forage_nn_index *ix, size_t q, size_t k, forage_nn_hit *hits, uint64_t *ns)
{
    uint64_t t0 = forage_bench_now_ns();
    for (size_t i = 0; i < q; i++) {
        size_t got;
        int rv = fn(ix, ix->rows + i * ix->stride, k, (long)i, hits + i * k, &got);
        if (rv != 0 || got != k) {
            return rv ? rv : TIDAL_ESTATE;
        }
    }
    *ns = forage_bench_now_ns() - t0;
    return 0;
}

typedef struct args {
    const char *path;
    size_t runs, queries, k;
} args;

static int
parse_args(int argc, char **argv, args *a)
{
    *a = (args){.path = FORAGE_DATA_DIR "/catalogue.tsv", .runs = 7, .k = 10};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            a->runs = 1;
            a->queries = 50;
        } else if (i + 1 < argc && strcmp(argv[i], "--catalogue") == 0) {
            a->path = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0) {
            a->runs = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--queries") == 0) {
            a->queries = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--k") == 0) {
            a->k = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_nn [--catalogue F] [--runs N] [--queries N] [--k N] "
                            "[--quick]\n");
            return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a) != 0) {
        return 2;
    }
    const char *path = a.path;
    size_t runs = a.runs, queries = a.queries, k = a.k;
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    forage_nn_index *ix;
    if (forage_catalogue_load(path, &c, err) != 0) {
        fprintf(stderr, "bench_nn: %s\n", err);
        return 1;
    }
    if (forage_nn_build(c->vec, c->n, c->dim, &ix) != 0) {
        fprintf(stderr, "bench_nn: cannot index %s\n", path);
        forage_catalogue_free(c);
        return 1;
    }
    if (queries == 0 || queries > c->n) {
        queries = c->n;
    }
    if (runs == 0 || runs > RUNS_MAX || k == 0 || k >= c->n || k > 256) {
        fprintf(stderr, "bench_nn: --runs 1..%d, --k 1..min(256, items - 1)\n", RUNS_MAX);
        return 2;
    }
    forage_nn_hit *hv = malloc(queries * k * sizeof(*hv));
    forage_nn_hit *hs = malloc(queries * k * sizeof(*hs));
    uint64_t tv[RUNS_MAX], ts[RUNS_MAX];
    int rv = hv && hs ? 0 : TIDAL_ENOMEM;
    for (size_t r = 0; r < runs && rv == 0; r++) {
        rv = pass(forage_nn_search_scalar, ix, queries, k, hs, &ts[r]);
        if (rv == 0) {
            rv = pass(forage_nn_search, ix, queries, k, hv, &tv[r]);
        }
    }
    size_t differ = 0;
    for (size_t i = 0; rv == 0 && i < queries; i++) {
        for (size_t j = 0; j < k; j++) {
            if (hv[i * k + j].row != hs[i * k + j].row) {
                differ++;
                break;
            }
        }
    }
    if (rv == 0) {
        double v = (double)forage_bench_quantile(tv, runs, 0.5) / (double)queries,
               s = (double)forage_bench_quantile(ts, runs, 0.5) / (double)queries;
        printf("{\"bench\": \"nn\", \"items\": %zu, \"dim\": %zu, \"stride\": %zu, \"k\": %zu, "
               "\"queries\": %zu, \"runs\": %zu, \"vectorised_us_per_query\": %.2f, "
               "\"scalar_us_per_query\": %.2f, \"vectorised_queries_per_s\": %.0f, "
               "\"scalar_queries_per_s\": %.0f, \"speedup\": %.2f, "
               "\"queries_with_different_neighbours\": %zu}\n",
               c->n, c->dim, ix->stride, k, queries, runs, v / 1e3, s / 1e3, 1e9 / v, 1e9 / s,
               s / v, differ);
    } else {
        fprintf(stderr, "bench_nn: %s\n", tidal_strerror(rv));
    }
    free(hv);
    free(hs);
    forage_nn_free(ix);
    forage_catalogue_free(c);
    return rv == 0 ? 0 : 1;
}
