/*
 * A region's logs: its own WAL and, with a directory, its copy of each
 * peer's log (internal.h, "Released logs"; apply.c keeps the copies) and
 * its reconciled log (reconciled.c).
 * Opening one reports what recovery found to the operator log (a torn tail
 * cut, a log refused, what a salvage lost), and a region's own log under
 * SYNC or INTERVAL calls
 * back after each sync, on the WAL's sync thread, to ship what it made
 * durable (ship.c).
 */
#include <stdio.h>

#include "actors/internal.h"
#include "base/log.h"

/* The WAL's sync thread: new durable batches - ship them (ship.c). */
void
tidal__on_durable(void *arg, uint64_t lsn)
{
    tidal_region *r = arg;
    (void)lsn; /* a round ships everything durable */
    pthread_mutex_lock(&r->cb_lock);
    if (!r->cb_closed) {
        tidal__ship_now(r, TIDAL__SHIP_BY_SYNC);
    }
    pthread_mutex_unlock(&r->cb_lock);
}

static tidal_durability
durability_of(const tidal_region_opts *o)
{
    switch (o->durability) {
    case TIDAL_INTERVAL:
        return TIDAL_DURABILITY_INTERVAL;
    case TIDAL_NONE:
        return TIDAL_DURABILITY_NONE;
    default:
        return TIDAL_DURABILITY_SYNC;
    }
}

/* Opens a log of origin in dir (NULL: ephemeral), named what in the
 * operator log; own: this region's own log, which ships after each sync. */
static int
open_log(tidal_region *r, const char *dir, uint16_t origin, uint16_t shard, bool own,
         const char *what, tidal_wal **out)
{
    tidal_wal_opts o = {
        .dir = dir,
        .origin = origin,
        .shard = shard,
        .durability = durability_of(&r->opts),
        .interval_ms = r->opts.interval_ms,
        .segment_bytes = r->opts.segment_bytes,
        .memory_bytes = r->opts.memory_bytes,
    };
    bool syncing = o.dir != NULL && o.durability != TIDAL_DURABILITY_NONE;
    if (own && syncing) {
        o.on_durable = tidal__on_durable;
        o.on_durable_arg = r;
    }
    /* Its own log never gives an LSN twice (peers may hold the lost ones);
     * a copy goes on after what is left, and its origin sends the rest (the
     * reconciled log: its peers' next rounds bring it again). */
    if (r->opts.salvage) {
        o.salvage = own ? TIDAL_WAL_SALVAGE_SKIP : TIDAL_WAL_SALVAGE_REFILL;
    }
    tidal_wal_recovery rep;
    int rv = tidal_wal_open(&o, out, &rep);
    if (rv != 0) {
        tidal__log(TIDAL_EVENT_LOG_REFUSED, 1, "region %u: %s: %s: %s%s", r->id, what,
                   tidal_strerror(rv), rep.error,
                   rv == TIDAL_ECORRUPT ? " (tidal_region_opts.salvage opens what is left)" : "");
        return rv;
    }
    if (rep.truncated_bytes > 0) {
        tidal__log(TIDAL_EVENT_LOG_TRUNCATED, 1,
                   "region %u: truncated %llu bytes of torn tail in %s", r->id,
                   (unsigned long long)rep.truncated_bytes, rep.truncated_segment);
    }
    if (rep.lost[0] != '\0') {
        tidal__log(TIDAL_EVENT_LOG_SALVAGED, 1,
                   "region %u: %s opened with what is left: %s; %llu LSNs "
                   "known lost; next LSN %llu",
                   r->id, what, rep.lost, (unsigned long long)rep.lost_lsns,
                   (unsigned long long)rep.next_lsn);
        atomic_fetch_add(&r->logs_salvaged, 1);
        if (own) {
            r->lost_first = rep.lost_first;
            r->lost_last = rep.lost_last;
            r->lost_lsns = rep.lost_lsns;
        }
    }
    return 0;
}

int
tidal__open_log(tidal_region *r, uint16_t origin, uint16_t shard, tidal_wal **out)
{
    char what[32];
    snprintf(what, sizeof(what), "log of origin %u", origin);
    return open_log(r, r->opts.dir != NULL ? r->dir : NULL, origin, shard, origin == r->id, what,
                    out);
}

/* The reconciled log (reconciled.c) lives in a directory of its own, so
 * that listing the region's logs (cluster.c) never takes it for a copy of
 * a peer's, and nothing ships it: it is this region's, under its own id. */
int
tidal__open_reconciled_log(tidal_region *r, tidal_wal **out)
{
    char dir[sizeof(r->dir) + 16];
    snprintf(dir, sizeof(dir), "%s/reconciled", r->dir);
    return open_log(r, dir, r->id, r->opts.shard_id, false, "reconciled log", out);
}
