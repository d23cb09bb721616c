/*
 * Entries in parts (store/session_parts.c, store/signals_parts.c): a session
 * or a signal state larger than one reconciliation entry's bound travels as
 * several entries, each a valid entry of its own, and their merges in any
 * order, repeated or not, give what the whole entry gives.  The bound is met
 * at -1, exactly and +1 signal.
 */
#include "tidal_test.h"

#include <stdlib.h>
#include <string.h>

#include "store/session.h"
#include "store/signals.h"

TIDAL_SUITE(entry_parts);

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
Test(entry_parts, parts_merged_in_any_order_give_the_whole_session)
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
Test(entry_parts, each_part_names_only_its_own_types)
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
Test(entry_parts, the_bound_holds_at_minus_one_exactly_and_plus_one)
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
Test(entry_parts, an_empty_session_is_one_part_and_a_tiny_bound_is_refused)
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

/* ---- signal states ---- */

#define MINUTE_NS (60ull * 1000000000ull)
#define HOUR_NS (60ull * MINUTE_NS)

/* One (item 5, a type of the longest name) written in every region, every hour of the
 * week and every minute of the hour before t_end: every bucket the keep
 * rule keeps (169 + 61) holds 16 PN entries, ~67 KB, past an entry's
 * bound. */
static uint16_t
hot_item(tidal_sigtypes *types, tidal_signals *s, uint64_t t_end)
{
    char name[TIDAL_SIGTYPE_NAME_BYTES_MAX];
    uint16_t type;
    memset(name, 'h', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    TIDAL_PASS(tidal_sigtypes_intern(types, name, &type));
    for (tidal_region_id r = 0; r < TIDAL_REGIONS_MAX; r++) {
        for (uint64_t h = 0; h < 169; h++) {
            TIDAL_PASS(tidal_signals_apply(s, 5, type, r, 1 + r, t_end - h * HOUR_NS));
        }
        for (uint64_t m = 1; m < 61; m++) {
            TIDAL_PASS(tidal_signals_apply(s, 5, type, r, 1, t_end - m * MINUTE_NS));
        }
    }
    return type;
}

/* Merges the parts of a's (5, type) of at most cap bytes into b: in the
 * order of stride (1: as cut, else every stride-th first), each twice.
 * Returns how many parts. */
static uint32_t
merge_signal_parts(tidal_signals *a, uint16_t type, tidal_signals *b, size_t cap, uint32_t stride,
                   uint64_t now)
{
    static uint8_t buf[PARTS_MAX][65536];
    size_t len[PARTS_MAX];
    uint32_t n = 0;
    uint64_t from = 0;
    do {
        cr_assert_lt(n, PARTS_MAX);
        TIDAL_PASS(tidal_signals_entry_encode_part(a, 5, type, &from, buf[n], cap, &len[n]));
        cr_assert_leq(len[n], cap);
        n++;
    } while (from != 0);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (k * stride) % n;
        TIDAL_PASS(tidal_signals_entry_merge(b, buf[i], len[i], now, NULL, NULL));
        TIDAL_PASS(tidal_signals_entry_merge(b, buf[i], len[i], now, NULL, NULL));
    }
    return n;
}

/* A hot item's state does not fit one entry; its parts do, and merged in
 * any order (old buckets before or after the newest) they give the whole
 * state: the same hash, the same counts. */
Test(entry_parts, a_signal_state_past_the_bound_travels_in_parts)
{
    const uint64_t t_end = T0 + 30 * 24 * HOUR_NS;
    tidal_sigtypes *ta;
    tidal_signals *a;
    TIDAL_PASS(tidal_sigtypes_open(&ta));
    TIDAL_PASS(tidal_signals_open(ta, &a));
    uint16_t type = hot_item(ta, a, t_end);
    static uint8_t whole[1u << 17];
    size_t len = 0;
    TIDAL_FAIL(tidal_signals_entry_encode(a, 5, type, whole, 65535, &len), TIDAL_ETOOBIG);
    cr_assert_gt(len, 65535, "the hot item fits one entry (%zu bytes)", len);
    uint64_t want;
    TIDAL_PASS(tidal_signals_entry_hash(a, 5, type, &want));

    /* 65535: two parts; 3000: many, one of them across minutes and hours;
     * strides 1, 3 and 7 merge them in different orders */
    const size_t caps[] = {65535, 3000, 3000, 3000};
    const uint32_t strides[] = {1, 1, 3, 7};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        tidal_sigtypes *tb;
        tidal_signals *b;
        TIDAL_PASS(tidal_sigtypes_open(&tb));
        TIDAL_PASS(tidal_signals_open(tb, &b));
        uint32_t n = merge_signal_parts(a, type, b, caps[c], strides[c], t_end);
        cr_assert_geq(n, caps[c] == 65535 ? 2u : 20u);
        uint16_t tb_type;
        TIDAL_PASS(tidal_sigtypes_find(tb, tidal_sigtypes_name(ta, type), &tb_type));
        uint64_t got;
        TIDAL_PASS(tidal_signals_entry_hash(b, 5, tb_type, &got));
        cr_assert_eq(got, want, "cap %zu, stride %u: %u parts did not add up", caps[c],
                     strides[c], n);
        tidal_signals_close(b);
        tidal_sigtypes_close(tb);
    }
    tidal_signals_close(a);
    tidal_sigtypes_close(ta);
}

/* A state that fits is one part, the whole entry; a bound that holds no
 * bucket is refused with nothing moved. */
Test(entry_parts, a_signal_state_that_fits_is_one_part)
{
    tidal_sigtypes *t;
    tidal_signals *s;
    uint16_t view;
    TIDAL_PASS(tidal_sigtypes_open(&t));
    TIDAL_PASS(tidal_signals_open(t, &s));
    TIDAL_PASS(tidal_sigtypes_intern(t, "view", &view));
    TIDAL_PASS(tidal_signals_apply(s, 5, view, 0, 1, T0));
    uint8_t whole[256], part[256];
    size_t wlen = 0, plen = 0;
    uint64_t from = 0;
    TIDAL_PASS(tidal_signals_entry_encode(s, 5, view, whole, sizeof(whole), &wlen));
    const size_t one_bucket = 14 + 4 + 5 + 18; /* header, "view", one bucket of one region */
    TIDAL_FAIL(tidal_signals_entry_encode_part(s, 5, view, &from, part, one_bucket - 1, &plen),
               TIDAL_ETOOBIG);
    cr_assert_eq(from, 0);
    TIDAL_PASS(tidal_signals_entry_encode_part(s, 5, view, &from, part, sizeof(part), &plen));
    cr_assert_eq(from, 0);
    cr_assert_eq(plen, wlen);
    cr_assert_eq(memcmp(part, whole, wlen), 0, "one part is the whole entry");
    TIDAL_FAIL(tidal_signals_entry_encode_part(s, 6, view, &from, part, sizeof(part), &plen),
               TIDAL_ENOENT);
    tidal_signals_close(s);
    tidal_sigtypes_close(t);
}
