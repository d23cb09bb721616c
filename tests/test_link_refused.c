/*
 * A link to a peer that accepts every connection and drops it at once.
 *
 * nng 1.5.2's push protocol can leave such a connection on its list of
 * connections ready to send, and free it there: the next send, or the next
 * connection, touches freed memory (runtime/link_pipes.c;
 * tests/nng/crash_push_refused.c).  A peer whose socket is closing, a
 * process that exits, a listener that refuses the dialer: each drops new
 * connections so.  tidal repairs the list from nng's pipe callbacks.
 *
 * Here a plain nng pull socket refuses every connection (nng_pipe_close in
 * its ADD_PRE callback) while threads send through a runtime to addresses
 * at its PEERS URLs, a message every PACE_US each, until it has refused
 * REFUSALS; then it accepts them, and every message it gets must be a tidal
 * frame (the repair never reaches a peer).  Without the repair this crashed
 * over ipc and tcp in every run (8 in 8, within half a second), over
 * inproc in 1 run in 3.
 */
#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tidal/runtime.h"
#include "tidal_test.h"

TIDAL_SUITE(link_refused);

#define REFUSALS 3000
#define PEERS 4 /* URLs the peer listens at: a link each, refused in parallel */
#ifndef PACE_US
#define PACE_US 500
#endif
#define TYPE 1000

static atomic_uint refused;
static atomic_bool refusing;

static void
refuse(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)ev;
    (void)arg;
    if (atomic_load(&refusing)) {
        (void)nng_pipe_close(p);
        atomic_fetch_add(&refused, 1);
    }
}

typedef struct stream {
    tidal_runtime *rt;
    tidal_addr to;
    atomic_bool stop;
    atomic_uint sent;
} stream;

/* Sends a small message every PACE_US until told to stop: often enough
 * that each new connection has a frame to take, seldom enough that the
 * link is often empty, as nng's ready list then is. */
static void *
sender(void *arg)
{
    stream *s = arg;
    static const uint8_t bytes[48];
    while (!atomic_load(&s->stop)) {
        if (tidal_send(s->rt, &s->to, TYPE, bytes, sizeof(bytes), 0) == 0) {
            atomic_fetch_add(&s->sent, 1);
        }
        usleep(PACE_US);
    }
    return NULL;
}

/* urls: PEERS URLs, all of one peer socket */
static void
refused_then_accepted(char urls[PEERS][256])
{
    setenv("TIDAL_QUIET", "1", 1);
    atomic_store(&refused, 0);
    atomic_store(&refusing, true);
    nng_socket peer;
    cr_assert_eq(nng_pull0_open(&peer), 0);
    cr_assert_eq(nng_pipe_notify(peer, NNG_PIPE_EV_ADD_PRE, refuse, NULL), 0);
    for (int i = 0; i < PEERS; i++) {
        int rv = nng_listen(peer, urls[i], NULL, 0);
        cr_assert_eq(rv, 0, "%s: %s", urls[i], nng_strerror(rv));
    }

    tidal_runtime *rt;
    tidal_runtime_opts o = {.workers = 2, .link_hold_ms = UINT32_MAX};
    TIDAL_PASS(tidal_runtime_open(&o, &rt));
    stream s[PEERS];
    pthread_t tx[PEERS];
    for (int i = 0; i < PEERS; i++) {
        s[i] = (stream){.rt = rt};
        TIDAL_PASS(tidal_addr_make(&s[i].to, urls[i], "sink", NULL, 0));
        cr_assert_eq(pthread_create(&tx[i], NULL, sender, &s[i]), 0);
    }
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&refused) >= REFUSALS, 60000),
              "%u connections refused in 60 s", atomic_load(&refused));

    /* now it takes them: whatever arrives is a frame, none the repair's */
    atomic_store(&refusing, false);
    cr_assert_eq(nng_socket_set_ms(peer, NNG_OPT_RECVTIMEO, 10000), 0);
    for (int got = 0; got < 8 * PEERS; got++) {
        nng_msg *m;
        int rv = nng_recvmsg(peer, &m, 0);
        cr_assert_eq(rv, 0, "message %d: %s", got, nng_strerror(rv));
        cr_assert_gt(nng_msg_len(m), 8, "message %d: %zu bytes, not a frame", got, nng_msg_len(m));
        cr_assert_eq(memcmp(nng_msg_body(m), "TDLF", 4), 0, "message %d: no frame magic", got);
        nng_msg_free(m);
    }
    for (int i = 0; i < PEERS; i++) {
        atomic_store(&s[i].stop, true);
    }
    for (int i = 0; i < PEERS; i++) {
        cr_assert_eq(pthread_join(tx[i], NULL), 0);
        cr_assert_gt(atomic_load(&s[i].sent), 0);
    }
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(nng_close(peer), 0);
}

Test(link_refused, survives_a_peer_that_drops_every_connection_over_ipc)
{
    const char *dir = tidal_test_tmpdir();
    char urls[PEERS][256];
    for (int i = 0; i < PEERS; i++) {
        snprintf(urls[i], sizeof(urls[i]), "ipc://%s/peer%d", dir, i);
    }
    refused_then_accepted(urls);
    tidal_test_rmdir(dir);
}

Test(link_refused, survives_a_peer_that_drops_every_connection_over_tcp)
{
    char urls[PEERS][256];
    for (int i = 0; i < PEERS; i++) {
        snprintf(urls[i], sizeof(urls[i]), "tcp://127.0.0.1:%d", 46081 + i);
    }
    refused_then_accepted(urls);
}

Test(link_refused, survives_a_peer_that_drops_every_connection_over_inproc)
{
    char urls[PEERS][256];
    for (int i = 0; i < PEERS; i++) {
        snprintf(urls[i], sizeof(urls[i]), "inproc://link-refused-%d", i);
    }
    refused_then_accepted(urls);
}
