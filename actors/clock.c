/*
 * The clock fence: each region estimates how far its clock is ahead of each
 * peer's, and refuses the writes it would stamp itself while the stamps it
 * gives are more than its budget (opts.max_skew_ns) ahead of a reachable
 * peer's clock (docs/design.md, "Clocks").
 *
 * Samples.  Every TIDAL_CLOCK_BEAT_MS the shipper sends each known peer's
 * shipper a CLOCK message with its wall clock as it sends (w).  The peer
 * reads its own wall clock as it takes the message (t): t - w is its lead
 * over the sender plus the message's delay - an upper bound on the lead,
 * never below it, since a message arrives after it was sent.  That is the
 * bound a fence needs: a lead over the budget is always seen, and a delay
 * can only make a region fence too soon, by the delay, never too late.
 * (A round trip would bound it from below too, but not when it matters:
 * a region whose stamps are more than the budget ahead of a peer's clock
 * is a region whose messages that peer's runtime refuses, so nothing it
 * sends would come back.)  Every reading is of the region's own wall
 * clock (tidal_wall_ns: the injected one, opts.wall_clock), never the
 * system's; how old a sample is, is measured by the monotonic clock,
 * since it is the wall clock that is in doubt.
 *
 * The verdict.  At each sample, and before each write the region stamps
 * itself, the stamp it would give now (its HLC, which the peers' and
 * clients' stamps may have carried past its wall clock) is compared with
 * each reachable peer's clock, estimated as our wall clock minus the lead:
 * more than the budget ahead of any fences the region, within it of every
 * one unfences it.  A peer is reachable while its last CLOCK message is at
 * most TIDAL_CLOCK_FRESH_MS old; with none reachable, the verdict stays as
 * it was.  A fenced region still reads, applies its peers' batches, ships
 * and reconciles: only the writes it would stamp are refused, before
 * anything is logged (write.c), with TIDAL_EFENCED.
 *
 * Threads: the estimates are written by the shipper actor alone and read by
 * writers without a lock (a lead and its time may be one sample apart:
 * either is a sample the region took).  The verdict is written by whoever
 * evaluates last, each from the estimates as it saw them.
 */
#include <inttypes.h>

#include "actors/internal.h"
#include "base/log.h"
#include "base/time.h"

/* a - b as a signed difference, saturated. */
static int64_t
diff_sat(uint64_t a, uint64_t b)
{
    if (a >= b) {
        return a - b > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(a - b);
    }
    return b - a > (uint64_t)INT64_MAX ? -INT64_MAX : -(int64_t)(b - a);
}

static int64_t
add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < -INT64_MAX - b) {
        return -INT64_MAX;
    }
    return a + b;
}

/* True while peer p's estimate counts: heard from within TIDAL_CLOCK_FRESH_MS. */
static bool
fresh(tidal_region *r, tidal_region_id p, uint64_t now_ms)
{
    uint64_t heard = atomic_load(&r->clock.heard_ms[p]);
    return heard != 0 && (now_ms < heard || now_ms - heard <= TIDAL_CLOCK_FRESH_MS);
}

static void
log_verdict(tidal_region *r, bool fenced, tidal_region_id who, int64_t lead)
{
    uint64_t n = atomic_fetch_add(&r->clock.turns, 1) + 1;
    tidal__log(TIDAL_EVENT_CLOCK_AHEAD, n,
               "region %u: TIDAL-REGION-CLOCK-AHEAD: %s: its stamps are %.3f ms ahead of region "
               "%u's clock, budget %.3f ms (%" PRIu64 " changes so far)",
               r->id, fenced ? "fenced, writes refused" : "back within its budget, writes taken",
               (double)lead / 1e6, who, (double)r->opts.max_skew_ns / 1e6, n);
}

/* Evaluates the verdict now and returns it (see the header comment).
 * Cannot fail. */
