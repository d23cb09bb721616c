/*
 * One open region per directory (store/dirlock.h): a second region opened
 * on a directory in use - by another cluster of this process here; another
 * process is the same flock - is refused with TIDAL_EBUSY and changes
 * nothing there, and the directory is free again once its region is closed
 * or crashed.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tidal/region.h"
#include "tidal_test.h"

TIDAL_SUITE(region_dirlock);

static tidal_region *
open_in(tidal_cluster *c, const char *dir, int *rv)
{
    tidal_region_opts o = {.region_id = 0, .dir = dir, .durability = TIDAL_SYNC};
    tidal_region *r = NULL;
    *rv = tidal_region_open(c, &o, &r);
    return r;
}

/* A fingerprint of what is in dir/wal/shard-0000: names and sizes. */
static void
listing(const char *dir, char *out, size_t cap)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/wal/shard-0000", dir);
    out[0] = '\0';
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s", path);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char f[1024];
        struct stat st;
        snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
        cr_assert_eq(stat(f, &st), 0);
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s:%lld ", e->d_name, (long long)st.st_size);
    }
    closedir(d);
}

Test(region_dirlock, a_directory_in_use_is_refused_and_freed_by_close_or_crash)
{
    const char *tmp = tidal_test_tmpdir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/r0", tmp);
    tidal_cluster *a, *b;
    tidal_cluster_opts co = {0};
    TIDAL_PASS(tidal_cluster_open(&co, &a));
    TIDAL_PASS(tidal_cluster_open(&co, &b));
    int rv;
    tidal_region *ra = open_in(a, dir, &rv);
    TIDAL_PASS(rv);
    TIDAL_PASS(tidal_hide_item(ra, 1, 2));
    char before[4096], after[4096];
    listing(dir, before, sizeof(before));

    cr_assert_null(open_in(b, dir, &rv));
    cr_assert_eq(rv, TIDAL_EBUSY, "a second region on a directory in use: %s", tidal_errname(rv));
    listing(dir, after, sizeof(after));
    cr_assert_str_eq(before, after, "the refused open changed the directory");
    TIDAL_PASS(tidal_hide_item(ra, 1, 3)); /* the first one goes on */

    TIDAL_PASS(tidal_region_close(ra));
    tidal_region *rb = open_in(b, dir, &rv);
    TIDAL_PASS(rv);
    cr_assert_not_null(rb);
    tidal_entity_id cand[2] = {2, 3};
    tidal_scored_item got[2];
    size_t n = 9;
    tidal_retrieve q = {.user = 1, .candidates = cand, .ncandidates = 2};
    TIDAL_PASS(tidal_retrieve_items(rb, &q, got, &n));
    cr_assert_eq(n, 0, "the region opened in the other cluster has both hides");

    TIDAL_PASS(tidal_region_crash(rb));
    ra = open_in(a, dir, &rv);
    TIDAL_PASS(rv);
    cr_assert_not_null(ra, "a crashed region frees its directory");
    TIDAL_PASS(tidal_cluster_close(a));
    TIDAL_PASS(tidal_cluster_close(b));
    tidal_test_rmdir(tmp);
}
