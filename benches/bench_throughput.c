/*
 * bench_throughput: one-way actor-to-actor throughput, 64-byte payloads.
 *
 * Per transport (inproc, ipc, tcp), interleaved round by round so machine
 * noise hits every variant alike:
 *  - tidal, two runtimes: a driver actor in runtime A whose handler sends a
 *    burst of BURST envelopes to a sink actor in runtime B, then sends itself
 *    the rest of the count (tools/demo.c's driver);
 *  - tidal, one runtime: the same with driver and sink in one runtime (the
 *    sends are credited: the sink's mailbox bound pushes back on the driver);
 *  - raw nng push/pull: one 99-byte message per blocking nng_send, received
 *    by a thread doing blocking nng_recv;
 *  - on inproc only, the in-memory ceiling: msgpack envelopes through a
 *    lock-free SPSC ring between two threads (bench_util.c).
 * Then fan-in: 1,000 sender actors (socket-backed, then virtual on a few
 * owners) in runtime A each send K messages to one sink in runtime B.
 *
 * Every figure is the median of RUNS runs, all runs listed beside it.  Exact
 * counts are asserted: each run's sink receives exactly what was sent, and at
 * the end the sink's handler count matches the total, with no dead letters.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "benches/bench_ring.h"
#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define T_DATA 1000u /* 64 opaque bytes */
#define T_GO 1001u   /* uint32: envelopes still to send */
#define BURST 256u
#define RUNS_MAX 5
#define WAIT_MS 300000u
#define FAN_OWNERS 4u

struct sink {
    bench_latch got;
    atomic_uint_least64_t total; /* every T_DATA ever handled */
    atomic_uint_least64_t bad;   /* anything else */
};

struct driver {
    tidal_addr sink;
};

static int
state_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

static int
sink_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct sink *s = state;
    if (m->type == T_DATA && m->len == BENCH_PAYLOAD_BYTES) {
        atomic_fetch_add(&s->total, 1);
        bench_latch_add(&s->got, 1);
    } else {
        atomic_fetch_add(&s->bad, 1);
    }
    return 0;
}

/* Sends up to BURST envelopes (one coalesced frame), then asks itself to go
 * on, so it never holds a worker for long. */
static int
driver_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct driver *d = state;
    if (m->type != T_GO || m->len != 4) {
        return 0;
    }
    uint32_t left;
    memcpy(&left, m->payload, 4);
    uint8_t data[BENCH_PAYLOAD_BYTES];
    memset(data, 0x5a, sizeof(data));
    uint32_t n = left < BURST ? left : BURST;
    uint32_t sent = 0;
    while (sent < n && tidal_ctx_send(ctx, &d->sink, T_DATA, data, sizeof(data)) == 0) {
        sent++;
    }
    left -= sent;
    if (left == 0) {
        return 0;
    }
    if (sent == 0) {
        /* full: retry on the next tick instead of spinning */
        return tidal_ctx_timer(ctx, 1, T_GO, &left, 4);
    }
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    return tidal_ctx_send(ctx, &self, T_GO, &left, 4);
}

static const tidal_behaviour sink_beh = {.init = state_init, .handle = sink_handle};
static const tidal_behaviour driver_beh = {.init = state_init, .handle = driver_handle};

/* A driver (or many) in runtime a, one sink in runtime b (b may be a). */
struct setup {
    tidal_runtime *a, *b;
    tidal_actor sink_id;
    struct sink sink;
    struct driver drv;
    tidal_addr *drivers;
    uint32_t ndrivers;
    uint64_t expected; /* T_DATA sent to the sink so far */
};

static void
setup_open(struct setup *s, const char *transport, const char *dir, const char *tag, bool one_rt)
{
    char url[TIDAL_URL_BYTES_MAX], tagb[64];
    memset(s, 0, sizeof(*s));
    bench_latch_init(&s->sink.got);
    snprintf(tagb, sizeof(tagb), "%s-a", tag);
    bench_base_url(transport, dir, tagb, url, sizeof(url));
    tidal_runtime_opts oa = {.url = url, .name = "node-a", .node_id = 1};
    BENCH_PASS(tidal_runtime_open(&oa, &s->a));
    s->b = s->a;
    if (!one_rt) {
        snprintf(tagb, sizeof(tagb), "%s-b", tag);
        bench_base_url(transport, dir, tagb, url, sizeof(url));
        tidal_runtime_opts ob = {.url = url, .name = "node-b", .node_id = 2};
        BENCH_PASS(tidal_runtime_open(&ob, &s->b));
    }
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "%s-sink", tag);
    tidal_spawn_opts so = {
        .name = name, .behaviour = &sink_beh, .arg = &s->sink, .mailbox_max = 65536};
    BENCH_PASS(tidal_spawn(s->b, &so, &s->sink_id));
    BENCH_PASS(tidal_actor_addr(s->b, s->sink_id, &s->drv.sink));
}

