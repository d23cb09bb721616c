/*
 * Bad input at the actor layer (docs/design.md, invariant 6): a message whose
 * envelope is valid but whose payload a region's actor must refuse.  Each
 * case sends one such message to the actor that takes its type, from the
 * actor that would send it (tidal_send_as on the other region's runtime),
 * then a message of a type no actor takes (the barrier: counted as MSG_TYPE,
 * and handled after the first, on the same link), and waits for the
 * barrier's count.  Then the case's reason counts exactly 1 (MSG_TYPE
 * 1 more), every other 0, the other region counts nothing, and nothing else
 * moved: digests, applied and acknowledged LSNs, ACKs sent, batches, the
 * session.  A write is asked instead: its answer is the barrier, and it
 * carries an error code, never a success.
 *
 * Every case would change something if it were taken: batches are the next
 * in line (LSN 2 of region 0), ACKs move an LSN, handover requests would
 * hand the session away.  Set-up: regions 0 and 1 (ephemeral), a hide in
 * region 0 and a session started in region 1, both applied and acknowledged
 * on the other side.
 */
#include "messages/types.h"
#include "region_rejects_payloads.h"

TIDAL_SUITE(region_rejects);

#define BARRIER_TYPE 4242u /* an application type: no region actor takes it */

/* Where a case is sent: an actor at the address its peer sends to (the
 * listener the region keeps for that peer), at the actor's own address from
 * the other region (_OPEN: a peer off its listener), or at its own address
 * from its own region (_OWN). */
typedef enum target {
    REGION_1,
    SESSION_1,
    SHIPPER_0,
    RECONCILER_1,
    REGION_1_OPEN,
    SHIPPER_0_OPEN,
    RECONCILER_1_OPEN,
    REGION_1_OWN
} target;

typedef struct fixture {
    repl_env e;
    tidal_session_id sid;
    uint64_t digest[2];
    tidal_region_stats st[2];
    tidal_session_view view[2];
} fixture;

static fixture f;

/* A payload builder of region_rejects_payloads.h. */
typedef int (*build_fn)(tidal_buf *out);

/* ---- the cases ----------------------------------------------------------- */

