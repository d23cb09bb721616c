/* What the phases of `tidal demo` share: its options and its report. */
#ifndef TIDAL_TOOLS_DEMO_H
#define TIDAL_TOOLS_DEMO_H

#include <stdint.h>

#include "tidal/runtime.h"
#include "tools/tool.h"

#define COUNTERS 4  /* counter actors on node-a */
#define SESSIONS 64 /* virtual sessions on node-b */

struct opts {
    uint64_t seed;
    const char *transport; /* NULL = inproc + ipc */
    uint32_t messages;
    int json;
};

struct report {
    struct tidal_demo_cluster_report cl;
    int cluster_rv;
    uint64_t counter_sent, session_sent, handled, faults[TIDAL_FAULT_COUNT];
    uint64_t replayed, dups_seen_before, dups_seen_after, dead, rejected;
    uint64_t tput_msgs, tput_ns, frames;
    uint64_t ask_p50_ns, ask_p99_ns, asks;
    int accounting_ok, replay_ok;
};

/* Prints the report as text or JSON (o->json).  Cannot fail. */
void tidal_demo_print_report(const struct opts *o, const char *ua, const char *ub,
                             const struct report *r);

#endif /* TIDAL_TOOLS_DEMO_H */
