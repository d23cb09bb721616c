/*
 * bench_scale: how tidal's throughput grows with cores, each figure beside
 * its baseline from the same run.
 *
 *  - pairs: P independent driver -> sink pairs on inproc, the P drivers in
 *    runtime A and the P sinks in runtime B (bench_drive.c: a burst of 256
 *    64-byte envelopes per handler call, then a GO to itself), for P = 1, 2,
 *    4, ... up to --pairs-max (default: the CPUs this process may run on, so
 *    `taskset -c 0-3` means 4), aggregate msg/s; beside each P, P SPSC rings
 *    moving msgpack envelopes between 2P threads (bench_ring.c), aggregate
 *    msg/s, and the ratio tidal / ring.
 *  - fanin: 1,000 senders -> 1 sink across two runtimes, socket-backed and
 *    virtual senders (as bench_throughput), msg/s; beside it one SPSC ring
 *    moving as many envelopes (one consumer, as the sink is one actor).
 *  - activate: 1,000,000 virtual actors on one owner, activated by plain
 *    threads sending each one message (bench_activate.c), from one thread and
 *    from one thread per CPU, activations/s; beside each, the same sends to
 *    the owner itself (no activation).
 * Every figure is the median of --runs runs, all runs listed.  Runs are
 * interleaved (tidal P=1, ring P=1, tidal P=2, ..., then the next run) so
 * machine noise hits a figure and its baseline alike.  Counts are exact:
 * every sink gets exactly what was sent, nothing is dead-lettered, every
 * ring delivers every envelope in order (exit status 1 otherwise).
 *
 * The runtime's default worker count (--workers 0) is one per online CPU in
 * each runtime, whatever the affinity mask says; the JSON records both.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benches/bench_activate.h"
#include "benches/bench_drive.h"
#include "benches/bench_ring.h"
#include "benches/bench_util.h"
#include "tidal/runtime.h"

#define PART_PAIRS 1u
#define PART_FANIN 2u
#define PART_ACTIVATE 4u
#define PAIR_COUNTS_MAX 32u /* P values: 1, 2, 4, ... and the maximum */

struct opts {
    bool quick;
    uint32_t cpus;      /* CPUs in this process's affinity mask */
    uint32_t workers;   /* per runtime; 0 = the runtime's default */
    uint32_t pairs_max; /* the largest P */
    uint32_t runs;
    unsigned parts; /* PART_* */
};

struct counts {
    uint32_t tidal_per_pair; /* envelopes each driver sends per run */
    uint32_t ring_per_pair;  /* envelopes each ring moves per run */
    uint32_t fan_senders;
    uint32_t fan_each;
    uint32_t activations;
    uint32_t sender_threads; /* the several-threads activation */
};

/* ---- pairs ----------------------------------------------------------------------- */

/* 1, 2, 4, ... below max, then max.  Returns how many. */
static uint32_t
pair_counts(uint32_t max, uint32_t *out)
{
    uint32_t n = 0;
    for (uint32_t p = 1; p < max; p *= 2) {
        out[n++] = p;
    }
    out[n++] = max;
    return n;
}

static void
pairs_json(bench_json *j, uint32_t p, const bench_series *tidal, const bench_series *ring,
           double frames, double tidal_one, double ring_one)
{
    bench_json_obj(j, NULL);
    bench_json_u64(j, "pairs", p);
    double t = bench_series_json(j, "tidal_two_runtimes", tidal, "msgs");
    double r = bench_series_json(j, "ring_spsc_msgpack", ring, "msgs");
    bench_json_f(j, "ratio_tidal_to_ring", t / r, 3);
    bench_json_f(j, "tidal_msgs_per_s_per_pair", t / p, 0);
    bench_json_f(j, "tidal_speedup_vs_one_pair", t / tidal_one, 2);
    bench_json_f(j, "ring_speedup_vs_one_pair", r / ring_one, 2);
    bench_json_f(j, "tidal_envelopes_per_frame", frames, 1);
    bench_json_close(j);
}

