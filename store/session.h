/*
 * Sessions: the table of user sessions a region knows, each with its home
 * region, its lifecycle stamps and the preference signals written in it.
 *
 * A session is written by its home region's session actor, which orders the
 * writes and assigns each signal a seqno (1, 2, 3...); other regions apply
 * the same signals in seqno order behind the HWM (hwm.h), so every replica
 * holds the same signal vector, sorted by seqno.  When an agent roams, the
 * home moves (set_home) and the new home continues from the handover seqno.
 *
 * Merging two replicas' copies of one session (reconciliation), field by
 * field, each rule commutative, associative and idempotent:
 *   user        immutable: copies for different users do not merge (EEXIST)
 *   started     the smaller stamp (total HLC order)
 *   home        last writer wins by the home stamp (total order); on an
 *               identical stamp the greater (home, handover seqno)
 *   ended       sticky: ended if either copy ended; the end stamp is the
 *               smaller of the ended copies' stamps (the first end)
 *   next seqno  the greater
 *   signals     the union by seqno; two different signals under one seqno
 *               come from a copy that lacks the stamp (written before stamps
 *               were kept), a bug or forged input, and the greater by
 *               (item, ts, weight bits, origin, type name, stamp) is kept -
 *               so a stamped copy of a signal wins over an unstamped one
 * The table's own operations follow the same rules, so applying any mix of
 * operations and merges converges.
 *
 * Seqnos: start sets next_seqno to 1; assign_seqno hands out next_seqno and
 * increments it; add_signal and set_home raise it (past the signal's seqno,
 * to the handover seqno), so the invariant next_seqno > every stored seqno
 * holds in every replica.
 *
 * Types are ids of a tidal_sigtypes table that the caller owns and that must
 * outlive the table; encodings carry the names.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_SESSION_H
#define TIDAL_STORE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/pncounter.h"
#include "store/shard.h"
#include "store/sigtypes.h"
#include "tidal/hlc.h"
#include "tidal/limits.h"
#include "tidal/types.h"

/* Current version of the entry encoding (session_codec.c: signals' stamps
 * came as a flag of version 1, not a new version). */
#define TIDAL_SESSION_ENTRY_VERSION 1

/* A 128-bit session id; {0, 0} is never a session.  The public API
 * (tidal/region.h) hands the same type to clients: whichever header comes
 * first defines it, under this guard. */
/* tidal_session_id (128 bits) comes from the public tidal/types.h. */

/* A signal as the session stores it (48 bytes). */
typedef struct tidal_session_signal {
    uint64_t seqno;         /* >= 1, assigned by the home region */
    tidal_entity_id item;   /* the item signalled */
    uint64_t ts_ns;         /* event time, ns since the epoch */
    float weight;           /* finite */
    uint16_t type;          /* id in the table's tidal_sigtypes */
    tidal_region_id origin; /* the region that accepted the write */
    tidal_hlc stamp;        /* the origin's HLC at the write, carried by the record;
                             * all zero when unknown (a record or entry from
                             * before stamps were kept) */
} tidal_session_signal;

/* A session's fields as a value. */
typedef struct tidal_session_state {
    tidal_entity_id user;
    tidal_region_id home;    /* the current home region */
    tidal_hlc home_stamp;    /* stamp of the home's last change (start's stamp at first) */
    uint64_t handover_seqno; /* the seqno the current home started from (1 at first) */
    tidal_hlc started;
    bool ended;
    tidal_hlc ended_stamp; /* meaningful when ended (zero otherwise) */
    uint64_t next_seqno;   /* the next seqno the home assigns */
    size_t signals;        /* signals held */
} tidal_session_state;

typedef struct tidal_sessions tidal_sessions;

/* A fresh random id from the random source (base/random.h), never {0, 0}.
 * TIDAL_EIO if the kernel's generator fails (*out untouched). */
int tidal_session_id_new(tidal_session_id *out) __attribute__((warn_unused_result));

/* <0, 0, >0 ordering ids by (hi, lo).  Cannot fail. */
int tidal_session_id_compare(const tidal_session_id *a, const tidal_session_id *b);

/* An empty table in *out naming types through types (borrowed).  TIDAL_ENOMEM. */
int tidal_sessions_open(tidal_sigtypes *types, tidal_sessions **out)
    __attribute__((warn_unused_result));

/* Frees the table and every session.  Accepts NULL. */
void tidal_sessions_close(tidal_sessions *t);

