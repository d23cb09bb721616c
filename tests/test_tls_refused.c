/*
 * tls+tcp:// refuses strangers: a peer listener lets in only its peer's
 * certificate, and a region's listener for a peer only that peer's key
 * (runtime/tls.c).  Every test here makes TLS handshakes fail on purpose,
 * which nng 1.5.2 leaks (tests/nng/leak_tls_handshake.c: its
 * tls_tcp_error drops the waiting negotiation without completing it; fixed
 * in nng 1.6.0), so this binary alone runs with
 * tests/nng/leak_tls_handshake.supp under LeakSanitizer; the suites that
 * use TLS without a failing handshake (test_listen, test_hostile) still
 * fail on any leak.
 */
#include <stdatomic.h>

#include "hostile.h"
#include "tls_helpers.h"


TIDAL_SUITE(tls_refused);


Test(tls_refused, a_region_takes_a_peer_only_with_its_key)
{
    setenv("TIDAL_QUIET", "1", 1);
    char dir[64];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    tls_make_cert(dir, "region-0");
    tls_make_cert(dir, "region-1");
    tls_make_cert(dir, "intruder");
    repl_env e;
    memset(&e, 0, sizeof(e));
    tidal_cluster_opts co = {.url = "tls+tcp://127.0.0.1", .seed = 7, .workers = 2,
                             .tls_dir = dir};
    TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    repl_open_ephemeral(&e, 2);
    tidal_region *r0 = e.r[0], *r1 = e.r[1];
    tidal_session_id sid;
    TIDAL_PASS(tidal_hide_item(r0, 1, 2));
    TIDAL_PASS(tidal_start_session(r1, 3, NULL, &sid));
    TIDAL_PASS(tidal_signal_in_session(r1, sid, "click", 4, 1.0, repl_now_ns()));
    TIDAL_PASS(tidal_region_wait_applied(r1, 0, 1, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(r0, 1, 2, REPL_DEADLINE_MS));
    cr_assert(repl_digests_equal(e.r, 2));
    cr_assert(repl_hidden(r1, 1, 2));
    cr_assert_eq(repl_signals_len(r0, sid), 1);

    tidal_addr peer;
    TIDAL_PASS(tidal_region_peer_addr(r1, 0, "region", &peer));
    cr_assert_eq(strncmp(peer.url, "tls+tcp://", 10), 0, "%s", peer.url);
    char pem[128], crt[128], ipem[128], icrt[128];
    tls_paths(dir, "region-0", pem, crt, sizeof(pem));
    tls_paths(dir, "intruder", ipem, icrt, sizeof(ipem));
    char r1crt[128];
    snprintf(r1crt, sizeof(r1crt), "%s/region-1.crt", dir);
    cr_assert_neq(tls_dial(peer.url, ipem, r1crt, "region-1"), 0,
                  "a stranger's certificate opened region 0's listener");
    cr_assert_eq(tls_dial(peer.url, pem, r1crt, "region-1"), 0, "region 0's own key did not");
    for (int i = 0; i < TIDAL_REGION_REJECT_COUNT; i++) {
        cr_assert_eq(repl_stats(r1).rejected[i], 0);
    }
    e.sock[0] = '\0';
    repl_close(&e);
    tidal_test_rmdir(dir);
}

static int
count_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    (void)msg;
    atomic_fetch_add((atomic_uint *)state, 1);
    return 0;
}

static int
count_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

/* The runtime alone: a listener for peer b takes neither a stranger's
 * certificate nor a client that does not trust the listener's own. */
Test(tls_refused, a_peer_listener_refuses_other_certificates)
{
    char dir[64], pa[128], ca[128], pb[128], cb[128], pc[128], cc[128];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    tls_make_cert(dir, "a");
    tls_make_cert(dir, "b");
    tls_make_cert(dir, "c");
    tls_paths(dir, "a", pa, ca, sizeof(pa));
    tls_paths(dir, "b", pb, cb, sizeof(pb));
    tls_paths(dir, "c", pc, cc, sizeof(pc));
    tidal_tls_opts ida = {pa, ca, "a"};
    tidal_runtime_opts oa = {.url = "tls+tcp://127.0.0.1", .name = "a", .tls = &ida};
    tidal_runtime *a = NULL;
    TIDAL_PASS(tidal_runtime_open(&oa, &a));
    atomic_uint n = 0;
    const tidal_behaviour b = {.init = count_init, .handle = count_handle};
    tidal_spawn_opts so = {.name = "rec", .behaviour = &b, .arg = &n};
    tidal_actor rec;
    TIDAL_PASS(tidal_spawn(a, &so, &rec));
    char peer_url[TIDAL_URL_BYTES_MAX];
    tidal_tls_opts for_b = {pa, cb, NULL};
    TIDAL_PASS(tidal_listen_peer(a, rec, 7, NULL, &for_b, peer_url));
    cr_assert_neq(tls_dial(peer_url, pc, ca, "a"), 0, "a stranger's certificate got in");
    cr_assert_neq(tls_dial(peer_url, pb, cc, "a"), 0, "a client trusting another certificate");
    cr_assert_eq(tls_dial(peer_url, pb, ca, "a"), 0, "b's own key was refused");
    cr_assert_eq(atomic_load(&n), 0);
    TIDAL_PASS(tidal_runtime_close(a));
    tidal_test_rmdir(dir);
}

/* The hostile process over tls+tcp://, presenting a certificate of its own:
 * region 1's own listeners take it (they are public) and refuse all it
 * sends; the listener kept for region 0 never completes its handshake. */
Test(tls_refused, forged_messages_over_tls_change_nothing)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    tls_make_cert(dir, "region-0");
    tls_make_cert(dir, "region-1");
    tls_make_cert(dir, "intruder");
    hostile_peer("tls", dir);
    tidal_test_rmdir(dir);
}
