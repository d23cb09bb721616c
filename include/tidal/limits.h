/*
 * tidal's limits: every queue, buffer, batch and message has a named maximum
 * here, with its bound and the reason for it (SQLite's sqliteLimit.h).  Names
 * put the qualifier last: TIDAL_<THING>_<UNIT>_MAX.  Relations between the
 * limits are checked at compile time at the end of this file.
 */
#ifndef TIDAL_LIMITS_H
#define TIDAL_LIMITS_H

/* Actor names ("region-0", "shipper-1"), NUL included.  Short: the name
 * travels in every envelope. */
#define TIDAL_NAME_BYTES_MAX 48

/* URLs, NUL included.  ipc:// paths fail past ~107 characters on Linux. */
#define TIDAL_URL_BYTES_MAX 128

/* A virtual actor's key: a 128-bit session id is the largest key in use. */
#define TIDAL_KEY_BYTES_MAX 16

/* One envelope's payload.  A replicated WAL batch is the largest payload. */
#define TIDAL_PAYLOAD_BYTES_MAX (1u << 20)

/* One envelope, header included: the payload plus the fixed fields, two names,
 * two keys and a reply url. */
#define TIDAL_ENVELOPE_BYTES_MAX (TIDAL_PAYLOAD_BYTES_MAX + 512u)

/* One nng message (a frame of coalesced envelopes).  Checked by tidal on every
 * receive, because inproc ignores NNG_OPT_RECVMAXSZ. */
#define TIDAL_FRAME_BYTES_MAX (4u << 20)

/* Envelopes in one frame.  128..256 envelopes per nng message is where
 * throughput stops improving (docs/measurements.md). */
#define TIDAL_FRAME_ENVELOPES_MAX 1024u

/* A sender starts a new frame when its pending one reaches this many
 * envelopes or bytes, even while a send is in flight. */
#define TIDAL_COALESCE_ENVELOPES_MAX 256u
#define TIDAL_COALESCE_BYTES_MAX (256u << 10)

/* Envelopes queued in one outbound link before a send waits. */
#define TIDAL_LINK_ENVELOPES_MAX 65536u

/* A mailbox's bound in envelopes: default and largest allowed. */
#define TIDAL_MAILBOX_ENVELOPES_DEFAULT 4096u
#define TIDAL_MAILBOX_ENVELOPES_MAX (1u << 20)

/* Active virtual actors of one owner at once: default and largest allowed
 * (tidal_spawn_opts.virtual_active_max).  A new key's first message past the
 * bound passivates the owner's least recently used idle virtual actor (its
 * fini runs on a worker), or is refused, dead letter VIRTUAL_FULL, if every
 * active one is busy (runtime/vactor.c).  A busy one has messages waiting,
 * which the owner's mailbox_max bounds (give or take one frame): a cap well
 * above that refuses nothing in practice.
 *
 * What it bounds, per owner: each active virtual actor is one struct
 * tidal__unit (112 bytes, 128 with malloc's header on 64-bit glibc; at most
 * 120, checked in runtime/vtab.c), its share of the table (a 16-byte slot in
 * a power of two of them, between three eighths and three quarters full:
 * 21 to 43 bytes) and its behaviour's own state.  The default so holds at
 * most ~43 MiB of the runtime's memory per owner, the largest ~2.7 GiB.
 * Besides: mailbox rings (192 bytes an envelope, doubling from 2) exist
 * only while messages wait, and the owner's mailbox_max bounds those;
 * units passivated for the cap whose fini waits for a worker each hold a
 * place in that same bound, so there are at most about mailbox_max of them
 * (runtime/vactor.c). */
#define TIDAL_VIRTUAL_ACTIVE_DEFAULT (1u << 18)
#define TIDAL_VIRTUAL_ACTIVE_MAX (1u << 24)

/* Envelopes one actor handles before yielding its worker. */
#define TIDAL_HANDLER_BURST_MAX 64u

/* Socket-backed actors in one runtime: the id packs a 20-bit slot index. */
#define TIDAL_SOCKET_ACTORS_MAX (1u << 20)

/* Peer listeners one socket-backed actor may have (tidal_listen_peer). */
#define TIDAL_PEER_LISTENERS_MAX 32u

/* Worker threads; the default is the number of cores. */
#define TIDAL_WORKERS_MAX 64u

