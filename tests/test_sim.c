/*
 * Deterministic simulation (include/tidal/sim.h): runtimes on one thread
 * under a simulated clock, frames carried by a simulated network through
 * the same framing, fault and mailbox path as over nng.
 *
 * The scenario of the determinism tests: two runtimes; on A, four senders
 * each send a numbered sequence to one or two of three recorders on B when
 * triggered, and a ticker re-arms a timer; every sender -> recorder link
 * has a rule that drops, duplicates, delays and reorders.  The same seed
 * must give the same fault trace entry for entry, the same arrivals in the
 * same order with the same ids and clock stamps, and the same simulated
 * end time; another seed another trace.
 */
#include <inttypes.h>

#include "test_actor_helpers.h"
#include "tidal/sim.h"

TIDAL_SUITE(sim);

#define GO 1001u
#define SENDERS 4
#define RECEIVERS 3
#define COUNT 300u
#define SEC 1000000000ull

typedef struct burst {
    tidal_addr to[2];
    int nto;
    int done;
} burst;

static int
burst_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    burst *b = state;
    if (msg->type != GO) {
        return 0;
    }
    for (uint32_t i = 0; i < COUNT; i++) {
        uint8_t p[4];
        seq_put(i, p);
        for (int t = 0; t < b->nto; t++) {
            cr_assert_eq(tidal_ctx_send(ctx, &b->to[t], APP_SEQ, p, 4), 0);
        }
    }
    b->done = 1;
    return 0;
}

static const tidal_behaviour burst_behaviour = {.init = arg_as_state_init, .handle = burst_handle};

static const int fanout[SENDERS][2] = {{0, -1}, {0, 1}, {1, 2}, {2, 0}};

typedef struct run_result {
    tidal_trace_entry *trace;
    size_t ntrace;
    rec_state rec[RECEIVERS];
    uint64_t end_ns;
    tidal_sim_stats st;
    uint64_t faults[TIDAL_FAULT_COUNT];
} run_result;

typedef struct arrived_arg {
    run_result *r;
    unsigned want;
} arrived_arg;

static bool
all_arrived(void *arg)
{
    arrived_arg *a = arg;
    unsigned n = 0;
    for (int i = 0; i < RECEIVERS; i++) {
        n += rec_count(&a->r->rec[i]);
    }
    return n == a->want;
}

static tidal_runtime *
sim_rt(tidal_sim *s, const char *url, const char *name, uint64_t seed)
{
    tidal_runtime_opts o = {.url = url, .name = name, .seed = seed, .sim = s};
    tidal_runtime *rt = NULL;
    TIDAL_PASS(tidal_runtime_open(&o, &rt));
    return rt;
}

