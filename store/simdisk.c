/*
 * The simulated disk's seam (simdisk.h): each call is the system call the
 * default seam makes, after noting what a crash would need to take the
 * change back - the size before and the bytes about to be overwritten or
 * cut, the name about to be replaced or unlinked (kept as a hidden link).
 * A sync forgets the changes it made durable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/simdisk_state.h"
#include "tidal/errors.h"

/* ---- what is tracked --------------------------------------------------------- */

/* The file fd is on (a log's fd), or NULL. */
static struct sd_file *
file_of(tidal__simdisk *d, int fd)
{
    return fd >= 0 && (size_t)fd < d->fd_cap ? d->fd_map[fd] : NULL;
}

/* Maps the log's fd to the file st names, tracking it first if new (with
 * an fd of the disk's own).  false on ENOMEM or a failed open (nothing
 * tracked). */
static bool
track_file(tidal__simdisk *d, int fd, const struct stat *st, const char *name)
{
    if ((size_t)fd >= d->fd_cap) {
        size_t cap = d->fd_cap ? d->fd_cap : 64;
        while (cap <= (size_t)fd) {
            cap *= 2;
        }
        struct sd_file **m = realloc(d->fd_map, cap * sizeof(*m));
        if (m == NULL) {
            return false;
        }
        memset(m + d->fd_cap, 0, (cap - d->fd_cap) * sizeof(*m));
        d->fd_map = m;
        d->fd_cap = cap;
    }
    struct sd_file *f = NULL;
    for (size_t i = 0; i < d->nfiles && f == NULL; i++) {
        if (d->files[i]->dev == st->st_dev && d->files[i]->ino == st->st_ino) {
            f = d->files[i];
        }
    }
    if (f == NULL) {
        if (d->nfiles == d->files_cap) {
            size_t cap = d->files_cap ? d->files_cap * 2 : 16;
            struct sd_file **v = realloc(d->files, cap * sizeof(*v));
            if (v == NULL) {
                return false;
            }
            d->files = v;
            d->files_cap = cap;
        }
        f = calloc(1, sizeof(*f));
        if (f == NULL) {
            return false;
        }
        /* its own open file, read-write whatever the log's mode (a
         * manifest's is write-only): a crash reads and writes through it */
        char path[40];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        f->fd = open(path, O_RDWR | O_CLOEXEC);
        if (f->fd < 0) {
            free(f);
            return false;
        }
        f->dev = st->st_dev;
        f->ino = st->st_ino;
        snprintf(f->name, sizeof(f->name), "%s", name);
        d->files[d->nfiles++] = f;
    }
    f->users++;
    d->fd_map[fd] = f;
    return true;
}

static struct sd_op *
push_op(struct sd_file *f)
{
    if (f->nops == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct sd_op *v = realloc(f->ops, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        f->ops = v;
        f->cap = cap;
    }
    struct sd_op *op = &f->ops[f->nops++];
    memset(op, 0, sizeof(*op));
    return op;
}

/* Reads f's bytes [off, off + len) into a new buffer (NULL for len 0).
 * false on ENOMEM or a failed read. */
static bool
save_bytes(struct sd_file *f, uint64_t off, uint64_t len, uint8_t **out)
{
    *out = NULL;
    if (len == 0) {
        return true;
    }
    uint8_t *b = malloc(len);
    if (b == NULL) {
        return false;
    }
    for (uint64_t n = 0; n < len;) {
        ssize_t k = pread(f->fd, b + n, len - n, (off_t)(off + n));
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            free(b);
            return false;
        }
        n += (uint64_t)k;
    }
    *out = b;
    return true;
}

void
tidal__sd_file_clear(struct sd_file *f)
{
    for (size_t i = 0; i < f->nops; i++) {
        free(f->ops[i].old);
    }
    f->nops = 0;
}

void
tidal__sd_file_release(tidal__simdisk *d, struct sd_file *f)
{
    if (f->users > 0 || f->nops > 0) {
        return;
    }
    for (size_t i = 0; i < d->nfiles; i++) {
        if (d->files[i] == f) {
            memmove(&d->files[i], &d->files[i + 1], (d->nfiles - i - 1) * sizeof(f));
            d->nfiles--;
            break;
        }
    }
    close(f->fd);
    free(f->ops);
    free(f);
}

