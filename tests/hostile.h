/*
 * A hostile peer (issue 18, defects 2-5), shared by test_hostile.c (ipc,
 * tcp) and test_tls_refused.c (tls+tcp): another process on the cluster's
 * transport (tests/hostile_child.c) sends region 1 every forged kind
 * tidal's protocol has - writes, batches from an origin outside the
 * cluster or claiming a real one, a PEER rewriting the peer table, ACKs
 * that would stop shipping or make applied_lsn lie, handovers, digests and
 * entries, hundreds of ticks - through the actors' own listeners, and
 * claims of other regions through the listener region 1 keeps for region
 * 0.  Every one is refused and counted; then state digests and watermarks
 * are what they were, replication goes on both ways, a later unhide works,
 * and regions with a directory reopen with the same state.
 */
#ifndef TIDAL_TESTS_HOSTILE_H
#define TIDAL_TESTS_HOSTILE_H

#include <spawn.h>
#include <sys/wait.h>

#include "repl_helpers.h"

extern char **environ;

static void
addr_url(tidal_region *r, const char *name, char *out)
{
    tidal_runtime *rt = tidal_region_runtime(r);
    tidal_actor a;
    tidal_addr to;
    TIDAL_PASS(tidal_lookup(rt, name, &a));
    TIDAL_PASS(tidal_actor_addr(rt, a, &to));
    snprintf(out, TIDAL_URL_BYTES_MAX, "%s", to.url);
}

