/*
 * The nng carrier: frames travel between sockets as nng messages, over
 * inproc, ipc, tcp or tls+tcp.  The receiving end of an actor is an nng pull
 * socket with one listener (and a listener per peer: listen.c); a link is a
 * push socket with one dialer.  This file is everything the runtime knows of
 * nng's sockets and aios; the rest reaches it through the carrier table
 * (internal.h, "The carrier seam").
 *
 * Receiving: one recv aio per socket, re-posted by its own callback, so the
 * frames of one socket reach tidal__rx_frame one at a time, in arrival
 * order.  The callback stops re-posting while the actor is paused
 * (backpressure: nng's queues then fill and the remote sender's link waits)
 * and rx_resume_locked posts it again.
 *
 * Sending: a frame is first offered to nng with a non-blocking send on an
 * aio that has no callback (now_aio): when a pipe is ready, nng takes it and
 * completes that aio on the sending thread (nng_aio_wait returns at once,
 * even on an nng callback's thread).  Only a frame nng cannot take at once
 * goes through nng_send_aio on tx_aio, whose completion runs tx_cb on nng's
 * task queue.  That completion cost a task-queue thread's wake-up per frame
 * (~30 us on 2 vCPUs, docs/measurements.md) on the path of every lone
 * message, which is every message of a latency-bound exchange.  A link whose
 * peer is down keeps its frames (nng redials every 10..1000 ms) for
 * link_hold_ms ("Holding", below).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ---- receiving ------------------------------------------------------------- */

static void
rx_cb(void *arg)
{
    struct tidal__actor *act = arg;
    tidal_runtime *rt = act->rt;
    struct tidal__unit *claimed = NULL;
    bool may_inline = false;
    int rv = nng_aio_result(act->rx_aio);
    if (rv == 0) {
        may_inline = !act->is_reply_endpoint && tidal__inline_enter(rt);
        tidal__rx_frame(act, nng_aio_get_msg(act->rx_aio), -1, may_inline ? &claimed : NULL);
    } else if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
        return;
    }
    pthread_mutex_lock(&act->lock);
    if (!act->rx_closed && !act->rx_settling && !tidal__rx_should_pause_locked(act)) {
        nng_recv_aio(act->sock, act->rx_aio);
    }
    pthread_mutex_unlock(&act->lock);
    /* The next frame may now be processed on another thread: it finds the
     * claimed unit busy and only queues (act->scratch is free again). */
    if (claimed != NULL) {
        tidal__run_unit_inline(rt, claimed);
    }
    if (may_inline) {
        tidal__inline_leave(rt);
    }
}

static int
nngc_listen(struct tidal__actor *act, const char *url)
{
    int rv = nng_pull0_open(&act->sock);
    if (rv != 0) {
        act->rx_closed = true;
        return tidal__nng_err(rv);
    }
    (void)nng_socket_set_size(act->sock, NNG_OPT_RECVMAXSZ, TIDAL_FRAME_BYTES_MAX);
    if ((rv = tidal__listen_notify(act)) != 0 ||
        (rv = nng_listener_create(&act->listener, act->sock, url)) != 0) {
        goto fail_socket;
    }
    if (strncmp(url, "ipc://", 6) == 0) {
        (void)nng_listener_set_int(act->listener, NNG_OPT_IPC_PERMISSIONS, 0600);
    }
    if (tidal__is_tls(url) && (rv = tidal__tls_listener(act->rt, act->listener, NULL)) != 0) {
        nng_close(act->sock);
        act->rx_closed = true;
        return rv;
    }
    if ((rv = nng_listener_start(act->listener, 0)) != 0) {
        goto fail_socket;
    }
    tidal__resolve_url(act->listener, url, act->url, sizeof(act->url));
    return 0;

fail_socket:
    nng_close(act->sock);
    act->rx_closed = true;
    return rv == NNG_EADDRINUSE || rv == NNG_EADDRINVAL ? TIDAL_EADDR : tidal__nng_err(rv);
}

static int
nngc_rx_begin(struct tidal__actor *act)
{
    int rv = nng_aio_alloc(&act->rx_aio, rx_cb, act);
    if (rv != 0) {
        nng_close(act->sock);
        act->rx_closed = true;
        return tidal__nng_err(rv);
    }
    nng_recv_aio(act->sock, act->rx_aio);
    return 0;
}

static void
nngc_rx_resume_locked(struct tidal__actor *act)
{
    nng_recv_aio(act->sock, act->rx_aio);
}

