/*
 * The HTTP API (docs/http.md) over real HTTP on 127.0.0.1, a free port, an
 * app of two regions behind it: every endpoint's success, every refusal
 * with its status and a message naming what was wrong, and that a refused
 * request changed nothing in tidal (the user's sessions, the session's
 * signals, the bandit's counts, the hard negatives).
 */
#include <stdio.h>
#include <string.h>

#include "forage_test.h"
#include "http_client.h"

FORAGE_SUITE(forage_http);

#define USER 11

static const char *
start(int port, int region, char hex[33])
{
    char body[64];
    http_reply r;
    (void)snprintf(body, sizeof(body), "{\"region\":%d,\"user\":%d}", region, USER);
    http_call(port, "POST", "/api/session", body, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_assert_eq(strlen(http_str(&r, "session")), 32, "%s", r.text);
    memcpy(hex, http_str(&r, "session"), 33);
    http_reply_free(&r);
    return hex;
}

/* Serves a slate; returns its items (a new reference). */
static json_t *
serve(int port, int region, const char *hex)
{
    char body[128];
    http_reply r;
    (void)snprintf(body, sizeof(body), "{\"region\":%d,\"session\":\"%s\"}", region, hex);
    http_call(port, "POST", "/api/slate", body, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    json_t *items = json_incref(json_object_get(r.json, "items"));
    cr_assert(json_array_size(items) > 0, "%s", r.text);
    http_reply_free(&r);
    return items;
}

static uint64_t
item_at(json_t *items, size_t i)
{
    return (uint64_t)json_integer_value(json_object_get(json_array_get(items, i), "id"));
}

static int
answer(int port, int region, const char *hex, uint64_t item, const char *ans)
{
    char body[192];
    http_reply r;
    (void)snprintf(body, sizeof(body),
                   "{\"region\":%d,\"session\":\"%s\",\"item\":%llu,\"answer\":\"%s\"}", region,
                   hex, (unsigned long long)item, ans);
    http_call(port, "POST", "/api/answer", body, &r);
    int st = r.status;
    http_reply_free(&r);
    return st;
}

static bool
hidden(int port, int region, uint64_t item)
{
    char path[128];
    http_reply r;
    (void)snprintf(path, sizeof(path), "/api/hidden?region=%d&user=%d&item=%llu", region, USER,
                   (unsigned long long)item);
    http_call(port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    bool h = json_is_true(json_object_get(r.json, "hidden"));
    http_reply_free(&r);
    return h;
}

Test(forage_http, a_session_a_slate_answers_and_weights_over_http)
{
    http_test_server s;
    http_test_server_open(&s, 2);
    char hex[33];
    start(s.port, 0, hex);
    json_t *items = serve(s.port, 0, hex);
    json_t *first = json_array_get(items, 0);
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        cr_assert(json_is_integer(json_object_get(it, "id")));
        cr_assert(json_is_string(json_object_get(it, "title")));
        cr_assert(json_is_string(json_object_get(it, "label")));
        cr_assert(json_is_string(json_object_get(it, "source")));
    }
    cr_assert_eq(answer(s.port, 0, hex, item_at(items, 0), "like"), 200);
    cr_assert_eq(answer(s.port, 0, hex, item_at(items, 1), "hide"), 200);
    cr_assert(hidden(s.port, 0, item_at(items, 1)));
    cr_assert_not(hidden(s.port, 0, item_at(items, 0)));

    /* the liked item's source has a success in region 0's weights */
    http_reply r;
    char path[128];
    (void)snprintf(path, sizeof(path), "/api/weights?region=0&user=%d", USER);
    http_call(s.port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    json_t *src = json_object_get(r.json, "sources");
    cr_assert_eq(json_array_size(src), FORAGE_SOURCES);
    const char *liked = json_string_value(json_object_get(first, "source"));
    bool found = false;
    for (size_t i = 0; i < FORAGE_SOURCES; i++) {
        json_t *x = json_array_get(src, i);
        if (strcmp(json_string_value(json_object_get(x, "source")), liked) == 0) {
            cr_assert_geq(json_integer_value(json_object_get(x, "successes")), 1, "%s", r.text);
            found = true;
        }
    }
    cr_assert(found, "%s", r.text);
    http_reply_free(&r);

    /* the latest slate read back: the hidden item gone, the like recorded,
     * and reading it twice serves nothing new */
    (void)snprintf(path, sizeof(path), "/api/slate?region=0&session=%s", hex);
    http_call(s.port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "slate")), 1);
    json_t *now = json_object_get(r.json, "items");
    cr_assert_eq(json_array_size(now), json_array_size(items) - 1, "%s", r.text);
    cr_assert_eq(item_at(now, 0), item_at(items, 0));
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(now, 0), "answer")),
                     "like");
    for (size_t i = 0; i < json_array_size(now); i++) {
        cr_assert_neq(item_at(now, i), item_at(items, 1), "the hidden item is listed");
    }
    http_reply_free(&r);
    http_call(s.port, "GET", path, NULL, &r);
    cr_assert_eq(json_integer_value(json_object_get(r.json, "slate")), 1, "a read served");
    http_reply_free(&r);

    /* unhide undoes the hide */
    cr_assert_eq(answer(s.port, 0, hex, item_at(items, 1), "unhide"), 200);
    cr_assert_not(hidden(s.port, 0, item_at(items, 1)));
    json_decref(items);
    http_test_server_close(&s);
}

