/*
 * The server: nng's HTTP server with one handler for every path and method,
 * the routing, the body limit, the workers' queue and the replies.
 *
 * nng's handler runs on nng's aio threads (shared with tidal's transports),
 * so on_request only routes and checks headers; a request that gets that
 * far becomes a job that a worker of ours runs (http.h).  nng is left to
 * collect no body (it would answer an oversized one with its own 400 page):
 * a POST's Content-Length is checked here against
 * FORAGE_HTTP_BODY_BYTES_MAX (413 past it, the connection closed since the
 * body is never read) and the body read into the job.
 *
 * Stop order (forage_http_close): the waiters refuse new parks; nng's stop
 * closes every connection, which cancels the parked long-polls and waits
 * for the requests in progress, which the workers, still running, finish;
 * then the workers and the waiters' thread are stopped.  The app is never
 * called after close returns.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "tidal/errors.h"

struct forage_http {
    forage_app *app;
    nng_http_server *server;
    forage_http_waiters *waiters;
    char url[FORAGE_HTTP_URL_BYTES];

    pthread_mutex_t mu; /* the queue and stopping */
    pthread_cond_t cv;
    forage_http_job *head, *tail;
    size_t queued;
    bool stopping;
    pthread_t workers[FORAGE_HTTP_WORKERS];
    int nworkers;
};

forage_app *
forage_http__app(const forage_http *h)
{
    return h->app;
}

forage_http_waiters *
forage_http__waiters(const forage_http *h)
{
    return h->waiters;
}

size_t
forage_http_parked(const forage_http *h)
{
    return forage_http_waiters_parked(h->waiters);
}

const char *
forage_http_url(const forage_http *h)
{
    return h->url;
}

/* ---- the workers -------------------------------------------------------- */

static void
job_free(forage_http_job *j)
{
    if (j->rd != NULL) {
        nng_aio_free(j->rd); /* its callback has queued the job: it is done or ending */
    }
    free(j);
}

/* Queues j for a worker; false (j not queued) when the queue is full or
 * the workers are stopping. */
static bool
enqueue(forage_http *h, forage_http_job *j)
{
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->queued >= FORAGE_HTTP_QUEUE_MAX) {
        pthread_mutex_unlock(&h->mu);
        return false;
    }
    j->next = NULL;
    if (h->tail != NULL) {
        h->tail->next = j;
    } else {
        h->head = j;
    }
    h->tail = j;
    h->queued++;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return true;
}

/* Queues j, or refuses its request with 503 and frees it.  From j->rd's
 * own callback (in_rd), which nng_aio_free would wait on forever, the aio
 * is reaped instead. */
static void
enqueue_or_refuse(forage_http *h, forage_http_job *j, bool in_rd)
{
    if (!enqueue(h, j)) {
        nng_aio *aio = j->aio;
        bool close = j->close;
        if (in_rd) {
            nng_aio_reap(j->rd);
            j->rd = NULL;
        }
        job_free(j);
        forage_http_fail(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE, close,
                         "the server is busy or stopping; try again");
    }
}

static void *
worker(void *arg)
{
    forage_http *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->head == NULL && !h->stopping) {
            pthread_cond_wait(&h->cv, &h->mu);
        }
        forage_http_job *j = h->head;
        if (j == NULL) {
            break; /* stopping, and nothing left */
        }
        h->head = j->next;
        if (h->head == NULL) {
            h->tail = NULL;
        }
        h->queued--;
        pthread_mutex_unlock(&h->mu);
        j->route->fn(j);
        job_free(j);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- routing and the body ----------------------------------------------- */

static void
body_read(void *arg)
{
    forage_http_job *j = arg;
    int rv = nng_aio_result(j->rd);
    if (rv != 0) { /* the peer went, or the server stops: no reply to send */
        nng_aio *aio = j->aio;
        nng_aio_reap(j->rd); /* its own callback: it cannot be freed here */
        free(j);
        nng_aio_finish(aio, rv);
        return;
    }
    enqueue_or_refuse(j->srv, j, true);
}

/* The route of path and method: NULL with allow naming the methods the
 * path takes for a message ("" if no route has that path), and allow_hdr
 * for the Allow header (GET brings HEAD with it). */
