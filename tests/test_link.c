/*
 * Outbound links (runtime/link.c): a frame nng can take at once (a pipe is
 * ready) is sent on the sending thread, with no callback; one it cannot
 * take (no peer yet, or the peer is not reading) waits in nng_send_aio and
 * the frames behind it follow in order once it is sent.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/internal.h" /* the links, tidal__links_quiet */
#include "tidal/log.h"
#include "test_actor_helpers.h"

TIDAL_SUITE(link);

#define LINK_LONE_SENDS 50u
#define LINK_LATE_SENDS 300u
#define LINK_THREADS 4u
#define LINK_PER_THREAD 2000u

/* Opens runtimes a (*ra) and b (*rb) and spawns a recording sink in b. */
static tidal_addr
open_sink(tidal_runtime **ra, tidal_runtime **rb, rec_state *r, uint64_t seed)
{
    *ra = rt_open(NULL, "a", seed, 1);
    *rb = rt_open(NULL, "b", seed, 1);
    rec_init_state(r);
    return addr_of(*rb, spawn_rec(*rb, "sink", r));
}

/* Every recorded APP_SEQ carries seq 1, 2, ... in order. */
static void
assert_in_order(rec_state *r, unsigned n)
{
    cr_assert_eq(rec_count(r), n);
    for (unsigned i = 0; i < n; i++) {
        cr_assert_eq(r->ents[i].type, APP_SEQ);
        cr_assert_eq(r->ents[i].seq, i + 1, "message %u carries seq %u", i + 1, r->ents[i].seq);
    }
}

/* One message at a time, each sent once the previous was handled: the link
 * is idle at every send, so nng takes frames at once. */
Test(link, a_lone_frame_is_taken_at_once)
{
    tidal_runtime *ra, *rb;
    rec_state r;
    tidal_addr to = open_sink(&ra, &rb, &r, 1);
    for (uint32_t i = 1; i <= LINK_LONE_SENDS; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
        cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == i, 5000));
    }
    assert_in_order(&r, LINK_LONE_SENDS);
    tidal_stats st = stats_of(ra);
    /* the first frames may find the dialer still connecting, and a pipe is
     * ready again only once nng's own send callback has run */
    cr_assert_gt(st.frames_sent_at_once, 0, "no frame was taken at once");
    cr_assert_leq(st.frames_sent_at_once, st.frames_sent);
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

/* Sent before anyone listens at the URL: nng cannot take the first frame,
 * which waits in nng_send_aio; the rest queue behind it.  Once the receiver
 * is up, every message arrives, once, in order. */
Test(link, frames_wait_for_a_late_receiver_in_order)
{
    char url[96];
    snprintf(url, sizeof(url), "inproc://late-%d", (int)getpid());
    tidal_runtime *ra = rt_open(NULL, "a", 2, 1);
    tidal_addr to;
    TIDAL_PASS(tidal_addr_make(&to, url, "sink", NULL, 0));
    for (uint32_t i = 1; i <= LINK_LATE_SENDS; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
    }
    tidal_stats st = stats_of(ra);
    cr_assert_eq(st.frames_sent, 0, "nothing can be sent before the receiver listens");

    tidal_runtime *rb = rt_open(NULL, "b", 2, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_spawn_opts o = {.name = "sink", .url = url, .behaviour = &rec_behaviour, .arg = &r};
    tidal_actor sink;
    TIDAL_PASS(tidal_spawn(rb, &o, &sink));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == LINK_LATE_SENDS, 5000),
              "%u of %u arrived", rec_count(&r), LINK_LATE_SENDS);
    assert_in_order(&r, LINK_LATE_SENDS);
    st = stats_of(ra);
    cr_assert_lt(st.frames_sent_at_once, st.frames_sent, "the first frame waited in nng");
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

/* Threads sending at once on one link: a frame one of them sends at once
 * often has frames queued behind it by the others, which must follow it.
 * Every message arrives once, in its sender's order. */
