/*
 * tidal_idem: idempotency keys.  A client tags a write with a random 128-bit
 * key; the region remembers (key -> the write's result) so that a retry of
 * the same write returns the first result instead of applying it twice.
 *
 * What a client may rely on: a retry carrying the same key, arriving at the
 * same region within the retention (10 minutes by default) of the first
 * attempt, and while fewer than keys_max (100,000 by default) other keys
 * have been remembered since, gets the first attempt's result and is not
 * applied again.  Outside those bounds the key may have been forgotten and
 * the retry is applied as a new write, so clients retry promptly and stop
 * after the retention.  (Replicated writes are deduplicated separately, by
 * LSN and session seqno; keys guard the client-to-region hop.)
 *
 * Retention: a key put at time t (now_ns given by the caller; no clock is
 * read here) is remembered while now - t < retention, and forgotten by the
 * first check or put at a now with now - t >= retention.  Memory is bounded
 * by keys_max: a put beyond it forgets the oldest key first.  Keys are kept
 * in put order, oldest first; a put whose now is earlier than the newest
 * key's time is stamped with that time instead (a clock stepping back never
 * reorders the queue), so it is remembered slightly longer, never shorter.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_IDEM_H
#define TIDAL_STORE_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults and bounds of the options below. */
#include "tidal/limits.h"

#define TIDAL_IDEM_KEYS_DEFAULT 100000u
_Static_assert(TIDAL_IDEM_KEYS_DEFAULT <= TIDAL_IDEM_KEYS_MAX, "default in range");
#define TIDAL_IDEM_RETENTION_NS_DEFAULT (10ull * 60 * 1000 * 1000 * 1000)

typedef struct tidal_idem_key {
    uint64_t hi;
    uint64_t lo;
} tidal_idem_key;

/* What a write produced, as remembered. */
typedef struct tidal_idem_result {
    int code;       /* 0 or the TIDAL_E* code the write returned */
    uint64_t value; /* e.g. the LSN assigned */
} tidal_idem_result;

typedef struct tidal_idem_opts {
    size_t keys_max;       /* keys remembered at most; 0 means TIDAL_IDEM_KEYS_DEFAULT;
                              at most TIDAL_IDEM_KEYS_MAX */
    uint64_t retention_ns; /* how long a key is remembered; 0 means 10 minutes */
} tidal_idem_opts;

typedef struct tidal_idem tidal_idem;

/* An empty store in *out with opts (NULL: all defaults).  Memory grows with
 * use up to the bound.  TIDAL_EINVAL for keys_max above TIDAL_IDEM_KEYS_MAX,
 * TIDAL_ENOMEM. */
int tidal_idem_open(const tidal_idem_opts *opts, tidal_idem **out)
    __attribute__((warn_unused_result));

/* Frees the store.  Accepts NULL. */
void tidal_idem_close(tidal_idem *m);

/* Forgets expired keys, then: true and *out = the key's result if it is
 * remembered, false (out untouched) if not.  Cannot fail. */
bool tidal_idem_check(tidal_idem *m, const tidal_idem_key *key, uint64_t now_ns,
                      tidal_idem_result *out);

/* Forgets expired keys, then remembers key -> *result at now_ns, forgetting
 * the oldest key if keys_max are remembered.  TIDAL_EEXIST if the key is
 * remembered already (its first result stays).  TIDAL_ENOMEM: the key is not
 * remembered and no live key was forgotten. */
int tidal_idem_put(tidal_idem *m, const tidal_idem_key *key, const tidal_idem_result *result,
                   uint64_t now_ns) __attribute__((warn_unused_result));

/* Forgets the keys expired at now_ns.  Cannot fail. */
void tidal_idem_expire(tidal_idem *m, uint64_t now_ns);

/* Keys remembered.  Cannot fail. */
size_t tidal_idem_count(const tidal_idem *m);

/* Bytes the store has allocated.  Cannot fail. */
size_t tidal_idem_memory_bytes(const tidal_idem *m);

#endif /* TIDAL_STORE_IDEM_H */
