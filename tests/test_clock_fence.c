/*
 * Clocks that lie (actors/clock.c; docs/design.md, "Clocks"): a region whose
 * stamps run more than its budget ahead of a reachable peer's clock refuses
 * the writes it would stamp itself (TIDAL_EFENCED, counted), still reads and
 * applies its peers' writes, and takes writes again once back within; with
 * no peer reachable it keeps its verdict.  And for stamps regions give
 * themselves, a hide or unhide issued more than the budget after another
 * wins over it in every region.
 *
 * Time is the test's: every region's wall clock reads a shared base, which
 * only the test advances ("real time"), plus the region's own offset, which
 * the test sets.  A CLOCK message then carries no delay into an estimate,
 * so each estimate is exactly the difference of two offsets, and the tests
 * wait for that event (stats.clock_offset_ns) rather than for time - no
 * timing threshold anywhere.  Only how long an estimate counts
 * (TIDAL_CLOCK_FRESH_MS) is real time, and that test waits for the peer to
 * stop counting (stats.clock_reachable).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "messages/msg_repl.h"
#include "messages/record.h"
#include "messages/types.h"
#include "repl_helpers.h"

TIDAL_SUITE(clock_fence);

#define MS 1000000ll
#define BUDGET (1000 * MS) /* every region's max_skew_ns */
#define WAIT_MS (2 * REPL_DEADLINE_MS)

static _Atomic uint64_t base_ns;
static _Atomic int64_t offset_ns[REPL_REGIONS_MAX];

static uint64_t
clock_of(void *arg)
{
    int id = (int)(intptr_t)arg;
    return atomic_load(&base_ns) + (uint64_t)atomic_load(&offset_ns[id]);
}

/* Real time passes: every region's clock moves by ns. */
static void
advance(int64_t ns)
{
    atomic_fetch_add(&base_ns, (uint64_t)ns);
}

static void
set_offset(int id, int64_t ns)
{
    atomic_store(&offset_ns[id], ns);
}

/* Opens regions 0 .. n-1 on the test's clocks, each at offsets[i]. */
static void
open_cluster(repl_env *e, uint64_t seed, int n, const int64_t *offsets)
{
    setenv("TIDAL_QUIET", "1", 1);
    atomic_store(&base_ns, repl_now_ns());
    repl_cluster(e, "inproc", seed);
    for (int i = 0; i < n; i++) {
        set_offset(i, offsets[i]);
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .max_skew_ns = BUDGET,
                               .wall_clock = clock_of, .wall_clock_arg = (void *)(intptr_t)i};
        repl_open_opts(e, &o);
    }
}

/* Waits until r's latest estimate of peer p is `lead` (r's clock minus p's)
 * and p counts as reachable. */
static void
wait_estimate(tidal_region *r, int p, int64_t lead)
{
    bool ok = TIDAL_WAIT_UNTIL(repl_stats(r).clock_offset_ns[p] == lead &&
                                   (repl_stats(r).clock_reachable & (1u << p)) != 0,
                               WAIT_MS);
    cr_assert(ok, "region %u never estimated region %d at %lld ms (latest %lld ns)",
              tidal_region_id_of(r), p, (long long)(lead / MS),
              (long long)repl_stats(r).clock_offset_ns[p]);
}

static void
wait_fenced(tidal_region *r, bool fenced)
{
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(r).clock_fenced == fenced, WAIT_MS),
              "region %u: clock_fenced never became %d", tidal_region_id_of(r), fenced);
}