/* A stream transport (ipc, tcp, tls+tcp) reads a message in two steps, and
 * nng 1.5.2 can hang a close that comes between them (rx.c, Settling): sets
 * rx_settling and cancels the pending receive, so that nng's pull protocol
 * takes no message from a connection after the one it reads now (rx_cb sees
 * NNG_ECANCELED and posts none again).  inproc hands messages over whole:
 * its actors close at once, taking frames to the end as before. */
static bool
nngc_rx_settle_locked(struct tidal__actor *act)
{
    if (strncmp(act->url, "inproc://", 9) == 0) {
        return false; /* it closes as it always did */
    }
    act->rx_settling = true;
    if (act->rx_aio != NULL) {
        nng_aio_cancel(act->rx_aio);
    }
    return true;
}

/* Closes the socket and waits for the receive callback to finish (the
 * caller, tidal__rx_stop, made sure it runs once). */
static void
nngc_rx_stop(struct tidal__actor *act, bool was_closed)
{
    if (!was_closed) {
        nng_close(act->sock);
    }
    if (act->rx_aio != NULL) {
        /* rx_closed is set: neither the callback nor a resume posts again */
        nng_aio_stop(act->rx_aio);
        nng_aio_free(act->rx_aio);
        act->rx_aio = NULL;
    }
}

/* ---- sending ----------------------------------------------------------------- */

static void tx_cb(void *arg);

/* ---- holding ----------------------------------------------------------------
 * A frame nng cannot take waits in tx_aio for a connection, and nng redials
 * meanwhile.  A peer gone for good (an actor stopped, a process that
 * exited) would hold it, and every frame behind it, for ever, and keep its
 * link redialing: such a link never parks (links.c, Parking).  So tx_aio
 * times out after link_hold_ms.  If the link has a connection (a peer that
 * is there but slow: its mailbox pushes back through nng), or had one less
 * than link_hold_ms ago, the frame goes back to nng for another wait;
 * otherwise it and every frame queued behind it go to dead letters
 * (PEER_GONE, tidal__link_frame_done), and the idle link parks. */

static nng_duration
hold_timeout(const tidal_runtime *rt)
{
    return rt->link_hold_ms >= (uint32_t)INT32_MAX ? NNG_DURATION_INFINITE
                                                   : (nng_duration)rt->link_hold_ms;
}

/* True if l has had no connection for link_hold_ms. */
static bool
peer_gone(struct tidal__link *l)
{
    uint64_t down = atomic_load(&l->down_since_ms);
    uint64_t now = tidal__now_ms(l->rt);
    return atomic_load(&l->pipes) == 0 && now >= down && now - down >= l->rt->link_hold_ms;
}

/* A sending end apart from its link: opened for it before its lock is taken
 * (link_open_end, link_attach), or taken out of it (link_detach) to be
 * closed without that lock (link_reap). */
struct nngc_end {
    nng_socket sock;
    nng_aio *tx_aio;
    nng_aio *now_aio;
    nng_dialer dialer;
    struct tidal__link_pipes *pipes; /* its connections, watched (link_pipes.c) */
};

/* Opens a sending end to l->url into e (callbacks on l).  On error nothing
 * is left open. */
static int
end_open(struct tidal__link *l, struct nngc_end *e)
{
    const char *url = l->url;
    int rv;
    if ((rv = nng_push0_open(&e->sock)) != 0) {
        return tidal__nng_err(rv);
    }
    if ((rv = tidal__link_pipes_watch(l, e->sock, &e->pipes)) != 0) {
        nng_close(e->sock);
        return rv;
    }
    (void)nng_socket_set_ms(e->sock, NNG_OPT_RECONNMINT, 10);
    (void)nng_socket_set_ms(e->sock, NNG_OPT_RECONNMAXT, 1000);
    if ((rv = nng_aio_alloc(&e->tx_aio, tx_cb, l)) != 0) {
        goto fail_socket;
    }
    if ((rv = nng_aio_alloc(&e->now_aio, NULL, NULL)) != 0) {
        goto fail_aio;
    }
    nng_aio_set_timeout(e->tx_aio, hold_timeout(l->rt));
    nng_aio_set_timeout(e->now_aio, NNG_DURATION_ZERO);
    if ((rv = nng_dialer_create(&e->dialer, e->sock, url)) != 0) {
        goto fail_now_aio;
    }
    if (tidal__is_tls(url) && (rv = tidal__tls_dialer(l->rt, e->dialer, url, l->self)) != 0) {
        nng_aio_free(e->now_aio);
        nng_aio_free(e->tx_aio);
        nng_close(e->sock);
        tidal__link_pipes_free(e->pipes);
        return rv;
    }
    if ((rv = nng_dialer_start(e->dialer, NNG_FLAG_NONBLOCK)) != 0) {
        goto fail_now_aio;
    }
    return 0;

fail_now_aio:
    nng_aio_free(e->now_aio);
fail_aio:
    nng_aio_free(e->tx_aio);
fail_socket:
    nng_close(e->sock);
    tidal__link_pipes_free(e->pipes);
    return tidal__nng_err(rv) == TIDAL_ETRANSPORT ? TIDAL_EADDR : tidal__nng_err(rv);
}