/* Adds n socket-backed drivers, or n virtual drivers spread over FAN_OWNERS
 * owners, in runtime a. */
static void
setup_drivers(struct setup *s, const char *tag, uint32_t n, bool virtual_drivers)
{
    s->drivers = calloc(n, sizeof(*s->drivers));
    BENCH_CHECK(s->drivers != NULL);
    s->ndrivers = n;
    tidal_addr owners[FAN_OWNERS];
    for (uint32_t i = 0; i < (virtual_drivers ? FAN_OWNERS : n); i++) {
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-drv-%u", tag, i);
        tidal_spawn_opts o = {.name = name, .behaviour = &driver_beh, .arg = &s->drv};
        if (virtual_drivers) {
            o.virtual_behaviour = &driver_beh;
            o.virtual_arg = &s->drv;
            o.virtual_idle_ms = 600000;
        }
        tidal_actor act;
        BENCH_PASS(tidal_spawn(s->a, &o, &act));
        BENCH_PASS(tidal_actor_addr(s->a, act, virtual_drivers ? &owners[i] : &s->drivers[i]));
    }
    for (uint32_t i = 0; virtual_drivers && i < n; i++) {
        uint64_t key = i + 1;
        BENCH_PASS(tidal_addr_virtual(&s->drivers[i], &owners[i % FAN_OWNERS], &key, 8));
    }
}

static void
setup_close(struct setup *s)
{
    /* The latch fires inside the sink's handler; its worker counts the burst
     * just after the handler returns, so give it that moment. */
    tidal_actor_stats st;
    uint64_t deadline = bench_now_ns() + 10000000000ull;
    do {
        BENCH_PASS(tidal_actor_stats_get(s->b, s->sink_id, &st));
    } while (st.handled != s->expected && bench_now_ns() < deadline && sched_yield() == 0);
    tidal_stats ra, rb;
    tidal_runtime_stats(s->a, &ra);
    tidal_runtime_stats(s->b, &rb);
    uint64_t dead = 0;
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        dead += ra.dead[k] + (s->b != s->a ? rb.dead[k] : 0);
    }
    BENCH_CHECK(atomic_load(&s->sink.total) == s->expected);
    BENCH_CHECK(st.handled == s->expected);
    BENCH_CHECK(atomic_load(&s->sink.bad) == 0);
    BENCH_CHECK(dead == 0);
    if (s->b != s->a) {
        BENCH_PASS(tidal_runtime_close(s->b));
    }
    BENCH_PASS(tidal_runtime_close(s->a));
    bench_latch_fini(&s->sink.got);
    free(s->drivers);
}

/* Each driver sends per_driver envelopes; returns the nanoseconds until the
 * sink has them all.  *frames gets the frames the sink's runtime received. */
static uint64_t
tidal_run(struct setup *s, uint32_t per_driver, uint64_t *frames)
{
    uint64_t n = (uint64_t)per_driver * s->ndrivers;
    tidal_stats before, after;
    tidal_runtime_stats(s->b, &before);
    bench_latch_reset(&s->sink.got, n);
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < s->ndrivers; i++) {
        BENCH_PASS(tidal_send(s->a, &s->drivers[i], T_GO, &per_driver, 4, 5000));
    }
    uint64_t got = bench_latch_wait(&s->sink.got, WAIT_MS);
    uint64_t ns = bench_now_ns() - t0;
    tidal_runtime_stats(s->b, &after);
    BENCH_CHECK(got == n);
    s->expected += n;
    *frames = after.frames_received - before.frames_received;
    return ns;
}

/* ---- raw nng push/pull ------------------------------------------------------------- */

struct raw {
    nng_socket push, pull;
    uint64_t n;
    uint64_t received;
    size_t msg_bytes;
};

