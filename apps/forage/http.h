/*
 * Forage's HTTP server: the JSON API over the live app (app.h) and the one
 * page that drives it, on nng's HTTP supplemental (docs/http.md has the
 * endpoints, their limits and their errors).
 *
 * Threads.  nng calls the request handler on its own aio threads, which
 * tidal's transports share, so the handler never blocks there: it checks
 * the request line and headers, reads a body into the request's job if it
 * has one, and queues the job for one of FORAGE_HTTP_WORKERS threads of the
 * server's own, which make the app's (blocking) calls and complete the
 * request.  A long-poll (/api/wait) holds no thread while it waits: its
 * request is parked in a list (http_wait.c) and completed later by the
 * thread that notices the change, by nng's timer when it times out, or by
 * the server's stop.
 *
 * Ownership.  The server borrows the app: the app must stay open until
 * forage_http_close has returned.
 */
#ifndef FORAGE_HTTP_H
#define FORAGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

/* A request body, in bytes: the largest request is an answer, well under
 * 200 bytes; a body over this is refused with 413 before it is read. */
#define FORAGE_HTTP_BODY_BYTES_MAX 4096

/* Threads that make the app's calls for requests.  Each app call blocks on
 * a tidal write at most, so a few keep a page and a test busy. */
#define FORAGE_HTTP_WORKERS 4

/* Requests queued for a worker at once; past it a request gets 503 at once
 * (connections are not limited otherwise, so the queue must be). */
#define FORAGE_HTTP_QUEUE_MAX 256

/* Long-polls parked at once; past it /api/wait gets 503 at once.  Each one
 * holds a connection and a small record, no thread. */
#define FORAGE_HTTP_WAITERS_MAX 256

/* How long a long-poll waits for a change before it answers "unchanged",
 * below the 30 s many proxies and browsers give an idle request. */
#define FORAGE_HTTP_WAIT_MS 25000

/* How often the waiters' thread reads the versions of the regions someone
 * waits on (only while someone waits): the app has no change callback, and
 * a change made through this server wakes it at once anyway. */
#define FORAGE_HTTP_WAIT_POLL_MS 50

/* A user id must be exact in a JavaScript number (the page's). */
#define FORAGE_HTTP_USER_MAX ((UINT64_C(1) << 53) - 1)

/* The text of a URL the server prints, "http://127.0.0.1:65535/". */
#define FORAGE_HTTP_URL_BYTES 96

/* GET /api/export: sessions one response exports at most (a page; the
 * default 100), and the body size past which it ends its page early, after
 * the session that crossed it, so a response's memory stays bounded: the
 * next page starts after the last session sent (X-Forage-Next). */
#define FORAGE_HTTP_EXPORT_SESSIONS_MAX 1000
#define FORAGE_HTTP_EXPORT_SESSIONS_DEFAULT 100
#define FORAGE_HTTP_EXPORT_BYTES_MAX (8u << 20)

typedef struct forage_http forage_http;

/* Opens the server on addr and starts it.  addr is "HOST:PORT", ":PORT" or
 * "PORT" (host 127.0.0.1: the server binds to loopback unless a host is
 * given), or NULL for 127.0.0.1:8080; port 0 takes a free port (see
 * forage_http_url).  On error returns TIDAL_EINVAL (a bad addr),
 * TIDAL_EEXIST (the address is in use), TIDAL_ENOMEM or TIDAL_EIO, writes
 * what failed into err (FORAGE_ERR_BYTES) and leaves nothing open. */
__attribute__((warn_unused_result)) int forage_http_open(forage_app *app, const char *addr,
                                                         forage_http **out, char *err);

/* Whether addr is of a form forage_http_open takes (NULL is).  Cannot
 * fail. */
bool forage_http_addr_valid(const char *addr);

/* The URL the server answers at, "http://HOST:PORT/", with the port it
 * bound.  Valid until forage_http_close.  Cannot fail. */
const char *forage_http_url(const forage_http *h);

/* Long-polls parked now (for tests and the curious).  Cannot fail. */
size_t forage_http_parked(const forage_http *h);

/* Stops the server: answers every parked long-poll's connection by closing
 * it, waits for the requests in progress to finish, stops the threads and
 * frees everything.  The app is left open.  Accepts NULL.  Never call it
 * from a request's thread. */
void forage_http_close(forage_http *h);

#endif /* FORAGE_HTTP_H */