/* Fault injection. */
#define TIDAL_FAULT_RULES_MAX 1024u        /* rules set at once */
#define TIDAL_REORDER_WINDOW_MAX 64u       /* envelopes held back on one link */
#define TIDAL_REORDER_HOLD_MS 20u          /* a held envelope leaves after this */
#define TIDAL_DELAY_MS_MAX 60000u          /* longest injected delay */
#define TIDAL_REPLAY_KEEP_MAX 256u         /* envelopes remembered per link */
#define TIDAL_FAULT_RETRY_MAX 65536u       /* copies waiting for room on full links */
#define TIDAL_TRACE_ENTRIES_MAX (1u << 18) /* trace ring; older entries roll off */

/* Per receiver and sender, the window in which a repeated message id is
 * recognised as a duplicate (anti-replay window, as in IPsec). */
#define TIDAL_DUP_WINDOW_IDS 256u
/* Senders whose windows one actor keeps; past it, the least recently heard
 * sender's window is reused (runtime/dupwin.c). */
#define TIDAL_DUP_SENDERS_MAX 1024u

/* Room notifications waiting on one mailbox or link (tidal_ctx_when_room). */
#define TIDAL_ROOM_WAITERS_MAX 65536u

/* Outstanding asks from one runtime. */
#define TIDAL_ASKS_MAX 65536u

/* Pending timers in one runtime. */
#define TIDAL_TIMERS_MAX (1u << 20)

/* Runtimes open in one simulation (include/tidal/sim.h): the simulator looks
 * at each one's run queue and timers on every event, so a few dozen at most. */
#define TIDAL_SIM_RUNTIMES_MAX 64u

/* Frames on their way in one simulation (sent, not yet delivered): bounds
 * the simulated network like nng's queues bound the real one.  A link past
 * it fails the frame as a broken connection would. */
#define TIDAL_SIM_FRAMES_MAX (1u << 20)

/* The longest travel time a simulation may draw for a frame. */
#define TIDAL_SIM_LATENCY_US_MAX 10000000u

/* The text a simulation keeps of its simulated disk's crashes
 * (tidal_sim_disk_trace): a line per file or directory a crash touched.
 * Past it lines are only counted and hashed (tidal_sim_stats.disk_trace_hash),
 * so a long soak's memory stays bounded. */
#define TIDAL_SIM_DISK_TRACE_BYTES (1u << 20)

/* Supervision: restarts allowed in the window before an actor is stopped. */
#define TIDAL_RESTARTS_MAX 5u
#define TIDAL_RESTART_WINDOW_MS 10000u

/* ---- The replicated store ---------------------------------------------- */

/* Regions in one cluster, numbered 0..TIDAL_REGIONS_MAX-1 (tidal_region_id).
 * Far above the deployments planned (2-5); per-region arrays (PN-counter
 * entries, applied and acknowledged LSNs, the shipper's peers) and the
 * shipper's 32-bit masks of peers are sized by it. */
#define TIDAL_REGIONS_MAX 16u

/* A session id on the wire and in records: 128 bits. */
#define TIDAL_SESSION_ID_BYTES 16u

/* Records, and payload bytes, in one WAL batch.  A batch travels as one
 * envelope payload with a small wrapper: 4 KiB of the payload are kept for
 * it and the batch header. */
#define TIDAL_BATCH_PAYLOAD_BYTES_MAX ((1u << 20) - 4096u)
#define TIDAL_BATCH_RECORDS_MAX 65536u

/* WAL options (tidal_region_opts, store/wal.h), range-checked on open. */
#define TIDAL_WAL_SEGMENT_BYTES_MIN (4u << 10)
#define TIDAL_WAL_SEGMENT_BYTES_MAX (1ull << 30)
#define TIDAL_WAL_SEGMENT_BYTES_DEFAULT (64ull << 20)
#define TIDAL_WAL_MEMORY_BYTES_MAX (1ull << 40) /* an ephemeral log's bound */
#define TIDAL_WAL_MEMORY_BYTES_DEFAULT (64ull << 20)
#define TIDAL_WAL_INTERVAL_MS_DEFAULT 10u
#define TIDAL_WAL_INTERVAL_MS_MAX 60000u

/* Signal types: a name's bytes on the wire (no NUL), the same in a table
 * (NUL included), and distinct types in one region.  Types come from the
 * schema, so a few dozen is typical; the bound stops a stream of junk names
 * from growing the table without end.
 *
 * A region's table holds the types of every region, and a peer's batch is
 * never refused (apply is total: a refusal would stall everything behind
 * it), so the limit a write meets is its origin's: a signal of a type the
 * region does not know is refused at its origin, before the log, once that
 * region has brought in TIDAL_SIGTYPES_ORIGIN_MAX types of its own.  No
 * table then holds more than TIDAL_SIGTYPES_MAX: every type was brought in
 * by some region. */
