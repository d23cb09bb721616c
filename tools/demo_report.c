/*
 * `tidal demo`'s report: the figures and the PASS/FAIL lines of every phase,
 * as text or as one JSON object.
 *
 * The replication phase's times (convergence, visibility) are on the clock
 * it ran on, which the report names: "simulated" by default, "real" under
 * --real (JSON "clock", text "simulated time"/"real time").  Only phase 2's
 * timings (throughput, frames, ask latency) and the nodes' addresses vary
 * between two runs of one seed: tests/cli/demo_seed.sh lists them.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "tools/demo.h"

bool
tidal_demo_passed(const struct report *r)
{
    const struct tidal_demo_cluster_report *c = &r->cl;
    uint64_t injected = r->faults[TIDAL_FAULT_DROP] + r->faults[TIDAL_FAULT_DUPLICATE];
    return r->accounting_ok && r->replay_ok && injected > 0 && r->cluster_rv == 0 && c->converged &&
           c->exact && c->hardneg && c->visibility && c->bad_input;
}

/* The reasons with dead letters, each printed with fmt (its name, then its
 * count), sep between two. */
static void
dead_reasons(const struct report *r, const char *fmt, const char *sep)
{
    const char *s = "";
    for (int k = 0; k < TIDAL_DEAD_COUNT; k++) {
        if (r->dead_by[k] > 0) {
            printf("%s", s);
            printf(fmt, tidal_dead_name(k), r->dead_by[k]);
            s = sep;
        }
    }
}

