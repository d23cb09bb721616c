/*
 * Shutdown: closing a runtime with messages, handlers, timers, faults and asks
 * in flight frees everything and reports outstanding asks (EBUSY); stopping
 * an actor while another thread sends to it, or while its virtual actors are
 * on the worker pool; ids of stopped actors stay stale however many actors
 * come after them, and room reserved in a stopped actor's mailbox is not
 * inherited by the next actor of that name.
 */
#include <pthread.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(shutdown);

Test(shutdown, close_with_many_messages_in_flight)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    enum { ACTORS = 4, PER = 12500 };
    echo_state s[ACTORS];
    tidal_addr to[ACTORS];
    for (int i = 0; i < ACTORS; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        char name[16];
        snprintf(name, sizeof(name), "busy-%d", i);
        tidal_spawn_opts o = {
            .name = name, .behaviour = &echo_behaviour, .arg = &s[i], .mailbox_max = 2 * PER};
        tidal_actor a;
        TIDAL_PASS(tidal_spawn(rt, &o, &a));
        to[i] = addr_of(rt, a);
    }
    for (int k = 0; k < PER; k++) {
        for (int i = 0; i < ACTORS; i++) {
            TIDAL_PASS(send_add(rt, &to[i], 1, 0));
        }
    }
    TIDAL_PASS(tidal_runtime_close(rt)); /* the suite's leak check sees the rest */
    for (int i = 0; i < ACTORS; i++) {
        cr_assert_eq(atomic_load(&s[i].inits), 1);
        cr_assert_eq(atomic_load(&s[i].finis), 1);
        cr_assert_leq(atomic_load(&s[i].handled), PER);
    }
}

/* Two actors bouncing one message set back and forth for ever. */
typedef struct bouncer {
    tidal_addr peer;
    atomic_long handled;
} bouncer;

static int
bouncer_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    bouncer *b = state;
    atomic_fetch_add(&b->handled, 1);
    if (msg->type == APP_SEQ) {
        int rv = tidal_ctx_send(ctx, &b->peer, APP_SEQ, msg->payload, msg->len);
        (void)rv; /* EFULL at a full peer: that message is lost, the rest bounce on */
    }
    return 0;
}

static const tidal_behaviour bouncer_behaviour = {.init = arg_as_state_init, .handle = bouncer_handle};

/* Close while handlers send, virtual actors are active, timers and delayed
 * or held envelopes wait, and a link holds frames for a peer that never
 * listens. */
Test(shutdown, close_with_everything_pending)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    bouncer b1 = {0}, b2 = {0};
    echo_state vs = {0};
    tidal_spawn_opts o1 = {.name = "ping",
                           .behaviour = &bouncer_behaviour,
                           .arg = &b1,
                           .virtual_behaviour = &echo_behaviour,
                           .virtual_arg = &vs};
    tidal_spawn_opts o2 = {.name = "pong", .behaviour = &bouncer_behaviour, .arg = &b2};
    tidal_actor a1, a2;
    TIDAL_PASS(tidal_spawn(rt, &o1, &a1));
    TIDAL_PASS(tidal_spawn(rt, &o2, &a2));
    tidal_addr t1 = addr_of(rt, a1), t2 = addr_of(rt, a2);
    b1.peer = t2;
    b2.peer = t1;
    for (uint32_t k = 0; k < 100; k++) {
        tidal_addr v;
        TIDAL_PASS(tidal_addr_virtual(&v, &t1, &k, sizeof(k)));
        TIDAL_PASS(send_add(rt, &v, 1, 5000));
    }
    tidal_fault_rule slow = {.delay = 1.0, .delay_min_ms = 60000, .delay_max_ms = 60000};
    TIDAL_PASS(tidal_fault_set(rt, "node", "pong", &slow));
    tidal_fault_rule held = {.reorder_window = TIDAL_REORDER_WINDOW_MAX, .replay_keep = 10};
    TIDAL_PASS(tidal_fault_set(rt, "ping", "pong", &held));
    for (uint32_t i = 0; i < 100; i++) {
        TIDAL_PASS(send_seq(rt, &t1, i, 5000));
        TIDAL_PASS(send_seq(rt, &t2, i, 5000)); /* delayed a minute */
        TIDAL_PASS(tidal_timer_after(rt, &t1, 60000, APP_SEQ, &i, sizeof(i)));
    }
    tidal_addr nowhere;
    TIDAL_PASS(tidal_addr_make(&nowhere, "inproc://tidal-nobody-listens/x", "x", NULL, 0));
    for (uint32_t i = 0; i < 1000; i++) {
        TIDAL_PASS(send_seq(rt, &nowhere, i, 0));
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&b1.handled) + atomic_load(&b2.handled) > 5000 &&
                                   atomic_load(&vs.handled) == 100,
                               10000));
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&vs.inits), 100);
    cr_assert_eq(atomic_load(&vs.finis), 100);
}

