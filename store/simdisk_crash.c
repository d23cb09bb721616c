/*
 * The simulated disk's crash (simdisk.h, "The crash rule"): what each file
 * and directory kept of its changes since its last sync is drawn, and the
 * rest is reverted in the real files, newest change first, each by its
 * own undo record (simdisk_state.h).  Reverting every change gives back
 * exactly the file as of its last sync, so durable bytes are never lost.
 *
 * The draws, per file with n changes (one word w, and one more for a tear):
 *   | w % 4 | kept                                                         |
 *   |-------|--------------------------------------------------------------|
 *   | 0     | none                                                         |
 *   | 1     | all                                                          |
 *   | 2     | the first (w >> 8) % (n + 1)                                 |
 *   | 3     | the first k = (w >> 8) % n, then change k torn if a write:  |
 *   |       | its first t % len bytes kept, the rest of t's sector        |
 *   |       | (beyond the size before it) left, zeroed or garbage by       |
 *   |       | (t >> 32) % 3; a truncation is kept whole or not: as 2       |
 * and per directory with n name changes: w % 3 = none, all, or the first
 * (w >> 8) % (n + 1).  Garbage is drawn too, a word per 8 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/simdisk_state.h"

static bool
put_bytes(int fd, const uint8_t *b, uint64_t len, uint64_t off)
{
    for (uint64_t n = 0; n < len;) {
        ssize_t k = pwrite(fd, b + n, len - n, (off_t)(off + n));
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        n += (uint64_t)k;
    }
    return true;
}

/* Takes op back: the file is as it was before it.  false if the real
 * disk refused. */
static bool
undo(struct sd_file *f, const struct sd_op *op)
{
    if (op->kind == SD_WRITE) {
        if (!put_bytes(f->fd, op->old, op->old_len, op->off)) {
            return false;
        }
        return op->off + op->len <= op->old_size || ftruncate(f->fd, (off_t)op->old_size) == 0;
    }
    return ftruncate(f->fd, (off_t)op->old_size) == 0 &&
           put_bytes(f->fd, op->old, op->old_len, op->off);
}

/* A torn write: op is undone but for its first cut bytes, and the rest of
 * the sector they end in - only what op had added beyond the size before
 * it - is filled by fill (0 left, 1 zeroes, 2 garbage).  false if the real
 * disk refused. */
static bool
tear(struct sd_file *f, const struct sd_op *op, uint64_t cut, int fill, uint64_t (*draw)(void *),
     void *arg)
{
    uint8_t sector[TIDAL__SIMDISK_SECTOR_BYTES];
    uint8_t *kept = cut > 0 ? malloc(cut) : NULL;
    if (cut > 0 && kept == NULL) {
        return false;
    }
    bool ok = pread(f->fd, kept, cut, (off_t)op->off) == (ssize_t)cut && undo(f, op) &&
              put_bytes(f->fd, kept, cut, op->off);
    free(kept);
    uint64_t end = op->off + cut;
    uint64_t from = end > op->old_size ? end : op->old_size;
    uint64_t to = (end / TIDAL__SIMDISK_SECTOR_BYTES + 1) * TIDAL__SIMDISK_SECTOR_BYTES;
    to = to < op->off + op->len ? to : op->off + op->len;
    if (!ok || fill == 0 || from >= to) {
        return ok;
    }
    memset(sector, 0, sizeof(sector));
    for (uint64_t i = 0; fill == 2 && i < to - from; i += 8) {
        uint64_t w = draw(arg);
        memcpy(sector + i, &w, to - from - i < 8 ? to - from - i : 8);
    }
    return put_bytes(f->fd, sector, to - from, from);
}

static const char *const fill_names[] = {"left", "zeroes", "garbage"};

/* Resolves one file (n > 0 changes).  Cannot fail. */
static void
crash_file(struct sd_file *f, uint64_t (*draw)(void *), void (*line)(void *, const char *),
           void *arg, tidal__simdisk_report *rep)
{
    size_t n = f->nops;
    uint64_t w = draw(arg);
    size_t k = w % 4 == 0 ? 0 : w % 4 == 1 ? n : (size_t)((w >> 8) % (w % 4 == 2 ? n + 1 : n));
    bool torn = w % 4 == 3 && f->ops[k].kind == SD_WRITE;
    bool ok = true;
    for (size_t i = n; i > k + (torn ? 1 : 0); i--) {
        const struct sd_op *op = &f->ops[i - 1];
        ok = undo(f, op) && ok;
        rep->changes_lost++;
        rep->bytes_lost += op->kind == SD_WRITE ? op->len : 0;
    }
    char text[256];
    int len = snprintf(text, sizeof(text), "%s: %zu changes since its last sync, kept %zu", f->name,
                       n, k);
    if (torn) {
        const struct sd_op *op = &f->ops[k];
        uint64_t t = draw(arg);
        uint64_t cut = t % op->len;
        int fill = (int)((t >> 32) % 3);
        ok = tear(f, op, cut, fill, draw, arg) && ok;
        rep->writes_torn++;
        rep->bytes_lost += op->len - cut;
        snprintf(text + len, sizeof(text) - (size_t)len,
                 ", then %llu of the %llu bytes written at %llu (rest of the sector %s)",
                 (unsigned long long)cut, (unsigned long long)op->len, (unsigned long long)op->off,
                 fill_names[fill]);
    }
    if (!ok) {
        size_t at = strlen(text);
        snprintf(text + at, sizeof(text) - at, "; reverting failed: %s", strerror(errno));
    }
    rep->files++;
    line(arg, text);
    tidal__sd_file_clear(f);
}

