/*
 * Time: elapsed milliseconds on CLOCK_MONOTONIC, and deadlines for
 * pthread_cond_timedwait, which reads one on the clock its
 * condvar was made with: CLOCK_MONOTONIC for the WAL's, the timer's and the
 * region watermark's (tidal_cond_init_monotonic), CLOCK_REALTIME for the
 * runtime's default ones.
 */
#ifndef TIDAL_BASE_TIME_H
#define TIDAL_BASE_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (for elapsed times and deadlines that a
 * step of the wall clock must not move).  Cannot fail. */
static inline uint64_t
tidal_monotonic_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The same on CLOCK_MONOTONIC_COARSE: the kernel's last tick, a few
 * milliseconds behind CLOCK_MONOTONIC at most, read without the time
 * counter, so several times cheaper.  For stamps that only need to be
 * roughly right and are taken often, under a lock (a virtual actor's last
 * activity, read against idle times of seconds).  Cannot fail. */
static inline uint64_t
tidal_monotonic_coarse_ms(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The absolute instant ns nanoseconds from now on clock.  Cannot fail. */
static inline struct timespec
tidal_deadline_ns(clockid_t clock, uint64_t ns)
{
    struct timespec ts;

    (void)clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec += (long)(ns % 1000000000u);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The absolute instant ms milliseconds from now on clock.  Cannot fail. */
static inline struct timespec
tidal_deadline(clockid_t clock, uint64_t ms)
{
    return tidal_deadline_ns(clock, ms * 1000000u);
}

/* Initialises cv to time its waits on CLOCK_MONOTONIC, so that a step of
 * the wall clock neither stretches nor cuts them.  0 or pthread_cond_init's
 * error (nothing initialised). */
static inline int
tidal_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);

    if (rc != 0) {
        return rc;
    }
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* valid clock: cannot fail */
    rc = pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
    return rc;
}

#endif /* TIDAL_BASE_TIME_H */
