/*
 * bench_ask: request/reply round trip, 64-byte payloads, on inproc, ipc and
 * tcp.
 *
 * tidal: a plain thread calls tidal_ask from runtime A on a socket-backed
 * echo actor in runtime B, whose handler answers with tidal_ctx_reply.
 * Baseline: raw nng req0/rep0 with the same payload, a rep thread doing
 * blocking nng_recv + nng_send and this thread doing nng_send + nng_recv.
 *
 * The two alternate in chunks (CHUNK tidal asks, then CHUNK raw round trips,
 * and again) so machine noise hits both alike.  Every reply is checked to
 * carry the request's bytes, and the echo actor's and the rep thread's counts
 * must equal the round trips made.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "benches/bench_ring.h"
#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define T_ECHO 1000u
#define ASK_TIMEOUT_MS 5000u
#define WARMUP 50u

struct echo {
    atomic_uint_least64_t handled;
    atomic_uint_least64_t bad;
};

static int
echo_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

static int
echo_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct echo *e = state;
    if (m->type != T_ECHO || !m->can_reply) {
        atomic_fetch_add(&e->bad, 1);
        return 0;
    }
    atomic_fetch_add(&e->handled, 1);
    return tidal_ctx_reply(ctx, m, T_ECHO, m->payload, m->len);
}

static const tidal_behaviour echo_beh = {.init = echo_init, .handle = echo_handle};

struct raw_rep {
    nng_socket sock;
    uint64_t echoed; /* read after the thread is joined */
};

/* Echoes until the socket is closed. */
static void *
rep_main(void *arg)
{
    struct raw_rep *r = arg;
    uint8_t buf[BENCH_PAYLOAD_BYTES * 2];
    for (;;) {
        size_t sz = sizeof(buf);
        if (nng_recv(r->sock, buf, &sz, 0) != 0 || nng_send(r->sock, buf, sz, 0) != 0) {
            break;
        }
        r->echoed++;
    }
    return NULL;
}

struct ctx {
    tidal_runtime *a, *b;
    tidal_addr echo_addr;
    tidal_actor echo_id;
    struct echo echo;
    nng_socket req;
    struct raw_rep rep;
    pthread_t rep_th;
    uint64_t seq; /* stamped into each payload */
};

static void
payload_fill(uint8_t *p, uint64_t seq)
{
    memset(p, 0x5a, BENCH_PAYLOAD_BYTES);
    memcpy(p, &seq, sizeof(seq));
}

/* One tidal ask; returns its round trip in nanoseconds. */
static uint64_t
tidal_round_trip(struct ctx *c)
{
    uint8_t p[BENCH_PAYLOAD_BYTES];
    payload_fill(p, ++c->seq);
    tidal_reply rep;
    uint64_t t0 = bench_now_ns();
    BENCH_PASS(tidal_ask(c->a, &c->echo_addr, T_ECHO, p, sizeof(p), ASK_TIMEOUT_MS, &rep));
    uint64_t ns = bench_now_ns() - t0;
    BENCH_CHECK(rep.type == T_ECHO);
    BENCH_CHECK(rep.len == sizeof(p));
    BENCH_CHECK(memcmp(rep.payload, p, sizeof(p)) == 0);
    tidal_reply_free(&rep);
    return ns;
}

/* One raw req/rep round trip; returns it in nanoseconds. */
static uint64_t
raw_round_trip(struct ctx *c)
{
    uint8_t p[BENCH_PAYLOAD_BYTES], back[BENCH_PAYLOAD_BYTES * 2];
    payload_fill(p, ++c->seq);
    size_t sz = sizeof(back);
    uint64_t t0 = bench_now_ns();
    BENCH_NNG(nng_send(c->req, p, sizeof(p), 0));
    BENCH_NNG(nng_recv(c->req, back, &sz, 0));
    uint64_t ns = bench_now_ns() - t0;
    BENCH_CHECK(sz == sizeof(p));
    BENCH_CHECK(memcmp(back, p, sizeof(p)) == 0);
    return ns;
}

static void
ctx_open(struct ctx *c, const char *transport, const char *dir)
{
    char url[TIDAL_URL_BYTES_MAX], tag[32];
    memset(c, 0, sizeof(*c));
    snprintf(tag, sizeof(tag), "ask-%s-a", transport);
    bench_base_url(transport, dir, tag, url, sizeof(url));
    tidal_runtime_opts oa = {.url = url, .name = "node-a", .node_id = 1};
    BENCH_PASS(tidal_runtime_open(&oa, &c->a));
    snprintf(tag, sizeof(tag), "ask-%s-b", transport);
    bench_base_url(transport, dir, tag, url, sizeof(url));
    tidal_runtime_opts ob = {.url = url, .name = "node-b", .node_id = 2};
    BENCH_PASS(tidal_runtime_open(&ob, &c->b));
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "echo-%s", transport);
    tidal_spawn_opts so = {.name = name, .behaviour = &echo_beh, .arg = &c->echo};
    BENCH_PASS(tidal_spawn(c->b, &so, &c->echo_id));
    BENCH_PASS(tidal_actor_addr(c->b, c->echo_id, &c->echo_addr));

    BENCH_NNG(nng_rep0_open(&c->rep.sock));
    BENCH_NNG(nng_req0_open(&c->req));
    bench_nng_listen(c->rep.sock, transport, dir, "ask", url, sizeof(url));
    BENCH_NNG(nng_dial(c->req, url, NULL, 0)); /* blocking: connected on return */
    BENCH_CHECK(pthread_create(&c->rep_th, NULL, rep_main, &c->rep) == 0);
}

