/*
 * The layout of the signal state, shared by signals.c (apply, count, expire)
 * and signals_codec.c (encode, hash, merge).
 *
 * One slot per (item, type) in a hash map, 24 bytes, pointing at one array
 * of PN-counters: the minute buckets first, then the hour buckets, each run
 * sorted by bucket number, which lives in the counter's tag.  No bucket is
 * ever empty, and a slot always has at least one bucket.
 */
#ifndef TIDAL_STORE_SIGNALS_INTERNAL_H
#define TIDAL_STORE_SIGNALS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/bytes.h"
#include "store/hmap.h"
#include "store/pncounter.h"
#include "store/signals.h"

typedef struct tidal__sig_key {
    uint64_t item;
    uint16_t type;
} tidal__sig_key;

/* Bytes of the key that are compared: the struct's tail padding is not. */
#define TIDAL__SIG_KEY_BYTES (offsetof(tidal__sig_key, type) + sizeof(uint16_t))

typedef struct tidal__sig_slot {
    uint64_t item;      /* key */
    uint16_t type;      /* key */
    uint16_t nmin;      /* minute buckets, b[0 .. nmin) */
    uint16_t nhour;     /* hour buckets, b[nmin .. nmin + nhour) */
    uint16_t cap;       /* counters allocated at b */
    tidal_pncounter *b; /* the buckets; tag = bucket number */
} tidal__sig_slot;

struct tidal_signals {
    tidal_hmap map;        /* tidal__sig_slot by (item, type) */
    tidal_sigtypes *types; /* borrowed */
    /* 1 + the newest minute ([0]) and hour ([1]) bucket number ever stored
     * here, 0 before the first: what the keep rule (signals.h) measures
     * from.  Only rises; it is always the number of a bucket still held
     * (the newest is never dropped), so it is a function of the state. */
    uint64_t top[2];
};

/* Index of the first bucket in b[lo, hi) whose number is >= n.  Cannot fail. */
size_t tidal__sig_lower_bound(const tidal_pncounter *b, size_t lo, size_t hi, uint32_t n);

/* The lowest minute (kind 0) or hour (kind 1) bucket number the keep rule
 * keeps now (signals.h): older buckets are no part of the state even before
 * tidal_signals_expire frees them.  Cannot fail. */
uint32_t tidal__sig_floor(const tidal_signals *s, int kind);

/* The count of slot in window (a valid one) at now_ns: tidal_signals_count
 * without the lookup.  Cannot fail. */
int64_t tidal__sig_slot_count(const tidal_signals *s, const tidal__sig_slot *slot,
                              tidal_sigwindow window, uint64_t now_ns);

/* Raises the newest bucket number of kind to n.  Cannot fail. */
void tidal__sig_saw(tidal_signals *s, int kind, uint32_t n);

/* Runs of a slot's buckets: the minute buckets b[m0, m0 + nmin) and the
 * hour buckets b[h0, h0 + nhour). */
typedef struct tidal__sig_runs {
    size_t m0, h0;
    size_t nmin, nhour; /* how many of each */
} tidal__sig_runs;

/* The runs of the buckets the keep rule keeps.  Cannot fail. */
tidal__sig_runs tidal__sig_live(const tidal_signals *s, const tidal__sig_slot *slot);

/* Writes the entry of a slot (format in signals.h) with the buckets of the
 * runs lr (lr->nmin + lr->nhour > 0): the kept ones for the whole entry, a
 * part of them for a part (signals_parts.c).  Cannot fail (w counts what
 * did not fit). */
void tidal__sig_entry_write(const tidal_signals *s, const tidal__sig_slot *slot,
                            const tidal__sig_runs *lr, tidal__wr *w);

#endif /* TIDAL_STORE_SIGNALS_INTERNAL_H */
