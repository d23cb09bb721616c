/*
 * The scenario matrix (tests/scenarios/, docs/scenarios.md) at quick sizes:
 * every scenario with two seeds on inproc, a few on ipc; each run must hold
 * every invariant its checkers computed from the scenario's own model.
 * Every scenario with two seeds in the simulation, each seed run twice: the
 * two runs must be identical (verdicts, final digests, fault trace, end
 * time), and hold every invariant.
 * Then the checkers themselves: fed a forged model (an acknowledged signal
 * that was never written, an increment too many, a hide nobody made) each
 * must fail, and the true model must pass.  And the chart: a well-formed
 * SVG naming every lane and fault kind.
 */
#include <stdlib.h>

#include "repl_helpers.h"
#include "scenarios/scenario.h"

TIDAL_SUITE(check);

static void
run_seeds(const char *name, sc_transport t, uint64_t first, int seeds)
{
    const sc_scenario *s = sc_find(name);
    cr_assert(s != NULL, "no scenario %s", name);
    for (uint64_t seed = first; seed < first + (uint64_t)seeds; seed++) {
        const char *dir = tidal_test_tmpdir();
        char path[64];
        snprintf(path, sizeof(path), "%s", dir);
        sc_run *run = malloc(sizeof(*run));
        cr_assert(run != NULL);
        (void)sc_run_scenario(s, seed, t, path, true, run);
        tidal_test_rmdir(path);
        for (int i = 0; i < run->nchecks; i++) {
            if (!run->checks[i].pass) {
                cr_log_error("%llu %s %s FAIL %s (rerun: tidal check --scenario %s --seed %llu "
                             "--transport %s)",
                             (unsigned long long)seed, name, run->checks[i].name,
                             run->checks[i].reason, name, (unsigned long long)seed,
                             t == SC_IPC ? "ipc" : "inproc");
            }
        }
        bool ok = sc_run_passed(run);
        sc_run_free(run);
        free(run);
        cr_assert(ok, "%s seed %llu failed an invariant (see above)", name,
                  (unsigned long long)seed);
    }
}

