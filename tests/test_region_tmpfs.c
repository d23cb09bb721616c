/*
 * A region on a real filesystem that fills up: a 2 MiB tmpfs mounted for
 * the test (in a mount namespace of the test's own, so nothing outlives
 * it), filled with a ballast file until the region's writes fail, then
 * given its space back by deleting the ballast (docs/wal-format.md, "When
 * the disk refuses").  test_region_diskfull.c covers the same ground with
 * failures injected at the system-call boundary, on every machine; this one
 * checks that the kernel's own ENOSPC - partial writes included - is met
 * the same way.  It needs to mount: where that is refused (no root, a
 * container without CAP_SYS_ADMIN), it is skipped, saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "actors/internal.h"
#include "repl_helpers.h"

TIDAL_SUITE(region_tmpfs);

#define USER 7u
#define ITEM 1000u

/* Mounts a tmpfs of size bytes on a fresh directory, in a mount namespace
 * of this process's own; skips the test if that is refused.  The path. */
static const char *
mount_small_tmpfs(const char *size)
{
    static char dir[128];
    char opts[64];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    if (unshare(CLONE_NEWNS) != 0) {
        int err = errno;
        tidal_test_rmdir(dir);
        cr_skip_test("cannot make a mount namespace to mount a small tmpfs in (%s): this test "
                     "needs CAP_SYS_ADMIN; test_region_diskfull covers the same without it",
                     strerror(err));
    }
    snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        int err = errno;
        tidal_test_rmdir(dir);
        cr_skip_test("cannot mount a small tmpfs (%s): this test needs CAP_SYS_ADMIN; "
                     "test_region_diskfull covers the same without it",
                     strerror(err));
    }
    return dir;
}

/* Writes a ballast file until the filesystem is full.  The bytes written. */
static long long
fill(const char *path)
{
    static char chunk[64 * 1024];
    long long total = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "ballast: %s", strerror(errno));
    memset(chunk, 0xba, sizeof(chunk));
    for (size_t want = sizeof(chunk); want > 0;) {
        ssize_t n = write(fd, chunk, want);
        if (n > 0) {
            total += n;
        } else {
            cr_assert(n < 0 && errno == ENOSPC, "ballast: %s", strerror(errno));
            want /= 2; /* the last pages: down to a byte */
        }
    }
    close(fd);
    return total;
}

static bool
peer_caught_up(repl_env *e)
{
    uint64_t last = repl_stats(e->r[0]).last_lsn;
    return repl_stats(e->r[1]).applied_lsn[0] == last && repl_digests_equal(e->r, 2);
}

/* SYNC on a tmpfs filled with ballast: the hide whose batch the full disk
 * refuses fails with TIDAL_EIO (the hides before it fill the last page of
 * the segment first), is not seen (reads, digest) and not shipped; reads go
 * on.  The ballast deleted, the next hide succeeds without a reopen, the
 * refused one is written again and seen, the peer catches up, and a reopen
 * from the directory finds the same state. */
Test(region_tmpfs, sync_region_on_a_full_tmpfs)
{
    const char *mnt = mount_small_tmpfs("2m");
    char dir[192], ballast[192];
    snprintf(dir, sizeof(dir), "%s/region", mnt);
    snprintf(ballast, sizeof(ballast), "%s/ballast", mnt);

    repl_env e;
    repl_cluster(&e, "inproc", 18);
    tidal_region_opts o = {.region_id = 0, .dir = dir, .durability = TIDAL_SYNC};
    repl_open_opts(&e, &o);
    repl_open_region(&e, 1, false, TIDAL_SYNC);
    repl_hide_range(e.r[0], USER, 0, 10);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));

    cr_assert_gt(fill(ballast), 0);
    uint64_t failed = 0;
    uint64_t digest = 0;
    uint64_t last = 0;
    for (uint64_t i = 0; i < 4096 && failed == 0; i++) {
        digest = tidal_region_digest(e.r[0]);
        last = repl_stats(e.r[0]).last_lsn;
        int rv = tidal_hide_item(e.r[0], USER, ITEM + i);
        if (rv == TIDAL_EIO) {
            failed = ITEM + i;
        } else {
            TIDAL_PASS(rv); /* the segment's last page still had room */
        }
    }
    cr_assert_neq(failed, 0, "no hide failed on a full tmpfs");
    cr_log_info("the hide of item %llu failed, at LSN %llu", (unsigned long long)failed,
                (unsigned long long)last + 1);
    cr_assert(!repl_hidden(e.r[0], USER, failed), "the refused hide is seen");
    cr_assert_eq(tidal_region_digest(e.r[0]), digest, "the refused hide changed the state");
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert(st.disk_read_only);
    cr_assert(st.at_risk_first_lsn == last + 1 && st.at_risk_last_lsn == last + 1);
    cr_assert_eq(tidal__ship_sent_upto(e.r[0], 1), last, "a batch not durable was shipped");
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).applied_lsn[0] == last, REPL_DEADLINE_MS));
    cr_assert(!repl_hidden(e.r[1], USER, failed));
    TIDAL_FAIL(tidal_hide_item(e.r[0], USER, failed + 1), TIDAL_EIO); /* still full */
    repl_assert_hidden_range(e.r[0], USER, 0, 10, true);                /* reads go on */

    cr_assert_eq(unlink(ballast), 0);
    TIDAL_PASS(tidal_hide_item(e.r[0], USER, failed + 2));
    cr_assert(repl_hidden(e.r[0], USER, failed), "the refused hide was not written again");
    cr_assert(!repl_hidden(e.r[0], USER, failed + 1));
    cr_assert(!repl_stats(e.r[0]).disk_read_only);
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS), "the peer never caught up");
    cr_assert(repl_hidden(e.r[1], USER, failed));

    uint64_t before = tidal_region_digest(e.r[0]);
    TIDAL_PASS(tidal_region_close(e.r[0]));
    e.r[0] = NULL;
    repl_open_opts(&e, &o);
    cr_assert_eq(tidal_region_digest(e.r[0]), before, "the reopened region differs");
    cr_assert(TIDAL_WAIT_UNTIL(peer_caught_up(&e), REPL_DEADLINE_MS));
    repl_close(&e);
    cr_assert_eq(umount2(mnt, MNT_DETACH), 0);
    tidal_test_rmdir(mnt);
}
