/*
 * The LWW register: the full-triple order (ties on wall and logical broken by
 * node id), the identical-stamp tie-break, the value limit, the merge laws
 * over random registers, every order of writes converging, and the encoding.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/hash.h"
#include "store/lww.h"

TIDAL_SUITE(lww);

static tidal_hlc
stamp(uint64_t wall, uint32_t logical, uint16_t node)
{
    tidal_hlc ts = {.wall_ns = wall, .logical = logical, .node_id = node};
    return ts;
}

static void
set_str(tidal_lww *r, const char *v, tidal_hlc ts)
{
    TIDAL_PASS(tidal_lww_set(r, v, strlen(v), &ts, NULL));
}

static void
assert_value(const tidal_lww *r, const char *want)
{
    const uint8_t *v;
    size_t len;

    cr_assert(tidal_lww_get(r, &v, &len, NULL), "register is empty");
    cr_assert(len == strlen(want) && memcmp(v, want, len) == 0, "value %.*s, want %s", (int)len,
              (const char *)v, want);
}

/* A random write from a small space, so that ties happen often. */
static void
random_write(tidal_lww *r, uint64_t *s)
{
    char v[4];
    size_t len = tidal_test_mix(s) % 4;
    tidal_hlc ts = stamp(tidal_test_mix(s) % 4, (uint32_t)(tidal_test_mix(s) % 3), (uint16_t)(tidal_test_mix(s) % 3));
    for (size_t i = 0; i < len; i++) {
        v[i] = (char)('a' + tidal_test_mix(s) % 3);
    }
    TIDAL_PASS(tidal_lww_set(r, v, len, &ts, NULL));
}

static void
random_register(tidal_lww *r, uint64_t *s)
{
    tidal_lww_init(r);
    for (uint64_t n = tidal_test_mix(s) % 3; n > 0; n--) {
        random_write(r, s);
    }
}

static void
assert_same(const tidal_lww *a, const tidal_lww *b, const char *what)
{
    cr_assert(tidal_lww_equal(a, b), "%s: registers differ", what);
    cr_assert_eq(tidal_lww_hash(a), tidal_lww_hash(b), "%s: hashes differ", what);
}

Test(lww, empty_register_has_no_value)
{
    tidal_lww r;
    tidal_hlc ts;

    tidal_lww_init(&r);
    cr_assert_not(tidal_lww_get(&r, NULL, NULL, &ts));
    set_str(&r, "", stamp(0, 0, 0));
    assert_value(&r, "");
    cr_assert(tidal_lww_get(&r, NULL, NULL, &ts));
}

Test(lww, the_greater_stamp_wins_in_either_order)
{
    tidal_lww a, b;
    bool applied;

    tidal_lww_init(&a);
    tidal_lww_init(&b);
    set_str(&a, "old", stamp(100, 0, 1));
    set_str(&a, "new", stamp(200, 0, 0));
    set_str(&b, "new", stamp(200, 0, 0));
    TIDAL_PASS(tidal_lww_set(&b, "old", 3, &(tidal_hlc){.wall_ns = 100, .node_id = 1}, &applied));
    cr_assert_not(applied);
    assert_value(&a, "new");
    assert_same(&a, &b, "orders");
    /* Logical breaks a wall tie. */
    set_str(&a, "l1", stamp(200, 1, 0));
    assert_value(&a, "l1");
}

Test(lww, equal_wall_and_logical_are_ordered_by_node_id)
{
    tidal_lww a, b;

    tidal_lww_init(&a);
    tidal_lww_init(&b);
    set_str(&a, "from-node-2", stamp(50, 3, 2));
    set_str(&a, "from-node-1", stamp(50, 3, 1));
    set_str(&b, "from-node-1", stamp(50, 3, 1));
    set_str(&b, "from-node-2", stamp(50, 3, 2));
    assert_value(&a, "from-node-2");
    assert_same(&a, &b, "node tie-break");
}

Test(lww, identical_stamps_keep_the_greater_value)
{
    tidal_lww a, b;
    tidal_hlc ts = stamp(7, 7, 7);

    tidal_lww_init(&a);
    tidal_lww_init(&b);
    set_str(&a, "abc", ts);
    set_str(&a, "abd", ts);
    set_str(&a, "ab", ts);
    set_str(&b, "ab", ts);
    set_str(&b, "abd", ts);
    set_str(&b, "abc", ts);
    assert_value(&a, "abd");
    assert_same(&a, &b, "value tie-break");
}

Test(lww, value_limit_minus_one_exact_plus_one)
{
    static uint8_t big[TIDAL_LWW_VALUE_BYTES_MAX + 1];
    tidal_lww r;
    tidal_hlc ts = stamp(1, 0, 0);
    size_t len;

    memset(big, 'x', sizeof(big));
    tidal_lww_init(&r);
    TIDAL_PASS(tidal_lww_set(&r, big, TIDAL_LWW_VALUE_BYTES_MAX - 1, &ts, NULL));
    ts.wall_ns++;
    TIDAL_PASS(tidal_lww_set(&r, big, TIDAL_LWW_VALUE_BYTES_MAX, &ts, NULL));
    ts.wall_ns++;
    TIDAL_FAIL(tidal_lww_set(&r, big, TIDAL_LWW_VALUE_BYTES_MAX + 1, &ts, NULL), TIDAL_ETOOBIG);
    TIDAL_FAIL(tidal_lww_set(&r, NULL, 1, &ts, NULL), TIDAL_EINVAL);
    cr_assert(tidal_lww_get(&r, NULL, &len, NULL));
    cr_assert_eq(len, TIDAL_LWW_VALUE_BYTES_MAX);
}