static bool
evaluate(tidal_region *r)
{
    uint64_t now_ms = tidal_elapsed_ms(r->rt);
    uint64_t wall = tidal_wall_ns(r->rt);
    /* the HLC is read after the wall clock, so it is at least that reading */
    uint64_t stamp = tidal_now(r->rt).wall_ns;
    int64_t excess = stamp > wall ? diff_sat(stamp, wall) : 0;
    bool any = false, ahead = false;
    int64_t worst = 0;
    tidal_region_id who = 0;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        if (p == r->id || !fresh(r, p, now_ms)) {
            continue;
        }
        int64_t lead = add_sat(excess, atomic_load(&r->clock.lead_ns[p]));
        if (!any || lead > worst) {
            worst = lead;
            who = p;
        }
        any = true;
        ahead = ahead || (lead > 0 && (uint64_t)lead > r->opts.max_skew_ns);
    }
    if (!any) {
        return atomic_load(&r->clock.fenced); /* no peer to compare with: as it was */
    }
    if (atomic_exchange(&r->clock.fenced, ahead) != ahead) {
        log_verdict(r, ahead, who, worst);
    }
    return ahead;
}

void
tidal__clock_tick(tidal_region *r, tidal_ctx *ctx)
{
    uint64_t now_ms = tidal_elapsed_ms(r->rt);
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        struct tidal__peer peer;
        if (p == r->id || now_ms - r->clock.sent_ms[p] < TIDAL_CLOCK_BEAT_MS ||
            !tidal__peer_get(r, p, &peer)) {
            continue;
        }
        tidal_msg_clock m = {.wall_ns = tidal_wall_ns(r->rt)};
        tidal_buf b;
        tidal_buf_init(&b);
        /* a send refused (a full link) is tried again on the next tick */
        if (tidal_msg_clock_encode(&m, &b) == 0 &&
            tidal__send_msg(r, ctx, NULL, &peer.shipper, TIDAL_MSG_CLOCK, &b) == 0) {
            r->clock.sent_ms[p] = now_ms;
        }
        tidal_buf_fini(&b);
    }
}

void
tidal__clock_on_msg(tidal_region *r, const tidal_msg *msg)
{
    uint64_t taken = tidal_wall_ns(r->rt); /* first: the delay is the estimate's error */
    tidal_msg_clock m;
    tidal_decode_err err = {0};
    if (tidal_msg_clock_decode(msg->payload, msg->len, &m, &err) != 0) {
        tidal__region_reject(r, TIDAL_REGION_REJECT_CLOCK_DECODE, msg, &err);
        return;
    }
    tidal_region_id p = tidal__via_peer(msg); /* admitted: a known peer's listener */
    atomic_store(&r->clock.lead_ns[p], diff_sat(taken, m.wall_ns));
    uint64_t now_ms = tidal_elapsed_ms(r->rt);
    atomic_store(&r->clock.heard_ms[p], now_ms != 0 ? now_ms : 1);
    (void)evaluate(r);
}

int
tidal__clock_fence(tidal_region *r)
{
    if (!evaluate(r)) {
        return 0;
    }
    uint64_t n = atomic_fetch_add(&r->clock.refused, 1) + 1;
    tidal__log(TIDAL_EVENT_CLOCK_AHEAD, n,
               "region %u: TIDAL-REGION-CLOCK-AHEAD: write refused: its clock is ahead of a "
               "peer's beyond its budget (%" PRIu64 " so far)",
               r->id, n);
    return TIDAL_EFENCED;
}

void
tidal__clock_stats(tidal_region *r, tidal_region_stats *out)
{
    uint64_t now_ms = tidal_elapsed_ms(r->rt);
    out->clock_fenced = atomic_load(&r->clock.fenced);
    out->writes_fenced = atomic_load(&r->clock.refused);
    out->clock_reachable = 0;
    for (tidal_region_id p = 0; p < TIDAL_REGIONS_MAX; p++) {
        out->clock_offset_ns[p] = atomic_load(&r->clock.lead_ns[p]);
        if (p != r->id && fresh(r, p, now_ms)) {
            out->clock_reachable |= 1u << p;
        }
    }
}
