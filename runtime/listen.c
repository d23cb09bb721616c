/*
 * Peer listeners: where a message came from, as the connection tells it.
 *
 * Everything a frame says about its sender is a claim.  What cannot be
 * claimed is the connection: nng tells which pipe a message arrived on
 * (nng_msg_get_pipe) and which listener accepted that pipe
 * (nng_pipe_listener).  Debian's nng 1.5.2 cannot tell which certificate a
 * TLS peer presented, so identity comes from the listener: an actor listens
 * once per peer (tidal_listen_peer), each listener is reachable only by that
 * peer (its own URL; over TLS, its own pinned certificate), and everything
 * arriving through it is attributed to the peer's tag (tidal_msg.via).
 *
 * Asking nng for a pipe's listener takes nng's global pipe lock, so it is
 * done once per connection, not per frame: a pipe callback (ADD_PRE, run by
 * nng before the pipe delivers anything) records the pipes of peer
 * listeners in act->pipes, and the receive path looks the frame's pipe up
 * there under act->lock, which it holds anyway.  A pipe of the actor's own
 * listener is not recorded: it is TIDAL_VIA_PUBLIC.
 *
 * The same callback refuses an ipc connection from a process of another uid
 * (NNG_OPT_IPC_PEER_UID) on every listener of the actor: the socket file is
 * 0600 already, but root can connect past that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/internal.h"

/* For tcp with port 0, the URL with the port the OS chose; else url. */
void
tidal__resolve_url(nng_listener l, const char *url, char *out, size_t cap)
{
    nng_sockaddr sa;
    size_t n = strlen(url);
    bool tcp = strncmp(url, "tcp", 3) == 0 || strncmp(url, "tls+tcp", 7) == 0;
    if (!tcp || n < 2 || strcmp(url + n - 2, ":0") != 0 ||
        nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) != 0) {
        snprintf(out, cap, "%s", url);
        return;
    }
    uint16_t port = sa.s_family == NNG_AF_INET6 ? sa.s_in6.sa_port : sa.s_in.sa_port;
    port = (uint16_t)((port >> 8) | (port << 8)); /* network order */
    snprintf(out, cap, "%.*s:%u", (int)(n - 2), url, port);
}

static void
pipe_added(struct tidal__actor *act, nng_pipe p)
{
    uint64_t uid;
    if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) == 0 && uid != (uint64_t)geteuid()) {
        (void)nng_pipe_close(p);
        tidal__reject(act->rt, TIDAL_REJECT_PEER_UID, NULL, act->url);
        return;
    }
    if (atomic_load(&act->peer_n) == 0) {
        return; /* no peer listener: every pipe is public */
    }
    int l = nng_listener_id(nng_pipe_listener(p));
    pthread_mutex_lock(&act->lock);
    uint32_t n = atomic_load(&act->peer_n);
    for (uint32_t i = 0; i < n; i++) {
        if (nng_listener_id(act->peer_l[i].l) != l) {
            continue;
        }
        if (act->pipes_n == act->pipes_cap) {
            uint32_t ncap = act->pipes_cap ? act->pipes_cap * 2 : 8;
            struct tidal__peer_pipe *np = realloc(act->pipes, ncap * sizeof(*np));
            if (np == NULL) {
                /* cannot attribute it: it may not speak as the peer */
                pthread_mutex_unlock(&act->lock);
                (void)nng_pipe_close(p);
                return;
            }
            act->pipes = np;
            act->pipes_cap = ncap;
        }
        act->pipes[act->pipes_n++] = (struct tidal__peer_pipe){(uint32_t)nng_pipe_id(p),
                                                               act->peer_l[i].tag};
        break;
    }
    pthread_mutex_unlock(&act->lock);
}

static void
pipe_removed(struct tidal__actor *act, nng_pipe p)
{
    uint32_t id = (uint32_t)nng_pipe_id(p);
    pthread_mutex_lock(&act->lock);
    for (uint32_t i = 0; i < act->pipes_n; i++) {
        if (act->pipes[i].pipe == id) {
            act->pipes[i] = act->pipes[--act->pipes_n];
            break;
        }
    }
    pthread_mutex_unlock(&act->lock);
}

/* Runs on nng's threads with none of nng's locks held (nni_pipe_run_cb). */
static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        pipe_added(arg, p);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        pipe_removed(arg, p);
    }
}

/* Registers the pipe callbacks on act's socket, before it listens.  Returns
 * an nng code. */
int
tidal__listen_notify(struct tidal__actor *act)
{
    int rv = nng_pipe_notify(act->sock, NNG_PIPE_EV_ADD_PRE, pipe_cb, act);
    return rv != 0 ? rv : nng_pipe_notify(act->sock, NNG_PIPE_EV_REM_POST, pipe_cb, act);
}

/* The peer tag of the pipe msg arrived on, TIDAL_VIA_PUBLIC if it is not a
 * peer listener's.  Caller holds act->lock. */
uint16_t
tidal__via_of_pipe_locked(struct tidal__actor *act, nng_msg *msg)
{
    uint32_t id = (uint32_t)nng_pipe_id(nng_msg_get_pipe(msg));
    for (uint32_t i = 0; i < act->pipes_n; i++) {
        if (act->pipes[i].pipe == id) {
            return act->pipes[i].tag;
        }
    }
    return TIDAL_VIA_PUBLIC;
}

