/*
 * Virtual activations, shared by the benchmarks: one runtime, one owner, and
 * n virtual actors activated by sending each one message with tidal_send
 * from plain threads (what a client of the runtime does), then the runtime
 * closed (fini runs for every one).  The baseline is the same n sends from
 * the same threads to the owner itself: the same link and frames, and no
 * activation.  The owner's cap of active virtual actors is n + 1 (the n and
 * the warm-up's), so the cap passivates none of them.
 *
 * Counts are exact: n handler calls, n activations (none for the baseline),
 * no passivation, n active virtual actors, no dead letter, n fini calls at
 * close (exit status 1 otherwise).  Errors exit with status 1.
 */
#ifndef TIDAL_BENCH_ACTIVATE_H
#define TIDAL_BENCH_ACTIVATE_H

#include <stdbool.h>
#include <stdint.h>

#define BENCH_ACTIVATE_KEY_BYTES 16u /* a session id */
#define BENCH_ACTIVATE_THREADS_MAX 64u

typedef struct bench_activate_opts {
    uint32_t n;       /* messages, and virtual actors activated; >= 1 */
    uint32_t threads; /* sender threads, each sending an equal share; 0 = 1 */
    uint32_t workers; /* the runtime's workers; 0 = the runtime's default */
    bool to_owner;    /* the baseline: send to the owner, activate nothing */
} bench_activate_opts;

typedef struct bench_activate_result {
    uint64_t total_ns;    /* first send until the n-th handler call */
    uint64_t sent_ns;     /* first send until every sender thread is done */
    uint64_t close_ns;    /* tidal_runtime_close */
    uint64_t frames;      /* nng messages the runtime received for the n */
    uint64_t rss_before;  /* process RSS just before the first send */
    uint64_t rss_after;   /* ... and after the n-th handler call */
    uint64_t heap_before; /* heap in use, likewise */
    uint64_t heap_after;
} bench_activate_result;

/* Opens a runtime, warms its link to the owner up with one message, times
 * the n sends, checks the counts and closes the runtime. */
void bench_activate_run(const bench_activate_opts *o, bench_activate_result *out);

#endif /* TIDAL_BENCH_ACTIVATE_H */
