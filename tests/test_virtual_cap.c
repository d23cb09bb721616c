/*
 * The cap on an owner's active virtual actors (virtual_active_max): the
 * active count never exceeds it, the least recently used idle actor is
 * passivated first and one with queued messages never is, a passivated key
 * is re-activated by its next message with the state its fini persisted, a
 * message that finds its key being passivated is kept, and with every active
 * actor busy a new key is refused (dead letter VIRTUAL_FULL) and nothing
 * else is disturbed.
 *
 * Orders are made deterministic with one worker and no inline runs: every
 * handler and every fini for the cap then runs on that worker, in run-queue
 * order.  A step waits until the owner's intake is back to zero, which
 * happens under the same lock hold as the unit going idle (runtime/pool.c),
 * so the idle list's order is the order of the steps.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(virtual_cap);

#define CKEYS 4096u
#define ORDER_MAX 4096u

typedef struct cshared {
    tidal_runtime *rt;
    atomic_uint owner;      /* the owner's actor id, for stats read by init */
    atomic_uint max_active; /* largest virtual_active an init saw */
    atomic_int inits;
    atomic_int finis;
    atomic_int fini_entered; /* fini calls started */
    atomic_bool fini_block;  /* fini spins while set (after fini_entered) */
    atomic_long handled;
    atomic_int block_key; /* the handler of this key spins while block is set */
    atomic_bool block;
    atomic_int entered; /* handler calls started */
    atomic_int bad_key; /* inits for a key the tests never send to */
    atomic_int key_inits[CKEYS];
    int64_t saved[CKEYS]; /* sums persisted by fini */
    atomic_int order_n;
    int fini_order[ORDER_MAX]; /* keys, in the order their fini ran */
} cshared;

typedef struct cstate {
    cshared *sh;
    uint32_t key;
    int64_t sum;
} cstate;

static int
c_init(tidal_ctx *ctx, void *arg, void **state)
{
    cshared *sh = arg;
    uint32_t len;
    const uint8_t *k = tidal_ctx_key(ctx, &len);
    if (len != 4 || seq_get(k) >= CKEYS) {
        atomic_fetch_add(&sh->bad_key, 1); /* checked by finish(), not asserted here:
                                              this is a worker thread */
        return TIDAL_EFIELD;
    }
    cstate *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        return TIDAL_ENOMEM;
    }
    st->sh = sh;
    st->key = seq_get(k);
    st->sum = sh->saved[st->key];
    tidal_actor_stats as;
    if (tidal_actor_stats_get(sh->rt, (tidal_actor){atomic_load(&sh->owner)}, &as) == 0) {
        unsigned m = atomic_load(&sh->max_active);
        while (as.virtual_active > m &&
               !atomic_compare_exchange_weak(&sh->max_active, &m, as.virtual_active)) {
        }
    }
    atomic_fetch_add(&sh->key_inits[st->key], 1);
    atomic_fetch_add(&sh->inits, 1);
    *state = st;
    return 0;
}

static void
c_fini(void *state, void *arg)
{
    cshared *sh = arg;
    cstate *st = state;
    atomic_fetch_add(&sh->fini_entered, 1);
    while (atomic_load(&sh->fini_block)) {
        tidal_test_sleep_ms(1);
    }
    sh->saved[st->key] = st->sum;
    int i = atomic_fetch_add(&sh->order_n, 1);
    if (i < (int)ORDER_MAX) {
        sh->fini_order[i] = (int)st->key;
    }
    free(st);
    atomic_fetch_add(&sh->finis, 1); /* after the order: a waiter on finis sees it */
}

static int
c_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    cstate *st = state;
    cshared *sh = st->sh;
    atomic_fetch_add(&sh->entered, 1);
    while (atomic_load(&sh->block) && atomic_load(&sh->block_key) == (int)st->key) {
        tidal_test_sleep_ms(1);
    }
    if (msg->type == TIDAL_MSG_COUNTER_ADD) {
        tidal_msg_counter_add a;
        if (tidal_msg_counter_add_decode(msg->payload, msg->len, &a, NULL) != 0) {
            return TIDAL_EFIELD;
        }
        st->sum += a.delta;
    }
    atomic_fetch_add(&sh->handled, 1);
    return 0;
}

static const tidal_behaviour c_behaviour = {.init = c_init, .handle = c_handle, .fini = c_fini};

