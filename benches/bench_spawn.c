/*
 * bench_spawn: the cost of actors.
 *
 *  - Socket-backed actors on inproc: spawn N with tidal_spawn (each opens a
 *    pull socket and a listener), then close the runtime.
 *  - Virtual actors on one owner: activate N by sending each one message
 *    (tidal_addr_virtual + tidal_send from a plain thread), wait until the
 *    handler has run N times and the runtime's stats show N activations, then
 *    close the runtime (fini runs for every one).
 * For each: total and per-actor time, memory per idle actor (process RSS from
 * /proc/self/statm and heap in use from mallinfo2, before and after, divided
 * by N) and the close time.  The counts are asserted exactly: N spawns,
 * N handler calls, N activations, N fini calls at close.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define T_HELLO 1000u
#define WAIT_MS 600000u
#define KEY_BYTES 16u /* a session id */

struct counts {
    atomic_uint_least64_t inits;
    atomic_uint_least64_t finis;
    bench_latch handled;
};

static int
count_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    struct counts *c = arg;
    atomic_fetch_add(&c->inits, 1);
    *state = arg;
    return 0;
}

static int
count_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    struct counts *c = state;
    bench_latch_add(&c->handled, 1);
    return 0;
}

static void
count_fini(void *state, void *arg)
{
    (void)state;
    struct counts *c = arg;
    atomic_fetch_add(&c->finis, 1);
}

static const tidal_behaviour count_beh = {
    .init = count_init, .handle = count_handle, .fini = count_fini};

static int
owner_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    return 0;
}

static const tidal_behaviour owner_beh = {.handle = owner_handle};

struct mem {
    uint64_t rss, heap;
};

static struct mem
mem_now(void)
{
    return (struct mem){bench_rss_bytes(), bench_heap_bytes()};
}

static double
per_actor(uint64_t after, uint64_t before, uint64_t n)
{
    return after > before ? (double)(after - before) / (double)n : 0;
}

static void
mem_json(bench_json *j, const char *rss_key, const char *heap_key, struct mem before,
         struct mem after, uint64_t n)
{
    bench_json_f(j, rss_key, per_actor(after.rss, before.rss, n), 0);
    bench_json_f(j, heap_key, per_actor(after.heap, before.heap, n), 0);
}

static void
bench_socket_actors(bench_json *j, uint32_t n)
{
    char url[TIDAL_URL_BYTES_MAX];
    bench_base_url("inproc", NULL, "spawn-socket", url, sizeof(url));
    tidal_runtime_opts o = {.url = url, .name = "node-a"};
    tidal_runtime *rt;
    BENCH_PASS(tidal_runtime_open(&o, &rt));
    struct counts c = {0};
    bench_latch_init(&c.handled);

    struct mem before = mem_now();
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "actor-%u", i);
        tidal_spawn_opts so = {.name = name, .behaviour = &count_beh, .arg = &c};
        tidal_actor a;
        BENCH_PASS(tidal_spawn(rt, &so, &a));
    }
    uint64_t spawn_ns = bench_now_ns() - t0;
    struct mem after = mem_now();

    BENCH_CHECK(atomic_load(&c.inits) == n);
    for (uint32_t i = 0; i < n; i++) {
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "actor-%u", i);
        tidal_actor a;
        BENCH_PASS(tidal_lookup(rt, name, &a));
    }
    t0 = bench_now_ns();
    BENCH_PASS(tidal_runtime_close(rt));
    uint64_t close_ns = bench_now_ns() - t0;
    BENCH_CHECK(atomic_load(&c.finis) == n);
    bench_latch_fini(&c.handled);

    bench_json_obj(j, "socket_actors_inproc");
    bench_json_u64(j, "count", n);
    bench_json_f(j, "spawn_total_ms", (double)spawn_ns / 1e6, 1);
    bench_json_f(j, "spawn_per_actor_us", (double)spawn_ns / 1e3 / n, 2);
    bench_json_f(j, "spawns_per_s", bench_rate(n, spawn_ns), 0);
    mem_json(j, "rss_bytes_per_actor", "heap_bytes_per_actor", before, after, n);
    bench_json_f(j, "close_ms", (double)close_ns / 1e6, 1);
    bench_json_close(j);
}

static void
key_of(uint8_t *key, uint64_t i)
{
    memset(key, 0, KEY_BYTES);
    memcpy(key, &i, sizeof(i));
}

