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

typedef uint64_t tidal_seqno;

typedef struct tidal_cluster tidal_cluster;
typedef struct tidal_region tidal_region;

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

/* ---- sessions ------------------------------------------------------------ */

typedef struct tidal_session_opts {
    uint32_t reserved; /* no options yet; 0 */
} tidal_session_opts;

typedef struct tidal_session_view {
    tidal_session_id id;
    tidal_entity_id user;
    tidal_region_id home;   /* the region that orders its writes now */
    tidal_hlc started;
    bool ended;
    tidal_seqno last_seqno; /* highest seqno applied here */
    uint32_t signals;       /* signals applied here */
} tidal_session_view;

typedef struct tidal_signal_view {
    tidal_seqno seqno;      /* its place in the session: 1, 2, 3... */
    char type[32];          /* the signal type's name, NUL-terminated */
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
                                    tidal_session_id *out, size_t max,
                                    size_t *n) TIDAL_WARN_UNUSED;

/* ---- signals, hard negatives, retrieval -------------------------------- */

/* How many signals of this type the item got within the window, all regions'
 * applied here.  Unknown types count 0. */
TIDAL_API int tidal_read_windowed_count(tidal_region *r, tidal_entity_id item, const char *type,
                                        tidal_window w, int64_t *out) TIDAL_WARN_UNUSED;

/* Hides / unhides item for user with the given stamp, stored unchanged (the
 * region's clock only advances past it).  Between a hide and an unhide the
 * greater (wall, logical) wins; on equal (wall, logical) the hide wins.
 * The caller's own thread applies and logs it and ships it to every peer,
 * as from "region-<id>" (fault rules on that actor's links cover it): one
 * mailbox hop from the call to a peer's state.  Returns once it is durable
 * under the region's policy. */
TIDAL_API int tidal_hide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item,
                                      tidal_hlc ts) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_unhide_item_with_ts(tidal_region *r, tidal_entity_id user, tidal_entity_id item,
                                        tidal_hlc ts) TIDAL_WARN_UNUSED;
/* The same, stamped by the region's clock. */
TIDAL_API int tidal_hide_item(tidal_region *r, tidal_entity_id user,
                              tidal_entity_id item) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_unhide_item(tidal_region *r, tidal_entity_id user,
                                tidal_entity_id item) TIDAL_WARN_UNUSED;

/* ---- per-(user, key) counters ------------------------------------------ */

/* Adds delta to the counter of (user, key): a replicated PN-counter with a
 * component per region, merged like the rest (docs/design.md, "Per-user
 * counters"), so a user who roams to another region reads there what every
 * region counted (a bandit's success and failure counts, say).
 *   r      the region; NULL is TIDAL_EINVAL.
 *   user   any id.
 *   key    1..TIDAL_USER_COUNTER_KEY_BYTES_MAX bytes, NUL-terminated
 *          (limits.h); NULL, empty or longer is TIDAL_EINVAL.
 *   delta  any int64_t; 0 returns 0 at once, after the checks above, and
 *          logs nothing.
 * The call validates, then logs, then applies: a write refused is refused
 * before the log, with nothing changed anywhere -
 *   TIDAL_ELIMIT   the pair is new to this region (it never added to it) and
 *                  this region already added to
 *                  TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of the user's keys, or
 *                  TIDAL_USER_COUNTERS_ORIGIN_MAX pairs in all (limits.h: the
 *                  bound a replica's table then never passes);
 *   TIDAL_ETOOBIG  this region's component (the sum of its positive deltas,
 *                  or of its negative ones' magnitudes) would pass
 *                  UINT64_MAX, or the value as this region sees it would
 *                  leave int64_t's range;
 *   TIDAL_EFENCED  the region's clock is fenced (clock fencing, above): it
 *                  stamps the batch, so it refuses this as its other writes;
 * and the codes of any write (TIDAL_EFULL, TIDAL_EIO, TIDAL_ETIMEDOUT,
 * TIDAL_ENOMEM).  The caller's own thread applies and logs it and ships it
 * to every peer, as a hide does.  Returns once it is durable under the
 * region's policy.  A peer applies it whatever its own counts: only the
 * origin decides. */
TIDAL_API int tidal_user_counter_add(tidal_region *r, tidal_entity_id user, const char *key,
                                     int64_t delta) TIDAL_WARN_UNUSED;

/* The value of (user, key)'s counter as this region holds it in *out: the
 * sum of every region's deltas applied here.  A key never added to reads 0.
 * The value is exact while the true sum fits an int64_t; deltas added
 * concurrently in several regions can take it past (each origin checks only
 * what it sees), and it then reads modulo 2^64.  TIDAL_EINVAL for a NULL r
 * or out, or a key not valid as above. */
