/*
 * Sessions (public API): a user's sessions and the signals recorded in
 * them, ordered by the session's home region and readable in every region.
 * Part of the regions' API (tidal/region.h, which includes it, says what
 * regions and clusters are): every call here may be made from any thread
 * except an actor handler, and those returning int give 0 or a TIDAL_E*
 * code.
 */
#ifndef TIDAL_SESSIONS_H
#define TIDAL_SESSIONS_H

#include "tidal/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/hlc.h"
#include "tidal/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sessions ------------------------------------------------------------ */

typedef struct tidal_session_opts {
    uint32_t reserved; /* no options yet; 0 */
} tidal_session_opts;

typedef struct tidal_session_view {
    tidal_session_id id;
    tidal_entity_id user;
    tidal_region_id home; /* the region that orders its writes now */
    tidal_hlc started;
    bool ended;
    tidal_seqno last_seqno; /* highest seqno applied here */
    uint32_t signals;       /* signals applied here */
} tidal_session_view;

typedef struct tidal_signal_view {
    tidal_seqno seqno; /* its place in the session: 1, 2, 3... */
    char type[32];     /* the signal type's name, NUL-terminated */
    tidal_entity_id item;
    double weight;          /* as written, rounded to a float */
    uint64_t ts_ns;         /* the event time the client gave (ns since the epoch) */
    tidal_region_id origin; /* the region that took the write: the session's home then */
    tidal_hlc stamp;        /* the origin's HLC when it took the write: unique per
                             * origin, ordered like the origin's writes, the same
                             * in every region (carried by the replicated record
                             * and by reconciliation).  All zero for a signal
                             * written before stamps were kept (a WAL record or a
                             * reconciliation entry of the old format): an
                             * unknown stamp, older than any real one.  Added in
                             * 0.1 before its release: a program built against a
                             * header without it must be rebuilt (docs/abi.md) */
} tidal_signal_view;

/* Starts a session for user with this region as its home.  Durable under the
 * region's policy when it returns. */
TIDAL_API int tidal_start_session(tidal_region *r, tidal_entity_id user,
                                  const tidal_session_opts *opts,
                                  tidal_session_id *out) TIDAL_WARN_UNUSED;

/* Records a signal in a session.  At the session's home the caller's own
 * thread writes it and ships it to every peer, as from the session's actor
 * ("region-<id>/<hex session id>": fault rules on its links cover it), one
 * mailbox hop from the call to a peer's state.  If the home is another
 * region (an agent that roamed), the home moves here first (handover), then
 * the write is ordered here.  Returns once it is durable under the region's
 * policy and a read of this region sees it: after a handover the old home's
 * earlier seqnos must reach this region first (the signals apply in seqno
 * order), which it waits for up to opts.write_timeout_ms, then
 * TIDAL_ETIMEDOUT (the write is made, and seen once they arrive).
 * TIDAL_ENOENT for an unknown session, TIDAL_ESTATE for an ended one. */
TIDAL_API int tidal_signal_in_session(tidal_region *r, tidal_session_id s, const char *type,
                                      tidal_entity_id item, double weight,
                                      uint64_t ts_ns) TIDAL_WARN_UNUSED;

/* Ends a session (sticky).  It is kept for opts.session_retention_ms after
 * the end, then freed in every region: reads, signals and ends of it then
 * get TIDAL_ENOENT (docs/design.md, "Ended sessions"). */
TIDAL_API int tidal_end_session(tidal_region *r, tidal_session_id s) TIDAL_WARN_UNUSED;

/* The session as this region sees it.  TIDAL_ENOENT if unknown here, or
 * ended more than the retention ago (freed). */
TIDAL_API int tidal_get_session(tidal_region *r, tidal_session_id s,
                                tidal_session_view *out) TIDAL_WARN_UNUSED;

/* Copies up to max signals of the session (seqno order) into out; *n gets how
 * many the session has here (may exceed max).  TIDAL_ENOENT if unknown. */
TIDAL_API int tidal_session_signals(tidal_region *r, tidal_session_id s, tidal_signal_view *out,
                                    size_t max, size_t *n) TIDAL_WARN_UNUSED;

/* The same from a seqno on: copies up to max of the session's signals whose
 * seqno is at least from (seqno order) into out (NULL when max is 0); *n
 * gets how many the session has here from `from` on (may exceed max).  So a
 * reader pages through a session of any length with a bounded buffer: the
 * next page starts at the last seqno copied + 1.  from 0 or 1 is every
 * signal (tidal_session_signals).  A page is read under one hold of the
 * state lock; a signal that arrives between two pages below the next
 * page's start (a gap filled late: a handover, reconciliation) is not in
 * either.  Cost: a binary search and the copy, O(log S + max).
 * TIDAL_EINVAL for a NULL r or n, or a NULL out with max > 0; TIDAL_ENOENT
 * if the session is unknown here (or freed, as tidal_get_session). */
TIDAL_API int tidal_session_signals_from(tidal_region *r, tidal_session_id s, tidal_seqno from,
                                         tidal_signal_view *out, size_t max,
                                         size_t *n) TIDAL_WARN_UNUSED;

/* The sessions of user this region holds - live, and ended but within the
 * retention (freed ones, and ended ones past it, are left out as
 * tidal_get_session leaves them out) - wherever they started or roamed:
 * every session whose start this region has applied, from any region.
 * Ordered by start stamp (the started field of tidal_session_view, in HLC
 * order: wall, logical, node), then by id (hi, lo); the order of two calls
 * agrees as long as no session starts or goes between them.  Copies the
 * first max ids into out (NULL when max is 0: *n alone says how many);
 * *n gets how many there are, which may exceed max.  A user with no
 * session gets *n = 0 and 0.
 * Cost: the region keeps an index of its sessions by user (16 bytes a
 * session plus about 24-48 a user), kept as sessions start and go; a call
 * costs the user's m sessions - m lookups and an O(m log m) sort of a copy
 * (24 + 16 bytes each, allocated per call) under the state lock - whatever
 * the number of sessions of other users.
 * TIDAL_EINVAL for a NULL r or n, or a NULL out with max > 0; TIDAL_ENOMEM
 * for the copy (nothing written). */
TIDAL_API int tidal_user_sessions(tidal_region *r, tidal_entity_id user, tidal_session_id *out,
                                  size_t max, size_t *n) TIDAL_WARN_UNUSED;

/* Every session this region holds - live, and ended but within the
 * retention, as tidal_user_sessions - in pages ordered by id (hi, then lo,
 * as unsigned numbers): the ids greater than *after (every one when after
 * is NULL).  Copies the first max into out (NULL when max is 0: *n alone
 * says how many); *n gets how many there are above after, which may exceed
 * max.  To walk them all with a buffer of max: call with after NULL, then
 * with after = the last id of the page, until *n <= max.  A session that
 * starts during a walk is listed if its id is above the cursor then; one
 * freed is not.
 * Cost: no index by id - each call is one pass over every session held,
 * O(N log max) for N sessions, under the state lock (writes and reads of
 * this region wait for it), and no allocation: the caller's memory is its
 * page.  A whole walk in pages of max costs O(N^2 / max log max): for an
 * export, not for a request path.
 * TIDAL_EINVAL for a NULL r or n, or a NULL out with max > 0. */
TIDAL_API int tidal_region_sessions(tidal_region *r, const tidal_session_id *after,
                                    tidal_session_id *out, size_t max, size_t *n) TIDAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_SESSIONS_H */
