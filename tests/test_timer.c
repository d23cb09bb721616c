/*
 * Timers and the clock service: tidal_timer_after and tidal_ctx_timer deliver
 * after their delay and in deadline order, pending timers are freed at close;
 * tidal_now is strictly increasing across threads, messages carry the
 * sender's stamp, and a remote stamp too far ahead is refused (ESKEW, or a
 * dead letter HLC_SKEW for an envelope).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(timer);

static uint32_t
timer_payload(uint64_t tag, uint8_t *out, size_t cap)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_timer t = {.tag = tag};
    cr_assert(tidal_msg_timer_encode(&t, &b) == 0);
    cr_assert(b.len <= cap);
    memcpy(out, b.data, b.len);
    uint32_t n = (uint32_t)b.len;
    tidal_buf_fini(&b);
    return n;
}

static void
set_timer(tidal_runtime *rt, const tidal_addr *to, uint32_t delay_ms, uint64_t tag)
{
    uint8_t p[32];
    uint32_t n = timer_payload(tag, p, sizeof(p));
    TIDAL_PASS(tidal_timer_after(rt, to, delay_ms, TIDAL_MSG_TIMER, p, n));
}

Test(timer, delivers_after_the_delay)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));
    const uint32_t delay = 300;
    uint64_t t0 = tidal_test_now_ms();
    set_timer(rt, &to, delay, 7);
    tidal_test_sleep_ms(delay / 2);
    unsigned early = rec_count(&rec);
    uint64_t checked = tidal_test_now_ms();
    /* only a check that itself came late may see it */
    cr_assert(early == 0 || checked >= t0 + delay, "the timer fired before half its delay");
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 1, 5000), "the timer never fired");
    const rec_entry *e = &rec.ents[0];
    cr_assert_eq(e->type, TIDAL_MSG_TIMER);
    cr_assert_eq(e->seq, 7);
    cr_assert_str_eq(e->from, "_timer");
    cr_assert_geq(e->at_ms, t0 + delay - 1, "arrived after %llu ms of %u",
                  (unsigned long long)(e->at_ms - t0), delay);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

Test(timer, timers_fire_in_deadline_order)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));
    /* (delay, tag): three share a delay and must keep the order they were set */
    const uint32_t set[][2] = {{240, 240}, {30, 30},    {170, 170}, {100, 1000},
                               {310, 310}, {100, 1001}, {100, 1002}};
    const uint32_t want[] = {30, 1000, 1001, 1002, 170, 240, 310};
    for (size_t i = 0; i < 7; i++) {
        set_timer(rt, &to, set[i][0], set[i][1]);
    }
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 7, 5000));
    for (size_t i = 0; i < 7; i++) {
        cr_assert_eq(rec.ents[i].seq, want[i], "arrival %zu: tag %u, want %u", i, rec.ents[i].seq,
                     want[i]);
    }
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

/* A recorder that, on APP_SEQ n, sets a timer to itself with tag n. */
static int
self_timer_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    if (msg->type == APP_SEQ && msg->len == 4) {
        uint8_t p[32];
        uint32_t n = timer_payload(seq_get(msg->payload), p, sizeof(p));
        return tidal_ctx_timer(ctx, 30, TIDAL_MSG_TIMER, p, n);
    }
    return rec_handle(ctx, state, msg);
}

static const tidal_behaviour self_timer_behaviour = {
    .init = rec_init, .handle = self_timer_handle, .fini = rec_fini};

Test(timer, ctx_timer_comes_back_to_the_same_actor)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec, vrec;
    rec_init_state(&rec);
    rec_init_state(&vrec);
    tidal_spawn_opts o = {.name = "self",
                          .behaviour = &self_timer_behaviour,
                          .arg = &rec,
                          .virtual_behaviour = &self_timer_behaviour,
                          .virtual_arg = &vrec};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    tidal_addr to = addr_of(rt, a), vto;
    const uint8_t key[3] = {1, 2, 3};
    TIDAL_PASS(tidal_addr_virtual(&vto, &to, key, sizeof(key)));
    TIDAL_PASS(send_seq(rt, &to, 11, 5000));
    TIDAL_PASS(send_seq(rt, &vto, 22, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 1 && rec_count(&vrec) == 1, 5000));
    cr_assert_eq(rec.ents[0].type, TIDAL_MSG_TIMER);
    cr_assert_eq(rec.ents[0].seq, 11);
    cr_assert_str_eq(rec.ents[0].from, "_timer");
    cr_assert_eq(rec.ents[0].key_len, 0);
    cr_assert_eq(vrec.ents[0].seq, 22);
    cr_assert_eq(vrec.ents[0].key_len, 3, "the virtual actor's timer went elsewhere");
    cr_assert(memcmp(vrec.ents[0].key, key, 3) == 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
    rec_free_state(&vrec);
}

