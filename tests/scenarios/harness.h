/* What the scenario library's files share and nothing outside it uses. */
#ifndef TIDAL_TESTS_SCENARIOS_HARNESS_H
#define TIDAL_TESTS_SCENARIOS_HARNESS_H

#include "scenarios/scenario.h"

/* Trace entries one run keeps for its chart (40 bytes each); the chart
 * draws only the last SC_CHART_FAULTS_MAX of them. */
#define SC_FAULTS_KEPT_MAX (1u << 20)
#define SC_CHART_FAULTS_MAX 1500u
/* How long a run waits for writers to progress and regions to converge:
 * generous, as sanitizer builds on a loaded machine are slow. */
#define SC_DEADLINE_MS 30000u

/* In a simulation, a wait checks its condition at most once per simulated
 * millisecond (a check reads every region's digest; events come far more
 * often). */
#define SC_SIM_POLL_NS 1000000ull
/* The most simulated time run between two writer steps: each step then runs
 * a bit of the simulation drawn from the seed in [0, this]. */
#define SC_SIM_STEP_MAX_NS 1000000ull
/* Simulated time the regions run after they open, before any write: what
 * real threads give them while the writers start. */
#define SC_SIM_SETTLE_NS 100000000ull

uint64_t sc__mono_ns(void);
/* The run's monotonic time: simulated in a simulation, else the system's. */
uint64_t sc__now_ns(const sc_run *run);
/* Waits until cond(arg) holds or ms pass - real milliseconds polled every
 * 2 ms, or in a simulation simulated ones, running the simulation
 * (tidal_sim_run_until) - and returns cond's last value. */
bool sc__wait(sc_run *run, bool (*cond)(void *), void *arg, uint32_t ms);
/* One poll interval of a condition wait (2 ms). */
void sc__nap(void);
/* Collects every open region's trace into run->faults. */
void sc__collect_all(sc_run *run);

/* reproduce.c: what a second run of the seed must reproduce, taken when the
 * scenario returned (digests) and after every trace was collected (the
 * rest, with the simulation's counters).  Cannot fail. */
void sc__sim_digests(sc_run *run);
void sc__sim_trace_hash(sc_run *run);

#endif /* TIDAL_TESTS_SCENARIOS_HARNESS_H */
