/*
 * How two regions of a cluster become peers (region.h, "Who may speak for a
 * region"; actors/trust.c): each listens on its region actor, shipper and
 * reconciler once for the other, over tls+tcp:// trusting only the other's
 * certificate, registers what its links to the other's listeners trust,
 * and records the URLs the other listens at for it in its peer table.
 */
#include <stdio.h>
#include <string.h>

#include "actors/internal.h"
#include "base/log.h"

static const char *const actor_kinds[3] = {"region", "shipper", "reconciler"};

const tidal_tls_opts *
tidal__tls_for(const tidal_cluster *c, tidal_region_id self, tidal_region_id other,
               struct tidal__tls_paths *p)
{
    if (c->tls_dir[0] == '\0') {
        return NULL;
    }
    snprintf(p->key, sizeof(p->key), "%s/region-%u.pem", c->tls_dir, self);
    snprintf(p->peer, sizeof(p->peer), "%s/region-%u.crt", c->tls_dir, other);
    snprintf(p->name, sizeof(p->name), "region-%u", other);
    p->opts = (tidal_tls_opts){.cert_key_file = p->key, .peer_cert_file = p->peer,
                               .server_name = p->name};
    return &p->opts;
}

/* Has r listen for peer p on its region actor, shipper and reconciler (each
 * once: a region that comes back finds its URLs unchanged).  Caller holds
 * c->lock. */
static int
listen_for(tidal_region *r, tidal_region_id p)
{
    for (int k = 0; k < 3; k++) {
        if (r->listening[p] & (1u << k)) {
            continue;
        }
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-%u", actor_kinds[k], r->id);
        tidal_actor a;
        struct tidal__tls_paths tp;
        int rv = tidal_lookup(r->rt, name, &a);
        if (rv != 0 || (rv = tidal_listen_peer(r->rt, a, TIDAL__PEER_TAG(p), NULL,
                                                tidal__tls_for(r->cluster, r->id, p, &tp),
                                                r->listen_url[p][k])) != 0) {
            return rv;
        }
        r->listening[p] |= (uint8_t)(1u << k);
    }
    return 0;
}

/* Over tls+tcp://: what r's links to q's listeners for r present and trust
 * (q's certificate alone). */
static int
trust_links(tidal_region *r, const tidal_region *q)
{
    struct tidal__tls_paths tp;
    const tidal_tls_opts *t = tidal__tls_for(r->cluster, r->id, q->id, &tp);
    int rv = 0;
    for (int k = 0; k < 3 && t != NULL && rv == 0; k++) {
        rv = tidal_runtime_tls_dial(r->rt, q->listen_url[r->id][k], t);
    }
    return rv;
}

/* What peer p must know of r: the URLs r listens at for p. */
static void
describe(const tidal_region *r, tidal_region_id p, tidal_msg_peer *m)
{
    const char (*u)[TIDAL_URL_BYTES_MAX] = r->listen_url[p];
    m->region = r->id;
    m->region_url = (tidal_view){(const uint8_t *)u[0], (uint32_t)strlen(u[0])};
    m->shipper_url = (tidal_view){(const uint8_t *)u[1], (uint32_t)strlen(u[1])};
    m->reconciler_url = (tidal_view){(const uint8_t *)u[2], (uint32_t)strlen(u[2])};
}

/* Makes r and every other open region peers of each other, each sending to
 * the listeners the other keeps for it alone (trust.c).  A pair that cannot
 * listen stays apart, and the operator log says so.  Caller holds c->lock. */
void
tidal__introduce(tidal_cluster *c, tidal_region *r)
{
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *q = c->regions[i];
        if (q == NULL || q == r) {
            continue;
        }
        int rv = listen_for(r, q->id);
        if (rv != 0 || (rv = listen_for(q, r->id)) != 0) {
            tidal__log(TIDAL_EVENT_PEER_REJECTED, 1,
                       "regions %u and %u cannot listen for each other (%s): not peers",
                       r->id, q->id, tidal_errname(rv));
            continue;
        }
        if ((rv = trust_links(r, q)) != 0 || (rv = trust_links(q, r)) != 0) {
            tidal__log(TIDAL_EVENT_PEER_REJECTED, 1,
                       "regions %u and %u cannot dial each other (%s): not peers", r->id,
                       q->id, tidal_errname(rv));
            continue;
        }
        tidal_msg_peer me, them;
        describe(q, r->id, &them);
        describe(r, q->id, &me);
        /* two open regions of one cluster: distinct ids in range, their
         * actors' own URLs */
        TIDAL_IGNORE(tidal__peer_set(r, &them));
        TIDAL_IGNORE(tidal__peer_set(q, &me));
    }
}

int
tidal_region_peer_addr(tidal_region *r, tidal_region_id peer, const char *actor, tidal_addr *out)
{
    if (r == NULL || actor == NULL || out == NULL || peer >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    int k = 0;
    while (k < 3 && strcmp(actor, actor_kinds[k]) != 0) {
        k++;
    }
    if (k == 3) {
        return TIDAL_EINVAL;
    }
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "%s-%u", actor, r->id);
    int rv = TIDAL_ENOENT;
    pthread_mutex_lock(&r->cluster->lock);
    if (r->listening[peer] & (1u << k)) {
        rv = tidal_addr_make(out, r->listen_url[peer][k], name, NULL, 0);
    }
    pthread_mutex_unlock(&r->cluster->lock);
    return rv;
}