Test(clock_fence, a_region_twice_its_budget_ahead_refuses_its_writes_and_still_reads)
{
    repl_env e;
    open_cluster(&e, 0xc10c1, 2, (int64_t[]){2 * BUDGET, 0});
    tidal_region *a = e.r[0], *b = e.r[1];
    wait_estimate(a, 1, 2 * BUDGET);
    wait_fenced(a, true);
    /* every write a stamps itself is refused before the log */
    TIDAL_FAIL(tidal_hide_item(a, 1, 10), TIDAL_EFENCED);
    TIDAL_FAIL(tidal_unhide_item(a, 1, 11), TIDAL_EFENCED);
    tidal_session_id s;
    TIDAL_FAIL(tidal_start_session(a, 7, NULL, &s), TIDAL_EFENCED);
    tidal_region_stats st = repl_stats(a);
    cr_assert_eq(st.writes_fenced, 3);
    cr_assert_eq(st.writes_refused, 0, "a fenced write is counted apart");
    cr_assert_eq(st.last_lsn, 0, "a fenced write reached the log");
    cr_assert(!repl_hidden(a, 1, 10));
    /* b is unaffected, and a still applies what b writes */
    TIDAL_PASS(tidal_hide_item(b, 2, 20));
    TIDAL_PASS(tidal_start_session(b, 8, NULL, &s));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, WAIT_MS));
    cr_assert(repl_hidden(a, 2, 20));
    cr_assert_eq(repl_signals_len(a, s), 0);
    st = repl_stats(b);
    cr_assert(!st.clock_fenced);
    cr_assert_eq(st.writes_fenced, 0);

    /* a's clock comes back; the stamps it gave are still ahead, so it stays
     * fenced until real time passes them */
    set_offset(0, 0);
    wait_estimate(a, 1, 0);
    TIDAL_FAIL(tidal_hide_item(a, 1, 12), TIDAL_EFENCED);
    cr_assert(repl_stats(a).clock_fenced);
    advance(3 * BUDGET);
    wait_fenced(a, false);
    TIDAL_PASS(tidal_hide_item(a, 1, 13));
    TIDAL_PASS(tidal_region_wait_applied(b, 0, repl_stats(a).last_lsn, WAIT_MS));
    cr_assert(repl_hidden(b, 1, 13));
    cr_assert_eq(repl_stats(a).writes_fenced, 4);
    repl_close(&e);
}

/* Asks the actor `name` (key: a session's actor) of r's runtime, from that
 * runtime (a client of the region), to write rec; returns the answer's code. */
static int
ask_write(tidal_region *r, const char *name, const uint8_t *key, const tidal_record *rec)
{
    tidal_runtime *rt = tidal_region_runtime(r);
    tidal_actor actor;
    tidal_addr to, owner;
    TIDAL_PASS(tidal_lookup(rt, name, &actor));
    TIDAL_PASS(tidal_actor_addr(rt, actor, &owner));
    to = owner;
    if (key != NULL) {
        TIDAL_PASS(tidal_addr_virtual(&to, &owner, key, 16));
    }
    tidal_buf rb, mb;
    tidal_buf_init(&rb);
    tidal_buf_init(&mb);
    TIDAL_PASS(tidal_record_encode(rec, &rb));
    static uint64_t req_id; /* the region remembers each key's answer */
    tidal_msg_write w = {.req_id = ++req_id, .record = {rb.data, (uint32_t)rb.len}};
    TIDAL_PASS(tidal_msg_write_encode(&w, &mb));
    tidal_reply reply = {0};
    TIDAL_PASS(tidal_ask(rt, &to, TIDAL_MSG_WRITE, mb.data, (uint32_t)mb.len, WAIT_MS, &reply));
    tidal_msg_write_result res;
    TIDAL_PASS(tidal_msg_write_result_decode(reply.payload, reply.len, &res, NULL));
    tidal_reply_free(&reply);
    tidal_buf_fini(&rb);
    tidal_buf_fini(&mb);
    return (int)res.code;
}

/* A client's WRITE - a hide to the region actor, a start and a signal to a
 * session's actor - is refused the same way, and so is a session write
 * that would move a session's home to the fenced region. */
