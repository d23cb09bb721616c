/*
 * bench_sim: how much faster than real time a simulation runs
 * (include/tidal/sim.h).
 *
 * The scenario, 60 simulated seconds (1 with --quick): two runtimes in one
 * simulation; on A, P ticker actors (P = 10, a light load, and 100) each
 * re-arm a 10 ms timer and on
 * every tick send a numbered message to their partner on B, which answers
 * it; every link drops 5%, duplicates 5%, delays 5% by 1..20 ms and
 * reorders within 4.  Reported per run: simulated and real seconds, their
 * ratio (the goal: >= 100x), events and messages per real second;
 * the median of RUNS runs.
 *
 * And a cluster: three ephemeral regions in one simulation, each starting a
 * session and writing a signal and a hide every 10 simulated ms, links
 * dropping 2% and duplicating 5%, reconciliation every second, then
 * converging; simulated over real time the same way.  Asserted: every run of one seed handles the
 * same number of messages and ends at the same simulated instant (the
 * determinism the simulation promises), and messages flowed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benches/bench_util.h"
#include "tidal/fault.h"
#include "tidal/region.h"
#include "tidal/runtime.h"
#include "tidal/sim.h"

#define TICK_MS 10u
#define RUNS 3
#define T_TICK 1000u
#define T_HELLO 1001u
#define T_ANSWER 1002u

struct ticker {
    tidal_addr partner;
    uint64_t ticks, answers;
};

static int
ticker_init(tidal_ctx *ctx, void *arg, void **state)
{
    *state = arg;
    return tidal_ctx_timer(ctx, TICK_MS, T_TICK, NULL, 0);
}

static int
ticker_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct ticker *t = state;
    if (m->type == T_ANSWER) {
        t->answers++;
        return 0;
    }
    t->ticks++;
    uint8_t p[8];
    memcpy(p, &t->ticks, sizeof(p));
    int rv = tidal_ctx_send(ctx, &t->partner, T_HELLO, p, sizeof(p));
    if (rv != 0 && rv != TIDAL_EFULL) {
        return rv;
    }
    return tidal_ctx_timer(ctx, TICK_MS, T_TICK, NULL, 0);
}

static int
answer_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    *state = arg;
    return 0;
}

struct answerer {
    tidal_addr back;
    uint64_t handled;
};

static int
answer_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    struct answerer *an = state;
    an->handled++;
    int rv = tidal_ctx_send(ctx, &an->back, T_ANSWER, m->payload, m->len);
    return rv == TIDAL_EFULL ? 0 : rv;
}

static const tidal_behaviour ticker_beh = {.init = ticker_init, .handle = ticker_handle};
static const tidal_behaviour answer_beh = {.init = answer_init, .handle = answer_handle};

struct result {
    double sim_s, real_s;
    uint64_t events, hellos, answers, end_ns;
};

static struct result
run_once(uint64_t seed, uint32_t sim_s, uint32_t PAIRS)
{
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 100, .latency_max_us = 2000};
    BENCH_PASS(tidal_sim_open(&so, &s));
    tidal_runtime_opts oa = {.url = "sim://a", .name = "a", .seed = seed, .sim = s};
    tidal_runtime_opts ob = {.url = "sim://b", .name = "b", .seed = seed, .sim = s};
    tidal_runtime *a, *b;
    BENCH_PASS(tidal_runtime_open(&oa, &a));
    BENCH_PASS(tidal_runtime_open(&ob, &b));
    tidal_fault_rule rule = {.drop = 0.05, .duplicate = 0.05, .delay = 0.05, .delay_min_ms = 1,
                             .delay_max_ms = 20, .reorder_window = 4};
    BENCH_PASS(tidal_fault_set(a, "t*", "p*", &rule));
    BENCH_PASS(tidal_fault_set(b, "p*", "t*", &rule));
    struct ticker *tk = calloc(PAIRS, sizeof(*tk));
    struct answerer *an = calloc(PAIRS, sizeof(*an));
    BENCH_CHECK(tk != NULL && an != NULL);
    for (uint32_t i = 0; i < PAIRS; i++) {
        /* partners first: a ticker's first tick may come before the next spawn */
        char name[16], url[32];
        snprintf(name, sizeof(name), "p%u", i);
        snprintf(url, sizeof(url), "sim://b/%s", name);
        BENCH_PASS(tidal_addr_make(&tk[i].partner, url, name, NULL, 0));
        snprintf(name, sizeof(name), "t%u", i);
        tidal_spawn_opts to = {.name = name, .behaviour = &ticker_beh, .arg = &tk[i]};
        tidal_actor ta;
        BENCH_PASS(tidal_spawn(a, &to, &ta));
        BENCH_PASS(tidal_actor_addr(a, ta, &an[i].back));
    }
    for (uint32_t i = 0; i < PAIRS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "p%u", i);
        tidal_spawn_opts po = {.name = name, .behaviour = &answer_beh, .arg = &an[i]};
        tidal_actor pa;
        BENCH_PASS(tidal_spawn(b, &po, &pa));
        tidal_addr got;
        BENCH_PASS(tidal_actor_addr(b, pa, &got));
        BENCH_CHECK(strcmp(got.url, tk[i].partner.url) == 0);
    }
    uint64_t t0 = bench_now_ns();
    tidal_sim_run_for(s, (uint64_t)sim_s * 1000000000ull);
    uint64_t real = bench_now_ns() - t0;
    struct result r = {.sim_s = sim_s, .real_s = (double)real / 1e9};
    tidal_sim_stats st;
    tidal_sim_stats_get(s, &st);
    r.events = st.events;
    r.end_ns = st.now_ns;
    for (uint32_t i = 0; i < PAIRS; i++) {
        r.hellos += an[i].handled;
        r.answers += tk[i].answers;
    }
    BENCH_PASS(tidal_runtime_close(a));
    BENCH_PASS(tidal_runtime_close(b));
    BENCH_PASS(tidal_sim_close(s));
    free(tk);
    free(an);
    return r;
}