/* The URL a peer listener derives from the actor's: "<url>~<tag>" over inproc
 * and ipc; over tcp the same host with a port the OS chooses. */
static int
derive_url(const struct tidal__actor *act, uint16_t tag, char *out, size_t cap)
{
    const char *u = act->url;
    int n;
    if (strncmp(u, "tcp://", 6) == 0 || strncmp(u, "tls+tcp://", 10) == 0) {
        const char *colon = strrchr(u, ':');
        const char *host = strstr(u, "://") + 3;
        if (colon == NULL || colon < host) {
            return TIDAL_EINVAL;
        }
        n = snprintf(out, cap, "%.*s:0", (int)(colon - u), u);
    } else {
        n = snprintf(out, cap, "%s~%u", u, tag);
    }
    return n > 0 && (size_t)n < cap ? 0 : TIDAL_EINVAL;
}

/* Records listener l for tag, unless the tag is taken or the table full
 * (TIDAL_EEXIST, TIDAL_ELIMIT).  A simulated listener has no nng listener:
 * l is NNG_LISTENER_INITIALIZER. */
int
tidal__peer_entry_add(struct tidal__actor *act, nng_listener l, uint16_t tag)
{
    int rv = 0;
    pthread_mutex_lock(&act->lock);
    uint32_t n = atomic_load(&act->peer_n);
    for (uint32_t i = 0; i < n && rv == 0; i++) {
        rv = act->peer_l[i].tag == tag ? TIDAL_EEXIST : 0;
    }
    if (rv == 0 && n == TIDAL_PEER_LISTENERS_MAX) {
        rv = TIDAL_ELIMIT;
    }
    if (rv == 0) {
        act->peer_l[n] = (struct tidal__peer_listener){l, tag};
        atomic_store(&act->peer_n, n + 1);
    }
    pthread_mutex_unlock(&act->lock);
    return rv;
}

void
tidal__peer_entry_remove(struct tidal__actor *act, uint16_t tag)
{
    pthread_mutex_lock(&act->lock);
    uint32_t n = atomic_load(&act->peer_n);
    for (uint32_t i = 0; i < n; i++) {
        if (act->peer_l[i].tag == tag) {
            act->peer_l[i] = act->peer_l[n - 1];
            atomic_store(&act->peer_n, n - 1);
            break;
        }
    }
    pthread_mutex_unlock(&act->lock);
}

/* nng's side of tidal_listen_peer (the carrier's listen_peer): a second
 * listener on the actor's socket at url.  On error nothing is left. */
int
tidal__listen_peer_nng(struct tidal__actor *act, const char *u, uint16_t peer,
                       const tidal_tls_opts *tls, char *url_out)
{
    tidal_runtime *rt = act->rt;
    nng_listener l = NNG_LISTENER_INITIALIZER;
    int rv;
    /* Created, recorded, then started: a pipe it accepts always finds it
     * recorded.  No actor lock is held across a call into nng (its pipe
     * callback takes that lock). */
    if ((rv = nng_listener_create(&l, act->sock, u)) != 0) {
        return rv == NNG_ECLOSED ? TIDAL_ECLOSED : TIDAL_EADDR;
    }
    if (strncmp(u, "ipc://", 6) == 0) {
        (void)nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
    }
    if (tidal__is_tls(u)) {
        struct tidal__tls t;
        if ((rv = tidal__tls_copy(&t, tls)) == 0) {
            rv = tidal__tls_listener(rt, l, &t);
            tidal__tls_fini(&t);
        }
        if (rv != 0) {
            (void)nng_listener_close(l);
            return rv;
        }
    }
    if ((rv = tidal__peer_entry_add(act, l, peer)) != 0) {
        (void)nng_listener_close(l);
        return rv;
    }
    if ((rv = nng_listener_start(l, 0)) != 0) {
        tidal__peer_entry_remove(act, peer);
        (void)nng_listener_close(l);
        return rv == NNG_ECLOSED ? TIDAL_ECLOSED : TIDAL_EADDR;
    }
    tidal__resolve_url(l, u, url_out, TIDAL_URL_BYTES_MAX);
    return 0;
}

int
tidal_listen_peer(tidal_runtime *rt, tidal_actor actor, uint16_t peer, const char *url,
                  const tidal_tls_opts *tls, char url_out[TIDAL_URL_BYTES_MAX])
{
    if (rt == NULL || url_out == NULL || peer == TIDAL_VIA_PUBLIC || peer > TIDAL_VIA_PEER_MAX ||
        (url != NULL && (url[0] == '\0' || strlen(url) >= TIDAL_URL_BYTES_MAX))) {
        return TIDAL_EINVAL;
    }
    struct tidal__actor *act = tidal__actor_get(rt, actor);
    if (act == NULL) {
        return TIDAL_ECLOSED;
    }
    char u[TIDAL_URL_BYTES_MAX];
    int rv = url != NULL ? (snprintf(u, sizeof(u), "%s", url), 0)
                         : derive_url(act, peer, u, sizeof(u));
    if (rv != 0 || act->is_reply_endpoint) {
        rv = TIDAL_EINVAL;
    } else {
        rv = rt->carrier->listen_peer(act, u, peer, tls, url_out);
    }
    tidal__actor_unref(act);
    return rv;
}
