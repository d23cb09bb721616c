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

#include "runtime/internal.h"
#include "test_actor_helpers.h"

TIDAL_SUITE(room);

#define T_WORK 1100u /* to the sink */
#define T_TRY 1101u  /* to the waiter: fill the sink, then ask for room */
#define T_ROOM 1102u /* the waiter's wake-up */
#define T_ASK 1103u  /* to the waiter: ask for room now, as many times as the payload says */
#define SINK_MAILBOX 8u

struct sink {
    test_gate *gate;
    atomic_uint handled;
};

struct waiter {
    tidal_addr sink;
    uint32_t quota;      /* with refill: WORK to send in all, on each ROOM */
    atomic_uint sent;    /* WORK that fit */
    atomic_uint rooms;   /* ROOM messages received */
    atomic_int asked;    /* the last when_room's result, 1 before any */
    atomic_uint asks_ok; /* when_room calls that returned 0 */
};

static int
sink_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    struct sink *s = state;
    test_gate_pass_locked(s->gate);
    pthread_mutex_unlock(&s->gate->lock);
    atomic_fetch_add(&s->handled, 1);
    return 0;
}

static int
waiter_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct waiter *w = state;
    uint8_t byte = 0;
    if (m->type == T_ROOM && w->quota > 0) {
        /* refill: send on each wake-up until full or done, then wait again */
        atomic_fetch_add(&w->rooms, 1);
        while (atomic_load(&w->sent) < w->quota &&
               tidal_ctx_send(ctx, &w->sink, T_WORK, &byte, 1) == 0) {
            atomic_fetch_add(&w->sent, 1);
        }
        if (atomic_load(&w->sent) < w->quota) {
            atomic_store(&w->asked, tidal_ctx_when_room(ctx, &w->sink, T_ROOM, NULL, 0));
        }
    } else if (m->type == T_ROOM) {
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
    test_gate gate;
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
    test_gate_init(&e->gate);
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
    test_gate_open(&e->gate);
    if (e->rb != e->ra) {
        rt_close_pair(e->ra, e->rb);
    } else {
        tidal_runtime_quiesce(e->ra);
        TIDAL_PASS(tidal_runtime_close(e->ra));
    }
    test_gate_fini(&e->gate);
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
    test_gate_open(&e.gate);
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
    test_gate_open(&e.gate);
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
    test_gate_open(&e.gate);
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

/* ---- pacing (room.c): a full destination wakes only as many waiters as its
 * free room takes, never the whole herd, and every one once it is empty ---- */

static void
count_wake(tidal_runtime *rt, void *arg)
{
    (void)rt;
    atomic_fetch_add((atomic_uint *)arg, 1);
}

static void
no_free(void *arg)
{
    (void)arg;
}

/* The policy alone, on a bare list: what each give wakes. */
Test(room, a_give_wakes_as_many_waiters_as_the_free_room_takes)
{
    tidal_runtime *rt = rt_open(NULL, "a", 7, 1);
    struct tidal__room r = {0};
    atomic_uint woken = 0;
    for (int i = 0; i < 10; i++) {
        TIDAL_PASS(tidal__room_wait(&r, rt, false, 4, count_wake, &woken, no_free));
    }
    cr_assert_eq(r.n, 10);
    tidal__room_give(&r, rt, 4, 4, false); /* one share of room: one waiter */
    cr_assert_eq(r.n, 9);
    tidal__room_give(&r, rt, 7, 4, false); /* 3 past the share promised: nobody */
    cr_assert_eq(r.n, 9);
    tidal__room_taken(&r, 4); /* the woken one sent its share */
    tidal__room_give(&r, rt, 8, 4, false);
    cr_assert_eq(r.n, 7, "two shares of room, none promised: two waiters");
    tidal__room_give(&r, rt, 8, 4, false); /* both still owe theirs */
    cr_assert_eq(r.n, 7);
    tidal__room_give(&r, rt, 8, 4, true); /* empty: they sent less than their share */
    cr_assert_eq(r.n, 0, "an empty owner wakes every waiter");
    cr_assert_eq(r.head, NULL);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&woken) == 10, 5000));

    /* room already: the new waiter alone, at once, ahead of those in line */
    TIDAL_PASS(tidal__room_wait(&r, rt, false, 4, count_wake, &woken, no_free));
    TIDAL_PASS(tidal__room_wait(&r, rt, true, 4, count_wake, &woken, no_free));
    cr_assert_eq(r.n, 1);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&woken) == 11, 5000));
    tidal__room_fire(&r, rt); /* the owner stops: every one */
    cr_assert_eq(r.n, 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&woken) == 12, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
}

