/*
 * Stages (runtime/link.c, "Stages"): a handler's sends in a row to one link
 * are encoded outside the link's lock and move into its frame together,
 * with the room for them taken up front.  What a user must not be able to
 * tell: the link's bound is exact (a handler's send fails with TIDAL_EFULL
 * at the same envelope as before, and room a stage took and did not use
 * comes back), and every sender's messages arrive once, in its order,
 * whatever destinations it alternates between and whoever shares the link.
 */
#include <stdio.h>
#include <unistd.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(link_stage);

#define STEPS_MAX 8u

/* A sender: on any message it runs its plan, sending each step's count of
 * APP_SEQ messages to the step's destination, numbered per destination
 * from 1 across runs. */
struct step {
    uint32_t dest;
    uint32_t count;
};

struct sender {
    tidal_addr dest[2];
    struct step plan[STEPS_MAX];
    uint32_t steps;
    uint32_t next_seq[2]; /* last number sent to each destination */
    uint32_t accepted;    /* sends that returned 0, this run */
    uint32_t refused;     /* TIDAL_EFULL, this run */
    uint32_t other;       /* anything else, or a 0 after an EFULL */
    atomic_uint runs;
};

static int
sender_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)m;
    struct sender *s = state;
    s->accepted = s->refused = s->other = 0;
    for (uint32_t i = 0; i < s->steps; i++) {
        const struct step *st = &s->plan[i];
        for (uint32_t k = 0; k < st->count; k++) {
            uint8_t p[4];
            seq_put(s->next_seq[st->dest] + 1, p);
            int rv = tidal_ctx_send(ctx, &s->dest[st->dest], APP_SEQ, p, 4);
            if (rv == 0 && s->refused == 0) {
                s->accepted++;
                s->next_seq[st->dest]++;
            } else if (rv == TIDAL_EFULL) {
                s->refused++;
            } else {
                s->other++;
            }
        }
    }
    atomic_fetch_add(&s->runs, 1);
    return 0;
}

static const tidal_behaviour sender_behaviour = {.init = arg_as_state_init,
                                                 .handle = sender_handle};

/* A sink that checks each sender's numbering as it goes (by sender name). */
struct sink {
    char names[2][TIDAL_NAME_BYTES_MAX];
    uint32_t next[2];
    atomic_uint got;
    atomic_uint bad;
};

static int
sink_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    struct sink *s = state;
    int who = -1;
    for (int i = 0; i < 2; i++) {
        if (m->from_name_len == strlen(s->names[i]) &&
            memcmp(m->from_name, s->names[i], m->from_name_len) == 0) {
            who = i;
        }
    }
    if (m->type != APP_SEQ || m->len != 4 || who < 0 || seq_get(m->payload) != s->next[who] + 1) {
        atomic_fetch_add(&s->bad, 1);
    } else {
        s->next[who]++;
    }
    atomic_fetch_add(&s->got, 1);
    return 0;
}

static const tidal_behaviour sink_behaviour = {.init = arg_as_state_init, .handle = sink_handle};

static tidal_addr
spawn_at(tidal_runtime *rt, const char *name, const char *url, const tidal_behaviour *b, void *arg)
{
    tidal_spawn_opts o = {.name = name, .url = url, .behaviour = b, .arg = arg};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return addr_of(rt, a);
}

static void
run_once(tidal_runtime *rt, const tidal_addr *to, struct sender *s)
{
    unsigned before = atomic_load(&s->runs);
    TIDAL_PASS(send_seq(rt, to, 0, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s->runs) == before + 1, 20000));
}

/* One burst past the link's bound to a receiver not yet listening: exactly
 * TIDAL_LINK_ENVELOPES_MAX are taken, every later send of the burst fails
 * with TIDAL_EFULL, and all that were taken arrive once, in order, when the
 * receiver comes.  A second burst then finds all the room again. */
