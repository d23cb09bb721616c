/*
 * What makes two runs of one seed in the simulation the same run: what the
 * harness keeps of each (its final digests, a hash of every fault traced,
 * the simulated end time and the simulation's counters) and their
 * comparison, sc_run_same (`tidal check --twice`).
 */
#include <stdio.h>
#include <string.h>

#include "scenarios/harness.h"

static uint64_t
fnv(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) {
        h = (h ^ (v & 0xff)) * 1099511628211ull;
    }
    return h;
}

/* What a second run of the seed must reproduce, taken when the scenario
 * returned (digests) and after every trace was collected (the rest). */
void
sc__sim_digests(sc_run *run)
{
    run->sim_end_ns = tidal_sim_now_ns(run->sim);
    for (int i = 0; i < run->n; i++) {
        run->digest[i] = run->r[i] != NULL ? tidal_region_digest(run->r[i]) : 0;
    }
}

void
sc__sim_trace_hash(sc_run *run)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < run->nfaults; i++) {
        const sc_fault *f = &run->faults[i];
        /* field by field: the entry's padding is not part of it */
        h = fnv(h, f->region);
        h = fnv(h, f->index);
        h = fnv(h, f->e.link_id);
        h = fnv(h, f->e.link_seq);
        h = fnv(h, f->e.msg_id);
        h = fnv(h, ((uint64_t)f->e.param << 8) | f->e.kind);
    }
    run->trace_hash = h;
    for (int i = 0; i < SC_REGIONS_MAX; i++) {
        run->trace_total[i] = run->trace_base[i];
    }
    tidal_sim_stats_get(run->sim, &run->sim_stats);
}

bool
sc_run_same(const sc_run *a, const sc_run *b, char *why, size_t len)
{
    if (a->nchecks != b->nchecks) {
        snprintf(why, len, "%d verdicts, then %d", a->nchecks, b->nchecks);
        return false;
    }
    for (int i = 0; i < a->nchecks; i++) {
        const sc_check *x = &a->checks[i], *y = &b->checks[i];
        if (x->pass != y->pass || strcmp(x->name, y->name) != 0 ||
            strcmp(x->reason, y->reason) != 0) {
            snprintf(why, len, "verdict %s: '%.70s', then %s: '%.70s'", x->name, x->reason,
                     y->name, y->reason);
            return false;
        }
    }
    for (int i = 0; i < SC_REGIONS_MAX; i++) {
        if (a->digest[i] != b->digest[i]) {
            snprintf(why, len, "region %d digest %016llx, then %016llx", i,
                     (unsigned long long)a->digest[i], (unsigned long long)b->digest[i]);
            return false;
        }
        if (a->trace_total[i] != b->trace_total[i]) {
            snprintf(why, len, "region %d traced %llu faults, then %llu", i,
                     (unsigned long long)a->trace_total[i], (unsigned long long)b->trace_total[i]);
            return false;
        }
    }
    if (a->trace_hash != b->trace_hash) {
        snprintf(why, len, "fault trace hash %016llx, then %016llx",
                 (unsigned long long)a->trace_hash, (unsigned long long)b->trace_hash);
        return false;
    }
    if (a->sim_end_ns != b->sim_end_ns) {
        snprintf(why, len, "simulated end %llu ns, then %llu ns", (unsigned long long)a->sim_end_ns,
                 (unsigned long long)b->sim_end_ns);
        return false;
    }
    const tidal_sim_stats *x = &a->sim_stats, *y = &b->sim_stats;
    if (x->disk_trace_hash != y->disk_trace_hash || x->disk_crashes != y->disk_crashes) {
        snprintf(why, len, "disk trace hash %016llx, then %016llx",
                 (unsigned long long)x->disk_trace_hash, (unsigned long long)y->disk_trace_hash);
        return false;
    }
    if (x->events != y->events || x->unit_runs != y->unit_runs || x->timers != y->timers ||
        x->frames != y->frames || x->frames_lost != y->frames_lost) {
        snprintf(why, len, "simulation counters differ (%llu events, then %llu)",
                 (unsigned long long)a->sim_stats.events, (unsigned long long)b->sim_stats.events);
        return false;
    }
    snprintf(why, len, "digests %016llx.., %llu faults traced (hash %016llx), end at %.3f s simulated",
             (unsigned long long)a->digest[0],
             (unsigned long long)(a->trace_total[0] + a->trace_total[1] + a->trace_total[2] +
                                  a->trace_total[3]),
             (unsigned long long)a->trace_hash, (double)a->sim_end_ns / 1e9);
    return true;
}
