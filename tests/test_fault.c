/*
 * Fault injection, one kind at a time, each checked against its trace
 * entries and counters: drop, duplicate, delay, reorder, partition (one way
 * and both ways) and replay.  Senders are the runtime itself ("node", sends
 * from the test thread) or actors.
 *
 * "Nothing more arrives" is shown without sleeping: once the rule is cleared,
 * an ask on the same link is answered only after everything enqueued before
 * it was handled.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(fault);

typedef struct sink {
    tidal_runtime *rt;
    rec_state rec;
    tidal_actor a;
    tidal_addr to;
} sink;

static void
sink_open(sink *s, tidal_runtime *rt, const char *name)
{
    s->rt = rt;
    rec_init_state(&s->rec);
    s->a = spawn_rec(rt, name, &s->rec);
    s->to = addr_of(rt, s->a);
}

static void
set_rule(tidal_runtime *rt, const char *from, const char *to, tidal_fault_rule r)
{
    TIDAL_PASS(tidal_fault_set(rt, from, to, &r));
}

Test(fault, drop_all)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    set_rule(rt, "node", "sink", (tidal_fault_rule){.drop = 1.0});
    for (uint32_t i = 0; i < 100; i++) {
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000)); /* the sender cannot tell */
    }
    TIDAL_PASS(tidal_fault_clear(rt, "node", "sink"));
    ask_ok(rt, &s.to);
    cr_assert_eq(rec_count(&s.rec), 0, "a dropped message arrived");
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    cr_assert_eq(n, 100);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_DROP);
        cr_assert_eq(t[i].link_seq, i);
    }
    free(t);
    cr_assert_eq(stats_of(rt).faults[TIDAL_FAULT_DROP], 100);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, s.a).queued == 0, 5000),
              "dropped messages kept their mailbox room");
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}

Test(fault, drop_some)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    set_rule(rt, "node", "sink", (tidal_fault_rule){.drop = 0.3});
    const uint32_t sent = 1000;
    for (uint32_t i = 0; i < sent; i++) {
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000));
    }
    TIDAL_PASS(tidal_fault_clear(rt, "node", "sink"));
    ask_ok(rt, &s.to);
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    bool *dropped = calloc(sent, sizeof(bool));
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_DROP);
        cr_assert_lt(t[i].link_seq, sent);
        dropped[t[i].link_seq] = true;
    }
    unsigned got = rec_count(&s.rec);
    cr_assert_eq(n, stats_of(rt).faults[TIDAL_FAULT_DROP]);
    cr_assert_eq(n, sent - got, "trace %zu drops, but %u of %u handled", n, got, sent);
    cr_assert(n > 200 && n < 400, "%zu of %u dropped at p=0.3", n, sent);
    /* exactly the messages not traced as dropped arrived, in order */
    unsigned j = 0;
    for (uint32_t i = 0; i < sent; i++) {
        if (!dropped[i]) {
            cr_assert_eq(s.rec.ents[j].seq, i, "arrival %u", j);
            j++;
        }
    }
    free(dropped);
    free(t);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}

Test(fault, duplicate_all)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    set_rule(rt, "node", "sink", (tidal_fault_rule){.duplicate = 1.0});
    for (uint32_t i = 0; i < 100; i++) {
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000));
    }
    TIDAL_PASS(tidal_fault_clear(rt, "node", "sink"));
    ask_ok(rt, &s.to);
    cr_assert_eq(rec_count(&s.rec), 200);
    unsigned seen[100] = {0};
    for (unsigned i = 0; i < 200; i++) {
        cr_assert_lt(s.rec.ents[i].seq, 100);
        seen[s.rec.ents[i].seq]++;
    }
    for (unsigned i = 0; i < 100; i++) {
        cr_assert_eq(seen[i], 2, "seq %u handled %u times", i, seen[i]);
    }
    cr_assert_eq(actor_stats_of(rt, s.a).duplicates_seen, 100);
    cr_assert_eq(stats_of(rt).duplicates_seen, 100);
    cr_assert_eq(stats_of(rt).faults[TIDAL_FAULT_DUPLICATE], 100);
    cr_assert_eq(trace_count(rt, "node", "sink", TIDAL_FAULT_DUPLICATE), 100);
    cr_assert_eq(trace_count(rt, "node", "sink", -1), 100);
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, s.a).queued == 0, 5000));
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}

