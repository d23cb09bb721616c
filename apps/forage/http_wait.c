/*
 * Long-poll waiters: GET /api/wait parks its request here until the
 * region's version (forage_app_version) differs from the one the page has,
 * with no thread per waiter.
 *
 * A parked request is nng's aio of the server connection, deferred with a
 * cancel function and a timeout (nng_aio_defer; FORAGE_HTTP_WAIT_MS unless
 * the request asks for less).  One
 * of three completes it, whoever first takes its record off the list under
 * the lock:
 *   - the waiters' thread, which reads the versions of the regions waited
 *     on every FORAGE_HTTP_WAIT_POLL_MS while anyone waits (at once when
 *     kicked), and answers {"version", "changed": true};
 *   - nng's timer, through cancel with NNG_ETIMEDOUT: {"version": since,
 *     "changed": false}; the page asks again;
 *   - the server's stop, through cancel with NNG_ECLOSED: the connection is
 *     closed without a reply.
 * The one that finds the record gone does nothing.  The cancel function's
 * argument is the waiters, never the record (which another may have freed).
 *
 * The race nng leaves: nng_aio_defer on an aio nng has already closed drops
 * the operation without a word (its callback never runs), so a record for
 * it would later be completed after nng freed the aio.  nng closes these
 * aios only in the server's stop, and forage_http_close first closes the
 * waiters (under this lock, which every defer happens under): after that
 * nothing is deferred, and what was deferred before is cancelled by stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "http_internal.h"
#include "tidal/errors.h"

typedef struct waiter {
    struct waiter *next;
    nng_aio *aio;
    uint32_t region;
    uint64_t since;
    bool close;
} waiter;

struct forage_http_waiters {
    forage_app *app;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    waiter *list;
    size_t n;
    bool closed;  /* parks are refused (the server stops) */
    bool stop;    /* the thread ends */
    bool kicked;  /* look now */
    pthread_t thread;
};

static void
answer(nng_aio *aio, uint64_t version, bool changed, bool close)
{
    char hex[17];
    forage_http_version_hex(version, hex);
    forage_http_reply(aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:s, s:b}", "version", hex, "changed", changed), close);
}

/* Takes the record of aio off the list: NULL if someone else did. */
static waiter *
take(forage_http_waiters *w, nng_aio *aio)
{
    for (waiter **p = &w->list; *p != NULL; p = &(*p)->next) {
        if ((*p)->aio == aio) {
            waiter *x = *p;
            *p = x->next;
            w->n--;
            return x;
        }
    }
    return NULL;
}

static void
cancel(nng_aio *aio, void *arg, int rv)
{
    forage_http_waiters *w = arg;
    pthread_mutex_lock(&w->mu);
    waiter *x = take(w, aio);
    pthread_mutex_unlock(&w->mu);
    if (x == NULL) {
        return;
    }
    if (rv == NNG_ETIMEDOUT) {
        answer(aio, x->since, false, x->close);
    } else {
        nng_aio_finish(aio, rv);
    }
    free(x);
}

void
forage_http_waiters_park(forage_http_waiters *w, nng_aio *aio, uint32_t region, uint64_t since,
                         uint32_t timeout_ms, bool close)
{
    uint64_t now = forage_app_version(w->app, region);
    if (now != since) {
        answer(aio, now, true, close);
        return;
    }
    waiter *x = malloc(sizeof(*x));
    if (x == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    *x = (waiter){.aio = aio, .region = region, .since = since, .close = close};
    pthread_mutex_lock(&w->mu);
    if (w->closed || w->n >= FORAGE_HTTP_WAITERS_MAX) {
        bool closed = w->closed;
        pthread_mutex_unlock(&w->mu);
        free(x);
        forage_http_fail(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, close,
                         closed ? "the server is stopping" : "too many waiters (at most %d)",
                         FORAGE_HTTP_WAITERS_MAX);
        return;
    }
    x->next = w->list;
    w->list = x;
    w->n++;
    nng_aio_set_timeout(aio, (nng_duration)timeout_ms);
    nng_aio_defer(aio, cancel, w); /* under the lock: see the race above */
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

size_t
forage_http_waiters_parked(forage_http_waiters *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void
forage_http_waiters_kick(forage_http_waiters *w)
{
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void
forage_http_waiters_close(forage_http_waiters *w)
{
    pthread_mutex_lock(&w->mu);
    w->closed = true;
    pthread_mutex_unlock(&w->mu);
}

/* Takes off the list every record whose region's version moved; returns
 * them, each with its new version in since. */
static waiter *
take_changed(forage_http_waiters *w, const uint64_t *version, const bool *asked)
{
    waiter *done = NULL;
    for (waiter **p = &w->list; *p != NULL;) {
        waiter *x = *p;
        if (asked[x->region] && version[x->region] != x->since) {
            *p = x->next;
            w->n--;
            x->since = version[x->region];
            x->next = done;
            done = x;
        } else {
            p = &x->next;
        }
    }
    return done;
}

static void
timed_wait(forage_http_waiters *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)FORAGE_HTTP_WAIT_POLL_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    (void)pthread_cond_timedwait(&w->cv, &w->mu, &ts); /* a timeout is the point */
}

static void *
watch(void *arg)
{
    forage_http_waiters *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        if (w->list == NULL) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        bool asked[FORAGE_APP_REGIONS_MAX] = {false};
        uint64_t version[FORAGE_APP_REGIONS_MAX] = {0};
        for (waiter *x = w->list; x != NULL; x = x->next) {
            asked[x->region] = true;
        }
        w->kicked = false;
        pthread_mutex_unlock(&w->mu); /* the app takes its own locks */
        for (uint32_t r = 0; r < FORAGE_APP_REGIONS_MAX; r++) {
            if (asked[r]) {
                version[r] = forage_app_version(w->app, r);
            }
        }
        pthread_mutex_lock(&w->mu);
        waiter *done = take_changed(w, version, asked);
        pthread_mutex_unlock(&w->mu);
        while (done != NULL) {
            waiter *x = done;
            done = x->next;
            answer(x->aio, x->since, true, x->close);
            free(x);
        }
        pthread_mutex_lock(&w->mu);
        if (!w->kicked && !w->stop && w->list != NULL) {
            timed_wait(w);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int
forage_http_waiters_open(forage_app *app, forage_http_waiters **out)
{
    forage_http_waiters *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    w->app = app;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, watch, w) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return TIDAL_EIO;
    }
    *out = w;
    return 0;
}

void
forage_http_waiters_free(forage_http_waiters *w)
{
    if (w == NULL) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->closed = true;
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    /* The server's stop cancelled every parked request (and with no server
     * none was parked): a record left would hold an aio nng has freed. */
    if (w->list != NULL) {
        abort();
    }
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
