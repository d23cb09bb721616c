/*
 * Fault rules: replacement, clearing, which rule wins, refusal of bad rules,
 * the rule limit, wildcard patterns, virtual actor link names
 * ("owner/<hex key>"), and faults still pending at close.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(fault_rules);

static void
set_rule(tidal_runtime *rt, const char *from, const char *to, tidal_fault_rule r)
{
    TIDAL_PASS(tidal_fault_set(rt, from, to, &r));
}

/* Sends seqs [from, to) from the test thread. */
static void
send_range(tidal_runtime *rt, const tidal_addr *to, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = lo; i < hi; i++) {
        TIDAL_PASS(send_seq(rt, to, i, 5000));
    }
}

Test(fault_rules, replacement_clear_and_newest_wins)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));

    set_rule(rt, "node", "sink", (tidal_fault_rule){.drop = 1.0});
    send_range(rt, &to, 0, 5);
    set_rule(rt, "node", "sink", (tidal_fault_rule){.drop = 0.0}); /* replaces it */
    send_range(rt, &to, 5, 10);
    TIDAL_PASS(tidal_fault_clear(rt, "node", "sink"));
    TIDAL_FAIL(tidal_fault_clear(rt, "node", "sink"), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_fault_clear(rt, "node", "other"), TIDAL_ENOENT);
    ask_ok(rt, &to);
    cr_assert_eq(rec_count(&rec), 5);
    for (unsigned i = 0; i < 5; i++) {
        cr_assert_eq(rec.ents[i].seq, 5 + i);
    }
    cr_assert_eq(trace_count(rt, "node", "sink", TIDAL_FAULT_DROP), 5);

    /* both match: the most recently set wins, and replacing one makes it newest */
    set_rule(rt, "*", "sink", (tidal_fault_rule){.drop = 1.0});
    set_rule(rt, "node", "sink", (tidal_fault_rule){0});
    send_range(rt, &to, 10, 13); /* delivered */
    set_rule(rt, "*", "sink", (tidal_fault_rule){.drop = 1.0});
    send_range(rt, &to, 13, 16); /* dropped */
    tidal_fault_clear_all(rt);
    TIDAL_FAIL(tidal_fault_clear(rt, "*", "sink"), TIDAL_ENOENT);
    send_range(rt, &to, 16, 19); /* delivered */
    ask_ok(rt, &to);
    cr_assert_eq(rec_count(&rec), 11);
    const uint32_t want[] = {10, 11, 12, 16, 17, 18};
    for (unsigned i = 0; i < 6; i++) {
        cr_assert_eq(rec.ents[5 + i].seq, want[i], "arrival %u", 5 + i);
    }
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

Test(fault_rules, bad_rules_are_refused)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    const tidal_fault_rule bad[] = {
        {.drop = 1.5},
        {.drop = -0.1},
        {.duplicate = 1.0000001},
        {.duplicate = -1e-9},
        {.delay = 2.0, .delay_min_ms = 1, .delay_max_ms = 2},
        {.delay = -0.5},
        {.drop = __builtin_nan("")},
        {.delay = 1.0, .delay_min_ms = 31, .delay_max_ms = 30},
        {.delay = 1.0, .delay_min_ms = 1, .delay_max_ms = TIDAL_DELAY_MS_MAX + 1},
        {.reorder_window = TIDAL_REORDER_WINDOW_MAX + 1},
        {.replay_keep = TIDAL_REPLAY_KEEP_MAX + 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(tidal_fault_set(rt, "a", "b", &bad[i]), TIDAL_EINVAL, "bad rule %zu", i);
    }
    const tidal_fault_rule good[] = {
        {.drop = 1.0, .duplicate = 0.0},
        {.delay = 1.0, .delay_min_ms = 30, .delay_max_ms = 30},
        {.delay = 1.0, .delay_min_ms = 0, .delay_max_ms = TIDAL_DELAY_MS_MAX},
        {.reorder_window = TIDAL_REORDER_WINDOW_MAX},
        {.reorder_window = TIDAL_REORDER_WINDOW_MAX - 1},
        {.replay_keep = TIDAL_REPLAY_KEEP_MAX},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        TIDAL_PASS(tidal_fault_set(rt, "a", "b", &good[i]));
    }
    tidal_fault_rule r = {.drop = 0.5};
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    const char *bad_pat[] = {NULL, "", "a*b", "*a", "**", "a**", longname};
    for (size_t i = 0; i < sizeof(bad_pat) / sizeof(bad_pat[0]); i++) {
        cr_assert_eq(tidal_fault_set(rt, bad_pat[i], "b", &r), TIDAL_EINVAL, "from %zu", i);
        cr_assert_eq(tidal_fault_set(rt, "a", bad_pat[i], &r), TIDAL_EINVAL, "to %zu", i);
    }
    TIDAL_FAIL(tidal_fault_set(rt, "a", "b", NULL), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_fault_partition(rt, "", "b", 1), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_fault_partition(rt, "a*b", "b", 0), TIDAL_EINVAL);
    TIDAL_PASS(tidal_fault_set(rt, "*", "*", &r));
    TIDAL_PASS(tidal_fault_set(rt, "reg*", "sessions/*", &r));
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(fault_rules, rule_limit)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    tidal_fault_rule r = {.drop = 0.1};
    char from[32];
    for (uint32_t i = 0; i < TIDAL_FAULT_RULES_MAX; i++) {
        snprintf(from, sizeof(from), "f%u", i);
        cr_assert_eq(tidal_fault_set(rt, from, "t", &r), 0, "rule %u", i);
    }
    TIDAL_FAIL(tidal_fault_set(rt, "one-more", "t", &r), TIDAL_ELIMIT);
    TIDAL_PASS(tidal_fault_set(rt, "f7", "t", &r)); /* replacing needs no room */
    TIDAL_PASS(tidal_fault_clear(rt, "f7", "t"));
    TIDAL_PASS(tidal_fault_set(rt, "one-more", "t", &r));
    TIDAL_FAIL(tidal_fault_set(rt, "two-more", "t", &r), TIDAL_ELIMIT);
    tidal_fault_clear_all(rt);
    TIDAL_PASS(tidal_fault_set(rt, "two-more", "t", &r));
    TIDAL_PASS(tidal_runtime_close(rt));
}

