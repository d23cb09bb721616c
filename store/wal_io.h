/*
 * The WAL's file-system seam: every call by which a log changes its files -
 * opening (creating, truncating) a file, writing, syncing a file or a
 * directory, truncating, renaming, unlinking, closing - goes through one
 * table of these functions, as the runtime's frames go through its carrier
 * (runtime/carrier.h).  Reads (read, pread, readdir, fstat) do not: they see
 * whatever the table left in the files.
 *
 * The default, tidal_wal_io_posix, is the system calls themselves, nothing
 * added.  A simulated disk (store/simdisk.h) is the other side: it does the
 * same calls and remembers what was written since each file's last sync, so
 * that a simulated crash can take back what a power loss could.
 *
 * Contract of every function: the system call's - its arguments (minus
 * arg), its return value, errno on failure (EINTR included: callers retry).
 * renameat and unlinkat act inside one directory (dirfd), which the WAL
 * never leaves.  fsync is called on files and on directory fds (a new name,
 * a rename or an unlink is durable once its directory is synced); the
 * directory fds themselves are opened with plain open(2).  A table may be
 * called from several threads at once (a log's sync thread syncs while an
 * appender writes; several logs may share one table): its functions
 * serialise what they share.
 */
#ifndef TIDAL_STORE_WAL_IO_H
#define TIDAL_STORE_WAL_IO_H

#include <sys/types.h>
#include <sys/uio.h>

typedef struct tidal_wal_io {
    int (*openat)(void *arg, int dirfd, const char *name, int flags, mode_t mode);
    int (*close)(void *arg, int fd);
    ssize_t (*pwritev)(void *arg, int fd, const struct iovec *iov, int n, off_t off);
    int (*fdatasync)(void *arg, int fd);
    int (*fsync)(void *arg, int fd);
    int (*ftruncate)(void *arg, int fd, off_t len);
    int (*renameat)(void *arg, int dirfd, const char *from, const char *to);
    int (*unlinkat)(void *arg, int dirfd, const char *name);
    void *arg;
} tidal_wal_io;

/* The system calls, unchanged. */
extern const tidal_wal_io tidal_wal_io_posix;

#endif /* TIDAL_STORE_WAL_IO_H */
