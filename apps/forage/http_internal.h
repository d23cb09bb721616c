/*
 * What the parts of Forage's HTTP server share (http.h has the threads):
 * a request's job, the routes, the replies, the request arguments and the
 * long-poll waiters.  Not for use outside apps/forage/http_*.c.
 *
 * A job completes its request exactly once: with a reply (forage_http_reply
 * and friends, which set the response as the aio's output and finish it),
 * or by handing the request to the waiters (forage_http_waiters_park), who
 * then own that completion.  The job itself is freed by the worker after
 * its route returns.
 */
#ifndef FORAGE_HTTP_INTERNAL_H
#define FORAGE_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "app.h"
#include "http.h"

/* An error message in a reply: it names the field and the rule. */
#define FORAGE_HTTP_MSG_BYTES 256

typedef struct forage_http_waiters forage_http_waiters;

typedef struct forage_http_job {
    struct forage_http_job *next; /* in the workers' queue */
    forage_http *srv;
    const struct forage_http_route *route;
    nng_aio *aio;      /* the server's: completed once, with the response */
    nng_http_req *req; /* the server's; valid until aio completes */
    nng_http_conn *conn;
    const char *query; /* after the '?' of the request's URI ("" if none) */
    bool close;        /* the request declared a body nobody read: the reply
                        * closes the connection, or its bytes would be read
                        * as the next request */
    nng_aio *rd;       /* reads the body; NULL when there is none */
    size_t len;        /* body bytes */
    char body[FORAGE_HTTP_BODY_BYTES_MAX];
} forage_http_job;

typedef struct forage_http_route {
    const char *path;   /* exact, no trailing '/' but for "/" */
    const char *method; /* "GET" (HEAD too) or "POST" (with a JSON body) */
    void (*fn)(forage_http_job *j);
} forage_http_route;

/* The routes (http_api.c), ending with a NULL path. */
extern const forage_http_route forage_http_routes[];

/* The server's parts a route needs.  Cannot fail. */
forage_app *forage_http__app(const forage_http *h);
forage_http_waiters *forage_http__waiters(const forage_http *h);

/* ---- replies (http_server.c) ---------------------------------------------
 * Each completes aio with a response; if the response cannot be made (no
 * memory) it finishes aio with NNG_ENOMEM, and nng closes the connection.
 * close adds "Connection: close". */