struct asker {
    tidal_runtime *rt;
    tidal_addr to;
    int rv;
};

static void *
asker_main(void *arg)
{
    struct asker *q = arg;
    tidal_reply r = {0};
    q->rv = tidal_ask(q->rt, &q->to, APP_SEQ, "?", 1, 60000, &r);
    if (q->rv == 0) {
        tidal_reply_free(&r);
    }
    return NULL;
}

Test(shutdown, close_with_an_outstanding_ask)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s = {0}; /* the echo does not answer APP_SEQ */
    tidal_spawn_opts o = {.name = "mute", .behaviour = &echo_behaviour, .arg = &s};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    struct asker q = {.rt = rt, .to = addr_of(rt, a), .rv = -1};
    pthread_t th;
    cr_assert(pthread_create(&th, NULL, asker_main, &q) == 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.handled) == 1, 5000)); /* the ask is out */
    TIDAL_FAIL(tidal_runtime_close(rt), TIDAL_EBUSY);
    pthread_join(th, NULL);
    TIDAL_FAIL(q.rv, TIDAL_ECLOSED);
}

struct sender {
    tidal_runtime *rt;
    tidal_addr to;
    atomic_bool stop;
    atomic_long ok, full, closed, other;
};

static void *
sender_main(void *arg)
{
    struct sender *t = arg;
    for (int i = 0; i < 200000 && !atomic_load(&t->stop); i++) {
        int rv = send_add(t->rt, &t->to, 1, 1000);
        atomic_long *c = rv == 0               ? &t->ok
                         : rv == TIDAL_EFULL   ? &t->full
                         : rv == TIDAL_ECLOSED ? &t->closed
                                               : &t->other;
        atomic_fetch_add(c, 1);
    }
    return NULL;
}

Test(shutdown, stop_while_another_thread_sends)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s = {0};
    tidal_spawn_opts o = {
        .name = "target", .behaviour = &echo_behaviour, .arg = &s, .mailbox_max = 64};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    struct sender t = {.rt = rt, .to = addr_of(rt, a)};
    pthread_t th;
    cr_assert(pthread_create(&th, NULL, sender_main, &t) == 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.handled) >= 500, 5000));
    TIDAL_PASS(tidal_stop(rt, a));
    cr_assert_eq(atomic_load(&s.finis), 1);
    long handled = atomic_load(&s.handled);
    long at_stop = atomic_load(&t.ok) + atomic_load(&t.full) + atomic_load(&t.closed);
    /* the sender goes on against the stopped actor for a while */
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&t.ok) + atomic_load(&t.full) + atomic_load(&t.closed) >=
                                   at_stop + 1000,
                               5000));
    atomic_store(&t.stop, true);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&t.other), 0, "a send failed with an unexpected code");
    cr_assert_eq(atomic_load(&s.handled), handled, "handled after tidal_stop returned");
    cr_assert_leq(handled, atomic_load(&t.ok));
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 1);
}

