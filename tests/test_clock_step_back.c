/*
 * A wall clock that steps back by more than the skew tolerance.
 *
 * A runtime's HLC never goes back, so after its wall clock stepped back by
 * more than max_skew_ns its own stamps are that far ahead of its wall
 * clock until real time catches up.  The skew check in runtime/pool.c
 * (merge_stamps) is about other clocks: it refused the runtime's own
 * envelopes too, among them the timer ticks that every tick chain re-arms
 * from its handler, so one refused tick stopped the chain for good.  A
 * region whose clock had been more than its budget ahead and was set right
 * then never retransmitted, acknowledged or reconciled again, and its
 * peers never converged with it (found by `tidal check --scenario
 * skew-beyond`; docs/design.md, "A clock set back").
 *
 * Everything runs in a simulation (include/tidal/sim.h): each runtime's
 * wall clock is the simulated wall clock plus an offset the test sets, so
 * the step is exact and the run the same every time.
 */
#include "repl_helpers.h"
#include "test_actor_helpers.h"
#include "tidal/sim.h"

TIDAL_SUITE(clock_step_back);

#define MS 1000000ull
#define SEC 1000000000ull
#define TICK_MS 10u

typedef struct skewed_clock {
    tidal_sim *sim;
    int64_t offset_ns;
} skewed_clock;

static uint64_t
skewed_wall(void *arg)
{
    const skewed_clock *k = arg;
    return (uint64_t)((int64_t)tidal_sim_wall_ns(k->sim) + k->offset_ns);
}

static tidal_runtime *
rt_on(tidal_sim *s, const char *url, skewed_clock *k)
{
    tidal_runtime_opts o = {.url = url, .name = url + 6, .sim = s, .wall_clock = skewed_wall,
                            .wall_clock_arg = k};
    tidal_runtime *rt = NULL;
    TIDAL_PASS(tidal_runtime_open(&o, &rt));
    return rt;
}

/* An actor that re-arms a timer from every tick, as the region, shipper
 * and reconciler do, and counts its ticks. */
static int
ticker_init(tidal_ctx *ctx, void *arg, void **state)
{
    *state = arg;
    return tidal_ctx_timer(ctx, TICK_MS, APP_SEQ, NULL, 0);
}

static int
ticker_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    if (msg->type != APP_SEQ) {
        return 0;
    }
    (*(uint64_t *)state)++;
    return tidal_ctx_timer(ctx, TICK_MS, APP_SEQ, NULL, 0);
}

static const tidal_behaviour ticker_behaviour = {.init = ticker_init, .handle = ticker_handle};

/* The runtime's own timer chain goes on after its clock steps back 2 s
 * (four times the default tolerance), and an envelope from another runtime
 * whose clock is that far ahead is still refused. */
Test(clock_step_back, own_timers_survive_a_step_back_and_remote_skew_is_still_refused)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    skewed_clock ka = {.sim = s, .offset_ns = 2 * (int64_t)SEC};
    skewed_clock kb = {.sim = s, .offset_ns = 2 * (int64_t)SEC};
    tidal_runtime *a = rt_on(s, "sim://a", &ka);
    tidal_runtime *b = rt_on(s, "sim://b", &kb);
    uint64_t ticks = 0;
    tidal_spawn_opts o = {.name = "ticker", .behaviour = &ticker_behaviour, .arg = &ticks};
    tidal_actor t;
    TIDAL_PASS(tidal_spawn(a, &o, &t));
    tidal_sim_run_for(s, 100 * MS);
    cr_assert_gt(ticks, 0, "the ticker never ticked");

    ka.offset_ns = 0; /* a's clock set right: its HLC is now 2 s ahead of it */
    cr_assert_gt(tidal_now(a).wall_ns, tidal_wall_ns(a) + 1 * SEC);
    uint64_t before = ticks;
    tidal_sim_run_for(s, 1 * SEC);
    /* 1 s of 10 ms ticks: about 100; without the fix the chain stopped at 0 */
    cr_assert_gt(ticks, before + 50, "the tick chain stopped after the step back (%llu -> %llu)",
                 (unsigned long long)before, (unsigned long long)ticks);
    cr_assert_eq(stats_of(a).dead[TIDAL_DEAD_HLC_SKEW], 0, "its own envelopes were refused");

    /* b's clock is still 2 s ahead of a's: what b sends, a refuses */
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(a, spawn_rec(a, "r", &rec));
    TIDAL_PASS(send_seq(b, &to, 7, 1000));
    tidal_sim_run_for(s, 100 * MS);
    cr_assert_eq(rec_count(&rec), 0, "an envelope 2 s ahead was taken");
    cr_assert_eq(stats_of(a).dead[TIDAL_DEAD_HLC_SKEW], 1);

    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_sim_close(s));
    rec_free_state(&rec);
}

static bool
converged(void *arg)
{
    return repl_converged_now(arg);
}

/* Region 0's clock runs 1 s ahead (twice the default budget) while it
 * writes, then is set right: region 1, which refused its batches while
 * they were stamped too far ahead, gets every one of them once real time
 * has passed the stamps, and both converge. */
Test(clock_step_back, a_region_ahead_beyond_its_budget_converges_once_set_right)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    skewed_clock k[2] = {{.sim = s, .offset_ns = 1 * (int64_t)SEC}, {.sim = s}};
    repl_env e = {0};
    tidal_cluster_opts co = {.sim = s};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    for (int i = 0; i < 2; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .reconcile_ms = 300,
                               .wall_clock = skewed_wall, .wall_clock_arg = &k[i]};
        TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[i]));
        e.n = i + 1;
    }
    /* before region 0 hears region 1's clock it is not fenced: these are
     * taken, stamped 1 s ahead of region 1's clock */
    TIDAL_PASS(tidal_hide_item(e.r[0], 7, 1));
    TIDAL_PASS(tidal_hide_item(e.r[0], 7, 2));
    TIDAL_PASS(tidal_hide_item(e.r[1], 7, 3));
    tidal_sim_run_for(s, 300 * MS);
    cr_assert(!repl_hidden(e.r[1], 7, 1), "a batch stamped 1 s ahead was taken");
    cr_assert(repl_stats(e.r[0]).clock_fenced, "region 0 never fenced itself");

    k[0].offset_ns = 0; /* set right: its HLC is still 1 s ahead of its wall clock */
    int rv = tidal_sim_run_until(s, converged, &e, tidal_sim_now_ns(s) + 60 * SEC);
    if (rv != 0) {
        repl_dump(&e);
    }
    cr_assert_eq(rv, 0, "no convergence within 60 simulated s after the clock was set right");
    for (int i = 0; i < 2; i++) {
        for (tidal_entity_id item = 1; item <= 3; item++) {
            cr_assert(repl_hidden(e.r[i], 7, item), "region %d: item %llu not hidden", i,
                      (unsigned long long)item);
        }
    }
    cr_assert_eq(repl_stats(e.r[1]).applied_lsn[0], repl_stats(e.r[0]).last_lsn);
    cr_assert_eq(repl_stats(e.r[0]).applied_lsn[1], repl_stats(e.r[1]).last_lsn);
    cr_assert_eq(stats_of(tidal_region_runtime(e.r[0])).dead[TIDAL_DEAD_HLC_SKEW], 0,
                 "region 0 refused its own envelopes");
    repl_close(&e);
    TIDAL_PASS(tidal_sim_close(s));
}