struct sender {
    tidal_runtime *rt;
    tidal_addr to;
    uint32_t t;
    int rv;
};

static void *
send_many(void *arg)
{
    struct sender *s = arg;
    for (uint32_t i = 1; i <= LINK_PER_THREAD && s->rv == 0; i++) {
        s->rv = send_seq(s->rt, &s->to, s->t * 1000000u + i, 5000);
    }
    return NULL;
}

Test(link, frames_behind_one_sent_at_once_follow_it)
{
    tidal_runtime *ra, *rb;
    rec_state r;
    tidal_addr to = open_sink(&ra, &rb, &r, 3);
    /* connected first, so that frames find a ready pipe (not guaranteed:
     * while frames keep coming, nng's pipe may never be ready in time) */
    TIDAL_PASS(send_seq(ra, &to, LINK_THREADS * 1000000u + 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == 1, 5000));
    pthread_t th[LINK_THREADS];
    struct sender s[LINK_THREADS];
    for (uint32_t t = 0; t < LINK_THREADS; t++) {
        s[t] = (struct sender){.rt = ra, .to = to, .t = t};
        cr_assert_eq(pthread_create(&th[t], NULL, send_many, &s[t]), 0);
    }
    for (uint32_t t = 0; t < LINK_THREADS; t++) {
        pthread_join(th[t], NULL);
        TIDAL_PASS(s[t].rv);
    }
    const unsigned total = LINK_THREADS * LINK_PER_THREAD + 1;
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == total, 10000), "%u of %u arrived", rec_count(&r),
              total);
    uint32_t next[LINK_THREADS] = {0};
    for (unsigned i = 1; i < total; i++) {
        uint32_t t = r.ents[i].seq / 1000000u, k = r.ents[i].seq % 1000000u;
        cr_assert_lt(t, LINK_THREADS);
        cr_assert_eq(k, next[t] + 1, "sender %u: %u after %u", t, k, next[t]);
        next[t] = k;
    }
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

/* The stats scope of dialer `id` under s, or NULL.  (nng 1.5.2's
 * nng_stat_find_dialer returns the first dialer it meets below the root.) */
static nng_stat *
dialer_scope(nng_stat *s, int id)
{
    for (; s != NULL; s = nng_stat_next(s)) {
        nng_stat *sid = nng_stat_find(s, "id");
        if (strcmp(nng_stat_name(s), "dialer") == 0 && sid != NULL &&
            nng_stat_value(sid) == (uint64_t)id) {
            return s;
        }
        nng_stat *in = dialer_scope(nng_stat_child(s), id);
        if (in != NULL) {
            return in;
        }
    }
    return NULL;
}

/* How often the dialer of link l has found nobody listening (nng's own
 * count). */
static uint64_t
refused_of(struct tidal__link *l)
{
    nng_stat *all;
    TIDAL_PASS(nng_stats_get(&all) == 0 ? 0 : TIDAL_EINVAL);
    nng_stat *d = dialer_scope(all, nng_dialer_id(l->dialer));
    nng_stat *r = d != NULL ? nng_stat_find(d, "refused") : NULL;
    cr_assert_not_null(r, "nng keeps no refused count for the dialer");
    uint64_t n = nng_stat_value(r);
    nng_stats_free(all);
    return n;
}

/* The link from ra to rb's actor `name`, once it has carried a message. */
static struct tidal__link *
link_to(tidal_runtime *ra, tidal_runtime *rb, const char *name, rec_state *r, tidal_actor *out)
{
    *out = spawn_rec(rb, name, r);
    tidal_addr to = addr_of(rb, *out);
    unsigned before = rec_count(r);
    TIDAL_PASS(send_seq(ra, &to, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(r) == before + 1, 5000));
    int rv;
    struct tidal__link *l = tidal__link_get(ra, to.url, false, &rv);
    cr_assert_not_null(l);
    return l;
}

