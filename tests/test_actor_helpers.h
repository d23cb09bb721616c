/*
 * Behaviours shared by the runtime suites: an echo actor (answers PING with
 * PONG, counts COUNTER_ADD), a recorder (keeps every message in arrival
 * order), per-transport base URLs, and raw frames sent from a foreign push
 * socket (runtime/internal.h has the frame layout).
 */
#ifndef TIDAL_TEST_ACTOR_HELPERS_H
#define TIDAL_TEST_ACTOR_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>

#include "messages/msgs.h"
#include "tidal/fault.h"
#include "tidal/runtime.h"
#include "tidal_test.h"

/* State of an echo actor, owned by the test (arg), so it survives restarts. */
typedef struct echo_state {
    atomic_long sum;        /* COUNTER_ADD deltas */
    atomic_long handled;    /* messages handled */
    atomic_int inits;       /* init calls */
    atomic_int finis;       /* fini calls */
    atomic_int child_exits; /* CHILD_EXIT messages received */
    atomic_int last_exit_stopped;
    atomic_bool block;      /* handlers spin while set (backpressure tests) */
    atomic_int entered;     /* handler calls started (counted before the spin) */
    atomic_int fail_on;     /* fail when a COUNTER_ADD has this delta (0 = never) */
} echo_state;

static inline int
echo_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    echo_state *s = arg;
    atomic_fetch_add(&s->inits, 1);
    *state = s;
    return 0;
}

static inline void
echo_fini(void *state, void *arg)
{
    (void)state;
    echo_state *s = arg;
    atomic_fetch_add(&s->finis, 1);
}

static inline int
echo_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    echo_state *s = state;
    atomic_fetch_add(&s->entered, 1);
    while (atomic_load(&s->block)) {
        tidal_test_sleep_ms(1);
    }
    atomic_fetch_add(&s->handled, 1);
    switch (msg->type) {
    case TIDAL_MSG_PING: {
        tidal_msg_ping p;
        if (tidal_msg_ping_decode(msg->payload, msg->len, &p, NULL) != 0) {
            return TIDAL_EFIELD;
        }
        if (msg->can_reply) {
            return tidal_ctx_reply(ctx, msg, TIDAL_MSG_PONG, msg->payload, msg->len);
        }
        return 0;
    }
    case TIDAL_MSG_COUNTER_ADD: {
        tidal_msg_counter_add a;
        if (tidal_msg_counter_add_decode(msg->payload, msg->len, &a, NULL) != 0) {
            return TIDAL_EFIELD;
        }
        if (a.delta != 0 && a.delta == atomic_load(&s->fail_on)) {
            return TIDAL_ESTATE; /* a failure the test asked for */
        }
        atomic_fetch_add(&s->sum, a.delta);
        return 0;
    }
    case TIDAL_MSG_CHILD_EXIT: {
        tidal_msg_child_exit c;
        if (tidal_msg_child_exit_decode(msg->payload, msg->len, &c, NULL) != 0) {
            return TIDAL_EFIELD;
        }
        atomic_store(&s->last_exit_stopped, c.stopped);
        atomic_fetch_add(&s->child_exits, 1);
        return 0;
    }
    default:
        return 0;
    }
}

static const tidal_behaviour echo_behaviour = {
    .init = echo_init, .handle = echo_handle, .fini = echo_fini};

/* Encodes a COUNTER_ADD payload into buf (>= 16 bytes); returns its length. */
static inline uint32_t
counter_add_payload(int64_t delta, uint8_t *out, size_t cap)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_counter_add a = {.delta = delta};
    cr_assert(tidal_msg_counter_add_encode(&a, &b) == 0);
    cr_assert(b.len <= cap);
    memcpy(out, b.data, b.len);
    uint32_t n = (uint32_t)b.len;
    tidal_buf_fini(&b);
    return n;
}

static inline uint32_t
ping_payload(uint64_t seq, const void *body, uint32_t len, uint8_t *out, size_t cap)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_ping p = {.seq = seq, .body = {body, len}};
    cr_assert(tidal_msg_ping_encode(&p, &b) == 0);
    cr_assert(b.len <= cap);
    memcpy(out, b.data, b.len);
    uint32_t n = (uint32_t)b.len;
    tidal_buf_fini(&b);
    return n;
}

