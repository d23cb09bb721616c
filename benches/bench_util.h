/*
 * Helpers shared by the benchmarks in benches/ (like nng's perf tools).
 *
 * Every benchmark prints one JSON object on stdout with units in its keys,
 * measures its own baselines in the same run (docs/measurements.md: figures
 * move by up to 2x between runs and machines), asserts the counts of what it timed
 * (exit 1 if one is off) and never asserts a timing.  `--quick` makes every
 * count tiny, so ctest runs each benchmark and it never rots.
 *
 * Here: clocks and statistics, a JSON writer, a latch that wakes a waiter
 * when a counter reaches its target, process memory, temporary directories
 * and raw nng sockets.  The in-memory ceiling and its msgpack envelope are in
 * bench_ring.h.
 */
#ifndef TIDAL_BENCH_UTIL_H
#define TIDAL_BENCH_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "tidal/errors.h"
#include "tidal/runtime.h"

/* Exits with status 1 if expr (a tidal call) does not return 0. */
#define BENCH_PASS(expr)                                                                           \
    do {                                                                                           \
        int bench_rv_ = (expr);                                                                    \
        if (bench_rv_ != 0) {                                                                      \
            bench_fatal(__FILE__, __LINE__, #expr, tidal_errname(bench_rv_));                      \
        }                                                                                          \
    } while (0)

/* Exits with status 1 if expr (an nng call) does not return 0. */
#define BENCH_NNG(expr)                                                                            \
    do {                                                                                           \
        int bench_rv_ = (expr);                                                                    \
        if (bench_rv_ != 0) {                                                                      \
            bench_fatal(__FILE__, __LINE__, #expr, nng_strerror(bench_rv_));                       \
        }                                                                                          \
    } while (0)

/* Exits with status 1 unless cond holds: the counts a benchmark timed. */
#define BENCH_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            bench_fatal(__FILE__, __LINE__, #cond, "check failed");                                \
        }                                                                                          \
    } while (0)

__attribute__((noreturn)) void bench_fatal(const char *file, int line, const char *what,
                                           const char *why);

/* The transports every transport-parametrised benchmark runs on. */
#define BENCH_TRANSPORTS 3
extern const char *const bench_transports[BENCH_TRANSPORTS]; /* inproc, ipc, tcp */

/* ---- arguments, clocks, statistics ------------------------------------------ */

/* True if argv holds --quick.  Exits with status 2 on any other argument. */
bool bench_parse_quick(int argc, char **argv, const char *usage);

/* Nanoseconds on a monotonic clock.  Cannot fail. */
uint64_t bench_now_ns(void);

/* Sorts v ascending.  Cannot fail. */
void bench_sort_u64(uint64_t *v, size_t n);

/* The p-th percentile (0..100, nearest rank) of sorted v; 0 if n is 0. */
uint64_t bench_percentile(const uint64_t *sorted, size_t n, double p);

/* The median of v (n >= 1), which is left unchanged.  Cannot fail. */
double bench_median(const double *v, size_t n);

/* Messages per second of n messages in ns nanoseconds (0 if ns is 0). */
double bench_rate(uint64_t n, uint64_t ns);

/* ---- JSON ------------------------------------------------------------------------ */

/* A JSON writer on stdout that places the commas.  Nesting up to 8 deep.
 * Keys are trusted literals (no escaping); inside an array, pass NULL as the
 * key of each element. */
typedef struct bench_json {
    int depth;
    bool first[8];
} bench_json;

void bench_json_begin(bench_json *j);                /* "{" */
void bench_json_end(bench_json *j);                  /* "}\n" */
void bench_json_obj(bench_json *j, const char *key); /* "key":{ */
void bench_json_close(bench_json *j);                /* } */
void bench_json_arr(bench_json *j, const char *key); /* "key":[ */
void bench_json_arr_close(bench_json *j);            /* ] */
void bench_json_u64(bench_json *j, const char *key, uint64_t v);
void bench_json_f(bench_json *j, const char *key, double v, int decimals);
void bench_json_str(bench_json *j, const char *key, const char *v);
void bench_json_bool(bench_json *j, const char *key, bool v);
void bench_json_farr(bench_json *j, const char *key, const double *v, size_t n, int decimals);

/* ---- runs of one figure ----------------------------------------------------------- */

#define BENCH_RUNS_MAX 16u /* runs of one figure a benchmark may ask for */

/* The rates of one figure's runs, in the order they ran. */
typedef struct bench_series {
    double rate[BENCH_RUNS_MAX];
    uint32_t n;
} bench_series;

/* Adds the rate of count things in ns nanoseconds.  Exits if the series
 * already holds BENCH_RUNS_MAX runs. */
void bench_series_add(bench_series *s, uint64_t count, uint64_t ns);

/* Writes "key":{"<unit>_per_s":median,"runs_<unit>_per_s":[every run]} and
 * returns the median (s holds at least one run). */
double bench_series_json(bench_json *j, const char *key, const bench_series *s, const char *unit);

/* ---- latch ----------------------------------------------------------------------- */

/* A counter that wakes its waiter when it reaches its target: the handler
 * counting received messages calls bench_latch_add, the timing thread
 * bench_latch_wait.  No polling and no fixed sleep. */
typedef struct bench_latch {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_uint_least64_t count;
    uint64_t target; /* set before the messages are sent */
} bench_latch;

void bench_latch_init(bench_latch *l);
void bench_latch_fini(bench_latch *l);
/* Resets the count to 0 and the target to target.  Not while adds run. */
void bench_latch_reset(bench_latch *l, uint64_t target);
/* Adds n; wakes the waiter if the count reached the target.  Cannot fail. */
void bench_latch_add(bench_latch *l, uint64_t n);
/* Waits until count >= target or timeout_ms pass; returns the count. */
uint64_t bench_latch_wait(bench_latch *l, uint32_t timeout_ms);

/* What bench_count_behaviour counts: inits, handler calls and finis of every
 * actor spawned with it (its arg, or virtual_arg, is a bench_counts). */
typedef struct bench_counts {
    atomic_uint_least64_t inits;
    atomic_uint_least64_t finis;
    bench_latch handled;
} bench_counts;
extern const tidal_behaviour bench_count_behaviour;
/* Its handler alone, for a behaviour of one's own that counts the same. */
int bench_count_handle(tidal_ctx *ctx, void *state, const tidal_msg *m);

/* ---- process memory, temporary directories, raw nng ---------------------------------- */

/* Resident set size in bytes (/proc/self/statm); 0 if unreadable. */
uint64_t bench_rss_bytes(void);
/* Heap bytes in use (mallinfo2: arena in use + mmapped blocks). */
uint64_t bench_heap_bytes(void);

/* Makes a fresh directory under /tmp into out (cap >= 32).  Exits on error. */
void bench_tmpdir(char *out, size_t cap, const char *prefix);
/* Removes a directory tree.  Best effort. */
void bench_rmdir(const char *path);

/* A base URL for a runtime on transport ("inproc", "ipc", "tcp"): a unique
 * inproc name, ipc:// under dir, or tcp://127.0.0.1. */
void bench_base_url(const char *transport, const char *dir, const char *tag, char *out, size_t cap);

/* Starts a listener on sock for a raw nng baseline on transport: a unique
 * inproc name, an ipc path under dir, or tcp on a port the OS picks.  out
 * gets the URL to dial.  Exits on error. */
void bench_nng_listen(nng_socket sock, const char *transport, const char *dir, const char *tag,
                      char *out, size_t cap);

#endif /* TIDAL_BENCH_UTIL_H */
