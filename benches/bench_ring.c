/*
 * The in-memory ceiling: see bench_ring.h.
 *
 * One producer thread encodes each envelope with msgpack-c straight into a
 * ring slot, one consumer decodes it with msgpack_unpack_next.  Head and tail
 * live on their own cache lines and each side caches the other's index, so a
 * slot costs one release store and, in steady state, no cache-line transfer
 * per message.  A side that finds the ring empty (or full) spins, and yields
 * its CPU after RING_SPINS_MAX polls in a row: with a core each it never gets
 * that far, and with more threads than CPUs (taskset -c 0) the other side gets
 * to run instead of waiting for the end of a time slice.
 */
#include "benches/bench_ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "benches/bench_util.h"

struct fixed_out {
    uint8_t *p;
    size_t len;
    size_t cap;
};

static int
fixed_write(void *data, const char *buf, size_t len)
{
    struct fixed_out *o = data;
    if (o->len + len > o->cap) {
        return -1;
    }
    memcpy(o->p + o->len, buf, len);
    o->len += len;
    return 0;
}

size_t
bench_env_encode(uint8_t *out, uint64_t id, uint64_t hlc, const uint8_t *payload)
{
    struct fixed_out o = {out, 0, BENCH_ENV_BYTES_MAX};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, fixed_write);
    /* fixed-width ints: every envelope is the same 99 bytes */
    int rv = msgpack_pack_array(&pk, 7);
    rv |= msgpack_pack_uint8(&pk, 1);
    rv |= msgpack_pack_uint16(&pk, 1000);
    rv |= msgpack_pack_str_with_body(&pk, "send", 4);
    rv |= msgpack_pack_str_with_body(&pk, "sink", 4);
    rv |= msgpack_pack_fix_uint64(&pk, id);
    rv |= msgpack_pack_fix_uint64(&pk, hlc);
    rv |= msgpack_pack_bin_with_body(&pk, payload, BENCH_PAYLOAD_BYTES);
    return rv == 0 ? o.len : 0;
}

struct bench_env_decoder {
    msgpack_unpacked up;
};

bench_env_decoder *
bench_env_decoder_new(void)
{
    bench_env_decoder *d = malloc(sizeof(*d));
    BENCH_CHECK(d != NULL);
    msgpack_unpacked_init(&d->up);
    return d;
}

void
bench_env_decoder_free(bench_env_decoder *d)
{
    if (d != NULL) {
        msgpack_unpacked_destroy(&d->up);
        free(d);
    }
}

bool
bench_env_decode(bench_env_decoder *d, const uint8_t *buf, size_t len, uint64_t *id)
{
    size_t off = 0;
    if (msgpack_unpack_next(&d->up, (const char *)buf, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len) {
        return false;
    }
    const msgpack_object *o = &d->up.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 7) {
        return false;
    }
    const msgpack_object *f = o->via.array.ptr;
    if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[0].via.u64 != 1 ||
        f[4].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[6].type != MSGPACK_OBJECT_BIN ||
        f[6].via.bin.size != BENCH_PAYLOAD_BYTES) {
        return false;
    }
    *id = f[4].via.u64;
    return true;
}

#define RING_SLOTS 4096u     /* power of two */
#define RING_SPINS_MAX 1024u /* empty polls before a side yields its CPU */

struct ring_slot {
    uint32_t len;
    uint8_t data[BENCH_ENV_BYTES_MAX];
};

struct ring {
    _Alignas(64) atomic_size_t head; /* next slot the consumer reads */
    _Alignas(64) atomic_size_t tail; /* next slot the producer writes */
    _Alignas(64) struct ring_slot *slots;
    uint64_t n;
    uint64_t received;
    pthread_barrier_t *ready, *go;
};

static void
ring_pause(uint32_t *spins)
{
    if (++*spins >= RING_SPINS_MAX) {
        *spins = 0;
        sched_yield();
    }
}

static void *
ring_consumer(void *arg)
{
    struct ring *r = arg;
    bench_env_decoder *d = bench_env_decoder_new();
    size_t head = 0, tail_seen = 0;
    uint64_t ok = 0;
    pthread_barrier_wait(r->ready);
    pthread_barrier_wait(r->go);
    for (uint64_t i = 1; i <= r->n; i++) {
        uint32_t spins = 0;
        while (tail_seen == head) {
            tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
            ring_pause(&spins);
        }
        struct ring_slot *s = &r->slots[head & (RING_SLOTS - 1)];
        uint64_t id = 0;
        if (bench_env_decode(d, s->data, s->len, &id) && id == i) {
            ok++;
        }
        atomic_store_explicit(&r->head, ++head, memory_order_release);
    }
    r->received = ok;
    bench_env_decoder_free(d);
    return NULL;
}

static void *
ring_producer(void *arg)
{
    struct ring *r = arg;
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    memset(payload, 0x5a, sizeof(payload));
    size_t tail = 0, head_seen = 0;
    pthread_barrier_wait(r->ready);
    pthread_barrier_wait(r->go);
    for (uint64_t i = 1; i <= r->n; i++) {
        uint32_t spins = 0;
        while (tail - head_seen >= RING_SLOTS) {
            head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
            ring_pause(&spins);
        }
        struct ring_slot *s = &r->slots[tail & (RING_SLOTS - 1)];
        s->len = (uint32_t)bench_env_encode(s->data, i, i, payload);
        atomic_store_explicit(&r->tail, ++tail, memory_order_release);
    }
    return NULL;
}

uint64_t
bench_ring_pairs_run(uint32_t pairs, uint64_t n, uint64_t *received)
{
    BENCH_CHECK(pairs >= 1);
    BENCH_CHECK(pairs <= BENCH_RING_PAIRS_MAX);
    struct ring *rings = aligned_alloc(64, pairs * sizeof(*rings));
    pthread_t *th = calloc(2 * (size_t)pairs, sizeof(*th));
    BENCH_CHECK(rings != NULL);
    BENCH_CHECK(th != NULL);
    memset(rings, 0, pairs * sizeof(*rings));
    /* the clock starts before the threads can: they wait for ready, then
     * for go, which cannot open before this thread reads the clock */
    pthread_barrier_t ready, go;
    BENCH_CHECK(pthread_barrier_init(&ready, NULL, 2 * pairs + 1) == 0);
    BENCH_CHECK(pthread_barrier_init(&go, NULL, 2 * pairs + 1) == 0);
    for (uint32_t p = 0; p < pairs; p++) {
        struct ring *r = &rings[p];
        r->slots = calloc(RING_SLOTS, sizeof(*r->slots));
        BENCH_CHECK(r->slots != NULL);
        r->n = n;
        r->ready = &ready;
        r->go = &go;
        BENCH_CHECK(pthread_create(&th[2 * p], NULL, ring_consumer, r) == 0);
        BENCH_CHECK(pthread_create(&th[2 * p + 1], NULL, ring_producer, r) == 0);
    }
    pthread_barrier_wait(&ready);
    uint64_t t0 = bench_now_ns();
    pthread_barrier_wait(&go);
    for (uint32_t i = 0; i < 2 * pairs; i++) {
        pthread_join(th[i], NULL);
    }
    uint64_t ns = bench_now_ns() - t0;
    *received = 0;
    for (uint32_t p = 0; p < pairs; p++) {
        *received += rings[p].received;
        free(rings[p].slots);
    }
    pthread_barrier_destroy(&ready);
    pthread_barrier_destroy(&go);
    free(th);
    free(rings);
    return ns;
}

uint64_t
bench_ceiling_run(uint64_t n, uint64_t *received)
{
    return bench_ring_pairs_run(1, n, received);
}