/* A base URL for a transport: inproc with a unique name, ipc in a fresh
 * temporary directory (dir gets its path, to remove at the end), tcp on
 * loopback with OS-chosen ports. */
static inline void
base_url(const char *scheme, char *out, size_t cap, char *dir, size_t dcap)
{
    static atomic_int n;
    dir[0] = '\0';
    if (strcmp(scheme, "inproc") == 0) {
        snprintf(out, cap, "inproc://t%d-%d", (int)getpid(), atomic_fetch_add(&n, 1));
    } else if (strcmp(scheme, "ipc") == 0) {
        snprintf(dir, dcap, "%s", tidal_test_tmpdir());
        snprintf(out, cap, "ipc://%s", dir);
    } else {
        snprintf(out, cap, "tcp://127.0.0.1");
    }
}

/* Declares one test per transport running body(scheme). */
#define TIDAL_TRANSPORT_TESTS(suite, name, body)                                           \
    Test(suite, name##_inproc) { body("inproc"); }                                         \
    Test(suite, name##_ipc) { body("ipc"); }                                               \
    Test(suite, name##_tcp) { body("tcp"); }

/* ---- shared by the runtime suites ------------------------------------------ */

/* An init whose state is the spawn's arg, owned by the test. */
static inline int
arg_as_state_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

/* A gate a handler waits at until the test opens it: the actor is held, its
 * mailbox fills and its senders meet the push-back.  The wait ends after 20 s
 * even if the gate stays shut, so a failing test still ends. */
typedef struct test_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
} test_gate;

static inline void
test_gate_init(test_gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->open = false;
}

static inline void
test_gate_fini(test_gate *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cond);
}

static inline void
test_gate_open(test_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Waits at g; returns with g->lock held, for the caller to count under it. */
static inline void
test_gate_pass_locked(test_gate *g)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 20;
    pthread_mutex_lock(&g->lock);
    while (!g->open && pthread_cond_timedwait(&g->cond, &g->lock, &dl) == 0) {
    }
}

/* Opens a runtime with o. */
static inline tidal_runtime *
rt_open_opts(const tidal_runtime_opts *o)
{
    tidal_runtime *rt = NULL;
    TIDAL_PASS(tidal_runtime_open(o, &rt));
    return rt;
}

/* Opens a runtime; workers 0 = one per core. */
static inline tidal_runtime *
rt_open(const char *url, const char *name, uint64_t seed, uint32_t workers)
{
    tidal_runtime_opts o = {
        .url = url, .name = name, .node_id = 1, .seed = seed, .workers = workers};
    return rt_open_opts(&o);
}

/* A runtime whose handlers all run on its workers (no inline runs on rx
 * callbacks): for tests that keep envelopes queued behind a busy pool. */
static inline tidal_runtime *
rt_open_workers_only(const char *name, uint64_t seed, uint32_t workers)
{
    tidal_runtime_opts o = {
        .name = name, .node_id = 1, .seed = seed, .workers = workers, .no_inline = true};
    return rt_open_opts(&o);
}

/* Quiesces both runtimes (so neither sends to the other any more), then
 * closes them. */
static inline void
rt_close_pair(tidal_runtime *a, tidal_runtime *b)
{
    tidal_runtime_quiesce(a);
    tidal_runtime_quiesce(b);
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_runtime_close(b));
}

static inline tidal_stats
stats_of(tidal_runtime *rt)
{
    tidal_stats st;
    tidal_runtime_stats(rt, &st);
    return st;
}

static inline tidal_actor_stats
actor_stats_of(tidal_runtime *rt, tidal_actor a)
{
    tidal_actor_stats st;
    TIDAL_PASS(tidal_actor_stats_get(rt, a, &st));
    return st;
}

static inline tidal_addr
addr_of(tidal_runtime *rt, tidal_actor a)
{
    tidal_addr to;
    TIDAL_PASS(tidal_actor_addr(rt, a, &to));
    return to;
}