Test(link_stage, a_burst_stops_exactly_at_the_link_bound)
{
    char url[96];
    snprintf(url, sizeof(url), "inproc://stage-late-%d", (int)getpid());
    tidal_runtime *ra = rt_open(NULL, "a", 1, 1);
    struct sender s = {.steps = 1, .plan = {{0, TIDAL_LINK_ENVELOPES_MAX + 100}}};
    TIDAL_PASS(tidal_addr_make(&s.dest[0], url, "sink", NULL, 0));
    tidal_addr src = spawn_at(ra, "src", NULL, &sender_behaviour, &s);
    run_once(ra, &src, &s);
    cr_assert_eq(s.accepted, TIDAL_LINK_ENVELOPES_MAX);
    cr_assert_eq(s.refused, 100);
    cr_assert_eq(s.other, 0);

    tidal_runtime *rb = rt_open(NULL, "b", 1, 1);
    struct sink k = {.names = {"src"}};
    (void)spawn_at(rb, "sink", url, &sink_behaviour, &k);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&k.got) == TIDAL_LINK_ENVELOPES_MAX, 30000),
              "%u of %u arrived", atomic_load(&k.got), TIDAL_LINK_ENVELOPES_MAX);
    cr_assert_eq(atomic_load(&k.bad), 0);

    /* 1000 leaves a stage with room it did not use: it must come back */
    s.plan[0].count = 1000;
    run_once(ra, &src, &s);
    cr_assert_eq(s.accepted, 1000);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&k.got) == TIDAL_LINK_ENVELOPES_MAX + 1000, 10000));
    cr_assert_eq(atomic_load(&k.bad), 0);

    /* the receiver goes; the link is empty, so the bound is all room again */
    TIDAL_PASS(tidal_runtime_close(rb));
    s.plan[0].count = TIDAL_LINK_ENVELOPES_MAX + 100;
    run_once(ra, &src, &s);
    cr_assert_eq(s.accepted, TIDAL_LINK_ENVELOPES_MAX, "room a stage took was not given back");
    cr_assert_eq(s.refused, 100);
    rb = rt_open(NULL, "b", 1, 1);
    (void)spawn_at(rb, "sink", url, &sink_behaviour, &k);
    unsigned want = 2 * TIDAL_LINK_ENVELOPES_MAX + 1000;
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&k.got) == want, 30000), "%u of %u arrived",
              atomic_load(&k.got), want);
    cr_assert_eq(atomic_load(&k.bad), 0);
    tidal_stats st = stats_of(ra);
    for (int i = 0; i < TIDAL_DEAD_COUNT; i++) {
        cr_assert_eq(st.dead[i], 0, "dead letters of kind %d", i);
    }
    rt_close_pair(ra, rb);
}

/* Two senders on two workers share the links to two sinks, each
 * alternating between them in runs longer and shorter than a stage: every
 * message arrives once, in its sender's order. */
Test(link_stage, alternating_destinations_keep_every_order)
{
    tidal_runtime *ra = rt_open(NULL, "a", 2, 2);
    tidal_runtime *rb = rt_open(NULL, "b", 2, 2);
    struct sink k[2] = {{.names = {"s0", "s1"}}, {.names = {"s0", "s1"}}};
    tidal_addr sink0 = spawn_at(rb, "k0", NULL, &sink_behaviour, &k[0]);
    tidal_addr sink1 = spawn_at(rb, "k1", NULL, &sink_behaviour, &k[1]);
    const struct step plan[] = {{0, 40}, {1, 3}, {0, 1}, {1, 70}, {0, 33}, {1, 32}, {0, 2}};
    const uint32_t nsteps = sizeof(plan) / sizeof(plan[0]);
    uint32_t per_run[2] = {0};
    for (uint32_t i = 0; i < nsteps; i++) {
        per_run[plan[i].dest] += plan[i].count;
    }
    struct sender s[2];
    tidal_addr src[2];
    for (int i = 0; i < 2; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        s[i].dest[0] = sink0;
        s[i].dest[1] = sink1;
        s[i].steps = nsteps;
        memcpy(s[i].plan, plan, sizeof(plan));
        src[i] = spawn_at(ra, i == 0 ? "s0" : "s1", NULL, &sender_behaviour, &s[i]);
    }
    const unsigned runs = 50;
    for (unsigned r = 0; r < runs; r++) {
        TIDAL_PASS(send_seq(ra, &src[0], 0, 5000));
        TIDAL_PASS(send_seq(ra, &src[1], 0, 5000));
    }
    for (int i = 0; i < 2; i++) {
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s[i].runs) == runs, 20000));
    }
    for (int d = 0; d < 2; d++) {
        unsigned want = 2 * runs * per_run[d];
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&k[d].got) == want, 20000), "sink %d: %u of %u", d,
                  atomic_load(&k[d].got), want);
        cr_assert_eq(atomic_load(&k[d].bad), 0, "sink %d: out of order", d);
        cr_assert_eq(k[d].next[0], runs * per_run[d]);
        cr_assert_eq(k[d].next[1], runs * per_run[d]);
    }
    rt_close_pair(ra, rb);
}
