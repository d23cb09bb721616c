/*
 * The connections of a link's sending end (carrier_nng.c): nng tells of each
 * one as it starts (ADD_PRE), once it is up (ADD_POST) and once it is gone
 * (REM_POST).  This file keeps what the link needs of that - how many are
 * up (l->pipes) and since when none is (l->down_since_ms; links.c,
 * Parking) - and works around a defect of nng 1.5.2 that could crash the
 * process.
 *
 * The defect.  nng's push protocol keeps a list of connections ready to
 * take a message.  A connection joins it when it starts (just after posting
 * a receive that only watches for the peer hanging up) and again each time
 * a send on it completes; it leaves the list when it closes.  When the peer
 * hangs up, the failed receive closes the connection from another thread,
 * and if that close lands between the start's receive and its join, or
 * between a send's completion and its callback, the closed connection joins
 * after it left, stays on the list, and is freed there.  The next send, or
 * the next connection to join, touches freed memory: a segfault in
 * nng_send_aio (tests/nng/crash_push_refused.c; `tidal check --scenario
 * crash-restart --transport ipc` with its listeners refusing connections:
 * 4 seeds in 12).  Any peer that accepts a connection and drops it at once
 * can set it off: a socket closing while it accepts, a process that exits,
 * a listener that refuses the dialer.
 *
 * The repair.  nng frees a closed connection only after both its ADD_POST
 * and REM_POST callbacks have returned and its last send's completion has
 * run; the dialer opens the next connection only after that.  So the second
 * of the two callbacks, which knows the connection closed and started,
 * sends a guard: a message of no bytes, with no timeout.  The socket has one
 * dialer (one connection at a time) and no send buffer, so the guard either
 * goes at once to the dead connection on the list, which takes it off, or
 * waits in the socket's queue of senders, where a send completing on the
 * dead connection takes it instead of joining the list.  The next
 * connection's ADD_PRE, which nng runs before that connection can take
 * anything, takes the guard back.  A guard handed to a dead connection is
 * dropped by nng (never freed: a few dozen bytes, told to LeakSanitizer in
 * carrier_nng.c); no guard reaches a peer.  The meeting of the two
 * callbacks also keeps the count right when nng runs them in the wrong
 * order.  With the repair, that scenario passed 300 seeds in 300, and
 * tests/test_link_refused.c, which crashed every run over ipc and tcp
 * before, passes.
 */
#include <pthread.h>
#include <stdlib.h>

#include "runtime/internal.h"

struct tidal__link_pipes {
    struct tidal__link *l;
    nng_socket sock;
    nng_aio *guard;     /* no callback, no timeout: the guard's send */
    atomic_bool armed;  /* guard was sent and not yet taken back */
    pthread_mutex_t mu; /* a leaf: up and gone, and the count they decide */
    uint32_t up;        /* the id of the last connection told up, 0 = none */
    uint32_t gone;      /* the id of the last connection told gone, 0 = none */
};

/* Sends the guard: a message of no bytes that a dead connection on nng's
 * ready list takes at once, or one whose send is still completing takes
 * instead of joining the list (see the top of the file).  Not inlined:
 * LeakSanitizer knows it by name. */
__attribute__((noinline)) static void
tidal__link_pipes_arm(struct tidal__link_pipes *w)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, 0) != 0) {
        return; /* no memory: the same as nng alone */
    }
    nng_aio_set_msg(w->guard, m);
    atomic_store(&w->armed, true);
    nng_send_aio(w->sock, w->guard);
}

/* Takes the guard back, if it was sent: cancels it, if it is still waiting,
 * and waits for it (it has no callback, so this waits on no thread of
 * nng's).  A guard a connection took was dropped by nng; one that is still
 * tidal's is freed. */
static void
disarm(struct tidal__link_pipes *w)
{
    if (!atomic_load(&w->armed)) {
        return;
    }
    nng_aio_cancel(w->guard);
    nng_aio_wait(w->guard);
    if (nng_aio_result(w->guard) != 0) {
        nng_msg_free(nng_aio_get_msg(w->guard));
    }
    nng_aio_set_msg(w->guard, NULL);
    atomic_store(&w->armed, false);
}

static void
counted_down(struct tidal__link *l)
{
    unsigned n = atomic_load(&l->pipes);
    while (n > 0 && !atomic_compare_exchange_weak(&l->pipes, &n, n - 1)) {
    }
    if (n == 1) {
        atomic_store(&l->down_since_ms, tidal__now_ms(l->rt));
    }
}

/* Runs on nng's threads with none of nng's locks held, and takes no lock of
 * tidal's but w->mu: nng_close waits for it.  Of a connection's ADD_POST and
 * REM_POST, the second (in w->mu's order) finds the other's id: it knows the
 * connection is closed and whatever made it join the ready list has run, or
 * is a send completing, and it arms.  A connection is counted up only if
 * ADD_POST came first, and counted down only then.  One connection's
 * callbacks have all returned, and its last send completed, before the
 * dialer opens the next one (nng's pipe_destroy), whose ADD_PRE takes the
 * guard back before that connection can join the ready list and take it. */
static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    struct tidal__link_pipes *w = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        disarm(w);
        return;
    }
    bool second;
    pthread_mutex_lock(&w->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        w->up = id;
        second = w->gone == id;
        if (!second) {
            atomic_fetch_add(&w->l->pipes, 1);
        }
    } else { /* NNG_PIPE_EV_REM_POST */
        w->gone = id;
        second = w->up == id;
        if (second) {
            counted_down(w->l);
        }
        /* else: closed before it was up (ADD_POST runs next, or never:
         * refused in ADD_PRE, or its start failed), and not counted */
    }
    pthread_mutex_unlock(&w->mu);
    if (second) {
        tidal__link_pipes_arm(w);
    }
}

int
tidal__link_pipes_watch(struct tidal__link *l, nng_socket sock, struct tidal__link_pipes **out)
{
    struct tidal__link_pipes *w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    w->l = l;
    w->sock = sock;
    int rv = nng_aio_alloc(&w->guard, NULL, NULL);
    if (rv != 0) {
        free(w);
        return tidal__nng_err(rv);
    }
    pthread_mutex_init(&w->mu, NULL);
    atomic_store(&l->pipes, 0);
    atomic_store(&l->down_since_ms, tidal__now_ms(l->rt));
    static const nng_pipe_ev evs[] = {NNG_PIPE_EV_ADD_PRE, NNG_PIPE_EV_ADD_POST,
                                      NNG_PIPE_EV_REM_POST};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if ((rv = nng_pipe_notify(sock, evs[i], pipe_cb, w)) != 0) {
            /* no dialer yet, so no connection: no callback can run */
            nng_aio_free(w->guard);
            pthread_mutex_destroy(&w->mu);
            free(w);
            return tidal__nng_err(rv);
        }
    }
    *out = w;
    return 0;
}

/* After the socket's nng_close, which waited for every callback and failed
 * a guard still waiting. */
void
tidal__link_pipes_free(struct tidal__link_pipes *w)
{
    disarm(w);
    nng_aio_free(w->guard);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