/* A COUNTER_ADD from outside any handler. */
static inline int
send_add(tidal_runtime *rt, const tidal_addr *to, int64_t delta, uint32_t timeout_ms)
{
    uint8_t p[32];
    uint32_t n = counter_add_payload(delta, p, sizeof(p));
    return tidal_send(rt, to, TIDAL_MSG_COUNTER_ADD, p, n, timeout_ms);
}

/* An application message (type APP_SEQ) carrying a 32-bit sequence number. */
#define APP_SEQ 1000u

static inline void
seq_put(uint32_t seq, uint8_t out[4])
{
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(seq >> (8 * i));
    }
}

static inline uint32_t
seq_get(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int
send_seq(tidal_runtime *rt, const tidal_addr *to, uint32_t seq, uint32_t timeout_ms)
{
    uint8_t p[4];
    seq_put(seq, p);
    return tidal_send(rt, to, APP_SEQ, p, 4, timeout_ms);
}

/* A PING ask that must be answered: proves the actor is serving, and that
 * everything enqueued before it on the same link was handled first. */
static inline void
ask_ok(tidal_runtime *rt, const tidal_addr *to)
{
    uint8_t pp[32];
    uint32_t n = ping_payload(77, "m", 1, pp, sizeof(pp));
    tidal_reply r;
    TIDAL_PASS(tidal_ask(rt, to, TIDAL_MSG_PING, pp, n, 5000, &r));
    cr_assert_eq(r.type, TIDAL_MSG_PONG);
    tidal_reply_free(&r);
}

/* ---- a recorder: keeps every message it handles, in arrival order ---------- */

#define REC_MAX 16384u

typedef struct rec_entry {
    uint16_t type;
    uint32_t seq; /* APP_SEQ: the sequence number; TIMER: the tag */
    uint64_t id;
    uint64_t at_ms;
    tidal_hlc hlc;
    char from[TIDAL_NAME_BYTES_MAX];
    uint8_t from_key[TIDAL_KEY_BYTES_MAX];
    uint8_t from_key_len;
    uint8_t key[TIDAL_KEY_BYTES_MAX]; /* the handling unit's own key */
    uint8_t key_len;
} rec_entry;

typedef struct rec_state {
    rec_entry *ents;  /* REC_MAX entries */
    atomic_uint n;    /* entries written (one writer at a time: one actor) */
    atomic_uint lost; /* messages past REC_MAX */
    atomic_int inits;
    atomic_int finis;
} rec_state;

static inline void
rec_init_state(rec_state *r)
{
    memset(r, 0, sizeof(*r));
    r->ents = calloc(REC_MAX, sizeof(*r->ents));
    cr_assert_not_null(r->ents);
}

static inline void
rec_free_state(rec_state *r)
{
    free(r->ents);
    r->ents = NULL;
}

static inline unsigned
rec_count(rec_state *r)
{
    return atomic_load(&r->n);
}

/* How many recorded messages have this type. */
static inline unsigned
rec_count_type(rec_state *r, uint16_t type)
{
    unsigned n = atomic_load(&r->n), k = 0;
    for (unsigned i = 0; i < n; i++) {
        k += r->ents[i].type == type;
    }
    return k;
}

static inline int
rec_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    rec_state *r = arg;
    atomic_fetch_add(&r->inits, 1);
    *state = r;
    return 0;
}

static inline void
rec_fini(void *state, void *arg)
{
    (void)state;
    rec_state *r = arg;
    atomic_fetch_add(&r->finis, 1);
}

