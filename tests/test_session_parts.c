/*
 * A session's entry in parts (store/session_parts.c): a session larger than
 * one reconciliation entry's bound travels as several entries, each a valid
 * entry of its own, and their merges in any order, repeated or not, give
 * what the whole entry gives.  The bound is met at -1, exactly and +1 signal.
 */
#include "tidal_test.h"

#include <stdlib.h>
#include <string.h>

#include "store/session.h"

TIDAL_SUITE(session_parts);

#define T0 (1700000000ull * 1000000000ull)
/* The fixed fields of a session entry that has not ended, with its two
 * counts (store/session_codec.c), and one signal. */
#define FIXED_BYTES (72u + 2u + 4u)
#define SIGNAL_BYTES 32u
#define PARTS_MAX 256u

typedef struct fixture {
    tidal_sigtypes *types;
    tidal_sessions *t;
    uint16_t view, like;
} fixture;

static void
fx_open(fixture *f)
{
    TIDAL_PASS(tidal_sigtypes_open(&f->types));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "view", &f->view));
    TIDAL_PASS(tidal_sigtypes_intern(f->types, "like", &f->like));
    TIDAL_PASS(tidal_sessions_open(f->types, &f->t));
}

static void
fx_close(fixture *f)
{
    tidal_sessions_close(f->t);
    tidal_sigtypes_close(f->types);
}

/* Session {1, n} with n signals of seqno 2k (gaps are allowed), "view" but
 * for the last `likes`, which are "like". */
static tidal_session_id
fx_session(fixture *f, uint32_t n, uint32_t likes)
{
    tidal_session_id id = {1, n + 1};
    tidal_hlc at = {.wall_ns = T0, .node_id = 1};
    TIDAL_PASS(tidal_sessions_start(f->t, &id, 42, 1, &at));
    for (uint32_t i = 1; i <= n; i++) {
        tidal_session_signal g = {.seqno = 2 * i, .item = 100 + i % 7, .ts_ns = T0 + i,
                                  .weight = 1.0f, .type = i + likes > n ? f->like : f->view};
        TIDAL_PASS(tidal_sessions_add_signal(f->t, &id, &g));
    }
    return id;
}

/* The parts of a session, bound cap: each at most cap bytes. */
typedef struct parts {
    uint8_t *buf[PARTS_MAX];
    size_t len[PARTS_MAX];
    uint32_t n;
} parts;

static void
parts_make(fixture *f, const tidal_session_id *id, size_t cap, parts *p)
{
    uint64_t from = 0;
    memset(p, 0, sizeof(*p));
    do {
        cr_assert_lt(p->n, PARTS_MAX);
        p->buf[p->n] = malloc(cap);
        cr_assert_not_null(p->buf[p->n]);
        TIDAL_PASS(tidal_sessions_entry_encode_part(f->t, id, &from, p->buf[p->n], cap,
                                                    &p->len[p->n]));
        cr_assert_leq(p->len[p->n], cap);
        p->n++;
    } while (from != 0);
}

static void
parts_free(parts *p)
{
    for (uint32_t i = 0; i < p->n; i++) {
        free(p->buf[i]);
    }
}

static uint64_t
hash_of(fixture *f, const tidal_session_id *id)
{
    uint64_t h = 0;
    TIDAL_PASS(tidal_sessions_entry_hash(f->t, id, &h));
    return h;
}

/* Bytes of an entry with n signals of one type named "view". */
static size_t
bytes_of(uint32_t n)
{
    return FIXED_BYTES + 1 + 4 + (size_t)n * SIGNAL_BYTES;
}

/* 5,000 signals (160 KB) in parts of at most 64 KiB: merged into another
 * table last part first, each twice, they give the session whole. */