/* The refused count of l once it has not moved for 300 ms (5 s at most). */
static uint64_t
refused_settled(struct tidal__link *l)
{
    uint64_t n = refused_of(l);
    for (int still = 0, waited = 0; still < 30 && waited < 500; waited++) {
        usleep(10 * 1000);
        uint64_t m = refused_of(l);
        still = m == n ? still + 1 : 0;
        n = m;
    }
    return n;
}

/* A closing runtime quiets its links first (tidal__links_quiet): each keeps
 * the connection it has but does not redial one it loses, so the actors'
 * sockets closing one by one under its own links set off no redialing.
 * nng 1.5.2 cannot be told to stop redialing, only to wait longer (a day),
 * and half of its waits come out as none (it draws a back-off as a negative
 * int half the time): a quiet link still redials a few times, then waits.
 * Without quiet, every wait is at most NNG_OPT_RECONNMAXT (1 s). */
Test(link, a_quiet_link_does_not_redial)
{
    tidal_runtime *ra = rt_open(NULL, "a", 4, 1), *rb = rt_open(NULL, "b", 4, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_actor s1, s2, s3;
    /* the count moves when a link redials a peer that went away */
    struct tidal__link *l1 = link_to(ra, rb, "s1", &r, &s1);
    TIDAL_PASS(tidal_stop(rb, s1));
    cr_assert(TIDAL_WAIT_UNTIL(refused_of(l1) >= 2, 5000), "a lost connection is redialed");
    struct tidal__link *l2 = link_to(ra, rb, "s2", &r, &s2);
    struct tidal__link *l3 = link_to(ra, rb, "s3", &r, &s3);
    tidal__links_quiet(ra);
    TIDAL_PASS(tidal_stop(rb, s2));
    uint64_t settled = refused_settled(l2);
    usleep(1200 * 1000); /* longer than any wait of a link that is not quiet */
    cr_assert_eq(refused_of(l2), settled, "a quiet link redialed after %lu tries",
                 (unsigned long)settled);
    /* the connection a quiet link has still carries frames */
    tidal_addr to3 = addr_of(rb, s3);
    unsigned before = rec_count(&r);
    TIDAL_PASS(send_seq(ra, &to3, 2, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == before + 1, 5000));
    cr_assert_eq(refused_of(l3), 0);
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

/* A link with nothing to send whose peer is gone is parked by the sweep
 * (runtime/links.c, Parking): its sending end closed, so it no longer
 * redials; a later send opens it again.  A link that is connected, or holds
 * a frame, is left alone - and that frame reaches the peer once it is back. */
Test(link, a_link_to_a_peer_long_gone_is_parked_until_a_send)
{
    tidal_runtime *ra = rt_open(NULL, "a", 5, 1), *rb = rt_open(NULL, "b", 5, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_actor s1, s2, s3;
    struct tidal__link *l1 = link_to(ra, rb, "s1", &r, &s1);
    struct tidal__link *l2 = link_to(ra, rb, "s2", &r, &s2);
    struct tidal__link *l3 = link_to(ra, rb, "s3", &r, &s3);
    tidal_addr to1 = addr_of(rb, s1), to3 = addr_of(rb, s3);
    TIDAL_PASS(tidal_stop(rb, s1));
    TIDAL_PASS(tidal_stop(rb, s3));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&l1->pipes) == 0 && atomic_load(&l3->pipes) == 0, 5000),
              "the connections to stopped actors stayed up");
    /* l3 holds a frame for its peer, in nng's hands until a connection */
    TIDAL_PASS(send_seq(ra, &to3, 7, 5000));
    tidal__links_sweep(ra, 0);
    cr_assert(l1->parked, "an idle link to a peer gone was not parked");
    cr_assert_not(l2->parked, "a connected link was parked");
    cr_assert_not(l3->parked, "a link holding a frame was parked");
    cr_assert_eq(stats_of(ra).links_parked, 1);
    cr_assert_eq(stats_of(ra).links_reopened, 0);
    tidal__links_sweep(ra, 0); /* once parked, left alone */
    cr_assert_eq(stats_of(ra).links_parked, 1);

    /* back under the same names (the same inproc URLs): the parked link
     * opens again for the next send, and the frame held on l3 arrives */
    unsigned before = rec_count(&r);
    s3 = spawn_rec(rb, "s3", &r);
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == before + 1, 5000), "the frame held was lost");
    s1 = spawn_rec(rb, "s1", &r);
    TIDAL_PASS(send_seq(ra, &to1, 8, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == before + 2, 5000), "a parked link did not reopen");
    cr_assert_not(l1->parked);
    cr_assert_eq(stats_of(ra).links_reopened, 1);
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