static inline int
rec_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    rec_state *r = state;
    if (msg->type == TIDAL_MSG_PING && msg->can_reply) {
        return tidal_ctx_reply(ctx, msg, TIDAL_MSG_PONG, msg->payload, msg->len);
    }
    unsigned i = atomic_load(&r->n);
    if (i >= REC_MAX) {
        atomic_fetch_add(&r->lost, 1);
        return 0;
    }
    rec_entry *e = &r->ents[i];
    memset(e, 0, sizeof(*e));
    e->type = msg->type;
    e->id = msg->id;
    e->at_ms = tidal_test_now_ms();
    e->hlc = msg->hlc;
    if (msg->type == TIDAL_MSG_TIMER) {
        tidal_msg_timer t;
        if (tidal_msg_timer_decode(msg->payload, msg->len, &t, NULL) == 0) {
            e->seq = (uint32_t)t.tag;
        }
    } else if (msg->len >= 4) {
        e->seq = seq_get(msg->payload);
    }
    snprintf(e->from, sizeof(e->from), "%.*s", (int)msg->from_name_len, msg->from_name);
    e->from_key_len = (uint8_t)msg->from_key_len;
    if (msg->from_key_len > 0) {
        memcpy(e->from_key, msg->from_key, msg->from_key_len);
    }
    uint32_t klen;
    const uint8_t *k = tidal_ctx_key(ctx, &klen);
    e->key_len = (uint8_t)klen;
    if (klen > 0) {
        memcpy(e->key, k, klen);
    }
    atomic_store(&r->n, i + 1);
    return 0;
}

static const tidal_behaviour rec_behaviour = {
    .init = rec_init, .handle = rec_handle, .fini = rec_fini};

static inline tidal_actor
spawn_rec(tidal_runtime *rt, const char *name, rec_state *r)
{
    tidal_spawn_opts o = {.name = name, .behaviour = &rec_behaviour, .arg = r};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

/* ---- raw frames, as a foreign peer would send them (runtime/internal.h) ----- */

/* Starts a frame: "TDLF", version 1, flags 0, reserved 0, the sender uid LE. */
static inline void
frame_begin(tidal_buf *b, uint64_t uid)
{
    uint8_t h[16] = {'T', 'D', 'L', 'F', 1, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        h[8 + i] = (uint8_t)(uid >> (8 * i));
    }
    tidal_buf_init(b);
    cr_assert(tidal_buf_append(b, h, sizeof(h)) == 0);
}

static inline tidal_view
view_str(const char *s)
{
    return (tidal_view){(const uint8_t *)s, (uint32_t)strlen(s)};
}

/* An envelope from "peer" to `to` with the current wall clock. */
static inline tidal_envelope
raw_envelope(const char *to, uint16_t type, const void *payload, uint32_t len, uint64_t id)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (tidal_envelope){
        .type = type,
        .from_name = view_str("peer"),
        .to_name = view_str(to),
        .id = id,
        .hlc = {.wall_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec,
                .node_id = 9},
        .payload = {(const uint8_t *)payload, len},
    };
}

static inline void
frame_add(tidal_buf *b, const tidal_envelope *e)
{
    TIDAL_PASS(tidal_envelope_encode(e, b));
}

/* A push socket dialed (synchronously) to url, as a foreign peer. */
static inline nng_socket
raw_push_open(const char *url)
{
    nng_socket s;
    cr_assert(nng_push0_open(&s) == 0);
    cr_assert(nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000) == 0);
    int rv = nng_dial(s, url, NULL, 0);
    cr_assert(rv == 0, "nng_dial %s: %s", url, nng_strerror(rv));
    return s;
}

static inline void
raw_push_send(nng_socket s, const void *data, size_t len)
{
    int rv = nng_send(s, (void *)data, len, 0);
    cr_assert(rv == 0, "nng_send: %s", nng_strerror(rv));
}

/* ---- fault traces ------------------------------------------------------------- */

/* Every trace entry of one link, in recorded order; *n gets the count.  The
 * caller frees the array. */
static inline tidal_trace_entry *
trace_link(tidal_runtime *rt, uint64_t link_id, size_t *n)
{
    size_t total = (size_t)tidal_trace_total(rt);
    tidal_trace_entry *all = calloc(total + 1, sizeof(*all));
    cr_assert_not_null(all);
    size_t got = tidal_trace_read(rt, 0, all, total);
    size_t k = 0;
    for (size_t i = 0; i < got; i++) {
        if (all[i].link_id == link_id) {
            all[k++] = all[i];
        }
    }
    *n = k;
    return all;
}

/* Trace entries of one kind on one link (kind < 0: any kind). */
static inline size_t
trace_count(tidal_runtime *rt, const char *from, const char *to, int kind)
{
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id(from, to), &n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        k += kind < 0 || t[i].kind == kind;
    }
    free(t);
    return k;
}

#endif /* TIDAL_TEST_ACTOR_HELPERS_H */
