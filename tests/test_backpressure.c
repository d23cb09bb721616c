/*
 * Backpressure: a mailbox holds at most mailbox_max envelopes (sent and not
 * yet handled).  A send to a full mailbox waits up to its timeout and fails
 * with TIDAL_EFULL; from a handler it never waits.  A remote sender is paused
 * (its frames wait in nng), never dropped.
 */
#include <pthread.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(backpressure);

static tidal_actor
spawn_bounded(tidal_runtime *rt, const char *name, echo_state *s, uint32_t bound)
{
    tidal_spawn_opts o = {
        .name = name, .behaviour = &echo_behaviour, .arg = s, .mailbox_max = bound};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

/* Fills a blocked actor's mailbox to bound - 1, bound, then one past it. */
static void
limit_at(tidal_runtime *rt, uint32_t bound)
{
    char name[32];
    snprintf(name, sizeof(name), "bp-%u", bound);
    echo_state s = {0};
    atomic_store(&s.block, true);
    tidal_actor a = spawn_bounded(rt, name, &s, bound);
    tidal_addr to = addr_of(rt, a);
    for (uint32_t i = 0; i + 1 < bound; i++) {
        TIDAL_PASS(send_add(rt, &to, 1, 0));
    }
    cr_assert_eq(actor_stats_of(rt, a).queued, bound - 1, "bound %u", bound);
    TIDAL_PASS(send_add(rt, &to, 1, 0)); /* exactly the bound */
    cr_assert_eq(actor_stats_of(rt, a).queued, bound, "bound %u", bound);
    TIDAL_FAIL(send_add(rt, &to, 1, 0), TIDAL_EFULL); /* one past it */
    cr_assert_eq(actor_stats_of(rt, a).queued, bound, "a refused send took room");
    atomic_store(&s.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.handled) == bound, 5000), "bound %u: handled %ld",
              bound, (long)atomic_load(&s.handled));
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).queued == 0, 5000));
    cr_assert_eq(atomic_load(&s.sum), bound);
    TIDAL_PASS(tidal_stop(rt, a));
}

Test(backpressure, bound_minus_one_exact_and_plus_one)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    limit_at(rt, 1);
    limit_at(rt, 8);
    limit_at(rt, 64);
    TIDAL_PASS(tidal_runtime_close(rt));
}

struct late_send {
    tidal_runtime *rt;
    tidal_addr to;
    atomic_bool done;
    int rv;
};

static void *
late_send_main(void *arg)
{
    struct late_send *ls = arg;
    ls->rv = send_add(ls->rt, &ls->to, 1000, 5000);
    atomic_store(&ls->done, true);
    return NULL;
}

Test(backpressure, send_waits_up_to_its_timeout_then_fails)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s = {0};
    atomic_store(&s.block, true);
    tidal_actor a = spawn_bounded(rt, "full", &s, 8);
    tidal_addr to = addr_of(rt, a);
    for (int i = 0; i < 8; i++) {
        TIDAL_PASS(send_add(rt, &to, 1, 0));
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.entered) == 1, 5000));
    cr_assert_eq(actor_stats_of(rt, a).queued, 8);
    TIDAL_FAIL(send_add(rt, &to, 1, 0), TIDAL_EFULL);

    uint64_t t0 = tidal_test_now_ms();
    TIDAL_FAIL(send_add(rt, &to, 1, 50), TIDAL_EFULL);
    uint64_t waited = tidal_test_now_ms() - t0;
    cr_assert_geq(waited, 49, "gave up after %llu ms of a 50 ms timeout",
                  (unsigned long long)waited);
    cr_assert_eq(actor_stats_of(rt, a).queued, 8);

    /* a send waiting for room gets it when the handler drains the mailbox */
    struct late_send ls = {.rt = rt, .to = to};
    pthread_t th;
    cr_assert(pthread_create(&th, NULL, late_send_main, &ls) == 0);
    tidal_test_sleep_ms(30);
    cr_assert(!atomic_load(&ls.done), "a send to a full mailbox returned without room");
    atomic_store(&s.block, false);
    pthread_join(th, NULL);
    TIDAL_PASS(ls.rv);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.handled) == 9, 5000));
    cr_assert_eq(atomic_load(&s.sum), 8 + 1000);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).queued == 0, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
}

