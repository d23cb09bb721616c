/*
 * The gate of a session's writes: what a start, signal, end or HOME record
 * may do at this region, decided under the state lock in the same hold as
 * its append (actors/write.c, tidal__write_gated), so that no other writer
 * and no handover comes between the check and the write.  Both kinds of
 * writers go through it: a caller's thread at the session's home
 * (client.c) and the session's actor (session.c).
 */
#include "actors/internal.h"

/* The gate of every session write that orders (tidal__session_write), run
 * under state_lock in the same hold as the append, so that nothing comes
 * between the check of the home and the write: neither a write on another
 * thread (a caller's, client.c) that takes the same seqno, nor a handover.
 *   START   of a session that exists: TIDAL__SESSION_STARTED (idempotent);
 *           of one past the retention (freed or not yet): TIDAL_ESTATE - an
 *           id is never started again
 *   SIGNAL  takes the next seqno; END writes; both only at the home
 *           (TIDAL__SESSION_ELSEWHERE otherwise) of a known session, and a
 *           signal only before the end; an END stamped further ahead than
 *           max_skew_ns is refused (TIDAL_ESKEW: it would keep the session
 *           past the retention)
 *   HOME    the home gives the session away (session.c, on_handover_req): the record
 *           gets the next seqno, the one the new home goes on from
 * A session past the retention is gone (retention.c): TIDAL_ENOENT. */
static int
session_gate(tidal_region *r, tidal_record *rec, bool undo)
{
    tidal_session_id id;
    tidal_session_state info;
    tidal__sid_from_bytes(rec->sid, &id);
    if (undo) {
        /* the append failed (a full ephemeral log, a failed disk): the seqno
         * is given back, else every later signal would wait for it */
        return rec->kind == TIDAL_REC_SESSION_SIGNAL
                   ? tidal_sessions_unassign_seqno(r->state.sessions, &id, rec->seqno)
                   : 0;
    }
    int rv = tidal_sessions_get(r->state.sessions, &id, &info);
    bool gone = rv == 0 ? tidal__retention_expired(r, &info)
                        : tidal_sessions_tomb(r->state.sessions, &id, NULL);
    if (rec->kind == TIDAL_REC_SESSION_START) {
        rec->region = r->id;
        return gone ? TIDAL_ESTATE : rv == 0 ? TIDAL__SESSION_STARTED : 0;
    }
    if (rv != 0 || gone) {
        return TIDAL_ENOENT;
    }
    if (rec->kind == TIDAL_REC_SESSION_END &&
        rec->hlc.wall_ns > tidal_wall_ns(r->rt) + r->opts.max_skew_ns) {
        return TIDAL_ESKEW;
    }
    if (info.ended && rec->kind == TIDAL_REC_SESSION_SIGNAL) {
        return TIDAL_ESTATE;
    }
    if (rec->kind == TIDAL_REC_SESSION_SIGNAL && info.next_seqno > TIDAL_SESSION_SIGNALS_MAX) {
        /* Refused here, before the log: a signal every region would refuse
         * to apply must never be logged - recovery would refuse the log and
         * a peer would stall behind it.  Decided by seqno, not by the
         * signals held here: seqnos are gapless from 1 and handed over with
         * the home, so every home, whatever has reached it, draws the line
         * at the same signal. */
        return TIDAL_ELIMIT;
    }
    if (info.home != r->id) {
        return TIDAL__SESSION_ELSEWHERE;
    }
    if (rec->kind == TIDAL_REC_SESSION_HOME) {
        rec->seqno = info.next_seqno;
        return 0;
    }
    return rec->kind == TIDAL_REC_SESSION_SIGNAL
               ? tidal_sessions_assign_seqno(r->state.sessions, &id, &rec->seqno)
               : 0;
}

/* Writes a session's start, signal or end (or its HOME record when this
 * region, its home, hands it over) if this region may: see session_gate. */
int
tidal__session_write(tidal_region *r, tidal_ctx *ctx, tidal_record *rec, uint64_t *lsn)
{
    return tidal__write_gated(r, ctx, rec, session_gate, lsn);
}
