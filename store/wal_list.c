/*
 * tidal_wal_list: the logs (origin, shard) a region directory holds, read
 * from the segment and manifest file names of <dir>/wal/shard-SSSS, with no
 * log opened.  A manifest alone counts: a log whose every segment is gone
 * is still listed, so that opening it finds that out (wal_lost.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/wal_state.h"

struct log_ids {
    uint32_t *v; /* shard << 16 | origin */
    size_t n;
    size_t cap;
};

static int
ids_push(struct log_ids *ids, uint32_t id)
{
    if (ids->n > 0 && ids->v[ids->n - 1] == id) {
        return 0; /* a shard directory lists its origin's segments together, mostly */
    }
    if (ids->n == ids->cap) {
        size_t cap = ids->cap != 0 ? ids->cap * 2 : 16;
        uint32_t *v = realloc(ids->v, cap * sizeof(*v));
        if (v == NULL) {
            return TIDAL_ENOMEM;
        }
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return 0;
}

static int
id_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a;
    uint32_t y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Adds the origins with segments in the shard directory `name` of wal.
 * TIDAL_EIO or TIDAL_ENOMEM (ids keeps what was added). */
static int
list_shard(DIR *wal, const char *name, uint16_t shard, struct log_ids *ids)
{
    struct dirent *de;
    DIR *d;
    int fd;
    int rc = 0;

    fd = openat(dirfd(wal), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOTDIR ? 0 : TIDAL_EIO;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return TIDAL_EIO;
    }
    while (rc == 0 && (de = readdir(d)) != NULL) {
        uint16_t origin;
        uint64_t lsn;
        if (tidal__wal_seg_parse(de->d_name, &origin, &lsn) ||
            tidal__wal_manifest_parse(de->d_name, &origin)) {
            rc = ids_push(ids, (uint32_t)shard << 16 | origin);
        }
    }
    closedir(d);
    return rc;
}

int
tidal_wal_list(const char *dir, void (*fn)(void *arg, uint16_t origin, uint16_t shard), void *arg)
{
    struct log_ids ids = {0};
    struct dirent *de;
    char path[4096];
    DIR *wal;
    int rc = 0;

    if (dir == NULL || fn == NULL ||
        (size_t)snprintf(path, sizeof(path), "%s/wal", dir) >= sizeof(path)) {
        return TIDAL_EINVAL;
    }
    wal = opendir(path);
    if (wal == NULL) {
        return errno == ENOENT ? 0 : TIDAL_EIO;
    }
    while (rc == 0 && (de = readdir(wal)) != NULL) {
        uint16_t shard;
        if (tidal__wal_shard_parse(de->d_name, &shard)) {
            rc = list_shard(wal, de->d_name, shard, &ids);
        }
    }
    closedir(wal);
    if (rc == 0) {
        if (ids.n > 1) {
            qsort(ids.v, ids.n, sizeof(ids.v[0]), id_cmp);
        }
        for (size_t i = 0; i < ids.n; i++) {
            if (i == 0 || ids.v[i] != ids.v[i - 1]) {
                fn(arg, (uint16_t)(ids.v[i] & 0xffffu), (uint16_t)(ids.v[i] >> 16));
            }
        }
    }
    free(ids.v);
    return rc;
}
