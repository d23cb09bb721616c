/*
 * Helpers shared by the benchmarks: see bench_util.h.
 *
 * The SPSC ring is the in-memory ceiling of docs/measurements.md: one
 * producer thread encodes each envelope with msgpack-c straight into a ring
 * slot, one
 * consumer decodes it with msgpack_unpack_next.  Head and tail live on their
 * own cache lines and each side caches the other's index, so a slot costs one
 * release store and, in steady state, no cache-line transfer per message.
 */
#include "benches/bench_util.h"

#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

const char *const bench_transports[BENCH_TRANSPORTS] = {"inproc", "ipc", "tcp"};

void
bench_fatal(const char *file, int line, const char *what, const char *why)
{
    fprintf(stderr, "bench: %s:%d: %s: %s\n", file, line, what, why);
    exit(1);
}

bool
bench_parse_quick(int argc, char **argv, const char *usage)
{
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--quick]\n%s", argv[0], usage);
            exit(0);
        } else {
            fprintf(stderr, "%s: bad argument '%s' (try --help)\n", argv[0], argv[i]);
            exit(2);
        }
    }
    return quick;
}

uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void
bench_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t
bench_percentile(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0) {
        return 0;
    }
    /* nearest rank: the smallest value with at least p% of the values <= it */
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank == 0) {
        rank = 1;
    }
    if (rank > n) {
        rank = n;
    }
    return sorted[rank - 1];
}

double
bench_median(const double *v, size_t n)
{
    double tmp[64];
    BENCH_CHECK(n >= 1 && n <= sizeof(tmp) / sizeof(tmp[0]));
    memcpy(tmp, v, n * sizeof(*v));
    qsort(tmp, n, sizeof(*tmp), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

double
bench_rate(uint64_t n, uint64_t ns)
{
    return ns == 0 ? 0 : (double)n * 1e9 / (double)ns;
}

/* ---- JSON ------------------------------------------------------------------------ */

static void
json_key(bench_json *j, const char *key)
{
    if (!j->first[j->depth]) {
        putchar(',');
    }
    j->first[j->depth] = false;
    printf("\"%s\":", key);
}

void
bench_json_begin(bench_json *j)
{
    j->depth = 0;
    j->first[0] = true;
    putchar('{');
}

void
bench_json_end(bench_json *j)
{
    BENCH_CHECK(j->depth == 0);
    printf("}\n");
    fflush(stdout);
}

void
bench_json_obj(bench_json *j, const char *key)
{
    BENCH_CHECK(j->depth + 1 < (int)(sizeof(j->first) / sizeof(j->first[0])));
    json_key(j, key);
    putchar('{');
    j->first[++j->depth] = true;
}

void
bench_json_close(bench_json *j)
{
    BENCH_CHECK(j->depth > 0);
    j->depth--;
    putchar('}');
}

void
bench_json_u64(bench_json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    printf("%" PRIu64, v);
}

void
bench_json_f(bench_json *j, const char *key, double v, int decimals)
{
    json_key(j, key);
    printf("%.*f", decimals, v);
}

void
bench_json_str(bench_json *j, const char *key, const char *v)
{
    json_key(j, key);
    printf("\"%s\"", v);
}

void
bench_json_bool(bench_json *j, const char *key, bool v)
{
    json_key(j, key);
    printf("%s", v ? "true" : "false");
}

void
bench_json_farr(bench_json *j, const char *key, const double *v, size_t n, int decimals)
{
    json_key(j, key);
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        printf("%s%.*f", i ? "," : "", decimals, v[i]);
    }
    putchar(']');
}

/* ---- latch ----------------------------------------------------------------------- */

void
bench_latch_init(bench_latch *l)
{
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    atomic_init(&l->count, 0);
    l->target = UINT64_MAX;
}

void
bench_latch_fini(bench_latch *l)
{
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
}

void
bench_latch_reset(bench_latch *l, uint64_t target)
{
    pthread_mutex_lock(&l->lock);
    atomic_store(&l->count, 0);
    l->target = target;
    pthread_mutex_unlock(&l->lock);
}

void
bench_latch_add(bench_latch *l, uint64_t n)
{
    uint64_t now = atomic_fetch_add(&l->count, n) + n;
    if (now >= l->target && now - n < l->target) {
        pthread_mutex_lock(&l->lock);
        pthread_cond_broadcast(&l->cond);
        pthread_mutex_unlock(&l->lock);
    }
}

uint64_t
bench_latch_wait(bench_latch *l, uint32_t timeout_ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += timeout_ms / 1000u;
    dl.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&l->lock);
    while (atomic_load(&l->count) < l->target) {
        if (pthread_cond_timedwait(&l->cond, &l->lock, &dl) != 0) {
            break;
        }
    }
    uint64_t n = atomic_load(&l->count);
    pthread_mutex_unlock(&l->lock);
    return n;
}

