/*
 * Every request the HTTP API refuses (docs/http.md, "Errors"): its status,
 * a JSON {"error"} that names what was wrong, and tidal's state unchanged
 * after it - the user's sessions, the session's signals in both regions,
 * the bandit's counts and the hard negatives of the items shown.
 */
#include <stdio.h>
#include <string.h>

#include "forage_test.h"
#include "http_client.h"

FORAGE_SUITE(forage_http_refused);

#define USER 5

typedef struct state {
    size_t sessions;
    size_t signals;
    forage_weights w;
    bool hidden[FORAGE_SLATE_SLOTS];
} state;

static void
snapshot(forage_app *a, tidal_session_id s, const forage_served *sv, state *out)
{
    memset(out, 0, sizeof(*out));
    FORAGE_PASS(tidal_user_sessions(forage_app_region(a, 0), USER, NULL, 0, &out->sessions));
    FORAGE_PASS(tidal_session_signals(forage_app_region(a, 0), s, NULL, 0, &out->signals));
    FORAGE_PASS(forage_app_weights(a, 0, USER, &out->w));
    for (size_t i = 0; i < sv->n; i++) {
        FORAGE_PASS(forage_app_hidden(a, 0, USER, sv->items[i].item, &out->hidden[i]));
    }
}

static void
same(const state *x, const state *y, const char *what)
{
    cr_assert_eq(x->sessions, y->sessions, "%s: a session was started", what);
    cr_assert_eq(x->signals, y->signals, "%s: a signal was recorded", what);
    cr_assert(memcmp(&x->w, &y->w, sizeof(x->w)) == 0, "%s: the weights moved", what);
    cr_assert(memcmp(x->hidden, y->hidden, sizeof(x->hidden)) == 0, "%s: a hide changed", what);
}

typedef struct refusal {
    const char *method, *path, *body; /* body: a printf format over (session, item) */
    int status;
    const char *says;  /* in the error message */
    const char *allow; /* a 405's Allow header */
} refusal;

static const refusal refusals[] = {
    {"POST", "/api/session", "{", 400, "malformed JSON", NULL},
    {"POST", "/api/session", "", 400, "malformed JSON", NULL},
    {"POST", "/api/session", "[0, 5]", 400, "JSON object", NULL},
    {"POST", "/api/session", "{\"region\":0,\"user\":5,\"usr\":5}", 400, "'usr'", NULL},
    {"POST", "/api/session", "{\"region\":0,\"region\":0,\"user\":5}", 400, "duplicate", NULL},
    {"POST", "/api/session", "{\"region\":\"0\",\"user\":5}", 400, "'region'", NULL},
    {"POST", "/api/session", "{\"region\":2,\"user\":5}", 400, "'region'", NULL},
    {"POST", "/api/session", "{\"region\":0,\"user\":-5}", 400, "'user'", NULL},
    {"POST", "/api/session", "{\"region\":0,\"user\":5.5}", 400, "'user'", NULL},
    {"POST", "/api/session", "{\"region\":0,\"user\":9007199254740992}", 400, "'user'", NULL},
    {"POST", "/api/session", "{\"region\":0}", 400, "missing field 'user'", NULL},
    {"POST", "/api/slate", "{\"region\":0,\"session\":\"%.31s\"}", 400, "'session'", NULL},
    {"POST", "/api/slate", "{\"region\":0,\"session\":\"0123456789abcdef0123456789abcdef\"}", 404,
     "unknown session", NULL},
    {"POST", "/api/answer", "{\"region\":0,\"session\":\"%s\",\"item\":%llu,\"answer\":\"love\"}",
     400, "'answer'", NULL},
    {"POST", "/api/answer",
     "{\"region\":0,\"session\":\"%s\",\"item\":%llu,\"answer\":\"hide\",\"why\":1}", 400, "'why'",
     NULL},
    {"POST", "/api/answer",
     "{\"region\":0,\"session\":\"%s\",\"item\":99999999,\"answer\":\"hide\"}", 404, "unknown item",
     NULL},
    {"POST", "/api/answer",
     "{\"region\":0,%.0s\"session\":\"0123456789abcdef0123456789abcdef\",\"item\":%llu,"
     "\"answer\":\"hide\"}",
     404, "unknown session", NULL},
    {"GET", "/api/answer", NULL, 405, "POST", "POST"},
    {"POST", "/api/weights", "{}", 405, "GET", "GET, HEAD"},
    {"PUT", "/api/slate", "{}", 405, "POST or GET", "POST, GET, HEAD"},
    {"GET", "/api/nothing", NULL, 404, "no such endpoint", NULL},
    {"GET", "/api/weights?region=0&user=x", NULL, 400, "'user'", NULL},
    {"GET", "/api/weights?region=0&region=0&user=5", NULL, 400, "twice", NULL},
    {"GET", "/api/weights?region=0&user=5&bogus=1", NULL, 400, "'bogus'", NULL},
    {"GET", "/api/weights?region=0", NULL, 400, "missing parameter 'user'", NULL},
    {"GET", "/api/slate?region=0&session=0123456789abcdef0123456789abcdef", NULL, 404,
     "unknown session", NULL},
    {"GET", "/api/hidden?region=0&user=5&item=99999999", NULL, 404, "unknown item", NULL},
    {"GET", "/api/wait?region=0&timeout=0", NULL, 400, "'timeout'", NULL},
    {"GET", "/api/wait?region=0&since=xyz", NULL, 400, "'since'", NULL},
};

