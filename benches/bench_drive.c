/*
 * Driver -> sink set-ups over tidal: see bench_drive.h.
 *
 * The driver is tools/demo.c's: its handler sends up to BENCH_DRIVE_BURST
 * envelopes (coalesced into one frame when the handler returns), then a GO
 * to itself with the count still to send; when nothing fits (the sink's
 * mailbox, or the link to it, is full) it asks for its GO once there is room
 * (tidal_ctx_when_room) instead of spinning or polling on a timer.
 */
#include "benches/bench_drive.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benches/bench_ring.h"
#include "tidal/runtime.h"

#define T_DATA 1000u /* 64 opaque bytes */
#define T_GO 1001u   /* uint32: envelopes still to send */
#define WAIT_MS 300000u
#define SETTLE_NS 10000000000ull

struct sink {
    _Alignas(64) bench_latch got;
    atomic_uint_least64_t total; /* every T_DATA ever handled */
    atomic_uint_least64_t bad;   /* anything else */
};

struct driver {
    tidal_addr sink;
    atomic_uint_least64_t calls;      /* GO handled */
    atomic_uint_least64_t calls_idle; /* of those, with nothing sent: woken for nothing */
};

uint32_t bench_drive_poll_ms;

struct bench_drive {
    tidal_runtime *a, *b;
    uint32_t nsinks;
    struct sink *sinks;
    tidal_actor *sink_ids;
    struct driver *drv; /* one per sink: the state its drivers share */
    uint64_t *expected; /* per sink: T_DATA sent to it so far */
    uint64_t *target;   /* per sink: this run's share */
    tidal_addr *drivers;
    uint32_t ndrivers;
    char tag[24];
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
    uint32_t n = left < BENCH_DRIVE_BURST ? left : BENCH_DRIVE_BURST;
    uint32_t sent = 0;
    while (sent < n && tidal_ctx_send(ctx, &d->sink, T_DATA, data, sizeof(data)) == 0) {
        sent++;
    }
    left -= sent;
    if (left == 0) {
        return 0;
    }
    atomic_fetch_add_explicit(&d->calls, 1, memory_order_relaxed);
    if (sent == 0) {
        atomic_fetch_add_explicit(&d->calls_idle, 1, memory_order_relaxed);
        return bench_drive_poll_ms > 0 ? tidal_ctx_timer(ctx, bench_drive_poll_ms, T_GO, &left, 4)
                                       : tidal_ctx_when_room(ctx, &d->sink, T_GO, &left, 4);
    }
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    return tidal_ctx_send(ctx, &self, T_GO, &left, 4);
}

static const tidal_behaviour sink_beh = {.init = state_init, .handle = sink_handle};
static const tidal_behaviour driver_beh = {.init = state_init, .handle = driver_handle};

static tidal_runtime *
runtime_open(const bench_drive_opts *o, const char *node, uint16_t node_id)
{
    char url[TIDAL_URL_BYTES_MAX], tag[48];
    snprintf(tag, sizeof(tag), "%s-%s", o->tag, node_id == 1 ? "a" : "b");
    bench_base_url(o->transport ? o->transport : "inproc", o->dir, tag, url, sizeof(url));
    tidal_runtime_opts ro = {.url = url, .name = node, .node_id = node_id, .workers = o->workers};
    tidal_runtime *rt;
    BENCH_PASS(tidal_runtime_open(&ro, &rt));
    return rt;
}

