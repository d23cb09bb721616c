/*
 * bench_throughput: one-way actor-to-actor throughput, 64-byte payloads.
 *
 * Per transport (inproc, ipc, tcp), interleaved round by round so machine
 * noise hits every variant alike:
 *  - tidal, two runtimes: a driver actor in runtime A whose handler sends a
 *    burst of BENCH_DRIVE_BURST envelopes to a sink actor in runtime B, then
 *    sends itself the rest of the count (bench_drive.c, tools/demo.c's driver);
 *  - tidal, one runtime: the same with driver and sink in one runtime (the
 *    sends are credited: the sink's mailbox bound pushes back on the driver);
 *  - raw nng push/pull: one 99-byte message per blocking nng_send, received
 *    by a thread doing blocking nng_recv;
 *  - on inproc only, the in-memory ceiling: msgpack envelopes through a
 *    lock-free SPSC ring between two threads (bench_ring.c).
 * Then fan-in: 1,000 sender actors (socket-backed, then virtual on a few
 * owners) in runtime A each send K messages to one sink in runtime B.
 *
 * Every figure is the median of RUNS runs, all runs listed beside it.  Exact
 * counts are asserted: each run's sink receives exactly what was sent, and at
 * the end the sink's handler count matches the total, with no dead letters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "benches/bench_drive.h"
#include "benches/bench_ring.h"
#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define RUNS_MAX 5

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

struct counts {
    uint32_t runs, tidal, raw, ceiling, fan_senders, fan_each;
};

/* One transport: tidal across two runtimes, tidal in one, raw nng, and on
 * inproc the ceiling, round by round. */
static void
bench_transport(bench_json *j, const char *transport, const char *dir, const struct counts *c)
{
    char tag2[8], tag1[8];
    snprintf(tag2, sizeof(tag2), "%.1s2", transport);
    snprintf(tag1, sizeof(tag1), "%.1s1", transport);
    bench_drive_opts o2 = {.transport = transport, .dir = dir, .tag = tag2};
    bench_drive_opts o1 = {.transport = transport, .dir = dir, .tag = tag1, .one_runtime = true};
    bench_drive *two = bench_drive_open(&o2), *one = bench_drive_open(&o1);
    bench_drive_add_drivers(two, 1, false);
    bench_drive_add_drivers(one, 1, false);
    struct raw raw;
    raw_open(&raw, transport, dir);
    bool ceiling = strcmp(transport, "inproc") == 0;

    uint64_t frames = 0, frames_two = 0;
    (void)bench_drive_run(two, 1, BENCH_DRIVE_BURST * 4, &frames); /* warm-up: links dialled */
    (void)bench_drive_run(one, 1, BENCH_DRIVE_BURST * 4, &frames);
    bench_series s_two = {0}, s_one = {0}, s_raw = {0}, s_ceil = {0};
    for (uint32_t r = 0; r < c->runs; r++) {
        bench_series_add(&s_two, c->tidal, bench_drive_run(two, 1, c->tidal, &frames));
        frames_two += frames;
        bench_series_add(&s_one, c->tidal, bench_drive_run(one, 1, c->tidal, &frames));
        bench_series_add(&s_raw, c->raw, raw_run(&raw, c->raw));
        if (ceiling) {
            uint64_t got = 0;
            bench_series_add(&s_ceil, c->ceiling, bench_ceiling_run(c->ceiling, &got));
            BENCH_CHECK(got == c->ceiling);
        }
    }
    bench_drive_close(two);
    bench_drive_close(one);
    BENCH_NNG(nng_close(raw.push));
    BENCH_NNG(nng_close(raw.pull));

    bench_json_obj(j, transport);
    double t2 = bench_series_json(j, "tidal_two_runtimes", &s_two, "msgs");
    bench_json_f(j, "tidal_two_runtimes_envelopes_per_frame",
                 frames_two ? (double)c->tidal * c->runs / (double)frames_two : 0, 1);
    double t1 = bench_series_json(j, "tidal_one_runtime", &s_one, "msgs");
    double rn = bench_series_json(j, "raw_nng_push_pull", &s_raw, "msgs");
    bench_json_f(j, "ratio_tidal_two_runtimes_to_raw_nng", t2 / rn, 2);
    bench_json_f(j, "ratio_tidal_one_runtime_to_raw_nng", t1 / rn, 2);
    if (ceiling) {
        double ce = bench_series_json(j, "ceiling_spsc_msgpack", &s_ceil, "msgs");
        bench_json_f(j, "ratio_tidal_two_runtimes_to_ceiling", t2 / ce, 3);
        bench_json_f(j, "ratio_tidal_one_runtime_to_ceiling", t1 / ce, 3);
    }
    bench_json_close(j);
}

/* Fan-in on inproc: c->fan_senders drivers in runtime A, one sink in B. */
static void
fan_in(bench_json *j, const char *key, bool virtual_senders, const struct counts *c)
{
    bench_fan_in_opts o = {.senders = c->fan_senders,
                           .each = c->fan_each,
                           .runs = c->runs,
                           .virtual_senders = virtual_senders};
    bench_json_obj(j, key);
    (void)bench_fan_in(j, &o); /* the median is in the JSON */
    bench_json_close(j);
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
    bench_json_u64(&j, "burst_envelopes", BENCH_DRIVE_BURST);
    bench_json_u64(&j, "runs", c.runs);
    bench_json_obj(&j, "messages_per_run");
    bench_json_u64(&j, "tidal", c.tidal);
    bench_json_u64(&j, "raw_nng", c.raw);
    bench_json_u64(&j, "ceiling", c.ceiling);
    bench_json_close(&j);
    for (int t = 0; t < BENCH_TRANSPORTS; t++) {
        bench_transport(&j, bench_transports[t], dir, &c);
    }
    fan_in(&j, "fan_in_socket_senders_inproc", false, &c);
    fan_in(&j, "fan_in_virtual_senders_inproc", true, &c);
    bench_json_end(&j);
    bench_rmdir(dir);
    return 0;
}
