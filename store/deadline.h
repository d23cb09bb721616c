/*
 * The absolute instant ms milliseconds from now on a clock, for
 * pthread_cond_timedwait (which reads it on the clock its condvar was made
 * with: CLOCK_MONOTONIC for the WAL's, the timer's and the region
 * watermark's, CLOCK_REALTIME for the runtime's default ones).  Cannot fail.
 */
#ifndef TIDAL_STORE_DEADLINE_H
#define TIDAL_STORE_DEADLINE_H

#include <stdint.h>
#include <time.h>

static inline struct timespec
tidal_deadline(clockid_t clock, uint64_t ms)
{
    struct timespec ts;

    (void)clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif /* TIDAL_STORE_DEADLINE_H */
