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

uint64_t sc__mono_ns(void);
/* One poll interval of a condition wait (2 ms). */
void sc__nap(void);
/* Collects every open region's trace into run->faults. */
void sc__collect_all(sc_run *run);

/* Polls cond every 2 ms until it holds or ms pass; its value. */
#define SC_WAIT_UNTIL(cond, ms)                                                           \
    ({                                                                                    \
        uint64_t sc__end = sc__mono_ns() + (uint64_t)(ms) * 1000000ull;                   \
        bool sc__ok;                                                                      \
        while (!(sc__ok = (cond)) && sc__mono_ns() < sc__end) {                           \
            sc__nap();                                                                    \
        }                                                                                 \
        sc__ok;                                                                           \
    })

#endif /* TIDAL_TESTS_SCENARIOS_HARNESS_H */