/* Takes back one name change.  false if the real disk refused. */
static bool
undo_name(struct sd_dir *dir, const struct sd_dop *op)
{
    int fd = dir->fd;
    switch (op->kind) {
    case SD_CREATE:
        return unlinkat(fd, op->a, 0) == 0 || errno == ENOENT;
    case SD_RENAME:
        if (renameat(fd, op->b, fd, op->a) != 0) {
            return false;
        }
        return op->aside[0] == '\0' || renameat(fd, op->aside, fd, op->b) == 0;
    default:
        return op->aside[0] == '\0' || renameat(fd, op->aside, fd, op->a) == 0;
    }
}

static void
crash_dir(struct sd_dir *dir, size_t index, uint64_t (*draw)(void *),
          void (*line)(void *, const char *), void *arg, tidal__simdisk_report *rep)
{
    size_t n = dir->nops;
    uint64_t w = draw(arg);
    size_t k = w % 3 == 0 ? 0 : w % 3 == 1 ? n : (size_t)((w >> 8) % (n + 1));
    bool ok = true;
    for (size_t i = n; i > k; i--) {
        struct sd_dop *op = &dir->ops[i - 1];
        ok = undo_name(dir, op) && ok;
        op->aside[0] = '\0'; /* moved back: nothing hidden is left of it */
        rep->entries_lost++;
    }
    char text[256];
    int len = snprintf(text, sizeof(text), "directory %zu: %zu name changes since its last sync",
                       index, n);
    for (size_t i = 0; i < n && len < (int)sizeof(text) - 80; i++) {
        const struct sd_dop *op = &dir->ops[i];
        static const char *const kinds[] = {"create", "rename", "unlink"};
        len += snprintf(text + len, sizeof(text) - (size_t)len, "%s %s %s %s%s", i == 0 ? ":" : ",",
                        i < k ? "kept" : "undone", kinds[op->kind], op->a,
                        op->kind == SD_RENAME ? " ->" : "");
        if (op->kind == SD_RENAME) {
            len += snprintf(text + len, sizeof(text) - (size_t)len, " %s", op->b);
        }
    }
    if (!ok && len < (int)sizeof(text)) {
        snprintf(text + len, sizeof(text) - (size_t)len, "; undoing failed: %s", strerror(errno));
    }
    line(arg, text);
    tidal__sd_dir_commit(dir); /* the kept ones' hidden links go */
}

void
tidal__simdisk_crash(tidal__simdisk *d, uint64_t (*draw)(void *arg),
                     void (*line)(void *arg, const char *text), void *arg,
                     tidal__simdisk_report *rep)
{
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->nfiles; i++) {
        if (d->files[i]->nops > 0) {
            crash_file(d->files[i], draw, line, arg, rep);
        }
    }
    for (size_t i = 0; i < d->ndirs; i++) {
        if (d->dirs[i]->nops > 0) {
            crash_dir(d->dirs[i], i, draw, line, arg, rep);
        }
    }
    for (size_t i = d->nfiles; i > 0; i--) {
        tidal__sd_file_release(d, d->files[i - 1]);
    }
    d->state = SD_UP;
    d->cut_armed = false;
    pthread_mutex_unlock(&d->lock);
}

void
tidal__simdisk_free(tidal__simdisk *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->nfiles; i++) {
        close(d->files[i]->fd);
        tidal__sd_file_clear(d->files[i]);
        free(d->files[i]->ops);
        free(d->files[i]);
    }
    for (size_t i = 0; i < d->ndirs; i++) {
        tidal__sd_dir_commit(d->dirs[i]);
        close(d->dirs[i]->fd);
        free(d->dirs[i]->ops);
        free(d->dirs[i]);
    }
    free(d->files);
    free(d->dirs);
    free(d->fd_map);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