static void *
raw_receiver(void *arg)
{
    struct raw *r = arg;
    uint8_t buf[BENCH_ENV_BYTES_MAX];
    uint64_t ok = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        size_t sz = sizeof(buf);
        if (nng_recv(r->pull, buf, &sz, 0) != 0) {
            break;
        }
        ok += sz == r->msg_bytes;
    }
    r->received = ok;
    return NULL;
}

static void
raw_open(struct raw *r, const char *transport, const char *dir)
{
    char url[TIDAL_URL_BYTES_MAX];
    BENCH_NNG(nng_pull0_open(&r->pull));
    BENCH_NNG(nng_push0_open(&r->push));
    bench_nng_listen(r->pull, transport, dir, "tput", url, sizeof(url));
    BENCH_NNG(nng_dial(r->push, url, NULL, 0)); /* blocking: connected on return */
}

static uint64_t
raw_run(struct raw *r, uint64_t n)
{
    uint8_t env[BENCH_ENV_BYTES_MAX], payload[BENCH_PAYLOAD_BYTES];
    memset(payload, 0x5a, sizeof(payload));
    r->msg_bytes = bench_env_encode(env, 1, 1, payload);
    r->n = n;
    r->received = 0;
    pthread_t th;
    uint64_t t0 = bench_now_ns();
    BENCH_CHECK(pthread_create(&th, NULL, raw_receiver, r) == 0);
    for (uint64_t i = 0; i < n; i++) {
        BENCH_NNG(nng_send(r->push, env, r->msg_bytes, 0));
    }
    pthread_join(th, NULL);
    uint64_t ns = bench_now_ns() - t0;
    BENCH_CHECK(r->received == n);
    return ns;
}

/* ---- report ------------------------------------------------------------------------- */

struct series {
    double rate[RUNS_MAX];
    uint32_t n;
};

static void
series_add(struct series *s, uint64_t msgs, uint64_t ns)
{
    s->rate[s->n++] = bench_rate(msgs, ns);
}

static double
series_json(bench_json *j, const char *key, const struct series *s)
{
    double med = bench_median(s->rate, s->n);
    bench_json_obj(j, key);
    bench_json_f(j, "msgs_per_s", med, 0);
    bench_json_farr(j, "runs_msgs_per_s", s->rate, s->n, 0);
    bench_json_close(j);
    return med;
}

struct counts {
    uint32_t runs, tidal, raw, ceiling, fan_senders, fan_each;
};

/* One transport: tidal across two runtimes, tidal in one, raw nng, and on
 * inproc the ceiling, round by round. */
static void
bench_transport(bench_json *j, const char *transport, const char *dir, const struct counts *c)
{
    struct setup two, one;
    struct raw raw;
    char tag[32];
    snprintf(tag, sizeof(tag), "%.1s2", transport);
    setup_open(&two, transport, dir, tag, false);
    setup_drivers(&two, tag, 1, false);
    snprintf(tag, sizeof(tag), "%.1s1", transport);
    setup_open(&one, transport, dir, tag, true);
    setup_drivers(&one, tag, 1, false);
    raw_open(&raw, transport, dir);
    bool ceiling = strcmp(transport, "inproc") == 0;

    uint64_t frames = 0, frames_two = 0;
    (void)tidal_run(&two, BURST * 4, &frames); /* warm-up: links dialled */
    (void)tidal_run(&one, BURST * 4, &frames);
    struct series s_two = {0}, s_one = {0}, s_raw = {0}, s_ceil = {0};
    for (uint32_t r = 0; r < c->runs; r++) {
        series_add(&s_two, c->tidal, tidal_run(&two, c->tidal, &frames));
        frames_two += frames;
        series_add(&s_one, c->tidal, tidal_run(&one, c->tidal, &frames));
        series_add(&s_raw, c->raw, raw_run(&raw, c->raw));
        if (ceiling) {
            uint64_t got = 0;
            series_add(&s_ceil, c->ceiling, bench_ceiling_run(c->ceiling, &got));
            BENCH_CHECK(got == c->ceiling);
        }
    }
    setup_close(&two);
    setup_close(&one);
    BENCH_NNG(nng_close(raw.push));
    BENCH_NNG(nng_close(raw.pull));

    bench_json_obj(j, transport);
    double t2 = series_json(j, "tidal_two_runtimes", &s_two);
    bench_json_f(j, "tidal_two_runtimes_envelopes_per_frame",
                 frames_two ? (double)c->tidal * c->runs / (double)frames_two : 0, 1);
    double t1 = series_json(j, "tidal_one_runtime", &s_one);
    double rn = series_json(j, "raw_nng_push_pull", &s_raw);
    bench_json_f(j, "ratio_tidal_two_runtimes_to_raw_nng", t2 / rn, 2);
    bench_json_f(j, "ratio_tidal_one_runtime_to_raw_nng", t1 / rn, 2);
    if (ceiling) {
        double ce = series_json(j, "ceiling_spsc_msgpack", &s_ceil);
        bench_json_f(j, "ratio_tidal_two_runtimes_to_ceiling", t2 / ce, 3);
        bench_json_f(j, "ratio_tidal_one_runtime_to_ceiling", t1 / ce, 3);
    }
    bench_json_close(j);
}