/* ---- the seam's calls ---------------------------------------------------------- */

/* Under lock: truncates f to len as a change (fd, the log's). */
static int
truncate_locked(struct sd_file *f, int fd, uint64_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return -1;
    }
    uint64_t old = (uint64_t)st.st_size;
    uint8_t *saved = NULL;
    if (len < old && !save_bytes(f, len, old - len, &saved)) {
        errno = ENOMEM;
        return -1;
    }
    struct sd_op *op = push_op(f);
    if (op == NULL) {
        free(saved);
        errno = ENOMEM;
        return -1;
    }
    if (ftruncate(fd, (off_t)len) != 0) {
        int e = errno;
        free(saved);
        f->nops--;
        errno = e;
        return -1;
    }
    *op = (struct sd_op){.kind = SD_TRUNC,
                         .off = len,
                         .old_size = old,
                         .old = saved,
                         .old_len = len < old ? old - len : 0};
    return 0;
}

static int
sd_openat(void *arg, int dirfd, const char *name, int flags, mode_t mode)
{
    tidal__simdisk *d = arg;
    bool writable = (flags & O_ACCMODE) != O_RDONLY;
    if (!writable) {
        return openat(dirfd, name, flags, mode); /* a read: nothing to track */
    }
    pthread_mutex_lock(&d->lock);
    bool change = (flags & (O_CREAT | O_TRUNC)) != 0;
    if (d->state != SD_UP || (change && tidal__sd_gate(d) != 0)) {
        pthread_mutex_unlock(&d->lock);
        errno = EIO; /* no file is made or opened for writing on a dead disk */
        return -1;
    }
    struct stat before;
    bool existed = fstatat(dirfd, name, &before, AT_SYMLINK_NOFOLLOW) == 0;
    int fd = openat(dirfd, name, flags & ~O_TRUNC, mode); /* cut below, as a change */
    struct stat st;
    if (fd < 0) {
        pthread_mutex_unlock(&d->lock);
        return -1;
    }
    bool made = (flags & O_CREAT) && !existed;
    struct sd_dir *dir = NULL;
    struct sd_dop *dop = NULL;
    bool tracked = fstat(fd, &st) == 0 && track_file(d, fd, &st, name);
    if (!tracked ||
        (made &&
         ((dir = tidal__sd_dir_of(d, dirfd)) == NULL || (dop = tidal__sd_push_dop(dir)) == NULL)) ||
        ((flags & O_TRUNC) && existed && truncate_locked(d->fd_map[fd], fd, 0) != 0)) {
        if (dop != NULL) {
            dir->nops--;
        }
        if (tracked) {
            d->fd_map[fd]->users--;
            tidal__sd_file_release(d, d->fd_map[fd]);
            d->fd_map[fd] = NULL;
        }
        close(fd);
        if (made) {
            (void)unlinkat(dirfd, name, 0);
        }
        pthread_mutex_unlock(&d->lock);
        errno = ENOMEM;
        return -1;
    }
    if (dop != NULL) {
        dop->kind = SD_CREATE;
        snprintf(dop->a, sizeof(dop->a), "%s", name);
    }
    pthread_mutex_unlock(&d->lock);
    return fd;
}

static int
sd_close(void *arg, int fd)
{
    tidal__simdisk *d = arg;
    pthread_mutex_lock(&d->lock);
    struct sd_file *f = file_of(d, fd);
    if (f != NULL) {
        d->fd_map[fd] = NULL;
        f->users--;
        tidal__sd_file_release(d, f);
    }
    pthread_mutex_unlock(&d->lock);
    return close(fd);
}

