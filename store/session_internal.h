/*
 * The layout of the session table, shared by session.c (operations) and
 * session_codec.c (encoding, hashing, merging).
 *
 * One 112-byte slot per session in a hash map, pointing at a vector of
 * signals sorted by seqno with no duplicate seqno.  Invariants:
 * next_seqno > every stored seqno, next_seqno >= handover_seqno >= 1.
 */
#ifndef TIDAL_STORE_SESSION_INTERNAL_H
#define TIDAL_STORE_SESSION_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "store/bytes.h"
#include "store/hmap.h"
#include "store/session.h"

typedef struct tidal__sess_slot {
    tidal_session_id id; /* key */
    uint64_t user;
    uint64_t next_seqno;
    uint64_t handover_seqno;
    tidal_hlc started;
    tidal_hlc home_stamp;
    tidal_hlc ended_stamp; /* zero unless ended */
    tidal_session_signal *sig;
    uint32_t nsig;
    uint32_t cap;
    tidal_region_id home;
    uint8_t ended;
} tidal__sess_slot;

/* A freed session's tombstone (session_retention.c): its id and end stamp,
 * 32 bytes. */
typedef struct tidal__sess_tomb {
    tidal_session_id id; /* key */
    tidal_hlc ended;
} tidal__sess_tomb;

/* The user index (session_users.c): the ids of one user's held sessions,
 * in no order, 24 bytes plus 16 per session.  Every slot of the map is in
 * exactly the entry of its user, and no entry is empty. */
typedef struct tidal__sess_user {
    uint64_t user; /* key */
    uint32_t n;    /* ids held */
    uint32_t cap;  /* ids allocated */
    tidal_session_id *ids;
} tidal__sess_user;

struct tidal_sessions {
    tidal_hmap map;        /* tidal__sess_slot by id */
    tidal_hmap users;      /* tidal__sess_user by user: the index of map */
    tidal_hmap tombs;      /* tidal__sess_tomb by id: sessions freed, never in map */
    tidal_sigtypes *types; /* borrowed */
};

/* Raises the slot's home to (region, handover, stamp) if it wins (the rule in
 * session.h); true if it did.  Cannot fail. */
bool tidal__sess_merge_home(tidal__sess_slot *s, tidal_region_id region, uint64_t handover,
                            const tidal_hlc *stamp);

/* Ends the slot at stamp (sticky, smaller stamp kept).  Cannot fail. */
void tidal__sess_merge_end(tidal__sess_slot *s, const tidal_hlc *stamp);

/* <0, 0, >0 ordering two signals of one seqno for conflict resolution:
 * (item, ts, weight bits, origin, type name).  Cannot fail. */
int tidal__sess_signal_compare(const tidal_sigtypes *types, const tidal_session_signal *a,
                               const tidal_session_signal *b);

/* Reads an entry's fixed part (session_codec.c's rules 1-3) into s, which
 * gets no signal vector.  TIDAL_ETRUNCATED, TIDAL_EVERSION, TIDAL_ECORRUPT. */
int tidal__sess_read_header(const uint8_t *buf, size_t len, tidal__sess_slot *s);

/* True if a signal's fields are acceptable (seqno >= 1, finite weight, origin
 * in range, type known).  Cannot fail. */
bool tidal__sess_signal_valid(const tidal_sigtypes *types, const tidal_session_signal *sig);

/* Writes the entry of s (format in session_codec.c) with only its signals
 * sig[i0, i1) and the names they use: the whole entry for [0, nsig), a part
 * otherwise (session_parts.c).  Cannot fail (w counts what did not fit). */
void tidal__sess_entry_write(const tidal_sessions *t, const tidal__sess_slot *s, size_t i0,
                             size_t i1, tidal__wr *w);
/* Decodes a whole entry into *s (a free-standing slot owning its signal
 * vector, which the caller frees); checked by every rule of the format
 * (session_codec.c).  On error *s owns nothing. */
int tidal__sess_entry_read(tidal_sigtypes *types, const uint8_t *buf, size_t len,
                           tidal__sess_slot *s);
/* True if a signal of s in [i0, i1) has a stamp (an entry of them is then
 * flagged stamped).  Cannot fail. */
bool tidal__sess_range_stamped(const tidal__sess_slot *s, size_t i0, size_t i1);

/* ---- The user index (session_users.c) ----
 * A slot is added in two steps so that a start or a merge that fails
 * changes nothing: reserve (may fail) before the slot is made, then add
 * (cannot fail) once it is, or unreserve if making it failed. */

/* Makes room in user's entry for one more id, creating the entry.
 * TIDAL_ENOMEM (nothing changed) or TIDAL_ELIMIT (2^32 - 1 sessions). */
int tidal__sess_users_reserve(tidal_sessions *t, uint64_t user);

/* Undoes a reserve whose slot was not made: drops the entry if empty.
 * Cannot fail. */
void tidal__sess_users_unreserve(tidal_sessions *t, uint64_t user);

/* Adds id to user's entry, which a reserve made room in.  Cannot fail. */
void tidal__sess_users_add(tidal_sessions *t, uint64_t user, const tidal_session_id *id);

/* Takes id out of user's entry (a slot freed or given another user);
 * drops the entry when it empties.  Cannot fail. */
void tidal__sess_users_drop(tidal_sessions *t, uint64_t user, const tidal_session_id *id);

/* Frees the index.  Cannot fail. */
void tidal__sess_users_fini(tidal_sessions *t);

/* Bytes the index has allocated.  Cannot fail. */
size_t tidal__sess_users_memory_bytes(const tidal_sessions *t);

#endif /* TIDAL_STORE_SESSION_INTERNAL_H */