Test(fault_rules, wildcard_patterns)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    rec_state r1, r2, r3;
    rec_init_state(&r1);
    rec_init_state(&r2);
    rec_init_state(&r3);
    tidal_addr t1 = addr_of(rt, spawn_rec(rt, "sink", &r1));
    tidal_addr t2 = addr_of(rt, spawn_rec(rt, "sink-2", &r2));
    tidal_addr t3 = addr_of(rt, spawn_rec(rt, "other", &r3));

    set_rule(rt, "*", "sink*", (tidal_fault_rule){.drop = 1.0});
    send_range(rt, &t1, 0, 4);
    send_range(rt, &t2, 0, 4);
    send_range(rt, &t3, 0, 4);
    tidal_fault_clear_all(rt);
    ask_ok(rt, &t1);
    ask_ok(rt, &t2);
    ask_ok(rt, &t3);
    cr_assert_eq(rec_count(&r1), 0);
    cr_assert_eq(rec_count(&r2), 0);
    cr_assert_eq(rec_count(&r3), 4);
    cr_assert_eq(trace_count(rt, "node", "sink", TIDAL_FAULT_DROP), 4);
    cr_assert_eq(trace_count(rt, "node", "sink-2", TIDAL_FAULT_DROP), 4);
    cr_assert_eq(trace_count(rt, "node", "other", -1), 0);

    set_rule(rt, "no*", "*", (tidal_fault_rule){.duplicate = 1.0});
    set_rule(rt, "nod", "*", (tidal_fault_rule){.drop = 1.0}); /* matches nothing */
    set_rule(rt, "node-", "*", (tidal_fault_rule){.drop = 1.0});
    send_range(rt, &t3, 10, 12);
    tidal_fault_clear_all(rt);
    ask_ok(rt, &t3);
    cr_assert_eq(rec_count(&r3), 8, "the prefix rule did not duplicate");
    cr_assert_eq(trace_count(rt, "node", "other", TIDAL_FAULT_DUPLICATE), 2);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&r1);
    rec_free_state(&r2);
    rec_free_state(&r3);
}

/* A virtual behaviour that forwards every APP_SEQ to the sink in its arg. */
typedef struct fwd {
    tidal_addr sink;
    atomic_int errors;
} fwd;

static int
fwd_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    fwd *f = state;
    if (msg->type == APP_SEQ && tidal_ctx_send(ctx, &f->sink, APP_SEQ, msg->payload, msg->len)) {
        atomic_fetch_add(&f->errors, 1);
    }
    return 0;
}

static const tidal_behaviour fwd_behaviour = {.init = arg_as_state_init, .handle = fwd_handle};