Test(forage_http, a_hide_in_one_region_is_hidden_in_the_other)
{
    http_test_server s;
    http_test_server_open(&s, 2);
    http_reply r;
    http_call(s.port, "GET", "/api/wait?region=1", NULL, &r);
    char since[17];
    memcpy(since, http_str(&r, "version"), sizeof(since));
    http_reply_free(&r);

    char hex[33];
    start(s.port, 0, hex);
    json_t *items = serve(s.port, 0, hex);
    uint64_t item = item_at(items, 0);
    cr_assert_eq(answer(s.port, 0, hex, item, "hide"), 200);
    /* wait for region 1's state to move until the hide is there: the
     * long-poll, no sleep */
    while (!hidden(s.port, 1, item)) {
        char path[96];
        (void)snprintf(path, sizeof(path), "/api/wait?region=1&since=%s", since);
        http_call(s.port, "GET", path, NULL, &r);
        cr_assert_eq(r.status, 200, "%s", r.text);
        memcpy(since, http_str(&r, "version"), sizeof(since));
        http_reply_free(&r);
    }
    /* a session of the same user in region 1 is never shown it */
    char hex1[33];
    start(s.port, 1, hex1);
    for (int k = 0; k < 3; k++) {
        json_t *more = serve(s.port, 1, hex1);
        for (size_t i = 0; i < json_array_size(more); i++) {
            cr_assert_neq(item_at(more, i), item, "the hidden item was served in region 1");
        }
        json_decref(more);
    }
    json_decref(items);
    http_test_server_close(&s);
}

Test(forage_http, the_page_and_the_export_endpoint)
{
    http_test_server s;
    http_test_server_open(&s, 1);
    http_reply r;
    http_call(s.port, "GET", "/", NULL, &r);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.text, "Content-Type: text/html"), "%.300s", r.text);
    cr_assert_not_null(strstr(r.text, "<title>Forage</title>"));
    cr_assert_not_null(strstr(r.text, "/api/wait"), "the page long-polls");
    http_reply_free(&r);
    http_call(s.port, "GET", "/api/export", NULL, &r);
    cr_assert_eq(r.status, 400, "%s", r.text);
    cr_assert_not_null(strstr(http_str(&r, "error"), "region"), "%s", r.text);
    http_reply_free(&r);
    http_test_server_close(&s);
}