static void
check(int port, const refusal *f, const char *body)
{
    http_reply r;
    http_call(port, f->method, f->path, body, &r);
    cr_assert_eq(r.status, f->status, "%s %s %s: %s", f->method, f->path, body ? body : "", r.text);
    const char *err = http_str(&r, "error");
    cr_assert_not_null(strstr(err, f->says), "%s %s %s: '%s' does not say '%s'", f->method, f->path,
                       body ? body : "", err, f->says);
    if (f->allow != NULL) {
        char want[64];
        (void)snprintf(want, sizeof(want), "\r\nAllow: %s\r\n", f->allow);
        cr_assert_not_null(strstr(r.text, want), "%s %s: no '%s' in\n%s", f->method, f->path,
                           f->allow, r.text);
    }
    http_reply_free(&r);
}

Test(forage_http_refused, every_refusal_says_why_and_changes_nothing)
{
    http_test_server s;
    http_test_server_open(&s, 2);
    tidal_session_id sid;
    forage_served sv;
    FORAGE_PASS(forage_app_start(s.app, 0, USER, &sid));
    FORAGE_PASS(forage_app_slate(s.app, 0, sid, &sv));
    char hex[33];
    (void)snprintf(hex, sizeof(hex), "%016llx%016llx", (unsigned long long)sid.hi,
                   (unsigned long long)sid.lo);
    state before, after;
    snapshot(s.app, sid, &sv, &before);

    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        char body[512];
        const char *b = NULL;
        if (refusals[i].body != NULL) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
            (void)snprintf(body, sizeof(body), refusals[i].body, hex,
                           (unsigned long long)sv.items[0].item);
#pragma GCC diagnostic pop
            b = body;
        }
        check(s.port, &refusals[i], b);
        snapshot(s.app, sid, &sv, &after);
        same(&before, &after, refusals[i].path);
    }

    /* an item of the catalogue the session was never shown: 409 */
    const forage_catalogue *c = forage_app_catalogue(s.app);
    uint64_t unseen = 0;
    for (size_t k = 0; k < c->n; k++) {
        bool shown = false;
        for (size_t i = 0; i < sv.n; i++) {
            shown = shown || sv.items[i].item == c->ids[k];
        }
        if (!shown) {
            unseen = c->ids[k];
            break;
        }
    }
    char body[256];
    (void)snprintf(body, sizeof(body),
                   "{\"region\":0,\"session\":\"%s\",\"item\":%llu,\"answer\":\"hide\"}", hex,
                   (unsigned long long)unseen);
    check(s.port, &(refusal){"POST", "/api/answer", NULL, 409, "never shown", NULL}, body);
    snapshot(s.app, sid, &sv, &after);
    same(&before, &after, "409");
    http_test_server_close(&s);
}

Test(forage_http_refused, bodies_past_the_limit_or_without_a_length)
{
    http_test_server s;
    http_test_server_open(&s, 1);
    state before, after;
    forage_served none = {.n = 0};
    tidal_session_id sid;
    FORAGE_PASS(forage_app_start(s.app, 0, USER, &sid));
    snapshot(s.app, sid, &none, &before);

    /* exactly the limit is read (and is bad JSON: 400); one byte more is 413 */
    static char big[FORAGE_HTTP_BODY_BYTES_MAX + 2];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '{';
    big[FORAGE_HTTP_BODY_BYTES_MAX] = '\0';
    check(s.port, &(refusal){"POST", "/api/session", NULL, 400, "malformed JSON", NULL}, big);
    big[FORAGE_HTTP_BODY_BYTES_MAX] = ' ';
    check(s.port, &(refusal){"POST", "/api/session", NULL, 413, "limit", NULL}, big);

    /* a valid body padded past the limit is refused whole */
    char *p = big;
    memset(big, ' ', sizeof(big) - 1);
    memcpy(p, "{\"region\":0,\"user\":5}", 21);
    check(s.port, &(refusal){"POST", "/api/session", NULL, 413, "limit", NULL}, big);

    /* no Content-Length: 411 */
    const char raw[] = "POST /api/session HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_reply r;
    http_request(s.port, raw, sizeof(raw) - 1, &r);
    cr_assert_eq(r.status, 411, "%s", r.text);
    cr_assert_not_null(strstr(http_str(&r, "error"), "Content-Length"));
    http_reply_free(&r);

    snapshot(s.app, sid, &none, &after);
    same(&before, &after, "limits");
    http_test_server_close(&s);
}