struct cluster_result {
    double real_s;
    uint64_t events, writes, digest, end_ns;
};

static struct cluster_result
cluster_once(uint64_t seed, uint32_t sim_s)
{
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 500, .latency_max_us = 20000};
    BENCH_PASS(tidal_sim_open(&so, &s));
    tidal_cluster *c;
    tidal_cluster_opts co = {.seed = seed, .sim = s};
    BENCH_PASS(tidal_cluster_open(&co, &c));
    tidal_region *r[3];
    for (int i = 0; i < 3; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .reconcile_ms = 1000};
        BENCH_PASS(tidal_region_open(c, &o, &r[i]));
    }
    tidal_fault_rule rule = {.drop = 0.02, .duplicate = 0.05};
    BENCH_PASS(tidal_cluster_fault_set(c, 0, 1, &rule, 1));
    BENCH_PASS(tidal_cluster_fault_set(c, 1, 2, &rule, 1));
    BENCH_PASS(tidal_cluster_fault_set(c, 0, 2, &rule, 1));
    tidal_session_id sid[3];
    for (int i = 0; i < 3; i++) {
        BENCH_PASS(tidal_start_session(r[i], 1 + (tidal_entity_id)i, NULL, &sid[i]));
    }
    struct cluster_result out = {0};
    uint64_t t0 = bench_now_ns();
    uint32_t steps = sim_s * 100;
    for (uint32_t k = 0; k < steps; k++) {
        for (int i = 0; i < 3; i++) {
            tidal_entity_id item = 1 + (k * 7 + (uint32_t)i) % 500;
            BENCH_PASS(tidal_signal_in_session(r[i], sid[i], "view", item, 1.0,
                                               tidal_sim_wall_ns(s)));
            BENCH_PASS(tidal_hide_item(r[i], 1 + (tidal_entity_id)i, item));
            out.writes += 2;
        }
        tidal_sim_run_for(s, 10 * 1000000ull);
    }
    out.real_s = (double)(bench_now_ns() - t0) / 1e9;
    for (int i = 0; i < 3; i++) {
        tidal_region_stats st;
        tidal_region_stats_get(r[(i + 1) % 3], &st);
        BENCH_PASS(tidal_region_wait_applied(r[(i + 1) % 3], (tidal_region_id)i,
                                             st.applied_lsn[i] + 0, 1));
    }
    out.digest = tidal_region_digest(r[0]);
    tidal_sim_stats st;
    tidal_sim_stats_get(s, &st);
    out.events = st.events;
    out.end_ns = st.now_ns;
    BENCH_PASS(tidal_cluster_close(c));
    BENCH_PASS(tidal_sim_close(s));
    return out;
}

