/*
 * Helpers shared by the WAL suites (test_wal*.c): opening a log, appending
 * batches whose payload is a pattern of their first LSN (so a reader can
 * check every byte it gets back), collecting what tidal_wal_read delivers,
 * and poking at segment files.
 */
#ifndef TIDAL_TEST_WAL_HELPERS_H
#define TIDAL_TEST_WAL_HELPERS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/batch.h"
#include "store/wal.h"
#include "tidal_test.h"

#define WAL_ORIGIN 1
#define WAL_SHARD 2

static inline tidal_wal_opts
wal_opts(const char *dir, tidal_durability d)
{
    tidal_wal_opts o = {.dir = dir, .origin = WAL_ORIGIN, .shard = WAL_SHARD, .durability = d};
    return o;
}

static inline tidal_wal *
wal_open(const tidal_wal_opts *o, tidal_wal_recovery *rep)
{
    tidal_wal *w = NULL;
    tidal_wal_recovery r;
    int rc = tidal_wal_open(o, &w, &r);

    cr_assert(rc == 0, "tidal_wal_open: %s (%s)", tidal_errname(rc), r.error);
    if (rep != NULL) {
        *rep = r;
    }
    return w;
}

/* The payload byte i of the batch starting at lsn. */
static inline uint8_t
wal_pattern(uint64_t lsn, size_t i)
{
    return (uint8_t)(lsn * 31u + i * 7u + 1u);
}

static inline tidal_hlc
wal_hlc(uint64_t wall)
{
    tidal_hlc h = {.wall_ns = wall, .logical = 0, .node_id = WAL_ORIGIN};
    return h;
}

/* Appends one batch of count records and len payload bytes patterned for
 * next_lsn (which must be the LSN it gets).  Returns the first LSN. */
static inline uint64_t
wal_append(tidal_wal *w, uint32_t len, uint32_t count)
{
    uint64_t want = tidal_wal_next_lsn(w);
    uint8_t *p = malloc(len + 1);
    uint64_t lsn = 0;

    cr_assert(p != NULL);
    for (uint32_t i = 0; i < len; i++) {
        p[i] = wal_pattern(want, i);
    }
    int rv;
    /* a SYNC log whose sync thread is behind refuses for room: wait, again */
    while ((rv = tidal_wal_append(w, p, len, count, wal_hlc(want), wal_hlc(want + count),
                                  &lsn)) == TIDAL_EFULL) {
        TIDAL_PASS(tidal_wal_wait_room(w, TIDAL_BATCH_HEADER_BYTES + len, 10000));
    }
    TIDAL_PASS(rv);
    cr_assert_eq(lsn, want, "append got LSN %llu, expected %llu", (unsigned long long)lsn,
                 (unsigned long long)want);
    free(p);
    return lsn;
}

/* What a read delivered: every batch, decoded and checked. */
struct wal_got {
    size_t n;
    uint64_t first[4096];
    uint32_t count[4096];
    size_t len[4096];
    int stop_after; /* return 42 after this many batches; 0 = never */
};

/* tidal_wal_read callback: checks the batch decodes, its payload is the
 * pattern of its first LSN, and LSNs follow each other. */
static inline int
wal_collect(void *arg, const uint8_t *b, size_t len)
{
    struct wal_got *g = arg;
    tidal_batch_header h;
    size_t total;

    TIDAL_PASS(tidal_batch_decode(b, len, &h, &total, NULL, 0));
    cr_assert_eq(total, len);
    cr_assert_eq(h.origin, WAL_ORIGIN);
    cr_assert_eq(h.shard, WAL_SHARD);
    for (uint32_t i = 0; i < h.payload_len; i++) {
        cr_assert_eq(b[TIDAL_BATCH_HEADER_BYTES + i], wal_pattern(h.first_lsn, i),
                     "payload byte %u of LSN %llu", i, (unsigned long long)h.first_lsn);
    }
    if (g->n > 0) {
        cr_assert_eq(h.first_lsn, g->first[g->n - 1] + g->count[g->n - 1], "LSN gap in read");
    }
    cr_assert(g->n < sizeof(g->first) / sizeof(g->first[0]));
    g->first[g->n] = h.first_lsn;
    g->count[g->n] = h.count;
    g->len[g->n] = len;
    g->n++;
    if (g->stop_after != 0 && (int)g->n == g->stop_after) {
        return 42;
    }
    return 0;
}

