/*
 * The replies of Forage's HTTP server: a JSON body or a static page, set as
 * the output of nng's handler aio, which is then finished (nng's server
 * sends the response and frees it).  Every error a request gets has the
 * body {"error": "..."} saying what was wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "tidal/errors.h"

/* allow: the Allow header's value (a 405 must name the methods), or NULL. */
static void
finish_res(nng_aio *aio, nng_http_res *res, uint16_t status, const char *ctype, bool close,
           const char *allow)
{
    if (nng_http_res_set_status(res, status) != 0 ||
        nng_http_res_set_header(res, "Content-Type", ctype) != 0 ||
        nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
        (allow != NULL && nng_http_res_set_header(res, "Allow", allow) != 0) ||
        (close && nng_http_res_set_header(res, "Connection", "close") != 0)) {
        nng_http_res_free(res);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_aio_set_output(aio, 0, res); /* nng's server frees it once sent */
    nng_aio_finish(aio, 0);
}

static void
reply(nng_aio *aio, uint16_t status, json_t *body, bool close, const char *allow)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    nng_http_res *res;
    if (text == NULL) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    if (nng_http_res_alloc(&res) != 0) {
        free(text);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    int rv = nng_http_res_copy_data(res, text, strlen(text));
    free(text);
    if (rv != 0) {
        nng_http_res_free(res);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    finish_res(aio, res, status, "application/json", close, allow);
}

void
forage_http_reply(nng_aio *aio, uint16_t status, json_t *body, bool close)
{
    reply(aio, status, body, close, NULL);
}

static void
fail(nng_aio *aio, uint16_t status, bool close, const char *allow, const char *fmt, va_list ap)
{
    char msg[FORAGE_HTTP_MSG_BYTES];
    (void)vsnprintf(msg, sizeof(msg), fmt, ap); /* a long message is cut, not lost */
    reply(aio, status, json_pack("{s:s}", "error", msg), close, allow);
}

void
forage_http_fail(nng_aio *aio, uint16_t status, bool close, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(aio, status, close, NULL, fmt, ap);
    va_end(ap);
}

void
forage_http_fail_method(nng_aio *aio, bool close, const char *allow, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(aio, NNG_HTTP_STATUS_METHOD_NOT_ALLOWED, close, allow, fmt, ap);
    va_end(ap);
}

void
forage_http_reply_static(nng_aio *aio, const void *data, size_t len, const char *ctype)
{
    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    if (nng_http_res_set_data(res, data, len) != 0) {
        nng_http_res_free(res);
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    finish_res(aio, res, NNG_HTTP_STATUS_OK, ctype, false, NULL);
}

uint16_t
forage_http_status_of(int rv)
{
    switch (rv) {
    case TIDAL_EINVAL:
        return NNG_HTTP_STATUS_BAD_REQUEST;
    case TIDAL_ENOENT:
        return NNG_HTTP_STATUS_NOT_FOUND;
    case TIDAL_ESTATE:
        return NNG_HTTP_STATUS_CONFLICT;
    case TIDAL_EFULL:
    case TIDAL_ETIMEDOUT:
    case TIDAL_EFENCED:
    case TIDAL_EIO:
    case TIDAL_EBUSY:
        return NNG_HTTP_STATUS_SERVICE_UNAVAILABLE;
    default:
        return NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR;
    }
}

