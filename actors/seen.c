/*
 * Read-your-writes at a session's home: a signal the home acknowledged is
 * seen by a read there right after (client.c waits here before it returns).
 *
 * Why a wait is needed.  A region applies a session's signals in seqno
 * order (state.c holds a later one until the gap fills), whichever log
 * brings them.  When a session roams from A to B, A hands it over at seqno
 * N (session.c) and B writes N, N+1, ... at once; but the seqnos below N
 * that A wrote reach B through A's log, one mailbox hop (and, under SYNC,
 * one sync) later.  Until they have, B holds its own signal N: durable,
 * shipped, acknowledged - and not seen by a read at B, which reports the
 * session's last seqno below N.  (test_sync_apply's roaming test failed
 * that way under load.)
 *
 * So the caller's thread, once its signal is durable and applied, waits
 * until the session's HWM here has reached the signal's seqno: the earlier
 * seqnos have arrived (from A's log, or a reconciliation round) and its
 * own signal was drained behind them.  The wait is a condition variable on
 * state.lock that every path raising an HWM broadcasts (state.c, drain),
 * and it is bounded by write_timeout_ms: past it the call gets
 * TIDAL_ETIMEDOUT - the write is made, durable and shipped, as after any
 * timeout, and is seen once the old home's log arrives.  A session freed
 * here meanwhile (retention.c) has nothing left to see: no wait.
 *
 * Only a caller's thread waits; a session actor (a remote client's write)
 * never blocks and answers once the write is durable.
 */
#include <errno.h>

#include "actors/internal.h"
#include "base/time.h"

/* Under state.lock: sid's HWM reached seqno, or the session is gone. */
static bool
seen_now(tidal_region *r, const tidal_session_id *sid, uint64_t seqno)
{
    tidal_session_state info;
    if (tidal_sessions_get(r->state.sessions, sid, &info) != 0) {
        return true; /* freed past the retention: nothing to see */
    }
    return tidal_hwm_get(r->state.hwm, sid) >= seqno;
}

int
tidal__state_wait_seen(tidal_region *r, const uint8_t sid_bytes[16], uint64_t seqno,
                       uint32_t timeout_ms)
{
    tidal_session_id sid;
    tidal__sid_from_bytes(sid_bytes, &sid);
    uint64_t end_ms = tidal_elapsed_ms(r->rt) + timeout_ms;
    int rv = 0;
    pthread_mutex_lock(&r->state.lock);
    r->state.seen_waiters++;
    while (!seen_now(r, &sid, seqno)) {
        if (tidal_runtime_block(r->rt, &r->state.seen_cv, &r->state.lock, end_ms) != 0) {
            rv = seen_now(r, &sid, seqno) ? 0 : TIDAL_ETIMEDOUT;
            break;
        }
    }
    r->state.seen_waiters--;
    pthread_mutex_unlock(&r->state.lock);
    return rv;
}
