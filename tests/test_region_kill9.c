/*
 * A real crash of a process hosting two SYNC regions: a child process opens
 * regions A and B (each with a directory) and writes a stream of hides and
 * session signals into A, reporting each write on a pipe once its call
 * returned (acknowledged, durable).  The parent kills it with SIGKILL in the
 * middle of the stream - no close, no final sync, whatever A was appending
 * and whatever was on its way to B lost with the process - then reopens both
 * regions from their directories and checks that:
 *   - every acknowledged write is in A;
 *   - shipping resumes: B applies A's whole log (tidal_region_wait_applied)
 *     and holds every acknowledged write, and both converge;
 *   - new writes continue A's log after the old LSNs and reach B.
 * (tidal_region_crash in test_repl_crash.c stops a region inside one
 * process; this is the process itself dying.  The child is its own program,
 * region_kill9_child.c: region_kill9.h says why it is not a fork.)
 */
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "region_kill9.h"
#include "repl_helpers.h"

TIDAL_SUITE(region_kill9);

#define KILL_AFTER 300 /* acknowledged writes before the kill */
#define WRITES_MAX KILL9_WRITES_MAX
#define HIDE_ITEM KILL9_HIDE_ITEM
#define USER_BASE KILL9_USER_BASE

extern char **environ;

/* Reads n bytes within 30 s; false at end of file. */
static bool
get_all(int fd, void *p, size_t n)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    size_t got = 0;
    while (got < n) {
        cr_assert(poll(&pf, 1, 30000) == 1, "the child reports nothing");
        ssize_t k = read(fd, (uint8_t *)p + got, n - got);
        if (k == 0) {
            cr_assert_eq(got, 0, "a report cut in half");
            return false;
        }
        cr_assert(k > 0);
        got += (size_t)k;
    }
    return true;
}

/* Every acknowledged write (0 .. acked) is in r. */
static void
check_acked(tidal_region *r, const tidal_session_id *sid, uint64_t acked, const char *who)
{
    static tidal_signal_view sig[WRITES_MAX / 2 + 1];
    size_t n = 0;
    TIDAL_PASS(tidal_session_signals(r, *sid, sig, WRITES_MAX / 2 + 1, &n));
    cr_assert_geq(n, (acked + 1) / 2, "%s: %zu signals, %llu acknowledged", who, n,
                  (unsigned long long)((acked + 1) / 2));
    for (uint64_t i = 0; i <= acked; i++) {
        if (i % 2 == 0) {
            cr_assert(repl_hidden(r, USER_BASE + i, HIDE_ITEM), "%s: acknowledged hide %llu lost", who,
                      (unsigned long long)i);
        } else {
            cr_assert_eq(sig[i / 2].item, i, "%s: acknowledged signal %llu lost", who,
                         (unsigned long long)i);
        }
    }
}

Test(region_kill9, acknowledged_writes_survive_and_shipping_resumes)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "%s", tidal_test_tmpdir());
    int fds[2];
    cr_assert(pipe(fds) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {TIDAL_KILL9_CHILD, dir, NULL};
    pid_t pid;
    cr_assert(posix_spawn(&pid, TIDAL_KILL9_CHILD, &fa, NULL, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    tidal_session_id sid;
    cr_assert(get_all(fds[0], &sid, sizeof(sid)), "the child died before writing");
    uint64_t i = 0, acked = 0;
    for (int k = 0; k < KILL_AFTER; k++) {
        cr_assert(get_all(fds[0], &i, sizeof(i)), "the child died early");
        acked = i;
    }
    cr_assert(kill(pid, SIGKILL) == 0);
    int status;
    cr_assert(waitpid(pid, &status, 0) == pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child exited itself");
    while (get_all(fds[0], &i, sizeof(i))) { /* reported before it died: acknowledged too */
        acked = i;
    }
    close(fds[0]);

    struct kill9_regions o;
    TIDAL_PASS(kill9_open(dir, &o));
    tidal_region_stats sa = repl_stats(o.a);
    cr_log_info("killed after write %llu; A recovered %llu LSNs, B had %llu of them",
                (unsigned long long)acked, (unsigned long long)sa.last_lsn,
                (unsigned long long)repl_stats(o.b).applied_lsn[0]);
    cr_assert_geq(sa.last_lsn, acked + 2, "the session start and every acknowledged write");
    check_acked(o.a, &sid, acked, "A");

    TIDAL_PASS(tidal_region_wait_applied(o.b, 0, sa.last_lsn, 60000));
    check_acked(o.b, &sid, acked, "B");
    tidal_region *both[2] = {o.a, o.b};
    cr_assert(TIDAL_WAIT_UNTIL(repl_digests_equal(both, 2), REPL_DEADLINE_MS), "converged");

    TIDAL_PASS(tidal_hide_item(o.a, 1, 2));
    cr_assert_eq(repl_stats(o.a).last_lsn, sa.last_lsn + 1, "the log goes on after the crash");
    TIDAL_PASS(tidal_region_wait_applied(o.b, 0, sa.last_lsn + 1, 60000));
    cr_assert(TIDAL_WAIT_UNTIL(repl_digests_equal(both, 2), REPL_DEADLINE_MS), "converged");
    cr_assert_eq(tidal_cluster_close(o.c), 0);
    tidal_test_rmdir(dir);
}
