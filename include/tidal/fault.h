/*
 * Fault injection at the mailbox layer (public API).
 *
 * Rules apply to directed links, named (sender, receiver) by actor names: a
 * socket-backed actor is "region-0", a virtual actor is its owner's name, '/',
 * and its key in lowercase hex ("sessions/00ff..."); messages sent from outside
 * any handler come from the runtime's name.  A pattern is a name, or a prefix
 * ending in '*' (such as "sessions/" followed by '*'), or "*" alone.  When
 * several rules match a link,
 * the most recently set wins.
 *
 * Every decision is made per envelope on the sending runtime, before
 * coalescing, and is a pure function of (runtime seed, link id, the link's
 * sequence number, fault kind): a counter-based PRNG, not one shared
 * generator.  So one seed gives the same per-link decisions however threads
 * interleave, and traces are compared per link.  Every injected fault is
 * recorded in the trace.
 *
 * Sequence numbers, replay memory and reorder buffers exist only for links
 * that a rule matched when the envelope was sent.
 */
#ifndef TIDAL_FAULT_H
#define TIDAL_FAULT_H

#include "tidal/export.h"

#include <stddef.h>
#include <stdint.h>

#include "tidal/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_fault_rule {
    double drop;            /* probability in [0,1] of dropping; 0 = never */
    double duplicate;       /* probability of sending twice; 0 = never */
    double delay;           /* probability of delaying; 0 = never (see delay_*_ms) */
    uint32_t delay_min_ms;  /* a delayed envelope waits in [min, max] ms */
    uint32_t delay_max_ms;  /* <= TIDAL_DELAY_MS_MAX */
    uint32_t reorder_window;/* 0 or 1 = keep order; W holds an envelope back by up to
                               W-1 later ones (<= TIDAL_REORDER_WINDOW_MAX) */
    int partition;          /* non-zero: drop everything on this link */
    uint32_t replay_keep;   /* remember this many envelopes for tidal_fault_replay;
                               0 = TIDAL_REPLAY_KEEP_MAX */
} tidal_fault_rule;

/* Sets (or replaces) the rule for links from -> to.  TIDAL_EINVAL for a
 * probability outside [0,1], a bad window or delay, or a bad pattern;
 * TIDAL_ELIMIT past TIDAL_FAULT_RULES_MAX rules. */
TIDAL_API int tidal_fault_set(tidal_runtime *rt, const char *from, const char *to,
                              const tidal_fault_rule *rule) TIDAL_WARN_UNUSED;

/* Removes the rule for exactly (from, to).  TIDAL_ENOENT if there is none.
 * Envelopes held back by it are released in order. */
TIDAL_API int tidal_fault_clear(tidal_runtime *rt, const char *from,
                                const char *to) TIDAL_WARN_UNUSED;

/* Removes every rule, releasing held envelopes.  Cannot fail. */
TIDAL_API void tidal_fault_clear_all(tidal_runtime *rt);

/* Cuts a -> b (and b -> a when both_ways) on this runtime's side.  A rule with
 * only partition set; tidal_fault_clear heals it. */
TIDAL_API int tidal_fault_partition(tidal_runtime *rt, const char *a, const char *b,
                                    int both_ways) TIDAL_WARN_UNUSED;

/* Re-sends the last n envelopes sent on the link from -> to (exact names, not
 * patterns), oldest first; they pass through the receiver's mailbox like live
 * ones.  The link must have had a matching rule while they were sent.  *sent
 * (may be NULL) gets how many were re-sent (fewer if fewer were kept).
 * TIDAL_ENOENT if the link has no memory. */
TIDAL_API int tidal_fault_replay(tidal_runtime *rt, const char *from, const char *to, uint32_t n,
                                 uint32_t *sent) TIDAL_WARN_UNUSED;

/* The link id of (from, to): a stable 64-bit hash of the two names.  Cannot fail. */
TIDAL_API uint64_t tidal_link_id(const char *from, const char *to);

typedef struct tidal_trace_entry {
    uint64_t link_id;  /* tidal_link_id(from, to) */
    uint64_t link_seq; /* the link's sequence number of the envelope (from 0) */
    uint64_t msg_id;   /* the envelope's message id */
    uint32_t param;    /* DELAY: ms; REORDER: envelopes held back; REPLAY: index */
    uint8_t kind;      /* enum tidal_fault_kind */
} tidal_trace_entry;

/* Copies up to max trace entries starting at index start (0 = the oldest still
 * kept) into out; returns how many were copied.  Entries are in the order they
 * were recorded (per link, in link_seq order).  Cannot fail. */
TIDAL_API size_t tidal_trace_read(tidal_runtime *rt, size_t start, tidal_trace_entry *out,
                                  size_t max);

/* Entries recorded so far (including any that rolled off). Cannot fail. */
TIDAL_API uint64_t tidal_trace_total(tidal_runtime *rt);

/* Empties the trace.  Cannot fail. */
TIDAL_API void tidal_trace_clear(tidal_runtime *rt);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_FAULT_H */
