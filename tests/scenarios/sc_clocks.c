/*
 * Scenarios of clocks: fixed offsets within the tolerance the regions are
 * given (up to 5 s), offsets beyond it (writes may be refused: any error is
 * an unknown outcome, and the clocks are set right before the checks), a
 * clock that jumps 200 ms forward and back every 10 ms, and 7-day windows
 * rolling over under clocks the scenario moves.
 */
#include "scenarios/scenarios.h"

#define SEC_NS 1000000000ll

/* Fixed offsets in [-max, max] for every region, then writes and a
 * partition; the clocks are set right before the final checks. */
static int
skew(sc_run *run, int64_t max_ns, uint64_t tolerance_ns)
{
    for (int i = 0; i < 3; i++) {
        run->clk[i].offset_ns = (int64_t)sc_below(&run->rng, 2 * (uint64_t)max_ns + 1) - max_ns;
        run->ropts[i].max_skew_ns = tolerance_ns;
    }
    int rv = sc__begin(run, 3, false, 150, 2000, 3);
    if (rv != 0) {
        return rv;
    }
    sc_event_note(run, "offsets %lld %lld %lld ms", (long long)run->clk[0].offset_ns / 1000000,
                  (long long)run->clk[1].offset_ns / 1000000,
                  (long long)run->clk[2].offset_ns / 1000000);
    sc_progress(run, 0.3);
    tidal_fault_rule cut = {.partition = 1};
    sc_fault_pair(run, 0, 1, &cut, true, "partition");
    sc_progress(run, 0.6);
    sc_heal(run);
    sc_writers_join(run);
    for (int i = 0; i < 3; i++) {
        __atomic_store_n(&run->clk[i].offset_ns, 0, __ATOMIC_RELAXED);
    }
    sc_event_note(run, "clocks set right");
    sc_check_all(run);
    return 0;
}

static int
skew_within(sc_run *run)
{
    /* the regions tolerate twice the largest offset: nothing is refused */
    return skew(run, 5 * SEC_NS, 11 * (uint64_t)SEC_NS);
}

static int
skew_beyond(sc_run *run)
{
    /* the default tolerance (500 ms): a clock further off is refused or
     * fenced; quick keeps offsets short so that the stamps written ahead
     * are passed soon after the clocks are set right */
    return skew(run, run->quick ? SEC_NS : 5 * SEC_NS, 0);
}

/* Region 0's clock is 200 ms ahead during every other 10 ms (it jumps
 * forward and back), region 1's 200 ms behind. */
static int
clock_jump(sc_run *run)
{
    run->clk[0].jump_ns = 200000000;
    run->clk[0].jump_period_ns = 10000000;
    run->clk[1].jump_ns = -200000000;
    run->clk[1].jump_period_ns = 10000000;
    int rv = sc__begin(run, 3, false, 200, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    sc_progress(run, 0.5);
    tidal_fault_rule dup = {.duplicate = 0.2, .reorder_window = 4};
    sc_fault_pair(run, 0, 1, &dup, true, "duplication");
    sc_check_all(run);
    return 0;
}

/* Every region reads one clock the scenario sets: signals stamped up to 8
 * days back are written under duplication; once converged, the clock moves
 * forward in steps and at each the 1-hour, 24-hour and 7-day counts of
 * every region must be what the stamps give. */
static int
window_rollover(sc_run *run)
{
    uint64_t t0 = sc_clock_now(run, 0);
    t0 -= t0 % 60000000000ull; /* a minute edge: buckets roll at once when moved */
    for (int i = 0; i < 3; i++) {
        run->clk[i].fixed_ns = t0;
        run->w[i].past_ts = true;
        run->w[i].hn_percent = 5;
    }
    run->hn_base_ns = t0 - 10 * (uint64_t)SEC_NS;
    int rv = sc__begin(run, 3, false, 150, 2000, 3);
    if (rv != 0) {
        return rv;
    }
    tidal_fault_rule dup = {.duplicate = 0.3, .reorder_window = 4};
    sc_fault_pair(run, 1, 2, &dup, true, "duplication");
    sc_check_all(run);
    static const uint64_t step_min[] = {0, 1, 59, 60, 23 * 60, 24 * 60, 3 * 24 * 60, 4 * 24 * 60};
    const sc_model *ms[SC_WRITERS_MAX];
    for (int k = 0; k < run->nw; k++) {
        ms[k] = &run->w[k].m;
    }
    uint64_t t = t0;
    char why[SC_REASON_BYTES];
    for (size_t s = 0; s < sizeof(step_min) / sizeof(step_min[0]); s++) {
        t += step_min[s] * 60000000000ull;
        for (int i = 0; i < 3; i++) {
            __atomic_store_n(&run->clk[i].fixed_ns, t, __ATOMIC_RELEASE);
        }
        sc_event_note(run, "clock +%llu min", (unsigned long long)((t - t0) / 60000000000ull));
        for (int i = 0; i < 3; i++) {
            for (tidal_window w = TIDAL_WINDOW_1H; w <= TIDAL_WINDOW_7D; w++) {
                if (!sc_counters_hold(run->r[i], ms, run->nw, w, t, why, sizeof(why))) {
                    sc_verdict(run, "windows", false, "at +%llu min: %s",
                               (unsigned long long)((t - t0) / 60000000000ull), why);
                    return 0;
                }
            }
        }
    }
    sc_verdict(run, "windows", true, "1h/24h/7d counts right at every step up to +%llu days",
               (unsigned long long)((t - t0) / 86400000000000ull));
    return 0;
}

const sc_scenario sc__clocks[] = {
    {"skew-within", "fixed clock offsets up to 5 s, within the tolerance", skew_within},
    {"skew-beyond", "fixed clock offsets beyond the tolerance (writes may be refused)",
     skew_beyond},
    {"clock-jump", "clocks jumping 200 ms every 10 ms", clock_jump},
    {"window-rollover", "7-day windows rolling over as the clock moves", window_rollover},
};
const size_t sc__nclocks = sizeof(sc__clocks) / sizeof(sc__clocks[0]);
