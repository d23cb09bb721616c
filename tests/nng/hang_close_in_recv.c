/*
 * nng 1.5.2 (Debian's libnng1): nng_close of a socket can hang for ever when
 * a message is arriving as it closes, with no tidal code involved.  The tcp
 * and ipc transports read a message's length, then its body; a pipe that
 * closes after the length arrived but before the read callback ran has its
 * read aio stopped, and the callback's request for the body on that stopped
 * aio is dropped without a completion.  The protocol's receive then waits on
 * the transport for ever, the reaper waits for it in pipe_destroy, and
 * nng_close waits for the reaper.  nng 1.6.0 fixed tcp (commit a1bc737b,
 * "Finish receive aio on close": the callback fails the receive once the
 * pipe is closed); ipc has the same code.  docs/dependencies.md has the
 * diagnosis.
 *
 * Here: four push sockets stream messages of 100-1900 bytes to a pull
 * socket that a reader drains; the pull socket is closed 2-7 ms after it
 * listens, ROUNDS times.  A close that has not returned after 5 s is a
 * hang: the program says so and exits 1.  Build and run:
 *   cc -O2 tests/nng/hang_close_in_recv.c -lnng -lpthread -o hang
 *   ./hang tcp://127.0.0.1:46001 30; ./hang ipc:///tmp/hang.ipc 30
 * Each run: 30 rounds, on 2 vCPUs, 2026-12-05.
 *                                          tcp         ipc
 *   Debian's libnng1 1.5.2                 5/5 hung    5/5 hung (rounds 0-2)
 *   1.5.2 built from source                3/3 hung    3/3 hung
 *   the same source, with nng 1.6.0's
 *   check in tcp's and ipc's callback      0/5 hung    0/5 hung (150 closes
 *                                                      each, the slowest 21 ms)
 *   upstream's v1.12.0 tag, as built       0/3 hung    5/5 hung
 * Closing only once the reader has stopped (so that each busy pipe parks one
 * message and stops reading) made it rarer, not gone: 3 runs in 9 still hung.
 * Stopping the reader, then refusing new pipes (nng_pipe_close in an ADD_PRE
 * callback) and waiting 2-5 ms before the close: no hang in 52 runs (46
 * ipc, 6 tcp; 1,560 closes; 2026-12-06).  tidal settles its sockets much that
 * way, without refusing new pipes (runtime/rx.c, Settling).
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url;

static double
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
static atomic_bool stop;

static void *
sender(void *arg)
{
    (void)arg;
    nng_socket s;
    char buf[2000];
    memset(buf, 7, sizeof(buf));
    nng_push0_open(&s);
    nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 1);
    nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 2);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5);
    nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK);
    while (!atomic_load(&stop)) {
        nng_send(s, buf, 100 + (size_t)(rand() % 1800), 0);
    }
    nng_close(s);
    return NULL;
}

struct pull {
    nng_socket s;
    atomic_bool done;
};

static void *
closer(void *arg)
{
    struct pull *p = arg;
    nng_close(p->s);
    atomic_store(&p->done, true);
    return NULL;
}

static void *
reader(void *arg)
{
    struct pull *p = arg;
    for (;;) {
        char *b;
        size_t n;
        int rv = nng_recv(p->s, &b, &n, NNG_FLAG_ALLOC);
        if (rv == NNG_ETIMEDOUT) {
            continue; /* a receive that raced the close times out; the next fails */
        }
        if (rv != 0) {
            return NULL;
        }
        nng_free(b, n);
    }
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s URL ROUNDS\n", argv[0]);
        return 2;
    }
    url = argv[1];
    int rounds = atoi(argv[2]), closed = 0;
    double slowest = 0;
    pthread_t tx[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&tx[i], NULL, sender, NULL);
    }
    for (int k = 0; k < rounds; k++) {
        struct pull p = {0};
        nng_pull0_open(&p.s);
        /* nng 1.5.2 can leave a receive posted as the socket closes waiting for
         * ever (pull0 queues it after its close ran): a timeout unsticks it */
        nng_socket_set_ms(p.s, NNG_OPT_RECVTIMEO, 50);
        if (nng_listen(p.s, url, NULL, 0) != 0) {
            nng_close(p.s);
            usleep(1000);
            continue;
        }
        pthread_t rd, cl;
        pthread_create(&rd, NULL, reader, &p);
        usleep(2000 + (unsigned)(rand() % 5000));
        double t0 = now_ms();
        pthread_create(&cl, NULL, closer, &p);
        for (int t = 0; t < 500 && !atomic_load(&p.done); t++) {
            usleep(10000);
        }
        if (!atomic_load(&p.done)) {
            printf("HANG: nng_close had not returned after 5 s, round %d\n", k);
            fflush(stdout);
            _exit(1);
        }
        pthread_join(cl, NULL);
        double ms = now_ms() - t0;
        slowest = ms > slowest ? ms : slowest;
        pthread_join(rd, NULL);
        closed++;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(tx[i], NULL);
    }
    printf("no hang: %d closes under traffic, the slowest %.0f ms\n", closed, slowest);
    return 0;
}
