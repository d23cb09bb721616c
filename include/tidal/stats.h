/*
 * The runtime's counters (public API): why an envelope was not delivered
 * (dead letters), why received bytes were rejected, what the fault layer
 * did, and the snapshots of a runtime's and of one actor's counts.
 * tidal/runtime.h includes it.
 */
#ifndef TIDAL_STATS_H
#define TIDAL_STATS_H

#include "tidal/export.h"

#include <stdint.h>

#include "tidal/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, description): why an envelope was not delivered. */
#define TIDAL_DEAD_MAP(X)                                                                 \
    X(NO_ACTOR, "no actor of that name at that socket")                                   \
    X(NO_VIRTUAL, "keyed message for an actor without a virtual behaviour")               \
    X(MAILBOX_FULL, "virtual actor's mailbox full on arrival")                            \
    X(STOPPED, "actor stopped with the message queued")                                   \
    X(LINK_FAILED, "nng send failed")                                                     \
    X(LATE_REPLY, "reply after its ask timed out")                                        \
    X(HLC_SKEW, "sender clock too far ahead")                                             \
    X(NO_INIT, "virtual actor's init failed")                                             \
    X(VIRTUAL_FULL, "new virtual actor past its owner's cap, every active one busy")     \
    X(PEER_GONE, "held by a link whose peer stayed unreachable past link_hold_ms")

/* X(name, stable id, description): why received bytes were rejected. */
#define TIDAL_REJECT_MAP(X)                                                               \
    X(FRAME_TOOBIG, "TIDAL-FRAME-TOOBIG", "nng message over TIDAL_FRAME_BYTES_MAX")       \
    X(FRAME_HEADER, "TIDAL-FRAME-HEADER", "missing or bad frame header")                  \
    X(FRAME_COUNT, "TIDAL-FRAME-COUNT", "more envelopes than TIDAL_FRAME_ENVELOPES_MAX")  \
    X(TRUNCATED, "TIDAL-DECODE-TRUNCATED", "envelope truncated")                          \
    X(VERSION, "TIDAL-DECODE-VERSION", "unsupported envelope version")                    \
    X(TYPE, "TIDAL-DECODE-TYPE", "unknown message type")                                  \
    X(FIELD, "TIDAL-DECODE-FIELD", "field of the wrong type or value")                    \
    X(TOOBIG, "TIDAL-DECODE-TOOBIG", "field over its bound")                              \
    X(LENGTH, "TIDAL-DECODE-LENGTH", "container longer than the bytes left")              \
    X(TRAILING, "TIDAL-DECODE-TRAILING", "bytes after the last envelope")                 \
    X(OTHER, "TIDAL-DECODE-OTHER", "other decoding error")                                \
    X(PEER_UID, "TIDAL-PEER-UID", "ipc connection from a process of another uid")

/* X(name, description): what the fault layer did to one envelope. */
#define TIDAL_FAULT_MAP(X)                                                                \
    X(DROP, "dropped")                                                                    \
    X(DUPLICATE, "sent twice")                                                            \
    X(DELAY, "delayed (param: ms)")                                                       \
    X(REORDER, "held back (param: envelopes)")                                            \
    X(PARTITION, "dropped by a partition")                                                \
    X(REPLAY, "re-sent by a replay request")

enum tidal_dead_reason {
#define TIDAL__DEAD_ENUM(name, desc) TIDAL_DEAD_##name,
    TIDAL_DEAD_MAP(TIDAL__DEAD_ENUM)
#undef TIDAL__DEAD_ENUM
        TIDAL_DEAD_COUNT
};

enum tidal_reject_reason {
#define TIDAL__REJECT_ENUM(name, id, desc) TIDAL_REJECT_##name,
    TIDAL_REJECT_MAP(TIDAL__REJECT_ENUM)
#undef TIDAL__REJECT_ENUM
        TIDAL_REJECT_COUNT
};

enum tidal_fault_kind {
#define TIDAL__FAULT_ENUM(name, desc) TIDAL_FAULT_##name,
    TIDAL_FAULT_MAP(TIDAL__FAULT_ENUM)
#undef TIDAL__FAULT_ENUM
        TIDAL_FAULT_COUNT
};

typedef struct tidal_stats {
    uint64_t sent;                           /* envelopes handed to the fault layer */
    uint64_t frames_sent;                    /* nng messages sent */
    uint64_t frames_sent_at_once;            /* of those, taken by nng on the sending
                                              * thread, with no callback (runtime/link.c) */
    uint64_t received;                       /* envelopes accepted from sockets */
    uint64_t frames_received;                /* nng messages received */
    uint64_t handled;                        /* handler calls */
    uint64_t handled_inline;                 /* of those, run on an rx callback (0 with no_inline) */
    uint64_t duplicates_seen;                /* envelopes whose (sender, id) was seen before */
    uint64_t restarts;                       /* supervision restarts */
    uint64_t activations;                    /* virtual actors activated */
    uint64_t passivations;                   /* virtual actors passivated */
    uint64_t passivations_cap;               /* of those, to make room under an owner's
                                              * virtual_active_max */
    uint32_t workers;                        /* worker threads of the pool */
    uint64_t links_parked;                   /* links closed for a peer long gone, with
                                              * nothing to send (runtime/links.c) */
    uint64_t links_reopened;                 /* of those, opened again by a send */
    uint64_t dead[TIDAL_DEAD_COUNT];         /* dead letters by reason */
    uint64_t rejected[TIDAL_REJECT_COUNT];   /* rejected input by reason */
    uint64_t faults[TIDAL_FAULT_COUNT];      /* injected faults by kind */
} tidal_stats;

/* A snapshot of the runtime's counters.  Cannot fail. */
TIDAL_API void tidal_runtime_stats(tidal_runtime *rt, tidal_stats *out);

typedef struct tidal_actor_stats {
    uint64_t received;        /* envelopes delivered to its mailboxes */
    uint64_t handled;         /* handler calls returned; counted before their sends go out */
    uint64_t duplicates_seen; /* repeated (sender, id) pairs seen */
    uint64_t restarts;        /* supervision restarts */
    uint32_t queued;          /* envelopes waiting now, virtual actors' included */
    uint32_t virtual_active;  /* active virtual actors */
} tidal_actor_stats;

/* One actor's counters.  TIDAL_ECLOSED for a stale id. */
TIDAL_API int tidal_actor_stats_get(tidal_runtime *rt, tidal_actor actor,
                                    tidal_actor_stats *out) TIDAL_WARN_UNUSED;

/* Names for counters, for reports.  Cannot fail. */
TIDAL_API const char *tidal_dead_name(int reason);
TIDAL_API const char *tidal_reject_id(int reason);
TIDAL_API const char *tidal_fault_name(int kind);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_STATS_H */
