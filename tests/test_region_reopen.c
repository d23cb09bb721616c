/*
 * A region with a directory rebuilds its state from its own log on open, so
 * it keeps every segment of it: alone (no peer to keep anything for) or
 * after every peer acknowledged everything.  An earlier version deleted the
 * acknowledged segments and, reopened, recovered nothing at all.  A log
 * whose oldest segments were removed by hand gives back what it still
 * holds.
 */
#include <dirent.h>

#include "repl_helpers.h"

TIDAL_SUITE(region_reopen);

#define WRITES 1500
#define ITEM 7u

static tidal_region_opts
small_segments(repl_env *e, int id)
{
    return (tidal_region_opts){.region_id = (tidal_region_id)id,
                               .dir = repl_dir_of(e, id),
                               .durability = TIDAL_SYNC,
                               .segment_bytes = 8 << 10,
                               .reconcile_ms = UINT32_MAX};
}

/* How many of users [from, to) r hides ITEM for. */
static int
count_hidden(tidal_region *r, int from, int to)
{
    int n = 0;
    for (int u = from; u < to; u++) {
        n += repl_hidden(r, (tidal_entity_id)u, ITEM);
    }
    return n;
}

/* The segment files of region id's own log (origin id, shard 0), sorted. */
static int
own_segments(repl_env *e, int id, char names[][520], int max)
{
    char path[256], prefix[8];
    snprintf(path, sizeof(path), "%s/wal/shard-0000", repl_dir_of(e, id));
    snprintf(prefix, sizeof(prefix), "r%04x-", id);
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort), k = 0;
    cr_assert_geq(n, 0, "no log directory %s", path);
    for (int i = 0; i < n; i++) {
        if (strncmp(list[i]->d_name, prefix, 6) == 0 && k < max) {
            snprintf(names[k++], 520, "%s/%s", path, list[i]->d_name);
        }
        free(list[i]);
    }
    free(list);
    return k;
}

static void
write_hides(tidal_region *r, int n)
{
    for (int u = 0; u < n; u++) {
        TIDAL_PASS(tidal_hide_item(r, (tidal_entity_id)u, ITEM));
    }
}

/* A lone region 0 with small segments, WRITES hides written, closed.
 * Returns its options (to reopen it) and lists its segment files. */
static tidal_region_opts
lone_region_written(repl_env *e, uint64_t seed, char names[][520], int max, int *segs)
{
    repl_cluster(e, "inproc", seed);
    tidal_region_opts o = small_segments(e, 0);
    TIDAL_PASS(tidal_region_open(e->c, &o, &e->r[0]));
    e->n = 1;
    write_hides(e->r[0], WRITES);
    TIDAL_PASS(tidal_region_close(e->r[0]));
    *segs = own_segments(e, 0, names, max);
    return o;
}

Test(region_reopen, a_lone_region_keeps_its_whole_log)
{
    repl_env e;
    static char names[256][520];
    int segs;
    tidal_region_opts o = lone_region_written(&e, 31, names, 256, &segs);
    cr_assert_gt(segs, 10, "the log rolled over many times (%d segments)", segs);
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES);
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "every acknowledged hide");
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "and after a crash");
    repl_close(&e);
}

Test(region_reopen, an_origin_keeps_what_its_peer_acknowledged)
{
    repl_env e;
    repl_cluster(&e, "inproc", 32);
    tidal_region_opts o0 = small_segments(&e, 0), o1 = small_segments(&e, 1);
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o1, &e.r[1]));
    e.n = 2;
    write_hides(e.r[0], WRITES);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] == WRITES, REPL_DEADLINE_MS),
              "region 1 acknowledged the whole log");
    TIDAL_PASS(tidal_region_close(e.r[1])); /* nobody to reconcile from */
    e.r[1] = NULL;
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "region 0 alone has them all");
    repl_close(&e);
}

Test(region_reopen, a_log_missing_its_head_gives_back_the_rest)
{
    repl_env e;
    static char names[256][520];
    int segs;
    tidal_region_opts o = lone_region_written(&e, 33, names, 256, &segs);
    cr_assert_gt(segs, 3);
    cr_assert_eq(unlink(names[0]), 0); /* the oldest two, by hand */
    cr_assert_eq(unlink(names[1]), 0);
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    int kept = count_hidden(e.r[0], 0, WRITES);
    cr_log_info("%d segments, the oldest two removed: %d of %d hides kept", segs, kept, WRITES);
    cr_assert_gt(kept, 0, "what the remaining segments hold is recovered");
    cr_assert_lt(kept, WRITES);
    cr_assert(repl_hidden(e.r[0], WRITES - 1, ITEM), "the newest write");
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES, "the log goes on where it was");
    repl_close(&e);
}
