/*
 * The runtime: one node's worker pool, actors, links, timers, clock service and
 * fault layer, opened and closed as a unit.
 *
 * Close runs in separate steps, each with a contract:
 *   1. timers stop      (no more timer sends; pending timer args freed)
 *   2. actors stop rx   (sockets closed, rx callbacks finished: nothing arrives)
 *   3. pool stops       (workers joined: no handler runs, nothing is sent)
 *   4. asks fail        (waiters woken with TIDAL_ECLOSED)
 *   5. links close      (tx callbacks finished, pending frames freed)
 *   6. actors freed     (fini for every state; queued envelopes dead-lettered)
 *   7. fault layer and tables freed
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/random.h"
#include "runtime/internal.h"
#include "base/time.h"

uint64_t
tidal__now_ms(void)
{
    return tidal_monotonic_ms();
}

/* "name" or "name/<lowercase hex key>": the names fault rules match.
 * Truncates to cap.  Cannot fail. */
void
tidal__fullname(const char *name, const uint8_t *key, uint32_t key_len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = (size_t)snprintf(out, cap, "%s", name);
    if (key_len == 0 || n + 2 >= cap) {
        return;
    }
    out[n++] = '/';
    for (uint32_t i = 0; i < key_len && n + 2 < cap; i++) {
        out[n++] = hex[key[i] >> 4];
        out[n++] = hex[key[i] & 15];
    }
    out[n] = '\0';
}

void
tidal__dead(tidal_runtime *rt, int reason, uint64_t n)
{
    TIDAL_ASSERT(reason >= 0 && reason < TIDAL_DEAD_COUNT);
    atomic_fetch_add(&rt->st_dead[reason], n);
}

static const char *const reject_ids[] = {
#define TIDAL__REJECT_ID(name, id, desc) id,
    TIDAL_REJECT_MAP(TIDAL__REJECT_ID)
#undef TIDAL__REJECT_ID
};

/* Counts a rejection and logs it once per power of two of its count, so a
 * flood of garbage cannot flood stderr. */
void
tidal__reject(tidal_runtime *rt, int reason, const tidal_decode_err *err, const char *url)
{
    TIDAL_ASSERT(reason >= 0 && reason < TIDAL_REJECT_COUNT);
    uint64_t n = atomic_fetch_add(&rt->st_rejected[reason], 1) + 1;
    if (err != NULL && err->code != 0) {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, n,
                   "%s: rejected input on %s (%s at offset %zu, expected %" PRIu64
                   ", actual %" PRIu64 "), %" PRIu64 " so far",
                   reject_ids[reason], url, err->what ? err->what : "?", err->offset,
                   err->expected, err->actual, n);
    } else {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, n, "%s: rejected input on %s, %" PRIu64 " so far",
                   reject_ids[reason], url, n);
    }
}

int
tidal__nng_err(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case NNG_ENOMEM:
        return TIDAL_ENOMEM;
    case NNG_ECLOSED:
    case NNG_ECANCELED:
        return TIDAL_ECLOSED;
    case NNG_ETIMEDOUT:
        return TIDAL_ETIMEDOUT;
    case NNG_EADDRINVAL:
    case NNG_EADDRINUSE:
    case NNG_ENOTSUP:
        return TIDAL_EADDR;
    case NNG_EINVAL:
        return TIDAL_EINVAL;
    default:
        return TIDAL_ETRANSPORT;
    }
}

tidal_hlc
tidal__clock_now(tidal_runtime *rt)
{
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc t = tidal_hlc_now(&rt->clock);
    pthread_mutex_unlock(&rt->clock_lock);
    return t;
}

tidal_hlc
tidal_now(tidal_runtime *rt)
{
    return tidal__clock_now(rt);
}

int
tidal_clock_update(tidal_runtime *rt, const tidal_hlc *remote, tidal_hlc *out)
{
    if (rt == NULL || remote == NULL) {
        return TIDAL_EINVAL;
    }
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc t;
    int rv = tidal_hlc_update(&rt->clock, remote, &t);
    pthread_mutex_unlock(&rt->clock_lock);
    if (rv == 0 && out != NULL) {
        *out = t;
    }
    return rv;
}

