/*
 * Inline runs (runtime/pool.c): a frame for an idle actor is handled on the
 * nng callback that received it.  They happen by default and never with
 * no_inline; an actor still handles one message at a time however its
 * frames arrive (inline, on workers, virtual actors included); tidal_ctx_stop
 * from an inline run stops the actor on a worker; and once a runtime is
 * quiesced no handler runs, inline or not, while frames keep arriving.
 */
#include <pthread.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(inline);

/* Counts APP_SEQ messages and checks that no two handler calls of one state
 * ever overlap. */
typedef struct excl {
    atomic_int inside;   /* handler calls running now */
    atomic_int overlaps; /* calls that found another one running */
    atomic_long handled;
    atomic_bool stop_on_seq; /* tidal_ctx_stop when APP_SEQ 7 arrives */
} excl;

static int
excl_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    excl *e = state;
    if (atomic_fetch_add(&e->inside, 1) != 0) {
        atomic_fetch_add(&e->overlaps, 1);
    }
    /* a little work, so overlapping calls would have time to meet */
    volatile uint32_t x = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        x += i;
    }
    atomic_fetch_add(&e->handled, 1);
    uint32_t seq = 0;
    if (msg->type == APP_SEQ && msg->len == 4) {
        memcpy(&seq, msg->payload, 4);
    }
    atomic_fetch_sub(&e->inside, 1);
    if (seq == 7 && atomic_load(&e->stop_on_seq)) {
        tidal_ctx_stop(ctx);
    }
    return 0;
}

static const tidal_behaviour excl_behaviour = {.init = arg_as_state_init, .handle = excl_handle};

static tidal_runtime *
open_rt(const char *name, bool no_inline)
{
    tidal_runtime_opts o = {.name = name, .node_id = 1, .no_inline = no_inline};
    return rt_open_opts(&o);
}

static tidal_actor
spawn_excl(tidal_runtime *rt, const char *name, excl *e, excl *ve)
{
    tidal_spawn_opts o = {.name = name,
                          .behaviour = &excl_behaviour,
                          .arg = e,
                          .virtual_behaviour = ve ? &excl_behaviour : NULL,
                          .virtual_arg = ve,
                          .mailbox_max = 1u << 20,
                          .virtual_mailbox_max = 1u << 16};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

static void
inline_count_body(bool no_inline)
{
    tidal_runtime *ra = open_rt("a", no_inline);
    tidal_runtime *rb = open_rt("b", no_inline);
    excl e = {0};
    tidal_addr to = addr_of(rb, spawn_excl(rb, "sink", &e, NULL));
    for (uint32_t i = 1; i <= 200; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
        if (i % 20 == 0) {
            /* let the sink go idle now and then, so frames find it idle */
            cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.handled) == (long)i, 5000));
        }
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.handled) == 200, 5000));
    tidal_stats st = stats_of(rb);
    if (no_inline) {
        cr_assert_eq(st.handled_inline, 0, "a handler ran inline with no_inline");
    } else {
        cr_assert_gt(st.handled_inline, 0, "no handler ran inline");
    }
    cr_assert_leq(st.handled_inline, st.handled);
    rt_close_pair(ra, rb);
}

Test(inline, runs_inline_by_default)
{
    inline_count_body(false);
}

Test(inline, never_inline_with_no_inline)
{
    inline_count_body(true);
}

/* Senders in three runtimes (so frames arrive on several nng callbacks at
 * once) plus the receiver's own runtime: the owner and each virtual key
 * still see one call at a time, and every message is handled once. */
struct blaster {
    tidal_runtime *rt;
    tidal_addr to[3]; /* the owner and two virtual keys */
    uint32_t n;
    int failed; /* the first failing send's code */
};

static void *
blast(void *arg)
{
    struct blaster *b = arg;
    for (uint32_t i = 0; i < b->n; i++) {
        int rv = send_seq(b->rt, &b->to[i % 3], 100 + i, 10000);
        if (rv != 0) {
            b->failed = rv;
            break;
        }
    }
    return NULL;
}