static const forage_http_route *
route_of(const char *path, size_t plen, const char *method, char allow[32], char allow_hdr[48])
{
    allow[0] = '\0';
    allow_hdr[0] = '\0';
    if (strcmp(method, "HEAD") == 0) {
        method = "GET";
    }
    for (const forage_http_route *r = forage_http_routes; r->path != NULL; r++) {
        if (strlen(r->path) != plen || memcmp(r->path, path, plen) != 0) {
            continue;
        }
        if (strcmp(r->method, method) == 0) {
            return r;
        }
        size_t n = strlen(allow), h = strlen(allow_hdr);
        (void)snprintf(allow + n, 32 - n, "%s%s", n > 0 ? " or " : "", r->method);
        (void)snprintf(allow_hdr + h, 48 - h, "%s%s%s", h > 0 ? ", " : "", r->method,
                       strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
    }
    return NULL;
}

/* A POST's body: how long it says it is (0 if it is refused: replied). */
static bool
post_length(nng_aio *aio, nng_http_req *req, size_t *len)
{
    const char *cl = nng_http_req_get_header(req, "Content-Length");
    if (nng_http_req_get_header(req, "Transfer-Encoding") != NULL || cl == NULL) {
        forage_http_fail(aio, NNG_HTTP_STATUS_LENGTH_REQUIRED, true,
                         "a POST needs a Content-Length (chunked bodies are not taken)");
        return false;
    }
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    if (*cl < '0' || *cl > '9' || *end != '\0') {
        forage_http_fail(aio, NNG_HTTP_STATUS_BAD_REQUEST, true, "bad Content-Length '%.32s'",
                         cl);
        return false;
    }
    if (n > FORAGE_HTTP_BODY_BYTES_MAX) {
        forage_http_fail(aio, NNG_HTTP_STATUS_PAYLOAD_TOO_LARGE, true,
                         "the body is %llu bytes; the limit is %d", n,
                         FORAGE_HTTP_BODY_BYTES_MAX);
        return false;
    }
    *len = (size_t)n;
    return true;
}

/* nng's handler, on nng's aio thread: never blocks. */
static void
on_request(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    forage_http *h = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
    const char *uri = nng_http_req_get_uri(req);
    const char *method = nng_http_req_get_method(req);
    size_t plen = strcspn(uri, "?#");
    bool post = strcmp(method, "POST") == 0;
    /* a body this server will not read must not be taken for a request */
    bool close = !post && (nng_http_req_get_header(req, "Content-Length") != NULL ||
                           nng_http_req_get_header(req, "Transfer-Encoding") != NULL);
    char allow[32], allow_hdr[48];
    const forage_http_route *r = route_of(uri, plen, method, allow, allow_hdr);
    if (r == NULL && allow[0] == '\0') {
        forage_http_fail(aio, NNG_HTTP_STATUS_NOT_FOUND, close || post, "no such endpoint: %.*s",
                         (int)(plen > 64 ? 64 : plen), uri);
        return;
    }
    if (r == NULL) {
        forage_http_fail_method(aio, close || post, allow_hdr, "%.*s takes %s only",
                                (int)(plen > 64 ? 64 : plen), uri, allow);
        return;
    }
    size_t len = 0;
    if (post && !post_length(aio, req, &len)) {
        return;
    }
    forage_http_job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    *j = (forage_http_job){.srv = h, .route = r, .aio = aio, .req = req,
                           .conn = nng_aio_get_input(aio, 2), .close = close, .len = len,
                           .query = uri[plen] == '?' ? uri + plen + 1 : ""};
    if (len == 0) {
        enqueue_or_refuse(h, j, false);
        return;
    }
    if (nng_aio_alloc(&j->rd, body_read, j) != 0) {
        free(j);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_iov iov = {.iov_buf = j->body, .iov_len = len};
    (void)nng_aio_set_iov(j->rd, 1, &iov); /* one iov always fits */
    nng_http_conn_read_all(j->conn, j->rd);
}

/* ---- open and close ----------------------------------------------------- */

/* "http://HOST:PORT" from addr (http.h); false if addr is not of that form. */
static bool
url_of(const char *addr, char *url, size_t size)
{
    if (addr == NULL) {
        addr = "127.0.0.1:8080";
    }
    const char *colon = strrchr(addr, ':');
    const char *port = colon != NULL ? colon + 1 : addr;
    size_t hlen = colon != NULL ? (size_t)(colon - addr) : 0;
    size_t n = strlen(port);
    if (n == 0 || n > 5 || strspn(port, "0123456789") != n || atoi(port) > 65535) {
        return false;
    }
    /* a bare IPv6 address needs its brackets, or its last group is the port */
    if (memchr(addr, ':', hlen) != NULL && (addr[0] != '[' || addr[hlen - 1] != ']')) {
        return false;
    }
    int w = hlen == 0 ? snprintf(url, size, "http://127.0.0.1:%s", port)
                      : snprintf(url, size, "http://%.*s:%s", (int)hlen, addr, port);
    return w > 0 && (size_t)w < size;
}

static int
tidal_of_nng(int rv)
{
    switch (rv) {
    case NNG_ENOMEM:
        return TIDAL_ENOMEM;
    case NNG_EADDRINUSE:
        return TIDAL_EEXIST;
    case NNG_EADDRINVAL:
    case NNG_EINVAL:
        return TIDAL_EINVAL;
    default:
        return TIDAL_EIO;
    }
}

/* The handler for every path and method; nng holds it once added. */
static int
add_handler(forage_http *h)
{
    nng_http_handler *hd;
    int rv = nng_http_handler_alloc(&hd, "/", on_request);
    if (rv != 0) {
        return rv;
    }
    if ((rv = nng_http_handler_set_method(hd, NULL)) != 0 ||
        (rv = nng_http_handler_set_tree(hd)) != 0 ||
        (rv = nng_http_handler_collect_body(hd, false, 0)) != 0 ||
        (rv = nng_http_handler_set_data(hd, h, NULL)) != 0 ||
        (rv = nng_http_server_add_handler(h->server, hd)) != 0) {
        nng_http_handler_free(hd);
    }
    return rv;
}

/* Binds and starts h->server on url; the URL it answers at into h->url. */
static int
start_server(forage_http *h, const char *url, char *err)
{
    nng_url *u;
    int rv = nng_url_parse(&u, url);
    if (rv != 0) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "%s: %s", url, nng_strerror(rv));
        return tidal_of_nng(rv);
    }
    if ((rv = nng_http_server_hold(&h->server, u)) != 0) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "%s: %s", url, nng_strerror(rv));
        nng_url_free(u);
        return tidal_of_nng(rv);
    }
    nng_sockaddr sa;
    if ((rv = add_handler(h)) != 0 || (rv = nng_http_server_start(h->server)) != 0 ||
        (rv = nng_http_server_get_addr(h->server, &sa)) != 0) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "%s: %s", url, nng_strerror(rv));
        nng_http_server_release(h->server);
        h->server = NULL;
        nng_url_free(u);
        return tidal_of_nng(rv);
    }
    unsigned port = sa.s_family == NNG_AF_INET6 ? sa.s_in6.sa_port : sa.s_in.sa_port;
    port = (port >> 8 | port << 8) & 0xffff; /* network order */
    (void)snprintf(h->url, sizeof(h->url), "http://%s:%u/", u->u_hostname, port);
    nng_url_free(u);
    return 0;
}