void
tidal_clock_observe(tidal_runtime *rt, const tidal_hlc *ts)
{
    pthread_mutex_lock(&rt->clock_lock);
    tidal_hlc_observe(&rt->clock, ts);
    pthread_mutex_unlock(&rt->clock_lock);
}

void
tidal_library_fini(void)
{
    nng_fini();
}

const char *
tidal_runtime_url(const tidal_runtime *rt)
{
    return rt->url;
}

static bool
url_scheme_ok(const char *url)
{
    return strncmp(url, "inproc://", 9) == 0 || strncmp(url, "ipc://", 6) == 0 ||
           strncmp(url, "tcp://", 6) == 0 || strncmp(url, "tcp4://", 7) == 0 ||
           strncmp(url, "tcp6://", 7) == 0;
}

static int
check_opts(const tidal_runtime_opts *o)
{
    if (o->url != NULL && (strlen(o->url) + 1 + TIDAL_NAME_BYTES_MAX >= TIDAL_URL_BYTES_MAX ||
                           !url_scheme_ok(o->url))) {
        return TIDAL_EADDR;
    }
    if (o->name != NULL && (o->name[0] == '\0' || strlen(o->name) >= TIDAL_NAME_BYTES_MAX)) {
        return TIDAL_EINVAL;
    }
    if (o->workers > TIDAL_WORKERS_MAX) {
        return TIDAL_EINVAL;
    }
    return 0;
}

static void
runtime_free_locks(tidal_runtime *rt)
{
    pthread_mutex_destroy(&rt->actors_lock);
    pthread_mutex_destroy(&rt->links_lock);
    pthread_mutex_destroy(&rt->runq_lock);
    pthread_cond_destroy(&rt->runq_cond);
    pthread_mutex_destroy(&rt->clock_lock);
}

int
tidal_runtime_open(const tidal_runtime_opts *opts, tidal_runtime **out)
{
    static const tidal_runtime_opts defaults = {0};
    if (out == NULL) {
        return TIDAL_EINVAL;
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    int rv = check_opts(opts);
    if (rv != 0) {
        return rv;
    }
    tidal_runtime *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        return TIDAL_ENOMEM;
    }
    rt->uid = tidal__random_id();
    if (opts->url != NULL) {
        snprintf(rt->url, sizeof(rt->url), "%s", opts->url);
        size_t n = strlen(rt->url);
        if (n > 0 && rt->url[n - 1] == '/' && strncmp(rt->url, "tcp", 3) != 0) {
            rt->url[n - 1] = '\0';
        }
    } else {
        snprintf(rt->url, sizeof(rt->url), "inproc://tidal-%016" PRIx64, rt->uid);
    }
    snprintf(rt->name, sizeof(rt->name), "%s", opts->name ? opts->name : "node");
    rt->name_len = (uint32_t)strlen(rt->name);
    rt->node_id = opts->node_id;
    rt->seed = opts->seed;
    rt->max_skew_ns = opts->max_skew_ns;
    rt->inline_enabled = !opts->no_inline;
    pthread_mutex_init(&rt->actors_lock, NULL);
    pthread_mutex_init(&rt->links_lock, NULL);
    pthread_mutex_init(&rt->runq_lock, NULL);
    pthread_cond_init(&rt->runq_cond, NULL);
    pthread_mutex_init(&rt->clock_lock, NULL);
    tidal_hlc_clock_init(&rt->clock, opts->node_id, opts->max_skew_ns, NULL, NULL);

    if ((rv = tidal__fault_init(rt, opts->trace_max)) != 0) {
        goto fail_locks;
    }
    if ((rv = tidal__asks_init(rt)) != 0) {
        goto fail_fault;
    }
    if ((rv = tidal__timers_start(rt)) != 0) {
        goto fail_asks;
    }
    if ((rv = tidal__pool_start(rt, opts->workers != 0 ? opts->workers
                                                       : tidal__pool_default_workers())) != 0) {
        goto fail_timers;
    }
    if ((rv = tidal__spawn_reply_endpoint(rt)) != 0) {
        goto fail_pool;
    }
    *out = rt;
    return 0;

fail_pool:
    tidal__actors_stop_all(rt);
    tidal__pool_stop(rt);
    tidal__links_close(rt);
    tidal__actors_free_all(rt);
fail_timers:
    tidal__timers_stop(rt);
    tidal__timers_free(rt);
fail_asks:
    (void)tidal__asks_fini(rt); /* no ask can be outstanding yet */
fail_fault:
    tidal__fault_fini(rt);
fail_locks:
    runtime_free_locks(rt);
    free(rt);
    return rv;
}