/* Makes e l's sending end. */
static void
end_install(struct tidal__link *l, const struct nngc_end *e)
{
    l->sock = e->sock;
    l->dialer = e->dialer;
    l->tx_aio = e->tx_aio;
    l->now_aio = e->now_aio;
    l->pipes_watch = e->pipes;
}

static void
nngc_link_attach(struct tidal__link *l, void *end)
{
    end_install(l, end);
    free(end);
}

static int
nngc_link_open(struct tidal__link *l, const char *url)
{
    (void)url; /* l->url */
    struct nngc_end e;
    int rv = end_open(l, &e);
    if (rv == 0) {
        end_install(l, &e);
    }
    return rv;
}

static int
nngc_link_open_end(struct tidal__link *l, void **end)
{
    struct nngc_end *e = malloc(sizeof(*e));
    if (e == NULL) {
        return TIDAL_ENOMEM;
    }
    int rv = end_open(l, e);
    if (rv != 0) {
        free(e);
        return rv;
    }
    *end = e;
    return 0;
}

/* Sends m, which is marked in flight: at once if nng takes it now (see the
 * top of the file), else through tx_aio.  The frames queued behind it go
 * through tx_aio, so one caller sends at most one frame itself. */
static void
nngc_link_send(struct tidal__link *l, nng_msg *m)
{
    nng_aio_set_msg(l->now_aio, m);
    nng_send_aio(l->sock, l->now_aio);
    nng_aio_wait(l->now_aio); /* completed already: no callback, zero timeout */
    if (nng_aio_result(l->now_aio) == 0) {
        nng_aio_set_msg(l->now_aio, NULL);
        atomic_fetch_add(&l->rt->st_frames_at_once, 1);
        m = tidal__link_frame_done(l, 0);
        if (m == NULL) {
            return;
        }
    } else {
        m = nng_aio_get_msg(l->now_aio); /* not taken: still ours */
        nng_aio_set_msg(l->now_aio, NULL);
    }
    nng_aio_set_msg(l->tx_aio, m);
    nng_send_aio(l->sock, l->tx_aio);
}

/* What tidal__link_frame_done is told of a frame's send that ended with
 * nng's rv: the link closed, the hold given up, or any other failure. */
static int
frame_end(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case NNG_ECLOSED:
        return TIDAL_ECLOSED;
    case NNG_ETIMEDOUT:
        return TIDAL_ETIMEDOUT;
    default:
        return TIDAL_ETRANSPORT;
    }
}

static void
tx_cb(void *arg)
{
    struct tidal__link *l = arg;
    int rv = nng_aio_result(l->tx_aio);
    if (rv == NNG_ETIMEDOUT && !peer_gone(l)) {
        nng_send_aio(l->sock, l->tx_aio); /* held: the message is still ours */
        return;
    }
    if (rv != 0) {
        /* on failure the message is still ours */
        nng_msg_free(nng_aio_get_msg(l->tx_aio));
    }
    nng_aio_set_msg(l->tx_aio, NULL); /* sent or freed: link_close must not see it */
    nng_msg *m = tidal__link_frame_done(l, frame_end(rv));
    if (m != NULL) {
        nngc_link_send(l, m);
    }
}

/* Makes the dialer wait up to a day before it redials a lost connection.
 * A closing runtime closes its actors' sockets one by one while its links
 * to them are still open; at 10 ms back-off every such link redialed at
 * once, each wait one more entry that nng 1.5.2's timer thread scans on
 * every wake-up, and closing a runtime of 1,000 socket-backed actors took
 * 2 s of that (bench_scale, close_ms).  nng has no "stop redialing" short of
 * closing the dialer, which would also close its connection under a frame in
 * flight.  (nng 1.5.2 draws each wait as (int)random % back-off, which is
 * zero or negative half the time: a quiet link still redials a few times
 * before a long wait.)  The value, doubled by nng, still fits an int32. */
#define QUIET_REDIAL_MS 86400000

