/*
 * The peer table and sending to peers: what a region knows of every other
 * region of its cluster (the addresses of its region actor, shipper and
 * reconciler, from the PEER message the cluster gives it), and the one way
 * the region's actors and threads send to them.
 *
 * Locks: peers_lock guards the table and is a leaf; peers_known mirrors its
 * known flags for lock-free checks (a peer, once known, stays known).
 */
#include <stdio.h>
#include <string.h>

#include "actors/internal.h"

static int
addr_from(tidal_addr *out, tidal_view url, const char *kind, uint16_t id)
{
    char u[TIDAL_URL_BYTES_MAX], name[TIDAL_NAME_BYTES_MAX];
    snprintf(u, sizeof(u), "%.*s", (int)url.len, (const char *)url.ptr);
    snprintf(name, sizeof(name), "%s-%u", kind, id);
    return tidal_addr_make(out, u, name, NULL, 0);
}

/* Records what a PEER message says.  TIDAL_EINVAL (nothing recorded) for
 * this region, one out of range, or a URL that makes no address. */
int
tidal__peer_set(tidal_region *r, const tidal_msg_peer *p)
{
    struct tidal__peer peer = {.known = true};
    if (p->region >= TIDAL_REGIONS_MAX || p->region == r->id ||
        addr_from(&peer.region, p->region_url, "region", p->region) != 0 ||
        addr_from(&peer.shipper, p->shipper_url, "shipper", p->region) != 0 ||
        addr_from(&peer.reconciler, p->reconciler_url, "reconciler", p->region) != 0) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&r->peers.lock);
    r->peers.of[p->region] = peer;
    pthread_mutex_unlock(&r->peers.lock);
    atomic_fetch_or(&r->peers.known, 1u << p->region);
    return 0;
}

bool
tidal__peer_region(tidal_region *r, tidal_region_id id, tidal_addr *out)
{
    if (!tidal__peer_known(r, id)) {
        return false;
    }
    pthread_mutex_lock(&r->peers.lock);
    *out = r->peers.of[id].region;
    pthread_mutex_unlock(&r->peers.lock);
    return true;
}

bool
tidal__peer_get(tidal_region *r, tidal_region_id id, struct tidal__peer *out)
{
    if (id >= TIDAL_REGIONS_MAX) {
        return false;
    }
    pthread_mutex_lock(&r->peers.lock);
    *out = r->peers.of[id];
    pthread_mutex_unlock(&r->peers.lock);
    return out->known;
}

int
tidal__send_msg(tidal_region *r, tidal_ctx *ctx, const tidal_addr *as, const tidal_addr *to,
                uint16_t type, const tidal_buf *payload)
{
    if (ctx != NULL) {
        return tidal_ctx_send(ctx, to, type, payload->data, (uint32_t)payload->len);
    }
    return tidal_send_as_actor(r->rt, as != NULL ? as : &r->region_addr, to, type, payload->data,
                               (uint32_t)payload->len, 0);
}
