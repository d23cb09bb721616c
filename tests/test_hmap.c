/*
 * The stable hash and the hash map under store/: pinned hash values (they are
 * in every digest regions exchange), streaming equal to one-shot, and the map
 * against a reference model through random inserts, removals and sweeps,
 * growth, and allocation failures.
 */
#include "tidal_test.h"

#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "store/hmap.h"

TIDAL_SUITE(hmap);

Test(hmap, hash_values_are_pinned)
{
    /* If one of these changes, every region's digests change: never. */
    static const struct {
        const char *in;
        uint64_t seed;
        uint64_t want;
    } cases[] = {
        {"", 0, 0x33fe8bd4f9c57863ull},
        {"a", 0, 0xb7c3bbc717c50cb6ull},
        {"tidal", 1, 0xb7e88ef45adaacd8ull},
        {"0123456789abcdef", 0, 0xd9ec2a209ca42ff1ull},
        {"0123456789abcdefg", 42, 0x8fa1854a15dcea50ull},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t got = tidal_hash64(cases[i].in, strlen(cases[i].in), cases[i].seed);
        cr_expect_eq(got, cases[i].want, "hash(\"%s\") = 0x%016llx", cases[i].in,
                     (unsigned long long)got);
    }
    cr_assert_eq(tidal_mix64(0), 0);
    cr_assert_eq(tidal_mix64(1), 0x5692161d100b05e5ull);
}

Test(hmap, streaming_equals_one_shot_for_every_split)
{
    uint8_t buf[67];
    uint64_t s = 1;

    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)tidal_test_mix(&s);
    }
    for (size_t n = 0; n <= sizeof(buf); n++) {
        uint64_t want = tidal_hash64(buf, n, 7);
        for (size_t a = 0; a <= n; a++) {
            for (size_t b = a; b <= n; b += 3) {
                tidal_hasher h;
                tidal_hasher_init(&h, 7);
                tidal_hasher_update(&h, buf, a);
                tidal_hasher_update(&h, buf + a, b - a);
                tidal_hasher_update(&h, buf + b, n - b);
                cr_assert_eq(tidal_hasher_final(&h), want, "n %zu split %zu %zu", n, a, b);
            }
        }
    }
}