static void
run(uint64_t seed, run_result *out)
{
    memset(out, 0, sizeof(*out));
    tidal_sim *s;
    tidal_sim_opts so = {.seed = seed, .latency_min_us = 20, .latency_max_us = 900};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    tidal_runtime *a = sim_rt(s, "sim://a", "a", seed);
    tidal_runtime *b = sim_rt(s, "sim://b", "b", seed);
    tidal_addr raddr[RECEIVERS];
    for (int r = 0; r < RECEIVERS; r++) {
        char name[16];
        snprintf(name, sizeof(name), "r%d", r);
        rec_init_state(&out->rec[r]);
        raddr[r] = addr_of(b, spawn_rec(b, name, &out->rec[r]));
    }
    tidal_fault_rule rule = {.drop = 0.1, .duplicate = 0.1, .delay = 0.1, .delay_min_ms = 1,
                             .delay_max_ms = 50, .reorder_window = 4};
    TIDAL_PASS(tidal_fault_set(a, "s*", "r*", &rule));
    burst bs[SENDERS];
    tidal_addr saddr[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        memset(&bs[i], 0, sizeof(bs[i]));
        for (int k = 0; k < 2 && fanout[i][k] >= 0; k++) {
            bs[i].to[bs[i].nto++] = raddr[fanout[i][k]];
        }
        char name[16];
        snprintf(name, sizeof(name), "s%d", i);
        tidal_spawn_opts o = {.name = name, .behaviour = &burst_behaviour, .arg = &bs[i]};
        tidal_actor act;
        TIDAL_PASS(tidal_spawn(a, &o, &act));
        saddr[i] = addr_of(a, act);
    }
    for (int i = 0; i < SENDERS; i++) {
        TIDAL_PASS(tidal_send(a, &saddr[i], GO, NULL, 0, 1000));
    }
    /* the senders run only when the simulation does */
    for (int i = 0; i < SENDERS; i++) {
        cr_assert_eq(bs[i].done, 0);
    }
    tidal_sim_run_for(s, 1000000); /* 1 ms: every sender ran */
    for (int i = 0; i < SENDERS; i++) {
        cr_assert_eq(bs[i].done, 1);
    }
    tidal_stats st = stats_of(a);
    arrived_arg w = {.r = out,
                     .want = 7 * COUNT - (unsigned)st.faults[TIDAL_FAULT_DROP] +
                             (unsigned)st.faults[TIDAL_FAULT_DUPLICATE]};
    TIDAL_PASS(tidal_sim_run_until(s, all_arrived, &w, 60 * SEC));
    st = stats_of(a);
    memcpy(out->faults, st.faults, sizeof(out->faults));
    out->ntrace = (size_t)tidal_trace_total(a);
    out->trace = calloc(out->ntrace + 1, sizeof(*out->trace));
    cr_assert_eq(tidal_trace_read(a, 0, out->trace, out->ntrace), out->ntrace);
    out->end_ns = tidal_sim_now_ns(s);
    tidal_sim_stats_get(s, &out->st);
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_sim_close(s));
}

static void
run_free(run_result *r)
{
    free(r->trace);
    for (int i = 0; i < RECEIVERS; i++) {
        rec_free_state(&r->rec[i]);
    }
}

static bool
same_arrivals(const rec_state *x, const rec_state *y)
{
    unsigned n = atomic_load(&x->n);
    if (n != atomic_load(&y->n)) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        const rec_entry *p = &x->ents[i], *q = &y->ents[i];
        if (p->seq != q->seq || p->id != q->id || strcmp(p->from, q->from) != 0 ||
            tidal_hlc_compare(&p->hlc, &q->hlc) != 0) {
            return false;
        }
    }
    return true;
}

Test(sim, same_seed_same_run)
{
    run_result x, y, z;
    run(7, &x);
    const int kinds[] = {TIDAL_FAULT_DROP, TIDAL_FAULT_DUPLICATE, TIDAL_FAULT_DELAY,
                         TIDAL_FAULT_REORDER};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        cr_assert_gt(x.faults[kinds[k]], 0, "no %s injected", tidal_fault_name(kinds[k]));
    }
    run(7, &y);
    cr_assert_eq(x.ntrace, y.ntrace);
    cr_assert_eq(memcmp(x.trace, y.trace, x.ntrace * sizeof(*x.trace)), 0,
                 "same seed, another fault trace");
    for (int i = 0; i < RECEIVERS; i++) {
        cr_assert(same_arrivals(&x.rec[i], &y.rec[i]), "r%d: other arrivals", i);
    }
    cr_assert_eq(x.end_ns, y.end_ns);
    cr_assert_eq(memcmp(&x.st, &y.st, sizeof(x.st)), 0);
    run(8, &z);
    cr_assert(x.ntrace != z.ntrace || memcmp(x.trace, z.trace, x.ntrace * sizeof(*x.trace)) != 0,
              "another seed gave the same trace");
    run_free(&x);
    run_free(&y);
    run_free(&z);
}

/* An ask blocks the caller's thread in real mode; in a simulation it runs
 * the simulation until the answer is back: two travel times later. */
