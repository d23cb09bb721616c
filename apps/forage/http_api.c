/*
 * The JSON API (docs/http.md): one function per endpoint, each run by a
 * worker (http.h), each checking every argument before it calls the app,
 * so a refused request changes nothing: a bad argument is a 400 naming it,
 * an unknown session or item a 404, an answer about an item the session
 * never showed a 409 (the app's TIDAL_ESTATE; the app refuses it before it
 * writes anything).  Versions (forage_app_version) travel as 16 hex digits,
 * session ids as 32: both are 64 bits or more, past a JavaScript number.
 */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "http_internal.h"
#include "tidal/errors.h"

/* The request's arguments, the region checked against the regions running;
 * false if refused (replied). */
bool
forage_http_args_of(forage_http_job *j, unsigned allowed, unsigned required, forage_http_args *a)
{
    char msg[FORAGE_HTTP_MSG_BYTES];
    bool post = strcmp(j->route->method, "POST") == 0;
    int st = post ? forage_http_args_json(j->body, j->len, allowed, required, a, msg)
                  : forage_http_args_query(j->query, allowed, required, a, msg);
    if (st != 0) {
        forage_http_fail(j->aio, (uint16_t)st, j->close, "%s", msg);
        return false;
    }
    uint32_t n = forage_app_regions(forage_http__app(j->srv));
    if ((a->have & FORAGE_ARG_REGION) && a->region >= n) {
        forage_http_fail(j->aio, NNG_HTTP_STATUS_BAD_REQUEST, j->close,
                         "%s 'region' must be from 0 to %u (the regions running)",
                         post ? "field" : "parameter", n - 1);
        return false;
    }
    return true;
}

void
forage_http_fail_app(forage_http_job *j, int rv, const char *what)
{
    forage_http_fail(j->aio, forage_http_status_of(rv), j->close, "%s: %s", what,
                     tidal_strerror(rv));
}

static json_t *
hex_session(tidal_session_id s)
{
    char hex[33];
    forage_export_session_hex(s, hex);
    return json_string(hex);
}

static json_t *
hex_version(uint64_t v)
{
    char hex[17];
    forage_http_version_hex(v, hex);
    return json_string(hex);
}

/* POST /api/session {region, user} -> {session, region, user} */
static void
api_session(forage_http_job *j)
{
    forage_http_args a;
    if (!forage_http_args_of(j, FORAGE_ARG_REGION | FORAGE_ARG_USER,
                             FORAGE_ARG_REGION | FORAGE_ARG_USER, &a)) {
        return;
    }
    tidal_session_id s;
    int rv = forage_app_start(forage_http__app(j->srv), a.region, a.user, &s);
    if (rv != 0) {
        forage_http_fail_app(j, rv, "starting a session");
        return;
    }
    forage_http_waiters_kick(forage_http__waiters(j->srv));
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:o, s:i, s:I}", "session", hex_session(s), "region",
                                (int)a.region, "user", (json_int_t)a.user),
                      j->close);
}

static json_t *
item_json(uint64_t id, const char *title, const char *label, int source)
{
    return json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "title", title, "label", label,
                     "source", forage_source_name(source));
}

/* POST /api/slate {region, session} -> the next slate, served now. */
static void
api_slate_next(forage_http_job *j)
{
    forage_http_args a;
    unsigned want = FORAGE_ARG_REGION | FORAGE_ARG_SESSION;
    if (!forage_http_args_of(j, want, want, &a)) {
        return;
    }
    forage_app *app = forage_http__app(j->srv);
    forage_served sv;
    int rv = forage_app_slate(app, a.region, a.session, &sv);
    if (rv == TIDAL_ENOENT) {
        char hex[33];
        forage_export_session_hex(a.session, hex);
        forage_http_fail(j->aio, NNG_HTTP_STATUS_NOT_FOUND, j->close, "unknown session %s", hex);
        return;
    }
    if (rv != 0) {
        forage_http_fail_app(j, rv, "serving a slate");
        return;
    }
    forage_http_waiters_kick(forage_http__waiters(j->srv));
    json_t *items = json_array();
    for (size_t i = 0; i < sv.n; i++) {
        const forage_served_item *it = &sv.items[i];
        (void)json_array_append_new(items, item_json(it->item, it->title, it->label_name,
                                                     it->source)); /* NULL: the pack fails */
    }
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:o, s:I, s:i, s:o, s:o}", "session", hex_session(sv.session),
                                "user", (json_int_t)sv.user, "slate", (int)sv.slate, "items", items,
                                "version", hex_version(forage_app_version(app, a.region))),
                      j->close);
}

/* GET /api/slate?region=&session= -> the session's latest slate as region
 * sees it, its hidden items left out, each with its latest answer: a read,
 * so a page can refresh without serving (and writing) a new slate. */
static void
api_slate_current(forage_http_job *j)
{
    forage_http_args a;
    unsigned want = FORAGE_ARG_REGION | FORAGE_ARG_SESSION;
    if (!forage_http_args_of(j, want, want, &a)) {
        return;
    }
    forage_app *app = forage_http__app(j->srv);
    uint64_t version = forage_app_version(app, a.region); /* before the read: none missed */
    json_t *items = NULL;
    tidal_entity_id user = 0;
    uint32_t slate = 0;
    int rv = forage_http_current_slate(app, a.region, a.session, &user, &slate, &items);
    if (rv == TIDAL_ENOENT) {
        char hex[33];
        forage_export_session_hex(a.session, hex);
        forage_http_fail(j->aio, NNG_HTTP_STATUS_NOT_FOUND, j->close, "unknown session %s", hex);
        return;
    }
    if (rv != 0) {
        forage_http_fail_app(j, rv, "reading the slate");
        return;
    }
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:o, s:I, s:i, s:o, s:o}", "session", hex_session(a.session),
                                "user", (json_int_t)user, "slate", (int)slate, "items", items,
                                "version", hex_version(version)),
                      j->close);
}