static void
bench_cluster(bench_json *j, uint32_t sim_s, int runs)
{
    double ratio[RUNS], real[RUNS], wr[RUNS];
    struct cluster_result first = {0};
    for (int i = 0; i < runs; i++) {
        struct cluster_result r = cluster_once(42, sim_s);
        if (i == 0) {
            first = r;
        }
        BENCH_CHECK(r.events == first.events && r.digest == first.digest);
        BENCH_CHECK(r.end_ns == first.end_ns);
        ratio[i] = (double)sim_s / r.real_s;
        real[i] = r.real_s;
        wr[i] = (double)r.writes / r.real_s;
    }
    bench_json_obj(j, "cluster_3_regions");
    bench_json_u64(j, "writes", first.writes);
    bench_json_u64(j, "events", first.events);
    bench_json_f(j, "real_s_median", bench_median(real, (size_t)runs), 3);
    bench_json_f(j, "sim_to_real_ratio_median", bench_median(ratio, (size_t)runs), 1);
    bench_json_farr(j, "sim_to_real_ratio_runs", ratio, (size_t)runs, 1);
    bench_json_f(j, "writes_per_real_s_median", bench_median(wr, (size_t)runs), 0);
    bench_json_close(j);
}

static void
bench_pairs(bench_json *j, uint32_t pairs, uint32_t sim_s, int runs)
{
    double ratio[RUNS], ev_rate[RUNS], msg_rate[RUNS], real[RUNS];
    struct result first = {0};
    for (int i = 0; i < runs; i++) {
        struct result r = run_once(42, sim_s, pairs);
        if (i == 0) {
            first = r;
        }
        /* one seed, one run: every run must do exactly the same */
        BENCH_CHECK(r.hellos == first.hellos && r.answers == first.answers);
        BENCH_CHECK(r.events == first.events && r.end_ns == first.end_ns);
        BENCH_CHECK(r.hellos > (uint64_t)pairs * sim_s * (1000 / TICK_MS) / 2);
        ratio[i] = r.sim_s / r.real_s;
        ev_rate[i] = (double)r.events / r.real_s;
        msg_rate[i] = (double)(r.hellos + r.answers) / r.real_s;
        real[i] = r.real_s;
    }
    char key[32];
    snprintf(key, sizeof(key), "pairs_%u", pairs);
    bench_json_obj(j, key);
    bench_json_f(j, "real_s_median", bench_median(real, (size_t)runs), 3);
    bench_json_f(j, "sim_to_real_ratio_median", bench_median(ratio, (size_t)runs), 1);
    bench_json_farr(j, "sim_to_real_ratio_runs", ratio, (size_t)runs, 1);
    bench_json_f(j, "events_per_real_s_median", bench_median(ev_rate, (size_t)runs), 0);
    bench_json_f(j, "msgs_per_real_s_median", bench_median(msg_rate, (size_t)runs), 0);
    bench_json_u64(j, "events", first.events);
    bench_json_u64(j, "hellos_handled", first.hellos);
    bench_json_u64(j, "answers_handled", first.answers);
    bench_json_close(j);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv, "bench_sim [--quick]");
    uint32_t sim_s = quick ? 1 : 60;
    int runs = quick ? 2 : RUNS;
    bench_json j;
    bench_json_begin(&j);
    bench_json_str(&j, "bench", "sim");
    bench_json_u64(&j, "tick_ms", TICK_MS);
    bench_json_u64(&j, "simulated_s", sim_s);
    bench_json_u64(&j, "runs", (uint64_t)runs);
    bench_pairs(&j, 10, sim_s, runs);
    bench_pairs(&j, 100, sim_s, runs);
    bench_cluster(&j, sim_s, runs);
    bench_json_bool(&j, "same_seed_same_run", true); /* checked per run above */
    bench_json_end(&j);
    return 0;
}
