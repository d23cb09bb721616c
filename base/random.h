/*
 * The one source of random values: runtime uids, session ids, request ids.
 *
 * By default the bytes come from getrandom(2).  A seeded source replaces it
 * for the whole process (tidal__random_seed), so that a simulation run can
 * draw the same values from the same seed: the n-th draw of a seeded
 * process is a pure function of (seed, n).  Under real threads the order of
 * draws, and so which caller gets which value, still depends on scheduling;
 * only a run on one thread repeats exactly.
 */
#ifndef TIDAL_BASE_RANDOM_H
#define TIDAL_BASE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills out[0..n) with random bytes.  0, or TIDAL_EIO if the kernel's source
 * failed (nothing useful is in out then).  Thread-safe. */
int tidal__random(void *out, size_t n) __attribute__((warn_unused_result));

/* A random 64-bit value that is never 0: ids use 0 for "none".  Falls back on
 * a mix of the clock and a counter if the kernel's source fails, so it
 * cannot fail; use it only where an id must be unique, not secret. */
uint64_t tidal__random_id(void);

/* From now on every draw comes from a counter-based generator keyed by seed
 * (splitmix64 over seed and a draw counter), for the whole process.  Call it
 * before opening anything.  Cannot fail. */
void tidal__random_seed(uint64_t seed);

/* Back to the kernel's source.  Cannot fail. */
void tidal__random_unseed(void);

#endif /* TIDAL_BASE_RANDOM_H */
