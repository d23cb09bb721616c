/* Actors: spawn, stop, lookup, send and ask on every transport; between two
 * runtimes; stale ids and bad options. */
#include <unistd.h>

#include "test_actor_helpers.h"

TIDAL_SUITE(actor);

static tidal_runtime *
open_rt(const char *url, const char *name, uint16_t node)
{
    tidal_runtime_opts o = {.url = url, .name = name, .node_id = node, .seed = 42};
    tidal_runtime *rt = NULL;
    TIDAL_PASS(tidal_runtime_open(&o, &rt));
    return rt;
}

static void
spawn_echo(tidal_runtime *rt, const char *name, echo_state *s, tidal_actor *a)
{
    tidal_spawn_opts o = {.name = name, .behaviour = &echo_behaviour, .arg = s};
    TIDAL_PASS(tidal_spawn(rt, &o, a));
}

static void
spawn_stop_body(const char *scheme)
{
    char url[128], dir[64];
    base_url(scheme, url, sizeof(url), dir, sizeof(dir));
    tidal_runtime *rt = open_rt(url, "node", 1);
    echo_state s = {0};
    tidal_actor a, b, found;
    spawn_echo(rt, "echo", &s, &a);
    cr_assert_eq(atomic_load(&s.inits), 1);
    TIDAL_PASS(tidal_lookup(rt, "echo", &found));
    cr_assert_eq(found.id, a.id);
    tidal_addr addr;
    TIDAL_PASS(tidal_actor_addr(rt, a, &addr));
    cr_assert(strncmp(addr.url, scheme, strlen(scheme)) == 0, "url %s", addr.url);
    cr_assert_str_eq(addr.name, "echo");

    tidal_spawn_opts dup = {.name = "echo", .behaviour = &echo_behaviour, .arg = &s};
    TIDAL_FAIL(tidal_spawn(rt, &dup, &b), TIDAL_EEXIST);

    TIDAL_PASS(tidal_stop(rt, a));
    cr_assert_eq(atomic_load(&s.finis), 1);
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    TIDAL_FAIL(tidal_actor_addr(rt, a, &addr), TIDAL_ECLOSED);
    TIDAL_FAIL(tidal_lookup(rt, "echo", &found), TIDAL_ENOENT);

    /* the name and the slot are reused; the old id stays stale */
    spawn_echo(rt, "echo", &s, &b);
    cr_assert_neq(a.id, b.id);
    TIDAL_FAIL(tidal_stop(rt, a), TIDAL_ECLOSED);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(atomic_load(&s.finis), 2);
    if (dir[0]) {
        tidal_test_rmdir(dir);
    }
}
TIDAL_TRANSPORT_TESTS(actor, spawn_stop, spawn_stop_body)

static void
send_ask_body(const char *scheme)
{
    char url[128], dir[64];
    base_url(scheme, url, sizeof(url), dir, sizeof(dir));
    tidal_runtime *rt = open_rt(url, "node", 1);
    echo_state s = {0};
    tidal_actor a;
    spawn_echo(rt, "echo", &s, &a);
    tidal_addr to;
    TIDAL_PASS(tidal_actor_addr(rt, a, &to));

    uint8_t p[32];
    long want = 0;
    for (int i = 1; i <= 1000; i++) {
        uint32_t n = counter_add_payload(i, p, sizeof(p));
        TIDAL_PASS(tidal_send(rt, &to, TIDAL_MSG_COUNTER_ADD, p, n, 1000));
        want += i;
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.sum) == want, 5000), "sum %ld of %ld",
              (long)atomic_load(&s.sum), want);

    uint8_t body[100];
    memset(body, 0xab, sizeof(body));
    uint8_t pp[160];
    for (uint64_t seq = 0; seq < 20; seq++) {
        uint32_t n = ping_payload(seq, body, sizeof(body), pp, sizeof(pp));
        tidal_reply r;
        TIDAL_PASS(tidal_ask(rt, &to, TIDAL_MSG_PING, pp, n, 5000, &r));
        cr_assert_eq(r.type, TIDAL_MSG_PONG);
        tidal_msg_pong pong;
        TIDAL_PASS(tidal_msg_pong_decode(r.payload, r.len, &pong, NULL));
        cr_assert_eq(pong.seq, seq);
        cr_assert_eq(pong.body.len, sizeof(body));
        cr_assert(memcmp(pong.body.ptr, body, sizeof(body)) == 0);
        tidal_reply_free(&r);
    }
    tidal_stats st;
    tidal_runtime_stats(rt, &st);
    cr_assert_eq(st.rejected[TIDAL_REJECT_OTHER], 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    if (dir[0]) {
        tidal_test_rmdir(dir);
    }
}
TIDAL_TRANSPORT_TESTS(actor, send_and_ask, send_ask_body)