Test(clock_fence, a_fenced_region_refuses_remote_and_session_actor_writes)
{
    repl_env e;
    open_cluster(&e, 0xc10c8, 2, (int64_t[]){2 * BUDGET, 0});
    tidal_region *a = e.r[0], *b = e.r[1];
    tidal_session_id s;
    TIDAL_PASS(tidal_start_session(b, 9, NULL, &s));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, WAIT_MS));
    wait_estimate(a, 1, 2 * BUDGET);
    wait_fenced(a, true);
    tidal_record hide = {.kind = TIDAL_REC_HIDE, .user = 1, .item = 2,
                         .hlc = tidal_now(tidal_region_runtime(a))};
    cr_assert_eq(ask_write(a, "region-0", NULL, &hide), TIDAL_EFENCED);
    uint8_t sid[16], other[16];
    for (int i = 0; i < 8; i++) {
        sid[i] = (uint8_t)(s.hi >> (56 - 8 * i));
        sid[8 + i] = (uint8_t)(s.lo >> (56 - 8 * i));
    }
    memcpy(other, sid, 16);
    other[15] ^= 0xff;
    tidal_record start = {.kind = TIDAL_REC_SESSION_START, .user = 3,
                          .hlc = tidal_now(tidal_region_runtime(a))};
    memcpy(start.sid, other, 16);
    cr_assert_eq(ask_write(a, "region-0", other, &start), TIDAL_EFENCED);
    tidal_record sig = {.kind = TIDAL_REC_SESSION_SIGNAL, .item = 4, .weight = 1.0,
                        .ts_ns = repl_now_ns(), .seqno = 1};
    memcpy(sig.type, "view", 4);
    memcpy(sig.sid, sid, 16);
    cr_assert_eq(ask_write(a, "region-0", sid, &sig), TIDAL_EFENCED);
    TIDAL_FAIL(tidal_signal_in_session(a, s, "view", 4, 1.0, repl_now_ns()), TIDAL_EFENCED);
    tidal_region_stats st = repl_stats(a);
    cr_assert_eq(st.writes_fenced, 4, "%llu fenced", (unsigned long long)st.writes_fenced);
    cr_assert_eq(st.last_lsn, 0);
    /* the session stayed at b, which still writes to it */
    TIDAL_PASS(tidal_signal_in_session(b, s, "view", 4, 1.0, repl_now_ns()));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, WAIT_MS));
    cr_assert_eq(repl_signals_len(a, s), 1);
    repl_close(&e);
}

/* At the budget exactly a region writes; 1 ms past it, it does not. */
Test(clock_fence, just_under_the_budget_writes_and_just_over_is_fenced)
{
    repl_env e;
    open_cluster(&e, 0xc10c2, 2, (int64_t[]){BUDGET - 1 * MS, 0});
    tidal_region *a = e.r[0], *b = e.r[1];
    wait_estimate(a, 1, BUDGET - 1 * MS);
    wait_estimate(b, 0, -(BUDGET - 1 * MS));
    TIDAL_PASS(tidal_hide_item(a, 1, 1));
    TIDAL_PASS(tidal_hide_item(b, 1, 2));
    set_offset(0, BUDGET);
    wait_estimate(a, 1, BUDGET);
    TIDAL_PASS(tidal_hide_item(a, 1, 3));
    cr_assert(!repl_stats(a).clock_fenced);
    set_offset(0, BUDGET + 1 * MS);
    wait_estimate(a, 1, BUDGET + 1 * MS);
    wait_fenced(a, true);
    TIDAL_FAIL(tidal_hide_item(a, 1, 4), TIDAL_EFENCED);
    /* b, behind, is never fenced for it */
    TIDAL_PASS(tidal_hide_item(b, 1, 5));
    cr_assert_eq(repl_stats(a).writes_fenced, 1);
    cr_assert_eq(repl_stats(b).writes_fenced, 0);
    repl_close(&e);
}

