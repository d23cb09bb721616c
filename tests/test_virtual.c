/*
 * Virtual actors: activation on the first message (init once per activation),
 * many keys with their own state, passivation after idle_ms and re-activation
 * with state persisted by fini, dead letters for keyed messages nobody can
 * take (NO_VIRTUAL, MAILBOX_FULL), the key and replies inside handlers, and
 * the sender's key on messages a virtual actor sends.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(virtual);

#define VKEYS 10000u
#define VFORWARD 1001u /* ask the virtual actor to send APP_SEQ to vshared.sink */
#define VSTOP 1003u    /* the virtual actor calls tidal_ctx_stop */

/* Shared by every activation (the behaviour's virtual_arg): what a real
 * behaviour would keep durably. */
typedef struct vshared {
    atomic_int inits;
    atomic_int finis;
    atomic_long handled;
    atomic_int bad_key; /* messages whose ctx key is not the activation's */
    atomic_int entered; /* handler calls started */
    atomic_bool block;  /* handlers spin while set */
    atomic_int send_errors;
    atomic_int fini_sleep_ms; /* a slow fini widens the passivation window */
    tidal_addr sink;          /* where VFORWARD sends */
    int64_t saved[VKEYS];     /* sums persisted by fini, for 4-byte keys below VKEYS */
} vshared;

typedef struct vstate {
    vshared *sh;
    uint8_t key[TIDAL_KEY_BYTES_MAX];
    uint32_t key_len;
    int64_t sum;
} vstate;

/* The index of a 4-byte little-endian key below VKEYS, or -1. */
static long
key_index(const uint8_t *key, uint32_t len)
{
    if (len != 4) {
        return -1;
    }
    uint32_t k = seq_get(key);
    return k < VKEYS ? (long)k : -1;
}

static int
v_init(tidal_ctx *ctx, void *arg, void **state)
{
    vshared *sh = arg;
    vstate *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return TIDAL_ENOMEM;
    }
    const uint8_t *key = tidal_ctx_key(ctx, &st->key_len);
    memcpy(st->key, key, st->key_len);
    st->sh = sh;
    long i = key_index(st->key, st->key_len);
    st->sum = i >= 0 ? sh->saved[i] : 0;
    atomic_fetch_add(&sh->inits, 1);
    *state = st;
    return 0;
}

static void
v_fini(void *state, void *arg)
{
    vshared *sh = arg;
    vstate *st = state;
    long i = key_index(st->key, st->key_len);
    if (i >= 0) {
        sh->saved[i] = st->sum;
    }
    free(st);
    atomic_fetch_add(&sh->finis, 1);
    if (atomic_load(&sh->fini_sleep_ms) > 0) {
        tidal_test_sleep_ms((unsigned)atomic_load(&sh->fini_sleep_ms));
    }
}

static int
v_reply_value(tidal_ctx *ctx, const tidal_msg *msg, int64_t v)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_counter_value m = {.value = v};
    int rv = tidal_msg_counter_value_encode(&m, &b);
    rv = rv ? rv : tidal_ctx_reply(ctx, msg, TIDAL_MSG_COUNTER_VALUE, b.data, (uint32_t)b.len);
    tidal_buf_fini(&b);
    return rv;
}

