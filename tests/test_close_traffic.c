/*
 * Closing a runtime while another streams to its actor, over ipc and tcp.
 *
 * nng 1.5.2's stream transports read a message in two steps, its length and
 * then its body; a pipe closed after the length arrived but before the read
 * callback ran loses the body's read, and nng_close then waits for ever
 * (docs/dependencies.md, tests/nng/hang_close_in_recv.c).  A runtime closes
 * its actors' sockets at close, and peers may be sending then: a region
 * closed while the others replicate to it.  tidal settles an actor's socket
 * before it closes it (runtime/rx.c, "Settling"): it cancels its pending
 * receive, takes no frame more, and gives each connection time to finish
 * the message it is reading, after which nng reads nothing more from it.
 *
 * Here four threads of another runtime stream frames to an actor while the
 * runtime holding it is closed and opened again at the same URL, ROUNDS
 * times.  A close that has not returned after CLOSE_WAIT_MS is a hang: the
 * test fails at once (_exit: an orderly exit would wait on nng's stuck
 * reaper too).  Before the settle, this failed 8 runs in 8, each within 3 to
 * 20 rounds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "tidal/runtime.h"
#include "tidal_test.h"

TIDAL_SUITE(close_traffic);

#define ROUNDS 40
#define SENDERS 4
#define CLOSE_WAIT_MS 10000
#define TYPE 1000

static atomic_uint received;

static int
count_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    atomic_fetch_add(&received, 1);
    return 0;
}

static const tidal_behaviour counter = {.handle = count_handle};

typedef struct stream {
    tidal_runtime *rt;
    tidal_addr to;
    atomic_bool stop;
    uint64_t seed;
} stream;

/* Sends 100-1900 byte messages to s->to until told to stop; every error
 * (a full link while the actor is away) is expected. */
static void *
sender(void *arg)
{
    stream *s = arg;
    static const uint8_t zeros[1900];
    uint64_t r = s->seed;
    while (!atomic_load(&s->stop)) {
        uint32_t len = 100 + (uint32_t)(tidal_test_rand(&r) % 1800);
        int rv = tidal_send(s->rt, &s->to, TYPE, zeros, len, 1);
        (void)rv;
    }
    return NULL;
}

typedef struct closing {
    tidal_runtime *rt;
    atomic_bool done;
} closing;

static void *
closer(void *arg)
{
    closing *c = arg;
    TIDAL_PASS(tidal_runtime_close(c->rt));
    atomic_store(&c->done, true);
    return NULL;
}

/* Opens a runtime at base with the actor at actor_url (NULL: derived from
 * base, the same every round) ROUNDS times, and closes it under traffic. */
static void
close_under_traffic(const char *base, const char *actor_url)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *from;
    tidal_runtime_opts fo = {.workers = 2};
    TIDAL_PASS(tidal_runtime_open(&fo, &from));
    stream s[SENDERS];
    pthread_t tx[SENDERS];
    bool started = false;

    for (int round = 0; round < ROUNDS; round++) {
        tidal_runtime *rt;
        tidal_runtime_opts o = {.url = base, .workers = 2};
        TIDAL_PASS(tidal_runtime_open(&o, &rt));
        tidal_actor a;
        tidal_spawn_opts so = {.name = "sink", .url = actor_url, .behaviour = &counter};
        TIDAL_PASS(tidal_spawn(rt, &so, &a));
        if (!started) {
            for (int i = 0; i < SENDERS; i++) {
                s[i] = (stream){.rt = from, .seed = 0x5eed + (uint64_t)i};
                TIDAL_PASS(tidal_actor_addr(rt, a, &s[i].to));
                cr_assert_eq(pthread_create(&tx[i], NULL, sender, &s[i]), 0);
            }
            started = true;
        }
        /* the links found the actor again and frames flow */
        unsigned before = atomic_load(&received);
        cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&received) > before + 64, 10000),
                  "round %d: nothing arrived", round);

        closing c = {.rt = rt};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, closer, &c), 0);
        if (!TIDAL_WAIT_UNTIL(atomic_load(&c.done), CLOSE_WAIT_MS)) {
            /* nng's reaper is stuck: exiting normally would wait on it too */
            fprintf(stderr, "round %d over %s: the close had not returned after %d ms\n", round,
                    base, CLOSE_WAIT_MS);
            fflush(stderr);
            _exit(1);
        }
        cr_assert_eq(pthread_join(t, NULL), 0);
    }
    for (int i = 0; i < SENDERS; i++) {
        atomic_store(&s[i].stop, true);
    }
    for (int i = 0; i < SENDERS; i++) {
        cr_assert_eq(pthread_join(tx[i], NULL), 0);
    }
    (void)tidal_runtime_close(from);
}

Test(close_traffic, closes_while_frames_arrive_over_ipc)
{
    const char *dir = tidal_test_tmpdir();
    char url[256];
    snprintf(url, sizeof(url), "ipc://%s", dir);
    close_under_traffic(url, NULL);
    tidal_test_rmdir(dir);
}

Test(close_traffic, closes_while_frames_arrive_over_tcp)
{
    close_under_traffic("tcp://127.0.0.1", "tcp://127.0.0.1:46071");
}
