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
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/random.h"
#include "base/time.h"
#include "runtime/internal.h"

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
           strncmp(url, "tcp6://", 7) == 0 || strncmp(url, "tls+tcp://", 10) == 0;
}

static int
check_opts(const tidal_runtime_opts *o)
{
    bool sim_url = o->url != NULL && strncmp(o->url, "sim://", 6) == 0;
    if (o->url != NULL && (strlen(o->url) + 1 + TIDAL_NAME_BYTES_MAX >= TIDAL_URL_BYTES_MAX ||
                           (o->sim != NULL ? !sim_url : !url_scheme_ok(o->url)))) {
        return TIDAL_EADDR; /* a simulation reaches nothing else, and is reached only so */
    }
    if (o->name != NULL && (o->name[0] == '\0' || strlen(o->name) >= TIDAL_NAME_BYTES_MAX)) {
        return TIDAL_EINVAL;
    }
    if (o->workers > TIDAL_WORKERS_MAX) {
        return TIDAL_EINVAL;
    }
    if (o->sim == NULL && o->url != NULL && tidal__is_tls(o->url) && o->tls == NULL) {
        return TIDAL_EINVAL; /* its listeners would have no certificate */
    }
    return 0;
}

/* Half the CPUs this thread may run on (its affinity mask, so taskset and
 * cgroup cpusets count), but no fewer than min(CPUs, 2), and at most
 * TIDAL_WORKERS_MAX.  Half, because nng's own callback threads (as many as
 * the cores, up to 16) run handlers too (inline runs): one worker per core
 * beside them oversubscribes the machine, and on 16 cores 8 pairs of
 * runtimes ran 13.2M msg/s with 8 workers each and 6.9M with 16.  At least
 * two where there are two CPUs: on 2 vCPUs one worker cost bench_memory's
 * 16 writers 15% of their rate.  Cannot fail. */
