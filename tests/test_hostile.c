/*
 * A hostile peer (issue 18, defects 2-5): another process on the cluster's
 * transport (ipc, tcp) sends region 1 every forged kind tidal's protocol
 * has - writes, batches from an origin outside the cluster or claiming a
 * real one, a PEER rewriting the peer table, ACKs that would stop shipping
 * or make applied_lsn lie, handovers, digests and entries, hundreds of
 * ticks - through the actors' own listeners, and claims of other regions
 * through the listener region 1 keeps for region 0.  Every one is refused
 * and counted; then state digests and watermarks are what they were,
 * replication goes on both ways, a later unhide works, and both regions
 * reopen from their directories with the same state.
 *
 * The cluster's own transport checks (region.h) are here too.
 */
#include <sys/stat.h>

#include "hostile.h"

TIDAL_SUITE(hostile);

Test(hostile, forged_messages_over_ipc_change_nothing) { hostile_peer("ipc", NULL); }
Test(hostile, forged_messages_over_tcp_change_nothing) { hostile_peer("tcp", NULL); }

/* ---- the cluster's transport ------------------------------------------------ */

Test(hostile, plaintext_tcp_only_when_asked)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_cluster *c = NULL;
    tidal_cluster_opts o = {.url = "tcp://127.0.0.1"};
    TIDAL_FAIL(tidal_cluster_open(&o, &c), TIDAL_EINVAL);
    cr_assert_null(c);
    o.plaintext = true;
    TIDAL_PASS(tidal_cluster_open(&o, &c));
    TIDAL_PASS(tidal_cluster_close(c));
    c = NULL;
    tidal_cluster_opts t = {.url = "tls+tcp://127.0.0.1", .plaintext = true};
    TIDAL_FAIL(tidal_cluster_open(&t, &c), TIDAL_EINVAL); /* no certificates */
}

Test(hostile, ipc_directory_must_be_private)
{
    setenv("TIDAL_QUIET", "1", 1);
    char dir[64], sub[96], url[128];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    snprintf(sub, sizeof(sub), "%s/sockets", dir);
    snprintf(url, sizeof(url), "ipc://%s", sub);
    tidal_cluster *c = NULL;
    tidal_cluster_opts o = {.url = url};
    TIDAL_PASS(tidal_cluster_open(&o, &c)); /* made, 0700 */
    struct stat st;
    cr_assert(stat(sub, &st) == 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    TIDAL_PASS(tidal_cluster_close(c));
    c = NULL;
    cr_assert(chmod(sub, 0755) == 0);
    TIDAL_FAIL(tidal_cluster_open(&o, &c), TIDAL_EINVAL);
    cr_assert_null(c);
    tidal_test_rmdir(dir);
}

