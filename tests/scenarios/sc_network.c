/*
 * Scenarios of the network: partitions (both ways, one way, flapping),
 * links cut one by one and restored in another order, duplication and
 * reordering storms, loss, delay spikes and replays of old envelopes.
 * Three regions, one writer each; every fault is set at a point of the
 * writers' progress chosen from the seed, and each scenario also checks that
 * it injected what it meant to (a scenario that injected nothing proves
 * nothing).
 */
#include <stdio.h>

#include "scenarios/scenarios.h"

int
sc__begin(sc_run *run, int n, bool durable, uint64_t quick_ops, uint64_t full_ops, int sessions)
{
    int rv = sc_open(run, n, durable);
    if (rv != 0) {
        return rv;
    }
    sc_writers(run, n, run->quick ? quick_ops : full_ops, sessions);
    return sc_writers_start(run);
}

void
sc__expect_faults(sc_run *run, int kind, const char *what)
{
    sc__collect_all(run);
    size_t count = 0;
    for (size_t i = 0; i < run->nfaults; i++) {
        count += run->faults[i].e.kind == kind;
    }
    sc_verdict(run, "faults", count > 0, "%zu %s injected", count, what);
}

/* Two distinct regions of 0 .. n-1. */
static void
pick_pair(sc_run *run, int *a, int *b)
{
    *a = (int)sc_below(&run->rng, (uint64_t)run->n);
    *b = (*a + 1 + (int)sc_below(&run->rng, (uint64_t)run->n - 1)) % run->n;
}

static int
steady(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 200, 3000, 3);
    if (rv == 0) {
        sc_check_all(run);
    }
    return rv;
}

/* One region cut from the others both ways while all write, then healed. */
static int
partition(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 200, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    int x = (int)sc_below(&run->rng, 3);
    double at = 0.1 + 0.3 * sc_unit(&run->rng);
    sc_progress(run, at);
    tidal_fault_rule cut = {.partition = 1};
    for (int b = 0; b < 3; b++) {
        if (b != x) {
            sc_fault_pair(run, x, b, &cut, true, "partition");
        }
    }
    sc_progress(run, at + 0.4);
    sc_heal(run);
    sc_check_all(run);
    sc__expect_faults(run, TIDAL_FAULT_PARTITION, "partition drops");
    return 0;
}

/* a -> b cut (b -> a open), and another pair the other way round. */
static int
partition_oneway(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 200, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    int a, b;
    pick_pair(run, &a, &b);
    tidal_fault_rule cut = {.partition = 1};
    sc_progress(run, 0.1 + 0.2 * sc_unit(&run->rng));
    sc_fault_pair(run, a, b, &cut, false, "cut");
    sc_progress(run, 0.4);
    sc_fault_pair(run, 3 - a - b, a, &cut, false, "cut"); /* the third region to a */
    sc_progress(run, 0.8);
    sc_heal(run);
    sc_check_all(run);
    sc__expect_faults(run, TIDAL_FAULT_PARTITION, "partition drops");
    return 0;
}

static int
flapping(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 240, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    int flaps = run->quick ? 8 : 24;
    int a = 0, b = 1;
    tidal_fault_rule cut = {.partition = 1};
    for (int k = 0; k < flaps; k++) {
        sc_progress(run, (k + 1.0) / (flaps + 2.0));
        if (k % 2 == 0) {
            pick_pair(run, &a, &b);
            sc_fault_pair(run, a, b, &cut, true, "partition");
        } else {
            sc_clear_pair(run, a, b, true);
        }
    }
    sc_check_all(run);
    sc__expect_faults(run, TIDAL_FAULT_PARTITION, "partition drops");
    return 0;
}