/* X(test name, reason, target, sender, type, payload) */
#define REJECT_CASES(X)                                                                    \
    X(batch_undecodable, BATCH_DECODE, REGION_1, "shipper-0", BATCH, garbage)              \
    X(batch_cut_short, BATCH_TRUNCATED, REGION_1, "shipper-0", BATCH, batch_cut)           \
    X(batch_of_version_3, BATCH_VERSION, REGION_1, "shipper-0", BATCH, batch_version_3)    \
    X(batch_bad_magic, BATCH_CORRUPT, REGION_1, "shipper-0", BATCH, batch_bad_magic)       \
    X(batch_then_bytes, BATCH_CORRUPT, REGION_1, "shipper-0", BATCH, batch_trailing)       \
    X(batch_crc_wrong, BATCH_CRC, REGION_1, "shipper-0", BATCH, batch_crc_wrong)           \
    X(batch_records_garbage, BATCH_RECORDS, REGION_1, "shipper-0", BATCH, records_garbage) \
    X(batch_fewer_records_than_count, BATCH_RECORDS, REGION_1, "shipper-0", BATCH,         \
      records_fewer_than_count)                                                            \
    X(batch_bytes_after_records, BATCH_RECORDS, REGION_1, "shipper-0", BATCH,              \
      records_then_bytes)                                                                  \
    X(batch_signal_type_refused, BATCH_RECORDS, REGION_1, "shipper-0", BATCH,              \
      records_bad_type)                                                                    \
    X(batch_signal_of_other_origin, ORIGIN_MISMATCH, REGION_1, "shipper-0", BATCH,         \
      records_other_origin)                                                                \
    X(batch_counter_of_other_origin, ORIGIN_MISMATCH, REGION_1, "shipper-0", BATCH,        \
      records_counter_other_origin)                                                        \
    X(batch_header_other_origin, ORIGIN_MISMATCH, REGION_1, "shipper-0", BATCH,            \
      batch_header_other_origin)                                                           \
    X(batch_of_the_region_itself, ORIGIN_MISMATCH, REGION_1, "shipper-0", BATCH,           \
      batch_of_itself)                                                                     \
    X(log_base_undecodable, ACK_DECODE, REGION_1, "shipper-0", ACK, garbage)               \
    X(log_base_of_the_region_itself, ORIGIN_MISMATCH, REGION_1, "shipper-1", ACK,          \
      ack_of_region_1)                                                                     \
    X(log_base_not_from_its_shipper, SENDER_MISMATCH, REGION_1, "region-0", ACK,           \
      ack_base_5)                                                                          \
    X(ack_undecodable, ACK_DECODE, SHIPPER_0, "region-1", ACK, garbage)                    \
    X(ack_of_another_log, ORIGIN_MISMATCH, SHIPPER_0, "region-1", ACK, ack_1_at_1)         \
    X(ack_off_the_peer_listener, UNAUTHENTICATED, SHIPPER_0_OPEN, "region-1", ACK,         \
      ack_0_at_0)                                                                          \
    X(batch_off_the_peer_listener, UNAUTHENTICATED, REGION_1_OPEN, "shipper-0", BATCH,     \
      good_batch)                                                                          \
    X(digest_off_the_peer_listener, UNAUTHENTICATED, RECONCILER_1_OPEN, "reconciler-0",    \
      DIGEST, digest_from_0)                                                               \
    X(tick_from_a_peer, UNAUTHENTICATED, RECONCILER_1, "reconciler-0", TICK, tick_one)     \
    X(peer_from_a_peer, UNAUTHENTICATED, REGION_1, "region-0", PEER, peer_itself)          \
    X(handover_req_for_another_region, ORIGIN_MISMATCH, SESSION_1, "region-0",             \
      HANDOVER_REQ, handover_req_for_region_1)                                             \
    X(ack_beyond_sent, ACK_BEYOND_SENT, SHIPPER_0, "region-1", ACK, ack_0_at_1000)         \
    X(clock_undecodable, CLOCK_DECODE, SHIPPER_0, "shipper-1", CLOCK, garbage)             \
    X(clock_to_the_region, MSG_TYPE, REGION_1, "shipper-0", CLOCK, garbage)                \
    X(peer_undecodable, PEER_DECODE, REGION_1_OWN, "region-0", PEER, garbage)              \
    X(peer_naming_the_region, PEER_INVALID, REGION_1_OWN, "region-0", PEER, peer_itself)   \
    X(write_undecodable, WRITE_DECODE, REGION_1, NULL, WRITE, write_garbage)               \
    X(write_record_undecodable, WRITE_DECODE, REGION_1, NULL, WRITE, write_garbage_record) \
    X(write_of_a_signal_to_the_region, WRITE_MISDIRECTED, REGION_1, NULL, WRITE,           \
      write_signal)                                                                        \
    X(session_write_undecodable, WRITE_DECODE, SESSION_1, NULL, WRITE, write_garbage)      \
    X(session_write_of_another_session, WRITE_MISDIRECTED, SESSION_1, NULL, WRITE,         \
      write_other_session)                                                                 \
    X(session_write_of_a_home, WRITE_MISDIRECTED, SESSION_1, NULL, WRITE, write_home)      \
    X(handover_req_undecodable, HANDOVER_DECODE, SESSION_1, "region-0", HANDOVER_REQ,      \
      garbage)                                                                             \
    X(handover_undecodable, HANDOVER_DECODE, SESSION_1, "region-0", HANDOVER, garbage)     \
    X(handover_req_of_another_session, HANDOVER_MISDIRECTED, SESSION_1, "region-0",        \
      HANDOVER_REQ, handover_req_other_session)                                            \
    X(handover_of_another_session, HANDOVER_MISDIRECTED, SESSION_1, "region-0", HANDOVER,  \
      handover_other_session)                                                              \
    X(digest_undecodable, DIGEST_DECODE, RECONCILER_1, "reconciler-0", DIGEST, garbage)    \
    X(digest_of_an_unknown_region, ORIGIN_MISMATCH, RECONCILER_1, "reconciler-0", DIGEST,  \
      digest_from_5)                                                                       \
    X(digest_not_from_its_reconciler, SENDER_MISMATCH, RECONCILER_1, "region-0", DIGEST,   \
      digest_from_0)                                                                       \
    X(entries_undecodable, ENTRIES_DECODE, RECONCILER_1, "reconciler-0", ENTRIES, garbage) \
    X(entry_cut_short, ENTRY_DECODE, RECONCILER_1, "reconciler-0", ENTRIES,                \
      entry_hardneg_cut)                                                                   \
    X(entry_of_unknown_kind, ENTRY_DECODE, RECONCILER_1, "reconciler-0", ENTRIES,          \
      entry_unknown_kind)                                                                  \
    X(digest_to_the_region, MSG_TYPE, REGION_1, "reconciler-0", DIGEST, digest_from_0)     \
    X(ack_to_the_reconciler, MSG_TYPE, RECONCILER_1, "region-0", ACK, ack_base_5)

