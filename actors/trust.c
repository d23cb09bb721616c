/*
 * Who may send what to a region's actors.
 *
 * A message's connection (tidal_msg.via, runtime/listen.c) is the one thing
 * about it a sender cannot make up: each region listens once per peer
 * (cluster.c gives every peer its own URLs), so what arrives through peer
 * p's listener comes from p, and what carries the runtime's self token
 * comes from this region.  Everything else - the sender's name, the region
 * ids in a payload - is a claim, checked against the connection where the
 * message is handled (apply.c, shipper.c, reconciler.c, session.c).
 *
 *   message        region actor      session actor    shipper   reconciler
 *   BATCH          peer              -                -         -
 *   ACK            peer (log base)   -                peer      -
 *   CLOCK          -                 -                peer      -
 *   WRITE          self or peer      self or peer     -         -
 *   HANDOVER_REQ   -                 peer             -         -
 *   HANDOVER       -                 peer (a reply)   -         -
 *   DIGEST         -                 -                -         peer
 *   ENTRIES        -                 -                -         peer
 *   PEER, TICK     self              self             self      self
 *
 * A type an actor does not take at all is left to its handler (MSG_TYPE).
 * A message refused here is counted as UNAUTHENTICATED and changes nothing.
 */
#include "actors/internal.h"

/* Which connections may send type to an actor of kind; 0 if the actor does
 * not take type (its handler says so). */
static unsigned
allowed(enum tidal__actor_kind kind, uint16_t type)
{
    enum { SELF = 1, PEER = 2 };
    switch (type) {
    case TIDAL_MSG_TICK:
    case TIDAL_MSG_PEER:
        return SELF;
    case TIDAL_MSG_WRITE:
        return kind == TIDAL__ACTOR_REGION || kind == TIDAL__ACTOR_SESSION ? SELF | PEER : 0;
    case TIDAL_MSG_BATCH:
        return kind == TIDAL__ACTOR_REGION ? PEER : 0;
    case TIDAL_MSG_ACK:
        return kind == TIDAL__ACTOR_REGION || kind == TIDAL__ACTOR_SHIPPER ? PEER : 0;
    case TIDAL_MSG_CLOCK:
        return kind == TIDAL__ACTOR_SHIPPER ? PEER : 0;
    case TIDAL_MSG_HANDOVER_REQ:
    case TIDAL_MSG_HANDOVER:
        return kind == TIDAL__ACTOR_SESSION ? PEER : 0;
    case TIDAL_MSG_DIGEST:
    case TIDAL_MSG_ENTRIES:
        return kind == TIDAL__ACTOR_RECONCILER ? PEER : 0;
    default:
        return 0;
    }
}

bool
tidal__admit(tidal_region *r, enum tidal__actor_kind kind, const tidal_msg *msg)
{
    unsigned may = allowed(kind, msg->type);
    if (may == 0) {
        return true; /* not taken at all: the handler rejects it as such */
    }
    bool self = msg->via == TIDAL_VIA_SELF;
    tidal_region_id p = tidal__via_peer(msg);
    bool peer = p < TIDAL_REGIONS_MAX && p != r->id && tidal__peer_known(r, p);
    if (((may & 1) && self) || ((may & 2) && peer)) {
        return true;
    }
    tidal__region_reject(r, TIDAL_REGION_REJECT_UNAUTHENTICATED, msg, NULL);
    return false;
}
