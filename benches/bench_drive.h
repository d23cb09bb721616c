/*
 * Driver -> sink set-ups over tidal, shared by the throughput benchmarks.
 *
 * A driver is an actor whose handler sends a burst of BENCH_DRIVE_BURST
 * 64-byte envelopes to its sink, then sends itself a GO for the rest (so it
 * never holds a worker for long); a sink counts what it handles.  A set-up
 * holds one or two runtimes (drivers in A, sinks in B, or both in one), a
 * number of sinks, and drivers added afterwards: socket-backed driver i sends
 * to sink i % sinks; virtual drivers live on BENCH_DRIVE_OWNERS owners and all
 * send to the one sink.  Each sink sits on its own cache line with its own
 * latch, so P independent pairs share nothing in the benchmark's own code.
 *
 * Counts are exact: a run waits until each sink has exactly its share, and
 * close checks every sink's total, its handler count and that neither runtime
 * has a dead letter (exit status 1 otherwise).  Errors exit with status 1.
 */
#ifndef TIDAL_BENCH_DRIVE_H
#define TIDAL_BENCH_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "benches/bench_util.h"

#define BENCH_DRIVE_BURST 256u /* envelopes a driver sends per handler call */
#define BENCH_DRIVE_OWNERS 4u  /* owners of virtual drivers */

typedef struct bench_drive bench_drive;

/* When nothing fits, a driver asks for its next GO once there is room
 * (tidal_ctx_when_room); set before opening, a non-zero value makes it
 * retry every bench_drive_poll_ms on a timer instead (bench_scale
 * --poll-ms, to compare the two). */
extern uint32_t bench_drive_poll_ms;

typedef struct bench_drive_opts {
    const char *transport; /* "inproc", "ipc" or "tcp"; NULL = inproc */
    const char *dir;       /* where ipc sockets go; NULL = none (inproc, tcp) */
    const char *tag;       /* required: unique among the process's set-ups, short */
    bool one_runtime;      /* drivers and sinks in one runtime; false = two */
    uint32_t workers;      /* workers per runtime; 0 = the runtime's default */
    uint32_t sinks;        /* sinks; 0 = 1 */
} bench_drive_opts;

/* Opens the runtime(s) and spawns the sinks. */
bench_drive *bench_drive_open(const bench_drive_opts *o);

/* Adds n socket-backed drivers, or n virtual drivers spread over
 * BENCH_DRIVE_OWNERS owners (only with one sink). */
void bench_drive_add_drivers(bench_drive *d, uint32_t n, bool virtual_drivers);

/* The first ndrivers drivers each send per_driver envelopes.  Returns the
 * nanoseconds from the first GO until every sink they feed has its share.
 * *frames gets the nng messages the sinks' runtime received meanwhile. */
uint64_t bench_drive_run(bench_drive *d, uint32_t ndrivers, uint32_t per_driver, uint64_t *frames);

/* Repeated (sender, id) pairs sink 0 has seen: anything but 0 is a miscount. */
uint64_t bench_drive_sink_duplicates(bench_drive *d);
/* The drivers' handler calls since the last call, and of those the ones
 * that could send nothing (the sink, or the link to it, full). */
void bench_drive_calls(bench_drive *d, uint64_t *calls, uint64_t *idle);

/* Checks the counts (see above), then quiesces and closes the runtime(s). */
void bench_drive_close(bench_drive *d);

/* ---- fan-in ---------------------------------------------------------------------- */

typedef struct bench_fan_in_opts {
    uint32_t senders;           /* drivers, all sending to one sink in the other runtime */
    uint32_t each;              /* envelopes per sender per run */
    uint32_t runs;              /* timed runs, 1..BENCH_RUNS_MAX */
    uint32_t workers;           /* workers per runtime; 0 = the runtime's default */
    bool virtual_senders;       /* virtual drivers on BENCH_DRIVE_OWNERS owners */
    void (*between)(void *arg); /* called after each timed run (a baseline's
                                   round, interleaved); NULL = none */
    void *arg;
} bench_fan_in_opts;

/* Fan-in on inproc: spawns the senders, warms up, times o->runs runs and
 * writes senders, messages_per_sender, owners (virtual), spawn_ms,
 * msgs_per_s (the median), runs_msgs_per_s and sink_duplicates_seen into the
 * JSON object the caller opened.  Returns the median msg/s. */
double bench_fan_in(bench_json *j, const bench_fan_in_opts *o);

#endif /* TIDAL_BENCH_DRIVE_H */