typedef struct reject_case {
    const char *name;
    int reason;
    target to;
    const char *as; /* the sender on the other region's runtime; NULL: an ask */
    uint16_t type;
    build_fn build;
} reject_case;

static const reject_case cases[] = {
#define REJECT_CASE_ROW(test, reason, to, as, type, build)                                 \
    {#test, TIDAL_REGION_REJECT_##reason, to, as, TIDAL_MSG_##type, build},
    REJECT_CASES(REJECT_CASE_ROW)
#undef REJECT_CASE_ROW
};

/* ---- set-up, sending, checking ------------------------------------------- */

static tidal_region_stats
settled_stats(int i)
{
    return repl_stats(f.e.r[i]);
}

/* What moves while replication settles: batches shipped (retransmits
 * included), duplicates taken, ACKs sent, of both regions. */
static void
traffic(uint64_t out[6])
{
    for (int i = 0; i < 2; i++) {
        tidal_region_stats st = repl_stats(f.e.r[i]);
        out[3 * i] = st.batches_shipped;
        out[3 * i + 1] = st.batches_duplicate;
        out[3 * i + 2] = st.acks_sent;
    }
}

/* Waits until that traffic has not moved for 150 ms.  Both ACKs arrived,
 * but a shipper that did not see its ACK within its first retransmit wait
 * (100 ms: a loaded machine) resent the batch, and the duplicate's ACK may
 * still come: counted after the snapshot, it read as an ACK a rejected
 * message caused (1 run in 90 under four parallel copies). */
static void
settle(void)
{
    uint64_t was[6], now[6];
    traffic(was);
    uint64_t still_ms = 0;
    for (uint64_t waited = 0; still_ms < 150; waited += 25) {
        cr_assert(waited < REPL_DEADLINE_MS, "replication never settled");
        usleep(25 * 1000);
        traffic(now);
        still_ms = memcmp(now, was, sizeof(now)) == 0 ? still_ms + 25 : 0;
        memcpy(was, now, sizeof(was));
    }
}

static tidal_session_view
session_in(int i)
{
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(f.e.r[i], f.sid, &v));
    return v;
}

static void
setup(void)
{
    setenv("TIDAL_QUIET", "1", 1);
    repl_cluster(&f.e, "inproc", 91);
    repl_open_ephemeral(&f.e, 2);
    tidal_region *a = f.e.r[0], *b = f.e.r[1];
    TIDAL_PASS(tidal_hide_item(a, 1, 2));
    TIDAL_PASS(tidal_start_session(b, 3, NULL, &f.sid));
    for (int i = 0; i < 8; i++) {
        rp_sid[i] = (uint8_t)(f.sid.hi >> (56 - 8 * i));
        rp_sid[8 + i] = (uint8_t)(f.sid.lo >> (56 - 8 * i));
    }
    TIDAL_PASS(tidal_region_wait_applied(b, 0, 1, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, 1, REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).acked_lsn[1] == 1 && repl_stats(b).acked_lsn[0] == 1,
                               REPL_DEADLINE_MS),
              "each region acknowledged the other's write");
    settle();
    for (int i = 0; i < 2; i++) {
        f.digest[i] = tidal_region_digest(f.e.r[i]);
        f.st[i] = settled_stats(i);
        f.view[i] = session_in(i);
    }
}

/* The region a case is sent to. */
static int
target_region(const reject_case *c)
{
    return c->to == SHIPPER_0 || c->to == SHIPPER_0_OPEN ? 0 : 1;
}

/* The runtime a case is sent from: the other region's, or (_OWN) its own. */
static tidal_runtime *
sender_of(const reject_case *c)
{
    int id = target_region(c);
    return tidal_region_runtime(f.e.r[c->to == REGION_1_OWN ? id : 1 - id]);
}