/* Starts session id for user at home, stamped stamp.  A start of a session
 * that exists merges, so that applying a logged start never fails and every
 * region ends alike whatever order starts arrive in: the start with the
 * smaller (stamp, user) names the user and the start stamp, and the home is
 * last-writer-wins by (stamp, region) with every HOME record - a replayed
 * start changes nothing.  (Two starts of one id differ only if two origins
 * drew the same random 128-bit id, or a peer is broken: the origin itself
 * never logs a start of a session it knows, actors/session.c.)
 * TIDAL_EINVAL for the zero id or a bad region, TIDAL_ESTATE for a session
 * freed here (it has a tombstone: below), TIDAL_ENOMEM; on error nothing is
 * changed. */
int tidal_sessions_start(tidal_sessions *t, const tidal_session_id *id, tidal_entity_id user,
                         tidal_region_id home, const tidal_hlc *stamp)
    __attribute__((warn_unused_result));

/* The session's fields in *out.  TIDAL_ENOENT if unknown. */
int tidal_sessions_get(const tidal_sessions *t, const tidal_session_id *id,
                       tidal_session_state *out) __attribute__((warn_unused_result));

/* *seqno = the next seqno, which is then consumed (for the home's actor).
 * TIDAL_ENOENT, TIDAL_ELIMIT if seqnos are exhausted; nothing changed. */
int tidal_sessions_assign_seqno(tidal_sessions *t, const tidal_session_id *id, uint64_t *seqno)
    __attribute__((warn_unused_result));
/* Gives back the seqno assign_seqno just handed out, when the write that took
 * it failed, so that no seqno is left unwritten (later ones would wait for it
 * forever).  Only the last one handed out, before anything raised next_seqno:
 * TIDAL_ESTATE otherwise; TIDAL_ENOENT for an unknown session. */
int tidal_sessions_unassign_seqno(tidal_sessions *t, const tidal_session_id *id, uint64_t seqno)
    __attribute__((warn_unused_result));

/* Adds a signal at its seqno's place in the vector (the caller has ordered
 * and deduplicated; out-of-order seqnos are inserted, not refused, so that
 * reconciliation can fill gaps).  Accepted on ended sessions too (a write
 * made before the end may arrive after it).  TIDAL_ENOENT for an unknown
 * session, TIDAL_EINVAL for seqno 0, an unknown type, a bad origin or a
 * non-finite weight, TIDAL_EEXIST if the seqno is already held,
 * TIDAL_ELIMIT past TIDAL_SESSION_SIGNALS_MAX, TIDAL_ENOMEM; on error nothing
 * is changed. */
int tidal_sessions_add_signal(tidal_sessions *t, const tidal_session_id *id,
                              const tidal_session_signal *sig) __attribute__((warn_unused_result));

/* *sigs = the session's signals sorted by seqno, *n their number.  The array
 * belongs to the table and is valid until the table next changes.
 * TIDAL_ENOENT if unknown. */
int tidal_sessions_signals(const tidal_sessions *t, const tidal_session_id *id,
                           const tidal_session_signal **sigs, size_t *n)
    __attribute__((warn_unused_result));

/* Ends the session (sticky; the end stamp becomes the smaller of the old and
 * the new).  TIDAL_ENOENT if unknown. */
int tidal_sessions_end(tidal_sessions *t, const tidal_session_id *id, const tidal_hlc *stamp)
    __attribute__((warn_unused_result));

/* Moves the home to region from handover_seqno (the first seqno the new home
 * assigns) if stamp wins over the current home stamp (rule above); *applied
 * (may be NULL) says whether it did.  TIDAL_ENOENT, TIDAL_EINVAL for a bad
 * region or handover seqno 0; nothing changed on error. */
int tidal_sessions_set_home(tidal_sessions *t, const tidal_session_id *id, tidal_region_id region,
                            uint64_t handover_seqno, const tidal_hlc *stamp, bool *applied)
    __attribute__((warn_unused_result));

/* Forgets a session and its signals (garbage collection of old sessions; not
 * a replicated operation).  TIDAL_ENOENT if unknown. */
int tidal_sessions_remove(tidal_sessions *t, const tidal_session_id *id)
    __attribute__((warn_unused_result));

/* Sessions held.  Cannot fail. */
size_t tidal_sessions_count(const tidal_sessions *t);

/* Sessions of a user: the ids of every session of user held here and not
 * expired at cutoff_ns (Retention, below: 0 expires nothing), live or
 * ended, ordered by start stamp (total HLC order), then id.  Writes the
 * first max into out (NULL when max is 0); *n gets how many there are (may
 * exceed max).  Backed by an index kept with the table (session_users.c),
 * so the cost is the user's m sessions - m lookups and an O(m log m) sort
 * of a copy - not the table's.  TIDAL_ENOMEM for the copy (nothing
 * written). */
