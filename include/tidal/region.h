/*
 * Regions and clusters (public API): the replicated store of sessions,
 * preference signals and hard negatives.
 *
 * A cluster (the seed's InProcessTransportFactory) is the set of regions one
 * process runs, all reachable under one base URL: "inproc://name" (the
 * default), "ipc:///dir" or "tcp://127.0.0.1" - changing that URL is the only
 * change needed to move a test between transports.  A region (the seed's
 * TidalDb) is a node: its own runtime (worker pool, clock, fault layer), a
 * region actor that owns the store and the session actors, a shipper and a
 * reconciler.  Regions opened in one cluster are peers of each other.
 *
 * Writes: every region is the origin of its own writes.  A write is applied
 * to the local store, appended to the region's WAL and acknowledged once
 * durable under the region's policy; it is shipped to every peer, which
 * applies each batch once, in LSN order per origin.  Replicated state merges
 * commutatively (docs/design.md), so duplicates, replays and reconciliation never
 * count anything twice.  A region whose stamps run more than opts.max_skew_ns
 * ahead of a reachable peer's clock refuses every write it would stamp
 * itself (all but the _with_ts calls) with TIDAL_EFENCED, nothing written,
 * until it is back within (stats.clock_fenced; docs/design.md, "Clocks").  Under TIDAL_SYNC with a directory a write is
 * applied to the local store once durable, so no read sees a write that is
 * not acknowledged.
 *
 * The disk: a write whose batch the disk refuses (full: ENOSPC; a failed
 * sync) fails with TIDAL_EIO: not acknowledged and, under TIDAL_SYNC, not
 * seen and not shipped.  The region keeps serving reads and keeps the
 * refused batches in memory; until it has written them again it refuses
 * writes with TIDAL_EIO (stats.disk_read_only, at_risk_*_lsn), and it
 * writes them again as soon as the disk takes them - it retries on its own,
 * and a write call asks for a retry first - then takes writes again, with
 * no reopen.  A refused write therefore still takes effect if the disk
 * recovers before the region closes (like one that timed out).  Under
 * TIDAL_INTERVAL the same, but a write is seen from its append on: the
 * at-risk LSNs are the writes seen and not yet synced.  Under TIDAL_NONE a
 * write the disk refuses makes the region read-only the same way, until a
 * retry has seen the disk take bytes again (a probe, cut off again); no
 * LSN is at risk (at_risk_* 0: a batch takes its LSNs once written whole,
 * and what was written before is durable by NONE's meaning).
 * docs/wal-format.md, "When the disk refuses", has the details.
 *
 * Backpressure: an ephemeral region keeps its batches in memory until every
 * peer has acknowledged them, up to opts.memory_bytes.  A write past that
 * bound waits on the caller's thread for the peers to catch up, up to
 * opts.write_timeout_ms, then fails with TIDAL_EFULL and writes nothing.  A
 * peer that acknowledges nothing for opts.peer_hold_ms while writes wait
 * stops holding the log: its batches are released, and when it is back,
 * reconciliation brings it that state.  So a slow peer slows the writers
 * down, and a partition stops them for peer_hold_ms at most.
 *
 * Reads are served from the local store: they see local writes at once (under
 * TIDAL_SYNC with a directory, once durable: by the time the write call
 * returns) and remote writes once their batch has been applied.
 *
 * Every call here may be made from any thread except an actor handler.
 * Functions returning int give 0 or a TIDAL_E* code.
 */
#ifndef TIDAL_REGION_H
#define TIDAL_REGION_H