static void
bench_pairs(bench_json *j, const struct opts *o, const struct counts *c)
{
    uint32_t ps[PAIR_COUNTS_MAX];
    uint32_t np = pair_counts(o->pairs_max, ps);
    bench_drive_opts dopts = {.tag = "sc", .workers = o->workers, .sinks = o->pairs_max};
    bench_drive *d = bench_drive_open(&dopts);
    bench_drive_add_drivers(d, o->pairs_max, false);
    uint64_t frames = 0, frames_sum[PAIR_COUNTS_MAX] = {0};
    (void)bench_drive_run(d, o->pairs_max, BENCH_DRIVE_BURST * 4, &frames); /* links dialled */
    bench_series tidal[PAIR_COUNTS_MAX] = {0}, ring[PAIR_COUNTS_MAX] = {0};
    for (uint32_t r = 0; r < o->runs; r++) {
        for (uint32_t k = 0; k < np; k++) {
            uint64_t sent = (uint64_t)c->tidal_per_pair * ps[k];
            bench_series_add(&tidal[k], sent,
                             bench_drive_run(d, ps[k], c->tidal_per_pair, &frames));
            frames_sum[k] += frames;
            uint64_t moved = (uint64_t)c->ring_per_pair * ps[k], got = 0;
            bench_series_add(&ring[k], moved, bench_ring_pairs_run(ps[k], c->ring_per_pair, &got));
            BENCH_CHECK(got == moved);
        }
    }
    bench_drive_close(d);

    bench_json_arr(j, "pairs");
    double tidal_one = bench_median(tidal[0].rate, tidal[0].n); /* ps[0] is 1 */
    double ring_one = bench_median(ring[0].rate, ring[0].n);
    for (uint32_t k = 0; k < np; k++) {
        uint64_t sent = (uint64_t)c->tidal_per_pair * ps[k] * o->runs;
        pairs_json(j, ps[k], &tidal[k], &ring[k],
                   frames_sum[k] ? (double)sent / (double)frames_sum[k] : 0, tidal_one, ring_one);
    }
    bench_json_arr_close(j);
}

/* ---- fan-in ---------------------------------------------------------------------- */

struct ring_round {
    uint64_t n;
    bench_series rates;
};

/* One ring round between two fan-in runs: bench_fan_in_opts.between. */
static void
ring_round(void *arg)
{
    struct ring_round *rr = arg;
    uint64_t got = 0;
    bench_series_add(&rr->rates, rr->n, bench_ceiling_run(rr->n, &got));
    BENCH_CHECK(got == rr->n);
}

static void
fan_in(bench_json *j, const char *key, bool virtual_senders, const struct opts *o,
       const struct counts *c)
{
    struct ring_round rr = {.n = (uint64_t)c->fan_senders * c->fan_each};
    bench_fan_in_opts fo = {.senders = c->fan_senders,
                            .each = c->fan_each,
                            .runs = o->runs,
                            .workers = o->workers,
                            .virtual_senders = virtual_senders,
                            .between = ring_round,
                            .arg = &rr};
    bench_json_obj(j, key);
    double t = bench_fan_in(j, &fo);
    double r = bench_series_json(j, "ring_spsc_msgpack_one_pair", &rr.rates, "msgs");
    bench_json_f(j, "ratio_tidal_to_ring", t / r, 3);
    bench_json_close(j);
}

/* ---- activations ----------------------------------------------------------------- */