static void
churn(tidal_runtime *rt, uint32_t n, tidal_actor *ids)
{
    echo_state s = {0};
    tidal_spawn_opts o = {.name = "churn", .behaviour = &echo_behaviour, .arg = &s};
    for (uint32_t i = 0; i < n; i++) {
        TIDAL_PASS(tidal_spawn(rt, &o, &ids[i]));
        TIDAL_PASS(tidal_stop(rt, ids[i]));
    }
    cr_assert_eq(atomic_load(&s.finis), (int)n);
}

Test(shutdown, spawn_stop_a_thousand_ids_stay_stale)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state keep = {0};
    tidal_spawn_opts ko = {.name = "keep", .behaviour = &echo_behaviour, .arg = &keep};
    tidal_actor k;
    TIDAL_PASS(tidal_spawn(rt, &ko, &k));
    enum { N = 1000 };
    tidal_actor *ids = calloc(N, sizeof(*ids));
    churn(rt, N, ids);
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_neq(ids[i].id, 0);
        cr_assert_neq(ids[i].id, k.id);
        for (uint32_t j = 0; j < i; j++) {
            cr_assert_neq(ids[i].id, ids[j].id, "id reused: %u and %u", i, j);
        }
        tidal_addr x;
        tidal_actor_stats st;
        TIDAL_FAIL(tidal_stop(rt, ids[i]), TIDAL_ECLOSED);
        TIDAL_FAIL(tidal_actor_addr(rt, ids[i], &x), TIDAL_ECLOSED);
        TIDAL_FAIL(tidal_actor_stats_get(rt, ids[i], &st), TIDAL_ECLOSED);
    }
    tidal_actor again;
    TIDAL_PASS(tidal_lookup(rt, "keep", &again));
    cr_assert_eq(again.id, k.id);
    tidal_addr kaddr = addr_of(rt, k);
    ask_ok(rt, &kaddr);
    free(ids);
    TIDAL_PASS(tidal_runtime_close(rt));
}

/* An id packs a 12-bit slot generation: after 4095 actors in one slot the
 * generation must not come round to a stale id again. */
Test(shutdown, stale_id_stays_stale_past_the_generation_wrap)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    enum { N = 4096 };
    static tidal_actor ids[N]; /* not on the heap: a failure here must not also leak */
    churn(rt, N, ids);
    echo_state s = {0};
    tidal_spawn_opts o = {.name = "new", .behaviour = &echo_behaviour, .arg = &s};
    tidal_actor fresh;
    TIDAL_PASS(tidal_spawn(rt, &o, &fresh));
    for (uint32_t i = 0; i < N; i++) {
        cr_assert_neq(ids[i].id, fresh.id, "stale id %u (#%u) names a live actor again", ids[i].id,
                      i);
    }
    TIDAL_FAIL(tidal_stop(rt, ids[0]), TIDAL_ECLOSED);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 1, "a stale id stopped the new actor");
}

/* Stop owners while their virtual actors are queued on the worker pool: a
 * worker may have taken a unit off the run queue and not yet started it, and
 * stop must not free that unit under it.  Each owner has its own name. */
Test(shutdown, stop_owner_while_its_virtual_actors_run)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    for (int round = 0; round < 300; round++) {
        char name[32];
        snprintf(name, sizeof(name), "vown-%d", round);
        echo_state es = {0}, vs = {0};
        tidal_spawn_opts o = {.name = name,
                              .behaviour = &echo_behaviour,
                              .arg = &es,
                              .virtual_behaviour = &echo_behaviour,
                              .virtual_arg = &vs};
        tidal_actor a;
        TIDAL_PASS(tidal_spawn(rt, &o, &a));
        tidal_addr oa = addr_of(rt, a);
        for (uint32_t k = 0; k < 200; k++) {
            uint32_t key = k % 50;
            tidal_addr v;
            TIDAL_PASS(tidal_addr_virtual(&v, &oa, &key, sizeof(key)));
            TIDAL_PASS(send_add(rt, &v, 1, 5000));
        }
        /* all arrived (none in nng's transit, whose close may leak: nng 1.5.2),
         * most still queued on or running from the pool */
        cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).received == 200, 5000));
        TIDAL_PASS(tidal_stop(rt, a));
        cr_assert_eq(atomic_load(&vs.inits), atomic_load(&vs.finis), "round %d", round);
    }
    TIDAL_PASS(tidal_runtime_close(rt));
}

