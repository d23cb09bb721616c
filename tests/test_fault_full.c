/*
 * Copies the fault layer lets go (delayed, held back, duplicated, replayed)
 * meeting a full link: they wait for room and arrive, in order, instead of
 * being lost as dead letters (runtime/fault_retry.c).  A full link is made
 * by a peer whose only actor is held in its handler with a small mailbox:
 * it stops reading, nng pushes back, and the sender's link fills to
 * TIDAL_LINK_ENVELOPES_MAX.
 */
#include "runtime/fault_internal.h"
#include "test_actor_helpers.h"

TIDAL_SUITE(fault_full);

/* Past the link's bound, so that copies must wait. */
#define SENDS (TIDAL_LINK_ENVELOPES_MAX + 15000u)

/* A peer's actor held at a gate, recording what it handles. */
struct held_sink {
    test_gate gate;
    uint32_t n;            /* handled, under gate.lock */
    uint32_t out_of_order; /* arrivals not in the order sent */
    uint8_t *seen;         /* per sequence number: times handled */
};

static int
held_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct held_sink *h = state;
    test_gate_pass_locked(&h->gate);
    uint32_t seq = m->len == 4 ? seq_get(m->payload) : 0;
    if (seq >= 1 && seq <= SENDS) {
        h->out_of_order += seq != h->n + 1;
        h->seen[seq - 1]++;
    }
    h->n++;
    pthread_mutex_unlock(&h->gate.lock);
    return 0;
}

static uint32_t
handled(struct held_sink *h)
{
    pthread_mutex_lock(&h->gate.lock);
    uint32_t n = h->n;
    pthread_mutex_unlock(&h->gate.lock);
    return n;
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

/* Opens *ra and *rb, holds rb's only actor at h's gate and sends it SENDS
 * envelopes from ra, every one delayed by 1 ms: each copy's timer finds the
 * link full once rb stops reading.  Returns once copies wait, none lost. */
static void
fill_past_the_link(tidal_runtime **ra, tidal_runtime **rb, struct held_sink *h, uint64_t seed)
{
    static const tidal_behaviour beh = {.init = arg_as_state_init, .handle = held_handle};
    *ra = rt_open(NULL, "a", seed, 1);
    *rb = rt_open(NULL, "b", seed, 1);
    test_gate_init(&h->gate);
    h->seen = calloc(SENDS, 1);
    cr_assert_not_null(h->seen);
    tidal_spawn_opts so = {.name = "held", .behaviour = &beh, .arg = h, .mailbox_max = 4};
    tidal_actor id;
    TIDAL_PASS(tidal_spawn(*rb, &so, &id));
    tidal_addr to = addr_of(*rb, id);
    tidal_fault_rule all_late = {.delay = 1.0, .delay_min_ms = 1, .delay_max_ms = 1};
    TIDAL_PASS(tidal_fault_set(*ra, "a", "held", &all_late));
    for (uint32_t i = 1; i <= SENDS; i++) {
        TIDAL_PASS(send_seq(*ra, &to, i, 5000)); /* delayed: returns at once */
    }
    cr_assert(TIDAL_WAIT_UNTIL(copies_waiting(*ra) > 0 || lost(*ra) > 0, 10000),
              "the link never filled");
    cr_assert_eq(lost(*ra), 0, "%lu copies lost to a full link", (unsigned long)lost(*ra));
}

/* All arrive, once each, in the order sent (one delay for all, and the
 * copies waiting keep their order); none is a dead letter. */
Test(fault_full, delayed_copies_wait_for_room_and_arrive_in_order)
{
    tidal_runtime *ra, *rb;
    struct held_sink h = {.n = 0};
    fill_past_the_link(&ra, &rb, &h, 21);
    test_gate_open(&h.gate);
    cr_assert(TIDAL_WAIT_UNTIL(handled(&h) == SENDS, 30000), "%u of %u arrived", handled(&h),
              SENDS);
    cr_assert_eq(copies_waiting(ra), 0);
    tidal_stats st = stats_of(ra);
    cr_assert_eq(st.dead[TIDAL_DEAD_LINK_FAILED], 0, "copies lost to a full link");
    cr_assert_eq(st.faults[TIDAL_FAULT_DELAY], SENDS);
    for (uint32_t i = 0; i < SENDS; i++) {
        cr_assert_eq(h.seen[i], 1, "seq %u handled %u times", i + 1, h.seen[i]);
    }
    cr_assert_eq(h.out_of_order, 0, "%u arrivals out of order", h.out_of_order);
    rt_close_pair(ra, rb);
    test_gate_fini(&h.gate);
    free(h.seen);
}

/* Copies still waiting when the runtime closes are freed (the leak check of
 * the sanitizer build would see them), and the close does not wait for a
 * peer that never reads again. */
Test(fault_full, copies_waiting_at_close_are_freed)
{
    tidal_runtime *ra, *rb;
    struct held_sink h = {.n = 0};
    fill_past_the_link(&ra, &rb, &h, 22);
    TIDAL_PASS(tidal_runtime_close(ra)); /* with copies waiting */
    test_gate_open(&h.gate);
    TIDAL_PASS(tidal_runtime_close(rb));
    test_gate_fini(&h.gate);
    free(h.seen);
}