/* Ten wake-ups wait on a full mailbox, and none of the woken sends: the
 * room promised to them is never taken, yet every one is woken once the
 * mailbox is empty. */
Test(room, waiters_that_send_nothing_do_not_hold_back_the_others)
{
    struct env e;
    env_open(&e, false);
    fill_and_ask(&e);
    uint32_t n = 9;
    tell(&e, T_ASK, &n, 4);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.asks_ok) == 10, 5000));
    test_gate_open(&e.gate);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.w.rooms) == 10, 5000), "%u of 10 woken",
              atomic_load(&e.w.rooms));
    env_close(&e);
}

#define SENDERS 8u

/* Eight senders behind one small mailbox (or the link to it), each sending
 * on every wake-up until it is full, then waiting again: every sender
 * finishes and the sink gets every envelope, so no waiter is left behind
 * by the pacing. */
static void
many_senders(bool remote)
{
    /* remote: enough to fill the link (TIDAL_LINK_ENVELOPES_MAX) */
    uint32_t quota = remote ? 3 * TIDAL_LINK_ENVELOPES_MAX / SENDERS : 3000;
    tidal_runtime *ra = rt_open(NULL, "a", 7, 2);
    tidal_runtime *rb = remote ? rt_open(NULL, "b", 7, 2) : ra;
    test_gate gate;
    test_gate_init(&gate);
    test_gate_open(&gate);
    struct sink sink = {.gate = &gate};
    tidal_actor sink_id;
    tidal_spawn_opts so = {.name = "sink", .behaviour = &sink_beh, .arg = &sink,
                           .mailbox_max = 16};
    TIDAL_PASS(tidal_spawn(rb, &so, &sink_id));
    static struct waiter w[SENDERS];
    memset(w, 0, sizeof(w));
    for (uint32_t i = 0; i < SENDERS; i++) {
        w[i].sink = addr_of(rb, sink_id);
        w[i].quota = quota;
        char name[16];
        snprintf(name, sizeof(name), "sender-%u", i);
        tidal_spawn_opts wo = {.name = name, .behaviour = &waiter_beh, .arg = &w[i]};
        tidal_actor id;
        TIDAL_PASS(tidal_spawn(ra, &wo, &id));
        tidal_addr a = addr_of(ra, id);
        TIDAL_PASS(tidal_send(ra, &a, T_ROOM, NULL, 0, 5000)); /* start */
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sink.handled) == SENDERS * quota, 60000),
              "the sink got %u of %u", atomic_load(&sink.handled), SENDERS * quota);
    uint32_t rooms = 0;
    for (uint32_t i = 0; i < SENDERS; i++) {
        cr_assert_eq(atomic_load(&w[i].sent), quota, "sender %u", i);
        TIDAL_PASS(atomic_load(&w[i].asked));
        rooms += atomic_load(&w[i].rooms);
    }
    cr_assert_gt(rooms, SENDERS, "the senders never had to wait");
    if (remote) {
        rt_close_pair(ra, rb);
    } else {
        tidal_runtime_quiesce(ra);
        TIDAL_PASS(tidal_runtime_close(ra));
    }
    test_gate_fini(&gate);
}

Test(room, many_senders_behind_one_small_mailbox_all_finish)
{
    many_senders(false);
}

Test(room, many_senders_behind_one_full_link_all_finish)
{
    many_senders(true);
}