static cshared *
cshared_new(tidal_runtime *rt)
{
    cshared *sh = calloc(1, sizeof(*sh));
    cr_assert_not_null(sh);
    sh->rt = rt;
    atomic_store(&sh->block_key, -1);
    return sh;
}

static tidal_actor
spawn_capped(tidal_runtime *rt, echo_state *es, cshared *sh, uint32_t cap)
{
    tidal_spawn_opts o = {.name = "vcap",
                          .behaviour = &echo_behaviour,
                          .arg = es,
                          .virtual_behaviour = &c_behaviour,
                          .virtual_arg = sh,
                          .virtual_idle_ms = 3600000u, /* only the cap passivates */
                          .virtual_active_max = cap};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    atomic_store(&sh->owner, a.id);
    return a;
}

static tidal_addr
kaddr(const tidal_addr *owner, uint32_t k)
{
    uint8_t key[4];
    seq_put(k, key);
    tidal_addr a;
    TIDAL_PASS(tidal_addr_virtual(&a, owner, key, sizeof(key)));
    return a;
}

static void
add_to(tidal_runtime *rt, const tidal_addr *owner, uint32_t k, int64_t delta)
{
    tidal_addr to = kaddr(owner, k);
    TIDAL_PASS(send_add(rt, &to, delta, 5000));
}

/* Waits until `handled` handler calls returned and the owner's intake is
 * empty: every unit that ran is idle again, in the order it ran. */
static void
settle(tidal_runtime *rt, tidal_actor own, cshared *sh, long handled)
{
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->handled) == handled &&
                                   actor_stats_of(rt, own).queued == 0,
                               10000),
              "handled %ld of %ld, queued %u", (long)atomic_load(&sh->handled), handled,
              actor_stats_of(rt, own).queued);
}

/* Closes the runtime (fini runs for every active one). */
static void
finish(tidal_runtime *rt, cshared *sh)
{
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&sh->bad_key), 0);
    cr_assert_eq(atomic_load(&sh->finis), atomic_load(&sh->inits), "a fini per init");
}

static void
wait_finis(cshared *sh, int n)
{
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->finis) == n, 10000), "finis %d, want %d",
              atomic_load(&sh->finis), n);
}

/* The runtime counts a passivation once its fini has returned, a moment
 * after the fini itself counted it in sh: wait for the count before reading
 * the stats. */
static void
wait_passivations_cap(tidal_runtime *rt, uint64_t n)
{
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).passivations_cap >= n, 10000),
              "passivations_cap %llu, want %llu",
              (unsigned long long)stats_of(rt).passivations_cap, (unsigned long long)n);
}

Test(virtual_cap, option_is_range_checked)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_spawn_opts o = {.name = "vcap",
                          .behaviour = &echo_behaviour,
                          .arg = &es,
                          .virtual_behaviour = &c_behaviour,
                          .virtual_arg = sh,
                          .virtual_active_max = TIDAL_VIRTUAL_ACTIVE_MAX + 1};
    tidal_actor a;
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    o.virtual_active_max = TIDAL_VIRTUAL_ACTIVE_MAX;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    finish(rt, sh);
    free(sh);
}

/* Every message handled or refused, and every eviction's fini done (no unit
 * alive but the active ones). */
static bool
flood_done(tidal_runtime *rt, tidal_actor own, cshared *sh, uint32_t n)
{
    tidal_stats st = stats_of(rt);
    return (uint64_t)atomic_load(&sh->handled) + st.dead[TIDAL_DEAD_VIRTUAL_FULL] == n &&
           st.activations - st.passivations == actor_stats_of(rt, own).virtual_active;
}

/* Many more keys than the cap, sent as fast as the sender can: the active
 * count read from the stats never exceeds the cap, and every message is
 * either handled (its sum persisted by a fini) or refused as VIRTUAL_FULL. */