/* An actor of the runtime stopped: the runtime's own link to it parks at
 * once (it has nothing to send), instead of redialing until the sweep; an
 * actor spawned again under that name is reached through it. */
Test(link, a_link_to_a_stopped_actor_of_the_runtime_parks_at_once)
{
    tidal_runtime *ra = rt_open(NULL, "a", 6, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_actor s = spawn_rec(ra, "s", &r);
    tidal_addr to = addr_of(ra, s);
    TIDAL_PASS(send_seq(ra, &to, 1, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == 1, 5000));
    int rv;
    struct tidal__link *l = tidal__link_get(ra, to.url, true, &rv);
    cr_assert_not_null(l);
    cr_assert_not(l->parked);
    TIDAL_PASS(tidal_stop(ra, s));
    cr_assert(l->parked, "the link to a stopped actor was left redialing");
    cr_assert_eq(stats_of(ra).links_parked, 1);
    s = spawn_rec(ra, "s", &r);
    TIDAL_PASS(send_seq(ra, &to, 2, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == 2, 5000), "the actor spawned again was not reached");
    cr_assert_eq(stats_of(ra).links_reopened, 1);
    TIDAL_PASS(tidal_runtime_close(ra));
    rec_free_state(&r);
}

/* ---- holding (runtime/carrier_nng.c): frames for a peer that stays
 * unreachable past link_hold_ms go to dead letters; a peer that is there
 * but slow is waited for ---- */

static tidal_runtime *
rt_open_hold(const char *name, uint64_t seed, uint32_t hold_ms)
{
    tidal_runtime_opts o = {
        .name = name, .node_id = 1, .seed = seed, .workers = 1, .link_hold_ms = hold_ms};
    return rt_open_opts(&o);
}

/* Fifty messages sent to an actor that has stopped: after the hold they are
 * dead letters (PEER_GONE), not a frame left in nng's hands for ever; the
 * idle link then parks, and reaches the actor once it is back. */
Test(link, frames_for_a_peer_gone_past_the_hold_go_to_dead_letters)
{
    tidal_runtime *ra = rt_open_hold("a", 8, 300), *rb = rt_open(NULL, "b", 8, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_actor s;
    struct tidal__link *l = link_to(ra, rb, "s", &r, &s);
    tidal_addr to = addr_of(rb, s);
    TIDAL_PASS(tidal_stop(rb, s));
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&l->pipes) == 0, 5000));
    uint64_t logged = tidal_log_count(TIDAL_EVENT_PEER_GONE);
    for (uint32_t i = 2; i <= 51; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
    }
    cr_assert(TIDAL_WAIT_UNTIL(stats_of(ra).dead[TIDAL_DEAD_PEER_GONE] == 50, 5000),
              "%lu of 50 dead letters", (unsigned long)stats_of(ra).dead[TIDAL_DEAD_PEER_GONE]);
    cr_assert_eq(stats_of(ra).dead[TIDAL_DEAD_LINK_FAILED], 0);
    /* the line is written after the dead letters are counted, once the
     * link's lock is let go: wait for it too */
    cr_assert(TIDAL_WAIT_UNTIL(tidal_log_count(TIDAL_EVENT_PEER_GONE) == logged + 1, 5000),
              "the operator was not told");
    tidal__links_sweep(ra, 0);
    cr_assert(l->parked, "a link that gave up its frames is still busy");
    s = spawn_rec(rb, "s", &r);
    TIDAL_PASS(send_seq(ra, &to, 52, 5000));
    cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == 2, 5000), "the actor back was not reached");
    cr_assert_eq(r.ents[1].seq, 52, "a message given up arrived after all");
    rt_close_pair(ra, rb);
    rec_free_state(&r);
}