int tidal_sessions_of_user(const tidal_sessions *t, tidal_entity_id user, uint64_t cutoff_ns,
                           tidal_session_id *out, size_t max, size_t *n)
    __attribute__((warn_unused_result));

/* Sessions in pages (session_list.c): the ids of the sessions held and not
 * expired at cutoff_ns (0 expires nothing) that are greater than *after
 * (every one when after is NULL), ascending by id (hi, lo).  Writes the
 * first max of them into out (NULL when max is 0); *n gets how many there
 * are above after, which may exceed max.  No index: one pass over every
 * slot, O(N log max) for the N sessions held, and no allocation.  Cannot
 * fail. */
void tidal_sessions_page(const tidal_sessions *t, const tidal_session_id *after,
                         uint64_t cutoff_ns, tidal_session_id *out, size_t max, size_t *n);

/* Bytes the table has allocated (slots and signal vectors), without the
 * allocator's overhead; walks the table.  Cannot fail. */
size_t tidal_sessions_memory_bytes(const tidal_sessions *t);

/* Iteration for reconciliation: start with *cursor = 0; each call gives the
 * next id and returns true, false at the end.  The table must not change
 * during an iteration.  Cannot fail. */
bool tidal_sessions_next(const tidal_sessions *t, size_t *cursor, tidal_session_id *id);

/* *out = the stable hash of the session's encoding.  TIDAL_ENOENT. */
int tidal_sessions_entry_hash(const tidal_sessions *t, const tidal_session_id *id, uint64_t *out)
    __attribute__((warn_unused_result));

/* The sum (mod 2^64) of every session's hash.  Cannot fail. */
uint64_t tidal_sessions_digest(const tidal_sessions *t);

/* Encodes one session; *len gets the size written, or needed on
 * TIDAL_ETOOBIG.  TIDAL_ENOENT if unknown.  The format is documented in
 * session_codec.c beside the encoder. */
int tidal_sessions_entry_encode(const tidal_sessions *t, const tidal_session_id *id, uint8_t *buf,
                                size_t cap, size_t *len) __attribute__((warn_unused_result));

/* Encodes one part of a session (session_parts.c): its fixed fields and
 * its signals from seqno *from on, as many as fit in cap, in the format of
 * tidal_sessions_entry_encode - a valid entry, merged as any entry, so the
 * parts of a session merged in any order give what the whole entry gives.
 * This is how a session larger than an entry's bound travels.  Start with
 * *from = 0; on success *from gets the seqno the next part starts at, or 0
 * after the part that holds the session's last signal (a session with no
 * signal is one part), and *len the size written.  TIDAL_ENOENT if unknown;
 * TIDAL_ETOOBIG if cap holds not even the fixed fields and one signal with
 * its name; on error *from is unchanged. */