Test(virtual_cap, active_count_never_exceeds_the_cap)
{
    const uint32_t cap = 8, n = 2000;
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, cap);
    tidal_addr oa = addr_of(rt, own);
    for (uint32_t k = 0; k < n; k++) {
        add_to(rt, &oa, k, (int64_t)k + 1);
        uint32_t active = actor_stats_of(rt, own).virtual_active;
        cr_assert_leq(active, cap, "%u active after key %u", active, k);
    }
    cr_assert(TIDAL_WAIT_UNTIL(flood_done(rt, own, sh, n), 30000), "handled %ld, refused %llu",
              (long)atomic_load(&sh->handled),
              (unsigned long long)stats_of(rt).dead[TIDAL_DEAD_VIRTUAL_FULL]);
    tidal_stats st = stats_of(rt);
    tidal_actor_stats as = actor_stats_of(rt, own);
    /* the first cap keys always get in; past them each one taken made room */
    cr_assert_eq(as.virtual_active, cap);
    cr_assert_leq(atomic_load(&sh->max_active), cap, "an init saw %u active",
                  atomic_load(&sh->max_active));
    cr_assert_eq(st.activations, (uint64_t)atomic_load(&sh->handled), "one activation per key");
    cr_assert_eq(st.passivations_cap, st.activations - cap, "passivations for the cap %llu",
                 (unsigned long long)st.passivations_cap);
    cr_assert_eq(st.passivations_cap, st.passivations, "only the cap passivated");
    cr_assert_eq(st.passivations, (uint64_t)atomic_load(&sh->finis));
    finish(rt, sh);
    uint32_t refused = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (atomic_load(&sh->key_inits[k]) == 0) {
            refused++;
            cr_assert_eq(sh->saved[k], 0);
        } else {
            cr_assert_eq(sh->saved[k], (int64_t)k + 1, "key %u lost its message", k);
        }
    }
    cr_assert_eq(refused, st.dead[TIDAL_DEAD_VIRTUAL_FULL]);
    free(sh);
}

/* Keys 0..3 fill a cap of 4; key 0 is used again, so the least recently
 * used is 1, then 2, 3 and 0: new keys passivate them in that order. */
Test(virtual_cap, least_recently_used_idle_actor_is_passivated_first)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 4);
    tidal_addr oa = addr_of(rt, own);
    long handled = 0;
    for (uint32_t k = 0; k < 4; k++) {
        add_to(rt, &oa, k, 10);
        settle(rt, own, sh, ++handled);
    }
    add_to(rt, &oa, 0, 1);
    settle(rt, own, sh, ++handled);
    cr_assert_eq(atomic_load(&sh->finis), 0, "passivated under the cap");
    const int expect[] = {1, 2, 3, 0};
    for (uint32_t i = 0; i < 4; i++) {
        add_to(rt, &oa, 4 + i, 1);
        settle(rt, own, sh, ++handled);
        wait_finis(sh, (int)i + 1);
        cr_assert_eq(sh->fini_order[i], expect[i], "passivation %u: key %d, want %d", i,
                     sh->fini_order[i], expect[i]);
        cr_assert_eq(actor_stats_of(rt, own).virtual_active, 4);
    }
    cr_assert_eq(sh->saved[0], 11, "fini persisted the state");
    wait_passivations_cap(rt, 4);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.passivations_cap, 4);
    cr_assert_eq(st.activations, 8);
    cr_assert_eq(st.dead[TIDAL_DEAD_VIRTUAL_FULL], 0);
    finish(rt, sh);
    free(sh);
}

/* Key 1 is the least recently used, but has a message queued (behind key
 * 3, whose handler holds the only worker) when key 4 arrives: key 2, idle,
 * is passivated instead, and key 1 keeps its state. */
Test(virtual_cap, actor_with_queued_messages_is_never_chosen)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 3);
    tidal_addr oa = addr_of(rt, own);
    add_to(rt, &oa, 1, 5);
    settle(rt, own, sh, 1);
    add_to(rt, &oa, 2, 5);
    settle(rt, own, sh, 2);
    atomic_store(&sh->block_key, 3);
    atomic_store(&sh->block, true);
    add_to(rt, &oa, 3, 5);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->entered) == 3, 10000));
    add_to(rt, &oa, 1, 5); /* queued: the worker is held by key 3 */
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 4, 10000));
    add_to(rt, &oa, 4, 5);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 5, 10000));
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_VIRTUAL_FULL], 0);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 3);
    atomic_store(&sh->block, false);
    settle(rt, own, sh, 5);
    wait_finis(sh, 1);
    cr_assert_eq(sh->fini_order[0], 2, "passivated key %d, want 2", sh->fini_order[0]);
    cr_assert_eq(atomic_load(&sh->key_inits[1]), 1, "key 1 was passivated");
    cr_assert_eq(sh->saved[2], 5);
    finish(rt, sh);
    cr_assert_eq(sh->saved[1], 10, "key 1 lost a message or its state");
    free(sh);
}

/* A cap of 1: key 1, then key 2 passivates it (fini persists 5), then a
 * message to key 1 passivates key 2 and re-activates key 1, whose init
 * reads what its fini persisted, and the message is delivered. */
