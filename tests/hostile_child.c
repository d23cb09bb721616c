/*
 * A hostile peer, as another process (tests/test_hostile.c starts it): it
 * opens a runtime of its own on the cluster's transport and sends a region
 * every kind of forged message tidal's wire protocol has, each of which
 * would change that region's state, its peers or its work if it were
 * taken.  It prints how many it sent to each kind of target, one count per
 * line, then stays connected until its stdin closes, and exits 0.
 *
 *   hostile_child BASE_URL PUBLIC_REGION PUBLIC_SHIPPER PUBLIC_RECONCILER
 *                 PEER_REGION SID_HEX [TLS_DIR]
 *
 * PUBLIC_*: the URLs of region 1's actors' own listeners, where no peer's
 * message is taken (TIDAL-REGION-UNAUTHENTICATED).  PEER_REGION: the URL of
 * the listener region 1 keeps for region 0 - over ipc a process of the same
 * uid may connect there and is then taken for region 0, so what it sends
 * there may only claim region 0 (TIDAL-REGION-ORIGIN-MISMATCH otherwise).
 * SID_HEX: a session of the cluster (32 hex digits).  TLS_DIR (tls+tcp://):
 * where intruder.pem/.crt are - the child presents that certificate and
 * trusts region 1's, so it gets through region 1's own listeners (they are
 * public) but not through the one kept for region 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "messages/msg_repl.h"
#include "messages/record.h"
#include "messages/types.h"
#include "store/batch.h"
#include "store/hardneg.h"
#include "tidal/runtime.h"

#define TICKS 200

static tidal_runtime *rt;
static uint8_t sid[16];

static void
check(int rv, const char *what)
{
    if (rv != 0) {
        fprintf(stderr, "hostile_child: %s: %s\n", what, tidal_errname(rv));
        exit(2);
    }
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
send_to(const char *url, const char *name, const uint8_t *key, const char *as, uint16_t type,
        const tidal_buf *b)
{
    tidal_addr to;
    check(tidal_addr_make(&to, url, name, key, key ? 16 : 0), "address");
    check(tidal_send_as(rt, as, &to, type, b ? b->data : NULL, b ? (uint32_t)b->len : 0, 5000),
          "send");
}

/* A BATCH of `origin` at LSN 2 holding rec, its checksum right. */
static void
batch_of(tidal_buf *out, uint16_t origin, const tidal_record *rec)
{
    tidal_buf p, b;
    tidal_buf_init(&p);
    tidal_buf_init(&b);
    check(tidal_record_encode(rec, &p), "record");
    tidal_batch_header h = {.origin = origin, .count = 1, .first_lsn = 2,
                            .payload_len = (uint32_t)p.len};
    h.hlc_min = h.hlc_max = rec->hlc;
    uint8_t hdr[TIDAL_BATCH_HEADER_BYTES];
    check(tidal_batch_header_encode(&h, p.data, hdr), "batch header");
    check(tidal_buf_append(&b, hdr, sizeof(hdr)), "batch");
    check(tidal_buf_append(&b, p.data, p.len), "batch");
    tidal_msg_batch m = {.origin = origin, .batch = {b.data, (uint32_t)b.len}};
    check(tidal_msg_batch_encode(&m, out), "BATCH");
    tidal_buf_fini(&p);
    tidal_buf_fini(&b);
}

static void
ack_of(tidal_buf *out, uint16_t origin, uint64_t lsn)
{
    tidal_msg_ack a = {.origin = origin, .applied_lsn = lsn};
    check(tidal_msg_ack_encode(&a, out), "ACK");
}