Test(sim, ask_runs_the_simulation)
{
    tidal_sim *s;
    tidal_sim_opts so = {.seed = 1, .latency_min_us = 100, .latency_max_us = 200};
    TIDAL_PASS(tidal_sim_open(&so, &s));
    tidal_runtime *a = sim_rt(s, NULL, "a", 0);
    tidal_runtime *b = sim_rt(s, NULL, "b", 0);
    cr_assert_eq(strncmp(tidal_runtime_url(a), "sim://", 6), 0);
    echo_state es = {0};
    tidal_spawn_opts o = {.name = "echo", .behaviour = &echo_behaviour, .arg = &es};
    tidal_actor e;
    TIDAL_PASS(tidal_spawn(b, &o, &e));
    tidal_addr to = addr_of(b, e);
    uint8_t p[64];
    uint32_t n = ping_payload(42, NULL, 0, p, sizeof(p));
    tidal_reply r;
    uint64_t t0 = tidal_sim_now_ns(s);
    TIDAL_PASS(tidal_ask(a, &to, TIDAL_MSG_PING, p, n, 1000, &r));
    uint64_t took = tidal_sim_now_ns(s) - t0;
    cr_assert_eq(r.type, TIDAL_MSG_PONG);
    tidal_reply_free(&r);
    cr_assert(took >= 200000 && took <= 400000, "simulated round trip %llu ns",
              (unsigned long long)took);
    /* no answer: the ask times out at its simulated deadline */
    TIDAL_PASS(tidal_stop(b, e));
    t0 = tidal_sim_now_ns(s);
    TIDAL_FAIL(tidal_ask(a, &to, TIDAL_MSG_PING, p, n, 250, &r), TIDAL_ETIMEDOUT);
    /* deadlines are whole milliseconds of the runtime's clock */
    cr_assert_gt(tidal_sim_now_ns(s) - t0, 249 * 1000000ull);
    cr_assert_leq(tidal_sim_now_ns(s) - t0, 250 * 1000000ull);
    tidal_sim_stats st;
    tidal_sim_stats_get(s, &st);
    cr_assert_eq(st.frames_lost, 1, "the ask to a stopped actor is lost on the way");
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_sim_close(s));
}

static bool
got_one(void *arg)
{
    return rec_count(arg) >= 1;
}

/* Timers fire at their simulated time, however long: an hour-long timer
 * takes no real hour; a deadline before it leaves the clock at the deadline. */
Test(sim, timers_fire_at_simulated_time)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    tidal_runtime *a = sim_rt(s, NULL, "a", 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(a, spawn_rec(a, "r", &rec));
    uint8_t p[4];
    seq_put(5, p);
    TIDAL_PASS(tidal_timer_after(a, &to, 3600u * 1000u, APP_SEQ, p, 4));
    TIDAL_FAIL(tidal_sim_run_until(s, got_one, &rec, 3599 * SEC), TIDAL_ETIMEDOUT);
    cr_assert_eq(tidal_sim_now_ns(s), 3599 * SEC);
    cr_assert_eq(rec_count(&rec), 0);
    TIDAL_PASS(tidal_sim_run_until(s, got_one, &rec, 3601 * SEC));
    cr_assert_eq(rec.ents[0].type, APP_SEQ);
    cr_assert_eq(rec.ents[0].seq, 5);
    cr_assert_geq(tidal_sim_now_ns(s), 3600 * SEC);
    /* its clock stamp is the simulated wall clock */
    cr_assert_geq(rec.ents[0].hlc.wall_ns, tidal_sim_wall_ns(s) - 3601 * SEC + 3600 * SEC);
    cr_assert_leq(rec.ents[0].hlc.wall_ns, tidal_sim_wall_ns(s));
    cr_assert_eq(tidal_wall_ns(a), tidal_sim_wall_ns(s));
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_sim_close(s));
    rec_free_state(&rec);
}