Test(lww, merge_is_commutative_associative_idempotent)
{
    uint64_t s = 21;

    for (int i = 0; i < 5000; i++) {
        tidal_lww a, b, c, ab, ba, ab_c, bc, a_bc, aa;
        random_register(&a, &s);
        random_register(&b, &s);
        random_register(&c, &s);
        ab = a;
        tidal_lww_merge(&ab, &b);
        ba = b;
        tidal_lww_merge(&ba, &a);
        assert_same(&ab, &ba, "commutative");
        ab_c = ab;
        tidal_lww_merge(&ab_c, &c);
        bc = b;
        tidal_lww_merge(&bc, &c);
        a_bc = a;
        tidal_lww_merge(&a_bc, &bc);
        assert_same(&ab_c, &a_bc, "associative");
        aa = a;
        tidal_lww_merge(&aa, &a);
        assert_same(&aa, &a, "idempotent");
    }
}

Test(lww, every_order_of_writes_converges)
{
    enum { N = 6 };
    uint64_t s = 33;

    for (int round = 0; round < 40; round++) {
        tidal_lww w[N], first;
        int perm[N];
        /* Six single writes; all 720 orders, each write applied twice. */
        for (int i = 0; i < N; i++) {
            tidal_lww_init(&w[i]);
            random_write(&w[i], &s);
            perm[i] = i;
        }
        for (int count = 0;; count++) {
            tidal_lww r;
            int i, j;
            tidal_lww_init(&r);
            for (int k = 0; k < N; k++) {
                tidal_lww_merge(&r, &w[perm[k]]);
                tidal_lww_merge(&r, &w[perm[(k + 1) % N]]);
            }
            if (count == 0) {
                first = r;
            }
            assert_same(&r, &first, "orders");
            /* Next permutation (lexicographic). */
            for (i = N - 2; i >= 0 && perm[i] > perm[i + 1]; i--) {
            }
            if (i < 0) {
                cr_assert_eq(count + 1, 720);
                break;
            }
            for (j = N - 1; perm[j] < perm[i]; j--) {
            }
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
            for (int a = i + 1, b = N - 1; a < b; a++, b--) {
                t = perm[a];
                perm[a] = perm[b];
                perm[b] = t;
            }
        }
    }
}

Test(lww, encoding_round_trips)
{
    uint8_t buf[TIDAL_LWW_ENCODED_BYTES_MAX];
    uint64_t s = 4;

    for (int i = 0; i < 2000; i++) {
        tidal_lww a, b;
        size_t len;
        random_register(&a, &s);
        TIDAL_PASS(tidal_lww_encode(&a, buf, sizeof(buf), &len));
        cr_assert_eq(tidal_lww_hash(&a), tidal_hash64(buf, len, 0x4c57575265676973ull));
        tidal_lww_init(&b);
        TIDAL_PASS(tidal_lww_decode(&b, buf, len));
        assert_same(&a, &b, "round trip");
    }
}

Test(lww, decode_rejects_truncation_trailing_and_broken_fields)
{
    uint8_t buf[TIDAL_LWW_ENCODED_BYTES_MAX + 1];
    tidal_lww a, d;
    size_t len;

    tidal_lww_init(&a);
    set_str(&a, "hello", stamp(9, 8, 7));
    TIDAL_PASS(tidal_lww_encode(&a, buf, sizeof(buf), &len));
    cr_assert_eq(len, 17 + 5);
    tidal_lww_init(&d);
    set_str(&d, "keep", stamp(1, 1, 1));
    for (size_t cut = 0; cut < len; cut++) {
        TIDAL_FAIL(tidal_lww_decode(&d, buf, cut), TIDAL_ETRUNCATED);
    }
    buf[len] = 0;
    TIDAL_FAIL(tidal_lww_decode(&d, buf, len + 1), TIDAL_ETRAILING);
    buf[0] = 2;
    TIDAL_FAIL(tidal_lww_decode(&d, buf, len), TIDAL_ECORRUPT);
    buf[0] = 1;
    buf[15] = (uint8_t)(TIDAL_LWW_VALUE_BYTES_MAX + 1);
    buf[16] = (uint8_t)((TIDAL_LWW_VALUE_BYTES_MAX + 1) >> 8);
    TIDAL_FAIL(tidal_lww_decode(&d, buf, len), TIDAL_ECORRUPT);
    /* An empty register is exactly one zero byte. */
    buf[0] = 0;
    TIDAL_FAIL(tidal_lww_decode(&d, buf, 2), TIDAL_ETRAILING);
    assert_value(&d, "keep");
    TIDAL_PASS(tidal_lww_decode(&d, buf, 1));
    cr_assert_not(tidal_lww_get(&d, NULL, NULL, NULL));
}

Test(lww, random_garbage_never_crashes)
{
    uint8_t buf[300];
    uint64_t s = 77;

    for (int i = 0; i < 20000; i++) {
        tidal_lww d;
        size_t len = tidal_test_mix(&s) % sizeof(buf);
        int rv;
        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)tidal_test_mix(&s);
        }
        if (len > 0) {
            buf[0] = (uint8_t)(tidal_test_mix(&s) % 3);
        }
        tidal_lww_init(&d);
        rv = tidal_lww_decode(&d, buf, len);
        cr_assert(rv == 0 || rv == TIDAL_ETRUNCATED || rv == TIDAL_ECORRUPT ||
                  rv == TIDAL_ETRAILING);
    }
}
