/*
 * Identifiers and small value types shared by the public API and store/.
 */
#ifndef TIDAL_TYPES_H
#define TIDAL_TYPES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint16_t tidal_region_id; /* a region of a cluster: 0..TIDAL_REGIONS_MAX-1 */
typedef uint16_t tidal_shard_id;  /* a shard (the router: tidal_shard_for, internal) */
typedef uint64_t tidal_entity_id; /* a user or an item */
typedef uint64_t tidal_seqno;     /* a signal's place in its session, from 1 */

/* Opaque handles (tidal/runtime.h, tidal/region.h). */
typedef struct tidal_runtime tidal_runtime;
typedef struct tidal_cluster tidal_cluster;
typedef struct tidal_region tidal_region;

/* A socket-backed actor, by id.  A stale id gives TIDAL_ECLOSED, never a
 * use-after-free.  id 0 is never a valid actor. */
typedef struct tidal_actor {
    uint32_t id;
} tidal_actor;

/* A 128-bit session id. */
typedef struct tidal_session_id {
    uint64_t hi;
    uint64_t lo;
} tidal_session_id;

/* Windows of the windowed signal counts.  0 is not a window. */
typedef enum tidal_window {
    TIDAL_WINDOW_1H = 1,  /* the last 60 minute buckets, the current one included */
    TIDAL_WINDOW_24H = 2, /* the last 24 hour buckets, the current one included */
    TIDAL_WINDOW_7D = 3,  /* the last 168 hour buckets, the current one included */
} tidal_window;

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_TYPES_H */