static uint64_t
dead_total(tidal_runtime *rt)
{
    tidal_stats st = stats_of(rt);
    uint64_t n = 0;
    for (int i = 0; i < TIDAL_DEAD_COUNT; i++) {
        n += st.dead[i];
    }
    return n;
}

/* A handler that sends to "x" from inside a handler (reserving room in x's
 * mailbox), then holds its frame back until the test lets it return. */
typedef struct holder {
    tidal_addr x;
    atomic_bool sent;
    atomic_bool block;
    atomic_int errors;
} holder;

static int
holder_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)msg;
    holder *h = state;
    uint8_t p[32];
    uint32_t n = counter_add_payload(1, p, sizeof(p));
    for (int i = 0; i < 3; i++) {
        if (tidal_ctx_send(ctx, &h->x, TIDAL_MSG_COUNTER_ADD, p, n) != 0) {
            atomic_fetch_add(&h->errors, 1);
        }
    }
    atomic_store(&h->sent, true);
    while (atomic_load(&h->block)) {
        tidal_test_sleep_ms(1);
    }
    return 0;
}

static const tidal_behaviour holder_behaviour = {.init = arg_as_state_init, .handle = holder_handle};

/* Room reserved in a stopped actor's mailbox is not room in the next actor
 * spawned under its name: the envelopes still travelling to that URL must be
 * counted by the new actor as uncredited arrivals. */
Test(shutdown, respawned_name_does_not_inherit_reserved_room)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s1 = {0}, s2 = {0};
    tidal_spawn_opts xo = {.name = "x", .behaviour = &echo_behaviour, .arg = &s1};
    tidal_actor x1, x2;
    TIDAL_PASS(tidal_spawn(rt, &xo, &x1));
    holder h = {.x = addr_of(rt, x1)};
    atomic_store(&h.block, true);
    tidal_spawn_opts ho = {.name = "holder", .behaviour = &holder_behaviour, .arg = &h};
    tidal_actor ha;
    TIDAL_PASS(tidal_spawn(rt, &ho, &ha));
    tidal_addr hto = addr_of(rt, ha);
    TIDAL_PASS(send_seq(rt, &hto, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&h.sent), 5000));
    cr_assert_eq(atomic_load(&h.errors), 0);
    cr_assert_eq(actor_stats_of(rt, x1).queued, 3); /* reserved by the held sends */
    TIDAL_PASS(tidal_stop(rt, x1));
    xo.arg = &s2;
    TIDAL_PASS(tidal_spawn(rt, &xo, &x2)); /* same name, same URL */
    uint64_t dead0 = dead_total(rt);
    atomic_store(&h.block, false); /* the held frame leaves now */
    /* the new actor handles them, or they are dead letters: either way each
     * is accounted for once, and the new mailbox's room comes back whole */
    cr_assert(
        TIDAL_WAIT_UNTIL(atomic_load(&s2.handled) + (long)(dead_total(rt) - dead0) == 3, 5000),
        "handled %ld, dead letters %llu", (long)atomic_load(&s2.handled),
        (unsigned long long)(dead_total(rt) - dead0));
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, x2).queued == 0, 5000), "queued %u",
              actor_stats_of(rt, x2).queued);
    ask_ok(rt, &h.x); /* the new actor serves */
    cr_assert_eq(atomic_load(&s1.handled), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
}