struct held {
    test_gate gate;
    atomic_uint handled;
};

static int
held_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    struct held *h = state;
    test_gate_pass_locked(&h->gate);
    pthread_mutex_unlock(&h->gate.lock);
    atomic_fetch_add(&h->handled, 1);
    return 0;
}

/* A peer whose handler is held for four holds: its small mailbox pushes
 * back through nng and the frames wait in it far past the hold, but the
 * connection is up, so every one arrives once the handler goes on. */
#define SLOW_SENDS 5000u
Test(link, a_connected_peer_that_is_slow_is_waited_for)
{
    static const tidal_behaviour beh = {.init = arg_as_state_init, .handle = held_handle};
    tidal_runtime *ra = rt_open_hold("a", 9, 200), *rb = rt_open(NULL, "b", 9, 1);
    struct held h;
    test_gate_init(&h.gate);
    atomic_init(&h.handled, 0);
    tidal_spawn_opts so = {.name = "held", .behaviour = &beh, .arg = &h, .mailbox_max = 4};
    tidal_actor id;
    TIDAL_PASS(tidal_spawn(rb, &so, &id));
    tidal_addr to = addr_of(rb, id);
    for (uint32_t i = 1; i <= SLOW_SENDS; i++) {
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
    }
    usleep(800 * 1000);
    cr_assert_lt(stats_of(rb).received, SLOW_SENDS, "nothing was held back by the peer");
    test_gate_open(&h.gate);
    cr_assert(TIDAL_WAIT_UNTIL(atomic_load(&h.handled) == SLOW_SENDS, 5000), "%u of %u arrived",
              atomic_load(&h.handled), SLOW_SENDS);
    cr_assert_eq(stats_of(ra).dead[TIDAL_DEAD_PEER_GONE], 0);
    rt_close_pair(ra, rb);
    test_gate_fini(&h.gate);
}

/* Sends from outside a handler remember the thread's last link (send.c,
 * ext_last).  A runtime opened after another closed most often gets the
 * same address (62 of 64 in the Release build; never under ASan, whose
 * quarantine holds freed memory back): the link remembered for the closed
 * one must not be used, and each runtime's messages go through its own.
 * Keyed by the address alone, the first reuse fails here. */
Test(link, a_runtime_opened_where_a_closed_one_was_uses_its_own_links)
{
    tidal_runtime *rb = rt_open(NULL, "b", 10, 1);
    rec_state r;
    rec_init_state(&r);
    tidal_addr to = addr_of(rb, spawn_rec(rb, "sink", &r));
    const void *prev = NULL;
    unsigned same = 0;
    for (uint32_t i = 1; i <= 64; i++) {
        tidal_runtime *ra = rt_open(NULL, "a", 10, 1);
        same += (const void *)ra == prev;
        prev = ra;
        TIDAL_PASS(send_seq(ra, &to, i, 5000));
        cr_assert(TIDAL_WAIT_UNTIL(rec_count(&r) == i, 5000), "message %u was lost", i);
        tidal_stats st = stats_of(ra);
        cr_assert_eq(st.sent, 1, "runtime %u counted %lu sends", i, (unsigned long)st.sent);
        tidal_runtime_quiesce(ra);
        TIDAL_PASS(tidal_runtime_close(ra));
    }
    cr_log_info("%u of 64 runtimes opened at the address of the one before", same);
    TIDAL_PASS(tidal_runtime_close(rb));
    rec_free_state(&r);
}
