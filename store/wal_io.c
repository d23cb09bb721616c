/* The WAL's file-system seam, plain POSIX (wal_io.h). */
#include "store/wal_io.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int
posix_openat(void *arg, int dirfd, const char *name, int flags, mode_t mode)
{
    (void)arg;
    return openat(dirfd, name, flags, mode);
}

static int
posix_close(void *arg, int fd)
{
    (void)arg;
    return close(fd);
}

static ssize_t
posix_pwritev(void *arg, int fd, const struct iovec *iov, int n, off_t off)
{
    (void)arg;
    return pwritev(fd, iov, n, off);
}

static int
posix_fdatasync(void *arg, int fd)
{
    (void)arg;
    return fdatasync(fd);
}

static int
posix_fsync(void *arg, int fd)
{
    (void)arg;
    return fsync(fd);
}

static int
posix_ftruncate(void *arg, int fd, off_t len)
{
    (void)arg;
    return ftruncate(fd, len);
}

static int
posix_renameat(void *arg, int dirfd, const char *from, const char *to)
{
    (void)arg;
    return renameat(dirfd, from, dirfd, to);
}

static int
posix_unlinkat(void *arg, int dirfd, const char *name)
{
    (void)arg;
    return unlinkat(dirfd, name, 0);
}

const tidal_wal_io tidal_wal_io_posix = {
    .openat = posix_openat,
    .close = posix_close,
    .pwritev = posix_pwritev,
    .fdatasync = posix_fdatasync,
    .fsync = posix_fsync,
    .ftruncate = posix_ftruncate,
    .renameat = posix_renameat,
    .unlinkat = posix_unlinkat,
    .arg = NULL,
};
