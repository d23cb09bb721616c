/*
 * The allocation seam (alloc.h): libc plus a per-thread countdown
 * that tests use to fail the n-th allocation.
 */
#include "base/alloc.h"

#include <stdlib.h>

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
