/*
 * Supervision: a failing handler restarts its actor (fini, init) and tells
 * the parent (CHILD_EXIT); after TIDAL_RESTARTS_MAX failures within the window
 * the actor is stopped.  tidal_ctx_stop stops an actor once its handler
 * returns; stopping dead-letters what is still queued; stale ids are ECLOSED.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(supervision);

#define FAIL_DELTA 13 /* a COUNTER_ADD with this delta makes the echo fail */
#define STOP_ME 1002u /* the stopper calls tidal_ctx_stop on this type */

/* A supervisor: keeps every CHILD_EXIT it receives. */
typedef struct exit_rec {
    char child[TIDAL_NAME_BYTES_MAX];
    uint32_t code;
    uint32_t restarts;
    bool stopped;
} exit_rec;

typedef struct sup_state {
    exit_rec exits[32];
    atomic_int n;
    atomic_int bad;
} sup_state;

static int
sup_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    sup_state *s = state;
    if (msg->type != TIDAL_MSG_CHILD_EXIT) {
        return 0;
    }
    tidal_msg_child_exit c;
    int i = atomic_load(&s->n);
    if (tidal_msg_child_exit_decode(msg->payload, msg->len, &c, NULL) != 0 || i >= 32) {
        atomic_fetch_add(&s->bad, 1);
        return 0;
    }
    snprintf(s->exits[i].child, sizeof(s->exits[i].child), "%.*s", (int)c.child.len,
             (const char *)c.child.ptr);
    s->exits[i].code = c.code;
    s->exits[i].restarts = c.restarts;
    s->exits[i].stopped = c.stopped;
    atomic_store(&s->n, i + 1);
    return 0;
}

static const tidal_behaviour sup_behaviour = {.init = arg_as_state_init, .handle = sup_handle};

static tidal_actor
spawn_sup(tidal_runtime *rt, sup_state *s)
{
    tidal_spawn_opts o = {.name = "sup", .behaviour = &sup_behaviour, .arg = s};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

static tidal_actor
spawn_child(tidal_runtime *rt, const char *name, const tidal_behaviour *b, echo_state *s,
            tidal_actor parent)
{
    tidal_spawn_opts o = {.name = name, .behaviour = b, .arg = s, .parent = parent};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

static bool
gone(tidal_runtime *rt, const char *name)
{
    tidal_actor a;
    return tidal_lookup(rt, name, &a) == TIDAL_ENOENT;
}

Test(supervision, failing_handler_restarts_and_parent_hears)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    sup_state sup = {0};
    tidal_actor pa = spawn_sup(rt, &sup);
    echo_state s = {0};
    atomic_store(&s.fail_on, FAIL_DELTA);
    tidal_actor kid = spawn_child(rt, "kid", &echo_behaviour, &s, pa);
    tidal_addr to = addr_of(rt, kid);
    TIDAL_PASS(send_add(rt, &to, FAIL_DELTA, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sup.n) == 1, 5000), "no CHILD_EXIT");
    cr_assert_str_eq(sup.exits[0].child, "kid");
    cr_assert_eq(sup.exits[0].code, (uint32_t)TIDAL_ESTATE);
    cr_assert_eq(sup.exits[0].restarts, 1);
    cr_assert(!sup.exits[0].stopped);
    cr_assert_eq(atomic_load(&s.inits), 2, "init did not run again");
    cr_assert_eq(atomic_load(&s.finis), 1, "fini did not run");
    cr_assert_eq(actor_stats_of(rt, kid).restarts, 1);
    cr_assert_eq(stats_of(rt).restarts, 1);
    /* the same actor keeps serving */
    tidal_actor again;
    TIDAL_PASS(tidal_lookup(rt, "kid", &again));
    cr_assert_eq(again.id, kid.id);
    TIDAL_PASS(send_add(rt, &to, 2, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.sum) == 2, 5000));
    cr_assert_eq(atomic_load(&sup.bad), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 2);
}

Test(supervision, stopped_after_restarts_max_failures)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    sup_state sup = {0};
    tidal_actor pa = spawn_sup(rt, &sup);
    echo_state s = {0};
    atomic_store(&s.fail_on, FAIL_DELTA);
    tidal_actor kid = spawn_child(rt, "kid", &echo_behaviour, &s, pa);
    tidal_addr to = addr_of(rt, kid);
    for (int i = 1; i <= (int)TIDAL_RESTARTS_MAX; i++) {
        TIDAL_PASS(send_add(rt, &to, FAIL_DELTA, 5000));
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sup.n) == i, 5000), "failure %d: no notice", i);
        const exit_rec *e = &sup.exits[i - 1];
        cr_assert_str_eq(e->child, "kid");
        cr_assert_eq(e->restarts, (uint32_t)i);
        cr_assert_eq(e->stopped, i == (int)TIDAL_RESTARTS_MAX, "failure %d: stopped=%d", i,
                     e->stopped);
    }
    cr_assert(TIDAL_WAIT_UNTIL(gone(rt, "kid"), 5000), "still registered after giving up");
    TIDAL_FAIL(tidal_stop(rt, kid), TIDAL_ECLOSED);
    cr_assert_eq(atomic_load(&s.inits), (int)TIDAL_RESTARTS_MAX); /* spawn + restarts */
    cr_assert_eq(atomic_load(&s.finis), (int)TIDAL_RESTARTS_MAX); /* one per failure */
    cr_assert_eq(stats_of(rt).restarts, TIDAL_RESTARTS_MAX);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), (int)TIDAL_RESTARTS_MAX, "fini ran for no state");
}