#define TIDAL_SIGNAL_TYPE_BYTES_MAX 31u
#define TIDAL_SIGTYPE_NAME_BYTES_MAX 32u
#define TIDAL_SIGTYPES_MAX 4096u
#define TIDAL_SIGTYPES_ORIGIN_MAX (TIDAL_SIGTYPES_MAX / TIDAL_REGIONS_MAX)

/* Signals in one session.  An agent session is minutes to hours of activity;
 * 65536 signals (2 MiB) bounds what one session can make a region hold. */
#define TIDAL_SESSION_SIGNALS_MAX 65536u

/* Buckets (minute and hour together) of one (item, type).  Expired state
 * needs 228; the rest is room for callers that expire lazily.  As with
 * types, a signal is refused at its origin, before the log, if it would
 * take the origin past TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX buckets, so that
 * the union a replica applies stays under TIDAL_SIGNALS_BUCKETS_MAX (every
 * region keeps buckets by the same rule on the data, store/signals.h). */
#define TIDAL_SIGNALS_BUCKETS_MAX 65535u
#define TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX (TIDAL_SIGNALS_BUCKETS_MAX / TIDAL_REGIONS_MAX)

/* How long a link holds frames for a peer it cannot reach before they go
 * to dead letters, PEER_GONE (tidal_runtime_opts.link_hold_ms; runtime/
 * carrier_nng.c, "Holding").  A minute: a peer that restarts, or a network
 * that heals, within it gets every frame; replication resends what it
 * lost from its log in any case; and a peer gone for good (an actor
 * stopped, a process that exited) stops costing a redial a second and the
 * frames' memory soon after. */
#define TIDAL_LINK_HOLD_MS_DEFAULT 60000u

/* How long a region keeps an ended session after its end stamp
 * (tidal_region_opts.session_retention_ms; docs/design.md, "Ended
 * sessions").  An agent session is minutes to hours of activity, and what
 * follows its end - reads of its signals by the application, the last of
 * its records on their way from a peer, a reconciliation round - takes
 * seconds to minutes: an hour covers them with a wide margin and keeps no
 * more than an hour's ended sessions beside the live ones.  It is far above
 * the clock skew regions tolerate (500 ms) and the reconciliation period
 * (1 s), so regions agree on which sessions are past it but for a moment. */
#define TIDAL_SESSION_RETENTION_MS_DEFAULT (60u * 60u * 1000u)

/* The longest a salvaged region may be told to wait for its silent peers
 * (tidal_region_opts.salvage_wait_ms; 0 there = wait for every peer).  A
 * day: an operator who sets it means "give up on a peer that is down for
 * longer than this"; past a day the region is better reopened without it
 * once the peer is back, and a larger value is more likely a unit slip
 * (seconds or microseconds typed for milliseconds) than a choice. */
#define TIDAL_SALVAGE_WAIT_MS_MAX (24u * 60u * 60u * 1000u)

/* A freed session leaves a tombstone (its id and end stamp: 32 bytes in a
 * table, 40 to 80 with the table's slack) for this many retentions after
 * its end - a day at the default - so that its records still on their way
 * (a peer cut off for hours, a log replayed) are dropped instead of
 * bringing it back.  A record later than that can (docs/design.md). */
#define TIDAL_SESSION_TOMBSTONE_RETENTIONS 24u

/* Idempotency keys remembered by one region: 16 Mi keys, ~1 GiB. */
#define TIDAL_IDEM_KEYS_MAX (1u << 24)

/* An LWW register's value: preference payloads are ids and small labels. */
#define TIDAL_LWW_VALUE_BYTES_MAX 256u

/* Per-(user, key) counters (tidal_user_counter_add, region.h).  A key names
 * one of a user's arms - Forage's bandit keeps two counts per (user,
 * source) - so, like a signal type, 31 bytes name it with room to spare,
 * and keep a table key (user and the key's bytes, NUL padded) a fixed 40
 * bytes.  A user's bandit has tens of arms: 1024 keys a user.  The table
 * holds at most TIDAL_USER_COUNTERS_MAX (user, key) pairs (about 100 bytes
 * each with the table's slack: ~1.6 GiB at the bound, the order of the
 * idempotency keys').
 *
 * As with signal types, a peer's record is never refused (apply is total),
 * so the bound a write meets is its origin's: a write that would give the
 * origin a component in a (user, key) where it has none is refused at the
 * origin, before the log, once that origin has components in
 * TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX of the user's keys, or in
 * TIDAL_USER_COUNTERS_ORIGIN_MAX pairs in all.  Every pair has a component
 * of some region, and a region's components are written by its own writes
 * alone, so no table then holds more than the _MAX of either. */