/* Closes everything and checks the counts: *tidal_n asks and *raw_n round
 * trips were made. */
static void
ctx_close(struct ctx *c, uint64_t tidal_n, uint64_t raw_n)
{
    BENCH_NNG(nng_close(c->req));
    BENCH_NNG(nng_close(c->rep.sock));
    pthread_join(c->rep_th, NULL);
    BENCH_CHECK(c->rep.echoed == raw_n);
    tidal_actor_stats st;
    BENCH_PASS(tidal_actor_stats_get(c->b, c->echo_id, &st));
    BENCH_CHECK(st.handled == tidal_n);
    BENCH_CHECK(atomic_load(&c->echo.handled) == tidal_n);
    BENCH_CHECK(atomic_load(&c->echo.bad) == 0);
    tidal_stats sa, sb;
    tidal_runtime_stats(c->a, &sa);
    tidal_runtime_stats(c->b, &sb);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        BENCH_CHECK(sa.dead[k] == 0);
        BENCH_CHECK(sb.dead[k] == 0);
    }
    BENCH_PASS(tidal_runtime_close(c->a));
    BENCH_PASS(tidal_runtime_close(c->b));
}

static void
latency_json(bench_json *j, const char *key, uint64_t *ns, size_t n)
{
    bench_sort_u64(ns, n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += ns[i];
    }
    bench_json_obj(j, key);
    bench_json_u64(j, "round_trips", n);
    bench_json_f(j, "p50_us", (double)bench_percentile(ns, n, 50) / 1e3, 1);
    bench_json_f(j, "p99_us", (double)bench_percentile(ns, n, 99) / 1e3, 1);
    bench_json_f(j, "max_us", (double)ns[n - 1] / 1e3, 1);
    bench_json_f(j, "mean_us", (double)sum / (double)n / 1e3, 1);
    bench_json_close(j);
}

static void
bench_transport(bench_json *j, const char *transport, const char *dir, uint32_t total,
                uint32_t chunk)
{
    struct ctx c;
    ctx_open(&c, transport, dir);
    uint64_t *t_ns = calloc(total, sizeof(*t_ns));
    uint64_t *r_ns = calloc(total, sizeof(*r_ns));
    BENCH_CHECK(t_ns != NULL && r_ns != NULL);
    for (uint32_t i = 0; i < WARMUP; i++) {
        (void)tidal_round_trip(&c);
        (void)raw_round_trip(&c);
    }
    for (uint32_t done = 0; done < total; done += chunk) {
        uint32_t n = total - done < chunk ? total - done : chunk;
        for (uint32_t i = 0; i < n; i++) {
            t_ns[done + i] = tidal_round_trip(&c);
        }
        for (uint32_t i = 0; i < n; i++) {
            r_ns[done + i] = raw_round_trip(&c);
        }
    }
    ctx_close(&c, total + WARMUP, total + WARMUP);
    bench_json_obj(j, transport);
    latency_json(j, "tidal_ask", t_ns, total);
    latency_json(j, "raw_nng_req_rep", r_ns, total);
    double p50_t = (double)bench_percentile(t_ns, total, 50);
    double p50_r = (double)bench_percentile(r_ns, total, 50);
    bench_json_f(j, "ratio_p50_tidal_to_raw_nng", p50_r > 0 ? p50_t / p50_r : 0, 2);
    bench_json_close(j);
    free(t_ns);
    free(r_ns);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "  Ask round trip (tidal_ask on an echo actor in another\n"
                                   "  runtime) against raw nng req/rep, 64-byte payloads, on\n"
                                   "  inproc, ipc and tcp; prints one JSON object.\n");
    uint32_t total = quick ? 200 : 10000;
    uint32_t chunk = quick ? 50 : 500;
    setenv("TIDAL_QUIET", "1", 0);
    char dir[64];
    bench_tmpdir(dir, sizeof(dir), "tidal-bench");
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "ask");
    bench_json_bool(&j, "quick", quick);
    bench_json_u64(&j, "payload_bytes", BENCH_PAYLOAD_BYTES);
    bench_json_u64(&j, "chunk_round_trips", chunk);
    for (int t = 0; t < BENCH_TRANSPORTS; t++) {
        bench_transport(&j, bench_transports[t], dir, total, chunk);
    }
    bench_json_end(&j);
    bench_rmdir(dir);
    return 0;
}