Test(virtual_cap, message_to_a_passivated_key_reactivates_it)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 1);
    tidal_addr oa = addr_of(rt, own);
    add_to(rt, &oa, 1, 5);
    settle(rt, own, sh, 1);
    add_to(rt, &oa, 2, 7);
    settle(rt, own, sh, 2);
    wait_finis(sh, 1);
    cr_assert_eq(sh->fini_order[0], 1);
    cr_assert_eq(sh->saved[1], 5);
    add_to(rt, &oa, 1, 1);
    settle(rt, own, sh, 3);
    wait_finis(sh, 2);
    cr_assert_eq(sh->fini_order[1], 2);
    cr_assert_eq(atomic_load(&sh->key_inits[1]), 2, "key 1 was not re-activated");
    wait_passivations_cap(rt, 2);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.activations, 3);
    cr_assert_eq(st.passivations_cap, 2);
    cr_assert_eq(st.dead[TIDAL_DEAD_VIRTUAL_FULL], 0);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 1);
    finish(rt, sh);
    cr_assert_eq(sh->saved[1], 6, "the message to the re-activated key: sum %lld",
                 (long long)sh->saved[1]);
    cr_assert_eq(sh->saved[2], 7);
    free(sh);
}

/* A message for a key whose fini for the cap is running waits for it: the
 * key is re-activated after the fini (init reads what it persisted), never
 * alongside it, and the message is handled. */
Test(virtual_cap, message_during_the_fini_of_its_key_is_kept)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 2);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 1);
    tidal_addr oa = addr_of(rt, own);
    add_to(rt, &oa, 1, 5);
    settle(rt, own, sh, 1);
    atomic_store(&sh->fini_block, true);
    add_to(rt, &oa, 2, 7); /* passivates key 1: its fini holds one worker */
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->fini_entered) == 1, 10000));
    settle(rt, own, sh, 2); /* key 2 ran on the other worker and is idle */
    add_to(rt, &oa, 1, 1);  /* passivates key 2, and waits for key 1's fini */
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 3, 10000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->fini_entered) == 2, 10000));
    cr_assert_eq(atomic_load(&sh->key_inits[1]), 1, "init ran while its fini did");
    atomic_store(&sh->fini_block, false);
    settle(rt, own, sh, 3);
    wait_finis(sh, 2);
    cr_assert_eq(atomic_load(&sh->key_inits[1]), 2);
    wait_passivations_cap(rt, 2);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.activations, 3);
    cr_assert_eq(st.passivations_cap, 2);
    cr_assert_eq(st.passivations, 2);
    cr_assert_eq(st.dead[TIDAL_DEAD_VIRTUAL_FULL], 0);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 1);
    finish(rt, sh);
    cr_assert_eq(sh->saved[1], 6, "sum %lld", (long long)sh->saved[1]);
    cr_assert_eq(sh->saved[2], 7);
    free(sh);
}

/* A message for a key chosen for the cap whose fini has not started yet
 * keeps it active, state and all: no fini, no init; another idle key is
 * passivated in its place. */
Test(virtual_cap, message_before_the_fini_of_its_key_cancels_it)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 3);
    tidal_addr oa = addr_of(rt, own);
    add_to(rt, &oa, 1, 5);
    settle(rt, own, sh, 1);
    add_to(rt, &oa, 2, 5);
    settle(rt, own, sh, 2);
    atomic_store(&sh->block_key, 3);
    atomic_store(&sh->block, true);
    add_to(rt, &oa, 3, 5);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->entered) == 3, 10000));
    add_to(rt, &oa, 4, 5); /* chooses key 1; its fini waits behind key 3 */
    add_to(rt, &oa, 1, 5); /* wanted again: chooses key 2 instead */
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == 5, 10000));
    cr_assert_eq(atomic_load(&sh->fini_entered), 0);
    atomic_store(&sh->block, false);
    settle(rt, own, sh, 5);
    wait_finis(sh, 1);
    cr_assert_eq(sh->fini_order[0], 2, "passivated key %d, want 2", sh->fini_order[0]);
    cr_assert_eq(atomic_load(&sh->key_inits[1]), 1, "key 1 was re-initialised");
    wait_passivations_cap(rt, 1);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.passivations_cap, 1);
    cr_assert_eq(st.activations, 4);
    cr_assert_eq(actor_stats_of(rt, own).virtual_active, 3);
    finish(rt, sh);
    cr_assert_eq(sh->saved[1], 10);
    free(sh);
}