TIDAL_API int tidal_user_counter_get(tidal_region *r, tidal_entity_id user, const char *key,
                                     int64_t *out) TIDAL_WARN_UNUSED;

typedef struct tidal_retrieve {
    tidal_entity_id user;
    const tidal_entity_id *candidates;
    size_t ncandidates;
    size_t limit; /* 0 = no limit */
} tidal_retrieve;

typedef struct tidal_scored_item {
    tidal_entity_id item;
    double score;
} tidal_scored_item;

/* The candidates not hidden for the user, best first (scoring: region.c's
 * header comment), at most limit; items with no signals are kept, ranked
 * last.  out must hold ncandidates entries; *n gets how many were returned. */
TIDAL_API int tidal_retrieve_items(tidal_region *r, const tidal_retrieve *q, tidal_scored_item *out,
                                   size_t *n) TIDAL_WARN_UNUSED;

/* The k items with the highest count of signals of this type within the
 * window (tidal_read_windowed_count's count: every region's signals that
 * this region has applied, read at this region's clock), best first: the
 * greater count first, equal counts by the smaller item id.  score is the
 * count.  Items with no signal of the type in the window are not listed,
 * so *n (how many were written to out, which must hold k) is below k when
 * fewer items have any; an unknown type lists nothing.  k 0 writes nothing
 * (out may then be NULL).  Hidden items are not filtered: there is no user
 * here (tidal_retrieve_items filters for one).
 * Cost: no index - a window rolls with the reader's clock, so counts
 * change without any write; each call scans every (item, type) this region
 * holds (all types), counting the ones of the type, and keeps the best k in
 * a heap: O(E + M log k) for E pairs and M of the type, under the state
 * lock (writes and reads of this region wait for it), plus O(min(k, E))
 * memory allocated per call.  Measured (benches/bench_lists, README): 2-4
 * ms for 100k items of the type among 200k pairs, k 10 or 100, on the
 * 2-vCPU test VM - a little under reading the same 100k counts one by one.
 * TIDAL_EINVAL for a NULL r, type or n, a NULL out with k > 0, or a window
 * out of range; TIDAL_ENOMEM (nothing written). */
TIDAL_API int tidal_top_items(tidal_region *r, const char *type, tidal_window w, size_t k,
                              tidal_scored_item *out, size_t *n) TIDAL_WARN_UNUSED;

/* ---- replication controls and state ------------------------------------ */

/* Re-sends to region `to` the last batch `from` shipped it that carried a
 * session write (the seed's replay_last_session_batch), through the
 * receiver's mailbox like a live one. */
TIDAL_API int tidal_cluster_replay_last_session_batch(tidal_cluster *c, tidal_region_id from,
                                                      tidal_region_id to) TIDAL_WARN_UNUSED;

/* Sets a fault rule on every link from region a's actors to region b's
 * (both ways if both_ways); clear with tidal_cluster_fault_clear. */
TIDAL_API int tidal_cluster_fault_set(tidal_cluster *c, tidal_region_id a, tidal_region_id b,
                                      const tidal_fault_rule *rule,
                                      int both_ways) TIDAL_WARN_UNUSED;
TIDAL_API int tidal_cluster_fault_clear(tidal_cluster *c, tidal_region_id a, tidal_region_id b,
                                        int both_ways);
/* Cuts a from b both ways. */
TIDAL_API int tidal_cluster_partition(tidal_cluster *c, tidal_region_id a,
                                      tidal_region_id b) TIDAL_WARN_UNUSED;
/* Heals every partition and fault rule, then asks every reconciler to run. */
TIDAL_API int tidal_cluster_heal(tidal_cluster *c) TIDAL_WARN_UNUSED;

/* Asks the region's reconciler to compare digests with every peer now. */
TIDAL_API int tidal_region_reconcile(tidal_region *r) TIDAL_WARN_UNUSED;

/* A digest of the region's whole replicated state: equal digests mean equal
 * state (convergence check). */
TIDAL_API uint64_t tidal_region_digest(tidal_region *r);

/* X(name, stable id, description): why a region's actors rejected a message
 * that reached them whole (the runtime's own rejections of bytes that are
 * not envelopes are tidal_stats.rejected).  A rejected message changes
 * nothing: no state, no ACK, no peer; a write that can be answered is
 * answered with an error.  Each rejection is counted here and logged, once
 * per power of two of its count (TIDAL_QUIET set: never). */
