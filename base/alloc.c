/*
 * The allocation seam (alloc.h): libc plus a per-thread countdown
 * that tests use to fail the n-th allocation.
 */
#include "base/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE_BYTES (2u << 20)

/* Allocations left before failures start; negative: never fail. */
static _Thread_local long fail_countdown = -1;

/* True when the test switch makes this allocation fail. */
static int
should_fail(void)
{
    if (fail_countdown < 0) {
        return 0;
    }
    if (fail_countdown == 0) {
        return 1;
    }
    fail_countdown--;
    return 0;
}

void *
tidal__malloc(size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return malloc(n);
}

void *
tidal__calloc(size_t count, size_t size)
{
    if (should_fail()) {
        return NULL;
    }
    return calloc(count, size);
}

void *
tidal__realloc(void *p, size_t n)
{
    if (should_fail()) {
        return NULL;
    }
    return realloc(p, n);
}

void *
tidal__calloc_table(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return NULL;
    }
    size_t n = count * size;
    if (n < TIDAL__TABLE_HUGE_BYTES) {
        return tidal__calloc(count, size);
    }
    if (should_fail()) {
        return NULL;
    }
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE_BYTES, n) != 0) {
        return NULL;
    }
    /* advice only: without transparent huge pages this is plain memory */
    (void)madvise(p, n, MADV_HUGEPAGE);
    memset(p, 0, n);
    return p;
}

void
tidal__free(void *p)
{
    free(p);
}

void
tidal__alloc_fail_after(long n)
{
    fail_countdown = n;
}
