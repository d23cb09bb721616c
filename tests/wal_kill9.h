/*
 * Shared by test_wal_durability.c and the child process it kills
 * (wal_kill9_child.c): the log's options.
 *
 * The child is a program of its own, started with posix_spawn, not a fork
 * of the test: Criterion's worker runs threads of its own, and a fork of a
 * threaded process may only call async-signal-safe functions until it
 * execs.  The forked child this test had before called malloc and
 * pthread_create, and once (under ASan) hung for good: a lock some parent
 * thread held at the fork was never released in the child.
 */
#ifndef TIDAL_TESTS_WAL_KILL9_H
#define TIDAL_TESTS_WAL_KILL9_H

#include "store/wal.h"

#define WAL_KILL9_ORIGIN 1
#define WAL_KILL9_SHARD 2

/* SYNC, with small segments: roll-overs during the run. */
static inline tidal_wal_opts
wal_kill9_opts(const char *dir)
{
    tidal_wal_opts o = {.dir = dir, .origin = WAL_KILL9_ORIGIN, .shard = WAL_KILL9_SHARD,
                        .durability = TIDAL_DURABILITY_SYNC, .segment_bytes = 32 << 10};
    return o;
}

#endif /* TIDAL_TESTS_WAL_KILL9_H */