/* Messages already queued behind the failure that stops the actor must not
 * be handled: they are dead letters (STOPPED).  One worker, and a first
 * message that blocks, so all the rest are handled in one burst. */
Test(supervision, messages_behind_the_fatal_failure_are_not_handled)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 1);
    sup_state sup = {0};
    tidal_actor pa = spawn_sup(rt, &sup);
    echo_state s = {0};
    atomic_store(&s.fail_on, FAIL_DELTA);
    atomic_store(&s.block, true);
    tidal_actor kid = spawn_child(rt, "kid", &echo_behaviour, &s, pa);
    tidal_addr to = addr_of(rt, kid);
    TIDAL_PASS(send_add(rt, &to, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.entered) == 1, 5000));
    for (unsigned i = 0; i < TIDAL_RESTARTS_MAX; i++) {
        TIDAL_PASS(send_add(rt, &to, FAIL_DELTA, 5000));
    }
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(send_add(rt, &to, 100, 5000));
    }
    cr_assert(
        TIDAL_WAIT_UNTIL(actor_stats_of(rt, kid).received == 1 + TIDAL_RESTARTS_MAX + 3, 5000));
    atomic_store(&s.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(gone(rt, "kid"), 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sup.n) == (int)TIDAL_RESTARTS_MAX, 5000));
    cr_assert(sup.exits[TIDAL_RESTARTS_MAX - 1].stopped);
    cr_assert_eq(atomic_load(&s.sum), 1, "handled after being stopped: sum %ld",
                 (long)atomic_load(&s.sum));
    cr_assert_eq(atomic_load(&s.handled), 1 + (long)TIDAL_RESTARTS_MAX);
    cr_assert_eq(atomic_load(&s.inits), (int)TIDAL_RESTARTS_MAX, "init after giving up");
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_STOPPED] == 3, 5000), "STOPPED %llu",
              (unsigned long long)stats_of(rt).dead[TIDAL_DEAD_STOPPED]);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), (int)TIDAL_RESTARTS_MAX);
}

/* An echo whose init fails once refuse_init is set. */
static atomic_bool refuse_init;

static int
fragile_init(tidal_ctx *ctx, void *arg, void **state)
{
    if (atomic_load(&refuse_init)) {
        return TIDAL_ESTATE;
    }
    return echo_init(ctx, arg, state);
}

static const tidal_behaviour fragile_behaviour = {
    .init = fragile_init, .handle = echo_handle, .fini = echo_fini};

Test(supervision, restart_whose_init_fails_stops_the_actor)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    sup_state sup = {0};
    tidal_actor pa = spawn_sup(rt, &sup);
    echo_state s = {0};
    atomic_store(&s.fail_on, FAIL_DELTA);
    tidal_actor kid = spawn_child(rt, "frail", &fragile_behaviour, &s, pa);
    tidal_addr to = addr_of(rt, kid);
    atomic_store(&refuse_init, true); /* the restart's init refuses */
    TIDAL_PASS(send_add(rt, &to, FAIL_DELTA, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sup.n) == 1, 5000));
    cr_assert_str_eq(sup.exits[0].child, "frail");
    cr_assert(sup.exits[0].stopped, "init failed at restart but the actor was not stopped");
    cr_assert(TIDAL_WAIT_UNTIL(gone(rt, "frail"), 5000));
    cr_assert_eq(atomic_load(&s.inits), 1);
    cr_assert_eq(atomic_load(&s.finis), 1);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 1);
}

/* The stopper: an echo that calls tidal_ctx_stop on STOP_ME. */
static int
stopper_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    int rv = echo_handle(ctx, state, msg);
    if (msg->type == STOP_ME) {
        tidal_ctx_stop(ctx);
    }
    return rv;
}

static const tidal_behaviour stopper_behaviour = {
    .init = echo_init, .handle = stopper_handle, .fini = echo_fini};