/* What an actor whose init arms timers saw: the tags of its TIMER
 * messages, in order. */
typedef struct init_timers {
    atomic_uint n;
    uint64_t tags[8];
    bool fail; /* init fails after arming */
} init_timers;

static void
arm(tidal_ctx *ctx, uint32_t delay_ms, uint64_t tag)
{
    uint8_t p[32];
    uint32_t n = timer_payload(tag, p, sizeof(p));
    TIDAL_PASS(tidal_ctx_timer(ctx, delay_ms, TIDAL_MSG_TIMER, p, n));
}

static int
init_arms(tidal_ctx *ctx, void *arg, void **state)
{
    init_timers *it = arg;
    *state = it;
    arm(ctx, 0, 1);
    arm(ctx, 0, 2);
    arm(ctx, 30, 3);
    /* a timer thread that fires now finds the actor not yet taking messages */
    tidal_test_sleep_ms(20);
    return it->fail ? TIDAL_EINVAL : 0;
}

static int
init_arms_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    init_timers *it = state;
    tidal_msg_timer t;
    if (msg->type == TIDAL_MSG_TIMER &&
        tidal_msg_timer_decode(msg->payload, msg->len, &t, NULL) == 0) {
        unsigned i = atomic_load(&it->n);
        if (i < 8) {
            it->tags[i] = t.tag;
            atomic_store(&it->n, i + 1);
        }
    }
    return 0;
}

static const tidal_behaviour init_arms_behaviour = {.init = init_arms, .handle = init_arms_handle};

/* Timers an init arms are held until the actor takes messages: a 0 ms one
 * once fired during init into a refusal and was lost (test_close_rearm saw
 * an actor never tick, under TSan, several runs in 16).  Each arrives, in
 * the order armed; an init that fails leaves none behind. */
Test(timer, timers_armed_in_init_arrive_once_it_returns)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 2);
    init_timers it = {0};
    tidal_spawn_opts o = {.name = "armer", .behaviour = &init_arms_behaviour, .arg = &it};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&it.n) == 3, 5000), "%u of 3 timers arrived",
              atomic_load(&it.n));
    cr_assert_eq(it.tags[0], 1);
    cr_assert_eq(it.tags[1], 2);
    cr_assert_eq(it.tags[2], 3);

    init_timers failing = {.fail = true};
    o = (tidal_spawn_opts){.name = "failer", .behaviour = &init_arms_behaviour, .arg = &failing};
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    tidal_test_sleep_ms(60);
    cr_assert_eq(atomic_load(&failing.n), 0);
    tidal_stats st;
    tidal_runtime_stats(rt, &st);
    cr_assert_eq(st.sent, 3, "a failed spawn's timer fired");
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(timer, pending_timers_are_freed_at_close)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));
    uint8_t big[4096];
    memset(big, 0x5a, sizeof(big));
    for (uint32_t i = 0; i < 1000; i++) {
        TIDAL_PASS(tidal_timer_after(rt, &to, 60000, APP_SEQ, big, i % 2 ? sizeof(big) : 4));
    }
    TIDAL_FAIL(tidal_timer_after(rt, &to, 10, TIDAL_MSG_TIMER, NULL, 5), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_timer_after(rt, &to, 10, 999, NULL, 0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_runtime_close(rt)); /* the suite's leak check sees the rest */
    cr_assert_eq(rec_count(&rec), 0);
    rec_free_state(&rec);
}

#define STAMPS 20000

struct stamper {
    tidal_runtime *rt;
    tidal_hlc *out;
};

static void *
stamper_main(void *arg)
{
    struct stamper *s = arg;
    for (int i = 0; i < STAMPS; i++) {
        s->out[i] = tidal_now(s->rt);
    }
    return NULL;
}

static int
hlc_cmp(const void *a, const void *b)
{
    return tidal_hlc_compare(a, b);
}

