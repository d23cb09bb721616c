/* The verbs of the `tidal` command (tools/ uses the public API only). */
#ifndef TIDAL_TOOLS_TOOL_H
#define TIDAL_TOOLS_TOOL_H

/* Each verb takes argv with argv[0] = the verb and returns the exit code:
 * 0 success, 1 failure (an invariant failed, the node is down), 2 usage. */
int tidal_tool_demo(int argc, char **argv);
/* The scenario matrix (check.c). */
int tidal_tool_check(int argc, char **argv);
/* Forage's RLHF export of a region's directory (export.c; built with the
 * apps only: TIDAL_TOOL_EXPORT). */
int tidal_tool_export(int argc, char **argv);
/* The live Forage app and its HTTP server (forage.c; built with TIDAL_APPS). */
int tidal_tool_forage(int argc, char **argv);

#include <stdbool.h>
#include <stdint.h>

/* Whether arg is option opt, alone or as "opt=value" (opts.c).  Cannot
 * fail. */
bool tidal_tool_is_opt(const char *arg, const char *opt);

/* The value of option argv[*i]: after its '=', or the next argument (then
 * *i moves to it).  NULL, with "tidal <verb>: <opt> needs a value" on
 * stderr, if it has none. */
const char *tidal_tool_value_of(const char *verb, int argc, char **argv, int *i, const char *opt);

/* Reads all of s as an integer from 0 to max: decimal, or hex after "0x"
 * (opts.c).  Returns false, *out unchanged, for anything else: "",
 * " 7", "-1", "0x0x7", past max.  Cannot fail otherwise. */
bool tidal_tool_read_u64(const char *s, uint64_t max, uint64_t *out);

#include "tidal/runtime.h"

/* The demo's replication phase (demo_cluster.c). */
struct tidal_demo_cluster_report {
    char url[128];
    uint64_t writes;
    uint64_t faults[TIDAL_FAULT_COUNT];
    uint64_t dup_batches;       /* duplicate batches the followers dropped */
    uint64_t reconcile_entries; /* entries merged by reconciliation */
    uint64_t converge_ns;       /* from heal to equal digests */
    uint64_t vis_p50_ns, vis_p99_ns;
    bool simulated; /* ran in a simulation: converge_ns and vis_* are
                       simulated time; else real (--real) */
    bool converged, exact, hardneg, visibility, bad_input;
    char bad_input_reason[48]; /* the reject's stable id, as the operator log named it */
};
/* Runs it in a simulation seeded from seed, or with real set on transport's
 * real threads (dir for ipc).  0 or the TIDAL_E* code that stopped it; *rep
 * has what was measured either way. */
int tidal_tool_demo_cluster(const char *transport, const char *dir, uint64_t seed, bool real,
                            struct tidal_demo_cluster_report *rep);

#endif /* TIDAL_TOOLS_TOOL_H */