void
tidal_demo_print_report(const struct opts *o, const char *ua, const char *ub,
                        const struct report *r)
{
    double tput = r->tput_ns ? (double)r->tput_msgs * 1e9 / (double)r->tput_ns : 0;
    uint64_t injected = r->faults[TIDAL_FAULT_DROP] + r->faults[TIDAL_FAULT_DUPLICATE];
    const struct tidal_demo_cluster_report *c = &r->cl;
    bool pass = tidal_demo_passed(r);
    const char *clock = c->simulated ? "simulated" : "real";
    if (o->json) {
        printf("{\"seed\":%" PRIu64 ",\"node_a\":\"%s\",\"node_b\":\"%s\",", o->seed, ua, ub);
        printf("\"sent\":%" PRIu64 ",\"handled\":%" PRIu64 ",\"faults\":{", r->counter_sent +
               r->session_sent, r->handled);
        for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
            printf("%s\"%s\":%" PRIu64, k ? "," : "", tidal_fault_name(k), r->faults[k]);
        }
        printf("},\"duplicates_seen\":%" PRIu64 ",\"dead_letters\":%" PRIu64
               ",\"dead_by_reason\":{",
               r->dups_seen_after, r->dead);
        dead_reasons(r, "\"%s\":%" PRIu64, ",");
        printf("},\"rejected\":%" PRIu64 ",", r->rejected);
        printf("\"throughput_msgs_per_s\":%.0f,\"throughput_msgs\":%" PRIu64
               ",\"frames\":%" PRIu64 ",",
               tput, r->tput_msgs, r->frames);
        printf("\"ask_p50_us\":%.1f,\"ask_p99_us\":%.1f,", r->ask_p50_ns / 1e3,
               r->ask_p99_ns / 1e3);
        printf("\"checks\":{\"exact_accounting\":%s,\"replay_seen\":%s,\"faults_injected\":%s},",
               r->accounting_ok ? "true" : "false", r->replay_ok ? "true" : "false",
               injected ? "true" : "false");
        printf("\"cluster\":{\"url\":\"%s\",\"clock\":\"%s\",\"regions\":3,\"writes\":%" PRIu64
               ",\"duplicates_injected\":%" PRIu64 ",\"reorders_injected\":%" PRIu64
               ",\"partition_drops\":%" PRIu64 ",\"duplicate_batches_dropped\":%" PRIu64
               ",\"reconcile_entries\":%" PRIu64 ",\"converge_ms\":%.3f"
               ",\"visibility_p50_us\":%.1f,\"visibility_p99_us\":%.1f,",
               c->url, clock, c->writes, c->faults[TIDAL_FAULT_DUPLICATE],
               c->faults[TIDAL_FAULT_REORDER], c->faults[TIDAL_FAULT_PARTITION], c->dup_batches,
               c->reconcile_entries, c->converge_ns / 1e6, c->vis_p50_ns / 1e3,
               c->vis_p99_ns / 1e3);
        printf("\"convergence\":%s,\"no_double_counting\":%s,\"hard_negatives\":%s,"
               "\"visibility\":%s,\"bad_input\":%s},",
               c->converged ? "true" : "false", c->exact ? "true" : "false",
               c->hardneg ? "true" : "false", c->visibility ? "true" : "false",
               c->bad_input ? "true" : "false");
        printf("\"result\":\"%s\"}\n", pass ? "PASS" : "FAIL");
        return;
    }
    printf("tidal demo: seed %" PRIu64 "\n  node-a %s\n  node-b %s\n", o->seed, ua, ub);
    printf("workload: %" PRIu64 " counter increments to %d actors on node-a, %" PRIu64
           " messages to %d virtual sessions on node-b\n",
           r->counter_sent, COUNTERS, r->session_sent, SESSIONS);
    printf("faults injected:");
    for (int k = 0; k < TIDAL_FAULT_COUNT; k++) {
        printf(" %s %" PRIu64, tidal_fault_name(k), r->faults[k]);
    }
    printf("\n");
    printf("handled %" PRIu64 ", dead letters %" PRIu64, r->handled, r->dead);
    if (r->dead > 0) {
        printf(" (");
        dead_reasons(r, "%s %" PRIu64, ", ");
        printf(")");
    }
    printf(", rejected input %" PRIu64 "\n", r->rejected);
    printf("[%s] exact accounting: handled %" PRIu64 " = sent %" PRIu64 " - dropped %" PRIu64
           " + duplicated %" PRIu64 " (counted before the replay)\n",
           r->accounting_ok ? "PASS" : "FAIL", r->handled, r->counter_sent + r->session_sent,
           r->dropped, r->duplicated);
    printf("[%s] replay of %" PRIu64 " envelopes to counter-0: each seen as a duplicate "
           "(its duplicates seen %" PRIu64 " -> %" PRIu64 ")\n",
           r->replay_ok ? "PASS" : "FAIL", r->replayed, r->dups_seen_before, r->dups_seen_after);
    printf("[%s] the fault profile injected faults\n", injected ? "PASS" : "FAIL");
    printf("throughput node-a -> node-b (no faults): %" PRIu64 " msgs in %" PRIu64
           " frames, %.3f s = %.0f msg/s\n",
           r->tput_msgs, r->frames, r->tput_ns / 1e9, tput);
    printf("ask round trip node-a -> node-b: p50 %.1f us, p99 %.1f us over %" PRIu64 " asks\n",
           r->ask_p50_ns / 1e3, r->ask_p99_ns / 1e3, r->asks);
    printf("replication: 3 regions on %s, %s, %" PRIu64 " writes (sessions, roaming agents, "
           "hide/unhide races),\n  %" PRIu64 " duplicates and %" PRIu64 " reorders injected, "
           "region 2 partitioned (%" PRIu64 " envelopes cut), then healed\n",
           c->url, c->simulated ? "simulated" : "real threads (--real)", c->writes,
           c->faults[TIDAL_FAULT_DUPLICATE], c->faults[TIDAL_FAULT_REORDER],
           c->faults[TIDAL_FAULT_PARTITION]);
    if (r->cluster_rv != 0) {
        printf("[FAIL] the replication phase stopped: %s\n", tidal_strerror(r->cluster_rv));
    }
    printf("[%s] convergence: equal state digests %.3f ms (%s time) after the heal (%" PRIu64
           " entries reconciled)\n",
           c->converged ? "PASS" : "FAIL", c->converge_ns / 1e6, clock, c->reconcile_entries);
    printf("[%s] no double counting: every count and session exact (%" PRIu64
           " duplicate batches dropped)\n",
           c->exact ? "PASS" : "FAIL", c->dup_batches);
    printf("[%s] hard negatives: visibility is LWW by (wall, logical), hide winning ties\n",
           c->hardneg ? "PASS" : "FAIL");
    printf("[%s] visibility region 0 -> 1 (ephemeral): p50 %.1f us, p99 %.1f us (%s time)\n",
           c->visibility ? "PASS" : "FAIL", c->vis_p50_ns / 1e3, c->vis_p99_ns / 1e3, clock);
    printf("[%s] bad input %s: rejected (%s), counted, logged once, state unchanged\n",
           c->bad_input ? "PASS" : "FAIL",
           c->simulated ? "injected into the simulation" : "on a region's socket",
           c->bad_input_reason[0] ? c->bad_input_reason : "?");
    printf("result: %s\n", pass ? "PASS" : "FAIL");
}

