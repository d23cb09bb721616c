/*
 * Signal state: windowed counts of preference signals per (item, signal
 * type), built from PN-counters so that replicas merge in any order.
 *
 * Buckets.  Every event (item, type, region, delta, ts) adds delta to region's
 * component of two buckets keyed by absolute time:
 *   minute bucket  m = ts_ns / 60 s        (integer division, UTC epoch based)
 *   hour bucket    h = ts_ns / 3600 s
 * Each bucket is a PN-counter, so a bucket of two replicas merges by
 * per-region max, and a state merges bucket by bucket.
 *
 * Windows, for a query at now_ns (nm = now_ns / 60 s, nh = now_ns / 3600 s):
 *   TIDAL_SIGWINDOW_1H   sum of the minute buckets nm-59 .. nm (60 buckets: the
 *                     current minute and the 59 before it)
 *   TIDAL_SIGWINDOW_24H  sum of the hour buckets nh-23 .. nh (24 buckets)
 *   TIDAL_SIGWINDOW_7D   sum of the hour buckets nh-167 .. nh (168 buckets)
 * Lower bounds stop at bucket 0.  So a window is aligned to bucket edges: the
 * 1 h window covers between 59 and 60 minutes of past events, the 24 h window
 * between 23 and 24 hours.  Buckets after nm / nh (events stamped ahead of
 * the reader's clock) are not counted until their bucket is current.
 *
 * The keep rule.  What the state holds must be a function of the events
 * applied, never of a replica's clock or of when it happened to apply or
 * expire: the digest and the reconciliation entries cover the state, and two
 * replicas that applied the same events must compare equal at any moment.
 * So old buckets are dropped by a rule on the data alone.  Let NM and NH be
 * the newest minute and hour bucket numbers this state ever stored (of any
 * (item, type) and any region: the newest event's buckets).  The state keeps
 *   minute buckets  m >= NM - 60    (61 buckets: the 1 h window, plus one)
 *   hour buckets    h >= NH - 168   (169 buckets: the 7 d window, plus one)
 * and nothing older: an event whose bucket is older is not stored, a merge
 * skips such buckets, and buckets that a newer event pushed out are no part
 * of the state at once - counts, components, hashes, the digest and the
 * encodings all leave them out - although their memory is freed only by the
 * next tidal_signals_expire.  NM and NH are the maximum over the events
 * (the newest bucket is never dropped), so every replica that applied the
 * same events, in any order and by any mix of apply, observe and merge,
 * keeps exactly the same buckets.  The rule is a closure that commutes with
 * the merge (it only ever drops buckets older than a bound that merging can
 * only raise), so the merge stays commutative, associative and idempotent.
 *
 * Reads stay exact.  A window at now reads minute buckets from nm - 59 and
 * hour buckets from nh - 167; those are kept as long as NM <= nm + 1 and
 * NH <= nh + 1, i.e. no event held is stamped more than a whole bucket ahead
 * of the reader's clock.  A region takes no stamp further ahead of its clock
 * than max_skew_ns (500 ms by default), a merge none more than a bucket
 * ahead (tidal_signals_entry_merge), and a clock running ahead of its
 * peers' fences itself, so the one bucket of slack covers them; a reader
 * whose clock runs a minute (an hour) behind the newest event may miss the
 * oldest minute (hour) of its 1 h (7 d) window, as the origin's clock sees
 * it gone already.  The bound also keeps each (item, type) within 230
 * buckets once expired, whatever stamps come in.
 *
 * Memory: an (item, type) no event has touched for a week of event time
 * holds nothing and is freed by tidal_signals_expire, which callers run
 * regularly (each minute, say); between runs a state may hold some buckets
 * the rule already left out, which only costs memory.  While no event at all
 * arrives, nothing is freed: time passing alone changes nothing.
 *
 * Types are ids of a tidal_sigtypes table that the caller owns and that must
 * outlive this state; encodings and hashes carry the type's name, so they
 * mean the same in every region whatever ids the regions chose.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_SIGNALS_H
#define TIDAL_STORE_SIGNALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/pncounter.h"
#include "store/shard.h"
#include "store/sigtypes.h"
#include "tidal/limits.h"

#define TIDAL_SIGNALS_MINUTE_NS (60ull * 1000 * 1000 * 1000)
#define TIDAL_SIGNALS_HOUR_NS (60ull * TIDAL_SIGNALS_MINUTE_NS)

/* Buckets the longest window of each kind reads. */
#define TIDAL_SIGNALS_MINUTES_KEPT 60u
#define TIDAL_SIGNALS_HOURS_KEPT 168u