static int
v_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    vstate *st = state;
    vshared *sh = st->sh;
    atomic_fetch_add(&sh->entered, 1);
    while (atomic_load(&sh->block)) {
        tidal_test_sleep_ms(1);
    }
    uint32_t klen;
    const uint8_t *key = tidal_ctx_key(ctx, &klen);
    if (klen != st->key_len || memcmp(key, st->key, klen) != 0) {
        atomic_fetch_add(&sh->bad_key, 1);
    }
    atomic_fetch_add(&sh->handled, 1);
    switch (msg->type) {
    case TIDAL_MSG_COUNTER_ADD: {
        tidal_msg_counter_add a;
        if (tidal_msg_counter_add_decode(msg->payload, msg->len, &a, NULL) != 0) {
            return TIDAL_EFIELD;
        }
        st->sum += a.delta;
        return 0;
    }
    case TIDAL_MSG_COUNTER_READ:
        return v_reply_value(ctx, msg, st->sum);
    case TIDAL_MSG_PING: {
        /* answers with the key it runs as */
        tidal_buf b;
        tidal_buf_init(&b);
        tidal_msg_pong p = {.seq = 1, .body = {key, klen}};
        int rv = tidal_msg_pong_encode(&p, &b);
        rv = rv ? rv : tidal_ctx_reply(ctx, msg, TIDAL_MSG_PONG, b.data, (uint32_t)b.len);
        tidal_buf_fini(&b);
        return rv;
    }
    case VSTOP:
        tidal_ctx_stop(ctx);
        return 0;
    case VFORWARD:
        if (tidal_ctx_send(ctx, &sh->sink, APP_SEQ, msg->payload, msg->len) != 0) {
            atomic_fetch_add(&sh->send_errors, 1);
        }
        return 0;
    default:
        return 0;
    }
}

static const tidal_behaviour v_behaviour = {.init = v_init, .handle = v_handle, .fini = v_fini};

static vshared *
vshared_new(void)
{
    vshared *sh = calloc(1, sizeof(*sh));
    cr_assert_not_null(sh);
    return sh;
}

/* Spawns "vown" (an echo owner) with the virtual behaviour. */
static tidal_actor
spawn_owner(tidal_runtime *rt, echo_state *es, vshared *sh, uint32_t idle_ms, uint32_t vmax)
{
    tidal_spawn_opts o = {.name = "vown",
                          .behaviour = &echo_behaviour,
                          .arg = es,
                          .virtual_behaviour = &v_behaviour,
                          .virtual_arg = sh,
                          .virtual_idle_ms = idle_ms,
                          .virtual_mailbox_max = vmax};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return a;
}

static tidal_addr
vaddr(const tidal_addr *owner, uint32_t k)
{
    uint8_t key[4];
    seq_put(k, key);
    tidal_addr a;
    TIDAL_PASS(tidal_addr_virtual(&a, owner, key, sizeof(key)));
    return a;
}

static int64_t
read_sum(tidal_runtime *rt, const tidal_addr *to)
{
    tidal_buf b;
    tidal_buf_init(&b);
    tidal_msg_counter_read m = {0};
    TIDAL_PASS(tidal_msg_counter_read_encode(&m, &b));
    tidal_reply r;
    TIDAL_PASS(tidal_ask(rt, to, TIDAL_MSG_COUNTER_READ, b.data, (uint32_t)b.len, 5000, &r));
    tidal_buf_fini(&b);
    cr_assert_eq(r.type, TIDAL_MSG_COUNTER_VALUE);
    tidal_msg_counter_value v;
    TIDAL_PASS(tidal_msg_counter_value_decode(r.payload, r.len, &v, NULL));
    tidal_reply_free(&r);
    return v.value;
}

Test(virtual, first_message_activates_and_init_runs_once)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, 0);
    tidal_addr oa = addr_of(rt, own);
    tidal_addr k7 = vaddr(&oa, 7);
    cr_assert_eq(stats_of(rt).activations, 0);
    cr_assert_eq(atomic_load(&sh->inits), 0, "init ran before any message");
    for (int i = 0; i < 50; i++) {
        TIDAL_PASS(send_add(rt, &k7, 1, 5000));
    }
    cr_assert_eq(read_sum(rt, &k7), 50);
    cr_assert_eq(atomic_load(&sh->inits), 1);
    cr_assert_eq(stats_of(rt).activations, 1);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 1);
    cr_assert_eq(atomic_load(&es.handled), 0, "the owner handled a keyed message");
    cr_assert_eq(atomic_load(&sh->bad_key), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&sh->finis), 1);
    free(sh);
}

