/*
 * Ended sessions past the retention (docs/design.md, "Ended sessions"): the
 * one rule that says which sessions are gone, and the freeing of them.
 *
 * The rule: with R the region's retention (opts.session_retention_ms) and t
 * its wall clock, the cut-off is t - R, and a session is expired when it has
 * ended before the cut-off (its end stamp's wall time is smaller).  Expired
 * sessions are gone for everyone at once, whether their memory has been
 * freed yet or not: reads and writes (read.c, session.c) get TIDAL_ENOENT,
 * and digests and reconciliation leave them out (state.c, reconciler.c).
 * Freeing is then only memory, and it happens:
 *   - at once, when a record or a merge makes a session expired: an END
 *     stamped long ago, a reconciliation entry, recovery replaying a log
 *     (tidal__retention_check, called by state.c after each);
 *   - when time makes it expired: by the sweep, on the region actor's tick,
 *     TIDAL_SWEEP_PER_TICK sessions per hold of state_lock.  A pass starts
 *     every R / 4 (at least a tick, at most a minute), so a session is
 *     freed within about R / 4 of its expiry, plus the pass's length.
 * A freed session leaves a tombstone (store/session.h), which makes the
 * records and entries of it still on their way drop (state.c); the same
 * sweep drops tombstones TIDAL_SESSION_TOMBSTONE_RETENTIONS retentions
 * after their end.
 */
#include <stdlib.h>

#include "actors/internal.h"
#include "base/time.h"
#include "store/hlc.h"

#define NS_PER_MS 1000000ull
/* The longest wait between two passes of the sweep: the signal buckets'
 * expiry period. */
#define SWEEP_PERIOD_MAX_MS TIDAL_EXPIRE_EVERY_MS

/* The retention in ms; 0 if the region keeps every session. */
static uint64_t
retention_ms(const tidal_region *r)
{
    uint32_t ms = r->opts.session_retention_ms;
    return ms == UINT32_MAX ? 0 : ms == 0 ? TIDAL_SESSION_RETENTION_MS_DEFAULT : ms;
}

/* now - keep_ns, or 0 (nothing before it) if now is not past keep_ns. */
static uint64_t
cutoff_of(uint64_t now_ns, uint64_t keep_ns)
{
    return now_ns > keep_ns ? now_ns - keep_ns : 0;
}

/* The region's wall clock (tidal_region_opts.wall_clock); the system's
 * before its runtime exists. */
static uint64_t
wall_now(const tidal_region *r)
{
    return r->rt != NULL ? tidal_wall_ns(r->rt) : tidal_hlc_wall_now(NULL);
}

uint64_t
tidal__retention_cutoff(const tidal_region *r)
{
    uint64_t ms = retention_ms(r);
    return ms == 0 ? 0 : cutoff_of(wall_now(r), ms * NS_PER_MS);
}

bool
tidal__retention_expired(const tidal_region *r, const tidal_session_state *info)
{
    /* the clock is read only for an ended session: most are not */
    return info->ended && info->ended_stamp.wall_ns < tidal__retention_cutoff(r);
}

void
tidal__retention_dropped(tidal_region *r)
{
    atomic_fetch_add(&r->st_session_drops, 1);
}

/* Drops the writes held for sid: they wait for a session that is gone. */
static void
drop_held(tidal_region *r, const tidal_session_id *sid)
{
    uint8_t key[16];
    tidal__sid_to_bytes(sid, key);
    struct tidal__held_session *hs = tidal_hmap_find(&r->state.held, key);
    if (hs == NULL) {
        return;
    }
    for (struct tidal__held_write *w = hs->list, *n; w != NULL; w = n) {
        n = w->next;
        tidal__state_unhold(r, w);
        tidal__retention_dropped(r);
    }
    tidal_hmap_remove_entry(&r->state.held, hs);
}

/* What goes with a session the table has freed (store/session.h keeps only
 * the session's own slot): its HWM and its held writes. */
static void
retired(void *arg, const tidal_session_id *sid)
{
    tidal_region *r = arg;
    (void)tidal_hwm_remove(r->state.hwm, sid); /* false: none was needed yet */
    drop_held(r, sid);
    atomic_fetch_add(&r->st_sessions_freed, 1);
}

void
tidal__retention_check(tidal_region *r, const tidal_session_id *sid)
{
    tidal_session_state info;
    if (tidal_sessions_get(r->state.sessions, sid, &info) == 0 &&
        tidal__retention_expired(r, &info) && tidal_sessions_retire(r->state.sessions, sid) == 0) {
        retired(r, sid);
    }
}

int
tidal__retention_bury(tidal_region *r, const tidal_session_id *sid, const tidal_hlc *ended)
{
    int rv = tidal_sessions_bury(r->state.sessions, sid, ended);
    if (rv == 0) {
        drop_held(r, sid);
    }
    return rv;
}

/* The wait between two passes: a quarter of the retention, so that a
 * session is freed soon after it expires, within [a tick, a minute]. */
static uint64_t
period_ms(uint64_t keep_ms)
{
    uint64_t p = keep_ms / 4;
    p = p < TIDAL_ACK_DELAY_MS ? TIDAL_ACK_DELAY_MS : p;
    return p > SWEEP_PERIOD_MAX_MS ? SWEEP_PERIOD_MAX_MS : p;
}

void
tidal__retention_tick(tidal_region *r)
{
    struct tidal__sweep *w = &r->sweep;
    uint64_t keep_ms = retention_ms(r);
    if (keep_ms == 0) {
        return;
    }
    if (!w->running) {
        uint64_t now_ms = tidal_elapsed_ms(r->rt);
        if (w->pass_ms != 0 && now_ms - w->pass_ms < period_ms(keep_ms)) {
            return;
        }
        *w = (struct tidal__sweep){.running = true, .pass_ms = now_ms};
    }
    uint64_t now = wall_now(r), keep_ns = keep_ms * NS_PER_MS;
    pthread_mutex_lock(&r->state.lock);
    if (!w->tombs) {
        w->tombs = tidal_sessions_sweep(r->state.sessions, cutoff_of(now, keep_ns), &w->cursor,
                                        TIDAL_SWEEP_PER_TICK, retired, r);
    } else {
        uint64_t tomb_ns = keep_ns * TIDAL_SESSION_TOMBSTONE_RETENTIONS;
        w->running = !tidal_sessions_sweep_tombs(r->state.sessions, cutoff_of(now, tomb_ns),
                                                 &w->cursor, TIDAL_SWEEP_PER_TICK);
    }
    pthread_mutex_unlock(&r->state.lock);
}

void
tidal__retention_stats(tidal_region *r, tidal_region_stats *out)
{
    pthread_mutex_lock(&r->state.lock);
    out->sessions = tidal_sessions_count(r->state.sessions);
    out->session_tombstones = tidal_sessions_tombs(r->state.sessions);
    pthread_mutex_unlock(&r->state.lock);
    out->sessions_freed = atomic_load(&r->st_sessions_freed);
    out->session_records_dropped = atomic_load(&r->st_session_drops);
}