static void
shuffle(uint64_t *rng, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sc_below(rng, (uint64_t)i + 1);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Every directed link cut, one at a time, then restored in another order. */
static int
links_cut(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 240, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    int order[6] = {0, 1, 2, 3, 4, 5}; /* link k: from k / 2, to the k % 2 + 1'th next */
    shuffle(&run->rng, order, 6);
    tidal_fault_rule cut = {.partition = 1};
    for (int i = 0; i < 6; i++) {
        sc_progress(run, (i + 1) / 14.0);
        int a = order[i] / 2, b = (a + 1 + order[i] % 2) % 3;
        sc_fault_pair(run, a, b, &cut, false, "cut");
    }
    shuffle(&run->rng, order, 6);
    for (int i = 0; i < 6; i++) {
        sc_progress(run, (i + 7) / 14.0);
        int a = order[i] / 2, b = (a + 1 + order[i] % 2) % 3;
        sc_clear_pair(run, a, b, false);
    }
    sc_check_all(run);
    sc__expect_faults(run, TIDAL_FAULT_PARTITION, "partition drops");
    return 0;
}

/* Sets rule_of(k) on every directed link: a storm. */
static void
storm(sc_run *run, tidal_fault_rule (*rule_of)(sc_run *), const char *what)
{
    for (int a = 0; a < run->n; a++) {
        for (int b = 0; b < run->n; b++) {
            if (a != b) {
                tidal_fault_rule r = rule_of(run);
                sc_fault_pair(run, a, b, &r, false, what);
            }
        }
    }
}

static tidal_fault_rule
dup_rule(sc_run *run)
{
    return (tidal_fault_rule){.duplicate = 0.2 + 0.3 * sc_unit(&run->rng),
                              .reorder_window = 2 + (uint32_t)sc_below(&run->rng, 15)};
}

static tidal_fault_rule
loss_rule(sc_run *run)
{
    return (tidal_fault_rule){.drop = 0.3 * sc_unit(&run->rng)};
}

static tidal_fault_rule
delay_rule(sc_run *run)
{
    uint32_t max = 20 + (uint32_t)sc_below(&run->rng, run->quick ? 100 : 400);
    return (tidal_fault_rule){.delay = 0.1 + 0.3 * sc_unit(&run->rng), .delay_min_ms = 1,
                              .delay_max_ms = max};
}

/* Storms on and off at points of the writers' progress, then heal. */
static int
storms(sc_run *run, tidal_fault_rule (*rule_of)(sc_run *), const char *what, int kind)
{
    int rv = sc__begin(run, 3, false, 240, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    for (int k = 0; k < 2; k++) {
        sc_progress(run, 0.05 + 0.45 * k);
        storm(run, rule_of, what);
        sc_progress(run, 0.3 + 0.45 * k);
        sc_heal(run);
    }
    sc_check_all(run);
    sc__expect_faults(run, kind, what);
    return 0;
}

static int
dup_reorder(sc_run *run)
{
    return storms(run, dup_rule, "duplication+reordering", TIDAL_FAULT_DUPLICATE);
}

static int
loss(sc_run *run)
{
    return storms(run, loss_rule, "loss", TIDAL_FAULT_DROP);
}

static int
delay_spikes(sc_run *run)
{
    return storms(run, delay_rule, "delay", TIDAL_FAULT_DELAY);
}

static tidal_fault_rule
memory_rule(sc_run *run)
{
    (void)run;
    return (tidal_fault_rule){.replay_keep = 64}; /* no fault: the links remember */
}

/* Re-sends old envelopes of every link a region's actors used towards b. */
static uint32_t
replay_links(sc_run *run, int a, int b)
{
    char from[8][64], to[3][32];
    int nf = 0;
    snprintf(from[nf++], sizeof(from[0]), "region-%d", a);
    snprintf(from[nf++], sizeof(from[0]), "shipper-%d", a);
    snprintf(from[nf++], sizeof(from[0]), "reconciler-%d", a);
    sc_model *m = &run->w[a].m;
    for (int s = 0; s < m->nsess && nf < 8; s++) {
        snprintf(from[nf++], sizeof(from[0]), "region-%d/%016llx%016llx", a,
                 (unsigned long long)m->sess[s].sid.hi, (unsigned long long)m->sess[s].sid.lo);
    }
    snprintf(to[0], sizeof(to[0]), "region-%d", b);
    snprintf(to[1], sizeof(to[1]), "shipper-%d", b);
    snprintf(to[2], sizeof(to[2]), "reconciler-%d", b);
    uint32_t total = 0;
    tidal_runtime *rt = tidal_region_runtime(run->r[a]);
    for (int i = 0; i < nf; i++) {
        for (int j = 0; j < 3; j++) {
            uint32_t sent = 0;
            uint32_t n = 1 + (uint32_t)sc_below(&run->rng, 32);
            if (tidal_fault_replay(rt, from[i], to[j], n, &sent) == 0) {
                total += sent;
            }
        }
    }
    return total;
}

static int
replay(sc_run *run)
{
    int rv = sc__begin(run, 3, false, 240, 3000, 3);
    if (rv != 0) {
        return rv;
    }
    sc_progress(run, 0.02);
    storm(run, memory_rule, "remember");
    int rounds = run->quick ? 6 : 20;
    for (int k = 0; k < rounds; k++) {
        sc_progress(run, (k + 1.0) / (rounds + 1.0));
        int a, b;
        pick_pair(run, &a, &b);
        /* the last session batch again, and older envelopes of every link */
        int rv2 = tidal_cluster_replay_last_session_batch(run->c, (tidal_region_id)a,
                                                          (tidal_region_id)b);
        uint32_t sent = replay_links(run, a, b) + (rv2 == 0);
        sc_event_note(run, "replay %d->%d (%u)", a, b, sent);
    }
    sc_check_all(run);
    sc__expect_faults(run, TIDAL_FAULT_REPLAY, "replayed envelopes");
    return 0;
}

const sc_scenario sc__network[] = {
    {"steady", "steady writes at every region, no fault", steady},
    {"partition", "one region cut from the others both ways, then healed", partition},
    {"partition-oneway", "links cut one way only, then healed", partition_oneway},
    {"flapping", "partitions set and healed again and again", flapping},
    {"links-cut", "every link cut one by one, restored in random order", links_cut},
    {"dup-reorder", "duplication and reordering storms", dup_reorder},
    {"loss", "loss up to 30% per link", loss},
    {"delay-spikes", "delay spikes on every link", delay_spikes},
    {"replay", "old batches and envelopes replayed", replay},
};
const size_t sc__nnetwork = sizeof(sc__network) / sizeof(sc__network[0]);