Test(fault, delay_all)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    set_rule(rt, "node", "sink",
             (tidal_fault_rule){.delay = 1.0, .delay_min_ms = 30, .delay_max_ms = 30});
    uint64_t sent_at[20];
    for (uint32_t i = 0; i < 20; i++) {
        sent_at[i] = tidal_test_now_ms();
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 20, 5000), "%u of 20 arrived",
              rec_count(&s.rec));
    for (unsigned i = 0; i < 20; i++) {
        const rec_entry *e = &s.rec.ents[i];
        cr_assert_geq(e->at_ms, sent_at[e->seq] + 29, "seq %u arrived %llu ms after its send",
                      e->seq, (unsigned long long)(e->at_ms - sent_at[e->seq]));
    }
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    cr_assert_eq(n, 20);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_DELAY);
        cr_assert_eq(t[i].param, 30);
    }
    free(t);
    cr_assert_eq(stats_of(rt).faults[TIDAL_FAULT_DELAY], 20);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}

Test(fault, reorder_window)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    const uint32_t w = 8, total = 1000;
    set_rule(rt, "node", "sink", (tidal_fault_rule){.reorder_window = w});
    for (uint32_t i = 0; i < total; i++) {
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == total, 5000), "%u of %u arrived",
              rec_count(&s.rec), total);
    bool *seen = calloc(total, sizeof(bool));
    bool sorted = true;
    for (uint32_t i = 0; i < total; i++) {
        uint32_t q = s.rec.ents[i].seq;
        cr_assert_lt(q, total);
        cr_assert(!seen[q], "seq %u arrived twice", q);
        seen[q] = true;
        sorted = sorted && (i == 0 || q > s.rec.ents[i - 1].seq);
        /* held back by at most w - 1 later ones */
        uint32_t later_before = 0;
        for (uint32_t j = 0; j < i; j++) {
            later_before += s.rec.ents[j].seq > q;
        }
        cr_assert_leq(later_before, w - 1, "seq %u arrived after %u later ones", q, later_before);
    }
    free(seen);
    cr_assert(!sorted, "a reorder window of %u kept the order", w);
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    cr_assert_gt(n, 0);
    cr_assert_eq(n, stats_of(rt).faults[TIDAL_FAULT_REORDER]);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_REORDER);
        cr_assert(t[i].param >= 1 && t[i].param <= w - 1, "held back by %u", t[i].param);
    }
    free(t);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}

/* A relay: on GO n it sends n APP_SEQ messages to its peer; it records
 * everything else. */
#define GO 1001u

typedef struct relay {
    rec_state rec; /* first: rec_handle takes the state as a rec_state */
    tidal_addr peer;
    atomic_int errors;
} relay;

static int
relay_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    relay *r = state;
    if (msg->type != GO) {
        return rec_handle(ctx, &r->rec, msg);
    }
    for (uint32_t i = 0; i < seq_get(msg->payload); i++) {
        uint8_t p[4];
        seq_put(i, p);
        if (tidal_ctx_send(ctx, &r->peer, APP_SEQ, p, 4) != 0) {
            atomic_fetch_add(&r->errors, 1);
        }
    }
    return 0;
}

static const tidal_behaviour relay_behaviour = {.init = rec_init, .handle = relay_handle};

