/*
 * Shared by test_region_kill9.c and the child process it starts
 * (region_kill9_child.c): the regions' options and the writes.
 *
 * The child is a program of its own, started with posix_spawn, not a fork
 * of the test: Criterion's worker already runs nng (its runner speaks
 * nanomsg, which is nng's compatibility layer here), and nng 1.5.2 panics
 * in a forked child that uses it ("nng is not fork-reentrant safe").
 */
#ifndef TIDAL_TESTS_REGION_KILL9_H
#define TIDAL_TESTS_REGION_KILL9_H

#include <stdio.h>
#include <unistd.h>

#include "tidal/region.h"

#define KILL9_WRITES_MAX 100000
#define KILL9_HIDE_ITEM 7u
#define KILL9_USER_BASE 1000u

struct kill9_regions {
    tidal_cluster *c;
    tidal_region *a, *b;
};

/* Opens region A (id 0) and B (id 1), SYNC, in dir/a and dir/b; A's small
 * segments roll over during the run. */
static inline int
kill9_open(const char *dir, struct kill9_regions *o)
{
    char url[96], da[128], db[128];
    snprintf(url, sizeof(url), "inproc://kill9-%d", (int)getpid());
    snprintf(da, sizeof(da), "%s/a", dir);
    snprintf(db, sizeof(db), "%s/b", dir);
    tidal_cluster_opts co = {.url = url, .seed = 9, .workers = 2};
    tidal_region_opts oa = {.region_id = 0, .dir = da, .durability = TIDAL_SYNC,
                            .segment_bytes = 16 << 10, .reconcile_ms = UINT32_MAX};
    tidal_region_opts ob = {.region_id = 1, .dir = db, .durability = TIDAL_SYNC,
                            .role = TIDAL_ROLE_FOLLOWER, .reconcile_ms = UINT32_MAX};
    int rv = tidal_cluster_open(&co, &o->c);
    rv = rv != 0 ? rv : tidal_region_open(o->c, &oa, &o->a);
    return rv != 0 ? rv : tidal_region_open(o->c, &ob, &o->b);
}

#endif /* TIDAL_TESTS_REGION_KILL9_H */