/* Activations from threads sender threads, and the baseline, interleaved. */
static void
activate(bench_json *j, const char *key, uint32_t threads, const struct opts *o,
         const struct counts *c)
{
    bench_series act = {0}, plain = {0};
    double sent_ms[BENCH_RUNS_MAX], close_ms[BENCH_RUNS_MAX];
    for (uint32_t r = 0; r < o->runs; r++) {
        bench_activate_opts ao = {.n = c->activations, .threads = threads, .workers = o->workers};
        bench_activate_result res;
        bench_activate_run(&ao, &res);
        bench_series_add(&act, c->activations, res.total_ns);
        sent_ms[r] = (double)res.sent_ns / 1e6;
        close_ms[r] = (double)res.close_ns / 1e6;
        ao.to_owner = true;
        bench_activate_run(&ao, &res);
        bench_series_add(&plain, c->activations, res.total_ns);
    }
    bench_json_obj(j, key);
    bench_json_u64(j, "sender_threads", threads);
    double a = bench_series_json(j, "activations", &act, "activations");
    bench_json_farr(j, "runs_sends_done_ms", sent_ms, o->runs, 1);
    bench_json_farr(j, "runs_close_ms", close_ms, o->runs, 1);
    double p = bench_series_json(j, "same_sends_to_the_owner", &plain, "msgs");
    bench_json_f(j, "ratio_activations_to_plain_sends", a / p, 3);
    bench_json_close(j);
}

/* ---- main ------------------------------------------------------------------------ */

static const char usage[] =
    "usage: bench_scale [--quick] [--workers N] [--pairs-max P] [--runs R]\n"
    "                   [--only pairs|fanin|activate[,...]] [--poll-ms MS]\n"
    "  How tidal's throughput grows with cores, beside in-memory baselines\n"
    "  from the same run; prints one JSON object.\n"
    "  --workers N    workers per runtime (0 = the runtime's default)\n"
    "  --pairs-max P  the largest number of pairs (default: the CPUs allowed)\n"
    "  --runs R       runs per figure, 1..16; each figure is their median\n"
    "  --only LIST    parts to run (default: all)\n"
    "  --poll-ms MS   a driver that finds no room retries every MS ms on a\n"
    "                 timer, instead of asking to be woken (tidal_ctx_when_room)\n";

static uint32_t
arg_u32(int argc, char **argv, int *i, uint32_t lo, uint32_t hi)
{
    char *end = NULL;
    unsigned long v = *i + 1 < argc ? strtoul(argv[*i + 1], &end, 10) : 0;
    if (end == NULL || *end != '\0' || end == argv[*i + 1] || v < lo || v > hi) {
        fprintf(stderr, "bench_scale: %s needs a number in %u..%u\n%s", argv[*i], lo, hi, usage);
        exit(2);
    }
    (*i)++;
    return (uint32_t)v;
}

static unsigned
arg_parts(int argc, char **argv, int *i)
{
    unsigned parts = 0;
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", *i + 1 < argc ? argv[*i + 1] : "");
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        parts |= strcmp(w, "pairs") == 0      ? PART_PAIRS
                 : strcmp(w, "fanin") == 0    ? PART_FANIN
                 : strcmp(w, "activate") == 0 ? PART_ACTIVATE
                                              : 0x80u;
    }
    if (parts == 0 || (parts & 0x80u)) {
        fprintf(stderr, "bench_scale: --only takes pairs, fanin or activate\n%s", usage);
        exit(2);
    }
    (*i)++;
    return parts;
}

static void
parse(int argc, char **argv, struct opts *o)
{
    cpu_set_t set;
    BENCH_CHECK(sched_getaffinity(0, sizeof(set), &set) == 0);
    *o = (struct opts){.cpus = (uint32_t)CPU_COUNT(&set), .runs = 3, .parts = 7};
    o->pairs_max = o->cpus;
    bool runs_given = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(argv[i], "--workers") == 0) {
            o->workers = arg_u32(argc, argv, &i, 0, TIDAL_WORKERS_MAX);
        } else if (strcmp(argv[i], "--pairs-max") == 0) {
            o->pairs_max = arg_u32(argc, argv, &i, 1, BENCH_RING_PAIRS_MAX);
        } else if (strcmp(argv[i], "--runs") == 0) {
            o->runs = arg_u32(argc, argv, &i, 1, BENCH_RUNS_MAX);
            runs_given = true;
        } else if (strcmp(argv[i], "--only") == 0) {
            o->parts = arg_parts(argc, argv, &i);
        } else if (strcmp(argv[i], "--poll-ms") == 0) {
            bench_drive_poll_ms = arg_u32(argc, argv, &i, 1, 1000);
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("%s", usage);
            exit(0);
        } else {
            fprintf(stderr, "bench_scale: bad argument '%s'\n%s", argv[i], usage);
            exit(2);
        }
    }
    if (o->quick && !runs_given) {
        o->runs = 2;
    }
}