static tidal_addr
spawn_relay(tidal_runtime *rt, const char *name, relay *r)
{
    rec_init_state(&r->rec);
    tidal_spawn_opts o = {.name = name, .behaviour = &relay_behaviour, .arg = r};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    return addr_of(rt, a);
}

static void
go(tidal_runtime *rt, const tidal_addr *to, uint32_t n)
{
    uint8_t p[4];
    seq_put(n, p);
    TIDAL_PASS(tidal_send(rt, to, GO, p, 4, 5000));
}

static void
partition_body(int both_ways)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    relay a = {0}, b = {0};
    tidal_addr ta = spawn_relay(rt, "a", &a), tb = spawn_relay(rt, "b", &b);
    a.peer = tb;
    b.peer = ta;
    TIDAL_PASS(tidal_fault_partition(rt, "a", "b", both_ways));
    go(rt, &ta, 50);
    go(rt, &tb, 50);
    cr_assert(TIDAL_WAIT_UNTIL(trace_count(rt, "a", "b", TIDAL_FAULT_PARTITION) == 50, 5000));
    if (both_ways) {
        cr_assert(TIDAL_WAIT_UNTIL(trace_count(rt, "b", "a", TIDAL_FAULT_PARTITION) == 50, 5000));
    } else {
        cr_assert(TIDAL_WAIT_UNTIL(rec_count(&a.rec) == 50, 5000), "b -> a was cut too");
        cr_assert_eq(trace_count(rt, "b", "a", -1), 0);
    }
    cr_assert_eq(stats_of(rt).faults[TIDAL_FAULT_PARTITION], both_ways ? 100u : 50u);

    /* heal: only what is sent afterwards crosses */
    TIDAL_PASS(tidal_fault_clear(rt, "a", "b"));
    if (both_ways) {
        TIDAL_PASS(tidal_fault_clear(rt, "b", "a"));
    } else {
        TIDAL_FAIL(tidal_fault_clear(rt, "b", "a"), TIDAL_ENOENT);
    }
    go(rt, &ta, 7);
    go(rt, &tb, 7);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&b.rec) == 7, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&a.rec) == (both_ways ? 7u : 57u), 5000));
    ask_ok(rt, &tb);
    ask_ok(rt, &ta);
    cr_assert_eq(rec_count(&b.rec), 7, "a partitioned message crossed");
    cr_assert_eq(rec_count(&a.rec), both_ways ? 7u : 57u);
    cr_assert_eq(atomic_load(&a.errors) + atomic_load(&b.errors), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&a.rec);
    rec_free_state(&b.rec);
}

Test(fault, partition_one_way)
{
    partition_body(0);
}

Test(fault, partition_both_ways)
{
    partition_body(1);
}

Test(fault, replay_resends_the_last_envelopes)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    set_rule(rt, "node", "sink", (tidal_fault_rule){0}); /* memory only */
    for (uint32_t i = 0; i < 10; i++) {
        TIDAL_PASS(send_seq(rt, &s.to, i, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 10, 5000));
    cr_assert_eq(trace_count(rt, "node", "sink", -1), 0, "a rule of zeros injected a fault");
    uint64_t dups = actor_stats_of(rt, s.a).duplicates_seen;
    uint32_t sent = 0;
    TIDAL_PASS(tidal_fault_replay(rt, "node", "sink", 4, &sent));
    cr_assert_eq(sent, 4);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 14, 5000));
    for (unsigned i = 0; i < 4; i++) {
        cr_assert_eq(s.rec.ents[10 + i].seq, 6 + i, "replayed oldest first");
    }
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, s.a).duplicates_seen == dups + 4, 5000));
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    cr_assert_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_REPLAY);
        cr_assert_eq(t[i].param, i);
    }
    free(t);
    cr_assert_eq(stats_of(rt).faults[TIDAL_FAULT_REPLAY], 4);

    /* more than were kept: all of them, and no more */
    TIDAL_PASS(tidal_fault_replay(rt, "node", "sink", 1000, &sent));
    cr_assert_eq(sent, 10);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 24, 5000));
    TIDAL_FAIL(tidal_fault_replay(rt, "node", "nobody", 1, &sent), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_fault_replay(rt, "sink", "node", 1, NULL), TIDAL_ENOENT);

    /* replay_keep bounds the memory */
    sink s2;
    sink_open(&s2, rt, "sink2");
    set_rule(rt, "node", "sink2", (tidal_fault_rule){.replay_keep = 3});
    for (uint32_t i = 0; i < 10; i++) {
        TIDAL_PASS(send_seq(rt, &s2.to, i, 5000));
    }
    TIDAL_PASS(tidal_fault_replay(rt, "node", "sink2", 10, NULL));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s2.rec) == 13, 5000));
    for (unsigned i = 0; i < 3; i++) {
        cr_assert_eq(s2.rec.ents[10 + i].seq, 7 + i);
    }
    cr_assert_eq(trace_count(rt, "node", "sink2", TIDAL_FAULT_REPLAY), 3);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
    rec_free_state(&s2.rec);
}