/* status with body as JSON; takes body's reference (NULL: no memory). */
void forage_http_reply(nng_aio *aio, uint16_t status, json_t *body, bool close);
/* status with {"error": fmt...}. */
void forage_http_fail(nng_aio *aio, uint16_t status, bool close, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 405 with {"error": fmt...} and the Allow header naming the methods the
 * path takes ("GET, HEAD"). */
void forage_http_fail_method(nng_aio *aio, bool close, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 200 with data (static: not copied) of content type ctype. */
void forage_http_reply_static(nng_aio *aio, const void *data, size_t len, const char *ctype);
/* The status for a tidal error code from the app, and the message. */
uint16_t forage_http_status_of(int rv);

/* ---- arguments (http_args.c) ---------------------------------------------
 * A request's arguments, from a JSON object (a POST's body) or a query
 * string (a GET): each endpoint says which it allows and which it needs.
 * An argument not allowed, given twice, missing or of the wrong form is a
 * 400 whose message names it. */
enum {
    FORAGE_ARG_REGION = 1u << 0,  /* integer 0..FORAGE_APP_REGIONS_MAX-1 */
    FORAGE_ARG_USER = 1u << 1,    /* integer 0..FORAGE_HTTP_USER_MAX */
    FORAGE_ARG_SESSION = 1u << 2, /* 32 hex digits */
    FORAGE_ARG_ITEM = 1u << 3,    /* integer 0..FORAGE_HTTP_USER_MAX */
    FORAGE_ARG_ANSWER = 1u << 4,  /* "view", "like", "skip", "hide", "unhide" */
    FORAGE_ARG_SINCE = 1u << 5,   /* a version: 1 to 16 hex digits */
    FORAGE_ARG_TIMEOUT = 1u << 6, /* milliseconds, 1..FORAGE_HTTP_WAIT_MS */
    FORAGE_ARG_AFTER = 1u << 7,   /* 32 hex digits: a session id, the export's cursor */
    FORAGE_ARG_SESSIONS = 1u << 8, /* integer 1..FORAGE_HTTP_EXPORT_SESSIONS_MAX */
};

typedef struct forage_http_args {
    unsigned have; /* FORAGE_ARG_* bits given */
    uint32_t region;
    uint64_t user;
    tidal_session_id session;
    uint64_t item;
    int answer; /* forage_answer */
    uint64_t since;
    uint32_t timeout; /* ms */
    tidal_session_id after;
    uint32_t sessions;
} forage_http_args;

/* Parses a JSON object body.  Returns 0, or 400 with msg (FORAGE_HTTP_MSG_BYTES)
 * saying what is wrong; *out is then unspecified.  Cannot fail otherwise. */
int forage_http_args_json(const char *body, size_t len, unsigned allowed, unsigned required,
                          forage_http_args *out, char *msg);
/* Parses "k=v&k=v" (no percent-escapes: every value is digits or a word).
 * The same returns. */
int forage_http_args_query(const char *query, unsigned allowed, unsigned required,
                           forage_http_args *out, char *msg);

/* A request's arguments as its route takes them (a POST's body, a GET's
 * query), the region checked against the regions running: true, or false
 * with the 400 sent.  Cannot fail otherwise. */
bool forage_http_args_of(forage_http_job *j, unsigned allowed, unsigned required,
                         forage_http_args *a);
/* Replies to a refused app call with the status of its code and "what: why". */
void forage_http_fail_app(forage_http_job *j, int rv, const char *what);

/* Session ids are written and read as the export does (export.h:
 * forage_export_session_hex, forage_export_session_parse). */

/* A version as 16 lowercase hex digits and a NUL. Cannot fail. */
void forage_http_version_hex(uint64_t v, char out[17]);

/* ---- long-poll waiters (http_wait.c) ------------------------------------ */

/* Starts the waiters' thread.  0, or TIDAL_ENOMEM / TIDAL_EIO (no thread);
 * nothing is left then. */
__attribute__((warn_unused_result)) int forage_http_waiters_open(forage_app *app,
                                                                 forage_http_waiters **out);

/* Completes aio when region's version differs from since (at once if it
 * already does), or after timeout_ms with "unchanged", or with NNG_ECLOSED
 * when the server stops.  Takes over aio's completion. */
void forage_http_waiters_park(forage_http_waiters *w, nng_aio *aio, uint32_t region,
                              uint64_t since, uint32_t timeout_ms, bool close);

/* How many are parked now.  Cannot fail. */
size_t forage_http_waiters_parked(forage_http_waiters *w);

/* Something changed through this server: look at the versions now.
 * Cannot fail. */
void forage_http_waiters_kick(forage_http_waiters *w);

/* From now on a park is answered at once with 503 (the server is stopping;
 * those parked are completed by the server's stop).  Cannot fail. */
void forage_http_waiters_close(forage_http_waiters *w);

/* Stops the thread and frees w; anything still parked is finished with
 * NNG_ECLOSED.  Accepts NULL. */
void forage_http_waiters_free(forage_http_waiters *w);

/* ---- the latest slate (http_slate.c) ---------------------------------- */

/* Session s's latest slate in region: its user, its number (0 if none was
 * served yet) and its items not hidden now, as a JSON array of {id, title,
 * label, source, answer} (answer: the latest in that slate, or null).
 * TIDAL_ENOENT for an unknown session; TIDAL_ENOMEM; the codes of tidal's
 * reads.  Writes nothing. */
__attribute__((warn_unused_result)) int
forage_http_current_slate(forage_app *app, uint32_t region, tidal_session_id s,
                          tidal_entity_id *user, uint32_t *slate, json_t **items);

/* ---- the page (http_page.c) and the export (http_export.c) ----------- */
void forage_http_page(forage_http_job *j);
void forage_http_export(forage_http_job *j);

#endif /* FORAGE_HTTP_INTERNAL_H */
