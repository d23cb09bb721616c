/*
 * nng 1.5.2 (Debian's libnng1): a push socket whose peer accepts each
 * connection and drops it at once can crash in nng_send_aio, with no tidal
 * code involved.  The push protocol keeps a list of connections ready to
 * send.  A connection joins it when it starts (after posting a receive that
 * only watches for a hang-up) and each time a send on it completes; a
 * connection that closes leaves it.  When the peer hangs up, the failed
 * receive closes the connection on another thread, and if that close comes
 * before the join (between the start's receive and its join, or between a
 * send's completion and its callback), the closed connection joins after
 * it left, and nng frees it while it is on the list.  The next send takes
 * it from the list: nni_list_remove in push0_sock_send on freed memory, or
 * nni_pipe_send on a NULL pipe (both seen with 1.5.2 built from source with
 * symbols).  Upstream's push.c has the same start and send callback today.
 *
 * Here a pull socket refuses every connection (nng_pipe_close in its ADD_PRE
 * callback) and a push socket, redialing every millisecond, sends a message
 * every 500 us with a 100 ms timeout, for SECONDS.  Build and run:
 *   cc -O2 tests/nng/crash_push_refused.c -lnng -lpthread -o crash
 *   ./crash ipc:///tmp/crash.ipc 10; ./crash tcp://127.0.0.1:46011 10
 * It prints a line and exits 0 if it did not crash.  On 2 vCPUs,
 * 2026-12-06, 10 s each: ipc crashed 3 runs in 5, tcp 5 in 5 (one of them
 * with nng's own "panic: pthread_mutex_lock: Invalid argument").  tidal's
 * repair is in runtime/link_pipes.c, its test tests/test_link_refused.c.
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void
refuse(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)ev;
    (void)arg;
    nng_pipe_close(p);
}

static void
check(int rv, const char *what)
{
    if (rv != 0) {
        fprintf(stderr, "%s: %s\n", what, nng_strerror(rv));
        exit(2);
    }
}

int
main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "ipc:///tmp/crash_push_refused.ipc";
    int secs = argc > 2 ? atoi(argv[2]) : 10;
    nng_socket pull, push;
    check(nng_pull0_open(&pull), "pull");
    check(nng_pipe_notify(pull, NNG_PIPE_EV_ADD_PRE, refuse, NULL), "notify");
    check(nng_listen(pull, url, NULL, 0), "listen");
    check(nng_push0_open(&push), "push");
    check(nng_socket_set_ms(push, NNG_OPT_RECONNMINT, 1), "reconnmint");
    check(nng_socket_set_ms(push, NNG_OPT_RECONNMAXT, 1), "reconnmaxt");
    check(nng_dial(push, url, NULL, NNG_FLAG_NONBLOCK), "dial");
    nng_aio *aio;
    check(nng_aio_alloc(&aio, NULL, NULL), "aio");
    nng_aio_set_timeout(aio, 100);
    time_t end = time(NULL) + secs;
    unsigned long sends = 0, taken = 0;
    while (time(NULL) < end) {
        nng_msg *m;
        check(nng_msg_alloc(&m, 16), "msg");
        nng_aio_set_msg(aio, m);
        nng_send_aio(push, aio);
        nng_aio_wait(aio);
        sends++;
        if (nng_aio_result(aio) == 0) {
            taken++; /* by a connection about to be dropped: lost */
        } else {
            nng_msg_free(nng_aio_get_msg(aio));
        }
        nanosleep(&(struct timespec){.tv_nsec = 500000}, NULL);
    }
    printf("no crash in %d s: %lu sends, %lu taken\n", secs, sends, taken);
    nng_aio_free(aio);
    nng_close(push);
    nng_close(pull);
    return 0;
}
