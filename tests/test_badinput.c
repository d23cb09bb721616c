/*
 * Bad input on a live socket: a foreign push socket sends garbage, malformed
 * frames and malformed envelopes to an actor's URL.  Each is rejected whole
 * under its own counter (tidal_runtime_stats .rejected), no handler runs for
 * it, and the actor keeps serving.  Frames built by hand that are valid are
 * delivered; the frame limits are tested at -1, exactly and +1.
 */
#include "test_actor_helpers.h"

TIDAL_SUITE(badinput);

static const char keep_out[] = "must-not-arrive";

/* A valid envelope's encoding, to `to`. */
static void
valid_env(tidal_buf *b, const char *to, uint64_t id)
{
    tidal_buf_init(b);
    tidal_envelope e = raw_envelope(to, APP_SEQ, keep_out, sizeof(keep_out), id);
    frame_add(b, &e);
}

/* header (+ optional bytes) as a frame. */
static void
frame_of(tidal_buf *f, const void *body, size_t len)
{
    frame_begin(f, 0);
    if (len > 0) {
        cr_assert(tidal_buf_append(f, body, len) == 0);
    }
}

typedef struct bad_case {
    const char *what;
    int reason;
    tidal_buf bytes;
} bad_case;

#define CASES_MAX 20

/* Every malformed input, with the counter it must raise. */
static int
make_cases(bad_case *c, const char *target)
{
    int n = 0;
    tidal_buf env, tmp;
    valid_env(&env, target, 1);

    c[n] = (bad_case){"random bytes", TIDAL_REJECT_FRAME_HEADER, {0}};
    uint32_t x = 12345;
    for (int i = 0; i < 64; i++) {
        x = x * 1103515245u + 12345u;
        uint8_t byte = i == 0 ? 0 : (uint8_t)(x >> 16);
        cr_assert(tidal_buf_append(&c[n].bytes, &byte, 1) == 0);
    }
    n++;
    c[n++] = (bad_case){"empty message", TIDAL_REJECT_FRAME_HEADER, {0}};
    const struct {
        const char *what;
        int off;
        uint8_t val;
    } hdr[] = {{"bad magic", 3, 'X'},
               {"frame version 2", 4, 2},
               {"frame version 0", 4, 0},
               {"non-zero flags", 5, 1},
               {"non-zero reserved", 7, 0x80}};
    for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
        c[n] = (bad_case){hdr[i].what, TIDAL_REJECT_FRAME_HEADER, {0}};
        frame_of(&c[n].bytes, env.data, env.len);
        c[n].bytes.data[hdr[i].off] = hdr[i].val;
        n++;
    }
    c[n] = (bad_case){"header only", TIDAL_REJECT_FRAME_HEADER, {0}};
    frame_of(&c[n++].bytes, NULL, 0);
    const uint8_t junk[8] = {0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1};
    c[n] = (bad_case){"header and garbage", TIDAL_REJECT_FIELD, {0}};
    frame_of(&c[n++].bytes, junk, sizeof(junk));

    c[n] = (bad_case){"valid envelope then garbage", TIDAL_REJECT_FIELD, {0}};
    frame_of(&c[n].bytes, env.data, env.len);
    cr_assert(tidal_buf_append(&c[n++].bytes, junk, 1) == 0);
    c[n] = (bad_case){"valid envelope then a cut one", TIDAL_REJECT_TRUNCATED, {0}};
    frame_of(&c[n].bytes, env.data, env.len);
    cr_assert(tidal_buf_append(&c[n++].bytes, env.data, env.len / 2) == 0);

    /* byte 0 is the fixarray(10) header, byte 1 the version */
    cr_assert_eq(env.data[0], 0x9a);
    cr_assert_eq(env.data[1], 0x01);
    c[n] = (bad_case){"envelope version 2", TIDAL_REJECT_VERSION, {0}};
    frame_of(&c[n].bytes, env.data, env.len);
    c[n++].bytes.data[16 + 1] = 2;
    /* type 1000 is cd 03 e8: make it 999, unknown in tidal's range */
    cr_assert(env.data[2] == 0xcd && env.data[3] == 0x03 && env.data[4] == 0xe8);
    c[n] = (bad_case){"unknown type 999", TIDAL_REJECT_TYPE, {0}};
    frame_of(&c[n].bytes, env.data, env.len);
    c[n++].bytes.data[16 + 4] = 0xe7;
    /* flags is the last field, a positive fixint */
    cr_assert_eq(env.data[env.len - 1], 0x00);
    c[n] = (bad_case){"unknown flag bit", TIDAL_REJECT_FIELD, {0}};
    frame_of(&c[n].bytes, env.data, env.len);
    c[n].bytes.data[c[n].bytes.len - 1] = 0x08;
    n++;
    const uint8_t huge[5] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    c[n] = (bad_case){"container of 4 billion", TIDAL_REJECT_LENGTH, {0}};
    frame_of(&c[n++].bytes, huge, sizeof(huge));

    c[n] = (bad_case){"more than TIDAL_FRAME_ENVELOPES_MAX", TIDAL_REJECT_FRAME_COUNT, {0}};
    frame_begin(&c[n].bytes, 0);
    for (uint32_t i = 0; i < TIDAL_FRAME_ENVELOPES_MAX + 1; i++) {
        valid_env(&tmp, target, 100 + i);
        cr_assert(tidal_buf_append(&c[n].bytes, tmp.data, tmp.len) == 0);
        tidal_buf_fini(&tmp);
    }
    n++;
    tidal_buf_fini(&env);
    cr_assert_leq(n, CASES_MAX);
    return n;
}