/* Fan-in on inproc: c->fan_senders drivers in runtime A, one sink in B. */
static void
bench_fan_in(bench_json *j, const char *key, bool virtual_drivers, const struct counts *c)
{
    struct setup s;
    const char *tag = virtual_drivers ? "fv" : "fs";
    setup_open(&s, "inproc", NULL, tag, false);
    uint64_t t0 = bench_now_ns();
    setup_drivers(&s, tag, c->fan_senders, virtual_drivers);
    uint64_t spawn_ns = bench_now_ns() - t0;
    uint64_t frames = 0;
    (void)tidal_run(&s, 1, &frames); /* warm-up: links dialled, virtual actors active */
    struct series rates = {0};
    for (uint32_t r = 0; r < c->runs; r++) {
        series_add(&rates, (uint64_t)c->fan_senders * c->fan_each,
                   tidal_run(&s, c->fan_each, &frames));
    }
    tidal_actor_stats st;
    BENCH_PASS(tidal_actor_stats_get(s.b, s.sink_id, &st));
    bench_json_obj(j, key);
    bench_json_u64(j, "senders", c->fan_senders);
    bench_json_u64(j, "messages_per_sender", c->fan_each);
    if (virtual_drivers) {
        bench_json_u64(j, "owners", FAN_OWNERS);
    }
    bench_json_f(j, "spawn_ms", (double)spawn_ns / 1e6, 1);
    bench_json_f(j, "msgs_per_s", bench_median(rates.rate, rates.n), 0);
    bench_json_farr(j, "runs_msgs_per_s", rates.rate, rates.n, 0);
    /* distinct senders with their own ids: anything but 0 is a miscount */
    bench_json_u64(j, "sink_duplicates_seen", st.duplicates_seen);
    bench_json_close(j);
    setup_close(&s);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "  One-way actor-to-actor throughput (64-byte payloads) on\n"
                                   "  inproc, ipc and tcp, with raw nng and in-memory baselines;\n"
                                   "  prints one JSON object.\n");
    struct counts c = {
        .runs = quick ? 2 : RUNS_MAX,
        .tidal = quick ? 2000 : 1000000,
        .raw = quick ? 200 : 50000,
        .ceiling = quick ? 10000 : 5000000,
        .fan_senders = quick ? 100 : 1000,
        .fan_each = quick ? 10 : 1000,
    };
    setenv("TIDAL_QUIET", "1", 0);
    char dir[64];
    bench_tmpdir(dir, sizeof(dir), "tidal-bench");
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "throughput");
    bench_json_bool(&j, "quick", quick);
    bench_json_u64(&j, "payload_bytes", BENCH_PAYLOAD_BYTES);
    uint8_t env[BENCH_ENV_BYTES_MAX], payload[BENCH_PAYLOAD_BYTES] = {0};
    bench_json_u64(&j, "raw_and_ceiling_envelope_bytes", bench_env_encode(env, 1, 1, payload));
    bench_json_u64(&j, "burst_envelopes", BURST);
    bench_json_u64(&j, "runs", c.runs);
    bench_json_obj(&j, "messages_per_run");
    bench_json_u64(&j, "tidal", c.tidal);
    bench_json_u64(&j, "raw_nng", c.raw);
    bench_json_u64(&j, "ceiling", c.ceiling);
    bench_json_close(&j);
    for (int t = 0; t < BENCH_TRANSPORTS; t++) {
        bench_transport(&j, bench_transports[t], dir, &c);
    }
    bench_fan_in(&j, "fan_in_socket_senders_inproc", false, &c);
    bench_fan_in(&j, "fan_in_virtual_senders_inproc", true, &c);
    bench_json_end(&j);
    bench_rmdir(dir);
    return 0;
}