static bool
known_item(forage_http_job *j, uint64_t item)
{
    if (forage_app_item_label(forage_http__app(j->srv), item) != NULL) {
        return true;
    }
    forage_http_fail(j->aio, NNG_HTTP_STATUS_NOT_FOUND, j->close,
                     "unknown item %llu (not in the catalogue)", (unsigned long long)item);
    return false;
}

/* POST /api/answer {region, session, item, answer} -> {version} */
static void
api_answer(forage_http_job *j)
{
    forage_http_args a;
    unsigned want = FORAGE_ARG_REGION | FORAGE_ARG_SESSION | FORAGE_ARG_ITEM | FORAGE_ARG_ANSWER;
    if (!forage_http_args_of(j, want, want, &a) || !known_item(j, a.item)) {
        return;
    }
    forage_app *app = forage_http__app(j->srv);
    int rv = forage_app_answer(app, a.region, a.session, a.item, (forage_answer)a.answer);
    char hex[33];
    forage_export_session_hex(a.session, hex);
    if (rv == TIDAL_ENOENT) {
        forage_http_fail(j->aio, NNG_HTTP_STATUS_NOT_FOUND, j->close, "unknown session %s", hex);
        return;
    }
    if (rv == TIDAL_ESTATE) {
        forage_http_fail(j->aio, NNG_HTTP_STATUS_CONFLICT, j->close,
                         "item %llu was never shown in session %s", (unsigned long long)a.item,
                         hex);
        return;
    }
    if (rv != 0) {
        forage_http_fail_app(j, rv, "recording the answer");
        return;
    }
    forage_http_waiters_kick(forage_http__waiters(j->srv));
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:s, s:o}", "answer", forage_answer_type(a.answer), "version",
                                hex_version(forage_app_version(app, a.region))),
                      j->close);
}

/* GET /api/weights?region=&user= -> per source its counts and mean. */
static void
api_weights(forage_http_job *j)
{
    forage_http_args a;
    unsigned want = FORAGE_ARG_REGION | FORAGE_ARG_USER;
    if (!forage_http_args_of(j, want, want, &a)) {
        return;
    }
    forage_weights w;
    int rv = forage_app_weights(forage_http__app(j->srv), a.region, a.user, &w);
    if (rv != 0) {
        forage_http_fail_app(j, rv, "reading the weights");
        return;
    }
    json_t *sources = json_array();
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        (void)json_array_append_new(
            sources, json_pack("{s:s, s:I, s:I, s:f}", "source", forage_source_name(s), "successes",
                               (json_int_t)w.arms[s].successes, "failures",
                               (json_int_t)w.arms[s].failures, "mean", w.mean[s]));
    }
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                      json_pack("{s:i, s:I, s:o}", "region", (int)a.region, "user",
                                (json_int_t)a.user, "sources", sources),
                      j->close);
}

/* GET /api/hidden?region=&user=&item= -> {hidden}: tidal's hard negative. */
static void
api_hidden(forage_http_job *j)
{
    forage_http_args a;
    unsigned want = FORAGE_ARG_REGION | FORAGE_ARG_USER | FORAGE_ARG_ITEM;
    if (!forage_http_args_of(j, want, want, &a) || !known_item(j, a.item)) {
        return;
    }
    bool hidden;
    int rv = forage_app_hidden(forage_http__app(j->srv), a.region, a.user, a.item, &hidden);
    if (rv != 0) {
        forage_http_fail_app(j, rv, "reading the hard negatives");
        return;
    }
    forage_http_reply(j->aio, NNG_HTTP_STATUS_OK, json_pack("{s:b}", "hidden", hidden), j->close);
}

/* GET /api/wait?region=&since=[&timeout=] -> {version, changed} once
 * region's version is not since, or after timeout ms (FORAGE_HTTP_WAIT_MS
 * by default) unchanged; no since: at once. */
static void
api_wait(forage_http_job *j)
{
    forage_http_args a;
    if (!forage_http_args_of(j, FORAGE_ARG_REGION | FORAGE_ARG_SINCE | FORAGE_ARG_TIMEOUT,
                             FORAGE_ARG_REGION, &a)) {
        return;
    }
    forage_app *app = forage_http__app(j->srv);
    if (!(a.have & FORAGE_ARG_SINCE)) {
        forage_http_reply(j->aio, NNG_HTTP_STATUS_OK,
                          json_pack("{s:o, s:b}", "version",
                                    hex_version(forage_app_version(app, a.region)), "changed", 1),
                          j->close);
        return;
    }
    uint32_t ms = (a.have & FORAGE_ARG_TIMEOUT) ? a.timeout : FORAGE_HTTP_WAIT_MS;
    forage_http_waiters_park(forage_http__waiters(j->srv), j->aio, a.region, a.since, ms, j->close);
}

const forage_http_route forage_http_routes[] = {
    {"/", "GET", forage_http_page},
    {"/index.html", "GET", forage_http_page},
    {"/api/session", "POST", api_session},
    {"/api/slate", "POST", api_slate_next},
    {"/api/slate", "GET", api_slate_current},
    {"/api/answer", "POST", api_answer},
    {"/api/weights", "GET", api_weights},
    {"/api/hidden", "GET", api_hidden},
    {"/api/wait", "GET", api_wait},
    {"/api/export", "GET", forage_http_export},
    {NULL, NULL, NULL},
};