static void
nngc_link_quiet(struct tidal__link *l)
{
    (void)nng_dialer_set_ms(l->dialer, NNG_OPT_RECONNMAXT, QUIET_REDIAL_MS);
    (void)nng_dialer_set_ms(l->dialer, NNG_OPT_RECONNMINT, QUIET_REDIAL_MS); /* the next wait */
}


/* Closes the socket and waits for the send callback; frees the frame in
 * flight, if any. */
static void
end_close(nng_socket sock, nng_aio *tx_aio, nng_aio *now_aio, struct tidal__link_pipes *pipes)
{
    nng_close(sock);
    tidal__link_pipes_free(pipes); /* nng_close waited for its callbacks */
    nng_aio_stop(tx_aio);
    /* a frame handed to nng_send_aio after the stop began never reached the
     * callback (nng 1.5.2 cancels it silently): it is still ours */
    nng_msg *orphan = nng_aio_get_msg(tx_aio);
    if (orphan != NULL) {
        nng_msg_free(orphan);
    }
    nng_aio_free(tx_aio);
    nng_aio_free(now_aio);
}

static void
nngc_link_close(struct tidal__link *l)
{
    end_close(l->sock, l->tx_aio, l->now_aio, l->pipes_watch);
    l->pipes_watch = NULL;
}

/* Under l->lock: nng_close waits for nng's callbacks, and tx_cb takes that
 * lock, so the closing itself is link_reap's, with no lock held. */
static void *
nngc_link_detach(struct tidal__link *l)
{
    struct nngc_end *e = malloc(sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    *e = (struct nngc_end){.sock = l->sock,
                           .tx_aio = l->tx_aio,
                           .now_aio = l->now_aio,
                           .dialer = l->dialer,
                           .pipes = l->pipes_watch};
    l->sock = (nng_socket)NNG_SOCKET_INITIALIZER;
    l->dialer = (nng_dialer)NNG_DIALER_INITIALIZER;
    l->tx_aio = NULL;
    l->now_aio = NULL;
    l->pipes_watch = NULL;
    return e;
}

static void
nngc_link_reap(void *end)
{
    struct nngc_end *e = end;
    end_close(e->sock, e->tx_aio, e->now_aio, e->pipes);
    free(e);
}

const struct tidal__carrier tidal__carrier_nng = {
    .name = "nng",
    .listen = nngc_listen,
    .rx_begin = nngc_rx_begin,
    .rx_resume_locked = nngc_rx_resume_locked,
    .rx_settle_locked = nngc_rx_settle_locked,
    .rx_stop = nngc_rx_stop,
    .listen_peer = tidal__listen_peer_nng,
    .link_open = nngc_link_open,
    .link_send = nngc_link_send,
    .link_open_end = nngc_link_open_end,
    .link_attach = nngc_link_attach,
    .link_detach = nngc_link_detach,
    .link_reap = nngc_link_reap,
    .link_quiet = nngc_link_quiet,
    .link_close = nngc_link_close,
};

/* ---- a leak of nng's that LeakSanitizer must not charge to tidal ----------- */

/* nng 1.5.2 (Debian's libnng1) leaks an ipc or tcp connection that finishes
 * its SP handshake just as its listener or dialer closes: the pipe waits in
 * the transport's queue for an accept that never comes, and the pipe and the
 * transport endpoint keep each other alive (tests/nng/leak_nego_close.c; a
 * few KB each time; reworked upstream in nng 1.9.0).  Any region that closes
 * while a peer redials it can hit it, so a sanitized build of tidal tells
 * LeakSanitizer to pass over what nng allocated inside its listener and
 * dialer calls - nothing tidal allocates, and nothing tidal could leak, as
 * nng owns a listener or dialer for as long as its socket is open.  Linked in
 * every program that opens an nng socket through tidal; a test's own
 * LSAN_OPTIONS suppressions apply on top of it.  A template matches every
 * function whose name contains it: nng_listen, nng_listener_create,
 * nng_listener_start, and the same for dialers.  The third is the message of
 * no bytes that link_pipes.c hands to a dead connection, which nng drops
 * without freeing. */
#if defined(__SANITIZE_ADDRESS__)
#define TIDAL__LSAN_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIDAL__LSAN_HOOK 1
#endif
#endif
#ifdef TIDAL__LSAN_HOOK
/* visible: LeakSanitizer looks it up in the program's dynamic symbols */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);

__attribute__((visibility("default"))) const char *
__lsan_default_suppressions(void)
{
    return "leak:nng_listen\n"
           "leak:nng_dial\n"
           "leak:tidal__link_pipes_arm\n";
}
#endif
