/*
 * What every seed writer shares (fuzz/seeds.h): failing loudly, writing a
 * seed file, and the records and batches the seeds are built from.  The
 * writers (seeds.c, seeds_store.c, seeds_wal.c) call down into this file
 * and never into each other, except seeds.c's main calling each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/seeds.h"
#include "messages/mpwrite.h"
#include "messages/msg_repl.h"
#include "messages/record.h"
#include "messages/types.h"
#include "store/batch.h"
#include "tidal/errors.h"

void
seeds_must(int rv, const char *what)
{
    if (rv != 0) {
        fprintf(stderr, "fuzz_seeds: %s: %s\n", what, tidal_errname(rv));
        exit(2);
    }
}

void
seed_put(struct seeds *s, const char *target, const char *name, const void *prefix,
         size_t prefix_len, const void *p, size_t len)
{
    char path[1024];
    size_t n = prefix_len + len;
    uint8_t *want = malloc(n != 0 ? n : 1);

    if (want == NULL) {
        seeds_must(TIDAL_ENOMEM, "seed");
    }
    memcpy(want, prefix, prefix_len);
    if (len != 0) {
        memcpy(want + prefix_len, p, len);
    }
    snprintf(path, sizeof(path), "%s/%s", s->root, target);
    if (!s->check && mkdir(path, 0755) != 0 && errno != EEXIST) {
        seeds_must(TIDAL_EIO, path);
    }
    snprintf(path, sizeof(path), "%s/%s/%s", s->root, target, name);
    if (s->check) {
        FILE *f = fopen(path, "rb");
        uint8_t *got = malloc(n + 1);
        size_t g = f != NULL && got != NULL ? fread(got, 1, n + 1, f) : 0;
        if (f == NULL || g != n || memcmp(got, want, n) != 0) {
            fprintf(stderr, "fuzz_seeds: %s %s (run fuzz_seeds on the corpus again)\n", path,
                    f == NULL ? "is missing" : "differs from what the encoders write");
            s->failed++;
        }
        if (f != NULL) {
            fclose(f);
        }
        free(got);
    } else {
        FILE *f = fopen(path, "wb");
        if (f == NULL || fwrite(want, 1, n, f) != n || fclose(f) != 0) {
            seeds_must(TIDAL_EIO, path);
        }
    }
    s->written++;
    free(want);
}

/* ---- records and batches ---------------------------------------------------- */

static const uint8_t sid_a[16] = {0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static tidal_record
rec(uint8_t kind)
{
    tidal_record r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    memcpy(r.sid, sid_a, sizeof(r.sid));
    r.user = 1001;
    r.item = 77;
    r.region = 1;
    r.seqno = 3;
    r.hlc = (tidal_hlc){SEEDS_NOW_NS, 2, 1};
    if (kind == TIDAL_REC_SESSION_SIGNAL) {
        snprintf(r.type, sizeof(r.type), "view");
        r.weight = 0.75;
        r.ts_ns = SEEDS_NOW_NS - 5000;
        r.p_minute = 4;
        r.p_hour = 9;
    }
    if (kind == TIDAL_REC_USER_COUNTER) {
        snprintf(r.key, sizeof(r.key), "source-news");
        r.cp = 12;
        r.cn = 5;
    }
    return r;
}

void
seeds_records(tidal_buf *out, const uint8_t *kinds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tidal_record r = rec(kinds[i]);
        r.seqno += i;
        seeds_must(tidal_record_encode(&r, out), "record");
    }
}

const uint8_t seeds_all_kinds[7] = {TIDAL_REC_SESSION_START, TIDAL_REC_SESSION_SIGNAL,
                                    TIDAL_REC_SESSION_END,   TIDAL_REC_SESSION_HOME,
                                    TIDAL_REC_HIDE,          TIDAL_REC_UNHIDE,
                                    TIDAL_REC_USER_COUNTER};

void
seeds_batch(tidal_buf *out, uint16_t origin, uint16_t shard, uint64_t first,
            const tidal_buf *payload, uint32_t count)
{
    tidal_batch_header h = {.origin = origin,
                            .shard = shard,
                            .count = count,
                            .first_lsn = first,
                            .payload_len = (uint32_t)payload->len,
                            .hlc_min = {SEEDS_NOW_NS, 0, origin},
                            .hlc_max = {SEEDS_NOW_NS, 9, origin}};
    uint8_t head[TIDAL_BATCH_HEADER_BYTES];
    seeds_must(tidal_batch_header_encode(&h, payload->data, head), "batch header");
    seeds_must(tidal_buf_append(out, head, sizeof(head)), "batch");
    seeds_must(tidal_buf_append(out, payload->data, payload->len), "batch");
}

