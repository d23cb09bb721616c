/*
 * Segment files: names, directories, creation and roll-over (the scanner
 * that reads batches back for recovery and for readers: wal_scan.c).
 *
 * On disk:
 *   <dir>/wal/shard-SSSS/rOOOO-LLLLLLLLLLLLLLLL.seg
 *   S shard, O origin region, L first LSN of the segment: lower-case hex,
 *   fixed width, so names sorted as strings are sorted by (origin, LSN).
 * A segment is batches (batch.h) back to back with no file header: the
 * segment's identity is its name, and every batch repeats origin and shard,
 * which recovery checks against the name (wal_recover.c).  A segment holds
 * whole batches only: a batch never spans two segments.
 *
 * Modes: directories 0700, segment files 0600 (the manifest too:
 * wal_manifest.c), given to mkdir and open, which a umask can only narrow:
 * a log holds every write of the region.  The log's own directories made 0755 by an older tidal are narrowed on
 * open, and its segments made 0644 when recovery opens them.
 *
 * Invariants this file keeps, under SYNC and INTERVAL:
 *  - a new directory is durable (its parent fsynced) before anything in it;
 *  - a new segment file is durable (the shard directory fsynced) before any
 *    batch is written into it;
 *  - the segment being rolled away from is fdatasynced before the first
 *    write to the next one.  The kernel may write back the new segment's
 *    pages before the old one's tail, so without this a power loss could
 *    leave a torn batch in a segment that is not the last, which recovery
 *    must refuse (wal.h); with it, only the last segment can be torn.  It
 *    costs one sync per segment (64 MiB by default), on the thread that
 *    writes: under INTERVAL the appending one (the one place an append
 *    waits for the disk), under SYNC the sync thread (write-behind).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "store/wal_state.h"

void
tidal__wal_seg_name(char *out, uint16_t origin, uint64_t first_lsn)
{
    snprintf(out, TIDAL__WAL_SEG_NAME_BYTES, "r%04x-%016llx.seg", (unsigned)origin,
             (unsigned long long)first_lsn);
}

/* Parses exactly n lower-case hex digits at s.  False on anything else. */
static bool
parse_hex(const char *s, int n, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            v = (v << 4) | (uint64_t)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (uint64_t)(c - 'a' + 10);
        } else {
            return false;
        }
    }
    *out = v;
    return true;
}

bool
tidal__wal_seg_parse(const char *name, uint16_t *origin, uint64_t *first_lsn)
{
    uint64_t o;
    uint64_t lsn;

    if (strlen(name) != TIDAL__WAL_SEG_NAME_BYTES - 1 || name[0] != 'r' || name[5] != '-' ||
        strcmp(name + 22, ".seg") != 0) {
        return false;
    }
    if (!parse_hex(name + 1, 4, &o) || !parse_hex(name + 6, 16, &lsn)) {
        return false;
    }
    *origin = (uint16_t)o;
    *first_lsn = lsn;
    return true;
}

bool
tidal__wal_shard_parse(const char *name, uint16_t *shard)
{
    uint64_t s;

    if (strlen(name) != TIDAL__WAL_SHARD_DIR_BYTES - 1 || strncmp(name, "shard-", 6) != 0 ||
        !parse_hex(name + 6, 4, &s)) {
        return false;
    }
    *shard = (uint16_t)s;
    return true;
}

/* fsyncs the directory at path.  0 or -1. */
static int
fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc;

    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Makes the directory path (one level) if missing, mode 0700 (a umask can
 * only narrow it); when it is new and sync is set, fsyncs its parent so the
 * new entry survives a power loss.  An existing one is left as it is unless
 * tighten is set (the log's own directories, which a tidal before 0700 made
 * 0755): then it loses its group and other bits, best effort.  TIDAL_EIO
 * on error. */
