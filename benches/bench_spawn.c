/*
 * bench_spawn: the cost of actors.
 *
 *  - Socket-backed actors on inproc: spawn N with tidal_spawn (each opens a
 *    pull socket and a listener), then close the runtime.
 *  - Virtual actors on one owner: activate N by sending each one message
 *    (tidal_addr_virtual + tidal_send from a plain thread), wait until the
 *    handler has run N times and the runtime's stats show N activations, then
 *    close the runtime (fini runs for every one): bench_activate.c.
 * For each: total and per-actor time, memory per idle actor (process RSS from
 * /proc/self/statm and heap in use from mallinfo2, before and after, divided
 * by N) and the close time.  The counts are asserted exactly: N spawns,
 * N handler calls, N activations, N fini calls at close.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benches/bench_activate.h"
#include "benches/bench_util.h"
#include "tidal/runtime.h"


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
    bench_counts c = {0};
    bench_latch_init(&c.handled);

    struct mem before = mem_now();
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < n; i++) {
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "actor-%u", i);
        tidal_spawn_opts so = {.name = name, .behaviour = &bench_count_behaviour, .arg = &c};
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
bench_virtual_actors(bench_json *j, uint32_t n)
{
    bench_activate_opts o = {.n = n, .threads = 1};
    bench_activate_result r;
    bench_activate_run(&o, &r);
    bench_json_obj(j, "virtual_actors_one_owner");
    bench_json_u64(j, "count", n);
    bench_json_u64(j, "key_bytes", BENCH_ACTIVATE_KEY_BYTES);
    bench_json_f(j, "activation_total_ms", (double)r.total_ns / 1e6, 1);
    bench_json_f(j, "activation_per_actor_us", (double)r.total_ns / 1e3 / n, 3);
    bench_json_f(j, "activations_per_s", bench_rate(n, r.total_ns), 0);
    bench_json_f(j, "sends_total_ms", (double)r.sent_ns / 1e6, 1);
    bench_json_f(j, "envelopes_per_frame", r.frames ? (double)n / (double)r.frames : 0, 1);
    mem_json(j, "rss_bytes_per_idle_actor", "heap_bytes_per_idle_actor",
             (struct mem){r.rss_before, r.heap_before}, (struct mem){r.rss_after, r.heap_after}, n);
    bench_json_f(j, "close_ms", (double)r.close_ns / 1e6, 1);
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