Test(virtual, ten_thousand_keys_each_have_their_own_state)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, 0);
    tidal_addr oa = addr_of(rt, own);
    for (int round = 0; round < 2; round++) {
        for (uint32_t k = 0; k < VKEYS; k++) {
            tidal_addr to = vaddr(&oa, k);
            TIDAL_PASS(send_add(rt, &to, (int64_t)k + 1, 5000));
        }
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->handled) == 2 * VKEYS, 30000), "handled %ld",
              (long)atomic_load(&sh->handled));
    cr_assert_eq(atomic_load(&sh->inits), VKEYS);
    cr_assert_eq(stats_of(rt).activations, VKEYS);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, VKEYS);
    cr_assert_eq(atomic_load(&sh->bad_key), 0);
    uint32_t probe[] = {0, 1, 4999, VKEYS - 1};
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
        tidal_addr to = vaddr(&oa, probe[i]);
        cr_assert_eq(read_sum(rt, &to), 2 * ((int64_t)probe[i] + 1), "key %u", probe[i]);
    }
    TIDAL_PASS(tidal_runtime_close(rt));
    /* close ran fini for every activation, which persisted each state */
    cr_assert_eq(atomic_load(&sh->finis), VKEYS);
    for (uint32_t k = 0; k < VKEYS; k++) {
        cr_assert_eq(sh->saved[k], 2 * ((int64_t)k + 1), "key %u", k);
    }
    free(sh);
}

Test(virtual, idle_actor_is_passivated_and_reactivated_with_its_state)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    tidal_actor own = spawn_owner(rt, &es, sh, 50, 0);
    tidal_addr oa = addr_of(rt, own);
    tidal_addr k1 = vaddr(&oa, 1);
    for (int i = 0; i < 3; i++) {
        TIDAL_PASS(send_add(rt, &k1, 5, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->handled) == 3 && stats_of(rt).passivations >= 1 &&
                                   actor_stats_of(rt, own).virtual_active == 0,
                               5000),
              "not passivated: passivations %llu, active %u",
              (unsigned long long)stats_of(rt).passivations,
              actor_stats_of(rt, own).virtual_active);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(atomic_load(&sh->finis), (int)st.passivations, "fini per passivation");
    cr_assert_eq(sh->saved[1], 15, "fini persisted the state");

    /* the next message re-activates it: init again, state reloaded */
    cr_assert_eq(read_sum(rt, &k1), 15);
    st = stats_of(rt);
    cr_assert_eq(atomic_load(&sh->inits), (int)st.activations);
    cr_assert_eq(st.activations, st.passivations + 1, "activations %llu passivations %llu",
                 (unsigned long long)st.activations, (unsigned long long)st.passivations);
    TIDAL_PASS(send_add(rt, &k1, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).passivations == st.passivations + 1, 5000));
    cr_assert_eq(sh->saved[1], 16);
    cr_assert_eq(atomic_load(&sh->finis), atomic_load(&sh->inits));
    cr_assert_eq(atomic_load(&sh->bad_key), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    free(sh);
}