static void
stop_workers(forage_http *h)
{
    pthread_mutex_lock(&h->mu);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < h->nworkers; i++) {
        pthread_join(h->workers[i], NULL);
    }
    h->nworkers = 0;
}

bool
forage_http_addr_valid(const char *addr)
{
    char url[FORAGE_HTTP_URL_BYTES];
    return url_of(addr, url, sizeof(url));
}

int
forage_http_open(forage_app *app, const char *addr, forage_http **out, char *err)
{
    char url[FORAGE_HTTP_URL_BYTES];
    *out = NULL;
    if (app == NULL || !url_of(addr, url, sizeof(url))) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "bad address '%s': HOST:PORT, :PORT or PORT",
                       addr != NULL ? addr : "(null)");
        return TIDAL_EINVAL;
    }
    forage_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "no memory for the server");
        return TIDAL_ENOMEM;
    }
    h->app = app;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    int rv = forage_http_waiters_open(app, &h->waiters);
    if (rv != 0) {
        (void)snprintf(err, FORAGE_ERR_BYTES, "cannot start the long-poll thread");
        goto fail_waiters;
    }
    for (; h->nworkers < FORAGE_HTTP_WORKERS; h->nworkers++) {
        if (pthread_create(&h->workers[h->nworkers], NULL, worker, h) != 0) {
            (void)snprintf(err, FORAGE_ERR_BYTES, "cannot start the workers");
            rv = TIDAL_EIO;
            goto fail_workers;
        }
    }
    if ((rv = start_server(h, url, err)) != 0) {
        goto fail_workers;
    }
    *out = h;
    return 0;

fail_workers:
    stop_workers(h);
    forage_http_waiters_free(h->waiters);
fail_waiters:
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    return rv;
}

void
forage_http_close(forage_http *h)
{
    if (h == NULL) {
        return;
    }
    forage_http_waiters_close(h->waiters);
    nng_http_server_stop(h->server); /* cancels the parked, waits for the rest */
    nng_http_server_release(h->server);
    stop_workers(h);
    forage_http_waiters_free(h->waiters);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