int tidal_sessions_entry_encode_part(const tidal_sessions *t, const tidal_session_id *id,
                                     uint64_t *from, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes a session from another replica and merges it (rules above),
 * creating it if unknown; *id (may be NULL) gets its id.  TIDAL_ETRUNCATED,
 * TIDAL_ECORRUPT, TIDAL_EVERSION, TIDAL_ETRAILING for bad input, TIDAL_EEXIST
 * if the local copy has another user, TIDAL_ESTATE for a session freed here
 * (a tombstone), TIDAL_ELIMIT if the types table is full or the union passes
 * TIDAL_SESSION_SIGNALS_MAX, TIDAL_ENOMEM; on error the table is unchanged
 * (names interned stay interned). */
int tidal_sessions_entry_merge(tidal_sessions *t, const uint8_t *buf, size_t len,
                               tidal_session_id *id) __attribute__((warn_unused_result));

/* ---- Retention (session_retention.c; docs/design.md, "Ended sessions") ----
 *
 * A session is expired at a cut-off (a wall time, ns) when it has ended and
 * its end stamp's wall time is before the cut-off.  End stamps only go down
 * (the merge keeps the smaller) and a caller's cut-off only goes up (it is
 * its wall clock less its retention), so an expired session stays expired
 * whatever merges come.  An expired session can be freed: its slot and its
 * signals go, and a tombstone (its id and end stamp) stays, so that the
 * records and entries of it that are still on their way are recognised and
 * dropped rather than bring it back.  A table never holds a session and a
 * tombstone of one id together.  Tombstones are dropped in their turn by
 * the caller's sweep, at a later cut-off.  A cut-off of 0 expires nothing. */

/* True if the session is held, ended, and ended before cutoff_ns.  Cannot
 * fail. */
bool tidal_sessions_expired(const tidal_sessions *t, const tidal_session_id *id,
                            uint64_t cutoff_ns);

/* Frees an ended session and its signals, leaving a tombstone with its end
 * stamp.  TIDAL_ENOENT if not held, TIDAL_ESTATE if it has not ended,
 * TIDAL_ENOMEM if the tombstone cannot be added: nothing changed. */
int tidal_sessions_retire(tidal_sessions *t, const tidal_session_id *id)
    __attribute__((warn_unused_result));

/* Records that a session not held here ended at stamp: adds its tombstone,
 * or lowers an existing one's stamp to stamp if smaller.  TIDAL_EINVAL for
 * the zero id, TIDAL_EEXIST if the session is held (end and retire it
 * instead), TIDAL_ENOMEM; nothing changed on error. */
int tidal_sessions_bury(tidal_sessions *t, const tidal_session_id *id, const tidal_hlc *ended)
    __attribute__((warn_unused_result));

/* True if the session has a tombstone; *ended (may be NULL) gets its end
 * stamp.  Cannot fail. */
bool tidal_sessions_tomb(const tidal_sessions *t, const tidal_session_id *id, tidal_hlc *ended);

/* Tombstones held.  Cannot fail. */
size_t tidal_sessions_tombs(const tidal_sessions *t);

/* One slice of a sweep of the sessions: examines up to budget sessions from
 * *cursor (0 starts a pass) and retires each one expired at cutoff_ns,
 * calling retired(arg, id) (may be NULL) after each.  Returns true when the
 * pass is over (*cursor is 0 again).  A session the table moves meanwhile
 * (a growth, a removal next to it) may be missed by this pass; the next
 * one finds it.  One whose tombstone cannot be added (no memory) is kept
 * for the next pass.  retired must not touch the table.  Cannot fail. */
bool tidal_sessions_sweep(tidal_sessions *t, uint64_t cutoff_ns, size_t *cursor, size_t budget,
                          void (*retired)(void *arg, const tidal_session_id *id), void *arg);

/* The same for tombstones: drops each one whose end stamp's wall time is
 * before cutoff_ns.  Cannot fail. */
bool tidal_sessions_sweep_tombs(tidal_sessions *t, uint64_t cutoff_ns, size_t *cursor,
                                size_t budget);

/* Iteration over the tombstones (as tidal_sessions_next).  Cannot fail. */
bool tidal_sessions_next_tomb(const tidal_sessions *t, size_t *cursor, tidal_session_id *id);

/* The sum (mod 2^64) of the hashes of the sessions not expired at cutoff_ns:
 * tidal_sessions_digest of the table the sweep would leave.  Cannot fail. */
uint64_t tidal_sessions_digest_at(const tidal_sessions *t, uint64_t cutoff_ns);

/* The id, ended flag and end stamp (zero unless ended) of an encoded entry,
 * from its fixed part only (the rest is checked by the merge).
 * TIDAL_ETRUNCATED, TIDAL_EVERSION, TIDAL_ECORRUPT as the merge. */
int tidal_sessions_entry_peek(const uint8_t *buf, size_t len, tidal_session_id *id, bool *ended,
                              tidal_hlc *end) __attribute__((warn_unused_result));

/* Current version of the tombstone encoding. */
#define TIDAL_SESSION_TOMB_VERSION 1
/* Bytes of an encoded tombstone. */
#define TIDAL_SESSION_TOMB_BYTES 31u

/* Encodes a tombstone: version u8, id hi u64, id lo u64, end stamp (wall
 * u64, logical u32, node u16), little-endian - of a session freed, or of an
 * ended one held (the tombstone it will leave).  *len gets the size
 * written, or needed on TIDAL_ETOOBIG.  TIDAL_ENOENT if it is neither. */
int tidal_sessions_tomb_encode(const tidal_sessions *t, const tidal_session_id *id, uint8_t *buf,
                               size_t cap, size_t *len) __attribute__((warn_unused_result));

/* Decodes a tombstone.  Valid if and only if it is exactly
 * TIDAL_SESSION_TOMB_BYTES long (else TIDAL_ETRUNCATED or TIDAL_ETRAILING),
 * of a known version (TIDAL_EVERSION), and its id is not {0, 0}
 * (TIDAL_ECORRUPT). */
int tidal_sessions_tomb_decode(const uint8_t *buf, size_t len, tidal_session_id *id,
                               tidal_hlc *ended) __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_SESSION_H */
