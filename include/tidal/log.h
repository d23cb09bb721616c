/*
 * Events an operator must see, through one callback the application sets.
 *
 * Each event has a stable id (the X-macro below) and a process-wide counter.
 * By default an event is written to stderr as one line, rate-limited: of a
 * repeated kind of trouble (one reject reason on one runtime) the 1st, 2nd,
 * 4th, 8th ... occurrence is written, with the count so far, so a flood of
 * garbage cannot flood the log; what happens once per open (a truncated
 * tail) is always written.  tidal_log_set replaces
 * the writer: the callback sees the same rate-limited lines instead (every
 * occurrence is still counted).  Setting TIDAL_QUIET in the environment
 * silences the default writer, not the counters.
 */
#ifndef TIDAL_LOG_H
#define TIDAL_LOG_H

#include "tidal/export.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, stable id, what happened) */
#define TIDAL_EVENT_MAP(X)                                                                 \
    X(INPUT_REJECTED, "TIDAL-INPUT-REJECTED", "received bytes were rejected")             \
    X(PEER_REJECTED, "TIDAL-PEER-REJECTED", "a peer's message was rejected")              \
    X(LOG_TRUNCATED, "TIDAL-LOG-TRUNCATED", "a torn tail of a log was truncated on open") \
    X(LOG_REFUSED, "TIDAL-LOG-REFUSED", "a log could not be opened or recovered")         \
    X(WRITE_REFUSED, "TIDAL-WRITE-REFUSED", "a write was refused")                        \
    X(DISK_ERROR, "TIDAL-DISK-ERROR", "a write or sync of a log failed")                  \
    X(LOG_SALVAGED, "TIDAL-LOG-SALVAGED", "a damaged log was opened with what is left")   \
    X(DISK_RECOVERED, "TIDAL-DISK-RECOVERED", "a log the disk refused was written again") \
    X(CLOCK_AHEAD, "TIDAL-REGION-CLOCK-AHEAD",                                           \
      "a region's clock ran ahead of a peer's beyond its budget (writes refused), or came " \
      "back within it")                                                                    \
    X(APPLY_PAUSED, "TIDAL-APPLY-PAUSED",                                                 \
      "a peer's batches wait: as many of its session records as allowed are held")        \
    X(PEER_GONE, "TIDAL-PEER-GONE",                                                       \
      "a link gave up the messages it held for a peer unreachable past link_hold_ms")

enum tidal_event {
#define TIDAL__EVENT_ENUM(name, id, what) TIDAL_EVENT_##name,
    TIDAL_EVENT_MAP(TIDAL__EVENT_ENUM)
#undef TIDAL__EVENT_ENUM
        TIDAL_EVENT_COUNT
};

/* Receives one logged event: its kind (enum tidal_event), how many of that
 * kind there have been so far in this process, and a line of text without a
 * trailing newline.  May run on any of tidal's threads, with no tidal lock
 * held; it must not block for long and must not call back into tidal. */
typedef void (*tidal_log_fn)(void *arg, int event, uint64_t count, const char *line);

/* Replaces the writer of every later event; fn NULL restores the default
 * (stderr).  Process-wide.  Cannot fail. */
TIDAL_API void tidal_log_set(tidal_log_fn fn, void *arg);

/* Events of this kind so far in this process; 0 for an unknown kind.
 * Cannot fail. */
TIDAL_API uint64_t tidal_log_count(int event);

/* The stable id of an event ("TIDAL-LOG-TRUNCATED"), "?" if unknown.
 * Cannot fail. */
TIDAL_API const char *tidal_event_id(int event);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_LOG_H */