bench_drive *
bench_drive_open(const bench_drive_opts *o)
{
    bench_drive *d = calloc(1, sizeof(*d));
    BENCH_CHECK(d != NULL);
    BENCH_CHECK(o->tag != NULL && strlen(o->tag) < sizeof(d->tag));
    snprintf(d->tag, sizeof(d->tag), "%s", o->tag);
    d->nsinks = o->sinks ? o->sinks : 1;
    d->sinks = aligned_alloc(64, d->nsinks * sizeof(*d->sinks));
    d->sink_ids = calloc(d->nsinks, sizeof(*d->sink_ids));
    d->drv = calloc(d->nsinks, sizeof(*d->drv));
    d->expected = calloc(d->nsinks, sizeof(*d->expected));
    d->target = calloc(d->nsinks, sizeof(*d->target));
    BENCH_CHECK(d->sinks != NULL && d->sink_ids != NULL && d->drv != NULL);
    BENCH_CHECK(d->expected != NULL && d->target != NULL);
    memset(d->sinks, 0, d->nsinks * sizeof(*d->sinks));
    d->a = runtime_open(o, "node-a", 1);
    d->b = o->one_runtime ? d->a : runtime_open(o, "node-b", 2);
    for (uint32_t i = 0; i < d->nsinks; i++) {
        bench_latch_init(&d->sinks[i].got);
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-sink-%u", d->tag, i);
        tidal_spawn_opts so = {
            .name = name, .behaviour = &sink_beh, .arg = &d->sinks[i], .mailbox_max = 65536};
        BENCH_PASS(tidal_spawn(d->b, &so, &d->sink_ids[i]));
        BENCH_PASS(tidal_actor_addr(d->b, d->sink_ids[i], &d->drv[i].sink));
    }
    return d;
}

void
bench_drive_add_drivers(bench_drive *d, uint32_t n, bool virtual_drivers)
{
    BENCH_CHECK(d->drivers == NULL);
    BENCH_CHECK(!virtual_drivers || d->nsinks == 1);
    d->drivers = calloc(n, sizeof(*d->drivers));
    BENCH_CHECK(d->drivers != NULL);
    d->ndrivers = n;
    tidal_addr owners[BENCH_DRIVE_OWNERS];
    for (uint32_t i = 0; i < (virtual_drivers ? BENCH_DRIVE_OWNERS : n); i++) {
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-drv-%u", d->tag, i);
        struct driver *state = &d->drv[i % d->nsinks];
        tidal_spawn_opts o = {.name = name, .behaviour = &driver_beh, .arg = state};
        if (virtual_drivers) {
            o.virtual_behaviour = &driver_beh;
            o.virtual_arg = state;
            o.virtual_idle_ms = 600000;
        }
        tidal_actor act;
        BENCH_PASS(tidal_spawn(d->a, &o, &act));
        BENCH_PASS(tidal_actor_addr(d->a, act, virtual_drivers ? &owners[i] : &d->drivers[i]));
    }
    for (uint32_t i = 0; virtual_drivers && i < n; i++) {
        uint64_t key = i + 1;
        BENCH_PASS(tidal_addr_virtual(&d->drivers[i], &owners[i % BENCH_DRIVE_OWNERS], &key, 8));
    }
}

uint64_t
bench_drive_run(bench_drive *d, uint32_t ndrivers, uint32_t per_driver, uint64_t *frames)
{
    BENCH_CHECK(ndrivers >= 1);
    BENCH_CHECK(ndrivers <= d->ndrivers);
    memset(d->target, 0, d->nsinks * sizeof(*d->target));
    for (uint32_t i = 0; i < ndrivers; i++) {
        d->target[i % d->nsinks] += per_driver;
    }
    for (uint32_t s = 0; s < d->nsinks; s++) {
        bench_latch_reset(&d->sinks[s].got, d->target[s]);
    }
    tidal_stats before, after;
    tidal_runtime_stats(d->b, &before);
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < ndrivers; i++) {
        BENCH_PASS(tidal_send(d->a, &d->drivers[i], T_GO, &per_driver, 4, 5000));
    }
    for (uint32_t s = 0; s < d->nsinks; s++) {
        if (d->target[s] > 0) {
            BENCH_CHECK(bench_latch_wait(&d->sinks[s].got, WAIT_MS) == d->target[s]);
        }
    }
    uint64_t ns = bench_now_ns() - t0;
    tidal_runtime_stats(d->b, &after);
    for (uint32_t s = 0; s < d->nsinks; s++) {
        d->expected[s] += d->target[s];
    }
    *frames = after.frames_received - before.frames_received;
    return ns;
}

void
bench_drive_calls(bench_drive *d, uint64_t *calls, uint64_t *idle)
{
    *calls = *idle = 0;
    for (uint32_t s = 0; s < d->nsinks; s++) {
        *calls += atomic_exchange(&d->drv[s].calls, 0);
        *idle += atomic_exchange(&d->drv[s].calls_idle, 0);
    }
}

uint64_t
bench_drive_sink_duplicates(bench_drive *d)
{
    tidal_actor_stats st;
    BENCH_PASS(tidal_actor_stats_get(d->b, d->sink_ids[0], &st));
    return st.duplicates_seen;
}

