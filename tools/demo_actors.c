/*
 * The actors of `tidal demo`'s first two phases: counters that add up
 * increments, virtual session actors that count what reaches them, a sink
 * and a driver that sends it bursts (one coalesced frame per handler call).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tidal/runtime.h"
#include "tools/demo_actors.h"

static int64_t
get_i64(const uint8_t *p, uint32_t len)
{
    int64_t v = 0;
    if (len == 8) {
        memcpy(&v, p, 8);
    }
    return v;
}

static int
counter_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

static int
counter_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct counter *c = state;
    if (m->type == T_ADD) {
        atomic_fetch_add(&c->sum, get_i64(m->payload, m->len));
    }
    return 0;
}

static int
sessions_owner_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    return 0;
}

static int
session_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

static int
session_count(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    struct demo *d = state;
    atomic_fetch_add(&d->session_msgs, 1);
    return 0;
}

static int
sink_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct demo *d = state;
    if (m->type == T_DATA) {
        atomic_fetch_add(&d->sink_count, 1);
    } else if (m->type == T_ECHO && m->can_reply) {
        return tidal_ctx_reply(ctx, m, T_ECHO, m->payload, m->len);
    }
    return 0;
}

/* The driver sends BURST envelopes per handler call (one coalesced frame),
 * then asks itself to continue, so it never holds a worker for long. */
static int
driver_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct demo *d = state;
    if (m->type != T_GO || m->len != 4) {
        return 0;
    }
    uint32_t left;
    memcpy(&left, m->payload, 4);
    uint8_t data[64];
    memset(data, 0x5a, sizeof(data));
    uint32_t n = left < BURST ? left : BURST;
    uint32_t sent = 0;
    while (sent < n && tidal_ctx_send(ctx, &d->sink, T_DATA, data, sizeof(data)) == 0) {
        sent++;
    }
    left -= sent;
    if (left > 0) {
        tidal_addr self;
        tidal_ctx_self(ctx, &self);
        /* nothing fits (the sink's mailbox, or the link to it, is full):
         * woken once there is room, neither spinning here nor polling */
        if (sent == 0) {
            return tidal_ctx_when_room(ctx, &d->sink, T_GO, &left, 4);
        }
        return tidal_ctx_send(ctx, &self, T_GO, &left, 4);
    }
    return 0;
}

int
tidal_demo_spawn_all(tidal_runtime *a, tidal_runtime *b, struct demo *d, tidal_addr *counters,
          tidal_addr *sessions, tidal_addr *driver)
{
    static const tidal_behaviour counter_b = {.init = counter_init, .handle = counter_handle};
    static const tidal_behaviour owner_b = {.handle = sessions_owner_handle};
    static const tidal_behaviour session_b = {.init = session_init, .handle = session_count};
    static const tidal_behaviour sink_b = {.init = counter_init, .handle = sink_handle};
    static const tidal_behaviour driver_b = {.init = counter_init, .handle = driver_handle};
    tidal_actor act;
    int rv;
    for (int i = 0; i < COUNTERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "counter-%d", i);
        tidal_spawn_opts o = {.name = name, .behaviour = &counter_b, .arg = &d->counters[i]};
        if ((rv = tidal_spawn(a, &o, &act)) != 0 || (rv = tidal_actor_addr(a, act, &counters[i]))) {
            return rv;
        }
    }
    tidal_spawn_opts so = {.name = "sessions", .behaviour = &owner_b,
                           .virtual_behaviour = &session_b, .virtual_arg = d,
                           .virtual_idle_ms = 200};
    if ((rv = tidal_spawn(b, &so, &act)) != 0 || (rv = tidal_actor_addr(b, act, sessions))) {
        return rv;
    }
    tidal_spawn_opts sk = {.name = "sink", .behaviour = &sink_b, .arg = d, .mailbox_max = 65536};
    if ((rv = tidal_spawn(b, &sk, &act)) != 0 || (rv = tidal_actor_addr(b, act, &d->sink))) {
        return rv;
    }
    tidal_spawn_opts dr = {.name = "driver", .behaviour = &driver_b, .arg = d};
    if ((rv = tidal_spawn(a, &dr, &act)) != 0 || (rv = tidal_actor_addr(a, act, driver))) {
        return rv;
    }
    return 0;
}
