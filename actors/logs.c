/*
 * A region's logs: its own WAL and, with a directory, its copy of each
 * peer's log (internal.h, "Released logs"; apply.c keeps the copies) and
 * its reconciled log (reconciled.c).
 * Opening one reports what recovery found to the operator log (a torn tail
 * cut, a log refused, what a salvage lost), and a region's own log under
 * SYNC or INTERVAL calls
 * back after each sync, on the WAL's sync thread, to apply what waited for
 * it (pending.c) and ship what it made durable (ship.c).
 *
 * The disk (store/wal.h, "When the disk refuses"): every log of the region
 * tells it of failed writes and syncs and of recoveries, which it counts
 * (tidal_region_stats.disk_errors, disk_recoveries; the WAL writes the
 * operator log's TIDAL-DISK-ERROR and TIDAL-DISK-RECOVERED lines).  When
 * its own log starts refusing under SYNC, what the refused writes took at
 * their append is given back (pending.c) before any writer hears of the
 * failure, so none sees a trace of a write it was told failed.  A copy of
 * a peer's log that refuses appends takes no batch of that peer meanwhile
 * (apply.c: not applied, not acknowledged, so sent again by the peer).
 *
 * In a simulation (include/tidal/sim.h) no log starts a sync thread: each
 * gets the region's driver (store/wal.h, tidal_wal_driver), whose turns
 * are runtime timers (tidal_call_after) and so events of the simulation,
 * on its one thread and its clock - a SYNC log's group commit at once
 * after the appends that asked for it, an INTERVAL log's sync interval_ms
 * after its first unsynced batch, a refused disk's retries after their
 * backoff - and whose waits (a writer waiting for its batch to be
 * durable) run the simulation through tidal_runtime_block.  One timer
 * turns every log of the region: the logs come and go (a peer's copy
 * closes when its base moves, apply.c), the region outlives its runtime's
 * timers, and a turn of a log with nothing due does nothing.  With a
 * directory, every log writes through the region's simulated disk, unless
 * the simulation keeps real disks (r->disk, cluster.c).
 */
#include <stdio.h>

#include "actors/internal.h"
#include "base/log.h"
#include "store/simdisk.h"
#include "tidal/sim.h"

/* The WAL's sync thread (in a simulation, its turn): new durable batches - apply what waited for
 * them, ship them (ship.c). */
void
tidal__on_durable(void *arg, uint64_t lsn)
{
    tidal_region *r = arg;
    if (r->defer_apply) {
        pthread_mutex_lock(&r->state.lock);
        tidal__pending_apply(r, lsn);
        pthread_mutex_unlock(&r->state.lock);
    }
    pthread_mutex_lock(&r->cb_lock);
    if (!r->cb_closed) {
        tidal__ship_now(r, TIDAL__SHIP_BY_SYNC); /* a round ships everything durable */
    }
    pthread_mutex_unlock(&r->cb_lock);
}

/* A copy of a peer's log: the disk's events are counted.  Called from the
 * WAL's sync thread or, under NONE, from the follower path's append: takes
 * no lock. */
static void
on_disk_copy(void *arg, const tidal_wal_disk_event *ev)
{
    tidal_region *r = arg;
    atomic_fetch_add(&r->st_disk_errors, ev->errors);
    if (ev->recovered) {
        atomic_fetch_add(&r->st_disk_recoveries, 1);
    }
}

/* The region's own log.  Under SYNC the refusal is told by the sync thread,
 * with no lock held: the refused writes' traces are taken out of sight
 * here, before the WAL fails their waiters.  Under INTERVAL the writes
 * were applied at their append (visible, at risk: the stats say which);
 * under NONE a refusal has nothing at risk (the refused batch took no LSN)
 * but leaves the region read-only too until a retry.  This may run on an
 * appender holding state.lock: it only counts. */
static void
on_disk_own(void *arg, const tidal_wal_disk_event *ev)
{
    tidal_region *r = arg;
    on_disk_copy(arg, ev);
    if (r->defer_apply && ev->refusing && !ev->recovered && ev->first != 0) {
        pthread_mutex_lock(&r->state.lock);
        tidal__pending_refused(r, ev->first);
        pthread_mutex_unlock(&r->state.lock);
    }
}

/* A timer of the region's runtime in a simulation: the turn of each log
 * that asked for one (and of those that did not, which do nothing), in an
 * order fixed by their origins. */
static void
sim_turns(tidal_runtime *rt, void *arg)
{
    tidal_region *r = arg;
    (void)rt;
    tidal_wal_turn(r->wal);
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        tidal_wal_turn(r->peer_wal[o]);
    }
    tidal_wal_turn(r->reconciled);
}

static int
sim_wake(void *arg, uint64_t at_ms)
{
    tidal_region *r = arg;
    uint64_t now = tidal_elapsed_ms(r->rt);
    uint64_t ms = at_ms > now ? at_ms - now : 0;
    return tidal_call_after(r->rt, ms < UINT32_MAX ? (uint32_t)ms : UINT32_MAX, sim_turns, r);
}

static int
sim_block(void *arg, pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t deadline_ms)
{
    tidal_region *r = arg;
    return tidal_runtime_block(r->rt, cond, lock, deadline_ms);
}

static uint64_t
sim_now(void *arg)
{
    tidal_region *r = arg;
    return tidal_elapsed_ms(r->rt);
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
        .on_disk = origin == r->id ? on_disk_own : on_disk_copy,
        .on_disk_arg = r,
    };
    tidal_wal_driver sim = {.wake = sim_wake, .block = sim_block, .now_ms = sim_now, .arg = r};
    if (tidal_runtime_sim(r->rt) != NULL) {
        o.driver = &sim; /* copied by the open */
    }
    if (r->disk != NULL && dir != NULL) {
        o.io = tidal__simdisk_io(r->disk); /* likewise */
    }
    bool syncing = o.dir != NULL && o.durability != TIDAL_DURABILITY_NONE;
    if (own && syncing) {
        o.on_durable = tidal__on_durable;
        o.on_durable_arg = r;
    }
    if (origin == r->id) {
        /* before any write: the own log opens first, on the region's open */
        tidal__pending_init(r);
        r->defer_apply = o.dir != NULL && o.durability == TIDAL_DURABILITY_SYNC;
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
    if (own && dir != NULL && o.durability == TIDAL_DURABILITY_NONE) {
        /* NONE syncs nothing - segments, manifest, directory entries - so
         * after a power loss no file says which LSNs the log used, and one
         * that lost them all looks new: it learns from its peers at every
         * open, as a salvaged log does (learn.c) */
        tidal__learn_start(r);
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
            /* LSNs above what it kept may be its peers': none is given
             * again before they say how far they applied it (learn.c) */
            tidal__learn_start(r);
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
