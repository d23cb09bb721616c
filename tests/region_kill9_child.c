/*
 * The child of test_region_kill9.c: opens regions A and B from argv[1] and
 * writes into A until it is killed.  It reports on stdout (a pipe) first the
 * session's id, then each write's index once its call returned
 * (acknowledged, durable under SYNC).  Even i: hide (KILL9_USER_BASE + i,
 * KILL9_HIDE_ITEM); odd i: a signal on item i in the session.
 */
#include <signal.h>
#include <sys/prctl.h>

#include "region_kill9.h"
#include "store/hlc.h"

static void
put_all(const void *p, size_t n)
{
    if (write(STDOUT_FILENO, p, n) != (ssize_t)n) { /* <= PIPE_BUF: atomic */
        _exit(4);
    }
}

int
main(int argc, char **argv)
{
    struct kill9_regions o;
    tidal_session_id sid;
    pid_t parent = getppid();
    /* dies with the test process: a failed test never leaves it writing */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || argc != 2 ||
        kill9_open(argv[1], &o) != 0 ||
        tidal_start_session(o.a, 5, NULL, &sid) != 0) {
        return 1;
    }
    put_all(&sid, sizeof(sid));
    for (uint64_t i = 0; i < KILL9_WRITES_MAX; i++) {
        int rv = i % 2 == 0 ? tidal_hide_item(o.a, KILL9_USER_BASE + i, KILL9_HIDE_ITEM)
                            : tidal_signal_in_session(o.a, sid, "view", i, 1.0,
                                                      tidal_hlc_wall_now(NULL));
        if (rv != 0) {
            return 2;
        }
        put_all(&i, sizeof(i));
    }
    return 3; /* never reached in time: the test kills it first */
}
