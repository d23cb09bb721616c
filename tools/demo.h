/* What the phases of `tidal demo` share: its options, its report, and how a
 * signal stops it. */
#ifndef TIDAL_TOOLS_DEMO_H
#define TIDAL_TOOLS_DEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tidal/runtime.h"
#include "tools/demo_stop.h"
#include "tools/tool.h"

#define COUNTERS 4  /* counter actors on node-a */
#define SESSIONS 64 /* virtual sessions on node-b */
#define REPLAYED 8  /* envelopes replayed to counter-0 after phase 1's count */
#define ASKS 2000u  /* asks timed in phase 2 */

#define DEMO_MESSAGES_DEFAULT 20000u
/* The throughput run sends 10 x --messages, counted in a uint32_t. */
#define DEMO_MESSAGES_MAX 400000000u
_Static_assert(DEMO_MESSAGES_MAX * 10ull <= UINT32_MAX, "throughput count fits a uint32_t");
/* --dir's length: a socket's path under it (the directory made there, 18
 * bytes, then '/' and an actor's name, up to 23) must fit sockaddr_un's 108. */
#define DEMO_DIR_BYTES_MAX 64u

struct opts {
    uint64_t seed;
    const char *transport; /* NULL = node-a on inproc, node-b on ipc, cluster on inproc */
    uint32_t messages;     /* phase 1's counter increments; 0 is refused */
    const char *dir;       /* NULL = make the temporary directory in /tmp */
    int json;              /* 0 = text report */
    int real;              /* 0 = the replication phase runs in a simulation seeded
                              from seed; 1 = on transport's real threads (--real) */
};

/* What tidal_demo_parse found: run the demo, or exit with this code. */
enum demo_parse {
    DEMO_RUN = 0,  /* *o is filled */
    DEMO_HELP = 1, /* the help was printed: exit 0 */
    DEMO_USAGE = 2 /* an error naming the argument was printed: exit 2 */
};

/* Parses argv (argv[0] = "demo") into *o.  Prints the help to stdout or one
 * line naming the bad argument to stderr.  Cannot fail otherwise. */
enum demo_parse tidal_demo_parse(int argc, char **argv, struct opts *o);

/* Prints `tidal demo --help`: every phase, every option, every exit code.
 * Cannot fail. */
void tidal_demo_help(FILE *f);

struct report {
    struct tidal_demo_cluster_report cl;
    int cluster_rv;
    uint64_t counter_sent, session_sent, handled, faults[TIDAL_FAULT_COUNT];
    uint64_t dropped, duplicated; /* node-a's DROP and DUPLICATE when handled was counted */
    uint64_t replayed, dups_seen_before, dups_seen_after, dead, rejected;
    uint64_t dead_by[TIDAL_DEAD_COUNT]; /* dead letters by reason, both nodes */
    uint64_t tput_msgs, tput_ns, frames; /* frames: nng messages node-b received in the run */
    uint64_t ask_p50_ns, ask_p99_ns, asks;
    int accounting_ok, replay_ok;
};

/* Whether every check passed: the exit code and the report's result agree.
 * Cannot fail. */
bool tidal_demo_passed(const struct report *r);

/* Prints the report as text or JSON (o->json).  Cannot fail. */
void tidal_demo_print_report(const struct opts *o, const char *ua, const char *ub,
                             const struct report *r);

#endif /* TIDAL_TOOLS_DEMO_H */