#include "tidal/export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/fault.h"
#include "tidal/hlc.h"
#include "tidal/runtime.h"
#include "tidal/types.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct tidal_cluster_opts {
    const char *url;  /* base URL of every region; NULL = a unique inproc:// base */
    uint64_t seed;    /* fault-injection seed, the same for every region; 0 is valid */
    uint32_t workers; /* worker threads per region; 0 = the runtime's default */
    bool plaintext;   /* allow a tcp:// URL: see below */
    const char *tls_dir; /* with a tls+tcp:// URL: for each region id i, region-<i>.pem
                            (its certificate, then its key) and region-<i>.crt (the
                            certificate alone), the certificate's CN region-<i> */
    struct tidal_sim *sim; /* run every region of the cluster in this simulation
                            (tidal/sim.h): one thread, simulated time, url sim://
                            (NULL = a unique one); workers and tls_dir are
                            ignored.  A region with a directory runs there
                            under every policy: its WALs' sync work (group
                            commit, INTERVAL's sync, retries) runs as events
                            of the simulation, on its clock; the files are
                            real, written through a simulated disk (a crash
                            is a power loss: tidal/sim.h, "The disk").  A
                            blocking call (a write, also waiting
                            for its sync; tidal_region_wait_applied) runs the
                            simulation until it returns.  NULL = real threads */
} tidal_cluster_opts;

/* Opens an empty cluster.  On error nothing is left open.
 *
 * Who may speak for a region: each region listens once per peer, and a
 * message that arrives on the listener it keeps for peer p is taken as p's
 * (its claims are checked against that); the region's own listeners take
 * nothing a peer sends.  So the transport decides who can be a peer:
 *  - inproc://: only this process;
 *  - ipc:///dir: only processes of this uid.  dir is made 0700 if missing
 *    and refused (TIDAL_EINVAL) if others may enter it; the socket files
 *    are 0600, and a connection from another uid is closed at once;
 *  - tcp://: anyone who can reach the ports can connect to a peer's
 *    listener and speak as that peer, and read what is shipped.  Refused
 *    (TIDAL_EINVAL) unless plaintext is set; use it on a trusted network
 *    only (a test's loopback);
 *  - tls+tcp://: pinned certificates from tls_dir (required, else
 *    TIDAL_EINVAL).  Region r's listener for peer p lets in only a client
 *    presenting region-<p>.crt, and r's links to p trust only that
 *    certificate, so speaking as p takes p's key.  Its actors' own
 *    listeners take anyone (nothing a peer sends is taken there). */
TIDAL_API int tidal_cluster_open(const tidal_cluster_opts *opts,
                                 tidal_cluster **out) TIDAL_WARN_UNUSED;

/* Closes every region still open, then the cluster.  Returns 0 when
 * everything was released (TIDAL_EBUSY if a region's runtime reported
 * outstanding work); frees everything either way.  Accepts NULL. */
TIDAL_API int tidal_cluster_close(tidal_cluster *c);

typedef enum tidal_role {
    TIDAL_ROLE_LEADER = 0,  /* the seed's NodeRole; informational: every region */
    TIDAL_ROLE_FOLLOWER = 1 /* originates its own writes and follows its peers */
} tidal_role;

typedef enum tidal_durability_policy {
    TIDAL_SYNC = 0,     /* acknowledged after fdatasync (group commit) */
    TIDAL_INTERVAL = 1, /* synced every interval_ms */
    TIDAL_NONE = 2      /* acknowledged once written to the file; syncs
                         * nothing, so with a directory it learns at every
                         * open how far its peers applied its log before it
                         * writes (docs/wal-format.md, "Power loss") */
} tidal_durability_policy;

