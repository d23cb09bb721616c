/*
 * Fault determinism: decisions are a pure function of (seed, link, link
 * sequence, kind), so one seed gives the same per-link traces however the
 * senders' threads interleave, and another seed gives other traces.
 *
 * The scenario: four sender actors, each sending a numbered sequence to one
 * or two of three receivers when triggered, all at once on the worker pool,
 * under one rule combining drop, duplicate, delay and reorder on every
 * sender -> receiver link.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(fault);

#define GO 1001u
#define SENDERS 4
#define RECEIVERS 3
#define COUNT 300u
#define LINKS 7

typedef struct burst {
    tidal_addr to[2];
    int nto;
    atomic_int done;
    atomic_int errors;
} burst;

static int
burst_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    burst *b = state;
    if (msg->type != GO) {
        return 0;
    }
    for (uint32_t i = 0; i < COUNT; i++) {
        uint8_t p[4];
        seq_put(i, p);
        for (int t = 0; t < b->nto; t++) {
            if (tidal_ctx_send(ctx, &b->to[t], APP_SEQ, p, 4) != 0) {
                atomic_fetch_add(&b->errors, 1);
            }
        }
    }
    atomic_store(&b->done, 1);
    return 0;
}

static const tidal_behaviour burst_behaviour = {.init = arg_as_state_init, .handle = burst_handle};

/* Who sends to whom: sender i -> receivers fanout[i]. */
static const int fanout[SENDERS][2] = {{0, -1}, {0, 1}, {1, 2}, {2, 0}};

typedef struct run_result {
    tidal_trace_entry *t[LINKS];
    size_t n[LINKS];
    char name[LINKS][32];
    uint64_t faults[TIDAL_FAULT_COUNT];
} run_result;

static int
by_seq(const void *a, const void *b)
{
    const tidal_trace_entry *x = a, *y = b;
    if (x->link_seq != y->link_seq) {
        return x->link_seq < y->link_seq ? -1 : 1;
    }
    return (int)x->kind - (int)y->kind;
}

static void
run(uint64_t seed, run_result *out)
{
    memset(out, 0, sizeof(*out));
    tidal_runtime *rt = rt_open(NULL, NULL, seed, 0);
    rec_state rec[RECEIVERS];
    tidal_addr raddr[RECEIVERS];
    for (int r = 0; r < RECEIVERS; r++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", r);
        rec_init_state(&rec[r]);
        raddr[r] = addr_of(rt, spawn_rec(rt, name, &rec[r]));
    }
    tidal_fault_rule rule = {.drop = 0.1,
                             .duplicate = 0.1,
                             .delay = 0.1,
                             .delay_min_ms = 1,
                             .delay_max_ms = 5,
                             .reorder_window = 4};
    TIDAL_PASS(tidal_fault_set(rt, "s*", "r*", &rule));
    burst b[SENDERS];
    tidal_addr saddr[SENDERS];
    int links = 0;
    for (int s = 0; s < SENDERS; s++) {
        memset(&b[s], 0, sizeof(b[s]));
        for (int k = 0; k < 2 && fanout[s][k] >= 0; k++) {
            b[s].to[b[s].nto++] = raddr[fanout[s][k]];
            snprintf(out->name[links++], sizeof(out->name[0]), "s%d>r%d", s, fanout[s][k]);
        }
        char name[16];
        snprintf(name, sizeof(name), "s%d", s);
        tidal_spawn_opts o = {.name = name, .behaviour = &burst_behaviour, .arg = &b[s]};
        tidal_actor a;
        TIDAL_PASS(tidal_spawn(rt, &o, &a));
        saddr[s] = addr_of(rt, a);
    }
    cr_assert_eq(links, LINKS);
    for (int s = 0; s < SENDERS; s++) {
        TIDAL_PASS(tidal_send(rt, &saddr[s], GO, NULL, 0, 5000));
    }
    for (int s = 0; s < SENDERS; s++) {
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&b[s].done) == 1, 5000));
        cr_assert_eq(atomic_load(&b[s].errors), 0);
    }
    /* every decision is traced at send time; wait for delayed and held
     * envelopes too, so the run ends quiet */
    tidal_stats st = stats_of(rt);
    uint64_t want =
        (uint64_t)LINKS * COUNT - st.faults[TIDAL_FAULT_DROP] + st.faults[TIDAL_FAULT_DUPLICATE];
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec[0]) + rec_count(&rec[1]) + rec_count(&rec[2]) == want,
                               5000),
              "seed %llu: %u arrived, want %llu", (unsigned long long)seed,
              rec_count(&rec[0]) + rec_count(&rec[1]) + rec_count(&rec[2]),
              (unsigned long long)want);
    memcpy(out->faults, st.faults, sizeof(out->faults));
    links = 0;
    for (int s = 0; s < SENDERS; s++) {
        for (int k = 0; k < 2 && fanout[s][k] >= 0; k++, links++) {
            char from[16], to[16];
            snprintf(from, sizeof(from), "s%d", s);
            snprintf(to, sizeof(to), "r%d", fanout[s][k]);
            out->t[links] = trace_link(rt, tidal_link_id(from, to), &out->n[links]);
            qsort(out->t[links], out->n[links], sizeof(tidal_trace_entry), by_seq);
        }
    }
    size_t traced = 0, counted = 0;
    for (int l = 0; l < LINKS; l++) {
        traced += out->n[l];
    }
    for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
        counted += out->faults[k];
    }
    cr_assert_eq(traced, counted, "a fault was counted but not traced on its link");
    TIDAL_PASS(tidal_runtime_close(rt));
    for (int r = 0; r < RECEIVERS; r++) {
        rec_free_state(&rec[r]);
    }
}

static void
run_free(run_result *r)
{
    for (int l = 0; l < LINKS; l++) {
        free(r->t[l]);
    }
}

/* True if one link's traces differ in (link_seq, kind, param). */
static bool
link_differs(const run_result *a, const run_result *b, int l)
{
    if (a->n[l] != b->n[l]) {
        return true;
    }
    for (size_t i = 0; i < a->n[l]; i++) {
        const tidal_trace_entry *x = &a->t[l][i], *y = &b->t[l][i];
        if (x->link_seq != y->link_seq || x->kind != y->kind || x->param != y->param) {
            return true;
        }
    }
    return false;
}

Test(fault, same_seed_same_per_link_traces)
{
    run_result a, b, c;
    run(0x5eedull, &a);
    /* the test means nothing unless every kind was injected */
    const int kinds[] = {TIDAL_FAULT_DROP, TIDAL_FAULT_DUPLICATE, TIDAL_FAULT_DELAY,
                         TIDAL_FAULT_REORDER};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        cr_assert_gt(a.faults[kinds[k]], 0, "no %s injected", tidal_fault_name(kinds[k]));
    }
    for (int l = 0; l < LINKS; l++) {
        cr_assert_gt(a.n[l], 0, "nothing injected on %s", a.name[l]);
    }
    run(0x5eedull, &b);
    for (int l = 0; l < LINKS; l++) {
        cr_assert(!link_differs(&a, &b, l), "same seed, different trace on %s (%zu vs %zu)",
                  a.name[l], a.n[l], b.n[l]);
    }
    run(0x5eedull + 1, &c);
    int differ = 0;
    for (int l = 0; l < LINKS; l++) {
        differ += link_differs(&a, &c, l);
    }
    cr_assert_gt(differ, 0, "another seed gave the same traces");
    run_free(&a);
    run_free(&b);
    run_free(&c);
}