/* Every active actor busy at the cap: a new key is refused (VIRTUAL_FULL)
 * and nothing else changes; once they are idle, the same key is taken. */
Test(virtual_cap, all_busy_refuses_the_new_key)
{
    tidal_runtime *rt = rt_open_workers_only(NULL, 1, 1);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, 2);
    tidal_addr oa = addr_of(rt, own);
    atomic_store(&sh->block_key, 1);
    atomic_store(&sh->block, true);
    add_to(rt, &oa, 1, 5);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&sh->entered) == 1, 10000));
    add_to(rt, &oa, 2, 5); /* queued behind key 1 */
    add_to(rt, &oa, 3, 5);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_VIRTUAL_FULL] == 1, 10000),
              "VIRTUAL_FULL %llu", (unsigned long long)stats_of(rt).dead[TIDAL_DEAD_VIRTUAL_FULL]);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.received, 2);
    cr_assert_eq(st.activations, 2);
    cr_assert_eq(st.passivations, 0);
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        cr_assert_eq(st.dead[k], k == TIDAL_DEAD_VIRTUAL_FULL, "dead %s: %llu", tidal_dead_name(k),
                     (unsigned long long)st.dead[k]);
    }
    cr_assert_str_eq(tidal_dead_name(TIDAL_DEAD_VIRTUAL_FULL), "VIRTUAL_FULL");
    atomic_store(&sh->block, false);
    settle(rt, own, sh, 2); /* the refusal kept no mailbox room either */
    cr_assert_eq(atomic_load(&sh->key_inits[3]), 0);
    cr_assert_eq(atomic_load(&sh->finis), 0);
    /* both idle now: key 1, the least recently used, makes room */
    add_to(rt, &oa, 3, 7);
    settle(rt, own, sh, 3);
    wait_finis(sh, 1);
    cr_assert_eq(sh->fini_order[0], 1);
    cr_assert_eq(stats_of(rt).dead[TIDAL_DEAD_VIRTUAL_FULL], 1);
    finish(rt, sh);
    cr_assert_eq(sh->saved[3], 7, "only the second message to key 3 was handled");
    free(sh);
}

/* Thousands of keys through a cap of 64, in a seeded random order, three
 * rounds: every message reaches its own key's state whatever the table did
 * meanwhile (each key taken leaves by the cap, so the owner's table inserts
 * and removes all the time: its probing and its backward shift on removal
 * must keep every key findable and no two keys confused).  The sender
 * waits for the workers every 32 messages, so fewer than the cap are ever
 * busy and nothing is refused. */
Test(virtual_cap, churn_through_a_small_cap_keeps_every_key_its_own)
{
    const uint32_t cap = 64, n = 3000, rounds = 3;
    tidal_runtime *rt = rt_open(NULL, NULL, 2, 0);
    echo_state es = {0};
    cshared *sh = cshared_new(rt);
    tidal_actor own = spawn_capped(rt, &es, sh, cap);
    tidal_addr oa = addr_of(rt, own);
    uint32_t *order = malloc(n * sizeof(*order));
    cr_assert_not_null(order);
    uint64_t seed = 0x5eed;
    long sent = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t k = 0; k < n; k++) {
            order[k] = k;
        }
        for (uint32_t k = n - 1; k > 0; k--) {
            uint32_t j = (uint32_t)(tidal_test_rand(&seed) % (k + 1));
            uint32_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (uint32_t k = 0; k < n; k++) {
            add_to(rt, &oa, order[k], (int64_t)order[k] + 1);
            if (++sent % 32 == 0) {
                settle(rt, own, sh, sent);
            }
        }
    }
    settle(rt, own, sh, sent);
    tidal_stats st = stats_of(rt);
    cr_assert_eq(st.dead[TIDAL_DEAD_VIRTUAL_FULL], 0);
    cr_assert_geq(st.passivations_cap, (uint64_t)(rounds * n - 2 * cap), "the table churned: %llu",
                  (unsigned long long)st.passivations_cap);
    finish(rt, sh);
    for (uint32_t k = 0; k < n; k++) {
        cr_assert_eq(sh->saved[k], (int64_t)rounds * ((int64_t)k + 1), "key %u: sum %lld", k,
                     (long long)sh->saved[k]);
    }
    free(order);
    free(sh);
}