/* Idle virtual actors passivate after their idle time of simulated time. */
Test(sim, virtual_actors_passivate_in_simulated_time)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    tidal_runtime *a = sim_rt(s, NULL, "a", 0);
    rec_state owner, v;
    rec_init_state(&owner);
    rec_init_state(&v);
    tidal_spawn_opts o = {.name = "own", .behaviour = &rec_behaviour, .arg = &owner,
                          .virtual_behaviour = &rec_behaviour, .virtual_arg = &v,
                          .virtual_idle_ms = 60000};
    tidal_actor act;
    TIDAL_PASS(tidal_spawn(a, &o, &act));
    tidal_addr own = addr_of(a, act), to;
    TIDAL_PASS(tidal_addr_virtual(&to, &own, "k1", 2));
    TIDAL_PASS(send_seq(a, &to, 1, 1000));
    TIDAL_PASS(tidal_sim_run_until(s, got_one, &v, SEC));
    cr_assert_eq(atomic_load(&v.inits), 1);
    tidal_sim_run_for(s, 30 * SEC);
    cr_assert_eq(atomic_load(&v.finis), 0, "passivated before its idle time");
    tidal_sim_run_for(s, 120 * SEC);
    cr_assert_eq(atomic_load(&v.finis), 1, "not passivated after its idle time");
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_sim_close(s));
    rec_free_state(&owner);
    rec_free_state(&v);
}

typedef struct count_arg {
    rec_state *r;
    unsigned want;
} count_arg;

static bool
got_all(void *arg)
{
    count_arg *c = arg;
    return rec_count(c->r) >= c->want;
}

/* A receiver at its bound stops taking frames; the simulated network holds
 * them and hands them over in order once it has room. */
Test(sim, backpressure_holds_frames_in_order)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    tidal_runtime *a = sim_rt(s, NULL, "a", 0);
    tidal_runtime *b = sim_rt(s, NULL, "b", 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_spawn_opts o = {.name = "r", .behaviour = &rec_behaviour, .arg = &rec,
                          .mailbox_max = 8};
    tidal_actor r;
    TIDAL_PASS(tidal_spawn(b, &o, &r));
    tidal_addr to = addr_of(b, r);
    const unsigned n = 2000;
    TIDAL_PASS(tidal_send_batch_begin(a));
    for (unsigned i = 0; i < n; i++) {
        TIDAL_PASS(send_seq(a, &to, i, 0));
        if (i % 7 == 6) { /* many small frames */
            tidal_send_batch_end(a);
            TIDAL_PASS(tidal_send_batch_begin(a));
        }
    }
    tidal_send_batch_end(a);
    count_arg c = {&rec, n};
    TIDAL_PASS(tidal_sim_run_until(s, got_all, &c, 60 * SEC));
    cr_assert_eq(rec_count(&rec), n);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(rec.ents[i].seq, i, "arrival %u is %u", i, rec.ents[i].seq);
    }
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_sim_close(s));
    rec_free_state(&rec);
}