static void
address_of(const reject_case *c, tidal_addr *out)
{
    static const char *const kinds[] = {"region", "region", "shipper", "reconciler",
                                        "region", "shipper", "reconciler", "region"};
    int id = target_region(c);
    if (c->to <= RECONCILER_1) {
        TIDAL_PASS(tidal_region_peer_addr(f.e.r[id], 1 - id, kinds[c->to], out));
    } else {
        tidal_runtime *rt = tidal_region_runtime(f.e.r[id]);
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-%d", kinds[c->to], id);
        tidal_actor a;
        TIDAL_PASS(tidal_lookup(rt, name, &a));
        TIDAL_PASS(tidal_actor_addr(rt, a, out));
    }
    if (c->to == SESSION_1) {
        tidal_addr owner = *out;
        TIDAL_PASS(tidal_addr_virtual(out, &owner, rp_sid, 16));
    }
}

/* Asks a write; asserts its answer is an error: code. */
static void
ask_write(tidal_runtime *rt, const tidal_addr *to, const tidal_buf *b, int code)
{
    tidal_reply reply = {0};
    TIDAL_PASS(tidal_ask(rt, to, TIDAL_MSG_WRITE, b->data, (uint32_t)b->len, REPL_DEADLINE_MS,
                         &reply));
    tidal_msg_write_result res;
    cr_assert_eq(reply.type, TIDAL_MSG_WRITE_RESULT);
    TIDAL_PASS(tidal_msg_write_result_decode(reply.payload, reply.len, &res, NULL));
    tidal_reply_free(&reply);
    cr_assert_neq(res.code, 0, "a rejected write was answered as a success");
    cr_assert_eq(res.code, (uint32_t)code, "answered %s, not %s", tidal_errname((int)res.code),
                 tidal_errname(code));
    cr_assert_eq(res.lsn, 0);
    cr_assert_eq(res.seqno, 0);
}

static void
assert_unchanged(void)
{
    for (int i = 0; i < 2; i++) {
        tidal_region_stats now = settled_stats(i), *was = &f.st[i];
        cr_assert_eq(tidal_region_digest(f.e.r[i]), f.digest[i], "region %d's state changed", i);
        cr_assert_eq(memcmp(now.applied_lsn, was->applied_lsn, sizeof(now.applied_lsn)), 0,
                     "region %d's applied LSNs moved", i);
        cr_assert_eq(memcmp(now.acked_lsn, was->acked_lsn, sizeof(now.acked_lsn)), 0,
                     "region %d's acknowledged LSNs moved", i);
        cr_assert_eq(now.acks_sent, was->acks_sent, "region %d sent an ACK", i);
        cr_assert_eq(now.batches_applied, was->batches_applied);
        cr_assert_eq(now.batches_held, was->batches_held);
        cr_assert_eq(now.batches_duplicate, was->batches_duplicate);
        cr_assert_eq(now.writes, was->writes);
        cr_assert_eq(now.last_lsn, was->last_lsn);
        tidal_session_view v = session_in(i);
        cr_assert_eq(v.home, f.view[i].home, "region %d: the session moved", i);
        cr_assert_eq(v.last_seqno, f.view[i].last_seqno);
        cr_assert_eq(v.signals, f.view[i].signals);
        cr_assert_eq(v.ended, f.view[i].ended);
    }
}

static void
assert_counts(const reject_case *c, int id, bool barrier)
{
    tidal_region_stats st = repl_stats(f.e.r[id]), other = repl_stats(f.e.r[1 - id]);
    for (int i = 0; i < TIDAL_REGION_REJECT_COUNT; i++) {
        uint64_t want = (i == c->reason) + (barrier && i == TIDAL_REGION_REJECT_MSG_TYPE);
        cr_assert_eq(st.rejected[i], want, "%s: %s counted %llu, not %llu", c->name,
                     tidal_region_reject_id(i), (unsigned long long)st.rejected[i],
                     (unsigned long long)want);
        cr_assert_eq(other.rejected[i], 0, "%s: the other region counted %s", c->name,
                     tidal_region_reject_id(i));
    }
}

