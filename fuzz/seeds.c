/*
 * fuzz_seeds: writes or checks the seed corpora (fuzz/seeds.h says how).
 * This file: the driver and the seeds of fuzz_repl, fuzz_record and
 * fuzz_recover; fuzz/seeds_store.c has those of fuzz_codec and fuzz_merge.
 * Each seed is a real encoding by tidal's encoders, or one such encoding
 * with one deliberate flaw (the bad-* seeds), so the fuzzer starts from the
 * shapes the code actually reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/seeds.h"
#include "messages/mpwrite.h"
#include "messages/msg_repl.h"
#include "messages/record.h"
#include "messages/types.h"
#include "store/batch.h"
#include "store/wal.h"
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
    return r;
}

/* Appends the encoding of each kind in kinds (n of them) to out. */
static void
records(tidal_buf *out, const uint8_t *kinds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        tidal_record r = rec(kinds[i]);
        r.seqno += i;
        seeds_must(tidal_record_encode(&r, out), "record");
    }
}

static const uint8_t all_kinds[] = {TIDAL_REC_SESSION_START, TIDAL_REC_SESSION_SIGNAL,
                                    TIDAL_REC_SESSION_END,   TIDAL_REC_SESSION_HOME,
                                    TIDAL_REC_HIDE,          TIDAL_REC_UNHIDE};

/* A batch (header + payload) of origin/shard holding count records. */
static void
batch(tidal_buf *out, uint16_t origin, uint16_t shard, uint64_t first, const tidal_buf *payload,
      uint32_t count)
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

static void
seeds_record(struct seeds *s)
{
    static const uint8_t recs = 0x00, bat = 0x01, fixcrc = 0x03;
    static const char *const names[] = {"", "start", "signal", "end", "home", "hide", "unhide"};
    tidal_buf p, b;
    char name[64];

    tidal_buf_init(&p);
    tidal_buf_init(&b);
    for (size_t i = 0; i < sizeof(all_kinds); i++) {
        tidal_buf_reset(&p);
        records(&p, &all_kinds[i], 1);
        snprintf(name, sizeof(name), "valid-records-%s.bin", names[all_kinds[i]]);
        seed_put(s, "record", name, &recs, 1, p.data, p.len);
    }
    tidal_buf_reset(&p);
    records(&p, all_kinds, sizeof(all_kinds));
    seed_put(s, "record", "valid-records-mixed.bin", &recs, 1, p.data, p.len);
    batch(&b, 1, 0, 1, &p, sizeof(all_kinds));
    seed_put(s, "record", "valid-batch-mixed.bin", &bat, 1, b.data, b.len);
    /* the CRC zeroed: only the fix flag makes it valid */
    memset(b.data + 64, 0, 4);
    seed_put(s, "record", "valid-batch-fixcrc.bin", &fixcrc, 1, b.data, b.len);
    seed_put(s, "record", "bad-ECRC-batch-zeroed.bin", &bat, 1, b.data, b.len);

    tidal_buf_reset(&b);
    batch(&b, 1, 0, 1, &p, sizeof(all_kinds));
    seed_put(s, "record", "bad-ETRUNCATED-batch-torn.bin", &bat, 1, b.data, b.len - 3);
    b.data[4] = 1; /* version 1 */
    seed_put(s, "record", "bad-EVERSION-batch-v1.bin", &bat, 1, b.data, b.len);
    b.data[4] = 2;
    b.data[0] = 'X';
    seed_put(s, "record", "bad-ECORRUPT-batch-magic.bin", &bat, 1, b.data, b.len);

    /* headers whose count disagrees with the payload, CRCs right */
    tidal_buf_reset(&b);
    batch(&b, 1, 0, 40, &p, 2);
    seed_put(s, "record", "bad-ETRAILING-batch-count-low.bin", &bat, 1, b.data, b.len);
    tidal_buf_reset(&b);
    batch(&b, 1, 0, 40, &p, 9);
    seed_put(s, "record", "bad-ETRUNCATED-batch-count-high.bin", &bat, 1, b.data, b.len);

    static const uint8_t signals[] = {TIDAL_REC_SESSION_SIGNAL, TIDAL_REC_SESSION_SIGNAL,
                                      TIDAL_REC_SESSION_SIGNAL};
    tidal_buf_reset(&p);
    tidal_buf_reset(&b);
    records(&p, signals, sizeof(signals));
    batch(&b, 2, 5, 1000, &p, sizeof(signals));
    seed_put(s, "record", "valid-batch-signals.bin", &bat, 1, b.data, b.len);

    /* records with one flaw */
    static const uint8_t kind9[] = {0x92, 0x09, 0x01};
    static const uint8_t hide_arity3[] = {0x93, 0x05, 0x01, 0x02};
    seed_put(s, "record", "bad-ETYPE-record-kind9.bin", &recs, 1, kind9, sizeof(kind9));
    seed_put(s, "record", "bad-EFIELD-record-arity.bin", &recs, 1, hide_arity3,
             sizeof(hide_arity3));
    tidal_buf_fini(&b);
    tidal_buf_fini(&p);
}