/* Buckets the keep rule keeps behind the newest: a window's, plus one of
 * slack for stamps a little ahead of a reader's clock (see above). */
#define TIDAL_SIGNALS_MINUTES_HELD (TIDAL_SIGNALS_MINUTES_KEPT + 1u)
#define TIDAL_SIGNALS_HOURS_HELD (TIDAL_SIGNALS_HOURS_KEPT + 1u)

_Static_assert(TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX >=
                   TIDAL_SIGNALS_MINUTES_HELD + TIDAL_SIGNALS_HOURS_HELD,
               "the buckets a (item, type) keeps once expired fit its bound");

/* Current version of the entry encoding. */
#define TIDAL_SIGNALS_ENTRY_VERSION 1

/* The windows (numbered like the public tidal_window of tidal/region.h). */
typedef enum tidal_sigwindow {
    TIDAL_SIGWINDOW_1H = 0,
    TIDAL_SIGWINDOW_24H = 1,
    TIDAL_SIGWINDOW_7D = 2,
} tidal_sigwindow;

typedef struct tidal_signals tidal_signals;

/* An empty state in *out, naming types through types (borrowed: it must
 * outlive the state).  TIDAL_ENOMEM. */
int tidal_signals_open(tidal_sigtypes *types, tidal_signals **out)
    __attribute__((warn_unused_result));

/* Frees the state.  Accepts NULL. */
void tidal_signals_close(tidal_signals *s);

/* Adds delta to region's component of the minute and hour buckets of ts_ns
 * for (item, type); delta 0 changes nothing, and a bucket the keep rule
 * (above) leaves out is not stored.  Each event must be applied once
 * per replica (the apply path deduplicates by LSN and seqno).  TIDAL_EINVAL
 * for a bad region or a type id unknown to the types table,
 * TIDAL_ELIMIT when a component would overflow or the entry would pass
 * TIDAL_SIGNALS_BUCKETS_MAX buckets, TIDAL_ENOMEM; on error nothing changed. */
int tidal_signals_apply(tidal_signals *s, tidal_entity_id item, uint16_t type,
                        tidal_region_id region, int64_t delta, uint64_t ts_ns)
    __attribute__((warn_unused_result));

/* The state-based form of apply, for replicated records: raises region's P
 * component of the minute bucket of ts_ns to at least p_minute and of the
 * hour bucket to at least p_hour (0 leaves that bucket alone).  The origin
 * puts in the record its own components *after* the event (from
 * tidal_signals_component, plus the event), so applying the record any
 * number of times, in any order with the origin's other records, or after a
 * reconciliation already brought the state, counts the event exactly once.
 * Errors as tidal_signals_apply but no overflow (a max cannot overflow); on
 * error nothing is changed. */
int tidal_signals_observe(tidal_signals *s, tidal_entity_id item, uint16_t type,
                          tidal_region_id region, uint64_t ts_ns, uint64_t p_minute,
                          uint64_t p_hour) __attribute__((warn_unused_result));

/* At a signal's origin, before the log: 0 if observing a signal of (item,
 * type) at ts_ns keeps the pair within TIDAL_SIGNALS_BUCKETS_ORIGIN_MAX
 * buckets (limits.h), else TIDAL_ELIMIT.  Changes nothing. */
int tidal_signals_room(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                       uint64_t ts_ns) __attribute__((warn_unused_result));

/* *p_minute, *p_hour = region's P components of the minute and hour buckets
 * of ts_ns for (item, type); 0 where there is nothing.  TIDAL_EINVAL for a bad
 * region (outputs untouched). */
int tidal_signals_component(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                            tidal_region_id region, uint64_t ts_ns, uint64_t *p_minute,
                            uint64_t *p_hour) __attribute__((warn_unused_result));

/* *out = the count of (item, type) in window at now_ns (definitions above; 0
 * for an unknown pair).  The sum wraps like tidal_pncounter_value.
 * TIDAL_EINVAL for an unknown window (*out untouched). */
int tidal_signals_count(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                        tidal_sigwindow window, uint64_t now_ns, int64_t *out)
    __attribute__((warn_unused_result));

/* Frees the buckets the keep rule (above) left out and the entries left with
 * none.  The state does not change - counts, hashes and encodings are the
 * same before and after - so replicas may run it whenever they like.  Cannot
 * fail. */
