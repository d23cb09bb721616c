/*
 * fuzz_seeds: writes or checks the seed corpora (fuzz/seeds.h says how).
 * This file: the driver, records and batches, and the seeds of fuzz_repl
 * and fuzz_record; fuzz/seeds_store.c has those of fuzz_codec and
 * fuzz_merge, fuzz/seeds_wal.c those of fuzz_recover.
 * Each seed is a real encoding by tidal's encoders, or one such encoding
 * with one deliberate flaw (the bad-* seeds), so the fuzzer starts from the
 * shapes the code actually reads.
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

/* the session the replication seeds name (seeds_util.c's records too) */
static const uint8_t sid_a[16] = {0x5e, 0x55, 0x10, 0x4e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void
seeds_record(struct seeds *s)
{
    static const uint8_t recs = 0x00, bat = 0x01, fixcrc = 0x03;
    static const char *const names[] = {"",     "start",  "signal", "end",
                                        "home", "hide",   "unhide", "ucounter"};
    tidal_buf p, b;
    char name[64];

    tidal_buf_init(&p);
    tidal_buf_init(&b);
    for (size_t i = 0; i < sizeof(seeds_all_kinds); i++) {
        tidal_buf_reset(&p);
        seeds_records(&p, &seeds_all_kinds[i], 1);
        snprintf(name, sizeof(name), "valid-records-%s.bin", names[seeds_all_kinds[i]]);
        seed_put(s, "record", name, &recs, 1, p.data, p.len);
    }
    tidal_buf_reset(&p);
    seeds_records(&p, seeds_all_kinds, sizeof(seeds_all_kinds));
    seed_put(s, "record", "valid-records-mixed.bin", &recs, 1, p.data, p.len);
    seeds_batch(&b, 1, 0, 1, &p, sizeof(seeds_all_kinds));
    seed_put(s, "record", "valid-batch-mixed.bin", &bat, 1, b.data, b.len);
    /* the CRC zeroed: only the fix flag makes it valid */
    memset(b.data + 64, 0, 4);
    seed_put(s, "record", "valid-batch-fixcrc.bin", &fixcrc, 1, b.data, b.len);
    seed_put(s, "record", "bad-ECRC-batch-zeroed.bin", &bat, 1, b.data, b.len);

    tidal_buf_reset(&b);
    seeds_batch(&b, 1, 0, 1, &p, sizeof(seeds_all_kinds));
    seed_put(s, "record", "bad-ETRUNCATED-batch-torn.bin", &bat, 1, b.data, b.len - 3);
    b.data[4] = 1; /* version 1 */
    seed_put(s, "record", "bad-EVERSION-batch-v1.bin", &bat, 1, b.data, b.len);
    b.data[4] = 2;
    b.data[0] = 'X';
    seed_put(s, "record", "bad-ECORRUPT-batch-magic.bin", &bat, 1, b.data, b.len);

    /* headers whose count disagrees with the payload, CRCs right */
    tidal_buf_reset(&b);
    seeds_batch(&b, 1, 0, 40, &p, 2);
    seed_put(s, "record", "bad-ETRAILING-batch-count-low.bin", &bat, 1, b.data, b.len);
    tidal_buf_reset(&b);
    seeds_batch(&b, 1, 0, 40, &p, 9);
    seed_put(s, "record", "bad-ETRUNCATED-batch-count-high.bin", &bat, 1, b.data, b.len);

    static const uint8_t signals[] = {TIDAL_REC_SESSION_SIGNAL, TIDAL_REC_SESSION_SIGNAL,
                                      TIDAL_REC_SESSION_SIGNAL};
    tidal_buf_reset(&p);
    tidal_buf_reset(&b);
    seeds_records(&p, signals, sizeof(signals));
    seeds_batch(&b, 2, 5, 1000, &p, sizeof(signals));
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

    seeds_records(&p, seeds_all_kinds, 2);
    seeds_batch(&rec_b, 1, 0, 5, &p, 2);
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
    tidal_msg_clock mc = {1700000000123456789ull};
    seeds_must(tidal_msg_clock_encode(&mc, &b), "clock");
    repl_put(s, "valid-clock.bin", TIDAL_MSG_CLOCK, &b, 0);
    repl_put(s, "bad-ETRUNCATED-clock-cut.bin", TIDAL_MSG_CLOCK, &b, 3);

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
    seeds_records(&p, &seeds_all_kinds[1], 1);
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
    tidal_msg_digest md = {.from = 1, .round = 3,
                           .hashes = {(const uint8_t *)hashes, sizeof(hashes)},
                           .on_demand = true};
    seeds_must(tidal_msg_digest_encode(&md, &b), "digest");
    repl_put(s, "valid-digest.bin", TIDAL_MSG_DIGEST, &b, 0);
    tidal_buf_reset(&b);
    md = (tidal_msg_digest){.from = 1, .round = 4, .hashes = {(const uint8_t *)hashes, 8},
                            .ncovers = 3, .covers = {7, 0, UINT64_MAX}};
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
