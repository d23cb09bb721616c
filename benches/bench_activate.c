/*
 * Virtual activations: see bench_activate.h.
 *
 * Sender thread t of T sends keys [t*n/T, (t+1)*n/T); the threads start
 * together on a barrier, and the clock starts just before they are released.
 * The owner's mailbox holds 65536 envelopes, so a sender outrunning the owner
 * waits in tidal_send (timeout 5 s) rather than failing.
 */
#include "benches/bench_activate.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define T_HELLO 1000u
#define WAIT_MS 600000u


static int
owner_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

static const tidal_behaviour owner_beh = {.init = owner_init, .handle = bench_count_handle};

struct sender {
    tidal_runtime *rt;
    const tidal_addr *owner;
    bool to_owner;
    uint64_t first, end; /* keys [first, end) */
    pthread_barrier_t *ready, *go;
};

static void
send_one(tidal_runtime *rt, const tidal_addr *owner, bool to_owner, uint64_t i)
{
    uint8_t key[BENCH_ACTIVATE_KEY_BYTES] = {0};
    memcpy(key, &i, sizeof(i));
    tidal_addr to;
    BENCH_PASS(tidal_addr_virtual(&to, owner, key, sizeof(key)));
    BENCH_PASS(tidal_send(rt, to_owner ? owner : &to, T_HELLO, NULL, 0, 5000));
}

static void *
sender_main(void *arg)
{
    struct sender *s = arg;
    pthread_barrier_wait(s->ready);
    pthread_barrier_wait(s->go);
    for (uint64_t i = s->first; i < s->end; i++) {
        send_one(s->rt, s->owner, s->to_owner, i);
    }
    return NULL;
}

/* Sends the n messages from o->threads threads; returns when all are sent.
 * out->sent_ns gets how long that took; returns the clock's start. */
static uint64_t
send_all(tidal_runtime *rt, const tidal_addr *owner, const bench_activate_opts *o,
         bench_activate_result *out)
{
    uint32_t nt = o->threads ? o->threads : 1;
    BENCH_CHECK(nt <= BENCH_ACTIVATE_THREADS_MAX);
    pthread_t th[BENCH_ACTIVATE_THREADS_MAX];
    struct sender s[BENCH_ACTIVATE_THREADS_MAX];
    /* the clock starts before the senders can: they wait for ready, then for
     * go, which cannot open before this thread reads the clock */
    pthread_barrier_t ready, go;
    BENCH_CHECK(pthread_barrier_init(&ready, NULL, nt + 1) == 0);
    BENCH_CHECK(pthread_barrier_init(&go, NULL, nt + 1) == 0);
    for (uint32_t t = 0; t < nt; t++) {
        s[t] = (struct sender){.rt = rt,
                               .owner = owner,
                               .to_owner = o->to_owner,
                               .first = (uint64_t)o->n * t / nt,
                               .end = (uint64_t)o->n * (t + 1) / nt,
                               .ready = &ready,
                               .go = &go};
        BENCH_CHECK(pthread_create(&th[t], NULL, sender_main, &s[t]) == 0);
    }
    out->rss_before = bench_rss_bytes();
    out->heap_before = bench_heap_bytes();
    pthread_barrier_wait(&ready);
    uint64_t t0 = bench_now_ns();
    pthread_barrier_wait(&go);
    for (uint32_t t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
    }
    out->sent_ns = bench_now_ns() - t0;
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    return t0;
}

/* Checks the runtime's and the owner's counters after the n (+1 warm-up). */
static void
check_counts(tidal_runtime *rt, tidal_actor owner, const bench_activate_opts *o,
             const bench_counts *c, const tidal_stats *st)
{
    uint64_t activated = o->to_owner ? 0 : (uint64_t)o->n + 1;
    BENCH_CHECK(st->activations == activated);
    BENCH_CHECK(st->passivations == 0);
    BENCH_CHECK(atomic_load(&c->inits) == activated);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        BENCH_CHECK(st->dead[k] == 0);
    }
    /* the runtime publishes its handled counter after each burst, just after
     * the handlers themselves counted: let it settle */
    tidal_actor_stats ast;
    uint64_t settle = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    do {
        BENCH_PASS(tidal_actor_stats_get(rt, owner, &ast));
    } while (ast.handled != (uint64_t)o->n + 1 && bench_now_ns() < settle);
    BENCH_CHECK(ast.virtual_active == activated);
    BENCH_CHECK(ast.handled == (uint64_t)o->n + 1);
}

void
bench_activate_run(const bench_activate_opts *o, bench_activate_result *out)
{
    BENCH_CHECK(o->n >= 1);
    BENCH_CHECK(o->n < TIDAL_VIRTUAL_ACTIVE_MAX); /* the n and the warm-up's actor */
    memset(out, 0, sizeof(*out));
    tidal_runtime_opts ro = {.name = "node-a", .workers = o->workers}; /* a unique inproc base */
    tidal_runtime *rt;
    BENCH_PASS(tidal_runtime_open(&ro, &rt));
    bench_counts c = {0};
    bench_latch_init(&c.handled);
    tidal_spawn_opts so = {.name = "owner",
                           .behaviour = &owner_beh,
                           .arg = &c,
                           .virtual_behaviour = &bench_count_behaviour,
                           .virtual_arg = &c,
                           .virtual_idle_ms = 3600000u, /* no passivation during the run */
                           /* every one stays active (the cost of an activation
                            * and of an idle actor is what is measured), however
                            * n compares with TIDAL_VIRTUAL_ACTIVE_DEFAULT */
                           .virtual_active_max = o->n + 1,
                           .mailbox_max = 65536};
    tidal_actor owner;
    tidal_addr owner_addr;
    BENCH_PASS(tidal_spawn(rt, &so, &owner));
    BENCH_PASS(tidal_actor_addr(rt, owner, &owner_addr));

    /* warm-up: the link to the owner is dialled (and one virtual actor active) */
    bench_latch_reset(&c.handled, 1);
    send_one(rt, &owner_addr, o->to_owner, UINT64_MAX);
    BENCH_CHECK(bench_latch_wait(&c.handled, WAIT_MS) == 1);

    bench_latch_reset(&c.handled, o->n);
    tidal_stats st0, st;
    tidal_runtime_stats(rt, &st0);
    uint64_t t0 = send_all(rt, &owner_addr, o, out);
    uint64_t got = bench_latch_wait(&c.handled, WAIT_MS);
    out->total_ns = bench_now_ns() - t0;
    out->rss_after = bench_rss_bytes();
    out->heap_after = bench_heap_bytes();
    BENCH_CHECK(got == o->n);
    tidal_runtime_stats(rt, &st);
    out->frames = st.frames_received - st0.frames_received;
    check_counts(rt, owner, o, &c, &st);

    t0 = bench_now_ns();
    BENCH_PASS(tidal_runtime_close(rt));
    out->close_ns = bench_now_ns() - t0;
    BENCH_CHECK(atomic_load(&c.finis) == (o->to_owner ? 0 : (uint64_t)o->n + 1));
    bench_latch_fini(&c.handled);
}