static uint64_t
rejected_total(const tidal_stats *st)
{
    uint64_t n = 0;
    for (int i = 0; i < TIDAL_REJECT_COUNT; i++) {
        n += st->rejected[i];
    }
    return n;
}

static void
garbage_body(const char *scheme)
{
    setenv("TIDAL_QUIET", "1", 1);
    char url[128], dir[64];
    base_url(scheme, url, sizeof(url), dir, sizeof(dir));
    tidal_runtime *rt = rt_open(url, "node", 1, 0);
    echo_state s = {0};
    tidal_spawn_opts o = {.name = "target", .behaviour = &echo_behaviour, .arg = &s};
    tidal_actor a;
    TIDAL_PASS(tidal_spawn(rt, &o, &a));
    tidal_addr to = addr_of(rt, a);
    nng_socket raw = raw_push_open(to.url);
    bad_case cases[CASES_MAX];
    memset(cases, 0, sizeof(cases));
    int n = make_cases(cases, "target");
    for (int i = 0; i < n; i++) {
        bad_case *c = &cases[i];
        /* every ask so far was counted (the counter may trail the reply) */
        cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).received == (uint64_t)i, 5000));
        tidal_stats before = stats_of(rt);
        long handled = atomic_load(&s.handled);
        raw_push_send(raw, c->bytes.data ? (void *)c->bytes.data : (void *)"", c->bytes.len);
        cr_assert(TIDAL_WAIT_UNTIL(
                      stats_of(rt).rejected[c->reason] == before.rejected[c->reason] + 1, 5000),
                  "%s (%s): %s not counted", c->what, scheme, tidal_reject_id(c->reason));
        tidal_stats after = stats_of(rt);
        cr_assert_eq(rejected_total(&after), rejected_total(&before) + 1,
                     "%s: counted under more than one reason", c->what);
        cr_assert_eq(after.received, before.received, "%s: an envelope was accepted", c->what);
        cr_assert_eq(atomic_load(&s.handled), handled, "%s: the handler ran", c->what);
        ask_ok(rt, &to);
        cr_assert_eq(atomic_load(&s.handled), handled + 1, "%s", c->what);
        tidal_buf_fini(&c->bytes);
    }
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).queued == 0, 5000));
    nng_close(raw);
    TIDAL_PASS(tidal_runtime_close(rt));
    if (dir[0]) {
        tidal_test_rmdir(dir);
    }
}
TIDAL_TRANSPORT_TESTS(badinput, garbage_is_rejected, garbage_body)

/* Sends one frame of k valid envelopes to the recorder. */
static void
send_k(nng_socket raw, const char *target, uint32_t k, uint64_t first_id)
{
    tidal_buf f, tmp;
    frame_begin(&f, 0);
    for (uint32_t i = 0; i < k; i++) {
        uint8_t p[4];
        seq_put(i, p);
        tidal_envelope e = raw_envelope(target, APP_SEQ, p, 4, first_id + i);
        tidal_buf_init(&tmp);
        frame_add(&tmp, &e);
        cr_assert(tidal_buf_append(&f, tmp.data, tmp.len) == 0);
        tidal_buf_fini(&tmp);
    }
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
}

Test(badinput, frame_envelope_count_limit)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "target", &rec));
    nng_socket raw = raw_push_open(to.url);
    const uint32_t max = TIDAL_FRAME_ENVELOPES_MAX;
    send_k(raw, "target", max - 1, 1);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == max - 1, 5000));
    send_k(raw, "target", max, 10000);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 2 * max - 1, 5000));
    send_k(raw, "target", max + 1, 20000);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).rejected[TIDAL_REJECT_FRAME_COUNT] == 1, 5000));
    ask_ok(rt, &to);
    cr_assert_eq(rec_count(&rec), 2 * max - 1, "part of an oversized frame was delivered");
    nng_close(raw);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