/* Starts the child with its stdin and stdout on pipes; reads its counts. */
static pid_t
start_child(char **argv, int *to_child, unsigned *pub, unsigned *peer)
{
    int in[2], out[2];
    cr_assert(pipe(in) == 0 && pipe(out) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    pid_t pid;
    cr_assert(posix_spawn(&pid, TIDAL_HOSTILE_CHILD, &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    cr_assert_not_null(f);
    cr_assert(fscanf(f, "%u %u", pub, peer) == 2, "the child reported nothing");
    fclose(f);
    *to_child = in[1];
    return pid;
}

static void
hostile_peer(const char *scheme, const char *tls_dir)
{
    setenv("TIDAL_QUIET", "1", 1);
    repl_env e;
    if (tls_dir != NULL) {
        memset(&e, 0, sizeof(e));
        tidal_cluster_opts co = {.url = "tls+tcp://127.0.0.1", .seed = 0x4057, .workers = 2,
                                 .tls_dir = tls_dir};
        TIDAL_PASS(tidal_cluster_open(&co, &e.c));
    } else {
        repl_cluster(&e, scheme, 0x4057);
    }
    tidal_region *r0 = repl_open_region(&e, 0, true, TIDAL_SYNC);
    tidal_region *r1 = repl_open_region(&e, 1, true, TIDAL_SYNC);
    tidal_session_id sid;
    TIDAL_PASS(tidal_start_session(r0, 3, NULL, &sid));
    TIDAL_PASS(tidal_signal_in_session(r0, sid, "click", 40, 1.0, repl_now_ns()));
    TIDAL_PASS(tidal_hide_item(r0, 1, 2));
    TIDAL_PASS(tidal_hide_item(r1, 5, 6));
    TIDAL_PASS(tidal_region_wait_applied(r1, 0, 3, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(r0, 1, 1, REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(r0).acked_lsn[1] == 3 &&
                                   repl_stats(r1).acked_lsn[0] == 1,
                               REPL_DEADLINE_MS));
    uint64_t digest = tidal_region_digest(r1);
    cr_assert_eq(digest, tidal_region_digest(r0));
    tidal_region_stats before = repl_stats(r1), before0 = repl_stats(r0);

    char base[TIDAL_URL_BYTES_MAX], region[TIDAL_URL_BYTES_MAX], shipper[TIDAL_URL_BYTES_MAX],
        reconciler[TIDAL_URL_BYTES_MAX], sid_hex[33];
    snprintf(base, sizeof(base), "%s", tidal_runtime_url(tidal_region_runtime(r1)));
    addr_url(r1, "region-1", region);
    addr_url(r1, "shipper-1", shipper);
    addr_url(r1, "reconciler-1", reconciler);
    tidal_addr peer;
    TIDAL_PASS(tidal_region_peer_addr(r1, 0, "region", &peer));
    snprintf(sid_hex, sizeof(sid_hex), "%016llx%016llx", (unsigned long long)sid.hi,
             (unsigned long long)sid.lo);
    char *argv[] = {TIDAL_HOSTILE_CHILD, base, region, shipper, reconciler, peer.url, sid_hex,
                    (char *)tls_dir, NULL};
    int to_child;
    unsigned pub, claims;
    pid_t pid = start_child(argv, &to_child, &pub, &claims);
    /* over TLS the claims never arrive: the listener for region 0 refuses
     * any other key (tests/test_tls_refused.c) */
    if (tls_dir != NULL) {
        claims = 0;
    }
    cr_assert(TIDAL_WAIT_UNTIL(
                  repl_stats(r1).rejected[TIDAL_REGION_REJECT_UNAUTHENTICATED] == pub &&
                      repl_stats(r1).rejected[TIDAL_REGION_REJECT_ORIGIN_MISMATCH] == claims,
                  REPL_DEADLINE_MS * 4),
              "refused %llu of %u forged messages off the peer listeners, %llu of %u claims",
              (unsigned long long)repl_stats(r1).rejected[TIDAL_REGION_REJECT_UNAUTHENTICATED],
              pub,
              (unsigned long long)repl_stats(r1).rejected[TIDAL_REGION_REJECT_ORIGIN_MISMATCH],
              claims);
    close(to_child);
    int status;
    cr_assert(waitpid(pid, &status, 0) == pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);

    /* nothing moved: state, watermarks, the other region */
    tidal_region_stats after = repl_stats(r1);
    cr_assert_eq(tidal_region_digest(r1), digest, "a forged message changed region 1's state");
    cr_assert_eq(tidal_region_digest(r0), digest, "region 0's state changed");
    cr_assert_eq(memcmp(after.applied_lsn, before.applied_lsn, sizeof(after.applied_lsn)), 0,
                 "applied_lsn moved");
    cr_assert_eq(after.batches_applied, before.batches_applied);
    cr_assert_eq(after.writes, before.writes);
    tidal_region_stats now0 = repl_stats(r0);
    for (int i = 0; i < TIDAL_REGION_REJECT_COUNT; i++) {
        cr_assert_eq(now0.rejected[i], before0.rejected[i], "region 0 rejected %s",
                     tidal_region_reject_id(i));
    }
    tidal_session_view v;
    TIDAL_PASS(tidal_get_session(r1, sid, &v));
    cr_assert_eq(v.user, 3, "the session changed hands");
    cr_assert_eq(v.home, 0, "the session moved");

    /* replication goes on both ways, and nothing is hidden for ever */
    TIDAL_PASS(tidal_hide_item(r0, 1, 1));
    TIDAL_PASS(tidal_unhide_item(r1, 1, 1));
    TIDAL_PASS(tidal_region_wait_applied(r1, 0, 4, REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_wait_applied(r0, 1, 2, REPL_DEADLINE_MS));
    cr_assert(TIDAL_WAIT_UNTIL(repl_digests_equal(e.r, 2), REPL_DEADLINE_MS));
    cr_assert(!repl_hidden(r0, 1, 1) && !repl_hidden(r1, 1, 1), "a forged hide outlived unhide");
    cr_assert(repl_hidden(r1, 1, 2));

    /* both reopen from their directories with the same state */
    uint64_t d = tidal_region_digest(r0);
    for (int i = 0; i < 2; i++) {
        TIDAL_PASS(tidal_region_close(e.r[i]));
        e.r[i] = NULL;
    }
    for (int i = 0; i < 2; i++) {
        repl_open_region(&e, i, true, TIDAL_SYNC);
        cr_assert_eq(tidal_region_digest(e.r[i]), d, "region %d reopened otherwise", i);
    }
    repl_close(&e);
}

#endif /* TIDAL_TESTS_HOSTILE_H */
