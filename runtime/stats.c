/*
 * A runtime's counters and rejections: dead letters and rejected input by
 * reason (each rejection also reported to the operator log, rate-limited),
 * the stats snapshot, the stable names of reasons, and the mapping of nng's
 * error codes to tidal's at the boundary.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "runtime/internal.h"

void
tidal__dead(tidal_runtime *rt, int reason, uint64_t n)
{
    TIDAL_ASSERT(reason >= 0);
    TIDAL_ASSERT(reason < TIDAL_DEAD_COUNT);
    atomic_fetch_add(&rt->st_dead[reason], n);
}

static const char *const reject_ids[] = {
#define TIDAL__REJECT_ID(name, id, desc) id,
    TIDAL_REJECT_MAP(TIDAL__REJECT_ID)
#undef TIDAL__REJECT_ID
};

/* Counts a rejection and logs it once per power of two of its count, so a
 * flood of garbage cannot flood stderr. */
void
tidal__reject(tidal_runtime *rt, int reason, const tidal_decode_err *err, const char *url)
{
    TIDAL_ASSERT(reason >= 0);
    TIDAL_ASSERT(reason < TIDAL_REJECT_COUNT);
    uint64_t n = atomic_fetch_add(&rt->st_rejected[reason], 1) + 1;
    if (err != NULL && err->code != 0) {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, n,
                   "%s: rejected input on %s (%s at offset %zu, expected %" PRIu64
                   ", actual %" PRIu64 "), %" PRIu64 " so far",
                   reject_ids[reason], url, err->what ? err->what : "?", err->offset,
                   err->expected, err->actual, n);
    } else {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, n, "%s: rejected input on %s, %" PRIu64 " so far",
                   reject_ids[reason], url, n);
    }
}

int
tidal__nng_err(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case NNG_ENOMEM:
        return TIDAL_ENOMEM;
    case NNG_ECLOSED:
    case NNG_ECANCELED:
        return TIDAL_ECLOSED;
    case NNG_ETIMEDOUT:
        return TIDAL_ETIMEDOUT;
    case NNG_EADDRINVAL:
    case NNG_EADDRINUSE:
    case NNG_ENOTSUP:
        return TIDAL_EADDR;
    case NNG_EINVAL:
        return TIDAL_EINVAL;
    default:
        return TIDAL_ETRANSPORT;
    }
}

void
tidal_runtime_stats(tidal_runtime *rt, tidal_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->sent = atomic_load(&rt->st_sent);
    out->frames_sent = atomic_load(&rt->st_frames_sent);
    out->frames_sent_at_once = atomic_load(&rt->st_frames_at_once);
    out->received = atomic_load(&rt->st_received);
    out->frames_received = atomic_load(&rt->st_frames_received);
    out->handled = atomic_load(&rt->st_handled);
    out->handled_inline = atomic_load(&rt->st_handled_inline);
    out->duplicates_seen = atomic_load(&rt->st_dups);
    out->restarts = atomic_load(&rt->st_restarts);
    out->activations = atomic_load(&rt->st_activations);
    out->passivations = atomic_load(&rt->st_passivations);
    out->passivations_cap = atomic_load(&rt->st_passivations_cap);
    out->workers = rt->nworkers;
    out->links_parked = atomic_load(&rt->st_links_parked);
    out->links_reopened = atomic_load(&rt->st_links_unparked);
    for (int i = 0; i < TIDAL_DEAD_COUNT; i++) {
        out->dead[i] = atomic_load(&rt->st_dead[i]);
    }
    for (int i = 0; i < TIDAL_REJECT_COUNT; i++) {
        out->rejected[i] = atomic_load(&rt->st_rejected[i]);
    }
    for (int i = 0; i < TIDAL_FAULT_COUNT; i++) {
        out->faults[i] = atomic_load(&rt->st_faults[i]);
    }
}

const char *
tidal_dead_name(int reason)
{
    static const char *const names[] = {
#define TIDAL__DEAD_NAME(name, desc) #name,
        TIDAL_DEAD_MAP(TIDAL__DEAD_NAME)
#undef TIDAL__DEAD_NAME
    };
    return (reason >= 0 && reason < TIDAL_DEAD_COUNT) ? names[reason] : "?";
}

const char *
tidal_reject_id(int reason)
{
    return (reason >= 0 && reason < TIDAL_REJECT_COUNT) ? reject_ids[reason] : "?";
}

const char *
tidal_fault_name(int kind)
{
    static const char *const names[] = {
#define TIDAL__FAULT_NAME(name, desc) #name,
        TIDAL_FAULT_MAP(TIDAL__FAULT_NAME)
#undef TIDAL__FAULT_NAME
    };
    return (kind >= 0 && kind < TIDAL_FAULT_COUNT) ? names[kind] : "?";
}
