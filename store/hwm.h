/*
 * tidal_hwm: per session, the high-water mark of applied seqnos (the seed's
 * SessionSeqNoTracker).
 *
 * should_apply(id, seqno) accepts a seqno above the session's HWM and raises
 * the HWM to it; it refuses a seqno at or below the HWM (a duplicate or a
 * replay) and changes nothing.  The HWM of a session never seen is 0, so
 * seqno 0 is never applied and seqnos start at 1.  The tracker does not look
 * for gaps: the apply path in front of it delivers each session's seqnos in
 * order and holds a later one until the gap fills (docs/design.md), so accepting
 * 7 after 5 would be the caller's bug, not the tracker's.
 *
 * The table is durable state: tidal_hwm_encode/decode write and read all of
 * it, checksummed, so that after a restart a replayed write is still
 * refused.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_HWM_H
#define TIDAL_STORE_HWM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/session.h"

/* Current version of the table encoding. */
#define TIDAL_HWM_VERSION 1

typedef struct tidal_hwm tidal_hwm;

/* An empty tracker in *out.  TIDAL_ENOMEM. */
int tidal_hwm_open(tidal_hwm **out) __attribute__((warn_unused_result));

/* Frees the tracker.  Accepts NULL. */
void tidal_hwm_close(tidal_hwm *h);

/* *apply = true and the HWM becomes seqno iff seqno > the session's HWM;
 * otherwise *apply = false and nothing changes.  TIDAL_ENOMEM when a new
 * session cannot be added (nothing changed, *apply untouched: the caller must
 * not apply the write). */
int tidal_hwm_should_apply(tidal_hwm *h, const tidal_session_id *id, uint64_t seqno, bool *apply)
    __attribute__((warn_unused_result));

/* The session's HWM, 0 if unknown.  Cannot fail. */
uint64_t tidal_hwm_get(const tidal_hwm *h, const tidal_session_id *id);

/* Raises the session's HWM to seqno if it is lower (restoring state or
 * merging another replica's HWM).  TIDAL_ENOMEM (nothing changed). */
int tidal_hwm_raise(tidal_hwm *h, const tidal_session_id *id, uint64_t seqno)
    __attribute__((warn_unused_result));

/* Forgets a session (when the session itself is removed); false if unknown.
 * Cannot fail. */
bool tidal_hwm_remove(tidal_hwm *h, const tidal_session_id *id);

/* Sessions tracked.  Cannot fail. */
size_t tidal_hwm_count(const tidal_hwm *h);

/* Bytes the tracker has allocated.  Cannot fail. */
size_t tidal_hwm_memory_bytes(const tidal_hwm *h);

/* Bytes tidal_hwm_encode needs now.  Cannot fail. */
size_t tidal_hwm_encoded_bytes(const tidal_hwm *h);

/* Encodes the whole table; *len gets the size written, or needed on
 * TIDAL_ETOOBIG.  Format, integers little-endian:
 *   offset     size  field
 *   0          1     version (TIDAL_HWM_VERSION)
 *   1          8     N, the number of sessions
 *   9 + 24*i   8     session id hi
 *   17 + 24*i  8     session id lo
 *   25 + 24*i  8     HWM
 *   9 + 24*N   4     CRC32C (store/crc32c.h) of bytes 0 .. 9 + 24*N
 * Sessions are sorted by id, so equal tables give equal bytes.  Valid if and
 * only if: the input is at least 13 bytes (else TIDAL_ETRUNCATED); the
 * version is known (TIDAL_EVERSION); the length is exactly 13 + 24*N
 * (TIDAL_ETRUNCATED if shorter, TIDAL_ETRAILING if longer); the CRC matches
 * (TIDAL_ECRC); ids strictly increase, none is {0, 0} and no HWM is 0
 * (TIDAL_ECORRUPT). */
int tidal_hwm_encode(const tidal_hwm *h, uint8_t *buf, size_t cap, size_t *len)
    __attribute__((warn_unused_result));

/* Decodes a table and raises h's HWMs to it (into an empty tracker: restores
 * it).  Errors as above, and TIDAL_ENOMEM; on error h is unchanged. */
int tidal_hwm_decode(tidal_hwm *h, const uint8_t *buf, size_t len)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_HWM_H */
