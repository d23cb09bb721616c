/*
 * The simulated disk's state (simdisk.h is the contract), shared by
 * simdisk_crash.c (the crash, which reverts changes) -> simdisk.c (the
 * seam's file calls, which record them) -> simdisk_names.c (the names in
 * directories), each calling only those after it.  Everything is under
 * d->lock.
 */
#ifndef TIDAL_STORE_SIMDISK_STATE_H
#define TIDAL_STORE_SIMDISK_STATE_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "store/simdisk.h"

/* Names the WAL gives files ("r0001-0000000000000001.seg",
 * "r0001.manifest.tmp") and the hidden links fit. */
#define TIDAL__SIMDISK_NAME_BYTES 48u
/* A torn write's sector: the unit a disk writes whole or not at all. */
#define TIDAL__SIMDISK_SECTOR_BYTES 512u

enum { SD_WRITE = 0, SD_TRUNC = 1 };

/* One change to a file's bytes since its last sync. */
struct sd_op {
    int kind;
    uint64_t off;      /* WRITE: where; TRUNC: the new size */
    uint64_t len;      /* WRITE: bytes written */
    uint64_t old_size; /* the file's size before */
    uint8_t *old;      /* the bytes it overwrote (WRITE, at off) or cut (TRUNC,
                          at off); old_len of them */
    uint64_t old_len;
};

/* A file (an inode), with the disk's own fd on it, so that a crash can
 * revert it whatever became of its names and the log's fds. */
struct sd_file {
    dev_t dev;
    ino_t ino;
    int fd;
    uint32_t users;                       /* the log's fds on it (fd_map) */
    char name[TIDAL__SIMDISK_NAME_BYTES]; /* the name it was first opened by */
    struct sd_op *ops;
    size_t nops, cap;
};

enum { SD_CREATE = 0, SD_RENAME = 1, SD_UNLINK = 2 };

/* One change to a directory's names since its last fsync. */
struct sd_dop {
    int kind;
    char a[TIDAL__SIMDISK_NAME_BYTES];     /* CREATE, UNLINK: the name; RENAME: from */
    char b[TIDAL__SIMDISK_NAME_BYTES];     /* RENAME: to */
    char aside[TIDAL__SIMDISK_NAME_BYTES]; /* the hidden link to what was replaced or
                                              unlinked; "" if none */
};

struct sd_dir {
    dev_t dev;
    ino_t ino;
    int fd;
    struct sd_dop *ops;
    size_t nops, cap;
};

enum { SD_UP = 0, SD_CUT = 1, SD_DEAD = 2 };

struct tidal__simdisk {
    pthread_mutex_t lock;
    tidal_wal_io io;
    int state;
    bool cut_armed;
    uint64_t cut_left;      /* changes before the cut */
    struct sd_file **files; /* in the order first seen */
    size_t nfiles, files_cap;
    struct sd_dir **dirs; /* likewise */
    size_t ndirs, dirs_cap;
    struct sd_file **fd_map; /* the log's fd -> its file */
    size_t fd_cap;
    uint64_t asides; /* hidden links made (their names' numbers) */
};

/* Under lock, before a change: 0 to make it, 1 to report success and do
 * nothing (dead), -1 to fail it with EIO (cut).  Counts it toward a cut. */
static inline int
tidal__sd_gate(tidal__simdisk *d)
{
    if (d->state == SD_DEAD) {
        return 1;
    }
    if (d->state == SD_UP && d->cut_armed) {
        if (d->cut_left == 0) {
            d->state = SD_CUT;
        } else {
            d->cut_left--;
        }
    }
    if (d->state == SD_CUT) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/* ---- simdisk.c ---- */

/* Frees f's changes, keeping it tracked.  Cannot fail. */
void tidal__sd_file_clear(struct sd_file *f);

/* Drops f from d->files (its fd closed, freed) if no log fd is on it and
 * it has no change to remember.  Cannot fail. */
void tidal__sd_file_release(tidal__simdisk *d, struct sd_file *f);

/* ---- simdisk_names.c ---- */

/* The directory dirfd is, tracked (with an fd of the disk's own).  NULL on
 * a failed fstat or ENOMEM. */
struct sd_dir *tidal__sd_dir_of(tidal__simdisk *d, int dirfd);

/* A new zeroed change at the end of dir's.  NULL on ENOMEM. */
struct sd_dop *tidal__sd_push_dop(struct sd_dir *dir);

/* Removes the hidden links of dir's changes (they are kept) and forgets
 * them.  Cannot fail. */
void tidal__sd_dir_commit(struct sd_dir *dir);

/* The seam's renameat and unlinkat (wal_io.h). */
int tidal__sd_renameat(void *arg, int dirfd, const char *from, const char *to);
int tidal__sd_unlinkat(void *arg, int dirfd, const char *name);

#endif /* TIDAL_STORE_SIMDISK_STATE_H */
