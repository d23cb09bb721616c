/*
 * The carrier seam: how frames travel between sockets.  Its two sides are
 * runtime/carrier_nng.c (nng's sockets) and runtime/sim_net.c (a
 * simulation's network); rx.c and link.c reach them only through this
 * table (runtime/internal.h has the structs it points at).
 */
#ifndef TIDAL_RUNTIME_CARRIER_H
#define TIDAL_RUNTIME_CARRIER_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "tidal/runtime.h"

struct tidal__actor;
struct tidal__link;

/*
 * A runtime carries frames through one carrier, chosen at open: nng's
 * sockets (carrier_nng.c), or a simulation's network (sim_net.c).  What
 * happens to a frame before it leaves a link and after it reaches an
 * actor - framing, coalescing, faults, strict decoding, mailboxes - is the
 * same for both.  The contract of each operation:
 *
 *   listen(act, url)        opens act's receiving end at url and resolves
 *                           act->url (a tcp port the OS chose); delivers
 *                           nothing yet.  On error nothing is left open and
 *                           act->rx_closed is set.
 *   rx_begin(act)           from now on hands each frame that arrives for
 *                           act to tidal__rx_frame, one at a time, in
 *                           arrival order, and after each one stops while
 *                           tidal__rx_should_pause_locked says so.  On error
 *                           the receiving end is closed (rx_closed set).
 *   rx_resume_locked(act)   a paused actor has room again (caller holds
 *                           act->lock: must not hand a frame over here).
 *   listen_peer(act, url, tag, tls, url_out)  opens another receiving end
 *                           of act at url whose frames are attributed to
 *                           peer tag (listen.c); url_out gets the resolved
 *                           url.  On error nothing is left open.
 *   rx_settle_locked(act)   (may be NULL: never settles) act is about to
 *                           close: if its connections may be mid-message,
 *                           sets rx_settling, stops the receive it has
 *                           pending and returns true, and the caller gives
 *                           them time before the close (rx.c, Settling).
 *                           Caller holds act->lock, and neither settling nor
 *                           rx_stop has begun.  Cannot fail.
 *   rx_stop(act, was_closed) closes the receiving end (unless was_closed)
 *                           and returns once no frame is being handed over
 *                           and none will be.  Called once (tidal__rx_stop).
 *   link_open(l, url)       opens l's sending end to url (l->url, l->rt and
 *                           l->self are set).  On error nothing is left open.
 *                           Keeps l->pipes and l->down_since_ms.
 *   link_send(l, m)         takes frame m, marked in flight; reports its end
 *                           through tidal__link_frame_done, on this thread or
 *                           another, and sends the frame that returns.
 *   link_open_end(l, &end)  (with link_detach) opens a sending end for l
 *                           apart from it, with no lock held: nng holds its
 *                           own locks while it calls tx_cb, which takes
 *                           l->lock.  On error nothing is left open.
 *   link_attach(l, end)     under l->lock: makes end l's sending end.
 *   link_detach(l)          (may be NULL: links never park) takes an idle
 *                           sending end, no frame in flight, out of l, which
 *                           link_open can open again (links.c, Parking);
 *                           called under l->lock.  NULL if it cannot.
 *   link_reap(end)          closes what link_detach took, with no lock held.
 *   link_quiet(l)           (may be NULL) the runtime is closing: the sending
 *                           end keeps the connection it has but does not
 *                           reconnect one it loses.  Cannot fail.
 *   link_close(l)           closes the sending end; after it no completion
 *                           runs.  Frames still in l's rings are the link's. */
struct tidal__carrier {
    const char *name;
    int (*listen)(struct tidal__actor *act, const char *url);
    int (*rx_begin)(struct tidal__actor *act);
    void (*rx_resume_locked)(struct tidal__actor *act);
    bool (*rx_settle_locked)(struct tidal__actor *act);
    void (*rx_stop)(struct tidal__actor *act, bool was_closed);
    int (*listen_peer)(struct tidal__actor *act, const char *url, uint16_t tag,
                       const tidal_tls_opts *tls, char *url_out);
    int (*link_open)(struct tidal__link *l, const char *url);
    void (*link_send)(struct tidal__link *l, nng_msg *m);
    int (*link_open_end)(struct tidal__link *l, void **end);
    void (*link_attach)(struct tidal__link *l, void *end);
    void *(*link_detach)(struct tidal__link *l);
    void (*link_reap)(void *end);
    void (*link_quiet)(struct tidal__link *l);
    void (*link_close)(struct tidal__link *l);
};
extern const struct tidal__carrier tidal__carrier_nng;
extern const struct tidal__carrier tidal__carrier_sim;

#endif /* TIDAL_RUNTIME_CARRIER_H */
