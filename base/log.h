/*
 * The writer of operator events (tidal/log.h): every layer reports through
 * tidal__log, which counts the event and, rate-limited per kind, formats one
 * line for the application's callback or stderr.
 */
#ifndef TIDAL_BASE_LOG_H
#define TIDAL_BASE_LOG_H

#include "tidal/log.h"

/* Counts one event of kind event (enum tidal_event) and logs the printf-style
 * line if nth, the occurrence number of what is reported, is a power of two:
 * the caller's own count of it (a runtime's count of one reject reason), or
 * 1 for what happens at most once per open and must always be seen (a
 * truncated tail).  Cannot fail. */
void tidal__log(int event, uint64_t nth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* TIDAL_BASE_LOG_H */