/* The latch fires inside a sink's handler; its worker counts the burst just
 * after the handler returns, so give it that moment. */
static void
check_sink(bench_drive *d, uint32_t s)
{
    tidal_actor_stats st;
    uint64_t deadline = bench_now_ns() + SETTLE_NS;
    do {
        BENCH_PASS(tidal_actor_stats_get(d->b, d->sink_ids[s], &st));
    } while (st.handled != d->expected[s] && bench_now_ns() < deadline && sched_yield() == 0);
    BENCH_CHECK(atomic_load(&d->sinks[s].total) == d->expected[s]);
    BENCH_CHECK(st.handled == d->expected[s]);
    BENCH_CHECK(atomic_load(&d->sinks[s].bad) == 0);
}

void
bench_drive_close(bench_drive *d)
{
    for (uint32_t s = 0; s < d->nsinks; s++) {
        check_sink(d, s);
    }
    tidal_stats ra, rb;
    tidal_runtime_stats(d->a, &ra);
    tidal_runtime_stats(d->b, &rb);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        BENCH_CHECK(ra.dead[k] == 0);
        BENCH_CHECK(d->b == d->a || rb.dead[k] == 0);
    }
    tidal_runtime_quiesce(d->a);
    if (d->b != d->a) {
        tidal_runtime_quiesce(d->b);
        BENCH_PASS(tidal_runtime_close(d->b));
    }
    BENCH_PASS(tidal_runtime_close(d->a));
    for (uint32_t s = 0; s < d->nsinks; s++) {
        bench_latch_fini(&d->sinks[s].got);
    }
    free(d->sinks);
    free(d->sink_ids);
    free(d->drv);
    free(d->expected);
    free(d->target);
    free(d->drivers);
    free(d);
}

/* ---- fan-in ---------------------------------------------------------------------- */

double
bench_fan_in(bench_json *j, const bench_fan_in_opts *o)
{
    bench_drive_opts dopts = {
        .tag = o->virtual_senders ? "fv" : "fs", .workers = o->workers, .sinks = 1};
    bench_drive *d = bench_drive_open(&dopts);
    uint64_t t0 = bench_now_ns();
    bench_drive_add_drivers(d, o->senders, o->virtual_senders);
    uint64_t spawn_ns = bench_now_ns() - t0;
    uint64_t frames = 0;
    (void)bench_drive_run(d, o->senders, 1, &frames); /* links dialled, virtual actors active */
    uint64_t calls, idle;
    bench_drive_calls(d, &calls, &idle); /* from here on: the timed runs' */
    bench_series rates = {0};
    for (uint32_t r = 0; r < o->runs; r++) {
        bench_series_add(&rates, (uint64_t)o->senders * o->each,
                         bench_drive_run(d, o->senders, o->each, &frames));
        if (o->between != NULL) {
            o->between(o->arg);
        }
    }
    bench_json_u64(j, "senders", o->senders);
    bench_json_u64(j, "messages_per_sender", o->each);
    if (o->virtual_senders) {
        bench_json_u64(j, "owners", BENCH_DRIVE_OWNERS);
    }
    bench_json_f(j, "spawn_ms", (double)spawn_ns / 1e6, 1);
    double med = bench_median(rates.rate, rates.n);
    bench_json_f(j, "msgs_per_s", med, 0);
    bench_json_farr(j, "runs_msgs_per_s", rates.rate, rates.n, 0);
    /* distinct senders with their own ids: anything but 0 is a miscount */
    bench_json_u64(j, "sink_duplicates_seen", bench_drive_sink_duplicates(d));
    /* per run: the senders' handler calls, and those that found no room
     * (woken, or told to go on, only to find the sink full again) */
    bench_drive_calls(d, &calls, &idle);
    bench_json_u64(j, "sender_calls_per_run", calls / o->runs);
    bench_json_u64(j, "sender_calls_idle_per_run", idle / o->runs);
    /* closing both runtimes, every sender still spawned (its own socket) */
    t0 = bench_now_ns();
    bench_drive_close(d);
    bench_json_f(j, "close_ms", (double)(bench_now_ns() - t0) / 1e6, 1);
    return med;
}