/* Two runtimes, as two nodes: each sends to the other's actor by address. */
static void
two_nodes_body(const char *scheme)
{
    char u1[128], d1[64], u2[128], d2[64];
    base_url(scheme, u1, sizeof(u1), d1, sizeof(d1));
    base_url(scheme, u2, sizeof(u2), d2, sizeof(d2));
    tidal_runtime *r1 = open_rt(u1, "node-1", 1);
    tidal_runtime *r2 = open_rt(u2, "node-2", 2);
    echo_state s1 = {0}, s2 = {0};
    tidal_actor a1, a2;
    spawn_echo(r1, "region-1", &s1, &a1);
    spawn_echo(r2, "region-2", &s2, &a2);
    tidal_addr to1, to2;
    TIDAL_PASS(tidal_actor_addr(r1, a1, &to1));
    TIDAL_PASS(tidal_actor_addr(r2, a2, &to2));
    uint8_t p[32];
    for (int i = 0; i < 300; i++) {
        uint32_t n = counter_add_payload(1, p, sizeof(p));
        TIDAL_PASS(tidal_send(r1, &to2, TIDAL_MSG_COUNTER_ADD, p, n, 1000));
        TIDAL_PASS(tidal_send(r2, &to1, TIDAL_MSG_COUNTER_ADD, p, n, 1000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s1.sum) == 300 && atomic_load(&s2.sum) == 300, 5000));
    uint8_t pp[32];
    uint32_t n = ping_payload(7, "x", 1, pp, sizeof(pp));
    tidal_reply r;
    TIDAL_PASS(tidal_ask(r1, &to2, TIDAL_MSG_PING, pp, n, 5000, &r));
    tidal_reply_free(&r);
    /* the clock service carried node 2's stamps into node 1 */
    tidal_hlc h1 = tidal_now(r1);
    cr_assert_eq(h1.node_id, 1);
    TIDAL_PASS(tidal_runtime_close(r1));
    TIDAL_PASS(tidal_runtime_close(r2));
    if (d1[0]) {
        tidal_test_rmdir(d1);
    }
    if (d2[0]) {
        tidal_test_rmdir(d2);
    }
}
TIDAL_TRANSPORT_TESTS(actor, two_nodes, two_nodes_body)

Test(actor, bad_options_are_refused)
{
    tidal_runtime *rt = open_rt(NULL, NULL, 0);
    echo_state s = {0};
    tidal_actor a;
    tidal_spawn_opts o = {.name = "", .behaviour = &echo_behaviour, .arg = &s};
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    o.name = "has space";
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    o.name = "_reserved";
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    char longname[TIDAL_NAME_BYTES_MAX + 1];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[TIDAL_NAME_BYTES_MAX] = '\0';
    o.name = longname; /* 48 bytes: one past the limit */
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    longname[TIDAL_NAME_BYTES_MAX - 1] = '\0'; /* 47: exactly the limit */
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    o.name = "ok";
    o.behaviour = NULL;
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    o.behaviour = &echo_behaviour;
    o.mailbox_max = TIDAL_MAILBOX_ENVELOPES_MAX + 1;
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EINVAL);
    o.mailbox_max = 0;
    o.url = "bogus://x";
    TIDAL_FAIL(tidal_spawn(rt, &o, &a), TIDAL_EADDR);
    tidal_actor stale = {12345};
    TIDAL_FAIL(tidal_stop(rt, stale), TIDAL_ECLOSED);
    tidal_actor zero = {0};
    TIDAL_FAIL(tidal_stop(rt, zero), TIDAL_ECLOSED);

    tidal_runtime_opts bad = {.url = "http://x"};
    tidal_runtime *rt2 = NULL;
    TIDAL_FAIL(tidal_runtime_open(&bad, &rt2), TIDAL_EADDR);
    cr_assert_null(rt2);
    TIDAL_PASS(tidal_runtime_close(rt));
    TIDAL_PASS(tidal_runtime_close(NULL));
}

Test(actor, send_refuses_bad_arguments)
{
    tidal_runtime *rt = open_rt(NULL, NULL, 0);
    echo_state s = {0};
    tidal_actor a;
    spawn_echo(rt, "echo", &s, &a);
    tidal_addr to;
    TIDAL_PASS(tidal_actor_addr(rt, a, &to));
    static uint8_t big[TIDAL_PAYLOAD_BYTES_MAX + 1];
    TIDAL_FAIL(tidal_send(rt, &to, 1000, big, TIDAL_PAYLOAD_BYTES_MAX + 1, 0), TIDAL_ETOOBIG);
    TIDAL_PASS(tidal_send(rt, &to, 1000, big, TIDAL_PAYLOAD_BYTES_MAX, 1000));
    TIDAL_FAIL(tidal_send(rt, &to, 0, NULL, 0, 0), TIDAL_EINVAL);   /* type 0 */
    TIDAL_FAIL(tidal_send(rt, &to, 999, NULL, 0, 0), TIDAL_EINVAL); /* unknown tidal type */
    TIDAL_FAIL(tidal_send(rt, &to, 1000, NULL, 5, 0), TIDAL_EINVAL);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&s.handled) == 1, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
}