typedef struct tidal_region_opts {
    tidal_region_id region_id; /* unique in the cluster; < 16 */
    tidal_shard_id shard_id;   /* this node's shard (the seed's NodeConfig.shard_id) */
    tidal_role role;           /* informational */
    const char *dir;           /* NULL = ephemeral (memory only); a region with a
                                * directory rebuilds its state from its whole log
                                * on open and keeps every segment (no snapshot
                                * yet: disk use grows with the writes) */
    tidal_durability_policy durability; /* 0 = sync; ignored when ephemeral */
    uint32_t interval_ms;      /* INTERVAL period; 0 = 10 */
    uint64_t segment_bytes;    /* WAL segment size; 0 = 64 MiB */
    uint32_t reconcile_ms;     /* reconciler period; 0 = 1000; UINT32_MAX = only on demand */
    uint64_t memory_bytes;     /* ephemeral: bytes of this region's batches kept for
                                * peers that have not acknowledged them; a write
                                * past it waits for room (see below).  With a
                                * directory: the log's read cache, and how much may
                                * wait to be written.  0 = 64 MiB; 40 B .. 1 TiB */
    uint32_t write_timeout_ms; /* how long a write call waits for room in a full log
                                * (then TIDAL_EFULL, nothing written), and then for
                                * durability (then TIDAL_ETIMEDOUT); 0 = 10000 */
    uint32_t peer_hold_ms;     /* ephemeral: a peer that acknowledges nothing for this
                                * long while writes wait for room stops holding the
                                * log: what it lacks is released, and reconciliation
                                * brings it that state when it is back; 0 = 1000;
                                * UINT32_MAX = never (writes wait, then fail) */
    bool salvage;              /* open what is left of a damaged log: a log that
                                * lost segments or durable batches (its manifest
                                * says so: docs/wal-format.md) opens with what
                                * remains instead of failing with TIDAL_ECORRUPT;
                                * the loss goes to the operator log
                                * (TIDAL-LOG-SALVAGED) and tidal_region_stats
                                * (lost_*).  Its own writes then continue above
                                * every LSN the log is known to have used, and
                                * above every LSN of it its peers applied: a
                                * region whose own log lost LSNs takes no write
                                * until every peer it has (below) said how far
                                * it applied it, however long that takes (or
                                * salvage_wait_ms passed): a write call waits,
                                * up to write_timeout_ms (then TIDAL_ETIMEDOUT),
                                * a remote one is refused with TIDAL_EBUSY
                                * (docs/wal-format.md, "Salvage").  Its peers:
                                * every region opened in this cluster since it
                                * was made, and every origin whose log it keeps
                                * a copy of (the peers that wrote to it).  Bad
                                * bytes inside a segment still refuse the open.
                                * false = refuse (the default) */
    uint32_t salvage_wait_ms;  /* with salvage, a region whose own log lost LSNs:
                                * 0 = take no write until every peer answered
                                * (a peer that is down holds the region's writes
                                * until it is back: the default, which never
                                * gives an LSN twice); else take writes this long
                                * after the open whoever answered, logging
                                * (TIDAL-LOG-SALVAGED) which peers were not heard
                                * from - a silent peer that applied more drops
                                * the new writes at the LSNs it has as
                                * duplicates, and gets that state back only by
                                * reconciliation.  A peer's answer counts
                                * only once stamped past the open plus
                                * max_skew_ns (an older one may have been
                                * sent before a crash), so learning takes
                                * at least that long, and a wait below it
                                * hears from no peer.  At most
                                * TIDAL_SALVAGE_WAIT_MS_MAX (a day), else
                                * TIDAL_EINVAL */
    uint64_t max_skew_ns;      /* how far ahead of this region's clock a client's
                                * stamp may be - the ts of a hide or unhide, a
                                * signal's ts_ns, a remote write's record: further
                                * ahead is refused with TIDAL_ESKEW and nothing is
                                * written (a stamp from the future would win every
                                * later write, and carried on the region's clock
                                * it would have its peers refuse its messages).
                                * Past stamps are always taken.  Also the tolerance
                                * for a peer's clock, and this region's clock
                                * budget: while the stamps it would give are more
                                * than this ahead of a reachable peer's clock, it
                                * refuses the writes it would stamp itself with
                                * TIDAL_EFENCED (stats.clock_fenced; docs/design.md,
                                * "Clocks").  0 = 500 ms */
    uint64_t (*wall_clock)(void *arg); /* this region's wall clock (ns since the epoch);
                                * NULL = the system's.  For tests of clocks that lie:
                                * the region stamps its writes, checks client
                                * stamps and estimates its peers' clocks by it */
    void *wall_clock_arg;
    uint32_t session_retention_ms; /* how long an ended session is kept after its end
                                * stamp: past it, it is freed here and in every
                                * region (reads and writes of it get TIDAL_ENOENT);
                                * the same in every region of a cluster
                                * (docs/design.md, "Ended sessions").  0 = 1 hour
                                * (TIDAL_SESSION_RETENTION_MS_DEFAULT); UINT32_MAX
                                * = never: every session is kept */
} tidal_region_opts;