static void
bench_virtual_actors(bench_json *j, uint32_t n)
{
    char url[TIDAL_URL_BYTES_MAX];
    bench_base_url("inproc", NULL, "spawn-virtual", url, sizeof(url));
    tidal_runtime_opts o = {.url = url, .name = "node-a"};
    tidal_runtime *rt;
    BENCH_PASS(tidal_runtime_open(&o, &rt));
    struct counts c = {0};
    bench_latch_init(&c.handled);
    tidal_spawn_opts so = {.name = "owner",
                           .behaviour = &owner_beh,
                           .virtual_behaviour = &count_beh,
                           .virtual_arg = &c,
                           .virtual_idle_ms = 3600000u, /* no passivation during the run */
                           .mailbox_max = 65536};
    tidal_actor owner;
    tidal_addr owner_addr, to;
    BENCH_PASS(tidal_spawn(rt, &so, &owner));
    BENCH_PASS(tidal_actor_addr(rt, owner, &owner_addr));

    /* warm-up: the link to the owner is dialled, one virtual actor active */
    uint8_t key[KEY_BYTES];
    key_of(key, UINT64_MAX);
    bench_latch_reset(&c.handled, 1);
    BENCH_PASS(tidal_addr_virtual(&to, &owner_addr, key, KEY_BYTES));
    BENCH_PASS(tidal_send(rt, &to, T_HELLO, NULL, 0, 5000));
    BENCH_CHECK(bench_latch_wait(&c.handled, WAIT_MS) == 1);

    bench_latch_reset(&c.handled, n);
    tidal_stats st0;
    tidal_runtime_stats(rt, &st0);
    struct mem before = mem_now();
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        key_of(key, i);
        BENCH_PASS(tidal_addr_virtual(&to, &owner_addr, key, KEY_BYTES));
        BENCH_PASS(tidal_send(rt, &to, T_HELLO, NULL, 0, 5000));
    }
    uint64_t sent_ns = bench_now_ns() - t0;
    uint64_t got = bench_latch_wait(&c.handled, WAIT_MS);
    uint64_t act_ns = bench_now_ns() - t0;
    struct mem after = mem_now();

    BENCH_CHECK(got == n);
    tidal_stats st;
    tidal_runtime_stats(rt, &st);
    BENCH_CHECK(st.activations == (uint64_t)n + 1);
    BENCH_CHECK(st.passivations == 0);
    BENCH_CHECK(atomic_load(&c.inits) == (uint64_t)n + 1);
    tidal_actor_stats ast;
    /* the runtime publishes its handled counter after each burst, just after
     * the handlers themselves counted: let it settle */
    uint64_t settle = bench_now_ns() + (uint64_t)WAIT_MS * 1000000u;
    do {
        BENCH_PASS(tidal_actor_stats_get(rt, owner, &ast));
    } while (ast.handled != (uint64_t)n + 1 && bench_now_ns() < settle);
    BENCH_CHECK(ast.virtual_active == n + 1);
    BENCH_CHECK(ast.handled == (uint64_t)n + 1);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        BENCH_CHECK(st.dead[k] == 0);
    }

    t0 = bench_now_ns();
    BENCH_PASS(tidal_runtime_close(rt));
    uint64_t close_ns = bench_now_ns() - t0;
    BENCH_CHECK(atomic_load(&c.finis) == (uint64_t)n + 1);
    bench_latch_fini(&c.handled);

    bench_json_obj(j, "virtual_actors_one_owner");
    bench_json_u64(j, "count", n);
    bench_json_u64(j, "key_bytes", KEY_BYTES);
    bench_json_f(j, "activation_total_ms", (double)act_ns / 1e6, 1);
    bench_json_f(j, "activation_per_actor_us", (double)act_ns / 1e3 / n, 3);
    bench_json_f(j, "activations_per_s", bench_rate(n, act_ns), 0);
    bench_json_f(j, "sends_total_ms", (double)sent_ns / 1e6, 1);
    uint64_t frames = st.frames_received - st0.frames_received;
    bench_json_f(j, "envelopes_per_frame", frames ? (double)n / (double)frames : 0, 1);
    mem_json(j, "rss_bytes_per_idle_actor", "heap_bytes_per_idle_actor", before, after, n);
    bench_json_f(j, "close_ms", (double)close_ns / 1e6, 1);
    bench_json_close(j);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "  Spawn rate, memory and close time of socket-backed\n"
                                   "  actors and of virtual actors; prints one JSON object.\n");
    setenv("TIDAL_QUIET", "1", 0);
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "spawn");
    bench_json_bool(&j, "quick", quick);
    bench_socket_actors(&j, quick ? 200 : 10000);
    bench_virtual_actors(&j, quick ? 10000 : 1000000);
    bench_json_end(&j);
    return 0;
}
