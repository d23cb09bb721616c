/*
 * Rejections at the actor layer: a message that reached a region's actor
 * whole (the runtime decoded its envelope) but whose payload that actor
 * refuses - undecodable, of a format rule broken, of a region or sender it
 * cannot claim (docs/design.md, "Trust" and invariant 6).
 *
 * Every refusal goes through tidal__region_reject: one counter per reason
 * (TIDAL_REGION_REJECT_MAP, include/tidal/region.h), read by
 * tidal_region_stats_get, and a log line with the stable id, the sender and
 * the decoder's detail (field, offset, expected, actual) to the operator log
 * (TIDAL_EVENT_PEER_REJECTED, tidal/log.h) - once per power of two of the
 * reason's count, so that a flood of garbage cannot flood the log
 * (runtime/runtime.c does the same for the runtime's own rejections).  The
 * caller rejects the message whole: nothing else is changed for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "actors/internal.h"
#include "base/assert.h"
#include "base/log.h"

static const char *const reject_ids[] = {
#define TIDAL__REGION_REJECT_ID(name, id, desc) id,
    TIDAL_REGION_REJECT_MAP(TIDAL__REGION_REJECT_ID)
#undef TIDAL__REGION_REJECT_ID
};
_Static_assert(sizeof(reject_ids) / sizeof(reject_ids[0]) == TIDAL_REGION_REJECT_COUNT,
               "one id per reason");

const char *
tidal_region_reject_id(int reason)
{
    return (reason >= 0 && reason < TIDAL_REGION_REJECT_COUNT) ? reject_ids[reason] : "?";
}

/* " (code: field at offset N[, expected E, actual A])" for a decoder's
 * error, "" for none; expected and actual only when the decoder gave them. */
static void
describe(const tidal_decode_err *err, char *out, size_t cap)
{
    out[0] = '\0';
    if (err == NULL || err->code == 0) {
        return;
    }
    char bounds[64] = "";
    if (err->expected != 0 || err->actual != 0) {
        snprintf(bounds, sizeof(bounds), ", expected %" PRIu64 ", actual %" PRIu64,
                 err->expected, err->actual);
    }
    snprintf(out, cap, " (%s: %s at offset %zu%s)", tidal_errname(err->code),
             err->what != NULL ? err->what : "?", err->offset, bounds);
}

void
tidal__region_reject(tidal_region *r, int reason, const tidal_msg *msg, const tidal_decode_err *err)
{
    TIDAL_ASSERT(reason >= 0);
    TIDAL_ASSERT(reason < TIDAL_REGION_REJECT_COUNT);
    uint64_t n = atomic_fetch_add(&r->st_rejected[reason], 1) + 1;
    char detail[256] = "";
    if ((n & (n - 1)) == 0) {
        describe(err, detail, sizeof(detail)); /* only for a line that is written */
    }
    int from_len = msg != NULL ? (int)msg->from_name_len : 1;
    const char *from = msg != NULL ? msg->from_name : "?";
    tidal__log(TIDAL_EVENT_PEER_REJECTED, n,
               "region %u: %s: rejected a message from %.*s%s, %" PRIu64 " so far", r->id,
               reject_ids[reason], from_len, from, detail, n);
}
