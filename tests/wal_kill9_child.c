/*
 * The child of test_wal_durability.c's kill -9 test: opens the SYNC log in
 * argv[1] and has two threads append patterned batches, 8 in flight each,
 * until it is killed; each LSN it is told is durable goes to stdout (a
 * pipe).  It dies with the test process (PR_SET_PDEATHSIG), and gives up
 * by itself after a minute, so a failed test never leaves it running.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "store/hlc.h"
#include "wal_kill9.h"

#define CHILD_THREADS 2
#define CHILD_SECONDS 60

static void *
writer(void *arg)
{
    tidal_wal *w = arg;
    uint8_t p[300];

    for (;;) {
        uint64_t lsn = 0;
        for (int k = 0; k < 8; k++) {
            uint32_t len = (uint32_t)(sizeof(p) - (unsigned)k * 17u);
            memset(p, k, len);
            tidal_hlc h = {.wall_ns = 1, .node_id = WAL_KILL9_ORIGIN};
            if (tidal_wal_append(w, p, len, 1 + (uint32_t)k % 3, h, h, &lsn) != 0) {
                _exit(2);
            }
        }
        if (tidal_wal_wait_durable(w, lsn, 30000) != 0) {
            _exit(3);
        }
        if (write(STDOUT_FILENO, &lsn, sizeof(lsn)) != (ssize_t)sizeof(lsn)) {
            _exit(4); /* <= PIPE_BUF: atomic */
        }
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || argc != 2) {
        return 1;
    }
    tidal_wal_opts o = wal_kill9_opts(argv[1]);
    tidal_wal *w;
    pthread_t t[CHILD_THREADS];
    if (tidal_wal_open(&o, &w, NULL) != 0) {
        return 1;
    }
    for (int i = 0; i < CHILD_THREADS; i++) {
        if (pthread_create(&t[i], NULL, writer, w) != 0) {
            return 1;
        }
    }
    sleep(CHILD_SECONDS);
    _exit(5); /* the test kills it long before */
}