/* Reads from from_lsn (durable and volatile) into a fresh wal_got. */
static inline struct wal_got *
wal_read_all(tidal_wal *w, uint64_t from_lsn, bool include_volatile)
{
    struct wal_got *g = calloc(1, sizeof(*g));

    cr_assert(g != NULL);
    TIDAL_PASS(tidal_wal_read(w, from_lsn, include_volatile, wal_collect, g));
    return g;
}

/* <dir>/wal/shard-0002 */
static inline void
wal_shard_dir(char *out, size_t cap, const char *dir)
{
    snprintf(out, cap, "%s/wal/shard-%04x", dir, WAL_SHARD);
}

/* The path of the segment starting at lsn. */
static inline void
wal_seg_path(char *out, size_t cap, const char *dir, uint64_t lsn)
{
    snprintf(out, cap, "%s/wal/shard-%04x/r%04x-%016llx.seg", dir, WAL_SHARD, WAL_ORIGIN,
             (unsigned long long)lsn);
}

/* The path of the log's manifest. */
static inline void
wal_manifest_path(char *out, size_t cap, const char *dir)
{
    snprintf(out, cap, "%s/wal/shard-%04x/r%04x.manifest", dir, WAL_SHARD, WAL_ORIGIN);
}

static inline int
wal_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The .seg names in the shard directory, sorted as strings; *n gets the
 * count.  Free with wal_names_free. */
static inline char **
wal_seg_names(const char *dir, size_t *n)
{
    char path[512];
    char **v = calloc(1024, sizeof(char *));
    struct dirent *de;
    DIR *d;

    wal_shard_dir(path, sizeof(path), dir);
    d = opendir(path);
    cr_assert(d != NULL && v != NULL);
    *n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".seg") == 0) {
            cr_assert(*n < 1024);
            v[(*n)++] = strdup(de->d_name);
        }
    }
    closedir(d);
    qsort(v, *n, sizeof(char *), wal_strcmp);
    return v;
}

static inline void
wal_names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

static inline size_t
wal_file_size(const char *path)
{
    struct stat st;
    cr_assert(stat(path, &st) == 0, "stat %s", path);
    return (size_t)st.st_size;
}

/* Reads the whole file into a fresh buffer. */
static inline uint8_t *
wal_file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;

    cr_assert(f != NULL, "open %s", path);
    *len = wal_file_size(path);
    b = malloc(*len + 1);
    cr_assert(b != NULL);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static inline void
wal_file_write(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");

    cr_assert(f != NULL, "open %s", path);
    cr_assert_eq(fwrite(b, 1, len, f), len);
    cr_assert(fclose(f) == 0);
}

/* XORs the byte at off of the file with x. */
static inline void
wal_file_flip(const char *path, size_t off, uint8_t x)
{
    size_t len;
    uint8_t *b = wal_file_read(path, &len);

    cr_assert(off < len);
    b[off] ^= x;
    wal_file_write(path, b, len);
    free(b);
}

/* Offsets of the batches in a segment file's bytes. */
static inline size_t
wal_batch_offsets(const uint8_t *b, size_t len, size_t *offs, size_t cap)
{
    size_t n = 0;
    size_t off = 0;

    while (off < len) {
        size_t total;
        TIDAL_PASS(tidal_batch_decode(b + off, len - off, NULL, &total, NULL, 0));
        cr_assert(n < cap);
        offs[n++] = off;
        off += total;
    }
    return n;
}

#endif /* TIDAL_TEST_WAL_HELPERS_H */