#define TIDAL_USER_COUNTER_KEY_BYTES_MAX 31u
#define TIDAL_USER_COUNTER_KEYS_MAX 1024u
#define TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX (TIDAL_USER_COUNTER_KEYS_MAX / TIDAL_REGIONS_MAX)
#define TIDAL_USER_COUNTERS_MAX (1u << 24)
#define TIDAL_USER_COUNTERS_ORIGIN_MAX (TIDAL_USER_COUNTERS_MAX / TIDAL_REGIONS_MAX)

/* ---- Replication messages ----------------------------------------------- */

/* One record in a WRITE message. */
#define TIDAL_REPL_RECORD_BYTES_MAX 512u
/* Buckets of one DIGEST, entries of one ENTRIES message and one entry's
 * bytes: a reconcile round is split into messages this size. */
#define TIDAL_REPL_DIGEST_BUCKETS_MAX 65536u
#define TIDAL_REPL_ENTRIES_MAX 65536u
#define TIDAL_REPL_ENTRY_BYTES_MAX 65536u

/* Sealed frames one outbound link queues (TIDAL_LINK_ENVELOPES_MAX bounds
 * what is in them). */
#define TIDAL_LINK_FRAMES_MAX 1024u

/* ---- Shipping and the follower path (actors/) --------------------------- */

/* The WAL's sync thread ships what a sync made durable itself when it is at
 * most this many records; more is left to the shipper, so that the next
 * sync never waits on many sends. */
#define TIDAL_SHIP_DURABLE_RECORDS_MAX 64u
/* Bytes of batches one shipper tick sends to one peer. */
#define TIDAL_SHIP_TICK_BYTES_MAX (1u << 20)
/* Flow control: an origin ships a peer nothing that starts more than this
 * many LSNs past the peer's ACK.  What waits in a peer's mailbox is then a
 * few ACKs' worth of work, so its ticks and ACKs stay prompt under load. */
#define TIDAL_SHIP_WINDOW_LSNS 2048u
/* Out-of-order batches a follower holds per origin while a gap is open. */
#define TIDAL_HELD_BATCHES_MAX 4096u
/* Session records of one origin a region holds (actors/state.c, hold) for
 * a seqno gap or a session whose start has not arrived: they wait for
 * another origin's log.  Past it, that origin's next batches are not taken
 * (not applied, not acknowledged: its shipper sends them again) until the
 * held ones drain (actors/held.c).  A record held costs ~150 bytes, so this
 * bounds what one origin can make a region hold to ~2.5 MB (40 MB for
 * every origin), yet leaves a roamed session thousands of signals of slack
 * before its new home's log waits for the old one's. */
#define TIDAL_HELD_RECORDS_MAX 16384u
/* Writes one session actor queues while a handover is in progress. */
#define TIDAL_HANDOVER_QUEUE_MAX 1024u

/* ---- Clocks (actors/clock.c; docs/design.md, "Clocks") ------------------- */

/* Each region sends every peer its wall clock this often (a CLOCK message:
 * ten a second per peer, a few bytes each). */
#define TIDAL_CLOCK_BEAT_MS 100u
/* A peer's clock estimate counts for this long after its last CLOCK message
 * arrived, by the monotonic clock (the wall clock is what is in doubt):
 * past it the peer is not reachable, and a region with no reachable peer
 * keeps its fence verdict.  Ten beats: a few lost messages do not make a
 * peer unreachable, and a peer cut off stops counting within a second. */
#define TIDAL_CLOCK_FRESH_MS 1000u

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(TIDAL_REGIONS_MAX <= 65536u, "a region id is 16 bits");
_Static_assert(TIDAL_CLOCK_FRESH_MS >= 4u * TIDAL_CLOCK_BEAT_MS,
               "a peer stays reachable across a few lost CLOCK messages");
_Static_assert(TIDAL_HELD_RECORDS_MAX + 0ull + TIDAL_BATCH_RECORDS_MAX <= 0xffffffffull,
               "an origin's held records (the bound, plus one batch taken when none is "
               "held) are counted in 32 bits");
_Static_assert(TIDAL_BATCH_PAYLOAD_BYTES_MAX + 4096u <= TIDAL_PAYLOAD_BYTES_MAX,
               "a batch, its header and its wrapper fit one envelope payload");
_Static_assert(TIDAL_WAL_SEGMENT_BYTES_MIN <= TIDAL_WAL_SEGMENT_BYTES_DEFAULT &&
                   TIDAL_WAL_SEGMENT_BYTES_DEFAULT <= TIDAL_WAL_SEGMENT_BYTES_MAX,
               "default segment size in range");
