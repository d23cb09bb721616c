/*
 * A plain-socket HTTP/1.1 client for the server's tests: one request per
 * connection ("Connection: close"), the bytes exactly as given, so a test
 * can send what nng's client would not (no Content-Length, a lying one).
 *
 * http_test_server()  opens an app of `regions` regions and its server on
 *                     127.0.0.1, a free port.
 * http_request()      sends raw bytes and reads the reply: status (0 if the
 *                     server closed without one) and body (JSON parsed,
 *                     NULL if not JSON).
 */
#ifndef FORAGE_HTTP_CLIENT_H
#define FORAGE_HTTP_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "app.h"
#include "http.h"

typedef struct http_test_server {
    forage_app *app;
    forage_http *http;
    int port;
} http_test_server;

void http_test_server_open(http_test_server *s, uint32_t regions);
void http_test_server_close(http_test_server *s);

typedef struct http_reply {
    int status;
    json_t *json; /* owned by the reply: http_reply_free */
    char text[8192];
} http_reply;

void http_request(int port, const char *raw, size_t len, http_reply *out);
/* method path with a JSON body (NULL: none, no Content-Length either). */
void http_call(int port, const char *method, const char *path, const char *body,
               http_reply *out);
void http_reply_free(http_reply *r);

/* The string field `name` of the reply's JSON object, or "". */
const char *http_str(const http_reply *r, const char *name);

#endif /* FORAGE_HTTP_CLIENT_H */