/* tidal_send_as: a thread sending on an actor's behalf travels that actor's
 * link - its rule applies, the node's does not, and the receiver sees the
 * actor as the sender. */
Test(fault, send_as_travels_the_actors_link)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s, w;
    sink_open(&s, rt, "sink");
    sink_open(&w, rt, "worker");
    set_rule(rt, "worker", "sink", (tidal_fault_rule){.drop = 1.0});
    uint8_t p[4];
    for (uint32_t i = 0; i < 5; i++) {
        seq_put(i, p);
        TIDAL_PASS(tidal_send_as(rt, "worker", &s.to, APP_SEQ, p, 4, 5000));
    }
    cr_assert_eq(trace_count(rt, "worker", "sink", TIDAL_FAULT_DROP), 5);
    TIDAL_PASS(tidal_fault_clear(rt, "worker", "sink"));
    set_rule(rt, "node", "sink", (tidal_fault_rule){.drop = 1.0});
    seq_put(7, p);
    TIDAL_PASS(tidal_send_as(rt, "worker", &s.to, APP_SEQ, p, 4, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 1, 5000), "the node's rule stopped it");
    cr_assert_eq(s.rec.ents[0].seq, 7);
    cr_assert_str_eq(s.rec.ents[0].from, "worker");
    char big[TIDAL_NAME_BYTES_MAX + 1];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    TIDAL_FAIL(tidal_send_as(rt, NULL, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_send_as(rt, "", &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_send_as(rt, big, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
    rec_free_state(&w.rec);
}

/* An actor's message ids are one sequence whoever sends for it: its handler
 * and a thread sending as it never give the receiver the same id twice, so
 * the receiver's duplicate count stays exact (no fault injects any here). */
Test(fault, send_as_shares_the_actors_message_ids)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    relay w = {0};
    tidal_addr wa = spawn_relay(rt, "worker", &w);
    w.peer = s.to;
    go(rt, &wa, 50); /* 50 from the worker's handler */
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 50, 5000));
    uint8_t p[4];
    for (uint32_t i = 0; i < 50; i++) { /* and 50 as the worker from this thread */
        seq_put(100 + i, p);
        TIDAL_PASS(tidal_send_as_actor(rt, &wa, &s.to, APP_SEQ, p, 4, 5000));
    }
    go(rt, &wa, 50); /* and 50 more from its handler */
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 150, 5000));
    cr_assert_eq(atomic_load(&w.errors), 0);
    cr_assert_eq(stats_of(rt).duplicates_seen, 0, "ids repeated across the two senders");
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
    rec_free_state(&w.rec);
}

/* A send batch holds a thread's sends back until it ends, then they leave as
 * one frame; batches nest, and a thread has one open on one runtime at a
 * time. */