Test(sim, misuse_is_refused)
{
    tidal_sim *s, *s2;
    tidal_sim_opts bad = {.latency_min_us = 10, .latency_max_us = 5};
    TIDAL_FAIL(tidal_sim_open(&bad, &s), TIDAL_EINVAL);
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    TIDAL_FAIL(tidal_sim_open(NULL, &s2), TIDAL_EBUSY);
    tidal_runtime_opts o = {.url = "inproc://x", .sim = s};
    tidal_runtime *rt;
    TIDAL_FAIL(tidal_runtime_open(&o, &rt), TIDAL_EADDR);
    tidal_runtime_opts real = {.url = "sim://x"};
    TIDAL_FAIL(tidal_runtime_open(&real, &rt), TIDAL_EADDR);
    rt = sim_rt(s, "sim://x", "x", 0);
    TIDAL_FAIL(tidal_sim_close(s), TIDAL_EBUSY);
    echo_state es = {0};
    tidal_spawn_opts so = {.name = "e", .url = "inproc://nope", .behaviour = &echo_behaviour,
                           .arg = &es};
    tidal_actor e;
    TIDAL_FAIL(tidal_spawn(rt, &so, &e), TIDAL_EADDR);
    so.url = NULL;
    TIDAL_PASS(tidal_spawn(rt, &so, &e));
    tidal_addr far;
    TIDAL_PASS(tidal_addr_make(&far, "inproc://elsewhere", "e", NULL, 0));
    TIDAL_FAIL(tidal_send(rt, &far, APP_SEQ, "abcd", 4, 0), TIDAL_EADDR);
    TIDAL_PASS(tidal_runtime_close(rt));
    TIDAL_PASS(tidal_sim_close(s));
    TIDAL_PASS(tidal_sim_open(NULL, &s)); /* closed: another may open */
    TIDAL_PASS(tidal_sim_close(s));
}

typedef struct via_state {
    uint16_t via[8];
    int n;
} via_state;

static int
via_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    via_state *v = state;
    if (v->n < 8) {
        v->via[v->n++] = msg->via;
    }
    return 0;
}

static const tidal_behaviour via_behaviour = {.init = arg_as_state_init, .handle = via_handle};

static bool
got_one_via(void *arg)
{
    return ((via_state *)arg)->n >= 1;
}

static bool
got_vias(void *arg)
{
    return ((via_state *)arg)->n >= 3;
}

/* A peer listener is another URL of the actor whose frames carry its tag,
 * as over nng: the attribution regions build their trust on. */
Test(sim, peer_listeners_attribute_frames)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(NULL, &s));
    tidal_runtime *a = sim_rt(s, "sim://a", "a", 0);
    tidal_runtime *b = sim_rt(s, "sim://b", "b", 0);
    via_state v = {0};
    tidal_spawn_opts o = {.name = "v", .behaviour = &via_behaviour, .arg = &v};
    tidal_actor act;
    TIDAL_PASS(tidal_spawn(b, &o, &act));
    char url[TIDAL_URL_BYTES_MAX];
    TIDAL_PASS(tidal_listen_peer(b, act, 3, NULL, NULL, url));
    cr_assert_str_eq(url, "sim://b/v~3");
    TIDAL_FAIL(tidal_listen_peer(b, act, 3, "sim://b/other", NULL, url), TIDAL_EEXIST);
    TIDAL_FAIL(tidal_listen_peer(b, act, 4, "sim://b/v~3", NULL, url), TIDAL_EADDR);
    tidal_addr pub = addr_of(b, act), peer;
    TIDAL_PASS(tidal_addr_make(&peer, "sim://b/v~3", "v", NULL, 0));
    TIDAL_PASS(send_seq(a, &pub, 1, 0));   /* another runtime, public listener */
    TIDAL_PASS(send_seq(a, &peer, 2, 0));  /* through the peer listener */
    TIDAL_PASS(send_seq(b, &pub, 3, 0));   /* its own runtime */
    TIDAL_PASS(tidal_sim_run_until(s, got_vias, &v, SEC));
    bool pub_seen = false, peer_seen = false, self_seen = false;
    for (int i = 0; i < v.n; i++) {
        pub_seen |= v.via[i] == TIDAL_VIA_PUBLIC;
        peer_seen |= v.via[i] == 3;
        self_seen |= v.via[i] == TIDAL_VIA_SELF;
    }
    cr_assert(pub_seen && peer_seen && self_seen);
    TIDAL_PASS(tidal_runtime_close(a));
    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_sim_close(s));
}

static bool
rejected_since(void *arg)
{
    void **a = arg;
    tidal_stats now = stats_of(a[0]);
    const tidal_stats *before = a[1];
    for (int k = 0; k < TIDAL_REJECT_COUNT; k++) {
        if (now.rejected[k] != before->rejected[k]) {
            return true;
        }
    }
    return false;
}