static ssize_t
sd_pwritev(void *arg, int fd, const struct iovec *iov, int n, off_t off)
{
    tidal__simdisk *d = arg;
    uint64_t len = 0;
    for (int i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    pthread_mutex_lock(&d->lock);
    int g = tidal__sd_gate(d);
    struct sd_file *f = file_of(d, fd);
    struct stat st;
    if (g != 0 || f == NULL || fstat(fd, &st) != 0) {
        pthread_mutex_unlock(&d->lock);
        if (g == 0) {
            return pwritev(fd, iov, n, off); /* not the disk's: untracked */
        }
        return g > 0 ? (ssize_t)len : -1;
    }
    uint64_t at = (uint64_t)off, size = (uint64_t)st.st_size;
    uint64_t over = at < size ? (size - at < len ? size - at : len) : 0;
    uint8_t *saved = NULL;
    struct sd_op *op = NULL;
    if (!save_bytes(f, at, over, &saved) || (op = push_op(f)) == NULL) {
        free(saved);
        pthread_mutex_unlock(&d->lock);
        errno = ENOMEM;
        return -1;
    }
    ssize_t k = pwritev(fd, iov, n, off);
    if (k <= 0) {
        int e = errno;
        free(saved);
        f->nops--;
        pthread_mutex_unlock(&d->lock);
        errno = e;
        return k;
    }
    *op = (struct sd_op){.kind = SD_WRITE,
                         .off = at,
                         .len = (uint64_t)k,
                         .old_size = size,
                         .old = saved,
                         .old_len = over < (uint64_t)k ? over : (uint64_t)k};
    pthread_mutex_unlock(&d->lock);
    return k;
}

/* fdatasync and fsync: a file's changes become durable; a directory's
 * names do (fsync of a directory fd).  The real disk is not asked: in a
 * simulation durability is what this disk remembers, and the real files
 * need only outlive the process (which a sync would make 100x slower). */
static int
sync_fd(tidal__simdisk *d, int fd)
{
    pthread_mutex_lock(&d->lock);
    int g = tidal__sd_gate(d);
    if (g != 0) {
        pthread_mutex_unlock(&d->lock);
        return g > 0 ? 0 : -1;
    }
    struct stat st;
    int rc = fstat(fd, &st); /* EBADF as a sync would */
    if (rc == 0) {
        struct sd_file *f = file_of(d, fd);
        if (f != NULL) {
            tidal__sd_file_clear(f);
        } else if (S_ISDIR(st.st_mode)) {
            for (size_t i = 0; i < d->ndirs; i++) {
                if (d->dirs[i]->dev == st.st_dev && d->dirs[i]->ino == st.st_ino) {
                    tidal__sd_dir_commit(d->dirs[i]);
                }
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

static int
sd_fdatasync(void *arg, int fd)
{
    return sync_fd(arg, fd);
}

static int
sd_fsync(void *arg, int fd)
{
    return sync_fd(arg, fd);
}

static int
sd_ftruncate(void *arg, int fd, off_t len)
{
    tidal__simdisk *d = arg;
    pthread_mutex_lock(&d->lock);
    int g = tidal__sd_gate(d);
    struct sd_file *f = file_of(d, fd);
    int rc;
    if (g != 0) {
        rc = g > 0 ? 0 : -1;
    } else if (f == NULL) {
        rc = ftruncate(fd, len);
    } else {
        rc = truncate_locked(f, fd, (uint64_t)len);
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ---- the disk ------------------------------------------------------------------ */

int
tidal__simdisk_new(tidal__simdisk **out)
{
    tidal__simdisk *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return TIDAL_ENOMEM;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return TIDAL_ENOMEM;
    }
    d->io = (tidal_wal_io){.openat = sd_openat,
                           .close = sd_close,
                           .pwritev = sd_pwritev,
                           .fdatasync = sd_fdatasync,
                           .fsync = sd_fsync,
                           .ftruncate = sd_ftruncate,
                           .renameat = tidal__sd_renameat,
                           .unlinkat = tidal__sd_unlinkat,
                           .arg = d};
    *out = d;
    return 0;
}

const tidal_wal_io *
tidal__simdisk_io(tidal__simdisk *d)
{
    return &d->io;
}

void
tidal__simdisk_cut(tidal__simdisk *d, uint64_t ops)
{
    pthread_mutex_lock(&d->lock);
    if (d->state == SD_UP) {
        d->cut_armed = true;
        d->cut_left = ops;
    }
    pthread_mutex_unlock(&d->lock);
}

bool
tidal__simdisk_is_cut(tidal__simdisk *d)
{
    pthread_mutex_lock(&d->lock);
    bool cut = d->state == SD_CUT;
    pthread_mutex_unlock(&d->lock);
    return cut;
}

void
tidal__simdisk_freeze(tidal__simdisk *d)
{
    pthread_mutex_lock(&d->lock);
    d->state = SD_DEAD;
    pthread_mutex_unlock(&d->lock);
}
