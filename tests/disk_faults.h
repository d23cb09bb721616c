/*
 * A disk that fills up, fails its syncs and gets its space back, at the
 * system-call boundary, for the disk-full suites.  A binary that includes
 * this links with -Wl,--wrap=pwritev,--wrap=fdatasync,--wrap=close
 * (tests/CMakeLists.txt): every write of a WAL (store/wal*.c write segments
 * and manifests with pwritev only) and every fdatasync passes here first.
 *
 *   disk_space(n)        the disk takes n more bytes, then refuses with
 *                        ENOSPC; a write that crosses the line is cut short
 *                        there, as a real one is.  DISK_UNLIMITED: no limit.
 *   disk_sync_fail(e, n) after n more good fdatasyncs, every one fails with
 *                        errno e (0: none fails).  With drop set, a failing
 *                        one also loses what the fd was written since its
 *                        last good sync (zeroes it), as Linux may drop dirty
 *                        pages after a failed writeback ("fsyncgate"): only a
 *                        log that writes its tail again from memory keeps it.
 *   disk_hold_syncs(b)   holds every fdatasync at a gate until released;
 *                        disk_syncs_held() says how many wait there.
 * Only this binary's calls are wrapped; the deadlines of the tests that use
 * it bound waits for events, none is a timing threshold.
 */
#ifndef TIDAL_TEST_DISK_FAULTS_H
#define TIDAL_TEST_DISK_FAULTS_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define DISK_UNLIMITED (-1LL)
#define DISK_FDS 4096

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_close(int fd);
int __wrap_close(int fd);

static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t disk_cond = PTHREAD_COND_INITIALIZER;
static long long disk_left = DISK_UNLIMITED; /* under disk_lock */
static int disk_sync_errno;                  /* under disk_lock */
static uint64_t disk_sync_good;              /* good syncs before the failing ones */
static bool disk_sync_drop;
static bool disk_gate_closed;
static atomic_int disk_held;
static atomic_uint disk_refused;        /* writes and syncs refused so far */
static uint64_t disk_unsynced[DISK_FDS]; /* 1 + lowest offset written since the
                                            fd's last good sync; 0: none */

static inline void
disk_space(long long n)
{
    pthread_mutex_lock(&disk_lock);
    disk_left = n;
    pthread_mutex_unlock(&disk_lock);
}

static inline void
disk_sync_fail(int e, uint64_t good_first, bool drop)
{
    pthread_mutex_lock(&disk_lock);
    disk_sync_errno = e;
    disk_sync_good = good_first;
    disk_sync_drop = drop;
    pthread_mutex_unlock(&disk_lock);
}

static inline void
disk_hold_syncs(bool hold)
{
    pthread_mutex_lock(&disk_lock);
    disk_gate_closed = hold;
    pthread_cond_broadcast(&disk_cond);
    pthread_mutex_unlock(&disk_lock);
}

static inline int
disk_syncs_held(void)
{
    return atomic_load(&disk_held);
}

ssize_t
__wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    struct iovec cut[1024]; /* IOV_MAX */
    size_t len = 0;

    for (int i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    pthread_mutex_lock(&disk_lock);
    if (disk_left == 0 && len > 0) {
        pthread_mutex_unlock(&disk_lock);
        atomic_fetch_add(&disk_refused, 1);
        errno = ENOSPC;
        return -1;
    }
    if (disk_left > 0 && (long long)len > disk_left) {
        /* cut short where the space ends: a partial write */
        size_t room = (size_t)disk_left;
        int k = 0;
        while (room > 0 && k < n && k < 1024) {
            cut[k] = iov[k];
            if (cut[k].iov_len > room) {
                cut[k].iov_len = room;
            }
            room -= cut[k].iov_len;
            k++;
        }
        iov = cut;
        n = k;
        len = (size_t)disk_left;
    }
    if (disk_left > 0) {
        disk_left -= (long long)len;
    }
    if (fd >= 0 && fd < DISK_FDS &&
        (disk_unsynced[fd] == 0 || disk_unsynced[fd] > (uint64_t)off + 1)) {
        disk_unsynced[fd] = (uint64_t)off + 1;
    }
    pthread_mutex_unlock(&disk_lock);
    return __real_pwritev(fd, iov, n, off);
}

int
__wrap_fdatasync(int fd)
{
    pthread_mutex_lock(&disk_lock);
    atomic_fetch_add(&disk_held, 1);
    while (disk_gate_closed) {
        pthread_cond_wait(&disk_cond, &disk_lock);
    }
    atomic_fetch_sub(&disk_held, 1);
    int e = 0;
    if (disk_sync_errno != 0 && disk_sync_good == 0) {
        e = disk_sync_errno;
    } else if (disk_sync_errno != 0) {
        disk_sync_good--;
    }
    uint64_t from = fd >= 0 && fd < DISK_FDS ? disk_unsynced[fd] : 0;
    bool drop = e != 0 && disk_sync_drop && from != 0;
    pthread_mutex_unlock(&disk_lock);
    if (e != 0) {
        struct stat st;
        if (drop && fstat(fd, &st) == 0 && st.st_size > (off_t)(from - 1)) {
            /* the pages written since the last good sync are lost */
            (void)ftruncate(fd, (off_t)(from - 1));
            (void)ftruncate(fd, st.st_size);
        }
        atomic_fetch_add(&disk_refused, 1);
        errno = e;
        return -1;
    }
    int rc = __real_fdatasync(fd);
    if (rc == 0 && fd >= 0 && fd < DISK_FDS) {
        pthread_mutex_lock(&disk_lock);
        disk_unsynced[fd] = 0;
        pthread_mutex_unlock(&disk_lock);
    }
    return rc;
}

int
__wrap_close(int fd)
{
    if (fd >= 0 && fd < DISK_FDS) {
        pthread_mutex_lock(&disk_lock);
        disk_unsynced[fd] = 0;
        pthread_mutex_unlock(&disk_lock);
    }
    return __real_close(fd);
}

#endif /* TIDAL_TEST_DISK_FAULTS_H */
