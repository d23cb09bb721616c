/*
 * TLS over tls+tcp:// (nng's TLS, on mbedTLS in Debian's nng 1.5.2), with
 * pinned identities.
 *
 * nng 1.5.2 cannot tell which certificate a peer presented, so identity
 * comes from configuration instead: every connection trusts exactly one
 * certificate - the one it is given for the other side, as its only CA - and
 * requires the other side to present it (NNG_TLS_AUTH_MODE_REQUIRED).  A
 * peer listener (listen.c) trusts only its peer's certificate, so whoever
 * completes a handshake there holds that peer's key.
 *
 *   who                           mode    own cert      trusts              auth
 *   an actor's own listener       server  the runtime's -                   none (public)
 *   a peer listener               server  tls->own      tls->peer's         required
 *   a link to one of our actors   client  the runtime's the runtime's       required
 *   a link registered for a URL   client  tls->own      tls->peer's         required
 *   (tidal_runtime_tls_dial)
 *
 * A link to a tls+tcp:// URL that is neither ours nor registered is not
 * opened (TIDAL_EADDR): there would be nothing to trust.
 *
 * nng reads the files when a configuration is made (DEPENDENCIES: the
 * certificate and the key come from one PEM file, certificate first).
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#include <nng/supplemental/tls/tls.h> /* after nng.h (internal.h): it needs NNG_DECL */

struct tidal__tls_dial {
    struct tidal__tls_dial *next;
    char url[TIDAL_URL_BYTES_MAX];
    struct tidal__tls tls;
};

bool
tidal__is_tls(const char *url)
{
    return strncmp(url, "tls+tcp", 7) == 0;
}

static int
copy_str(char **out, const char *s)
{
    *out = NULL;
    if (s == NULL) {
        return 0;
    }
    size_t n = strlen(s);
    if (n == 0 || n >= 4096 || (*out = malloc(n + 1)) == NULL) {
        return n == 0 || n >= 4096 ? TIDAL_EINVAL : TIDAL_ENOMEM;
    }
    memcpy(*out, s, n + 1);
    return 0;
}

void
tidal__tls_fini(struct tidal__tls *t)
{
    free(t->cert_key);
    free(t->peer_cert);
    free(t->server_name);
    memset(t, 0, sizeof(*t));
}

int
tidal__tls_copy(struct tidal__tls *t, const tidal_tls_opts *o)
{
    memset(t, 0, sizeof(*t));
    if (o == NULL || o->cert_key_file == NULL || o->peer_cert_file == NULL) {
        return TIDAL_EINVAL;
    }
    int rv = copy_str(&t->cert_key, o->cert_key_file);
    rv = rv != 0 ? rv : copy_str(&t->peer_cert, o->peer_cert_file);
    rv = rv != 0 ? rv : copy_str(&t->server_name, o->server_name);
    if (rv != 0) {
        tidal__tls_fini(t);
    }
    return rv;
}

/* A configuration from t: as a server (trusting t's peer certificate and
 * requiring it, unless public) or as a client.  Returns a TIDAL_E* code. */
static int
make_config(const struct tidal__tls *t, bool server, bool public, nng_tls_config **out)
{
    nng_tls_config *cfg;
    int rv = nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT);
    if (rv != 0) {
        return rv == NNG_ENOMEM ? TIDAL_ENOMEM : TIDAL_ETRANSPORT;
    }
    if ((rv = nng_tls_config_cert_key_file(cfg, t->cert_key, NULL)) != 0 ||
        (!public && (rv = nng_tls_config_ca_file(cfg, t->peer_cert)) != 0) ||
        (rv = nng_tls_config_auth_mode(cfg, public ? NNG_TLS_AUTH_MODE_NONE
                                                   : NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
        (!server && t->server_name != NULL &&
         (rv = nng_tls_config_server_name(cfg, t->server_name)) != 0)) {
        nng_tls_config_free(cfg);
        return TIDAL_EINVAL; /* a file that is missing or not PEM */
    }
    *out = cfg;
    return 0;
}

int
tidal__tls_listener(tidal_runtime *rt, nng_listener l, const struct tidal__tls *peer)
{
    const struct tidal__tls *t = peer != NULL ? peer : &rt->tls;
    if (t->cert_key == NULL) {
        return TIDAL_EINVAL; /* a tls+tcp:// listener with no certificate */
    }
    nng_tls_config *cfg;
    int rv = make_config(t, true, peer == NULL, &cfg);
    if (rv != 0) {
        return rv;
    }
    rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg) != 0 ? TIDAL_ETRANSPORT : 0;
    nng_tls_config_free(cfg); /* the listener holds its own reference */
    return rv;
}

/* Caller holds rt->links_lock. */
int
tidal__tls_dialer(tidal_runtime *rt, nng_dialer d, const char *url, bool self)
{
    const struct tidal__tls *t = NULL;
    if (self) {
        t = rt->tls.cert_key != NULL ? &rt->tls : NULL;
    } else {
        for (struct tidal__tls_dial *e = rt->tls_dials; e != NULL && t == NULL; e = e->next) {
            t = strcmp(e->url, url) == 0 ? &e->tls : NULL;
        }
    }
    if (t == NULL) {
        return TIDAL_EADDR; /* nothing to trust at that URL */
    }
    nng_tls_config *cfg;
    int rv = make_config(t, false, false, &cfg);
    if (rv != 0) {
        return rv;
    }
    rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) != 0 ? TIDAL_ETRANSPORT : 0;
    nng_tls_config_free(cfg);
    return rv;
}

int
tidal_runtime_tls_dial(tidal_runtime *rt, const char *url, const tidal_tls_opts *tls)
{
    if (rt == NULL || url == NULL || !tidal__is_tls(url) || strlen(url) >= TIDAL_URL_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    struct tidal__tls_dial *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return TIDAL_ENOMEM;
    }
    int rv = tidal__tls_copy(&e->tls, tls);
    if (rv != 0) {
        free(e);
        return rv;
    }
    snprintf(e->url, sizeof(e->url), "%s", url);
    /* a URL registered again (a port the OS gave out before) takes the new
     * configuration; a link already open keeps the one it was made with */
    pthread_mutex_lock(&rt->links_lock);
    struct tidal__tls_dial *o = rt->tls_dials;
    while (o != NULL && strcmp(o->url, url) != 0) {
        o = o->next;
    }
    if (o != NULL) {
        tidal__tls_fini(&o->tls);
        o->tls = e->tls;
        free(e);
    } else {
        e->next = rt->tls_dials;
        rt->tls_dials = e;
    }
    pthread_mutex_unlock(&rt->links_lock);
    return 0;
}

void
tidal__tls_free_all(tidal_runtime *rt)
{
    for (struct tidal__tls_dial *e = rt->tls_dials, *n; e != NULL; e = n) {
        n = e->next;
        tidal__tls_fini(&e->tls);
        free(e);
    }
    rt->tls_dials = NULL;
    tidal__tls_fini(&rt->tls);
}