Test(session_parts, parts_merged_in_any_order_give_the_whole_session)
{
    fixture a, b;
    fx_open(&a);
    fx_open(&b);
    tidal_session_id id = fx_session(&a, 5000, 40);
    tidal_hlc end = {.wall_ns = T0 + 10000, .node_id = 1};
    TIDAL_PASS(tidal_sessions_end(a.t, &id, &end));
    parts p;
    parts_make(&a, &id, 65535, &p);
    cr_assert_eq(p.n, 3, "160 KB in parts of 64 KiB: %u parts", p.n);
    for (uint32_t k = p.n; k-- > 0;) {
        TIDAL_PASS(tidal_sessions_entry_merge(b.t, p.buf[k], p.len[k], NULL));
        TIDAL_PASS(tidal_sessions_entry_merge(b.t, p.buf[k], p.len[k], NULL));
    }
    cr_assert_eq(hash_of(&b, &id), hash_of(&a, &id), "the parts did not add up to the session");
    tidal_session_state st;
    TIDAL_PASS(tidal_sessions_get(b.t, &id, &st));
    cr_assert_eq(st.signals, 5000);
    cr_assert(st.ended);
    parts_free(&p);
    fx_close(&a);
    fx_close(&b);
}

/* A part carries only the names its own signals use (a name no signal of
 * it uses would be refused): the "like" signals are all in the last part. */
Test(session_parts, each_part_names_only_its_own_types)
{
    fixture a;
    fx_open(&a);
    tidal_session_id id = fx_session(&a, 100, 3);
    parts p;
    parts_make(&a, &id, bytes_of(60), &p);
    cr_assert_eq(p.n, 2);
    cr_assert_eq(p.len[0], bytes_of(60), "the first part is full");
    cr_assert_eq(p.len[1], bytes_of(40) + 1 + 4, "40 signals, two names");
    for (uint32_t k = 0; k < p.n; k++) {
        fixture b;
        fx_open(&b);
        TIDAL_PASS(tidal_sessions_entry_merge(b.t, p.buf[k], p.len[k], NULL));
        fx_close(&b);
    }
    parts_free(&p);
    fx_close(&a);
}

/* The bound: a session of exactly as many signals as fit is one part; one
 * less too; one more is two, the second with that one signal. */
Test(session_parts, the_bound_holds_at_minus_one_exactly_and_plus_one)
{
    const uint32_t fit = 50;
    const size_t cap = bytes_of(fit);
    for (uint32_t n = fit - 1; n <= fit + 1; n++) {
        fixture a;
        fx_open(&a);
        tidal_session_id id = fx_session(&a, n, 0);
        parts p;
        parts_make(&a, &id, cap, &p);
        cr_assert_eq(p.n, n <= fit ? 1u : 2u, "%u signals: %u parts", n, p.n);
        cr_assert_eq(p.len[0], bytes_of(n <= fit ? n : fit));
        if (n > fit) {
            cr_assert_eq(p.len[1], bytes_of(1));
        }
        size_t whole = 0;
        uint8_t *buf = malloc(bytes_of(n));
        TIDAL_PASS(tidal_sessions_entry_encode(a.t, &id, buf, bytes_of(n), &whole));
        cr_assert_eq(whole, bytes_of(n));
        if (n <= fit) {
            cr_assert_eq(memcmp(buf, p.buf[0], whole), 0, "one part is the whole entry");
        }
        free(buf);
        parts_free(&p);
        fx_close(&a);
    }
}

/* A session with no signal is one part; a bound that holds no signal is
 * refused with nothing moved; an unknown session is TIDAL_ENOENT. */
Test(session_parts, an_empty_session_is_one_part_and_a_tiny_bound_is_refused)
{
    fixture a;
    fx_open(&a);
    tidal_session_id empty = fx_session(&a, 0, 0);
    uint8_t buf[256];
    size_t len = 0;
    uint64_t from = 0;
    TIDAL_PASS(tidal_sessions_entry_encode_part(a.t, &empty, &from, buf, sizeof(buf), &len));
    cr_assert_eq(from, 0);
    cr_assert_eq(len, FIXED_BYTES);

    tidal_session_id id = fx_session(&a, 10, 0);
    from = 0;
    TIDAL_FAIL(tidal_sessions_entry_encode_part(a.t, &id, &from, buf, bytes_of(1) - 1, &len),
               TIDAL_ETOOBIG);
    cr_assert_eq(from, 0, "a refused part moves nothing");
    TIDAL_PASS(tidal_sessions_entry_encode_part(a.t, &id, &from, buf, bytes_of(1), &len));
    cr_assert_eq(from, 4, "the next part starts at the second signal's seqno");
    tidal_session_id unknown = {9, 9};
    TIDAL_FAIL(tidal_sessions_entry_encode_part(a.t, &unknown, &from, buf, sizeof(buf), &len),
               TIDAL_ENOENT);
    fx_close(&a);
}