/* A clock that jumps 200 ms ahead every 10 ms of real time: writes go on
 * until it is past the budget, then are refused; it jumps back, and once
 * real time has passed its stamps writes go on again. */
Test(clock_fence, a_clock_that_jumps_ahead_is_fenced_once_past_the_budget)
{
    repl_env e;
    open_cluster(&e, 0xc10c3, 2, (int64_t[]){0, 0});
    tidal_region *a = e.r[0];
    uint64_t refused = 0;
    for (int64_t k = 1; k <= 7; k++) {
        advance(10 * MS);
        set_offset(0, k * 200 * MS);
        wait_estimate(a, 1, k * 200 * MS);
        int rv = tidal_hide_item(a, 1, (tidal_entity_id)k);
        if (k * 200 * MS > BUDGET) {
            cr_assert_eq(rv, TIDAL_EFENCED, "%lld ms ahead: %s", (long long)(k * 200),
                         tidal_errname(rv));
            refused++;
        } else {
            cr_assert_eq(rv, 0, "%lld ms ahead: %s", (long long)(k * 200), tidal_errname(rv));
        }
    }
    cr_assert_eq(refused, 2);
    cr_assert_eq(repl_stats(a).writes_fenced, refused);
    cr_assert(repl_stats(a).clock_fenced);
    set_offset(0, 0);
    wait_estimate(a, 1, 0);
    advance(2 * BUDGET);
    wait_fenced(a, false);
    TIDAL_PASS(tidal_hide_item(a, 1, 100));
    repl_close(&e);
}

/* Three regions, one ahead of both others: only it is fenced, and the two
 * others replicate to each other and to it.  Then the one ahead moves to
 * half a budget ahead of a third region that is itself a budget ahead of
 * the second: the third takes the first's stamps, which carries its own
 * clock more than the budget ahead of the second's, so it is fenced too. */
Test(clock_fence, three_regions_one_ahead)
{
    repl_env e;
    open_cluster(&e, 0xc10c4, 3, (int64_t[]){2 * BUDGET, 0, 0});
    tidal_region *a = e.r[0], *b = e.r[1], *c = e.r[2];
    wait_estimate(a, 1, 2 * BUDGET);
    wait_estimate(a, 2, 2 * BUDGET);
    wait_estimate(b, 2, 0);
    wait_estimate(c, 1, 0);
    wait_fenced(a, true);
    TIDAL_FAIL(tidal_hide_item(a, 1, 1), TIDAL_EFENCED);
    TIDAL_PASS(tidal_hide_item(b, 1, 2));
    TIDAL_PASS(tidal_hide_item(c, 1, 3));
    TIDAL_PASS(tidal_region_wait_applied(c, 1, repl_stats(b).last_lsn, WAIT_MS));
    TIDAL_PASS(tidal_region_wait_applied(b, 2, repl_stats(c).last_lsn, WAIT_MS));
    TIDAL_PASS(tidal_region_wait_applied(a, 1, repl_stats(b).last_lsn, WAIT_MS));
    TIDAL_PASS(tidal_region_wait_applied(a, 2, repl_stats(c).last_lsn, WAIT_MS));
    for (int i = 0; i < 3; i++) {
        cr_assert(repl_hidden(e.r[i], 1, 2) && repl_hidden(e.r[i], 1, 3));
        cr_assert(!repl_hidden(e.r[i], 1, 1));
    }
    cr_assert(!repl_stats(b).clock_fenced && !repl_stats(c).clock_fenced);

    advance(3 * BUDGET); /* past every stamp a gave so far */
    set_offset(0, BUDGET + BUDGET / 2);
    set_offset(2, BUDGET);
    wait_estimate(c, 1, BUDGET);
    wait_estimate(a, 2, BUDGET / 2);
    wait_fenced(a, true);
    /* c's own clock is at the budget; the stamps a's messages carried into
     * its clock are half a budget further */
    wait_fenced(c, true);
    TIDAL_FAIL(tidal_hide_item(c, 1, 4), TIDAL_EFENCED);
    TIDAL_PASS(tidal_hide_item(b, 1, 5));
    cr_assert(!repl_stats(b).clock_fenced);
    repl_close(&e);
}