Test(inline, one_call_at_a_time_across_inline_and_workers)
{
    enum { SENDERS = 4, PER = 3000 };
    tidal_runtime *rb = open_rt("recv", false);
    excl e = {0}, ve = {0};
    tidal_addr owner = addr_of(rb, spawn_excl(rb, "target", &e, &ve));
    tidal_runtime *senders[SENDERS];
    struct blaster bl[SENDERS];
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        senders[i] = i == SENDERS - 1 ? rb : open_rt(name, false);
        bl[i].rt = senders[i];
        bl[i].n = PER;
        bl[i].failed = 0;
        bl[i].to[0] = owner;
        for (uint8_t k = 1; k <= 2; k++) {
            TIDAL_PASS(tidal_addr_virtual(&bl[i].to[k], &owner, &k, 1));
        }
        cr_assert_eq(pthread_create(&th[i], NULL, blast, &bl[i]), 0);
    }
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        TIDAL_PASS(bl[i].failed);
    }
    long total = (long)SENDERS * PER;
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.handled) + atomic_load(&ve.handled) == total, 20000),
              "handled %ld of %ld (owner %ld), received %llu, dead full %llu no-init %llu",
              atomic_load(&e.handled) + atomic_load(&ve.handled), total, atomic_load(&e.handled),
              (unsigned long long)stats_of(rb).received,
              (unsigned long long)stats_of(rb).dead[TIDAL_DEAD_MAILBOX_FULL],
              (unsigned long long)stats_of(rb).dead[TIDAL_DEAD_NO_INIT]);
    cr_assert_eq(atomic_load(&e.overlaps), 0, "the owner ran two calls at once");
    /* the two virtual keys share ve, so they may overlap each other: only the
     * owner's state is exclusive here; the counts must still be exact */
    cr_assert_eq(atomic_load(&e.handled), total / 3);
    cr_assert_eq(stats_of(rb).dead[TIDAL_DEAD_MAILBOX_FULL], 0);
    for (int i = 0; i < SENDERS; i++) {
        tidal_runtime_quiesce(senders[i]);
    }
    for (int i = 0; i < SENDERS - 1; i++) {
        TIDAL_PASS(tidal_runtime_close(senders[i]));
    }
    TIDAL_PASS(tidal_runtime_close(rb));
}

/* tidal_ctx_stop from a call that ran inline: the actor is stopped (on a
 * worker: stopping closes the socket whose callback ran it), its fini-less
 * state is released and its id is stale; nothing hangs. */
Test(inline, ctx_stop_from_an_inline_run)
{
    tidal_runtime *ra = open_rt("a", false);
    tidal_runtime *rb = open_rt("b", false);
    excl e = {0};
    atomic_store(&e.stop_on_seq, true);
    tidal_actor a = spawn_excl(rb, "stopper", &e, NULL);
    tidal_addr to = addr_of(rb, a);
    TIDAL_PASS(send_seq(ra, &to, 7, 5000));
    tidal_actor_stats st;
    cr_assert(TIDAL_WAIT_UNTIL(tidal_actor_stats_get(rb, a, &st) == TIDAL_ECLOSED, 5000),
              "the actor was not stopped");
    cr_assert_eq(atomic_load(&e.handled), 1);
    cr_assert_gt(stats_of(rb).handled_inline, 0, "the call did not run inline");
    tidal_actor again;
    TIDAL_FAIL(tidal_lookup(rb, "stopper", &again), TIDAL_ENOENT);
    rt_close_pair(ra, rb);
}

/* Once tidal_runtime_quiesce returns, no handler runs in that runtime, even
 * though another runtime keeps sending and its socket keeps receiving. */
struct pump {
    tidal_runtime *rt;
    tidal_addr to;
    atomic_bool stop;
    atomic_long sent;
};

static void *
pump_main(void *arg)
{
    struct pump *p = arg;
    uint32_t i = 100;
    while (!atomic_load(&p->stop)) {
        if (send_seq(p->rt, &p->to, i++, 0) == 0) {
            atomic_fetch_add(&p->sent, 1);
        } else {
            tidal_test_sleep_ms(1);
        }
    }
    return NULL;
}

Test(inline, nothing_runs_after_quiesce)
{
    tidal_runtime *ra = open_rt("a", false);
    tidal_runtime *rb = open_rt("b", false);
    excl e = {0};
    struct pump p = {.rt = ra};
    p.to = addr_of(rb, spawn_excl(rb, "sink", &e, NULL));
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, pump_main, &p), 0);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&e.handled) > 1000, 10000));
    tidal_runtime_quiesce(rb);
    long after = atomic_load(&e.handled);
    uint64_t frames = stats_of(rb).frames_received;
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rb).frames_received > frames + 10, 10000),
              "the socket stopped receiving");
    cr_assert_eq(atomic_load(&e.handled), after, "a handler ran after quiesce returned");
    cr_assert_eq(atomic_load(&e.inside), 0);
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);
    tidal_runtime_quiesce(ra);
    TIDAL_PASS(tidal_runtime_close(ra));
    TIDAL_PASS(tidal_runtime_close(rb));
}