/* Bytes injected from outside are a frame like any other: garbage meets the
 * strict frame check and decoding - rejected, counted by reason, nothing
 * handled - and a well-formed frame is decoded and handled, attributed to
 * the public listener. */
Test(sim, injected_bytes_meet_the_frame_checks)
{
    tidal_sim *s;
    TIDAL_PASS(tidal_sim_open(&(tidal_sim_opts){.seed = 5}, &s));
    tidal_runtime *b = sim_rt(s, "sim://b", "b", 0);
    via_state v = {0};
    tidal_spawn_opts o = {.name = "v", .behaviour = &via_behaviour, .arg = &v};
    tidal_actor act;
    TIDAL_PASS(tidal_spawn(b, &o, &act));
    tidal_addr to = addr_of(b, act);
    TIDAL_FAIL(tidal_sim_inject(s, "inproc://b/v", "x", 1), TIDAL_EADDR);
    TIDAL_FAIL(tidal_sim_inject(s, NULL, "x", 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sim_inject(s, to.url, NULL, 1), TIDAL_EINVAL);

    static const char bad_header[] = "not a frame at all";
    static const char bad_body[] = "TDLF\x01\x00\x00\x00\x07\x07\x07\x07\x07\x07\x07\x07"
                                   "garbage that is not an envelope";
    const char *junk[] = {bad_header, bad_body};
    const size_t junk_len[] = {sizeof(bad_header), sizeof(bad_body)};
    const int reason[] = {TIDAL_REJECT_FRAME_HEADER, -1};
    for (int j = 0; j < 2; j++) {
        tidal_stats before = stats_of(b);
        TIDAL_PASS(tidal_sim_inject(s, to.url, junk[j], junk_len[j]));
        cr_assert(!rejected_since((void *[]){b, &before}), "nothing arrives before it travels");
        TIDAL_PASS(tidal_sim_run_until(s, rejected_since, (void *[]){b, &before}, SEC));
        tidal_sim_run_for(s, 10 * 1000000ull); /* anything more would show */
        tidal_stats after = stats_of(b);
        uint64_t n = 0;
        for (int k = 0; k < TIDAL_REJECT_COUNT; k++) {
            n += after.rejected[k] - before.rejected[k];
        }
        cr_assert_eq(n, 1, "junk %d: %" PRIu64 " rejections", j, n);
        if (reason[j] >= 0) {
            cr_assert_eq(after.rejected[reason[j]] - before.rejected[reason[j]], 1);
        }
        cr_assert_eq(v.n, 0, "junk %d was handled", j);
    }

    /* a well-formed frame from no runtime: decoded, handled, via public */
    tidal_buf f;
    frame_begin(&f, 0x1234);
    tidal_envelope e = raw_envelope("v", APP_SEQ, "abcd", 4, 99);
    e.hlc.wall_ns = tidal_wall_ns(b); /* the simulated wall, not the machine's */
    frame_add(&f, &e);
    TIDAL_PASS(tidal_sim_inject(s, to.url, f.data, f.len));
    tidal_buf_fini(&f);
    TIDAL_PASS(tidal_sim_run_until(s, got_one_via, &v, SEC));
    cr_assert_eq(v.via[0], TIDAL_VIA_PUBLIC);

    tidal_sim_stats st0, st1;
    tidal_sim_stats_get(s, &st0);
    TIDAL_PASS(tidal_sim_inject(s, "sim://nowhere", "x", 1));
    tidal_sim_run_for(s, SEC);
    tidal_sim_stats_get(s, &st1);
    cr_assert_eq(st1.frames_lost, st0.frames_lost + 1);
    TIDAL_PASS(tidal_runtime_close(b));
    TIDAL_PASS(tidal_sim_close(s));
}