/* The workers each runtime gets with this setting, as a runtime reports it. */
static uint32_t
workers_per_runtime(uint32_t workers)
{
    tidal_runtime_opts ro = {.workers = workers};
    tidal_runtime *rt;
    tidal_stats st;
    BENCH_CHECK(tidal_runtime_open(&ro, &rt) == 0);
    tidal_runtime_stats(rt, &st);
    BENCH_CHECK(tidal_runtime_close(rt) == 0);
    return st.workers;
}

static void
header_json(bench_json *j, const struct opts *o, const struct counts *c)
{
    bench_json_str(j, "bench", "scale");
    bench_json_bool(j, "quick", o->quick);
    bench_json_u64(j, "cpus", o->cpus);
    bench_json_u64(j, "cpus_online", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
    bench_json_u64(j, "workers", o->workers);
    bench_json_u64(j, "workers_per_runtime", workers_per_runtime(o->workers));
    bench_json_u64(j, "pairs_max", o->pairs_max);
    bench_json_u64(j, "runs", o->runs);
    bench_json_u64(j, "payload_bytes", BENCH_PAYLOAD_BYTES);
    bench_json_u64(j, "burst_envelopes", BENCH_DRIVE_BURST);
    bench_json_u64(j, "driver_poll_ms", bench_drive_poll_ms); /* 0: woken on room */
    bench_json_obj(j, "messages_per_run");
    bench_json_u64(j, "tidal_per_pair", c->tidal_per_pair);
    bench_json_u64(j, "ring_per_pair", c->ring_per_pair);
    bench_json_u64(j, "fan_in_senders", c->fan_senders);
    bench_json_u64(j, "fan_in_per_sender", c->fan_each);
    bench_json_u64(j, "activations", c->activations);
    bench_json_close(j);
}

int
main(int argc, char **argv)
{
    struct opts o;
    parse(argc, argv, &o);
    uint32_t threads = o.cpus < 2 ? 2 : o.cpus;
    struct counts c = {
        .tidal_per_pair = o.quick ? 2000 : 500000,
        .ring_per_pair = o.quick ? 10000 : 1000000,
        .fan_senders = o.quick ? 100 : 1000,
        .fan_each = o.quick ? 10 : 1000,
        .activations = o.quick ? 10000 : 1000000,
        .sender_threads =
            threads > BENCH_ACTIVATE_THREADS_MAX ? BENCH_ACTIVATE_THREADS_MAX : threads,
    };
    setenv("TIDAL_QUIET", "1", 0);
    uint64_t t0 = bench_now_ns();
    bench_json j;
    bench_json_begin(&j);
    header_json(&j, &o, &c);
    if (o.parts & PART_PAIRS) {
        bench_pairs(&j, &o, &c);
    }
    if (o.parts & PART_FANIN) {
        fan_in(&j, "fan_in_socket_senders_inproc", false, &o, &c);
        fan_in(&j, "fan_in_virtual_senders_inproc", true, &o, &c);
    }
    if (o.parts & PART_ACTIVATE) {
        activate(&j, "activations_one_sender_thread", 1, &o, &c);
        activate(&j, "activations_sender_thread_per_cpu", c.sender_threads, &o, &c);
    }
    bench_json_f(&j, "elapsed_s", (double)(bench_now_ns() - t0) / 1e9, 1);
    bench_json_end(&j);
    return 0;
}
