/*
 * Room notifications (tidal_ctx_when_room; runtime/room.c): a sender that met
 * TIDAL_EFULL asks for a message once there is room again.  For an actor of
 * the same runtime, room is its mailbox at most half full (or the actor
 * stopped); for one elsewhere, the link to it at most half full.
 *
 * The sink here is held: its handler waits on a gate the test opens, so its
 * mailbox stays full for as long as the test wants.  The waiter is driven by
 * messages from the test: TRY sends to the sink until a send fails with
 * TIDAL_EFULL, then asks for ROOM.
 */
#include <pthread.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(room);

#define T_WORK 1100u /* to the sink */
#define T_TRY 1101u  /* to the waiter: fill the sink, then ask for room */
#define T_ROOM 1102u /* the waiter's wake-up */
#define T_ASK 1103u  /* to the waiter: ask for room now, as many times as the payload says */
#define SINK_MAILBOX 8u

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
};

struct sink {
    struct gate *gate;
    atomic_uint handled;
};

struct waiter {
    tidal_addr sink;
    atomic_uint sent;     /* WORK that fit */
    atomic_uint rooms;    /* ROOM messages received */
    atomic_int asked;     /* the last when_room's result, 1 before any */
    atomic_uint asks_ok;  /* when_room calls that returned 0 */
};

static void
gate_init(struct gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->open = false;
}

static void
gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

static int
sink_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    struct sink *s = state;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20; /* a test that never opens the gate still ends */
    pthread_mutex_lock(&s->gate->lock);
    while (!s->gate->open &&
           pthread_cond_timedwait(&s->gate->cond, &s->gate->lock, &dl) == 0) {
    }
    pthread_mutex_unlock(&s->gate->lock);
    atomic_fetch_add(&s->handled, 1);
    return 0;
}

static int
waiter_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct waiter *w = state;
    uint8_t byte = 0;
    if (m->type == T_ROOM) {
        atomic_fetch_add(&w->rooms, 1);
    } else if (m->type == T_TRY) {
        while (tidal_ctx_send(ctx, &w->sink, T_WORK, &byte, 1) == 0) {
            atomic_fetch_add(&w->sent, 1);
        }
        int rv = tidal_ctx_when_room(ctx, &w->sink, T_ROOM, NULL, 0);
        atomic_store(&w->asked, rv);
        if (rv == 0) {
            atomic_fetch_add(&w->asks_ok, 1);
        }
    } else if (m->type == T_ASK && m->len == 4) {
        uint32_t n;
        memcpy(&n, m->payload, 4);
        int rv = 0;
        for (uint32_t i = 0; i < n && rv == 0; i++) {
            rv = tidal_ctx_when_room(ctx, &w->sink, T_ROOM, NULL, 0);
            if (rv == 0) {
                atomic_fetch_add(&w->asks_ok, 1);
            }
        }
        atomic_store(&w->asked, rv);
    }
    return 0;
}

static const tidal_behaviour sink_beh = {.init = arg_as_state_init, .handle = sink_handle};
static const tidal_behaviour waiter_beh = {.init = arg_as_state_init, .handle = waiter_handle};

struct env {
    tidal_runtime *ra, *rb; /* rb == ra: the sink is local */
    struct gate gate;
    struct sink sink;
    struct waiter w;
    tidal_actor sink_id, waiter_id;
    tidal_addr waiter;
};

/* Opens the waiter in one runtime and the held sink in the same one or in
 * another. */
static void
env_open(struct env *e, bool remote)
{
    memset(e, 0, sizeof(*e));
    gate_init(&e->gate);
    e->sink.gate = &e->gate;
    atomic_init(&e->w.asked, 1);
    e->ra = rt_open(NULL, "a", 7, 2);
    e->rb = remote ? rt_open(NULL, "b", 7, 2) : e->ra;
    tidal_spawn_opts so = {.name = "sink", .behaviour = &sink_beh, .arg = &e->sink,
                           .mailbox_max = SINK_MAILBOX};
    TIDAL_PASS(tidal_spawn(e->rb, &so, &e->sink_id));
    e->w.sink = addr_of(e->rb, e->sink_id);
    tidal_spawn_opts wo = {.name = "waiter", .behaviour = &waiter_beh, .arg = &e->w};
    TIDAL_PASS(tidal_spawn(e->ra, &wo, &e->waiter_id));
    e->waiter = addr_of(e->ra, e->waiter_id);
}

static void
env_close(struct env *e)
{
    gate_open(&e->gate);
    if (e->rb != e->ra) {
        rt_close_pair(e->ra, e->rb);
    } else {
        tidal_runtime_quiesce(e->ra);
        TIDAL_PASS(tidal_runtime_close(e->ra));
    }
    pthread_mutex_destroy(&e->gate.lock);
    pthread_cond_destroy(&e->gate.cond);
}

static void
tell(struct env *e, uint16_t type, const void *payload, uint32_t len)
{
    TIDAL_PASS(tidal_send(e->ra, &e->waiter, type, payload, len, 5000));
}