static int
mkdir_one(char *path, bool sync, bool tighten)
{
    struct stat st;
    char *slash;
    int rc;

    if (mkdir(path, 0700) != 0) {
        if (errno != EEXIST) {
            return TIDAL_EIO;
        }
        if (tighten && stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 077) != 0) {
            (void)chmod(path, st.st_mode & 0700);
        }
        return 0;
    }
    if (!sync) {
        return 0;
    }
    slash = strrchr(path, '/');
    if (slash == NULL) {
        return fsync_dir(".") == 0 ? 0 : TIDAL_EIO;
    }
    if (slash == path) {
        return fsync_dir("/") == 0 ? 0 : TIDAL_EIO;
    }
    *slash = '\0';
    rc = fsync_dir(path);
    *slash = '/';
    return rc == 0 ? 0 : TIDAL_EIO;
}

int
tidal__wal_dir_open(const char *dir, uint16_t shard, bool sync, int *dirfd)
{
    char path[PATH_MAX];
    size_t n = strlen(dir);
    int fd;
    int rc;

    if (n + sizeof("/wal/shard-0000") > sizeof(path)) {
        return TIDAL_EINVAL;
    }
    memcpy(path, dir, n + 1);
    rc = mkdir_one(path, sync, false); /* the caller's, if it is there */
    if (rc != 0) {
        return rc;
    }
    memcpy(path + n, "/wal", sizeof("/wal"));
    rc = mkdir_one(path, sync, true);
    if (rc != 0) {
        return rc;
    }
    snprintf(path + n + 4, sizeof(path) - n - 4, "/shard-%04x", (unsigned)shard);
    rc = mkdir_one(path, sync, true);
    if (rc != 0) {
        return rc;
    }
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return TIDAL_EIO;
    }
    *dirfd = fd;
    return 0;
}

int
tidal__wal_seg_push(tidal_wal *w, uint64_t first_lsn, uint64_t size)
{
    if (w->nsegs == w->segs_cap) {
        size_t cap = w->segs_cap != 0 ? w->segs_cap * 2 : 8;
        struct tidal__wal_seg *segs = realloc(w->segs, cap * sizeof(*segs));
        if (segs == NULL) {
            return TIDAL_ENOMEM;
        }
        w->segs = segs;
        w->segs_cap = cap;
    }
    w->segs[w->nsegs].first_lsn = first_lsn;
    w->segs[w->nsegs].size = size;
    w->nsegs++;
    return 0;
}

static int
seg_cmp(const void *a, const void *b)
{
    const struct tidal__wal_seg *x = a;
    const struct tidal__wal_seg *y = b;

    return x->first_lsn < y->first_lsn ? -1 : x->first_lsn > y->first_lsn;
}

int
tidal__wal_seg_list(tidal_wal *w)
{
    struct dirent *de;
    DIR *d;
    int fd;
    int rc = 0;

    fd = dup(w->dirfd);
    if (fd < 0) {
        return TIDAL_EIO;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return TIDAL_EIO;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        uint16_t origin;
        uint64_t lsn;
        if (!tidal__wal_seg_parse(de->d_name, &origin, &lsn) || origin != w->opts.origin) {
            continue;
        }
        rc = tidal__wal_seg_push(w, lsn, 0);
        if (rc != 0) {
            break;
        }
    }
    closedir(d);
    if (rc != 0) {
        w->nsegs = 0;
        return rc;
    }
    if (w->nsegs > 1) {
        qsort(w->segs, w->nsegs, sizeof(w->segs[0]), seg_cmp);
    }
    return 0;
}

int
tidal__wal_seg_create(tidal_wal *w)
{
    char name[TIDAL__WAL_SEG_NAME_BYTES];
    int fd;
    int rc;

    tidal__wal_seg_name(name, w->opts.origin, w->written_lsn + 1);
    fd = tidal__io_openat(w, w->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return TIDAL_EIO;
    }
    if (w->sync_fds && w->has_thread) {
        w->dir_unsynced = true; /* the sync thread's next round fsyncs it */
    } else if (w->sync_fds) {
        if (tidal__io_fsync(w, w->dirfd) != 0) {
            rc = TIDAL_EIO;
            goto fail_file;
        }
        w->stats.syncs++;
    }
    rc = tidal__wal_seg_push(w, w->written_lsn + 1, 0);
    if (rc != 0) {
        goto fail_file;
    }
    w->fd = fd;
    w->stats.segments++;
    w->stats.segments_live = w->nsegs;
    return 0;

fail_file:
    tidal__io_close(w, fd);
    (void)tidal__io_unlinkat(w, w->dirfd, name); /* best effort: an empty file is harmless */
    return rc;
}

