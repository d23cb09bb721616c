/*
 * The long-poll, GET /api/wait (docs/http.md): it answers once the region's
 * version moves - here by a write made in the other region - and answers
 * "unchanged" with the same version when its timeout passes first; and a
 * wait still parked when the server closes is ended then, the connection
 * closed without a reply, instead of holding the close up.  No timing is
 * asserted: each test waits for the event it checks.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "forage_test.h"
#include "http_client.h"

FORAGE_SUITE(forage_http_wait);

typedef struct waiting {
    int port;
    char path[128];
    http_reply r;
} waiting;

static void *
wait_thread(void *arg)
{
    waiting *w = arg;
    http_call(w->port, "GET", w->path, NULL, &w->r);
    return NULL;
}

static void
version(int port, int region, char out[17])
{
    char path[64];
    http_reply r;
    (void)snprintf(path, sizeof(path), "/api/wait?region=%d", region);
    http_call(port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_assert(json_is_true(json_object_get(r.json, "changed")), "no since: changed");
    cr_assert_eq(strlen(http_str(&r, "version")), 16, "%s", r.text);
    memcpy(out, http_str(&r, "version"), 17);
    http_reply_free(&r);
}

/* Starts w's request on a thread and returns once the server has parked it. */
static void
park(http_test_server *s, pthread_t *t, waiting *w, size_t parked_before)
{
    cr_assert(pthread_create(t, NULL, wait_thread, w) == 0);
    while (forage_http_parked(s->http) == parked_before) {
        sched_yield();
    }
}

Test(forage_http_wait, wakes_on_a_write_in_the_other_region)
{
    http_test_server s;
    http_test_server_open(&s, 2);
    char v[17];
    version(s.port, 1, v);
    waiting w = {.port = s.port};
    (void)snprintf(w.path, sizeof(w.path), "/api/wait?region=1&since=%s", v);
    pthread_t t;
    park(&s, &t, &w, 0);

    http_reply r; /* a session started in region 0 replicates to region 1 */
    http_call(s.port, "POST", "/api/session", "{\"region\":0,\"user\":3}", &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    http_reply_free(&r);

    pthread_join(t, NULL);
    cr_assert_eq(w.r.status, 200, "%s", w.r.text);
    cr_assert(json_is_true(json_object_get(w.r.json, "changed")), "%s", w.r.text);
    cr_assert_str_neq(http_str(&w.r, "version"), v);
    http_reply_free(&w.r);
    http_test_server_close(&s);
}

Test(forage_http_wait, answers_unchanged_when_nothing_moves)
{
    http_test_server s;
    http_test_server_open(&s, 1); /* one region: nothing replicates in */
    char v[17];
    version(s.port, 0, v);
    char path[96];
    (void)snprintf(path, sizeof(path), "/api/wait?region=0&since=%s&timeout=50", v);
    http_reply r;
    http_call(s.port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_assert(json_is_false(json_object_get(r.json, "changed")), "%s", r.text);
    cr_assert_str_eq(http_str(&r, "version"), v);
    http_reply_free(&r);
    cr_assert_eq(forage_http_parked(s.http), 0);
    http_test_server_close(&s);
}

Test(forage_http_wait, a_stale_version_answers_at_once)
{
    http_test_server s;
    http_test_server_open(&s, 1);
    char v[17];
    version(s.port, 0, v);
    http_reply r;
    http_call(s.port, "POST", "/api/session", "{\"region\":0,\"user\":3}", &r);
    http_reply_free(&r);
    char path[96];
    (void)snprintf(path, sizeof(path), "/api/wait?region=0&since=%s", v);
    http_call(s.port, "GET", path, NULL, &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_assert(json_is_true(json_object_get(r.json, "changed")), "%s", r.text);
    cr_assert_str_neq(http_str(&r, "version"), v);
    http_reply_free(&r);
    http_test_server_close(&s);
}

Test(forage_http_wait, a_parked_wait_ends_when_the_server_closes)
{
    http_test_server s;
    http_test_server_open(&s, 1);
    char v[17];
    version(s.port, 0, v);
    waiting w = {.port = s.port};
    (void)snprintf(w.path, sizeof(w.path), "/api/wait?region=0&since=%s", v); /* 25 s */
    pthread_t t;
    park(&s, &t, &w, 0);
    forage_http_close(s.http); /* returns: the parked request did not hold it */
    pthread_join(t, NULL);
    cr_assert_eq(w.r.status, 0, "closed without a reply: %s", w.r.text);
    FORAGE_PASS(forage_app_close(s.app));
}
