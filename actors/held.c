/*
 * The bound on held session records (TIDAL_HELD_RECORDS_MAX).
 *
 * A region holds a session record (state.c, hold) while its session's
 * start or an earlier seqno has not arrived: they come in another origin's
 * log (a session that roamed) or from reconciliation.  The records are
 * logged already - in their origin's log, and in this region's copy of it -
 * so applying them must stay total: a follower never refuses a logged
 * record, and applies each origin's log in LSN order.  What it may refuse
 * is to take more of a log.
 *
 * The rule.  A peer's batch of origin o is taken (applied, copied,
 * acknowledged) only if the records of o held here, plus the batch's
 * session records other than starts (each one that may be held: a
 * signal, an end, a home), stay within the bound - or if no record of o is
 * held (so that a batch larger than the bound cannot wedge o).  Otherwise
 * it is not taken: not applied, not copied, not acknowledged; its origin's
 * shipper sends it again (a batch held behind an LSN gap stays held,
 * apply.c), counted (tidal_region_stats.batches_paused) and written to the
 * operator log (TIDAL-APPLY-PAUSED, at powers of two of the count).  Once
 * the records of o held here drain - the logs they wait for arrive, or a
 * reconciliation round brings their sessions - the next copy is taken.
 * Nothing is dropped, so nothing needs bringing back later.
 *
 * Why it cannot wedge.  A held record waits for records written before it
 * (a session's start; the seqnos below it, which its earlier home logged
 * before it wrote the HOME record that let the new home write).  Say o's
 * batches wait, so some record h of o is held, waiting for a record W that
 * has not arrived: W is in some origin q's log, at or after the batch q's
 * log is stopped at.  If q's batches wait too, one of q's held records
 * waits for a record after o's stopping point, which o wrote after h, and
 * h after W...: a cycle of waits would be a cycle of "written before", so
 * some origin in the chain is taken, and the chain drains.
 *
 * Not bounded here: this region's own records (its writers wait to see
 * their signals: seen.c), and recovery, which replays whole logs; what it
 * holds at its end waits for the same arrivals as before the restart.
 *
 * Threads: the follower path (the region actor) checks and applies; every
 * other thread that applies only drains o's records, which can only make
 * room, so the check and the apply need not be one hold of the lock.
 */
#include <inttypes.h>

#include <stdlib.h>

#include "actors/internal.h"
#include "base/log.h"

/* The batch's records that may be held: its session records but starts.
 * Counted only past the check of held_of, so an origin none of whose
 * records is held (the usual case) costs no decoding. */
static uint32_t
holdable(const uint8_t *payload, size_t len, uint32_t count)
{
    size_t off = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        tidal_record rec;
        size_t used;
        if (tidal_record_decode_one(payload + off, len - off, &used, &rec, NULL) != 0) {
            break; /* verified before (apply.c, batch_valid): cannot happen */
        }
        n += rec.kind == TIDAL_REC_SESSION_SIGNAL || rec.kind == TIDAL_REC_SESSION_END ||
             rec.kind == TIDAL_REC_SESSION_HOME;
        off += used;
    }
    return n;
}

bool
tidal__held_admits(tidal_region *r, uint16_t origin, const uint8_t *payload, size_t len,
                   uint32_t count)
{
    pthread_mutex_lock(&r->state.lock);
    uint32_t held = r->state.held_of[origin];
    uint32_t max = r->state.held_max;
    pthread_mutex_unlock(&r->state.lock);
    return held == 0 || (uint64_t)held + holdable(payload, len, count) <= max;
}

void
tidal__held_paused(tidal_region *r, uint16_t origin, uint64_t first_lsn)
{
    pthread_mutex_lock(&r->state.lock);
    uint32_t held = r->state.held_of[origin];
    uint32_t max = r->state.held_max;
    pthread_mutex_unlock(&r->state.lock);
    uint64_t n = atomic_fetch_add(&r->st_paused, 1) + 1;
    tidal__log(TIDAL_EVENT_APPLY_PAUSED, n,
               "region %u: origin %u's batch at LSN %" PRIu64 " waits: %u of its session "
               "records are held here (at most %u) for a start or earlier seqnos in other "
               "logs; not acknowledged, so sent again (%" PRIu64 " so far)",
               r->id, origin, first_lsn, held, max, n);
}

void
tidal__held_max_set(tidal_region *r, uint32_t max)
{
    pthread_mutex_lock(&r->state.lock);
    r->state.held_max = max != 0 ? max : TIDAL_HELD_RECORDS_MAX;
    pthread_mutex_unlock(&r->state.lock);
}

uint64_t
tidal__held_total(tidal_region *r)
{
    uint64_t n = 0;
    pthread_mutex_lock(&r->state.lock);
    for (uint32_t o = 0; o < TIDAL_REGIONS_MAX; o++) {
        n += r->state.held_of[o];
    }
    pthread_mutex_unlock(&r->state.lock);
    return n;
}

/* Frees one held record and takes it off its origin's count (state.c, once
 * it applies; retention.c, when its session is freed).  Caller holds
 * state.lock.  Cannot fail. */
void
tidal__state_unhold(tidal_region *r, struct tidal__held_write *w)
{
    r->state.held_of[w->origin]--;
    free(w);
}