Test(hmap, hash_depends_on_length_seed_and_every_byte)
{
    uint8_t z[16] = {0};
    uint8_t buf[24] = {0};
    uint64_t base = tidal_hash64(buf, sizeof(buf), 0);

    /* Zero padding must not make lengths collide. */
    for (size_t n = 0; n < 16; n++) {
        for (size_t m = n + 1; m <= 16; m++) {
            cr_assert_neq(tidal_hash64(z, n, 0), tidal_hash64(z, m, 0), "%zu vs %zu", n, m);
        }
    }
    cr_assert_neq(tidal_hash64(buf, sizeof(buf), 0), tidal_hash64(buf, sizeof(buf), 1));
    for (size_t i = 0; i < sizeof(buf); i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            cr_assert_neq(tidal_hash64(buf, sizeof(buf), 0), base, "byte %zu bit %u", i, bit);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
}

typedef struct kv {
    uint64_t key;
    uint64_t value;
} kv;

#define MODEL_KEYS 2000u

/* Asserts the map holds exactly the model's entries. */
static void
check_model(const tidal_hmap *m, const bool *present, const uint64_t *value)
{
    size_t n = 0, cursor = 0;
    const kv *e;
    uint8_t seen[MODEL_KEYS] = {0};

    for (uint64_t k = 0; k < MODEL_KEYS; k++) {
        e = tidal_hmap_find(m, &k);
        cr_assert_eq(e != NULL, present[k], "key %llu", (unsigned long long)k);
        if (e != NULL) {
            cr_assert_eq(e->value, value[k]);
            n++;
        }
    }
    cr_assert_eq(tidal_hmap_count(m), n);
    while ((e = tidal_hmap_next(m, &cursor)) != NULL) {
        cr_assert(e->key < MODEL_KEYS && present[e->key]);
        cr_assert_eq(seen[e->key]++, 0, "key %llu visited twice", (unsigned long long)e->key);
    }
}

Test(hmap, random_operations_match_a_reference_model)
{
    static bool present[MODEL_KEYS];
    static uint64_t value[MODEL_KEYS];
    tidal_hmap m;
    uint64_t s = 42;

    tidal_hmap_init(&m, sizeof(kv), sizeof(uint64_t));
    for (int i = 0; i < 200000; i++) {
        uint64_t r = tidal_test_mix(&s);
        uint64_t k = (r >> 8) % MODEL_KEYS;
        if ((r & 3) != 0) {
            kv *e;
            bool created;
            TIDAL_PASS(tidal_hmap_upsert(&m, &k, (void **)&e, &created));
            cr_assert_eq(created, !present[k]);
            cr_assert_eq(e->key, k);
            if (created) {
                cr_assert_eq(e->value, 0, "a created entry is zeroed");
            }
            e->value = r;
            present[k] = true;
            value[k] = r;
        } else {
            cr_assert_eq(tidal_hmap_remove(&m, &k), present[k]);
            present[k] = false;
        }
        if (i % 20000 == 0) {
            check_model(&m, present, value);
        }
    }
    check_model(&m, present, value);
    tidal_hmap_fini(&m);
}

static bool
keep_odd(void *entry, void *arg)
{
    kv *e = entry;
    uint8_t *visits = arg;

    visits[e->key]++;
    return (e->key & 1) != 0;
}

Test(hmap, retain_visits_every_entry_once_and_removes_the_rejected)
{
    static uint8_t visits[20000];
    uint64_t s = 7;

    for (int round = 0; round < 20; round++) {
        tidal_hmap m;
        size_t n = 1 + (size_t)(tidal_test_mix(&s) % 20000);
        size_t odd = 0;

        tidal_hmap_init(&m, sizeof(kv), sizeof(uint64_t));
        memset(visits, 0, sizeof(visits));
        for (uint64_t k = 0; k < n; k++) {
            kv *e;
            bool created;
            TIDAL_PASS(tidal_hmap_upsert(&m, &k, (void **)&e, &created));
            odd += k & 1;
        }
        tidal_hmap_retain(&m, keep_odd, visits);
        for (uint64_t k = 0; k < n; k++) {
            cr_assert_eq(visits[k], 1, "round %d: key %llu visited %u times", round,
                         (unsigned long long)k, visits[k]);
            cr_assert_eq(tidal_hmap_find(&m, &k) != NULL, (k & 1) != 0);
        }
        cr_assert_eq(tidal_hmap_count(&m), odd);
        tidal_hmap_fini(&m);
    }
}

Test(hmap, only_the_key_bytes_are_compared)
{
    struct {
        uint64_t a;
        uint16_t b;
        uint16_t pad[3];
    } k1 = {1, 2, {7, 7, 7}}, k2 = {1, 2, {9, 9, 9}};
    tidal_hmap m;
    void *e1, *e2;
    bool created;

    tidal_hmap_init(&m, sizeof(k1) + 8, 10);
    TIDAL_PASS(tidal_hmap_upsert(&m, &k1, &e1, &created));
    cr_assert(created);
    TIDAL_PASS(tidal_hmap_upsert(&m, &k2, &e2, &created));
    cr_assert_not(created);
    cr_assert_eq(e1, e2);
    tidal_hmap_fini(&m);
}

Test(hmap, out_of_memory_on_growth_changes_nothing)
{
    tidal_hmap m;
    uint64_t k = 0;
    kv *e;
    bool created;
    int rv;

    tidal_hmap_init(&m, sizeof(kv), sizeof(uint64_t));
    /* Fill until the next insert must grow. */
    for (;; k++) {
        size_t cap = m.cap;
        TIDAL_PASS(tidal_hmap_upsert(&m, &k, (void **)&e, &created));
        e->value = k * 3;
        if (m.cap != cap && k > 100) {
            break;
        }
    }
    for (k++;; k++) {
        size_t cap = m.cap;
        tidal__alloc_fail_after(0);
        rv = tidal_hmap_upsert(&m, &k, (void **)&e, &created);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(m.cap, cap);
            break;
        }
        e->value = k * 3;
    }
    cr_assert_eq(tidal_hmap_count(&m), k);
    cr_assert_null(tidal_hmap_find(&m, &k));
    for (uint64_t j = 0; j < k; j++) {
        e = tidal_hmap_find(&m, &j);
        cr_assert(e != NULL && e->value == j * 3);
    }
    /* An existing key needs no allocation even when allocations fail. */
    tidal__alloc_fail_after(0);
    uint64_t old = 5;
    TIDAL_PASS(tidal_hmap_upsert(&m, &old, (void **)&e, &created));
    cr_assert_not(created);
    tidal__alloc_fail_after(-1);
    tidal_hmap_fini(&m);
}

Test(hmap, reserve_makes_upserts_up_to_the_count_infallible)
{
    tidal_hmap m;

    tidal_hmap_init(&m, sizeof(kv), sizeof(uint64_t));
    TIDAL_PASS(tidal_hmap_reserve(&m, 0));
    cr_assert_eq(m.cap, 0, "reserving nothing allocates nothing");
    TIDAL_PASS(tidal_hmap_reserve(&m, 1000));
    tidal__alloc_fail_after(0);
    for (uint64_t k = 0; k < 1000; k++) {
        kv *e;
        bool created;
        TIDAL_PASS(tidal_hmap_upsert(&m, &k, (void **)&e, &created));
    }
    tidal__alloc_fail_after(-1);
    cr_assert_eq(tidal_hmap_memory_bytes(&m), m.cap * (sizeof(kv) + 1));
    cr_assert(m.cap < 4096, "cap %zu: reserve should not overshoot", m.cap);
    tidal_hmap_fini(&m);
    cr_assert_eq(tidal_hmap_memory_bytes(&m), 0);
}
