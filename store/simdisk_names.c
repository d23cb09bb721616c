/*
 * The simulated disk's directories (simdisk.h): the names a log creates,
 * renames and unlinks since its directory's last fsync, each with what a
 * crash needs to undo it - the name a rename replaced, or the file an
 * unlink removed, kept alive under a hidden link (".simdisk-N") until the
 * directory is synced (the change is kept) or the crash moves it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/simdisk_state.h"

/* The directory dirfd is, tracked (with an fd of the disk's own).  NULL on
 * a failed fstat or ENOMEM. */
struct sd_dir *
tidal__sd_dir_of(tidal__simdisk *d, int dirfd)
{
    struct stat st;
    if (fstat(dirfd, &st) != 0) {
        return NULL;
    }
    for (size_t i = 0; i < d->ndirs; i++) {
        if (d->dirs[i]->dev == st.st_dev && d->dirs[i]->ino == st.st_ino) {
            return d->dirs[i];
        }
    }
    if (d->ndirs == d->dirs_cap) {
        size_t cap = d->dirs_cap ? d->dirs_cap * 2 : 8;
        struct sd_dir **v = realloc(d->dirs, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        d->dirs = v;
        d->dirs_cap = cap;
    }
    struct sd_dir *dir = calloc(1, sizeof(*dir));
    if (dir == NULL) {
        return NULL;
    }
    dir->fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dir->fd < 0) {
        free(dir);
        return NULL;
    }
    dir->dev = st.st_dev;
    dir->ino = st.st_ino;
    d->dirs[d->ndirs++] = dir;
    return dir;
}

struct sd_dop *
tidal__sd_push_dop(struct sd_dir *dir)
{
    if (dir->nops == dir->cap) {
        size_t cap = dir->cap ? dir->cap * 2 : 8;
        struct sd_dop *v = realloc(dir->ops, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        dir->ops = v;
        dir->cap = cap;
    }
    struct sd_dop *op = &dir->ops[dir->nops++];
    memset(op, 0, sizeof(*op));
    return op;
}

void
tidal__sd_dir_commit(struct sd_dir *dir)
{
    for (size_t i = 0; i < dir->nops; i++) {
        if (dir->ops[i].aside[0] != '\0') {
            (void)unlinkat(dir->fd, dir->ops[i].aside, 0);
        }
    }
    dir->nops = 0;
}

/* Under lock: links what dirfd's name is to a new hidden name, written
 * into aside ("" if name does not exist).  false if it exists and cannot
 * be linked (errno). */
static bool
link_aside(tidal__simdisk *d, int dirfd, const char *name, char *aside, size_t cap)
{
    aside[0] = '\0';
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return true;
    }
    snprintf(aside, cap, ".simdisk-%llu", (unsigned long long)++d->asides);
    if (linkat(dirfd, name, dirfd, aside, 0) != 0) {
        aside[0] = '\0';
        return false;
    }
    return true;
}

/* Under lock, gate passed: a rename (to != NULL) or an unlink of name. */
static int
name_change(tidal__simdisk *d, int dirfd, const char *name, const char *to)
{
    struct sd_dir *dir = tidal__sd_dir_of(d, dirfd);
    struct sd_dop *op = dir != NULL ? tidal__sd_push_dop(dir) : NULL;
    if (op == NULL) {
        errno = ENOMEM;
        return -1;
    }
    const char *victim = to != NULL ? to : name;
    if (!link_aside(d, dirfd, victim, op->aside, sizeof(op->aside))) {
        int e = errno;
        dir->nops--;
        errno = e;
        return -1;
    }
    int rc = to != NULL ? renameat(dirfd, name, dirfd, to) : unlinkat(dirfd, name, 0);
    if (rc != 0) {
        int e = errno;
        if (op->aside[0] != '\0') {
            (void)unlinkat(dirfd, op->aside, 0);
        }
        dir->nops--;
        errno = e;
        return -1;
    }
    op->kind = to != NULL ? SD_RENAME : SD_UNLINK;
    snprintf(op->a, sizeof(op->a), "%s", name);
    if (to != NULL) {
        snprintf(op->b, sizeof(op->b), "%s", to);
    }
    return 0;
}

int
tidal__sd_renameat(void *arg, int dirfd, const char *from, const char *to)
{
    tidal__simdisk *d = arg;
    pthread_mutex_lock(&d->lock);
    int g = tidal__sd_gate(d);
    int rc = g != 0 ? (g > 0 ? 0 : -1) : name_change(d, dirfd, from, to);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

int
tidal__sd_unlinkat(void *arg, int dirfd, const char *name)
{
    tidal__simdisk *d = arg;
    pthread_mutex_lock(&d->lock);
    int g = tidal__sd_gate(d);
    int rc = g != 0 ? (g > 0 ? 0 : -1) : name_change(d, dirfd, name, NULL);
    pthread_mutex_unlock(&d->lock);
    return rc;
}
