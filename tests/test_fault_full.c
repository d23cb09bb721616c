/*
 * Copies the fault layer lets go (delayed, held back, duplicated, replayed)
 * meeting a full link: they wait for room and arrive, in order, instead of
 * being lost as dead letters (runtime/fault_retry.c).  A full link is made
 * by a peer whose only actor is held in its handler with a small mailbox:
 * it stops reading, nng pushes back, and the sender's link fills to
 * TIDAL_LINK_ENVELOPES_MAX.
 */
#include <pthread.h>

#include "runtime/fault_internal.h"
#include "test_actor_helpers.h"

TIDAL_SUITE(fault_full);

/* Past the link's bound, so that copies must wait. */
#define SENDS (TIDAL_LINK_ENVELOPES_MAX + 15000u)

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    uint32_t n;       /* handled */
    uint32_t out_of_order;
    uint8_t *seen;    /* per sequence number: times handled */
};

static int
gate_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct gate *g = state;
    pthread_mutex_lock(&g->lock);
    while (!g->open) {
        pthread_cond_wait(&g->cond, &g->lock);
    }
    uint32_t seq = m->len == 4 ? seq_get(m->payload) : 0;
    if (seq >= 1 && seq <= SENDS) {
        g->out_of_order += seq != g->n + 1;
        g->seen[seq - 1]++;
    }
    g->n++;
    pthread_mutex_unlock(&g->lock);
    return 0;
}

static uint32_t
copies_waiting(tidal_runtime *rt)
{
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    uint32_t n = f->retry_n;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static uint64_t
lost(tidal_runtime *rt)
{
    return stats_of(rt).dead[TIDAL_DEAD_LINK_FAILED];
}

static uint32_t
handled(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    uint32_t n = g->n;
    pthread_mutex_unlock(&g->lock);
    return n;
}

static void
gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = true;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

/* Every envelope delayed by 1 ms: each copy's timer finds the link full
 * once the peer stops reading.  All arrive, once each, in the order sent
 * (one delay for all, and the copies waiting keep their order); none is a
 * dead letter. */
Test(fault_full, delayed_copies_wait_for_room_and_arrive_in_order)
{
    static const tidal_behaviour beh = {.init = arg_as_state_init, .handle = gate_handle};
    tidal_runtime *ra = rt_open(NULL, "a", 21, 1), *rb = rt_open(NULL, "b", 21, 1);
    struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    g.seen = calloc(SENDS, 1);
    cr_assert_not_null(g.seen);
    tidal_spawn_opts so = {.name = "held", .behaviour = &beh, .arg = &g, .mailbox_max = 4};
    tidal_actor id;
    TIDAL_PASS(tidal_spawn(rb, &so, &id));
    tidal_addr to = addr_of(rb, id);
    tidal_fault_rule all_late = {.delay = 1.0, .delay_min_ms = 1, .delay_max_ms = 1};
    TIDAL_PASS(tidal_fault_set(ra, "a", "held", &all_late));
    for (uint32_t i = 1; i <= SENDS; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000)); /* delayed: returns at once */
    }
    cr_assert(TIDAL_WAIT_UNTIL(copies_waiting(ra) > 0 || lost(ra) > 0, 10000),
              "the link never filled");
    cr_assert_eq(lost(ra), 0, "%lu copies lost to a full link", (unsigned long)lost(ra));
    gate_open(&g);
    cr_assert(TIDAL_WAIT_UNTIL(handled(&g) == SENDS, 30000), "%u of %u arrived", handled(&g),
              SENDS);
    cr_assert_eq(copies_waiting(ra), 0);
    tidal_stats st = stats_of(ra);
    cr_assert_eq(st.dead[TIDAL_DEAD_LINK_FAILED], 0, "copies lost to a full link");
    cr_assert_eq(st.faults[TIDAL_FAULT_DELAY], SENDS);
    for (uint32_t i = 0; i < SENDS; i++) {
        cr_assert_eq(g.seen[i], 1, "seq %u handled %u times", i + 1, g.seen[i]);
    }
    cr_assert_eq(g.out_of_order, 0, "%u arrivals out of order", g.out_of_order);
    rt_close_pair(ra, rb);
    free(g.seen);
}

/* Copies still waiting when the runtime closes are freed (the leak check of
 * the sanitizer build would see them), and the close does not wait for a
 * peer that never reads again. */
Test(fault_full, copies_waiting_at_close_are_freed)
{
    static const tidal_behaviour beh = {.init = arg_as_state_init, .handle = gate_handle};
    tidal_runtime *ra = rt_open(NULL, "a", 22, 1), *rb = rt_open(NULL, "b", 22, 1);
    struct gate g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    g.seen = calloc(SENDS, 1);
    cr_assert_not_null(g.seen);
    tidal_spawn_opts so = {.name = "held", .behaviour = &beh, .arg = &g, .mailbox_max = 4};
    tidal_actor id;
    TIDAL_PASS(tidal_spawn(rb, &so, &id));
    tidal_addr to = addr_of(rb, id);
    tidal_fault_rule all_late = {.delay = 1.0, .delay_min_ms = 1, .delay_max_ms = 1};
    TIDAL_PASS(tidal_fault_set(ra, "a", "held", &all_late));
    for (uint32_t i = 1; i <= SENDS; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(copies_waiting(ra) > 0 || lost(ra) > 0, 10000),
              "the link never filled");
    cr_assert_eq(lost(ra), 0, "%lu copies lost to a full link", (unsigned long)lost(ra));
    TIDAL_PASS(tidal_runtime_close(ra)); /* with copies waiting */
    gate_open(&g);
    TIDAL_PASS(tidal_runtime_close(rb));
    free(g.seen);
}