/* ---- replication payloads ------------------------------------------------------ */

/* One repl seed: the type byte, then the encoding. */
static void
repl_put(struct seeds *s, const char *name, uint8_t type, const tidal_buf *b, size_t cut)
{
    seed_put(s, "repl", name, &type, 1, b->data, b->len - cut);
}

static void
seeds_repl(struct seeds *s)
{
    tidal_buf b, p, rec_b;
    tidal_buf ents[8];
    tidal_view views[8];
    uint64_t hashes[4] = {0x1111, 0x2222, 0x3333, 0x4444};
    static const char u1[] = "tcp://10.0.0.2:7000", u2[] = "tcp://10.0.0.2:7001",
                      u3[] = "tcp://10.0.0.2:7002";
    tidal_buf_init(&b);
    tidal_buf_init(&p);
    tidal_buf_init(&rec_b);

    records(&p, all_kinds, 2);
    batch(&rec_b, 1, 0, 5, &p, 2);
    tidal_msg_batch mb = {1, 0, {rec_b.data, (uint32_t)rec_b.len}};
    seeds_must(tidal_msg_batch_encode(&mb, &b), "batch");
    repl_put(s, "valid-batch.bin", TIDAL_MSG_BATCH, &b, 0);
    repl_put(s, "bad-ETRUNCATED-batch-cut.bin", TIDAL_MSG_BATCH, &b, 10);

    tidal_buf_reset(&b);
    tidal_msg_ack ma = {1, 0, 42};
    seeds_must(tidal_msg_ack_encode(&ma, &b), "ack");
    repl_put(s, "valid-ack.bin", TIDAL_MSG_ACK, &b, 0);
    seeds_must(tidal_buf_append(&b, "\x00", 1), "ack");
    repl_put(s, "bad-ETRAILING-ack.bin", TIDAL_MSG_ACK, &b, 0);

    tidal_buf_reset(&b);
    tidal_msg_peer mp = {2,
                         {(const uint8_t *)u1, sizeof(u1) - 1},
                         {(const uint8_t *)u2, sizeof(u2) - 1},
                         {(const uint8_t *)u3, sizeof(u3) - 1}};
    seeds_must(tidal_msg_peer_encode(&mp, &b), "peer");
    repl_put(s, "valid-peer.bin", TIDAL_MSG_PEER, &b, 0);
    uint8_t raw[64], *q = raw; /* an empty url: the encoder refuses to write one */
    q = tidal_mpw_array(q, 4);
    q = tidal_mpw_uint(q, 2);
    q = tidal_mpw_str(q, "", 0);
    q = tidal_mpw_str(q, u2, 3);
    q = tidal_mpw_str(q, u3, 3);
    seed_put(s, "repl", "bad-EFIELD-peer-empty-url.bin", &(uint8_t){TIDAL_MSG_PEER}, 1, raw,
             (size_t)(q - raw));

    tidal_buf_reset(&b);
    tidal_buf_reset(&p);
    records(&p, &all_kinds[1], 1);
    tidal_msg_write mw = {99, {p.data, (uint32_t)p.len}};
    seeds_must(tidal_msg_write_encode(&mw, &b), "write");
    repl_put(s, "valid-write.bin", TIDAL_MSG_WRITE, &b, 0);

    tidal_buf_reset(&b);
    tidal_msg_write_result mr = {0, 5, 17, 3};
    seeds_must(tidal_msg_write_result_encode(&mr, &b), "write_result");
    repl_put(s, "valid-write-result.bin", TIDAL_MSG_WRITE_RESULT, &b, 0);
    tidal_buf_reset(&b);
    mr = (tidal_msg_write_result){TIDAL_ELIMIT, 0, 0, 0};
    seeds_must(tidal_msg_write_result_encode(&mr, &b), "write_result");
    repl_put(s, "valid-write-result-refused.bin", TIDAL_MSG_WRITE_RESULT, &b, 0);

    tidal_buf_reset(&b);
    tidal_msg_handover_req mq = {.to_region = 2};
    memcpy(mq.sid, sid_a, 16);
    seeds_must(tidal_msg_handover_req_encode(&mq, &b), "handover_req");
    repl_put(s, "valid-handover-req.bin", TIDAL_MSG_HANDOVER_REQ, &b, 0);
    b.data[2] = 15; /* the sid's bin length: 15 bytes, then one byte of the region */
    repl_put(s, "bad-EFIELD-handover-req-sid.bin", TIDAL_MSG_HANDOVER_REQ, &b, 0);

    tidal_buf_reset(&b);
    tidal_msg_handover mh = {.next_seqno = 11, .code = 0};
    memcpy(mh.sid, sid_a, 16);
    seeds_must(tidal_msg_handover_encode(&mh, &b), "handover");
    repl_put(s, "valid-handover.bin", TIDAL_MSG_HANDOVER, &b, 0);

    tidal_buf_reset(&b);
    tidal_msg_digest md = {1, 3, {(const uint8_t *)hashes, sizeof(hashes)}, true};
    seeds_must(tidal_msg_digest_encode(&md, &b), "digest");
    repl_put(s, "valid-digest.bin", TIDAL_MSG_DIGEST, &b, 0);
    tidal_buf_reset(&b);
    md = (tidal_msg_digest){1, 4, {(const uint8_t *)hashes, 8}, false};
    seeds_must(tidal_msg_digest_encode(&md, &b), "digest");
    repl_put(s, "valid-digest-one.bin", TIDAL_MSG_DIGEST, &b, 0);
    q = raw; /* three buckets: not a power of two */
    q = tidal_mpw_array(q, 4);
    q = tidal_mpw_uint(q, 1);
    q = tidal_mpw_uint(q, 3);
    q = tidal_mpw_bin(q, hashes, 24);
    *q++ = 0xc2;
    seed_put(s, "repl", "bad-EFIELD-digest-3-buckets.bin", &(uint8_t){TIDAL_MSG_DIGEST}, 1, raw,
             (size_t)(q - raw));

    size_t n = seeds_store_entries(ents, 8);
    for (size_t i = 0; i < n; i++) {
        views[i] = (tidal_view){ents[i].data, (uint32_t)ents[i].len};
    }
    tidal_buf_reset(&b);
    static const uint8_t want[] = {0x05};
    tidal_msg_entries me = {.from = 2,
                            .round = 3,
                            .want = {want, 1},
                            .last = true,
                            .count = (uint32_t)n,
                            .entries = views};
    seeds_must(tidal_msg_entries_encode(&me, &b), "entries");
    repl_put(s, "valid-entries.bin", TIDAL_MSG_ENTRIES, &b, 0);
    b.data[0] = 0x94; /* arity 4 */
    repl_put(s, "bad-EFIELD-entries-arity.bin", TIDAL_MSG_ENTRIES, &b, 0);
    tidal_buf_reset(&b);
    me = (tidal_msg_entries){.from = 2, .round = 4, .last = false};
    seeds_must(tidal_msg_entries_encode(&me, &b), "entries");
    repl_put(s, "valid-entries-none.bin", TIDAL_MSG_ENTRIES, &b, 0);
    for (size_t i = 0; i < n; i++) {
        tidal_buf_fini(&ents[i]);
    }

    seed_put(s, "repl", "valid-tick.bin", &(uint8_t){TIDAL_MSG_TICK}, 1, NULL, 0);
    seed_put(s, "repl", "valid-tick-wake.bin", &(uint8_t){TIDAL_MSG_TICK}, 1, "\x01", 1);
    tidal_buf_fini(&rec_b);
    tidal_buf_fini(&p);
    tidal_buf_fini(&b);
}

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
        records(&p, &all_kinds[4 + i % 2], 1);
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

static void
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
    records(&p, &all_kinds[4], 2);
    batch(&b1, 1, 3, 1, &p, 2);
    tidal_buf_reset(&p);
    records(&p, &all_kinds[4], 1);
    batch(&b1, 1, 3, 3, &p, 1);
    tidal_buf_reset(&p);
    records(&p, &all_kinds[4], 2);
    batch(&b2, 1, 3, 4, &p, 2);
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

int
main(int argc, char **argv)
{
    struct seeds s = {0};
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        s.check = true;
        s.root = argv[2];
    } else if (argc == 2 && argv[1][0] != '-') {
        s.root = argv[1];
    } else {
        fprintf(stderr, "usage: fuzz_seeds [--check] CORPUS_DIR\n");
        return 2;
    }
    seeds_repl(&s);
    seeds_record(&s);
    seeds_codec(&s);
    seeds_merge(&s);
    seeds_recover(&s);
    printf("fuzz_seeds: %d seeds %s %s\n", s.written, s.check ? "checked in" : "written to",
           s.root);
    return s.failed == 0 ? 0 : 1;
}