Test(virtual, keyed_message_without_virtual_behaviour_is_dead_letter)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    tidal_spawn_opts o = {.name = "plain", .behaviour = &echo_behaviour, .arg = &es};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    tidal_addr pa = addr_of(rt, a);
    tidal_addr k = vaddr(&pa, 3);
    TIDAL_PASS(send_add(rt, &k, 9, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_NO_VIRTUAL] == 1, 5000));
    ask_ok(rt, &pa); /* the owner keeps serving */
    cr_assert_eq(atomic_load(&es.sum), 0, "the owner handled a keyed message");
    cr_assert_eq(atomic_load(&es.handled), 1); /* the ping only */
    cr_assert_eq(stats_of(rt).activations, 0);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).queued == 0, 5000),
              "the dead letter kept its mailbox room: queued %u", actor_stats_of(rt, a).queued);
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(virtual, mailbox_bound_overflow_is_dead_letter)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    const uint32_t vmax = 4;
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, vmax);
    tidal_addr oa = addr_of(rt, own);
    tidal_addr k = vaddr(&oa, 2);
    atomic_store(&sh->block, true);
    TIDAL_PASS(send_add(rt, &k, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->entered) == 1, 5000));
    /* the running message has left the mailbox: vmax more fit (-1, exact) */
    for (uint32_t i = 0; i < vmax; i++) {
        TIDAL_PASS(send_add(rt, &k, 1, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 1 + vmax, 5000));
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_MAILBOX_FULL], 0);
    /* +1 and +2 */
    TIDAL_PASS(send_add(rt, &k, 100, 5000));
    TIDAL_PASS(send_add(rt, &k, 100, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_MAILBOX_FULL] == 2, 5000),
              "MAILBOX_FULL %llu", (unsigned long long)stats_of(rt).dead[TIDAL_DEAD_MAILBOX_FULL]);
    atomic_store(&sh->block, false);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->handled) == 1 + vmax, 5000));
    cr_assert_eq(read_sum(rt, &k), 1 + vmax, "an overflowing message was handled");
    cr_assert_eq(atomic_load(&sh->handled), 1 + vmax + 1);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, own).queued == 0, 5000),
              "dead letters kept mailbox room: queued %u", actor_stats_of(rt, own).queued);
    TIDAL_PASS(tidal_runtime_close(rt));
    free(sh);
}

Test(virtual, key_and_reply_inside_the_handler)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, 0);
    tidal_addr oa = addr_of(rt, own);
    uint8_t big[TIDAL_KEY_BYTES_MAX + 1];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (uint8_t)(0xf0 - i);
    }
    size_t lens[] = {1, 3, TIDAL_KEY_BYTES_MAX - 1, TIDAL_KEY_BYTES_MAX};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        tidal_addr to;
        TIDAL_PASS(tidal_addr_virtual(&to, &oa, big, lens[i]));
        uint8_t pp[32];
        uint32_t n = ping_payload(1, NULL, 0, pp, sizeof(pp));
        tidal_reply r;
        TIDAL_PASS(tidal_ask(rt, &to, TIDAL_MSG_PING, pp, n, 5000, &r));
        tidal_msg_pong p;
        TIDAL_PASS(tidal_msg_pong_decode(r.payload, r.len, &p, NULL));
        cr_assert_eq(p.body.len, lens[i]);
        cr_assert(memcmp(p.body.ptr, big, lens[i]) == 0, "key of %zu bytes", lens[i]);
        tidal_reply_free(&r);
    }
    tidal_addr bad;
    TIDAL_FAIL(tidal_addr_virtual(&bad, &oa, big, TIDAL_KEY_BYTES_MAX + 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_addr_virtual(&bad, &oa, big, 0), TIDAL_EINVAL);
    cr_assert_eq(atomic_load(&sh->inits), 4);
    cr_assert_eq(atomic_load(&sh->bad_key), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    free(sh);
}

Test(virtual, sends_carry_the_senders_key)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    rec_state rec;
    rec_init_state(&rec);
    tidal_actor sink = spawn_rec(rt, "sink", &rec);
    sh->sink = addr_of(rt, sink);
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, 0);
    tidal_addr oa = addr_of(rt, own);
    const uint32_t keys[] = {0x0d0c0b0a, 42};
    for (uint32_t i = 0; i < 2; i++) {
        tidal_addr to = vaddr(&oa, keys[i]);
        uint8_t p[4];
        seq_put(i, p);
        TIDAL_PASS(tidal_send(rt, &to, VFORWARD, p, 4, 5000));
    }
    TIDAL_PASS(send_seq(rt, &sh->sink, 99, 5000)); /* from outside: no key */
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 3, 5000));
    cr_assert_eq(atomic_load(&sh->send_errors), 0);
    for (unsigned i = 0; i < 3; i++) {
        const rec_entry *e = &rec.ents[i];
        if (e->seq == 99) {
            cr_assert_str_eq(e->from, "node");
            cr_assert_eq(e->from_key_len, 0);
            continue;
        }
        cr_assert_lt(e->seq, 2);
        cr_assert_str_eq(e->from, "vown");
        cr_assert_eq(e->from_key_len, 4);
        cr_assert_eq(seq_get(e->from_key), keys[e->seq], "from_key %08x", seq_get(e->from_key));
        cr_assert_eq(e->id, 1, "a virtual actor's first message id");
    }
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
    free(sh);
}

