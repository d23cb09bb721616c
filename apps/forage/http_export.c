/*
 * GET /api/export: the RLHF export (export.h, docs/rlhf-export.md) as
 * JSONL (application/x-ndjson), the lines `tidal export` writes.
 *
 *   ?region=R&session=HEX              that session's slates
 *   ?region=R[&after=HEX][&sessions=N]  a page: up to N sessions (default
 *                                      FORAGE_HTTP_EXPORT_SESSIONS_DEFAULT)
 *                                      whose ids are above `after`, in id
 *                                      order (tidal_region_sessions)
 *
 * nng's server sends a response whole, so a response is a page: the body
 * holds at most N sessions' lines, and ends early after the session that
 * takes it past FORAGE_HTTP_EXPORT_BYTES_MAX.  When sessions remain, the
 * header X-Forage-Next names the last session sent: the next page is
 * ?after=<it>.  A session freed between the listing and its export is left
 * out, as the export leaves it out.
 */
#include <stdlib.h>
#include <string.h>

#include "tidal/errors.h"

#include "export.h"
#include "http_internal.h"

typedef struct body {
    char *p;
    size_t len, cap;
} body;

static int
append(void *arg, const char *text, size_t len)
{
    body *b = arg;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return TIDAL_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, text, len);
    b->len += len;
    return 0;
}

static void
reply(forage_http_job *j, body *b, const tidal_session_id *next)
{
    nng_http_res *res;
    char hex[33];
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(j->aio, NNG_ENOMEM);
        return;
    }
    /* An empty page has no body to copy (nng refuses a copy of none). */
    int rv = b->len > 0 ? nng_http_res_copy_data(res, b->p, b->len) : 0;
    if (rv == 0)
        rv = nng_http_res_set_header(res, "Content-Type", "application/x-ndjson");
    if (rv == 0)
        rv = nng_http_res_set_header(res, "Cache-Control", "no-store");
    if (rv == 0 && next != NULL) {
        forage_export_session_hex(*next, hex);
        rv = nng_http_res_set_header(res, "X-Forage-Next", hex);
    }
    if (rv == 0 && j->close)
        rv = nng_http_res_set_header(res, "Connection", "close");
    if (rv != 0) {
        nng_http_res_free(res);
        nng_aio_finish(j->aio, NNG_ENOMEM);
        return;
    }
    nng_aio_set_output(j->aio, 0, res); /* nng's server frees it once sent */
    nng_aio_finish(j->aio, 0);
}

/* One page of sessions above *after (NULL: from the first) into b; *more
 * and *last say whether sessions remain and which was sent last. */
static int
export_page(tidal_region *r, const tidal_session_id *after, uint32_t max, body *b, bool *more,
            tidal_session_id *last)
{
    tidal_session_id *ids = malloc(((size_t)max + 1) * sizeof(*ids));
    size_t n = 0;
    if (ids == NULL)
        return TIDAL_ENOMEM;
    int rv = tidal_region_sessions(r, after, ids, (size_t)max + 1, &n);
    size_t take = n < max ? n : max;
    forage_export_sink sink = {.line = append, .arg = b};
    *more = false;
    for (size_t i = 0; rv == 0 && i < take; i++) {
        forage_export_stats st;
        rv = forage_export_session(r, ids[i], NULL, &sink, &st);
        if (rv == TIDAL_ENOENT)
            rv = 0; /* freed since the listing: the export leaves it out */
        *last = ids[i];
        if (rv == 0 && i + 1 < n && b->len >= FORAGE_HTTP_EXPORT_BYTES_MAX) {
            *more = true; /* the page is full before its count */
            break;
        }
    }
    if (rv == 0 && take < n && !*more)
        *more = true;
    free(ids);
    return rv;
}

void
forage_http_export(forage_http_job *j)
{
    forage_http_args a;
    unsigned allowed =
        FORAGE_ARG_REGION | FORAGE_ARG_SESSION | FORAGE_ARG_AFTER | FORAGE_ARG_SESSIONS;
    if (!forage_http_args_of(j, allowed, FORAGE_ARG_REGION, &a))
        return;
    if ((a.have & FORAGE_ARG_SESSION) && (a.have & (FORAGE_ARG_AFTER | FORAGE_ARG_SESSIONS))) {
        forage_http_fail(j->aio, NNG_HTTP_STATUS_BAD_REQUEST, j->close,
                         "parameter 'session' exports one session: not with 'after' or "
                         "'sessions'");
        return;
    }
    tidal_region *r = forage_app_region(forage_http__app(j->srv), a.region);
    body b = {0};
    bool more = false;
    tidal_session_id last = {0, 0};
    int rv;
    if (a.have & FORAGE_ARG_SESSION) {
        forage_export_sink sink = {.line = append, .arg = &b};
        forage_export_stats st;
        rv = forage_export_session(r, a.session, NULL, &sink, &st);
    } else {
        uint32_t max = a.sessions ? a.sessions : FORAGE_HTTP_EXPORT_SESSIONS_DEFAULT;
        rv = export_page(r, (a.have & FORAGE_ARG_AFTER) ? &a.after : NULL, max, &b, &more, &last);
    }
    if (rv != 0)
        forage_http_fail_app(j, rv, "exporting");
    else
        reply(j, &b, more ? &last : NULL);
    free(b.p);
}