Test(supervision, ctx_stop_stops_after_the_handler_returns)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s = {0};
    tidal_actor a = spawn_child(rt, "stopper", &stopper_behaviour, &s, (tidal_actor){0});
    tidal_addr to = addr_of(rt, a);
    TIDAL_PASS(tidal_send(rt, &to, STOP_ME, NULL, 0, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(gone(rt, "stopper"), 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.finis) == 1, 5000)); /* stop finishes after */
    cr_assert_eq(atomic_load(&s.handled), 1);
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    tidal_addr x;
    TIDAL_FAIL(tidal_actor_addr(rt, a, &x), TIDAL_ECLOSED);
    tidal_actor_stats ast;
    TIDAL_FAIL(tidal_actor_stats_get(rt, a, &ast), TIDAL_ECLOSED);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 1);
}

/* Messages queued behind the one whose handler called tidal_ctx_stop are
 * dead letters, not handled.  One worker and a blocking first message put
 * them all in one burst. */
Test(supervision, ctx_stop_drops_messages_queued_behind_it)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 1);
    echo_state s = {0};
    atomic_store(&s.block, true);
    tidal_actor a = spawn_child(rt, "stopper", &stopper_behaviour, &s, (tidal_actor){0});
    tidal_addr to = addr_of(rt, a);
    TIDAL_PASS(send_add(rt, &to, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.entered) == 1, 5000));
    TIDAL_PASS(tidal_send(rt, &to, STOP_ME, NULL, 0, 5000));
    TIDAL_PASS(send_add(rt, &to, 100, 5000));
    TIDAL_PASS(send_add(rt, &to, 100, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).received == 4, 5000));
    atomic_store(&s.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(gone(rt, "stopper"), 5000));
    cr_assert_eq(atomic_load(&s.sum), 1, "handled after tidal_ctx_stop: sum %ld",
                 (long)atomic_load(&s.sum));
    cr_assert_eq(atomic_load(&s.handled), 2);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_STOPPED] == 2, 5000), "STOPPED %llu",
              (unsigned long long)stats_of(rt).dead[TIDAL_DEAD_STOPPED]);
    TIDAL_PASS(tidal_runtime_close(rt));
}

/* tidal_stop of an actor that has messages queued (the only worker is busy
 * elsewhere and nothing runs inline, so none can run): each one, virtual
 * mailboxes included, is a dead letter STOPPED, and no handler runs. */
Test(supervision, stop_dead_letters_what_is_queued)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state busy = {0};
    atomic_store(&busy.block, true);
    tidal_actor ba = spawn_child(rt, "busy", &echo_behaviour, &busy, (tidal_actor){0});
    tidal_addr bto = addr_of(rt, ba);
    TIDAL_PASS(send_add(rt, &bto, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&busy.entered) == 1, 5000));

    echo_state s = {0}, vs = {0};
    tidal_spawn_opts o = {.name = "victim",
                          .behaviour = &echo_behaviour,
                          .arg = &s,
                          .virtual_behaviour = &echo_behaviour,
                          .virtual_arg = &vs};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    tidal_addr to = addr_of(rt, a);
    for (int i = 0; i < 9; i++) {
        TIDAL_PASS(send_add(rt, &to, 1, 5000));
    }
    for (uint8_t k = 1; k <= 3; k++) {
        tidal_addr vto;
        TIDAL_PASS(tidal_addr_virtual(&vto, &to, &k, 1));
        TIDAL_PASS(send_add(rt, &vto, 1, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).received == 12, 5000));
    cr_assert_eq(actor_stats_of(rt, a).queued, 12);
    TIDAL_PASS(tidal_stop(rt, a));
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_STOPPED], 12);
    cr_assert_eq(atomic_load(&s.handled), 0);
    cr_assert_eq(atomic_load(&vs.handled), 0);
    cr_assert_eq(atomic_load(&s.finis), 1);
    cr_assert_eq(atomic_load(&vs.inits), 0, "a virtual actor was initialised while stopping");
    cr_assert_eq(atomic_load(&vs.finis), 0, "fini ran for a virtual actor never initialised");
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    atomic_store(&busy.block, false);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&busy.handled) == 1, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(supervision, stop_on_stale_or_bogus_id_is_closed)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state s = {0};
    tidal_actor a = spawn_child(rt, "once", &echo_behaviour, &s, (tidal_actor){0});
    TIDAL_PASS(tidal_stop(rt, a));
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    TIDAL_FAIL(tidal_stop(rt, (tidal_actor){0}), TIDAL_ECLOSED);
    TIDAL_FAIL(tidal_stop(rt, (tidal_actor){0xfffffffeu}), TIDAL_ECLOSED);
    tidal_actor b = spawn_child(rt, "once", &echo_behaviour, &s, (tidal_actor){0});
    cr_assert_neq(a.id, b.id);
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED); /* the slot's new tenant is not hit */
    tidal_actor found;
    TIDAL_PASS(tidal_lookup(rt, "once", &found));
    cr_assert_eq(found.id, b.id);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 2);
}
