/* What the scenario families share: each file defines a table of its
 * scenarios (sc_network.c, sc_nodes.c, sc_clocks.c, sc_data.c) and the
 * registry (registry.c) lists them all. */
#ifndef TIDAL_TESTS_SCENARIOS_SCENARIOS_H
#define TIDAL_TESTS_SCENARIOS_SCENARIOS_H

#include "scenarios/harness.h"

/* Opens n regions and starts one writer per region (quick_ops or full_ops
 * operations each, sessions each).  A TIDAL_E* code if a region would not
 * open. */
int sc__begin(sc_run *run, int n, bool durable, uint64_t quick_ops, uint64_t full_ops,
              int sessions);
/* Verdict "faults": the trace holds at least one fault of kind. */
void sc__expect_faults(sc_run *run, int kind, const char *what);
/* Restarts writer w for more operations. */
int sc__writer_more(sc_run *run, sc_writer *w, uint64_t more);

extern const sc_scenario sc__network[], sc__nodes[], sc__clocks[], sc__data[];
extern const size_t sc__nnetwork, sc__nnodes, sc__nclocks, sc__ndata;

#endif /* TIDAL_TESTS_SCENARIOS_SCENARIOS_H */
