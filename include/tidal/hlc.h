/*
 * Hybrid logical clock timestamps (public type).
 *
 * A tidal_hlc is (wall nanoseconds, logical counter, node id).  Its total
 * order compares wall, then logical, then node id.  The clock itself (now,
 * update on receive, skew refusal) lives in store/hlc.h.
 */
#ifndef TIDAL_HLC_H
#define TIDAL_HLC_H

#include "tidal/export.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_hlc {
    uint64_t wall_ns; /* wall-clock nanoseconds since the Unix epoch */
    uint32_t logical; /* counter within one wall_ns */
    uint16_t node_id; /* the node (region) that issued the stamp */
} tidal_hlc;

/* <0, 0, >0 as a is before, equal to, after b in the total order
 * (wall, logical, node id).  Cannot fail. */
TIDAL_API int tidal_hlc_compare(const tidal_hlc *a, const tidal_hlc *b);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_HLC_H */