void tidal_signals_expire(tidal_signals *s);

/* (item, type) pairs with state.  Cannot fail. */
size_t tidal_signals_entries(const tidal_signals *s);

/* Buckets held in all (for tests and gauges); walks the table.  Cannot fail. */
size_t tidal_signals_buckets(const tidal_signals *s);

/* Bytes the state has allocated (table, bucket arrays, counters' heap
 * arrays), without the allocator's own overhead; walks the table.  Cannot
 * fail. */
size_t tidal_signals_memory_bytes(const tidal_signals *s);

/* Iteration for reconciliation: start with *cursor = 0; each call gives the
 * next pair and returns true, false at the end.  The state must not change
 * during an iteration.  Cannot fail. */
bool tidal_signals_next(const tidal_signals *s, size_t *cursor, tidal_entity_id *item,
                        uint16_t *type);

/* *out = the stable hash of the entry of (item, type): the hash of its
 * encoding.  TIDAL_ENOENT if there is none, or the keep rule leaves it no
 * bucket (tidal_signals_next may still name it until the next expire). */
int tidal_signals_entry_hash(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                             uint64_t *out) __attribute__((warn_unused_result));

/* The sum (mod 2^64) of every entry's hash: equal for replicas that applied
 * the same events, whenever each ran expire.  Cannot fail. */
uint64_t tidal_signals_digest(const tidal_signals *s);

/* Encodes the entry of (item, type), buckets the keep rule leaves out
 * omitted; *len gets the size written, or needed on TIDAL_ETOOBIG.
 * TIDAL_ENOENT as tidal_signals_entry_hash.  Format, little-endian:
 *   offset  size  field
 *   0       1     version (TIDAL_SIGNALS_ENTRY_VERSION)
 *   1       8     item
 *   9       1     type name length L
 *   10      L     type name (tidal_sigtypes rules)
 *   10+L    2     minute bucket count M
 *   12+L    2     hour bucket count H
 *   14+L    ...   M times: minute number u32, PN-counter (pncounter.h)
 *           ...   H times: hour number u32, PN-counter
 * Valid if and only if: the version is known (else TIDAL_EVERSION); the name
 * is valid; 1 <= M + H <= TIDAL_SIGNALS_BUCKETS_MAX; bucket numbers are
 * strictly increasing within each kind; every counter is valid and not empty;
 * the input ends exactly after the last counter.  Buckets are in order and
 * empty ones never stored, so equal states have equal encodings. */
int tidal_signals_entry_encode(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                               uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Encodes one part of the entry of (item, type) (signals_parts.c): the
 * kept buckets from the cursor *from on - the minute buckets, then the hour
 * buckets - as many as fit in cap, in the format above.  A part is a valid
 * entry, merged as any entry, and the parts of an entry merged in any order
 * give what the whole entry gives: this is how an entry larger than a
 * reconciliation entry's bound travels.  Start with *from = 0; on success
 * *from gets the cursor of the next part, or 0 after the part that holds the
 * last kept bucket, and *len the size written.  TIDAL_ENOENT as
 * tidal_signals_entry_encode; TIDAL_ETOOBIG if cap holds not even the
 * header and one bucket; on error *from is unchanged. */
int tidal_signals_entry_encode_part(const tidal_signals *s, tidal_entity_id item, uint16_t type,
                                    uint64_t *from, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes an entry from another replica and merges it (bucket by bucket,
 * per-region max), skipping the buckets the keep rule leaves out once the
 * entry's newest buckets are counted.  Buckets more than one bucket ahead of
 * now_ns (the caller's clock) are left out too, for a later round: like a
 * record stamped beyond the tolerance, they would otherwise raise the floor
 * past what this replica's windows read.  They delay a merge, never change
 * what it makes.  The name is
 * interned in the types table (and stays there even if the merge fails).
 * TIDAL_ETRUNCATED, TIDAL_ECORRUPT, TIDAL_EVERSION, TIDAL_ETRAILING for bad
 * input, TIDAL_ELIMIT if the types table is full or the merged entry would
 * pass TIDAL_SIGNALS_BUCKETS_MAX, TIDAL_ENOMEM; on error the state is
 * unchanged.  *item and *type (may be NULL) get the entry's key. */
int tidal_signals_entry_merge(tidal_signals *s, const uint8_t *buf, size_t len, uint64_t now_ns,
                              tidal_entity_id *item, uint16_t *type)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_SIGNALS_H */