/* ---- the in-memory ceiling --------------------------------------------------------- */

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

#define RING_SLOTS 4096u /* power of two */

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
};

static void *
ring_consumer(void *arg)
{
    struct ring *r = arg;
    bench_env_decoder *d = bench_env_decoder_new();
    size_t head = 0, tail_seen = 0;
    uint64_t ok = 0;
    for (uint64_t i = 1; i <= r->n; i++) {
        while (tail_seen == head) {
            tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
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

uint64_t
bench_ceiling_run(uint64_t n, uint64_t *received)
{
    struct ring *r = aligned_alloc(64, sizeof(*r));
    BENCH_CHECK(r != NULL);
    memset(r, 0, sizeof(*r));
    r->slots = calloc(RING_SLOTS, sizeof(*r->slots));
    BENCH_CHECK(r->slots != NULL);
    r->n = n;
    uint8_t payload[BENCH_PAYLOAD_BYTES];
    memset(payload, 0x5a, sizeof(payload));
    pthread_t consumer;
    uint64_t t0 = bench_now_ns();
    BENCH_CHECK(pthread_create(&consumer, NULL, ring_consumer, r) == 0);
    size_t tail = 0, head_seen = 0;
    for (uint64_t i = 1; i <= n; i++) {
        while (tail - head_seen >= RING_SLOTS) {
            head_seen = atomic_load_explicit(&r->head, memory_order_acquire);
        }
        struct ring_slot *s = &r->slots[tail & (RING_SLOTS - 1)];
        s->len = (uint32_t)bench_env_encode(s->data, i, t0 + i, payload);
        atomic_store_explicit(&r->tail, ++tail, memory_order_release);
    }
    pthread_join(consumer, NULL);
    uint64_t ns = bench_now_ns() - t0;
    *received = r->received;
    free(r->slots);
    free(r);
    return ns;
}

/* ---- process memory, temporary directories, raw nng ---------------------------------- */

uint64_t
bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) {
        return 0;
    }
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    return n == 2 ? (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

uint64_t
bench_heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

void
bench_tmpdir(char *out, size_t cap, const char *prefix)
{
    int n = snprintf(out, cap, "/tmp/%s-XXXXXX", prefix);
    BENCH_CHECK(n > 0 && (size_t)n < cap);
    BENCH_CHECK(mkdtemp(out) != NULL);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void
bench_rmdir(const char *path)
{
    (void)nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS); /* best effort */
}

void
bench_base_url(const char *transport, const char *dir, const char *tag, char *out, size_t cap)
{
    int n;
    if (strcmp(transport, "inproc") == 0) {
        n = snprintf(out, cap, "inproc://bench-%d-%s", (int)getpid(), tag);
    } else if (strcmp(transport, "ipc") == 0) {
        n = snprintf(out, cap, "ipc://%s", dir);
    } else {
        n = snprintf(out, cap, "tcp://127.0.0.1");
    }
    BENCH_CHECK(n > 0 && (size_t)n < cap);
}

void
bench_nng_listen(nng_socket sock, const char *transport, const char *dir, const char *tag,
                 char *out, size_t cap)
{
    int n;
    if (strcmp(transport, "inproc") == 0) {
        n = snprintf(out, cap, "inproc://bench-raw-%d-%s", (int)getpid(), tag);
    } else if (strcmp(transport, "ipc") == 0) {
        n = snprintf(out, cap, "ipc://%s/raw-%s", dir, tag);
    } else {
        n = snprintf(out, cap, "tcp://127.0.0.1:0");
    }
    BENCH_CHECK(n > 0 && (size_t)n < cap);
    nng_listener l;
    BENCH_NNG(nng_listen(sock, out, &l, 0));
    if (strcmp(transport, "tcp") == 0) {
        nng_sockaddr sa;
        BENCH_NNG(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa));
        uint16_t port = (uint16_t)((sa.s_in.sa_port >> 8) | (sa.s_in.sa_port << 8));
        n = snprintf(out, cap, "tcp://127.0.0.1:%u", port);
        BENCH_CHECK(n > 0 && (size_t)n < cap);
    }
}