static void
run_case(const reject_case *c)
{
    setup();
    int id = target_region(c);
    tidal_runtime *from = sender_of(c);
    tidal_addr to;
    address_of(c, &to);
    tidal_buf b;
    tidal_buf_init(&b);
    int code = c->build(&b);
    if (c->as == NULL) {
        ask_write(from, &to, &b, code); /* answered: handled */
    } else {
        TIDAL_PASS(tidal_send_as(from, c->as, &to, c->type, b.data, (uint32_t)b.len, 1000));
        TIDAL_PASS(tidal_send_as(from, c->as, &to, BARRIER_TYPE, NULL, 0, 1000));
        uint64_t want = 1 + (c->reason == TIDAL_REGION_REJECT_MSG_TYPE);
        cr_assert(TIDAL_WAIT_UNTIL(repl_stats(f.e.r[id]).rejected[TIDAL_REGION_REJECT_MSG_TYPE] ==
                                       want,
                                   REPL_DEADLINE_MS),
                  "%s: the barrier was never handled", c->name);
    }
    tidal_buf_fini(&b);
    assert_counts(c, id, c->as != NULL);
    assert_unchanged();
    repl_close(&f.e);
}

enum {
#define REJECT_CASE_ENUM(test, reason, to, as, type, build) CASE_##test,
    REJECT_CASES(REJECT_CASE_ENUM)
#undef REJECT_CASE_ENUM
};

#define REJECT_CASE_TEST(test, reason, to, as, type, build)                                \
    Test(region_rejects, test)                                                             \
    {                                                                                      \
        run_case(&cases[CASE_##test]);                                                     \
    }
REJECT_CASES(REJECT_CASE_TEST)
#undef REJECT_CASE_TEST

/* ---- the map itself ------------------------------------------------------ */

Test(region_rejects, every_reason_has_a_case_and_a_stable_id)
{
    for (int i = 0; i < TIDAL_REGION_REJECT_COUNT; i++) {
        bool covered = false;
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            covered = covered || cases[k].reason == i;
        }
        const char *id = tidal_region_reject_id(i);
        cr_assert(covered, "no case sends what %s rejects", id);
        cr_assert_eq(strncmp(id, "TIDAL-REGION-", 13), 0, "%s", id);
        for (int j = 0; j < i; j++) {
            cr_assert_str_neq(id, tidal_region_reject_id(j), "two reasons share %s", id);
        }
    }
    cr_assert_str_eq(tidal_region_reject_id(-1), "?");
    cr_assert_str_eq(tidal_region_reject_id(TIDAL_REGION_REJECT_COUNT), "?");
    cr_assert_str_eq(tidal_region_reject_id(TIDAL_REGION_REJECT_BATCH_CRC),
                     "TIDAL-REGION-BATCH-CRC");
}

/* ---- a region with a directory ------------------------------------------- */

/* Region 1 keeps a copy of region 0's log.  A batch with a right CRC and
 * garbage records is rejected before it reaches that copy: the real LSN 2
 * that follows is applied, and region 1 reopens from its directory with
 * both of region 0's writes. */
Test(region_rejects, garbage_records_never_reach_a_log_copy)
{
    setenv("TIDAL_QUIET", "1", 1);
    repl_env e;
    repl_cluster(&e, "inproc", 92);
    repl_open_region(&e, 0, true, TIDAL_NONE);
    repl_open_region(&e, 1, true, TIDAL_NONE);
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 10));
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 1, REPL_DEADLINE_MS));

    tidal_runtime *rt0 = tidal_region_runtime(e.r[0]);
    tidal_addr to;
    TIDAL_PASS(tidal_region_peer_addr(e.r[1], 0, "region", &to));
    tidal_buf b;
    tidal_buf_init(&b);
    records_garbage(&b);
    TIDAL_PASS(
        tidal_send_as(rt0, "shipper-0", &to, TIDAL_MSG_BATCH, b.data, (uint32_t)b.len, 1000));
    tidal_buf_fini(&b);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[1]).rejected[TIDAL_REGION_REJECT_BATCH_RECORDS] == 1,
                               REPL_DEADLINE_MS));

    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 11)); /* the real LSN 2 */
    TIDAL_PASS(tidal_region_wait_applied(e.r[1], 0, 2, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_close(e.r[0])); /* nobody to reship or reconcile from */
    e.r[0] = NULL;
    TIDAL_PASS(tidal_region_close(e.r[1]));
    e.r[1] = NULL;
    repl_open_region(&e, 1, true, TIDAL_NONE);
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], 2, "the copy holds both real batches");
    repl_assert_hidden_range(e.r[1], 1, 10, 2, true);
    repl_close(&e);
}