void
tidal_runtime_quiesce(tidal_runtime *rt)
{
    if (rt == NULL) {
        return;
    }
    tidal__timers_stop(rt);
    tidal__pool_stop(rt);
    uint64_t end = tidal__now_ms() + 200;
    while (!tidal__links_idle(rt) && tidal__now_ms() < end) {
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
}

int
tidal_runtime_close(tidal_runtime *rt)
{
    if (rt == NULL) {
        return 0;
    }
    atomic_store(&rt->closing, true);
    tidal__timers_stop(rt);
    tidal__actors_stop_all(rt);
    tidal__pool_stop(rt);
    int rv = tidal__asks_fini(rt);
    tidal__links_close(rt);
    tidal__actors_free_all(rt);
    tidal__timers_free(rt);
    tidal__fault_fini(rt);
    runtime_free_locks(rt);
    free(rt);
    return rv;
}

void
tidal_runtime_stats(tidal_runtime *rt, tidal_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->sent = atomic_load(&rt->st_sent);
    out->frames_sent = atomic_load(&rt->st_frames_sent);
    out->frames_sent_at_once = atomic_load(&rt->st_frames_at_once);
    out->received = atomic_load(&rt->st_received);
    out->frames_received = atomic_load(&rt->st_frames_received);
    out->handled = atomic_load(&rt->st_handled);
    out->handled_inline = atomic_load(&rt->st_handled_inline);
    out->duplicates_seen = atomic_load(&rt->st_dups);
    out->restarts = atomic_load(&rt->st_restarts);
    out->activations = atomic_load(&rt->st_activations);
    out->passivations = atomic_load(&rt->st_passivations);
    out->workers = rt->nworkers;
    for (int i = 0; i < TIDAL_DEAD_COUNT; i++) {
        out->dead[i] = atomic_load(&rt->st_dead[i]);
    }
    for (int i = 0; i < TIDAL_REJECT_COUNT; i++) {
        out->rejected[i] = atomic_load(&rt->st_rejected[i]);
    }
    for (int i = 0; i < TIDAL_FAULT_COUNT; i++) {
        out->faults[i] = atomic_load(&rt->st_faults[i]);
    }
}

const char *
tidal_dead_name(int reason)
{
    static const char *const names[] = {
#define TIDAL__DEAD_NAME(name, desc) #name,
        TIDAL_DEAD_MAP(TIDAL__DEAD_NAME)
#undef TIDAL__DEAD_NAME
    };
    return (reason >= 0 && reason < TIDAL_DEAD_COUNT) ? names[reason] : "?";
}

const char *
tidal_reject_id(int reason)
{
    return (reason >= 0 && reason < TIDAL_REJECT_COUNT) ? reject_ids[reason] : "?";
}

const char *
tidal_fault_name(int kind)
{
    static const char *const names[] = {
#define TIDAL__FAULT_NAME(name, desc) #name,
        TIDAL_FAULT_MAP(TIDAL__FAULT_NAME)
#undef TIDAL__FAULT_NAME
    };
    return (kind >= 0 && kind < TIDAL_FAULT_COUNT) ? names[kind] : "?";
}
