/* Operator events (tidal/log.h, base/log.h). */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"

/* One line's bytes: the longest a report needs (an id, a path, a reason). */
#define LOG_LINE_BYTES 512

static const char *const event_ids[] = {
#define TIDAL__EVENT_ID(name, id, what) id,
    TIDAL_EVENT_MAP(TIDAL__EVENT_ID)
#undef TIDAL__EVENT_ID
};

static atomic_uint_least64_t counts[TIDAL_EVENT_COUNT];

/* The writer: read together, so that a callback never runs with another's
 * argument. */
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;
static tidal_log_fn writer_fn;
static void *writer_arg;

void
tidal_log_set(tidal_log_fn fn, void *arg)
{
    pthread_mutex_lock(&writer_lock);
    writer_fn = fn;
    writer_arg = arg;
    pthread_mutex_unlock(&writer_lock);
}

uint64_t
tidal_log_count(int event)
{
    if (event < 0 || event >= TIDAL_EVENT_COUNT) {
        return 0;
    }
    return atomic_load(&counts[event]);
}

const char *
tidal_event_id(int event)
{
    if (event < 0 || event >= TIDAL_EVENT_COUNT) {
        return "?";
    }
    return event_ids[event];
}

void
tidal__log(int event, uint64_t nth, const char *fmt, ...)
{
    TIDAL_ASSERT(event >= 0);
    TIDAL_ASSERT(event < TIDAL_EVENT_COUNT);
    TIDAL_ASSERT(nth > 0);
    uint64_t n = atomic_fetch_add(&counts[event], 1) + 1;
    if ((nth & (nth - 1)) != 0) {
        return; /* only the 1st, 2nd, 4th, 8th ... */
    }
    char line[LOG_LINE_BYTES];
    int used = snprintf(line, sizeof(line), "tidal: %s: ", event_ids[event]);
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap); /* truncates */
    va_end(ap);

    /* The callback runs under writer_lock: tidal_log_set returns only once no
     * call of the writer it replaces is running, so the application may free
     * that writer's argument after it. */
    pthread_mutex_lock(&writer_lock);
    if (writer_fn != NULL) {
        writer_fn(writer_arg, event, n, line);
    } else if (getenv("TIDAL_QUIET") == NULL) {
        fprintf(stderr, "%s\n", line);
    }
    pthread_mutex_unlock(&writer_lock);
}