/* Sends each forged kind to region 1's own listeners; returns the count. */
static unsigned
to_public(char **argv)
{
    const char *region = argv[2], *shipper = argv[3], *reconciler = argv[4];
    unsigned n = 0;
    tidal_buf b;
    tidal_buf_init(&b);
    /* a hide stamped at the end of time: hidden for ever if taken */
    tidal_record hide = {.kind = TIDAL_REC_HIDE, .user = 1, .item = 1,
                         .hlc = {.wall_ns = UINT64_MAX, .logical = 1}};
    tidal_buf rec;
    tidal_buf_init(&rec);
    check(tidal_record_encode(&hide, &rec), "record");
    tidal_msg_write w = {.record = {rec.data, (uint32_t)rec.len}};
    check(tidal_msg_write_encode(&w, &b), "WRITE");
    send_to(region, "region-1", NULL, "client", TIDAL_MSG_WRITE, &b), n++;
    /* the same as a session write, to the session's actor */
    send_to(region, "region-1", sid, "client", TIDAL_MSG_WRITE, &b), n++;
    /* a batch from an origin outside the cluster, starting a session that
     * exists under another user; and one claiming region 0 */
    tidal_record start = {.kind = TIDAL_REC_SESSION_START, .user = 666, .region = 7,
                          .hlc = {.wall_ns = now_ns()}};
    memcpy(start.sid, sid, 16);
    tidal_buf_reset(&b);
    batch_of(&b, 7, &start);
    send_to(region, "region-1", NULL, "shipper-7", TIDAL_MSG_BATCH, &b), n++;
    hide.hlc.wall_ns = now_ns();
    tidal_buf_reset(&b);
    batch_of(&b, 0, &hide);
    send_to(region, "region-1", NULL, "shipper-0", TIDAL_MSG_BATCH, &b), n++;
    /* a peer table entry sending region 0's traffic nowhere */
    const char *u = "inproc://nowhere";
    tidal_view v = {(const uint8_t *)u, (uint32_t)strlen(u)};
    tidal_msg_peer p = {.region = 0, .region_url = v, .shipper_url = v, .reconciler_url = v};
    tidal_buf_reset(&b);
    check(tidal_msg_peer_encode(&p, &b), "PEER");
    send_to(region, "region-1", NULL, "region-1", TIDAL_MSG_PEER, &b), n++;
    /* region 0's log "released" far ahead: applied_lsn would lie */
    tidal_buf_reset(&b);
    ack_of(&b, 0, 1000);
    send_to(region, "region-1", NULL, "shipper-0", TIDAL_MSG_ACK, &b), n++;
    /* a handover of the session to a region that does not exist */
    tidal_msg_handover_req hr = {.to_region = 7};
    memcpy(hr.sid, sid, 16);
    tidal_buf_reset(&b);
    check(tidal_msg_handover_req_encode(&hr, &b), "HANDOVER_REQ");
    send_to(region, "region-1", sid, "region-0", TIDAL_MSG_HANDOVER_REQ, &b), n++;
    /* ACKs that would stop shipping (all acknowledged) or rewind it */
    tidal_buf_reset(&b);
    ack_of(&b, 1, 1000);
    send_to(shipper, "shipper-1", NULL, "region-0", TIDAL_MSG_ACK, &b), n++;
    /* zero-length ticks: each would start a timer chain that never ends */
    for (int i = 0; i < TICKS; i++) {
        send_to(shipper, "shipper-1", NULL, "_timer", TIDAL_MSG_TICK, NULL), n++;
        send_to(reconciler, "reconciler-1", NULL, "_timer", TIDAL_MSG_TICK, NULL), n++;
        send_to(region, "region-1", NULL, "_timer", TIDAL_MSG_TICK, NULL), n++;
    }
    /* reconciliation: a digest asking for everything, entries hiding for ever */
    static uint64_t hashes[256];
    tidal_msg_digest d = {.from = 0, .round = 1,
                          .hashes = {(const uint8_t *)hashes, sizeof(hashes)}, .on_demand = true};
    tidal_buf_reset(&b);
    check(tidal_msg_digest_encode(&d, &b), "DIGEST");
    send_to(reconciler, "reconciler-1", NULL, "reconciler-0", TIDAL_MSG_DIGEST, &b), n++;
    tidal_hardneg_entry he = {.user = 1, .item = 2, .has_hide = true,
                              .hide = {.wall_ns = UINT64_MAX}};
    uint8_t entry[64] = {1}; /* KIND_HARDNEG, then the entry */
    size_t len;
    check(tidal_hardneg_entry_encode(&he, entry + 1, sizeof(entry) - 1, &len), "entry");
    tidal_view ev = {entry, (uint32_t)(len + 1)};
    tidal_msg_entries e = {.from = 0, .round = 1, .last = true, .count = 1, .entries = &ev};
    tidal_buf_reset(&b);
    check(tidal_msg_entries_encode(&e, &b), "ENTRIES");
    send_to(reconciler, "reconciler-1", NULL, "reconciler-0", TIDAL_MSG_ENTRIES, &b), n++;
    tidal_buf_fini(&rec);
    tidal_buf_fini(&b);
    return n;
}

