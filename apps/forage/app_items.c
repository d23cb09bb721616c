/*
 * The catalogue's items as the app looks them up (app_impl.h): by id, for
 * the ids tidal hands back, and newest first, for the fresh source.
 */
#include <pthread.h>
#include <stdlib.h>

#include "tidal/errors.h"

#include "app_impl.h"

static const forage_app *sort_app; /* qsort has no argument: set under sort_lock */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int
cmp_id(const void *x, const void *y)
{
    uint64_t a = sort_app->cat->ids[*(const uint32_t *)x];
    uint64_t b = sort_app->cat->ids[*(const uint32_t *)y];
    return a < b ? -1 : a > b;
}

static int
cmp_newest(const void *x, const void *y)
{
    uint32_t ra = *(const uint32_t *)x, rb = *(const uint32_t *)y;
    int64_t a = sort_app->cat->created[ra], b = sort_app->cat->created[rb];
    if (a != b)
        return a > b ? -1 : 1;
    return ra < rb ? -1 : ra > rb;
}

long
forage_app_row(const struct forage_app *a, uint64_t id)
{
    size_t lo = 0, hi = a->cat->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t m = a->cat->ids[a->by_id[mid]];
        if (m == id)
            return (long)a->by_id[mid];
        if (m < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

int
forage_app_orders(struct forage_app *a)
{
    size_t n = a->cat->n;
    a->by_id = malloc(n * sizeof(uint32_t));
    a->fresh = malloc(n * sizeof(uint32_t));
    if (a->by_id == NULL || a->fresh == NULL)
        return TIDAL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a->by_id[i] = a->fresh[i] = (uint32_t)i;
    pthread_mutex_lock(&sort_lock);
    sort_app = a;
    qsort(a->by_id, n, sizeof(uint32_t), cmp_id);
    qsort(a->fresh, n, sizeof(uint32_t), cmp_newest);
    sort_app = NULL;
    pthread_mutex_unlock(&sort_lock);
    return 0;
}