/* A sender actor: on APP_SEQ it sends three messages to target from its
 * handler and records what each send returned. */
typedef struct src_state {
    tidal_addr target;
    int rvs[3];
    atomic_int done;
} src_state;

static int
src_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    src_state *s = state;
    if (msg->type != APP_SEQ) {
        return 0;
    }
    uint8_t p[32];
    uint32_t n = counter_add_payload(1, p, sizeof(p));
    for (int i = 0; i < 3; i++) {
        s->rvs[i] = tidal_ctx_send(ctx, &s->target, TIDAL_MSG_COUNTER_ADD, p, n);
    }
    atomic_store(&s->done, 1);
    return 0;
}

static const tidal_behaviour src_behaviour = {.init = arg_as_state_init, .handle = src_handle};

Test(backpressure, handler_send_to_full_mailbox_fails_at_once)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state sink = {0};
    atomic_store(&sink.block, true);
    tidal_actor sa = spawn_bounded(rt, "sink", &sink, 2);
    tidal_addr sink_to = addr_of(rt, sa);
    TIDAL_PASS(send_add(rt, &sink_to, 1, 0));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sink.entered) == 1, 5000));

    src_state src = {.target = sink_to};
    tidal_spawn_opts o = {.name = "src", .behaviour = &src_behaviour, .arg = &src};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    tidal_addr src_to = addr_of(rt, a);
    TIDAL_PASS(send_seq(rt, &src_to, 1, 0));
    /* the sink stays blocked: a handler send that waited would never return */
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&src.done) == 1, 5000),
              "a send from a handler waited for room");
    TIDAL_PASS(src.rvs[0]); /* the last free slot */
    TIDAL_FAIL(src.rvs[1], TIDAL_EFULL);
    TIDAL_FAIL(src.rvs[2], TIDAL_EFULL);
    cr_assert_eq(actor_stats_of(rt, sa).queued, 2);
    atomic_store(&sink.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sink.handled) == 2, 5000));
    cr_assert_eq(atomic_load(&sink.sum), 2);
    TIDAL_PASS(tidal_runtime_close(rt));
}

/* A sender in another runtime cannot reserve room: the receiver stops
 * reading its socket at the bound and resumes as it drains; nothing is lost. */
Test(backpressure, remote_sender_is_paused_not_dropped)
{
    tidal_runtime *r1 = rt_open(NULL, "node-1", 1, 0);
    tidal_runtime *r2 = rt_open(NULL, "node-2", 1, 0);
    echo_state s = {0};
    atomic_store(&s.block, true);
    tidal_actor a = spawn_bounded(r2, "far", &s, 8);
    tidal_addr to = addr_of(r2, a);
    const int n = 2000;
    for (int i = 0; i < n; i++) {
        TIDAL_PASS(send_add(r1, &to, 1, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.entered) == 1, 5000));
    tidal_test_sleep_ms(50); /* time for the receiver to (wrongly) take it all */
    cr_assert_lt(stats_of(r2).received, (uint64_t)n, "the receiver did not pause");
    atomic_store(&s.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.sum) == n, 10000), "sum %ld of %d",
              (long)atomic_load(&s.sum), n);
    tidal_stats st = stats_of(r2);
    cr_assert_eq(st.received, (uint64_t)n);
    cr_assert_eq(st.dead[TIDAL_DEAD_MAILBOX_FULL], 0);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(r2, a).queued == 0, 5000));
    TIDAL_PASS(tidal_runtime_close(r1));
    TIDAL_PASS(tidal_runtime_close(r2));
}