/* Through region 0's own listener: claims of another region. */
static unsigned
to_peer_listener(char **argv)
{
    const char *region = argv[5];
    unsigned n = 0;
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_record start = {.kind = TIDAL_REC_SESSION_START, .user = 666, .region = 7,
                          .hlc = {.wall_ns = now_ns()}};
    memcpy(start.sid, sid, 16);
    batch_of(&b, 7, &start);
    send_to(region, "region-1", NULL, "shipper-7", TIDAL_MSG_BATCH, &b), n++;
    tidal_buf_reset(&b);
    ack_of(&b, 7, 1000);
    send_to(region, "region-1", NULL, "shipper-7", TIDAL_MSG_ACK, &b), n++;
    tidal_msg_handover_req hr = {.to_region = 7};
    memcpy(hr.sid, sid, 16);
    tidal_buf_reset(&b);
    check(tidal_msg_handover_req_encode(&hr, &b), "HANDOVER_REQ");
    send_to(region, "region-1", sid, "region-7", TIDAL_MSG_HANDOVER_REQ, &b), n++;
    tidal_buf_fini(&b);
    return n;
}

int
main(int argc, char **argv)
{
    if ((argc != 7 && argc != 8) || strlen(argv[6]) != 32) {
        fprintf(stderr, "usage: hostile_child BASE PUB_REGION PUB_SHIPPER PUB_RECONCILER "
                        "PEER_REGION SID_HEX\n");
        return 2;
    }
    for (int i = 0; i < 16; i++) {
        unsigned x;
        if (sscanf(argv[6] + 2 * i, "%2x", &x) != 1) {
            return 2;
        }
        sid[i] = (uint8_t)x;
    }
    char pem[512], crt[512], r1[512];
    tidal_tls_opts id = {pem, crt, "intruder"}, to_r1 = {pem, r1, "region-1"};
    tidal_runtime_opts o = {.url = argv[1], .name = "hostile", .node_id = 9};
    if (argc == 8) {
        snprintf(pem, sizeof(pem), "%s/intruder.pem", argv[7]);
        snprintf(crt, sizeof(crt), "%s/intruder.crt", argv[7]);
        snprintf(r1, sizeof(r1), "%s/region-1.crt", argv[7]);
        o.tls = &id;
    }
    check(tidal_runtime_open(&o, &rt), "runtime");
    for (int i = 2; argc == 8 && i <= 5; i++) {
        check(tidal_runtime_tls_dial(rt, argv[i], &to_r1), "tls dial");
    }
    unsigned pub = to_public(argv), peer = to_peer_listener(argv);
    printf("%u\n%u\n", pub, peer);
    fflush(stdout);
    /* stays connected until the test has seen every message arrive (a
     * closing nng socket drops what it still queues) */
    while (getchar() != EOF) {
    }
    tidal_runtime_quiesce(rt);
    check(tidal_runtime_close(rt), "close");
    if (argc != 8) {
        /* Not over TLS: there nng 1.5.2 never completes the handshake the
         * listener for region 0 refused (tests/nng/leak_tls_handshake.c),
         * and nng_fini with that connection still pending can panic on a
         * destroyed mutex; the process ends without it. */
        tidal_library_fini();
    }
    return 0;
}
