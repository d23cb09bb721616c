/*
 * Helpers shared by the benchmarks: see bench_util.h.
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
    if (key != NULL) {
        printf("\"%s\":", key);
    }
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
bench_json_arr(bench_json *j, const char *key)
{
    BENCH_CHECK(j->depth + 1 < (int)(sizeof(j->first) / sizeof(j->first[0])));
    json_key(j, key);
    putchar('[');
    j->first[++j->depth] = true;
}

void
bench_json_arr_close(bench_json *j)
{
    BENCH_CHECK(j->depth > 0);
    j->depth--;
    putchar(']');
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

/* ---- runs of one figure ----------------------------------------------------------- */

void
bench_series_add(bench_series *s, uint64_t count, uint64_t ns)
{
    BENCH_CHECK(s->n < BENCH_RUNS_MAX);
    s->rate[s->n++] = bench_rate(count, ns);
}

double
bench_series_json(bench_json *j, const char *key, const bench_series *s, const char *unit)
{
    char median_key[64], runs_key[64];
    snprintf(median_key, sizeof(median_key), "%s_per_s", unit);
    snprintf(runs_key, sizeof(runs_key), "runs_%s_per_s", unit);
    double med = bench_median(s->rate, s->n);
    bench_json_obj(j, key);
    bench_json_f(j, median_key, med, 0);
    bench_json_farr(j, runs_key, s->rate, s->n, 0);
    bench_json_close(j);
    return med;
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

/* ---- a counting behaviour ---------------------------------------------------- */

static int
count_init(tidal_ctx *ctx, void *arg, void **state)
{
    (void)ctx;
    bench_counts *c = arg;
    atomic_fetch_add(&c->inits, 1);
    *state = arg;
    return 0;
}

int
bench_count_handle(tidal_ctx *ctx, void *state, const tidal_msg *m)
{
    (void)ctx;
    (void)m;
    bench_counts *c = state;
    bench_latch_add(&c->handled, 1);
    return 0;
}

static void
count_fini(void *state, void *arg)
{
    (void)state;
    bench_counts *c = arg;
    atomic_fetch_add(&c->finis, 1);
}

const tidal_behaviour bench_count_behaviour = {
    .init = count_init, .handle = bench_count_handle, .fini = count_fini};