static uint32_t
default_workers(void)
{
    cpu_set_t set;
    long cpus = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        cpus = CPU_COUNT(&set);
    }
    if (cpus < 1) {
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
    }
    long n = cpus / 2;
    long floor = cpus < 2 ? cpus : 2;
    n = n < floor ? floor : n;
    return n < 1 ? 1u : (n > (long)TIDAL_WORKERS_MAX ? TIDAL_WORKERS_MAX : (uint32_t)n);
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
    rt->sim = opts->sim;
    rt->sim_wait = tidal__sim_wait_locked;
    rt->carrier = opts->sim != NULL ? &tidal__carrier_sim : &tidal__carrier_nng;
    if (opts->sim == NULL && opts->tls != NULL &&
        (rv = tidal__tls_copy(&rt->tls, opts->tls)) != 0) {
        free(rt);
        return rv;
    }
    static atomic_uint_fast64_t serials;
    rt->serial = atomic_fetch_add(&serials, 1) + 1;
    rt->uid = tidal__random_id();
    do {
        rt->self_token = tidal__random_id();
    } while (rt->self_token == rt->uid);
    if (opts->url != NULL) {
        snprintf(rt->url, sizeof(rt->url), "%s", opts->url);
        size_t n = strlen(rt->url);
        if (n > 0 && rt->url[n - 1] == '/' && strncmp(rt->url, "tcp", 3) != 0 &&
            !tidal__is_tls(rt->url)) {
            rt->url[n - 1] = '\0';
        }
    } else {
        snprintf(rt->url, sizeof(rt->url), "%s://tidal-%016" PRIx64,
                 rt->sim != NULL ? "sim" : "inproc", rt->uid);
    }
    snprintf(rt->name, sizeof(rt->name), "%s", opts->name ? opts->name : "node");
    rt->name_len = (uint32_t)strlen(rt->name);
    rt->node_id = opts->node_id;
    rt->seed = opts->seed;
    rt->max_skew_ns = opts->max_skew_ns;
    rt->link_hold_ms = opts->link_hold_ms != 0 ? opts->link_hold_ms : TIDAL_LINK_HOLD_MS_DEFAULT;
    rt->inline_enabled = !opts->no_inline && rt->sim == NULL;
    rt->stop_actor = tidal_stop;
    pthread_mutex_init(&rt->actors_lock, NULL);
    pthread_mutex_init(&rt->links_lock, NULL);
    pthread_mutex_init(&rt->runq_lock, NULL);
    pthread_cond_init(&rt->runq_cond, NULL);
    pthread_mutex_init(&rt->clock_lock, NULL);
    if (rt->sim != NULL && (rv = tidal__sim_attach(rt->sim, rt)) != 0) {
        runtime_free_locks(rt);
        free(rt);
        return rv;
    }
    bool sim_wall = rt->sim != NULL && opts->wall_clock == NULL;
    tidal_hlc_clock_init(&rt->clock, opts->node_id, opts->max_skew_ns,
                         sim_wall ? tidal__clock_sim_wall : opts->wall_clock,
                         sim_wall ? (void *)rt : opts->wall_clock_arg);

    if ((rv = tidal__fault_init(rt, opts->trace_max)) != 0) {
        goto fail_locks;
    }
    if ((rv = tidal__asks_init(rt)) != 0) {
        goto fail_fault;
    }
    if ((rv = tidal__timers_start(rt)) != 0) {
        goto fail_asks;
    }
    if ((rv = tidal__links_sweep_start(rt)) != 0) {
        goto fail_timers;
    }
    uint32_t workers = opts->workers != 0 ? opts->workers : default_workers();
    if ((rv = tidal__pool_start(rt, rt->sim != NULL ? 0 : workers)) != 0) {
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
    if (rt->sim != NULL) {
        tidal__sim_detach(rt->sim, rt);
    }
    runtime_free_locks(rt);
    tidal__tls_free_all(rt);
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
    uint64_t end = tidal__now_ms(rt) + 200;
    while (!tidal__links_idle(rt) && tidal__now_ms(rt) < end) {
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
    tidal__links_quiet(rt); /* before its actors' sockets close under them */
    tidal__timers_stop(rt);
    tidal__actors_stop_all(rt);
    tidal__pool_stop(rt);
    int rv = tidal__asks_fini(rt);
    tidal__links_close(rt);
    tidal__actors_free_all(rt);
    tidal__timers_free(rt);
    tidal__fault_fini(rt);
    if (rt->sim != NULL) {
        tidal__sim_detach(rt->sim, rt);
    }
    runtime_free_locks(rt);
    tidal__tls_free_all(rt);
    free(rt);
    return rv;
}

uint64_t
tidal_elapsed_ms(tidal_runtime *rt)
{
    return tidal__now_ms(rt);
}

int
tidal_runtime_block(tidal_runtime *rt, pthread_cond_t *cond, pthread_mutex_t *lock,
                    uint64_t deadline_ms)
{
    uint64_t now = tidal__now_ms(rt);
    if (now >= deadline_ms) {
        return TIDAL_ETIMEDOUT;
    }
    if (rt->sim != NULL) {
        pthread_mutex_t none = PTHREAD_MUTEX_INITIALIZER;
        if (lock == NULL) {
            pthread_mutex_lock(&none);
        }
        int rv = rt->sim_wait(rt, lock != NULL ? lock : &none, deadline_ms);
        if (lock == NULL) {
            pthread_mutex_unlock(&none);
        }
        /* ETIMEDOUT: at the deadline, or a call that cannot run the
         * simulation (from inside an event, or from another thread) - never
         * 0 there, or its caller's loop would spin */
        return rv;
    }
    struct timespec dl = tidal_deadline(CLOCK_MONOTONIC, deadline_ms - now);
    if (cond == NULL) {
        (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL);
    } else {
        (void)pthread_cond_timedwait(cond, lock, &dl);
    }
    /* not rt again: whoever woke us may be closing it (real threads: the
     * runtime's clock is CLOCK_MONOTONIC) */
    return tidal_monotonic_ms() >= deadline_ms ? TIDAL_ETIMEDOUT : 0;
}