#define TIDAL_REGION_REJECT_MAP(X)                                                        \
    X(BATCH_DECODE, "TIDAL-REGION-BATCH-DECODE", "BATCH message undecodable")              \
    X(BATCH_TRUNCATED, "TIDAL-REGION-BATCH-TRUNCATED",                                   \
      "batch shorter than its header or its declared payload")                            \
    X(BATCH_VERSION, "TIDAL-REGION-BATCH-VERSION", "batch header of another version")     \
    X(BATCH_CORRUPT, "TIDAL-REGION-BATCH-CORRUPT",                                       \
      "batch header breaks a rule of its format, or bytes follow the batch")              \
    X(BATCH_CRC, "TIDAL-REGION-BATCH-CRC", "batch checksum mismatch")                     \
    X(BATCH_RECORDS, "TIDAL-REGION-BATCH-RECORDS",                                       \
      "batch checksum right, records undecodable, not `count` of them, or not applicable") \
    X(ORIGIN_MISMATCH, "TIDAL-REGION-ORIGIN-MISMATCH",                                   \
      "claims a region it cannot: out of range, this one, unknown, or another than the "  \
      "batch or ACK it carries")                                                          \
    X(SENDER_MISMATCH, "TIDAL-REGION-SENDER-MISMATCH",                                   \
      "sent by an actor that does not speak for the region it names")                     \
    X(ACK_DECODE, "TIDAL-REGION-ACK-DECODE", "ACK message undecodable")                   \
    X(ACK_BEYOND_SENT, "TIDAL-REGION-ACK-BEYOND-SENT",                                   \
      "ACK of an LSN never sent to that peer")                                            \
    X(WRITE_DECODE, "TIDAL-REGION-WRITE-DECODE", "WRITE message or its record undecodable") \
    X(WRITE_MISDIRECTED, "TIDAL-REGION-WRITE-MISDIRECTED",                               \
      "a record kind this actor does not write, or another session's record")             \
    X(HANDOVER_DECODE, "TIDAL-REGION-HANDOVER-DECODE",                                   \
      "HANDOVER_REQ or HANDOVER message undecodable")                                     \
    X(HANDOVER_MISDIRECTED, "TIDAL-REGION-HANDOVER-MISDIRECTED",                         \
      "names another session than its actor's, or a region out of range")                 \
    X(DIGEST_DECODE, "TIDAL-REGION-DIGEST-DECODE", "DIGEST message undecodable")          \
    X(ENTRIES_DECODE, "TIDAL-REGION-ENTRIES-DECODE", "ENTRIES message undecodable")       \
    X(ENTRY_DECODE, "TIDAL-REGION-ENTRY-DECODE",                                         \
      "one reconciliation entry undecodable or of an unknown kind (the others merge)")    \
    X(PEER_DECODE, "TIDAL-REGION-PEER-DECODE", "PEER message undecodable")                \
    X(PEER_INVALID, "TIDAL-REGION-PEER-INVALID",                                         \
      "PEER naming this region, one out of range, or a URL that is no address")           \
    X(MSG_TYPE, "TIDAL-REGION-MSG-TYPE", "a message type this actor does not take")     \
    X(UNAUTHENTICATED, "TIDAL-REGION-UNAUTHENTICATED",                                   \
      "came through a connection that may not send it: a peer's message off that peer's " \
      "listener, or the region's own (a tick, a PEER) from outside")                      \
    X(CLOCK_DECODE, "TIDAL-REGION-CLOCK-DECODE", "CLOCK message undecodable")

enum tidal_region_reject_reason {
#define TIDAL__REGION_REJECT_ENUM(name, id, desc) TIDAL_REGION_REJECT_##name,
    TIDAL_REGION_REJECT_MAP(TIDAL__REGION_REJECT_ENUM)
#undef TIDAL__REGION_REJECT_ENUM
        TIDAL_REGION_REJECT_COUNT
};

/* The stable id of a reason ("TIDAL-REGION-BATCH-CRC"); "?" out of range.
 * Cannot fail. */
TIDAL_API const char *tidal_region_reject_id(int reason);