#define INPROC(test, name)                                                                \
    Test(check, test##_inproc)                                                            \
    {                                                                                     \
        run_seeds(name, SC_INPROC, 1, 2);                                                 \
    }
#define IPC(test, name)                                                                   \
    Test(check, test##_ipc)                                                               \
    {                                                                                     \
        run_seeds(name, SC_IPC, 7, 1);                                                    \
    }

INPROC(steady, "steady")
INPROC(partition, "partition")
INPROC(partition_oneway, "partition-oneway")
INPROC(flapping, "flapping")
INPROC(links_cut, "links-cut")
INPROC(dup_reorder, "dup-reorder")
INPROC(loss, "loss")
INPROC(delay_spikes, "delay-spikes")
INPROC(replay, "replay")
INPROC(crash_restart, "crash-restart")
INPROC(down_writes, "down-writes")
INPROC(down_released, "down-released")
INPROC(down_big_sessions, "down-big-sessions")
INPROC(skew_within, "skew-within")
INPROC(clock_jump, "clock-jump")
INPROC(window_rollover, "window-rollover")
INPROC(roaming, "roaming")
INPROC(hide_races, "hide-races")
INPROC(counter_limits, "counter-limits")
INPROC(skew_beyond, "skew-beyond")

/* Runs seed of name in the simulation into a fresh run (the caller frees). */
static sc_run *
sim_run(const sc_scenario *s, uint64_t seed)
{
    const char *dir = tidal_test_tmpdir();
    char path[64];
    snprintf(path, sizeof(path), "%s", dir);
    sc_run *run = malloc(sizeof(*run));
    cr_assert(run != NULL);
    (void)sc_run_scenario(s, seed, SC_SIM, path, true, run);
    tidal_test_rmdir(path);
    return run;
}

static void
free_run(sc_run *run)
{
    sc_run_free(run);
    free(run);
}

/* Two seeds, each twice: the same run both times; every invariant held
 * unless invariants is false (a scenario with a known defect). */
static void
sim_seeds(const char *name, bool invariants)
{
    const sc_scenario *s = sc_find(name);
    cr_assert(s != NULL, "no scenario %s", name);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        sc_run *a = sim_run(s, seed), *b = sim_run(s, seed);
        char why[SC_REASON_BYTES * 2];
        bool same = sc_run_same(a, b, why, sizeof(why));
        bool ok = sc_run_passed(a);
        for (int i = 0; i < a->nchecks; i++) {
            if (!a->checks[i].pass) {
                cr_log_error("%llu %s %s FAIL %s (rerun: tidal check --scenario %s --seed %llu "
                             "--transport sim --twice)",
                             (unsigned long long)seed, name, a->checks[i].name,
                             a->checks[i].reason, name, (unsigned long long)seed);
            }
        }
        uint64_t end = a->sim_end_ns;
        free_run(a);
        free_run(b);
        cr_assert(same, "%s seed %llu is not reproducible: %s", name, (unsigned long long)seed,
                  why);
        cr_assert_gt(end, 0, "%s seed %llu did not run in a simulation", name,
                     (unsigned long long)seed);
        cr_assert(ok || !invariants, "%s seed %llu failed an invariant (see above)", name,
                  (unsigned long long)seed);
    }
}

/* One test per scenario, so each is named, and a new one is added below. */
#define SIM(test, name)                                                                   \
    Test(check, test##_sim)                                                               \
    {                                                                                     \
        sim_seeds(name, true);                                                            \
    }

SIM(steady, "steady")
SIM(partition, "partition")
SIM(partition_oneway, "partition-oneway")
SIM(flapping, "flapping")
SIM(links_cut, "links-cut")
SIM(dup_reorder, "dup-reorder")
SIM(loss, "loss")
SIM(delay_spikes, "delay-spikes")
SIM(replay, "replay")
SIM(crash_restart, "crash-restart")
SIM(down_writes, "down-writes")
SIM(down_released, "down-released")
SIM(down_big_sessions, "down-big-sessions")
SIM(skew_within, "skew-within")
SIM(skew_beyond, "skew-beyond")
SIM(clock_jump, "clock-jump")
SIM(window_rollover, "window-rollover")
SIM(roaming, "roaming")
SIM(hide_races, "hide-races")
SIM(counter_limits, "counter-limits")

/* The comparison can fail: another seed is another run, and a run differs
 * from itself once one thing it kept is changed. */
Test(check, sim_runs_of_other_seeds_differ)
{
    const sc_scenario *s = sc_find("loss");
    sc_run *a = sim_run(s, 5), *b = sim_run(s, 6);
    char why[SC_REASON_BYTES * 2];
    cr_assert_not(sc_run_same(a, b, why, sizeof(why)), "seeds 5 and 6 gave the same run");
    cr_assert_neq(a->trace_hash, b->trace_hash, "another seed, the same fault trace");
    cr_assert_gt(a->trace_total[0] + a->trace_total[1] + a->trace_total[2], 0, "no fault traced");
    sc_run *c = sim_run(s, 5);
    cr_assert(sc_run_same(a, c, why, sizeof(why)), "%s", why);
    c->trace_hash ^= 1;
    cr_assert_not(sc_run_same(a, c, why, sizeof(why)));
    cr_assert(strstr(why, "fault trace hash") != NULL, "%s", why);
    c->trace_hash ^= 1;
    c->digest[2] ^= 1;
    cr_assert_not(sc_run_same(a, c, why, sizeof(why)));
    cr_assert(strstr(why, "region 2 digest") != NULL, "%s", why);
    free_run(a);
    free_run(b);
    free_run(c);
}

IPC(partition, "partition")
IPC(loss, "loss")
IPC(crash_restart, "crash-restart")
IPC(roaming, "roaming")

Test(check, every_scenario_is_in_ci)
{
    size_t n;
    sc_scenarios(&n);
    cr_assert_eq(n, 20, "a new scenario needs its INPROC and SIM lines here");
}

/* ---- the checkers can fail ------------------------------------------------ */

struct small {
    repl_env e;
    sc_model m;
};

/* Two regions; session with three acknowledged signals and one hide, all
 * replicated; the true model of it in s->m. */
static void
small_cluster(struct small *s)
{
    memset(s, 0, sizeof(*s));
    repl_cluster(&s->e, "inproc", 0x5c);
    repl_open_ephemeral(&s->e, 2);
    s->m.nsess = 1;
    TIDAL_PASS(tidal_start_session(s->e.r[0], 9, NULL, &s->m.sess[0].sid));
    uint64_t now = repl_now_ns();
    for (int i = 0; i < 3; i++) {
        tidal_entity_id item = SC_ITEM_BASE + (tidal_entity_id)i;
        TIDAL_PASS(tidal_signal_in_session(s->e.r[0], s->m.sess[0].sid, "view", item, 1.0,
                                           now + (uint64_t)i));
        TIDAL_PASS(sc_model_signal(&s->m, 0, now + (uint64_t)i, item, 0, SC_ACKED));
    }
    sc_hn_op op = {.user = 1, .item = 500, .hide = true, .ts = {.wall_ns = now - 1000}};
    TIDAL_PASS(tidal_hide_item_with_ts(s->e.r[0], op.user, op.item, op.ts));
    TIDAL_PASS(sc_model_hn(&s->m, &op));
    repl_wait_converged(&s->e);
}

Test(check, true_model_passes_every_checker)
{
    struct small s;
    small_cluster(&s);
    const sc_model *ms[1] = {&s.m};
    char why[SC_REASON_BYTES] = "";
    for (int r = 0; r < 2; r++) {
        cr_assert(sc_signals_hold(s.e.r[r], &s.m, why, sizeof(why)), "%s", why);
        cr_assert(sc_counters_hold(s.e.r[r], ms, 1, TIDAL_WINDOW_7D, repl_now_ns(), why,
                                   sizeof(why)), "%s", why);
        cr_assert(sc_hardneg_hold(s.e.r[r], ms, 1, why, sizeof(why)), "%s", why);
    }
    sc_model_free(&s.m);
    repl_close(&s.e);
}

Test(check, forged_acknowledged_signal_fails_the_signals_checker)
{
    struct small s;
    small_cluster(&s);
    TIDAL_PASS(sc_model_signal(&s.m, 0, repl_now_ns() + 77, SC_ITEM_BASE, 1, SC_ACKED));
    char why[SC_REASON_BYTES] = "";
    cr_assert_not(sc_signals_hold(s.e.r[1], &s.m, why, sizeof(why)));
    cr_assert(strstr(why, "acknowledged signal #4") && strstr(why, "missing"), "%s", why);
    /* the same signal as unknown is allowed to be absent */
    s.m.sess[0].sig[3].outcome = SC_UNKNOWN;
    cr_assert(sc_signals_hold(s.e.r[1], &s.m, why, sizeof(why)), "%s", why);
    /* a signal the region has but the model never wrote */
    s.m.sess[0].n = 2;
    cr_assert_not(sc_signals_hold(s.e.r[1], &s.m, why, sizeof(why)));
    cr_assert(strstr(why, "never written"), "%s", why);
    sc_model_free(&s.m);
    repl_close(&s.e);
}

Test(check, forged_increment_fails_the_counters_checker)
{
    struct small s;
    small_cluster(&s);
    const sc_model *ms[1] = {&s.m};
    char why[SC_REASON_BYTES] = "";
    s.m.sess[0].sig[2].item = SC_ITEM_BASE; /* item 100 twice, 102 never */
    cr_assert_not(sc_counters_hold(s.e.r[1], ms, 1, TIDAL_WINDOW_7D, repl_now_ns(), why,
                                   sizeof(why)));
    cr_assert(strstr(why, "item 100 view") != NULL, "%s", why);
    sc_model_free(&s.m);
    repl_close(&s.e);
}

Test(check, forged_later_unhide_fails_the_hardneg_checker)
{
    struct small s;
    small_cluster(&s);
    const sc_model *ms[1] = {&s.m};
    char why[SC_REASON_BYTES] = "";
    sc_hn_op op = {.user = 1, .item = 500, .hide = false, .ts = {.wall_ns = repl_now_ns()}};
    TIDAL_PASS(sc_model_hn(&s.m, &op));
    cr_assert_not(sc_hardneg_hold(s.e.r[0], ms, 1, why, sizeof(why)));
    cr_assert(strstr(why, "is hidden") != NULL, "%s", why);
    s.m.hn[1].outcome = SC_UNKNOWN; /* maybe applied, maybe not: either is right */
    cr_assert(sc_hardneg_hold(s.e.r[0], ms, 1, why, sizeof(why)), "%s", why);
    sc_model_free(&s.m);
    repl_close(&s.e);
}

/* ---- the chart ----------------------------------------------------------- */

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    cr_assert(b != NULL && fread(b, 1, (size_t)n, f) == (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

Test(check, chart_is_wellformed_svg_naming_every_lane)
{
    const char *tmp = tidal_test_tmpdir();
    char dir[64], svg[96];
    snprintf(dir, sizeof(dir), "%s", tmp);
    snprintf(svg, sizeof(svg), "%s/chart.svg", dir);
    sc_run *run = malloc(sizeof(*run));
    cr_assert(run != NULL);
    (void)sc_run_scenario(sc_find("partition"), 3, SC_INPROC, dir, true, run);
    cr_assert_gt(run->nfaults, 0, "the run traced faults");
    TIDAL_PASS(sc_chart_write(run, svg));
    char *b = slurp(svg);
    cr_assert(strncmp(b, "<?xml", 5) == 0 && strstr(b, "<svg ") && strstr(b, "</svg>\n"));
    static const char *const lanes[] = {"node", "region", "sessions", "shipper", "reconciler"};
    for (int i = 0; i < 3; i++) {
        for (int k = 0; k < 5; k++) {
            char want[40];
            snprintf(want, sizeof(want), ">%s-%d</text>", lanes[k], i);
            cr_assert(strstr(b, want) != NULL, "lane %s-%d is not named", lanes[k], i);
        }
    }
    cr_assert(strstr(b, ">PARTITION</text>") != NULL, "the legend names the fault kinds");
    cr_assert(strstr(b, "<g class=\"fault\">") != NULL, "an arrow per traced envelope");
    cr_assert(strstr(b, "partition") && strstr(b, "heal"), "the scenario's events are drawn");
    /* every opened element is closed: count tags as a structural check */
    size_t open = 0, close = 0;
    for (const char *p = b; (p = strstr(p, "<g ")) != NULL; p++) {
        open++;
    }
    for (const char *p = b; (p = strstr(p, "</g>")) != NULL; p++) {
        close++;
    }
    cr_assert_eq(open, close);
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "xmllint --noout %s", svg);
        cr_assert_eq(system(cmd), 0, "xmllint refused the chart");
    }
    free(b);
    sc_run_free(run);
    free(run);
    tidal_test_rmdir(dir);
}