/* Opens a region in the cluster (recovering it from dir if given) and makes
 * it a peer of every other region of the cluster.  TIDAL_EEXIST if the region
 * id is taken; TIDAL_EBUSY if opts.dir is open in another region, in this
 * process or another (one region per directory: docs/wal-format.md);
 * TIDAL_ECORRUPT / TIDAL_EVERSION if recovery refuses the WAL
 * (a corrupt batch, a lost segment or lost durable batches without
 * opts.salvage, a manifest of another version; the operator log says which
 * file and what is missing).  On error nothing is left open. */
TIDAL_API int tidal_region_open(tidal_cluster *c, const tidal_region_opts *opts,
                                tidal_region **out) TIDAL_WARN_UNUSED;

/* Closes a region cleanly (its peers keep it as a peer: reopening it from
 * its directory resumes shipping).  Accepts NULL. */
TIDAL_API int tidal_region_close(tidal_region *r);

/* Stops a region abruptly, as a crash would: no final sync, nothing flushed,
 * in-flight messages lost.  Only what was durable survives a reopen.  In a
 * simulation with the simulated disk it is a power loss: of what no sync
 * covered, a part drawn from the seed survives, torn writes included
 * (tidal/sim.h, "The disk"). */
TIDAL_API int tidal_region_crash(tidal_region *r);

/* In a simulation with the simulated disk (tidal/sim.h, "The disk"): the
 * power of r's disk fails after ops more changes to its files (writes,
 * syncs, truncations, creates, renames, unlinks; 0: at the next).  From
 * then on every change fails with EIO and does nothing - the region sees
 * a failed disk: writes not yet durable fail or wait, nothing after the
 * cut is durable - until tidal_region_crash, whose crash rule then decides
 * what the disk kept of the changes before the cut.  So a crash can land
 * between a write and its sync.  TIDAL_ESTATE if r has no simulated disk
 * (not in a simulation, no directory, or tidal_sim_opts.real_disk);
 * TIDAL_EINVAL for NULL. */
TIDAL_API int tidal_region_sim_disk_cut(tidal_region *r, uint32_t ops) TIDAL_WARN_UNUSED;

/* True once r's simulated disk has reached the cut asked for by
 * tidal_region_sim_disk_cut.  Cannot fail. */
TIDAL_API bool tidal_region_sim_disk_is_cut(tidal_region *r);

/* The region's runtime (for fault rules, stats and its actors' names:
 * "region-<id>", "shipper-<id>", "reconciler-<id>"; sessions are virtual
 * actors of "region-<id>"). */
TIDAL_API tidal_runtime *tidal_region_runtime(tidal_region *r);
TIDAL_API tidal_region_id tidal_region_id_of(const tidal_region *r);

/* The address region `peer` sends to when it messages r's actor `actor`
 * ("region", "shipper" or "reconciler"; a session's actor is a virtual
 * actor of "region").  A region listens once per peer, and what arrives
 * there is taken as from that peer, whatever it claims; a peer's message
 * anywhere else is refused (TIDAL-REGION-UNAUTHENTICATED).  For tests and
 * tools that speak as a peer.  TIDAL_ENOENT if r has not met that peer,
 * TIDAL_EINVAL for a bad argument. */
TIDAL_API int tidal_region_peer_addr(tidal_region *r, tidal_region_id peer, const char *actor,
                                     tidal_addr *out) TIDAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

/* The rest of the regions' API, by concept; each header stands alone. */
#include "tidal/items.h"       /* signals, hard negatives, counters, retrieval */
#include "tidal/replication.h" /* replication controls, state and stats */
#include "tidal/sessions.h"    /* sessions and their signals */

#endif /* TIDAL_REGION_H */
