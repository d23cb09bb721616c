/*
 * bench_slate: how long a slate takes in the live app (app.h) with two
 * regions under load, beside the raw tidal_retrieve_items call it makes, in
 * the same run.
 *
 * The load: --writers threads answer slates in region 1 as fast as they
 * can (each a user with a session: a slate, then a like, a skip and a hide
 * on three of its items), so region 0 applies a stream of replicated
 * signals, hides and counters while it serves.  The measured thread serves
 * --slates slates in region 0 to --users users in turn, timing each
 * forage_app_slate, and times the same number of raw retrieves: one user's
 * hard-negative filter over 40 catalogue items (the four sources' worth of
 * candidates), which is what a slate costs in tidal reads beside the
 * source asks and the ten shown-signal writes.
 *
 *   bench_slate [--slates N] [--users N] [--writers N] [--quick]
 *
 * Prints one JSON object: p50/p99 of both, in microseconds, the ratio of
 * the p50s, and the writers' answers per second.  Exit 1 on an error.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tidal/errors.h>

#include "app.h"
#include "bench_util.h"

#define WRITERS_MAX 8

static double
pct_us(uint64_t *v, size_t n, double p)
{
    return (double)forage_bench_quantile(v, n, p) / 1000.0;
}

typedef struct load {
    forage_app *app;
    uint64_t user;
    atomic_bool *stop;
    atomic_uint_fast64_t *answers;
    int rv;
} load;

/* One writer: slates and answers in region 1 until told to stop. */
static void *
writer(void *arg)
{
    load *l = arg;
    tidal_session_id s;
    l->rv = forage_app_start(l->app, 1, l->user, &s);
    while (l->rv == 0 && !atomic_load(l->stop)) {
        forage_served sv;
        l->rv = forage_app_slate(l->app, 1, s, &sv);
        static const forage_answer ans[3] = {FORAGE_ANSWER_LIKE, FORAGE_ANSWER_SKIP,
                                             FORAGE_ANSWER_HIDE};
        for (size_t i = 0; l->rv == 0 && i < 3 && i < sv.n; i++)
            l->rv = forage_app_answer(l->app, 1, s, sv.items[i].item, ans[i]);
        if (l->rv == 0)
            atomic_fetch_add(l->answers, 3);
    }
    return NULL;
}

typedef struct args {
    size_t slates, users, writers;
} args;

static int
parse_args(int argc, char **argv, args *a)
{
    *a = (args){.slates = 2000, .users = 50, .writers = 2};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            a->slates = 40, a->users = 4, a->writers = 1;
        } else if (i + 1 < argc && strcmp(argv[i], "--slates") == 0) {
            a->slates = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--users") == 0) {
            a->users = strtoul(argv[++i], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--writers") == 0) {
            a->writers = strtoul(argv[++i], NULL, 10);
        } else {
            return -1;
        }
    }
    return a->slates > 0 && a->users > 0 && a->writers <= WRITERS_MAX ? 0 : -1;
}

/* Times n slates of the users' sessions in region 0, then n raw retrieves. */
static int
measure(forage_app *app, const args *a, uint64_t *slate_ns, uint64_t *raw_ns)
{
    tidal_session_id *ss = calloc(a->users, sizeof(*ss));
    int rv = ss == NULL ? TIDAL_ENOMEM : 0;
    for (size_t u = 0; rv == 0 && u < a->users; u++)
        rv = forage_app_start(app, 0, 1000 + u, &ss[u]);
    for (size_t i = 0; rv == 0 && i < a->slates; i++) {
        forage_served sv;
        uint64_t t0 = forage_bench_now_ns();
        rv = forage_app_slate(app, 0, ss[i % a->users], &sv);
        slate_ns[i] = forage_bench_now_ns() - t0;
    }
    const forage_catalogue *c = forage_app_catalogue(app);
    tidal_entity_id cand[40];
    tidal_scored_item out[40];
    for (size_t i = 0; rv == 0 && i < a->slates; i++) {
        for (size_t j = 0; j < 40; j++)
            cand[j] = c->ids[(i * 40 + j) % c->n];
        tidal_retrieve q = {.user = 1000 + i % a->users, .candidates = cand, .ncandidates = 40};
        size_t n;
        uint64_t t0 = forage_bench_now_ns();
        rv = tidal_retrieve_items(forage_app_region(app, 0), &q, out, &n);
        raw_ns[i] = forage_bench_now_ns() - t0;
    }
    free(ss);
    return rv;
}

int
main(int argc, char **argv)
{
    args a;
    if (parse_args(argc, argv, &a) != 0) {
        fprintf(stderr,
                "usage: bench_slate [--slates N] [--users N] [--writers 0..%d] "
                "[--quick]\n",
                WRITERS_MAX);
        return 2;
    }
    forage_app *app;
    char err[FORAGE_ERR_BYTES];
    forage_app_opts o = {.regions = 2, .seed = 1};
    if (forage_app_open(&o, &app, err) != 0) {
        fprintf(stderr, "bench_slate: %s\n", err);
        return 1;
    }
    atomic_bool stop = false;
    atomic_uint_fast64_t answers = 0;
    load loads[WRITERS_MAX];
    pthread_t th[WRITERS_MAX];
    for (size_t w = 0; w < a.writers; w++) {
        loads[w] = (load){.app = app, .user = 1 + w, .stop = &stop, .answers = &answers};
        pthread_create(&th[w], NULL, writer, &loads[w]);
    }
    uint64_t *slate_ns = calloc(a.slates, sizeof(uint64_t));
    uint64_t *raw_ns = calloc(a.slates, sizeof(uint64_t));
    uint64_t t0 = forage_bench_now_ns();
    int rv = slate_ns && raw_ns ? measure(app, &a, slate_ns, raw_ns) : TIDAL_ENOMEM;
    double secs = (double)(forage_bench_now_ns() - t0) / 1e9;
    atomic_store(&stop, true);
    for (size_t w = 0; w < a.writers; w++) {
        pthread_join(th[w], NULL);
        if (rv == 0 && loads[w].rv != 0)
            rv = loads[w].rv;
    }
    if (rv == 0) {
        double s50 = pct_us(slate_ns, a.slates, 0.5), s99 = pct_us(slate_ns, a.slates, 0.99);
        double r50 = pct_us(raw_ns, a.slates, 0.5), r99 = pct_us(raw_ns, a.slates, 0.99);
        printf("{\"bench\": \"slate\", \"regions\": 2, \"slates\": %zu, \"users\": %zu, "
               "\"writers\": %zu, \"slate_us\": {\"p50\": %.1f, \"p99\": %.1f}, "
               "\"retrieve_us\": {\"p50\": %.1f, \"p99\": %.1f}, \"slate_over_retrieve_p50\": "
               "%.1f, \"load_answers_per_s\": %.0f}\n",
               a.slates, a.users, a.writers, s50, s99, r50, r99, s50 / r50,
               (double)atomic_load(&answers) / secs);
    } else {
        fprintf(stderr, "bench_slate: %s\n", tidal_strerror(rv));
    }
    free(slate_ns);
    free(raw_ns);
    if (forage_app_close(app) != 0 && rv == 0)
        rv = TIDAL_EBUSY;
    return rv == 0 ? 0 : 1;
}