Test(fault_rules, virtual_actor_links_are_owner_slash_hex_key)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    rec_state sink;
    rec_init_state(&sink);
    fwd f = {.sink = addr_of(rt, spawn_rec(rt, "sink", &sink))};
    tidal_spawn_opts o = {.name = "vown",
                          .behaviour = &fwd_behaviour,
                          .arg = &f,
                          .virtual_behaviour = &fwd_behaviour,
                          .virtual_arg = &f};
    tidal_actor own;
    TIDAL_PASS(tidal_spawn(rt, &o, &own));
    tidal_addr oa = addr_of(rt, own), ka, kb;
    const uint8_t key_a[4] = {0x0a, 0x0b, 0xc0, 0xff}, key_b[2] = {0x01, 0x02};
    TIDAL_PASS(tidal_addr_virtual(&ka, &oa, key_a, sizeof(key_a)));
    TIDAL_PASS(tidal_addr_virtual(&kb, &oa, key_b, sizeof(key_b)));

    /* to a virtual actor: the exact name, lowercase hex */
    set_rule(rt, "node", "vown/0a0bc0ff", (tidal_fault_rule){.drop = 1.0});
    set_rule(rt, "node", "VOWN/0A0BC0FF", (tidal_fault_rule){.duplicate = 1.0});
    /* from a virtual actor: "vown/<hex>" is not "vown" */
    set_rule(rt, "vown/01*", "sink", (tidal_fault_rule){.duplicate = 1.0});
    send_range(rt, &ka, 0, 3); /* dropped on the way in */
    send_range(rt, &kb, 3, 5); /* forwarded to the sink, twice each */
    send_range(rt, &oa, 5, 6); /* the owner itself: forwarded once */
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&sink) >= 5, 5000));
    tidal_fault_clear_all(rt);
    ask_ok(rt, &f.sink);
    cr_assert_eq(trace_count(rt, "node", "vown/0a0bc0ff", TIDAL_FAULT_DROP), 3);
    cr_assert_eq(trace_count(rt, "node", "vown/0a0bc0ff", -1), 3);
    cr_assert_eq(trace_count(rt, "node", "vown/0102", -1), 0);
    cr_assert_eq(trace_count(rt, "vown/0102", "sink", TIDAL_FAULT_DUPLICATE), 2);
    cr_assert_eq(trace_count(rt, "vown", "sink", -1), 0);
    cr_assert_eq(rec_count(&sink), 5); /* 3 and 4 twice, 5 once */
    unsigned from_virtual = 0;
    for (unsigned i = 0; i < 5; i++) {
        const rec_entry *e = &sink.ents[i];
        cr_assert_str_eq(e->from, "vown");
        from_virtual += e->from_key_len == 2;
        cr_assert((e->seq == 5) == (e->from_key_len == 0), "seq %u from key of %u bytes", e->seq,
                  e->from_key_len);
    }
    cr_assert_eq(from_virtual, 4);
    cr_assert_eq(atomic_load(&f.errors), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&sink);
}

Test(fault_rules, delay_stays_within_its_bounds)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "sink", &rec));
    set_rule(rt, "node", "sink",
             (tidal_fault_rule){.delay = 1.0, .delay_min_ms = 5, .delay_max_ms = 15});
    send_range(rt, &to, 0, 50);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 50, 5000));
    size_t n;
    tidal_trace_entry *t = trace_link(rt, tidal_link_id("node", "sink"), &n);
    cr_assert_eq(n, 50);
    bool varied = false;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(t[i].kind, TIDAL_FAULT_DELAY);
        cr_assert(t[i].param >= 5 && t[i].param <= 15, "delay %u ms", t[i].param);
        varied = varied || t[i].param != t[0].param;
    }
    cr_assert(varied, "every delay was %u ms", t[0].param);
    free(t);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

/* Delayed and held envelopes still waiting at close are freed (the suite's
 * leak check) and never delivered. */
Test(fault_rules, pending_faults_are_freed_at_close)
{
    tidal_runtime *rt = rt_open(NULL, NULL, 7, 0);
    rec_state r1, r2;
    rec_init_state(&r1);
    rec_init_state(&r2);
    tidal_addr t1 = addr_of(rt, spawn_rec(rt, "slow", &r1));
    tidal_addr t2 = addr_of(rt, spawn_rec(rt, "held", &r2));
    set_rule(rt, "node", "slow",
             (tidal_fault_rule){.delay = 1.0,
                                .delay_min_ms = TIDAL_DELAY_MS_MAX,
                                .delay_max_ms = TIDAL_DELAY_MS_MAX});
    set_rule(rt, "node", "held", (tidal_fault_rule){.reorder_window = TIDAL_REORDER_WINDOW_MAX});
    send_range(rt, &t1, 0, 20);
    send_range(rt, &t2, 0, 200);
    cr_assert_eq(trace_count(rt, "node", "slow", TIDAL_FAULT_DELAY), 20);
    cr_assert_gt(trace_count(rt, "node", "held", TIDAL_FAULT_REORDER), 0);
    TIDAL_PASS(tidal_runtime_close(rt));
    cr_assert_eq(rec_count(&r1), 0);
    rec_free_state(&r1);
    rec_free_state(&r2);
}