/* inproc ignores NNG_OPT_RECVMAXSZ: tidal checks the frame size itself. */
Test(badinput, frame_byte_limit_inproc)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_addr to = addr_of(rt, spawn_rec(rt, "target", &rec));
    nng_socket raw = raw_push_open(to.url);
    const uint32_t big = 900000; /* bin32 payloads: constant overhead */
    uint8_t *payload = calloc(1, TIDAL_PAYLOAD_BYTES_MAX);
    cr_assert_not_null(payload);
    tidal_buf one;
    tidal_buf_init(&one);
    tidal_envelope e = raw_envelope("target", APP_SEQ, payload, big, 1);
    frame_add(&one, &e);
    size_t overhead = one.len - big;
    tidal_buf_fini(&one);
    const long delta[] = {-1, 0, 1};
    for (int d = 0; d < 3; d++) {
        size_t want = (size_t)TIDAL_FRAME_BYTES_MAX + (size_t)delta[d];
        size_t last = want - 16 - 4 * (overhead + big) - overhead;
        cr_assert(last >= 65536 && last <= TIDAL_PAYLOAD_BYTES_MAX);
        tidal_buf f;
        frame_begin(&f, 0);
        for (int i = 0; i < 5; i++) {
            tidal_envelope x =
                raw_envelope("target", APP_SEQ, payload, i < 4 ? big : (uint32_t)last,
                             (uint64_t)(10 * d + i + 1));
            frame_add(&f, &x);
        }
        cr_assert_eq(f.len, want);
        unsigned before = rec_count(&rec);
        raw_push_send(raw, f.data, f.len);
        tidal_buf_fini(&f);
        if (delta[d] <= 0) {
            cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == before + 5, 5000),
                      "a frame of %zu bytes was not delivered", want);
        } else {
            cr_assert(
                TIDAL_WAIT_UNTIL(stats_of(rt).rejected[TIDAL_REJECT_FRAME_TOOBIG] == 1, 5000));
            ask_ok(rt, &to);
            cr_assert_eq(rec_count(&rec), before, "part of an oversized frame was delivered");
        }
    }
    free(payload);
    nng_close(raw);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}

Test(badinput, valid_hand_built_frames_are_delivered)
{
    setenv("TIDAL_QUIET", "1", 1);
    tidal_runtime *rt = rt_open(NULL, NULL, 1, 0);
    rec_state rec;
    rec_init_state(&rec);
    tidal_actor a = spawn_rec(rt, "target", &rec);
    tidal_addr to = addr_of(rt, a);
    nng_socket raw = raw_push_open(to.url);

    tidal_buf f;
    frame_begin(&f, 0x1122334455667788ull);
    tidal_envelope env[3];
    uint8_t p[3][4];
    for (int i = 0; i < 3; i++) {
        seq_put((uint32_t)(40 + i), p[i]);
        env[i] = raw_envelope("target", APP_SEQ, p[i], 4, (uint64_t)(500 + i));
        frame_add(&f, &env[i]);
    }
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 3, 5000));
    for (int i = 0; i < 3; i++) {
        const rec_entry *e = &rec.ents[i];
        cr_assert_eq(e->seq, (uint32_t)(40 + i));
        cr_assert_eq(e->id, (uint64_t)(500 + i));
        cr_assert_str_eq(e->from, "peer");
        cr_assert_eq(e->hlc.node_id, 9);
        cr_assert_eq(e->hlc.wall_ns, env[i].hlc.wall_ns);
    }

    /* a valid frame: one envelope for the target, one for a name not here */
    frame_begin(&f, 0);
    seq_put(50, p[0]);
    tidal_envelope here = raw_envelope("target", APP_SEQ, p[0], 4, 600);
    tidal_envelope away = raw_envelope("nobody", APP_SEQ, p[0], 4, 601);
    frame_add(&f, &away);
    frame_add(&f, &here);
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 4, 5000));
    cr_assert_eq(rec.ents[3].seq, 50);
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(rt).dead[TIDAL_DEAD_NO_ACTOR] == 1, 5000));

    /* a foreign frame cannot spend credit it never reserved */
    frame_begin(&f, 0);
    for (int i = 0; i < 3; i++) {
        tidal_envelope c = raw_envelope("target", APP_SEQ, p[0], 4, (uint64_t)(700 + i));
        c.flags = 0x04; /* TIDAL_ENV_F_CREDITED */
        frame_add(&f, &c);
    }
    raw_push_send(raw, f.data, f.len);
    tidal_buf_fini(&f);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&rec) == 7, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(actor_stats_of(rt, a).queued == 0, 5000));
    ask_ok(rt, &to);
    tidal_stats st = stats_of(rt);
    for (int i = 0; i < TIDAL_REJECT_COUNT; i++) {
        cr_assert_eq(st.rejected[i], 0, "%s counted", tidal_reject_id(i));
    }
    nng_close(raw);
    TIDAL_PASS(tidal_runtime_close(rt));
    rec_free_state(&rec);
}