Test(timer, now_is_strictly_increasing_across_threads)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    enum { THREADS = 4 };
    tidal_hlc *all = calloc((size_t)THREADS * STAMPS, sizeof(*all));
    cr_assert_not_null(all);
    pthread_t th[THREADS];
    struct stamper st[THREADS];
    for (int t = 0; t < THREADS; t++) {
        st[t] = (struct stamper){rt, all + (size_t)t * STAMPS};
        cr_assert(pthread_create(&th[t], NULL, stamper_main, &st[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    for (int t = 0; t < THREADS; t++) {
        for (int i = 1; i < STAMPS; i++) {
            cr_assert_lt(tidal_hlc_compare(&st[t].out[i - 1], &st[t].out[i]), 0,
                         "thread %d stamp %d not after the one before", t, i);
        }
    }
    qsort(all, (size_t)THREADS * STAMPS, sizeof(*all), hlc_cmp);
    for (size_t i = 1; i < (size_t)THREADS * STAMPS; i++) {
        cr_assert_neq(tidal_hlc_compare(&all[i - 1], &all[i]), 0, "two threads got one stamp");
    }
    cr_assert_eq(all[0].node_id, 1);
    free(all);
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(timer, messages_carry_the_senders_clock)
{
    tidal_runtime_opts o2 = {.name = "node-2", .node_id = 2};
    tidal_runtime *r1 = rt_open(NULL, NULL, 1, 0), *r2 = NULL;
    TIDAL_PASS(tidal_runtime_open(&o2, &r2));
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(r1, spawn_rec(r1, "sink", &rec));
    tidal_hlc before = tidal_now(r1);
    TIDAL_PASS(send_seq(r1, &to, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 1, 5000));
    tidal_hlc after = tidal_now(r1);
    tidal_hlc h = rec.ents[0].hlc;
    cr_assert_lt(tidal_hlc_compare(&before, &h), 0);
    cr_assert_lt(tidal_hlc_compare(&h, &after), 0);
    cr_assert_eq(h.node_id, 1);

    /* node 2's stamp travels and node 1's clock moves past it */
    TIDAL_PASS(send_seq(r2, &to, 2, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 2, 5000));
    tidal_hlc h2 = rec.ents[1].hlc;
    cr_assert_eq(h2.node_id, 2);
    tidal_hlc now1 = tidal_now(r1);
    cr_assert_gt(tidal_hlc_compare(&now1, &h2), 0);
    TIDAL_PASS(tidal_runtime_close(r1));
    TIDAL_PASS(tidal_runtime_close(r2));
    rec_free_state(&rec);
}

Test(timer, clock_update_refuses_a_remote_too_far_ahead)
{
    tidal_runtime_opts o = {.node_id = 1, .max_skew_ns = 2000000000ull};
    tidal_runtime *rt = NULL;
    TIDAL_PASS(tidal_runtime_open(&o, &rt));
    tidal_hlc now = tidal_now(rt);
    tidal_hlc far = {.wall_ns = now.wall_ns + 10000000000ull, .node_id = 5};
    tidal_hlc out = {.wall_ns = 1, .logical = 2, .node_id = 3};
    TIDAL_FAIL(tidal_clock_update(rt, &far, &out), TIDAL_ESKEW);
    cr_assert(out.wall_ns == 1 && out.logical == 2 && out.node_id == 3, "out was changed");
    tidal_hlc after = tidal_now(rt);
    cr_assert_lt(after.wall_ns, far.wall_ns, "a refused stamp moved the clock");

    tidal_hlc near = {.wall_ns = after.wall_ns + 1000000000ull, .logical = 4, .node_id = 5};
    TIDAL_PASS(tidal_clock_update(rt, &near, &out));
    cr_assert_gt(tidal_hlc_compare(&out, &near), 0);
    cr_assert_eq(out.node_id, 1);
    tidal_hlc next = tidal_now(rt);
    cr_assert_gt(tidal_hlc_compare(&next, &out), 0);

    /* observe skips the check */
    tidal_clock_observe(rt, &far);
    next = tidal_now(rt);
    cr_assert_geq(next.wall_ns, far.wall_ns);
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(timer, envelope_from_the_future_is_a_dead_letter)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));
    nng_socket raw = raw_push_open(to.url);

    uint8_t p[4];
    seq_put(1, p);
    tidal_envelope far = raw_envelope("sink", APP_SEQ, p, 4, 1);
    far.hlc.wall_ns += 60ull * 1000000000ull;
    tidal_buf f;
    frame_begin(&f, 0);
    frame_add(&f, &far);
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_HLC_SKEW] == 1, 5000));
    cr_assert_eq(rec_count(&rec), 0, "the handler ran for it");
    tidal_hlc now = tidal_now(rt);
    cr_assert_lt(now.wall_ns, far.hlc.wall_ns, "the runtime's clock was dragged ahead");

    /* a little ahead is within the tolerance */
    seq_put(2, p);
    tidal_envelope near = raw_envelope("sink", APP_SEQ, p, 4, 2);
    near.hlc.wall_ns += 100ull * 1000000ull;
    frame_begin(&f, 0);
    frame_add(&f, &near);
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 1, 5000));
    cr_assert_eq(rec.ents[0].seq, 2);
    ask_ok(rt, &to);
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_HLC_SKEW], 1);
    nng_close(raw);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}