/* With no peer reachable a region keeps its verdict: fenced, it stays
 * fenced even once its clock is back; a peer's return lifts it.  A region
 * that never had a peer is never fenced. */
Test(clock_fence, a_fenced_region_with_every_peer_closed_keeps_its_verdict)
{
    repl_env e;
    open_cluster(&e, 0xc10c5, 2, (int64_t[]){2 * BUDGET, 0});
    tidal_region *a = e.r[0];
    wait_estimate(a, 1, 2 * BUDGET);
    wait_fenced(a, true);
    TIDAL_PASS(tidal_region_close(e.r[1]));
    e.r[1] = NULL;
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(a).clock_reachable == 0, WAIT_MS),
              "a closed peer still counts");
    set_offset(0, 0);
    advance(3 * BUDGET); /* with a peer, a would be back within */
    TIDAL_FAIL(tidal_hide_item(a, 1, 1), TIDAL_EFENCED);
    cr_assert(repl_stats(a).clock_fenced);
    tidal_region_opts o = {.region_id = 1, .max_skew_ns = BUDGET, .wall_clock = clock_of,
                           .wall_clock_arg = (void *)(intptr_t)1};
    repl_open_opts(&e, &o);
    wait_estimate(a, 1, 0);
    wait_fenced(a, false);
    TIDAL_PASS(tidal_hide_item(a, 1, 2));
    repl_close(&e);

    open_cluster(&e, 0xc10c6, 1, (int64_t[]){3600 * 1000 * MS});
    TIDAL_PASS(tidal_hide_item(e.r[0], 1, 1));
    cr_assert(!repl_stats(e.r[0]).clock_fenced);
    repl_close(&e);
}

/* The guarantee, in every region: a hide at a region (its own stamp) and,
 * more than the budget later in real time, an unhide at a region whose
 * clock is behind by just under the budget - the unhide wins.  Before,
 * with the hiding region's clock twice the budget ahead, its hide is
 * refused instead of being stamped in the future, where it would have won
 * over an unhide made later. */
Test(clock_fence, an_unhide_more_than_the_budget_later_wins_everywhere)
{
    repl_env e;
    open_cluster(&e, 0xc10c7, 3, (int64_t[]){2 * BUDGET, 0, 0});
    tidal_region *a = e.r[0], *b = e.r[1];
    wait_estimate(a, 1, 2 * BUDGET);
    wait_fenced(a, true);
    TIDAL_FAIL(tidal_hide_item(a, 5, 50), TIDAL_EFENCED);

    advance(3 * BUDGET);
    set_offset(0, 0);
    set_offset(1, -(BUDGET - 1 * MS));
    wait_estimate(a, 1, BUDGET - 1 * MS);
    wait_estimate(b, 0, -(BUDGET - 1 * MS));
    wait_fenced(a, false);
    TIDAL_PASS(tidal_hide_item(a, 5, 50));
    uint64_t hid = repl_stats(a).last_lsn;
    advance(BUDGET + 1 * MS);
    TIDAL_PASS(tidal_unhide_item(b, 5, 50));
    uint64_t unhid = repl_stats(b).last_lsn;
    for (int i = 0; i < 3; i++) {
        if (i != 0) {
            TIDAL_PASS(tidal_region_wait_applied(e.r[i], 0, hid, WAIT_MS));
        }
        if (i != 1) {
            TIDAL_PASS(tidal_region_wait_applied(e.r[i], 1, unhid, WAIT_MS));
        }
        cr_assert(!repl_hidden(e.r[i], 5, 50), "region %d: the earlier hide won", i);
    }
    cr_assert(repl_digests_equal(e.r, 3));
    repl_close(&e);
}
