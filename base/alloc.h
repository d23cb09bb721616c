/*
 * Allocation: libc's allocator behind one seam, so that tests can make
 * allocations fail and check that every operation reporting TIDAL_ENOMEM has
 * changed nothing.  The replicated-state tables of store/ allocate through
 * it.
 *
 * The failure switch is per thread and off unless a test turns it on; in
 * normal use these are malloc, calloc, realloc and free.
 */
#ifndef TIDAL_BASE_ALLOC_H
#define TIDAL_BASE_ALLOC_H

#include <stddef.h>

/* malloc.  NULL when out of memory or when the test switch says so. */
void *tidal__malloc(size_t n);

/* calloc, with the product checked for overflow.  NULL on failure. */
void *tidal__calloc(size_t count, size_t size);

/* realloc.  NULL on failure, and then p is untouched and still owned by the
 * caller. */
void *tidal__realloc(void *p, size_t n);

/* calloc for a big table probed at random (a hash table of millions of
 * entries): from TIDAL__TABLE_HUGE_BYTES up, aligned to 2 MiB and advised
 * to use transparent huge pages, so that a probe costs a cache miss but no
 * page-table walk.  Freed with tidal__free.  NULL on failure. */
#define TIDAL__TABLE_HUGE_BYTES (4u << 20)
void *tidal__calloc_table(size_t count, size_t size);

/* free.  Accepts NULL. */
void tidal__free(void *p);

/* Test switch: the next n allocations on this thread succeed and every one
 * after them fails, until called again; a negative n turns failures off.
 * Cannot fail. */
void tidal__alloc_fail_after(long n);

#endif /* TIDAL_BASE_ALLOC_H */
