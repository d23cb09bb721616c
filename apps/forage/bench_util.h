/*
 * What Forage's two benchmarks (bench_nn.c, bench_slate.c) both need: a
 * monotonic clock in nanoseconds and a sorted sample's percentile.
 */
#ifndef FORAGE_BENCH_UTIL_H
#define FORAGE_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t
forage_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int
forage_bench_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

/* Sorts v[0..n) and returns its p-quantile (nearest rank), n >= 1. */
static inline uint64_t
forage_bench_quantile(uint64_t *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), forage_bench_cmp_u64);
    return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

#endif /* FORAGE_BENCH_UTIL_H */
