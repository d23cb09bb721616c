/*
 * GET /api/export over real HTTP: one session's lines are the export's
 * own (export.h), a walk in pages of one session follows X-Forage-Next
 * through every session with an answered slate, and bad arguments get 400
 * or 404 with nothing exported.
 */
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "forage_test.h"
#include "http_client.h"

FORAGE_SUITE(forage_http_export);

/* The body of a raw reply (after the blank line), or "". */
static const char *
body_of(const http_reply *r)
{
    const char *b = strstr(r->text, "\r\n\r\n");
    return b != NULL ? b + 4 : "";
}

/* The X-Forage-Next header's value into out (33), or false if absent. */
static bool
next_of(const http_reply *r, char out[33])
{
    const char *h = strstr(r->text, "X-Forage-Next: ");
    const char *end = strstr(r->text, "\r\n\r\n");
    if (h == NULL || (end != NULL && h > end))
        return false;
    memcpy(out, h + strlen("X-Forage-Next: "), 32);
    out[32] = '\0';
    return true;
}

typedef struct text {
    char s[8192];
    size_t len;
} text;

static int
keep(void *arg, const char *line, size_t len)
{
    text *t = arg;
    cr_assert_lt(t->len + len, sizeof(t->s));
    memcpy(t->s + t->len, line, len);
    t->len += len;
    t->s[t->len] = '\0';
    return 0;
}

/* Session s's export, as the library writes it. */
static void
direct(forage_app *a, tidal_session_id s, text *out)
{
    forage_export_sink sink = {.line = keep, .arg = out};
    forage_export_stats st;
    out->len = 0;
    out->s[0] = '\0';
    FORAGE_PASS(forage_export_session(forage_app_region(a, 0), s, NULL, &sink, &st));
}

Test(forage_http_export, pages_of_sessions_are_the_exports_own_lines)
{
    http_test_server srv;
    http_test_server_open(&srv, 1);
    enum { SESSIONS = 4 };
    tidal_session_id ids[SESSIONS];
    for (int i = 0; i < SESSIONS; i++) {
        forage_served sv;
        FORAGE_PASS(forage_app_start(srv.app, 0, 100 + (uint64_t)i, &ids[i]));
        FORAGE_PASS(forage_app_slate(srv.app, 0, ids[i], &sv));
        FORAGE_PASS(forage_app_answer(srv.app, 0, ids[i], sv.items[0].item, FORAGE_ANSWER_LIKE));
        FORAGE_PASS(forage_app_answer(srv.app, 0, ids[i], sv.items[1].item, FORAGE_ANSWER_SKIP));
    }
    /* One session by id. */
    char hex[33], path[160];
    text want;
    forage_export_session_hex(ids[2], hex);
    (void)snprintf(path, sizeof(path), "/api/export?region=0&session=%s", hex);
    http_reply r;
    http_call(srv.port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%.400s", r.text);
    cr_assert_not_null(strstr(r.text, "application/x-ndjson"));
    direct(srv.app, ids[2], &want);
    cr_assert_gt(want.len, 0);
    cr_assert_str_eq(body_of(&r), want.s);
    http_reply_free(&r);
    /* Every session, one per page, in id order, each page the export's. */
    int pages = 0, seen[SESSIONS] = {0};
    char after[33] = "";
    for (;;) {
        if (after[0] == '\0')
            (void)snprintf(path, sizeof(path), "/api/export?region=0&sessions=1");
        else
            (void)snprintf(path, sizeof(path), "/api/export?region=0&sessions=1&after=%s", after);
        http_call(srv.port, "GET", path, NULL, &r);
        cr_assert_eq(r.status, 200, "%.400s", r.text);
        pages++;
        int match = -1;
        for (int i = 0; i < SESSIONS; i++) {
            direct(srv.app, ids[i], &want);
            if (strcmp(body_of(&r), want.s) == 0)
                match = i;
        }
        cr_assert_geq(match, 0, "page %d is no session's export", pages);
        seen[match]++;
        bool more = next_of(&r, after);
        http_reply_free(&r);
        if (!more)
            break;
        cr_assert_leq(pages, SESSIONS, "the walk does not end");
    }
    cr_assert_eq(pages, SESSIONS);
    for (int i = 0; i < SESSIONS; i++)
        cr_assert_eq(seen[i], 1, "session %d exported %d times", i, seen[i]);
    http_test_server_close(&srv);
}

Test(forage_http_export, bad_arguments_are_refused)
{
    http_test_server srv;
    http_test_server_open(&srv, 1);
    static const struct {
        const char *path;
        int status;
        const char *names;
    } cases[] = {
        {"/api/export", 400, "region"},
        {"/api/export?region=0&session=00000000000000000000000000000001&after="
         "00000000000000000000000000000001",
         400, "session"},
        {"/api/export?region=0&after=xyz", 400, "after"},
        {"/api/export?region=0&sessions=0", 400, "sessions"},
        {"/api/export?region=0&sessions=1001", 400, "sessions"},
        {"/api/export?region=1", 400, "region"},
        {"/api/export?region=0&session=00000000000000000000000000000001", 404, "export"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        http_reply r;
        http_call(srv.port, "GET", cases[i].path, NULL, &r);
        cr_assert_eq(r.status, cases[i].status, "%s: %.300s", cases[i].path, r.text);
        cr_assert_not_null(strstr(http_str(&r, "error"), cases[i].names), "%s: %s", cases[i].path,
                           http_str(&r, "error"));
        http_reply_free(&r);
    }
    /* An empty region exports an empty page with no next. */
    http_reply r;
    char next[33];
    http_call(srv.port, "GET", "/api/export?region=0", NULL, &r);
    cr_assert_eq(r.status, 200, "%.300s", r.text);
    cr_assert_str_eq(body_of(&r), "");
    cr_assert(!next_of(&r, next));
    http_reply_free(&r);
    http_test_server_close(&srv);
}