/* The waiter fills the sink, asks, and hears nothing while the sink is held. */
static void
fill_and_ask(struct env *e)
{
    tell(e, T_TRY, NULL, 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e->w.asked) != 1, 5000), "the waiter never asked");
    TIDAL_PASS(atomic_load(&e->w.asked));
    cr_assert_gt(atomic_load(&e->w.sent), 0);
    usleep(100 * 1000);
    cr_assert_eq(atomic_load(&e->w.rooms), 0, "woken while the sink was still full");
}

Test(room, a_full_local_mailbox_wakes_its_waiter_once_half_drained)
{
    struct env e;
    env_open(&e, false);
    fill_and_ask(&e);
    cr_assert_eq(atomic_load(&e.w.sent), SINK_MAILBOX, "the mailbox holds its bound");
    gate_open(&e.gate);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.rooms) == 1, 5000), "no wake-up once drained");
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.sink.handled) == SINK_MAILBOX, 5000));
    usleep(50 * 1000);
    cr_assert_eq(atomic_load(&e.w.rooms), 1, "one call, one wake-up");
    env_close(&e);
}

Test(room, with_room_already_the_wake_up_comes_at_once)
{
    struct env e;
    env_open(&e, false);
    uint32_t n = 3;
    tell(&e, T_ASK, &n, 4);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.rooms) == 3, 5000));
    env_close(&e);
}

static void *
stop_sink(void *arg)
{
    struct env *e = arg;
    TIDAL_PASS(tidal_stop(e->rb, e->sink_id)); /* waits for the handler held */
    return NULL;
}

/* The waiter hears of the stop at once, mailbox still full: not only when
 * the stop has dropped what was queued. */
Test(room, a_stopped_destination_wakes_its_waiters)
{
    struct env e;
    env_open(&e, false);
    fill_and_ask(&e);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, stop_sink, &e), 0);
    bool woken = TIDAL_WAIT_UNTIL(atomic_load(&e.w.rooms) == 1, 5000);
    gate_open(&e.gate);
    cr_assert_eq(pthread_join(t, NULL), 0);
    cr_assert(woken, "the stop did not wake the waiter");
    env_close(&e);
}

/* Remote: the sink's mailbox pushes back through nng until this runtime's
 * link to it is full (TIDAL_LINK_ENVELOPES_MAX); the waiter is woken once the
 * link has drained to half. */
Test(room, a_full_link_wakes_its_waiter_once_half_drained)
{
    struct env e;
    env_open(&e, true);
    fill_and_ask(&e);
    cr_assert_geq(atomic_load(&e.w.sent), TIDAL_LINK_ENVELOPES_MAX,
                  "the link filled up before a send failed");
    gate_open(&e.gate);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.rooms) == 1, 10000), "no wake-up once drained");
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.sink.handled) == atomic_load(&e.w.sent), 20000));
    cr_assert_eq(atomic_load(&e.w.rooms), 1);
    env_close(&e);
}

/* Past TIDAL_ROOM_WAITERS_MAX on one mailbox, TIDAL_ELIMIT; every wake-up
 * still waiting when the runtime closes is freed (the sanitized build
 * checks). */
Test(room, waiters_on_one_mailbox_are_bounded)
{
    struct env e;
    env_open(&e, false);
    fill_and_ask(&e);
    uint32_t n = TIDAL_ROOM_WAITERS_MAX;
    tell(&e, T_ASK, &n, 4);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.asked) == TIDAL_ELIMIT, 10000));
    cr_assert_eq(atomic_load(&e.w.asks_ok), TIDAL_ROOM_WAITERS_MAX);
    cr_assert_eq(atomic_load(&e.w.rooms), 0);
    env_close(&e);
}

/* Bad calls fail and leave nothing behind. */
static int
bad_calls_init(tidal_ctx *ctx, void *arg, void **state)
{
    int *rv = arg;
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    rv[0] = tidal_ctx_when_room(ctx, &self, T_ROOM, NULL, 0); /* from spawn's init */
    tidal_addr bad = self;
    bad.name[0] = '\0';
    rv[1] = tidal_ctx_when_room(ctx, &bad, T_ROOM, NULL, 0);
    rv[2] = tidal_ctx_when_room(ctx, NULL, T_ROOM, NULL, 0);
    *state = arg;
    return 0;
}

Test(room, bad_calls_are_refused)
{
    static const tidal_behaviour beh = {.init = bad_calls_init, .handle = waiter_handle};
    tidal_runtime *rt = rt_open(NULL, "a", 7, 1);
    int rv[3] = {0};
    tidal_spawn_opts so = {.name = "bad", .behaviour = &beh, .arg = rv};
    tidal_actor id;
    TIDAL_PASS(tidal_spawn(rt, &so, &id));
    TIDAL_FAIL(rv[0], TIDAL_ESTATE);
    TIDAL_FAIL(rv[1], TIDAL_EINVAL);
    TIDAL_FAIL(rv[2], TIDAL_EINVAL);
    TIDAL_PASS(tidal_runtime_close(rt));
}
