/*
 * The actors of `tidal demo`'s runtime phases (demo_actors.c) and the state
 * they share with the phases that drive them (demo.c).
 */
#ifndef TIDAL_TOOLS_DEMO_ACTORS_H
#define TIDAL_TOOLS_DEMO_ACTORS_H

#include <stdatomic.h>

#include "tidal/runtime.h"
#include "tools/demo.h"

#define T_ADD 1000u  /* payload: int64 delta, little endian */
#define T_GO 1001u   /* payload: uint32 envelopes still to send */
#define T_DATA 1002u /* throughput payload: 64 opaque bytes */
#define T_ECHO 1003u /* echoed back to the asker */
#define BURST 256u

struct counter {
    atomic_long sum;
};

struct demo {
    struct counter counters[COUNTERS];
    atomic_long session_msgs;
    atomic_long sink_count;
    tidal_addr sink;
};

/* Spawns COUNTERS counters and the driver on a, the session owner and the
 * sink on b, and gives their addresses.  0 or the first failure's code. */
int tidal_demo_spawn_all(tidal_runtime *a, tidal_runtime *b, struct demo *d, tidal_addr *counters,
                         tidal_addr *sessions, tidal_addr *driver);

#endif /* TIDAL_TOOLS_DEMO_ACTORS_H */