Test(fault, a_send_batch_leaves_as_one_frame_when_it_ends)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    tidal_runtime *other = rt_open(NULL, "other", 43, 0);
    sink s;
    sink_open(&s, rt, "sink");
    uint64_t frames = stats_of(rt).frames_sent;
    TIDAL_PASS(tidal_send_batch_begin(rt));
    TIDAL_PASS(tidal_send_batch_begin(rt)); /* nested */
    TIDAL_FAIL(tidal_send_batch_begin(other), TIDAL_EBUSY);
    uint8_t p[4];
    for (uint32_t i = 0; i < 100; i++) {
        seq_put(i, p);
        TIDAL_PASS(tidal_send_as(rt, "worker", &s.to, APP_SEQ, p, 4, 5000));
    }
    tidal_send_batch_end(rt); /* the inner one: still held */
    cr_assert_eq(stats_of(rt).frames_sent, frames, "a frame left before the batch ended");
    cr_assert_eq(rec_count(&s.rec), 0);
    tidal_send_batch_end(rt);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 100, 5000));
    cr_assert_eq(stats_of(rt).frames_sent, frames + 1, "100 sends, one frame");
    for (uint32_t i = 0; i < 100; i++) {
        cr_assert_eq(s.rec.ents[i].seq, i, "in order");
    }
    tidal_send_batch_end(rt); /* none open: nothing */
    TIDAL_FAIL(tidal_send_batch_begin(NULL), TIDAL_EINVAL);
    TIDAL_PASS(tidal_send_batch_begin(other)); /* the first one is over */
    tidal_send_batch_end(other);
    TIDAL_PASS(tidal_runtime_close(rt));
    TIDAL_PASS(tidal_runtime_close(other));
    rec_free_state(&s.rec);
}

/* tidal_send_as_actor: the same for a virtual actor, whose link is named
 * "<name>/<hex key>" - a rule on it applies, one on its owner's name does
 * not. */
Test(fault, send_as_actor_travels_a_virtual_actors_link)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 42, 0);
    sink s;
    sink_open(&s, rt, "sink");
    tidal_addr from = {.name = "worker", .key = {0x0a, 0xb0}, .key_len = 2};
    set_rule(rt, "worker/0ab0", "sink", (tidal_fault_rule){.drop = 1.0});
    set_rule(rt, "worker", "sink", (tidal_fault_rule){.drop = 1.0});
    uint8_t p[4];
    for (uint32_t i = 0; i < 3; i++) {
        seq_put(i, p);
        TIDAL_PASS(tidal_send_as_actor(rt, &from, &s.to, APP_SEQ, p, 4, 5000));
    }
    cr_assert_eq(trace_count(rt, "worker/0ab0", "sink", TIDAL_FAULT_DROP), 3);
    cr_assert_eq(trace_count(rt, "worker", "sink", TIDAL_FAULT_DROP), 0);
    TIDAL_PASS(tidal_fault_clear(rt, "worker/0ab0", "sink"));
    seq_put(9, p);
    TIDAL_PASS(tidal_send_as_actor(rt, &from, &s.to, APP_SEQ, p, 4, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&s.rec) == 1, 5000), "the owner's rule stopped it");
    cr_assert_eq(s.rec.ents[0].seq, 9);
    cr_assert_str_eq(s.rec.ents[0].from, "worker");
    tidal_addr bad = from;
    TIDAL_FAIL(tidal_send_as_actor(rt, NULL, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    bad.name[0] = '\0';
    TIDAL_FAIL(tidal_send_as_actor(rt, &bad, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    bad = from;
    memset(bad.name, 'a', sizeof(bad.name));
    TIDAL_FAIL(tidal_send_as_actor(rt, &bad, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    bad = from;
    bad.key_len = TIDAL_KEY_BYTES_MAX + 1;
    TIDAL_FAIL(tidal_send_as_actor(rt, &bad, &s.to, APP_SEQ, p, 4, 0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&s.rec);
}