int
tidal__wal_fail(tidal_wal *w, const char *what)
{
    if (!w->stalled) { /* what was not durable then is at risk until written again */
        w->risk_first = w->next_lsn - 1 > w->durable_lsn ? w->durable_lsn + 1 : 0;
        w->risk_last = w->next_lsn - 1 > w->durable_lsn ? w->next_lsn - 1 : 0;
    }
    w->ev_errno = errno; /* told without the lock: wal_retry.c */
    w->ev_what = what;
    w->ev_errors++;
    w->ev_due = w->stalled = true;
    w->stall_fails++;
    w->stats.disk_errors++;
    return TIDAL_EIO;
}

/* Under lock: hands a rolled-away fd to the sync thread, whose next round
 * syncs it before anything in it counts as durable, then closes it; or
 * closes it now when there is no such thread (it was synced at the roll).
 * On ENOMEM it is synced here, under the lock - the one way a roll-over can
 * still wait for the disk - then closed. */
void
tidal__wal_seg_retire(tidal_wal *w, int fd)
{
    if (w->sync_fds && w->has_thread) {
        if (w->nretired == w->retired_cap) {
            size_t cap = w->retired_cap != 0 ? w->retired_cap * 2 : 4;
            int *r = realloc(w->retired, cap * sizeof(*r));
            if (r == NULL) {
                if (tidal__io_fdatasync(w, fd) != 0) {
                    (void)tidal__wal_fail(w, "fdatasync of a full segment");
                }
                tidal__io_close(w, fd);
                return;
            }
            w->retired = r;
            w->retired_cap = cap;
        }
        w->retired[w->nretired++] = fd;
        return;
    }
    tidal__io_close(w, fd);
}

void
tidal__wal_seg_close_retired(tidal_wal *w)
{
    for (size_t i = 0; i < w->nretired; i++) {
        tidal__io_close(w, w->retired[i]);
    }
    w->nretired = 0;
}

int
tidal__wal_seg_roll_if_full(tidal_wal *w, size_t len)
{
    struct tidal__wal_seg *cur = &w->segs[w->nsegs - 1];
    int old = w->fd;
    int rc;

    if (cur->size == 0 || cur->size + len <= w->opts.segment_bytes) {
        return 0;
    }
    if (w->sync_fds && !w->has_thread) {
        /* no sync thread yet (recovery): synced here, before it is left */
        if (tidal__io_fdatasync(w, old) != 0) {
            return tidal__wal_fail(w, "fdatasync of a full segment");
        }
        w->stats.syncs++;
    }
    rc = tidal__wal_seg_create(w); /* the caller says what a failure does */
    if (rc != 0) {
        return rc;
    }
    tidal__wal_seg_retire(w, old);
    /* the manifest is to name it: after the sync round that makes it
     * durable (wal_sync.c), or under NONE after this append (wal.c) */
    w->man_roll = w->man_roll || !w->sync_fds;
    return 0;
}

int
tidal__wal_pwritev_all(tidal_wal *w, int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = w->io.pwritev(w->io.arg, fd, iov, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (k == 0) {
            return EIO;
        }
        off += (uint64_t)k;
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

int
tidal__wal_pwrite_all(tidal_wal *w, int fd, const void *buf, size_t len, uint64_t off)
{
    struct iovec one = {.iov_base = (void *)buf, .iov_len = len};

    return tidal__wal_pwritev_all(w, fd, &one, 1, off);
}