typedef struct tidal_region_stats {
    uint64_t writes;              /* writes originated here */
    uint64_t batches_shipped;     /* batch messages sent (retransmits included) */
    uint64_t batches_shipped_at_sync; /* of those, sent by the log's sync thread right
                                       * after the sync that made them durable */
    uint64_t batches_applied;     /* peer batches applied */
    uint64_t batches_duplicate;   /* peer batches dropped as already applied */
    uint64_t batches_held;        /* peer batches held for a gap */
    uint64_t batches_paused;      /* peer batches not taken (not applied, not
                                   * acknowledged: sent again) because their origin
                                   * had TIDAL_HELD_RECORDS_MAX session records held
                                   * here (docs/design.md, "Held records") */
    uint64_t session_records_held; /* session records held here now: their session's
                                   * start or an earlier seqno is in a log not
                                   * applied yet */
    uint64_t acks_sent;           /* ACKs sent to peers' shippers (several batches
                                   * each: actors/apply.c, "Delayed ACKs") */
    uint64_t seqno_duplicates;    /* session writes dropped by the HWM */
    uint64_t reconcile_rounds;
    uint64_t reconcile_entries;   /* entries received from peers by reconciliation */
    uint64_t reconcile_bytes;     /* bytes sent by reconciliation */
    uint64_t applied_lsn[TIDAL_REGIONS_MAX]; /* per origin region: highest LSN up to which
                                              * the origin's state is here (a range it
                                              * released counts once reconciled) */
    uint64_t acked_lsn[TIDAL_REGIONS_MAX];   /* per peer: highest of our LSNs it acknowledged */
    uint64_t last_lsn;            /* LSN of the latest write originated here (0: none);
                                   * unlike writes, it survives a reopen */
    uint64_t durable_lsn;         /* highest of its LSNs durable under its policy: at
                                   * least last_lsn once a write under TIDAL_SYNC with
                                   * a directory has returned */
    uint64_t room_waits;          /* write calls that waited for room in a full log
                                   * (counted as they start waiting) */
    uint64_t peers_let_go;        /* times a peer stopped holding the log (peer_hold_ms) */
    uint64_t writes_refused;      /* writes refused for room, disk, a limit or memory (log.h) */
    uint64_t rejected[TIDAL_REGION_REJECT_COUNT]; /* messages rejected, by reason */
    uint64_t lost_first_lsn;      /* opened with opts.salvage: the lowest and highest LSN */
    uint64_t lost_last_lsn;       /* of this region's own log that were lost (0: none; */
    uint64_t lost_lsns;           /* the operator log lists each range), and how many */
    uint32_t logs_salvaged;       /* logs (its own, copies of peers') opened with a loss */
    uint64_t records_skipped;     /* logged records no rule could apply (a bug: never
                                   * expected; each goes to the operator log) */
    uint64_t sessions;            /* sessions held here: live, or ended within the
                                   * retention */
    uint64_t sessions_freed;      /* ended sessions freed here past the retention */
    uint64_t session_tombstones;  /* freed sessions remembered (id, end stamp) */
    uint64_t session_records_dropped; /* records and reconciliation entries of freed
                                   * sessions dropped on arrival */
    /* The disk (docs/wal-format.md, "When the disk refuses"): */
    uint64_t disk_errors;         /* writes and syncs of its logs (its own, copies) that
                                   * failed, retries included */
    uint64_t disk_recoveries;     /* times a log that refused writes took them again */
    uint64_t at_risk_first_lsn;   /* while its own log refuses writes: the lowest and */
    uint64_t at_risk_last_lsn;    /* highest of its LSNs not durable when the disk failed
                                   * (0: none), lost if the process ends before the log
                                   * writes them again; SYNC: not acknowledged, not
                                   * visible; INTERVAL: visible, not acknowledged */
    bool disk_read_only;          /* its own log refuses writes (TIDAL_EIO) until a retry
                                   * writes them again: the disk failed */
    /* Clocks (docs/design.md, "Clocks"): */
    bool clock_fenced;            /* the stamps this region gives are more than
                                   * max_skew_ns ahead of a reachable peer's clock: it
                                   * refuses the writes it would stamp (TIDAL_EFENCED,
                                   * TIDAL-REGION-CLOCK-AHEAD) until back within; kept
                                   * as it was while no peer is reachable */
    uint64_t writes_fenced;       /* writes refused for it (not in writes_refused) */
    uint32_t clock_reachable;     /* bit p: peer p's clock was heard from within
                                   * TIDAL_CLOCK_FRESH_MS, so its estimate counts */
    int64_t clock_offset_ns[TIDAL_REGIONS_MAX]; /* per peer: how far this region's wall
                                   * clock is ahead of p's (negative: behind), from
                                   * p's latest CLOCK message - over the truth by that
                                   * message's delay; 0 until heard from */
} tidal_region_stats;

TIDAL_API void tidal_region_stats_get(tidal_region *r, tidal_region_stats *out);

/* Blocks until this region has applied origin's log up to lsn (its
 * stats.applied_lsn[origin] >= lsn) or timeout_ms passes; 0 only checks.
 * A read of this region made after it returned 0 sees every write of
 * origin's up to lsn (the origin's stats.last_lsn after a write names it):
 * read-your-writes across regions.  That holds for a range the origin
 * released before this region had it too: the watermark passes such a
 * range only once a reconciliation round with the origin has brought its
 * state (actors/watermark.c, "Gaps").  Returns 0; TIDAL_ETIMEDOUT;
 * TIDAL_EINVAL for an origin out of range or this region itself;
 * TIDAL_ECLOSED if the region is closed while the call waits. */
TIDAL_API int tidal_region_wait_applied(tidal_region *r, tidal_region_id origin, uint64_t lsn,
                                        uint32_t timeout_ms) TIDAL_WARN_UNUSED;

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_REGION_H */