_Static_assert(TIDAL_WAL_MEMORY_BYTES_DEFAULT <= TIDAL_WAL_MEMORY_BYTES_MAX, "default in range");
_Static_assert(TIDAL_WAL_INTERVAL_MS_DEFAULT <= TIDAL_WAL_INTERVAL_MS_MAX, "default in range");
_Static_assert(TIDAL_SIGNAL_TYPE_BYTES_MAX + 1u == TIDAL_SIGTYPE_NAME_BYTES_MAX,
               "a type name from the wire fits a table's name with its NUL");
_Static_assert(TIDAL_SIGTYPES_MAX <= 65535u, "signal type ids are 16 bits, 0 unused");
_Static_assert(TIDAL_SIGNALS_BUCKETS_MAX <= 65535u, "bucket counts are 16 bits");
_Static_assert(TIDAL_SIGTYPES_ORIGIN_MAX * TIDAL_REGIONS_MAX <= TIDAL_SIGTYPES_MAX,
               "the union of every origin's types fits a table");
_Static_assert(TIDAL_SIGTYPES_ORIGIN_MAX >= 64u, "room for a schema's types at each origin");
_Static_assert(TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX * TIDAL_REGIONS_MAX <= TIDAL_SIGNALS_BUCKETS_MAX,
               "the union of every origin's buckets fits a slot");
_Static_assert(TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX >= 228u, "an origin holds its unexpired buckets");
_Static_assert(TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX * TIDAL_REGIONS_MAX <=
                   TIDAL_USER_COUNTER_KEYS_MAX,
               "the union of every origin's keys of a user fits the table");
_Static_assert(TIDAL_USER_COUNTERS_ORIGIN_MAX * TIDAL_REGIONS_MAX <= TIDAL_USER_COUNTERS_MAX,
               "the union of every origin's (user, key) pairs fits the table");
_Static_assert(TIDAL_USER_COUNTER_KEYS_ORIGIN_MAX >= 32u, "room for a bandit's arms at an origin");
_Static_assert(TIDAL_USER_COUNTER_KEY_BYTES_MAX + 1u + 8u == 40u,
               "a table key (user, key padded with NULs) is 40 bytes");
_Static_assert(TIDAL_SHIP_WINDOW_LSNS + 1u <= TIDAL_HELD_BATCHES_MAX,
               "a window of one-LSN batches, and the one that starts at its edge, fit");
_Static_assert(TIDAL_HANDOVER_QUEUE_MAX <= TIDAL_MAILBOX_ENVELOPES_DEFAULT,
               "a session's queued writes fit its mailbox");
_Static_assert(TIDAL_SESSION_ID_BYTES <= TIDAL_KEY_BYTES_MAX,
               "a session id is a virtual actor's key");
_Static_assert(TIDAL_ENVELOPE_BYTES_MAX <= TIDAL_FRAME_BYTES_MAX,
               "an envelope must fit in one frame");
_Static_assert(TIDAL_COALESCE_BYTES_MAX + TIDAL_ENVELOPE_BYTES_MAX <= TIDAL_FRAME_BYTES_MAX,
               "a full pending frame plus one envelope must fit in a frame");
_Static_assert(TIDAL_COALESCE_ENVELOPES_MAX < TIDAL_FRAME_ENVELOPES_MAX,
               "a sender's frame must be accepted by a receiver");
_Static_assert(TIDAL_REORDER_WINDOW_MAX <= TIDAL_REPLAY_KEEP_MAX, "reorder within replay keep");
_Static_assert(TIDAL_MAILBOX_ENVELOPES_DEFAULT <= TIDAL_MAILBOX_ENVELOPES_MAX, "default bound");
_Static_assert(TIDAL_VIRTUAL_ACTIVE_DEFAULT >= 1u &&
                   TIDAL_VIRTUAL_ACTIVE_DEFAULT <= TIDAL_VIRTUAL_ACTIVE_MAX,
               "default number of active virtual actors in range");
_Static_assert(TIDAL_VIRTUAL_ACTIVE_MAX + TIDAL_MAILBOX_ENVELOPES_MAX +
                       2u * TIDAL_FRAME_ENVELOPES_MAX <=
                   (1u << 30),
               "an owner's table (active units, units waiting for their passivation, one frame's "
               "worth of both), at most three quarters full, fits a 32-bit capacity that "
               "doubles");
_Static_assert((TIDAL_DUP_WINDOW_IDS % 64u) == 0, "window is whole 64-bit words");
#endif

#endif /* TIDAL_LIMITS_H */
