/*
 * The seeds of fuzz_recover (fuzz/seeds.h): region directories as
 * fuzz/fuzz_recover.c reads them from its input - logs the WAL itself wrote,
 * logs cut by hand from encoded batches, and the same with one flaw (a gap,
 * a bad batch in the middle, an old version).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/seeds.h"
#include "messages/record.h"
#include "store/wal.h"
#include "tidal/errors.h"

/* ---- recovery --------------------------------------------------------------------- */

/* Appends one file of a fuzz_recover input: how, lsn, length, content. */
static void
recover_file(tidal_buf *in, uint8_t how, uint64_t lsn, const uint8_t *p, size_t len)
{
    uint8_t head[11];
    head[0] = how;
    for (int i = 0; i < 8; i++) {
        head[1 + i] = (uint8_t)(lsn >> (8 * i));
    }
    head[9] = (uint8_t)len;
    head[10] = (uint8_t)(len >> 8);
    seeds_must(tidal_buf_append(in, head, sizeof(head)), "recover");
    seeds_must(tidal_buf_append(in, p, len), "recover");
}

/* A log of origin 1, shard 3 written by the WAL itself: `batches` batches
 * of `per` records, segments of 4 KiB; each segment (at most 4) becomes a
 * file of the input `in` (after its flags byte). */
static void
wal_written(tidal_buf *in, uint32_t batches, uint32_t per)
{
    char root[] = "/tmp/tidal-seeds-XXXXXX";
    char path[256];
    tidal_wal *w = NULL;
    tidal_buf p;
    uint64_t first;
    uint64_t lsns[4];
    size_t nsegs = 0;

    if (mkdtemp(root) == NULL) {
        seeds_must(TIDAL_EIO, "mkdtemp");
    }
    tidal_wal_opts o = {.dir = root,
                        .origin = 1,
                        .shard = 3,
                        .durability = TIDAL_DURABILITY_NONE,
                        .segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN};
    seeds_must(tidal_wal_open(&o, &w, NULL), "wal open");
    tidal_buf_init(&p);
    for (uint32_t i = 0; i < per; i++) {
        seeds_records(&p, &seeds_all_kinds[4 + i % 2], 1);
    }
    for (uint32_t i = 0; i < batches; i++) {
        tidal_hlc ts = {SEEDS_NOW_NS + i, 0, 1};
        seeds_must(tidal_wal_append(w, p.data, (uint32_t)p.len, per, ts, ts, &first), "append");
    }
    tidal_wal_close(w);
    tidal_buf_fini(&p);

    snprintf(path, sizeof(path), "%s/wal/shard-0003", root);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        unsigned long long lsn;
        if (sscanf(de->d_name, "r0001-%16llx.seg", &lsn) == 1 && nsegs < 4) {
            lsns[nsegs++] = lsn;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    for (size_t i = 1; i < nsegs; i++) { /* LSN order, for a stable seed */
        for (size_t j = i; j > 0 && lsns[j - 1] > lsns[j]; j--) {
            uint64_t t = lsns[j];
            lsns[j] = lsns[j - 1];
            lsns[j - 1] = t;
        }
    }
    for (size_t i = 0; i < nsegs; i++) {
        char seg[300];
        uint8_t buf[8192];
        snprintf(seg, sizeof(seg), "%s/r0001-%016llx.seg", path, (unsigned long long)lsns[i]);
        int fd = open(seg, O_RDONLY);
        ssize_t got = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
        if (got < 0) {
            seeds_must(TIDAL_EIO, seg);
        }
        close(fd);
        recover_file(in, 0, lsns[i], buf, (size_t)got);
        unlink(seg);
    }
    rmdir(path);
    snprintf(path, sizeof(path), "%s/wal", root);
    rmdir(path);
    rmdir(root);
}

void
seeds_recover(struct seeds *s)
{
    tidal_buf in, p, b1, b2, b3;
    static const uint8_t plain = 0x00, fix = 0x01;
    tidal_buf_init(&in);
    tidal_buf_init(&p);
    tidal_buf_init(&b1);
    tidal_buf_init(&b2);
    tidal_buf_init(&b3);

    seed_put(s, "recover", "valid-empty-dir.bin", &plain, 1, NULL, 0);
    wal_written(&in, 3, 2);
    seed_put(s, "recover", "valid-wal-one-segment.bin", &plain, 1, in.data, in.len);
    tidal_buf_reset(&in);
    wal_written(&in, 16, 12); /* 288-byte batches: 14 fill a 4 KiB segment, then a roll-over */
    seed_put(s, "recover", "valid-wal-two-segments.bin", &plain, 1, in.data, in.len);

    /* Logs cut by hand from batches: 1-2, 3, 4-5 (LSNs), origin 1, shard 3. */
    seeds_records(&p, &seeds_all_kinds[4], 2);
    seeds_batch(&b1, 1, 3, 1, &p, 2);
    tidal_buf_reset(&p);
    seeds_records(&p, &seeds_all_kinds[4], 1);
    seeds_batch(&b1, 1, 3, 3, &p, 1);
    tidal_buf_reset(&p);
    seeds_records(&p, &seeds_all_kinds[4], 2);
    seeds_batch(&b2, 1, 3, 4, &p, 2);
    tidal_buf_reset(&in);
    recover_file(&in, 0, 1, b1.data, b1.len);
    recover_file(&in, 1, 0, b2.data, b2.len); /* named from its first batch: 4 */
    seed_put(s, "recover", "valid-two-files.bin", &plain, 1, in.data, in.len);
    seed_put(s, "recover", "valid-two-files-fixcrc.bin", &fix, 1, in.data, in.len);
    recover_file(&in, 2, 1, b1.data, b1.len); /* another origin's: ignored */
    recover_file(&in, 3, 9, b2.data, 7);      /* a leftover .tmp: ignored */
    seed_put(s, "recover", "valid-ignored-files.bin", &plain, 1, in.data, in.len);

    tidal_buf_reset(&in);
    recover_file(&in, 0, 1, b1.data, b1.len);
    recover_file(&in, 0, 4, b2.data, b2.len - 5); /* torn tail: cut, then open */
    seed_put(s, "recover", "valid-torn-tail.bin", &plain, 1, in.data, in.len);

    tidal_buf_reset(&in);
    recover_file(&in, 0, 1, b1.data, b1.len);
    recover_file(&in, 0, 5, b2.data, b2.len); /* LSN 4 missing */
    seed_put(s, "recover", "bad-ECORRUPT-gap.bin", &plain, 1, in.data, in.len);

    /* A bad CRC in the middle of the last segment, a valid batch after it. */
    tidal_buf_reset(&in);
    seeds_must(tidal_buf_append(&b3, b1.data, b1.len), "b3");
    b3.data[64] ^= 0xff;
    seeds_must(tidal_buf_append(&b3, b2.data, b2.len), "b3");
    recover_file(&in, 0, 1, b3.data, b3.len);
    seed_put(s, "recover", "bad-ECORRUPT-middle.bin", &plain, 1, in.data, in.len);

    tidal_buf_reset(&in);
    b1.data[4] = 1; /* version 1 */
    recover_file(&in, 0, 1, b1.data, b1.len);
    seed_put(s, "recover", "bad-EVERSION-v1.bin", &plain, 1, in.data, in.len);

    tidal_buf_fini(&b3);
    tidal_buf_fini(&b2);
    tidal_buf_fini(&b1);
    tidal_buf_fini(&p);
    tidal_buf_fini(&in);
}