/* A message that arrives while fini runs for a passivation is kept, and the
 * actor is re-activated for it: init runs again, so the counters must say
 * one more passivation and one more activation. */
Test(virtual, message_racing_passivation_is_kept_and_counted)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    atomic_store(&sh->fini_sleep_ms, 20);
    tidal_actor own = spawn_owner(rt, &es, sh, 2, 0);
    tidal_addr oa = addr_of(rt, own);
    tidal_addr k = vaddr(&oa, 5);
    int64_t want = 0;
    for (int round = 0; round < 20; round++) {
        TIDAL_PASS(send_add(rt, &k, 1, 5000));
        want++;
        /* wait until its fini has started, then send into that window */
        int f = atomic_load(&sh->finis);
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->finis) > f, 5000));
        TIDAL_PASS(send_add(rt, &k, 1, 5000));
        want++;
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->handled) == want, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, own).virtual_active == 0, 5000));
    tidal_stats st = stats_of(rt);
    cr_assert_eq(sh->saved[5], want, "a message was lost: sum %lld of %lld",
                 (long long)sh->saved[5], (long long)want);
    cr_assert_eq(atomic_load(&sh->inits), atomic_load(&sh->finis));
    cr_assert_eq(st.activations, (uint64_t)atomic_load(&sh->inits), "activations %llu, inits %d",
                 (unsigned long long)st.activations, atomic_load(&sh->inits));
    cr_assert_eq(st.passivations, (uint64_t)atomic_load(&sh->finis), "passivations %llu, finis %d",
                 (unsigned long long)st.passivations, atomic_load(&sh->finis));
    TIDAL_PASS(tidal_runtime_close(rt));
    free(sh);
}

/* tidal_ctx_stop in a virtual actor passivates it once the handler returns
 * (fini runs), what was queued behind is dead-lettered, and the next message
 * for its key activates a fresh one. */
Test(virtual, ctx_stop_passivates_the_virtual_actor)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    vshared *sh = vshared_new();
    tidal_actor own = spawn_owner(rt, &es, sh, 600000, 0);
    tidal_addr oa = addr_of(rt, own);
    tidal_addr k = vaddr(&oa, 9);
    atomic_store(&sh->block, true);
    TIDAL_PASS(send_add(rt, &k, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->entered) == 1, 5000));
    TIDAL_PASS(tidal_send(rt, &k, VSTOP, NULL, 0, 5000));
    TIDAL_PASS(send_add(rt, &k, 100, 5000));
    TIDAL_PASS(send_add(rt, &k, 100, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 4, 5000));
    atomic_store(&sh->block, false);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).passivations == 1, 5000), "not passivated");
    cr_assert_eq(atomic_load(&sh->finis), 1);
    cr_assert_eq(sh->saved[9], 1, "handled after tidal_ctx_stop: sum %lld",
                 (long long)sh->saved[9]);
    cr_assert_eq(atomic_load(&sh->handled), 2);
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_STOPPED], 2);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 0);
    /* a fresh activation, with the persisted state */
    TIDAL_PASS(send_add(rt, &k, 5, 5000));
    cr_assert_eq(read_sum(rt, &k), 6);
    cr_assert_eq(atomic_load(&sh->inits), 2);
    cr_assert_eq(stats_of(rt).activations, 2);
    tidal_actor again;
    TIDAL_PASS(tidal_lookup(rt, "vown", &again)); /* the owner is not stopped */
    cr_assert_eq(again.id, own.id);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, own).queued == 0, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
    free(sh);
}
