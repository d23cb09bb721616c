/*
 * The scenario harness: a cluster of regions with clocks the scenario
 * controls, the event log, fault helpers that note what they did, and the
 * fault trace collected from every runtime before it goes away (a crash
 * frees its runtime, and the chart needs what it decided).
 *
 * Waits poll a condition with a deadline; nothing here sleeps a fixed time
 * as a check.  In a simulation (SC_SIM) the same functions read the
 * simulated clocks and run the simulation instead of waiting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scenarios/harness.h"

uint64_t
sc_rand(uint64_t *s)
{
    /* splitmix64: any seed, 0 included, gives a full-period stream */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t
sc_below(uint64_t *s, uint64_t n)
{
    return n == 0 ? 0 : sc_rand(s) % n;
}

double
sc_unit(uint64_t *s)
{
    return (double)(sc_rand(s) >> 11) / 9007199254740992.0;
}

uint64_t
sc__mono_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
sc__now_ns(const sc_run *run)
{
    return run->sim != NULL ? tidal_sim_now_ns(run->sim) : sc__mono_ns();
}

void
sc__nap(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 2000000L};
    nanosleep(&ts, NULL);
}

struct sim_wait {
    tidal_sim *sim;
    bool (*cond)(void *);
    void *arg;
    uint64_t next_ns; /* the next simulated time cond is checked at */
};

static bool
sim_wait_done(void *p)
{
    struct sim_wait *w = p;
    uint64_t now = tidal_sim_now_ns(w->sim);
    if (now < w->next_ns) {
        return false;
    }
    w->next_ns = now + SC_SIM_POLL_NS;
    return w->cond(w->arg);
}

bool
sc__wait(sc_run *run, bool (*cond)(void *), void *arg, uint32_t ms)
{
    if (run->sim == NULL) {
        uint64_t end = sc__mono_ns() + (uint64_t)ms * 1000000ull;
        bool ok;
        while (!(ok = cond(arg)) && sc__mono_ns() < end) {
            sc__nap();
        }
        return ok;
    }
    struct sim_wait w = {.sim = run->sim, .cond = cond, .arg = arg};
    uint64_t deadline = tidal_sim_now_ns(run->sim) + (uint64_t)ms * 1000000ull;
    if (tidal_sim_run_until(run->sim, sim_wait_done, &w, deadline) == 0) {
        return true;
    }
    return cond(arg); /* the deadline, or nothing left to run between two checks */
}

/* The system's wall clock, or the simulated one in a simulation. */
static uint64_t
base_wall_ns(const sc_run *run)
{
    if (run->sim != NULL) {
        return tidal_sim_wall_ns(run->sim);
    }
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A region's wall clock: the system's (or the simulated) plus a fixed
 * offset, plus a jump of jump_ns during every other jump_period_ns (a clock
 * that steps forward and back), or a fixed reading the scenario moves. */
static uint64_t
clock_fn(void *arg)
{
    sc_clock *k = arg;
    uint64_t fixed = __atomic_load_n(&k->fixed_ns, __ATOMIC_ACQUIRE);
    if (fixed != 0) {
        return fixed;
    }
    int64_t now = (int64_t)base_wall_ns(k->run) + __atomic_load_n(&k->offset_ns, __ATOMIC_RELAXED);
    uint64_t period = __atomic_load_n(&k->jump_period_ns, __ATOMIC_RELAXED);
    if (period != 0 && (sc__now_ns(k->run) / period) % 2 == 1) {
        now += __atomic_load_n(&k->jump_ns, __ATOMIC_RELAXED);
    }
    return (uint64_t)now;
}

uint64_t
sc_clock_now(sc_run *run, int id)
{
    return clock_fn(&run->clk[id]);
}

void
sc_verdict(sc_run *run, const char *name, bool pass, const char *fmt, ...)
{
    if (run->nchecks >= SC_CHECKS_MAX) {
        return;
    }
    sc_check *c = &run->checks[run->nchecks++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->pass = pass;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
}

/* Each region's trace position, counted across its runtimes (a reopen
 * starts a new trace). */
static void
trace_positions(sc_run *run, uint64_t out[SC_REGIONS_MAX])
{
    for (int i = 0; i < SC_REGIONS_MAX; i++) {
        out[i] = run->trace_base[i];
        if (i < run->n && run->r[i] != NULL) {
            out[i] += tidal_trace_total(tidal_region_runtime(run->r[i]));
        }
    }
}

void
sc_event_note(sc_run *run, const char *fmt, ...)
{
    if (run->nevents >= SC_EVENTS_MAX) {
        return;
    }
    sc_event *e = &run->events[run->nevents++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->what, sizeof(e->what), fmt, ap);
    va_end(ap);
    trace_positions(run, e->trace_at);
}

/* Appends region id's trace entries not collected yet to run->faults (up to
 * SC_FAULTS_KEPT_MAX: the chart shows the last ones anyway). */
static void
collect_trace(sc_run *run, int id)
{
    tidal_runtime *rt = tidal_region_runtime(run->r[id]);
    uint64_t total = tidal_trace_total(rt);
    tidal_trace_entry buf[512];
    size_t start = 0, n;
    size_t kept = 0;
    while ((n = tidal_trace_read(rt, start, buf, 512)) > 0) {
        kept += n;
        start += n;
    }
    /* entries total - kept .. total - 1 are still kept */
    uint64_t first = total >= kept ? total - kept : 0;
    start = 0;
    uint64_t index = first;
    while ((n = tidal_trace_read(rt, start, buf, 512)) > 0) {
        for (size_t i = 0; i < n; i++, index++) {
            if (run->nfaults >= SC_FAULTS_KEPT_MAX) {
                break;
            }
            if (run->nfaults == run->capfaults) {
                size_t cap = run->capfaults ? 2 * run->capfaults : 1024;
                sc_fault *f = realloc(run->faults, cap * sizeof(*f));
                if (f == NULL) {
                    return; /* the chart shows what fitted */
                }
                run->faults = f;
                run->capfaults = cap;
            }
            run->faults[run->nfaults++] = (sc_fault){
                .e = buf[i], .region = (uint8_t)id, .index = run->trace_base[id] + index};
        }
        start += n;
    }
    run->trace_base[id] += total;
}

void
sc__collect_all(sc_run *run)
{
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] != NULL) {
            collect_trace(run, i);
            tidal_trace_clear(tidal_region_runtime(run->r[i]));
        }
    }
}

static int
make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return TIDAL_EIO;
    }
    return 0;
}

int
sc_reopen(sc_run *run, int id)
{
    tidal_region_opts o = run->ropts[id];
    o.region_id = (tidal_region_id)id;
    o.role = id == 0 ? TIDAL_ROLE_LEADER : TIDAL_ROLE_FOLLOWER;
    run->clk[id].run = run;
    o.wall_clock = clock_fn;
    o.wall_clock_arg = &run->clk[id];
    o.write_timeout_ms = o.write_timeout_ms ? o.write_timeout_ms : 1000;
    int rv = tidal_region_open(run->c, &o, &run->r[id]);
    if (rv != 0) {
        sc_verdict(run, "open", false, "region %d did not open: %s", id, tidal_errname(rv));
        return rv;
    }
    sc_event_note(run, "open region %d", id);
    return 0;
}

int
sc_open(sc_run *run, int n, bool durable)
{
    static unsigned serial;
    char url[256];
    if (run->transport == SC_SIM) {
        snprintf(url, sizeof(url), "sim://check"); /* one simulation, one cluster */
    } else if (run->transport == SC_IPC) {
        char sock[200];
        snprintf(sock, sizeof(sock), "%s/s", run->tmpdir);
        int rv = make_dir(sock);
        if (rv != 0) {
            return rv;
        }
        snprintf(url, sizeof(url), "ipc://%s", sock);
    } else {
        snprintf(url, sizeof(url), "inproc://check-%d-%u", (int)getpid(),
                 __atomic_fetch_add(&serial, 1, __ATOMIC_RELAXED));
    }
    tidal_cluster_opts co = {.url = url, .seed = run->seed, .workers = 2, .sim = run->sim};
    int rv = tidal_cluster_open(&co, &run->c);
    if (rv != 0) {
        return rv;
    }
    run->n = n;
    for (int i = 0; i < n; i++) {
        if (durable && run->ropts[i].dir == NULL) {
            snprintf(run->dirs[i], sizeof(run->dirs[i]), "%s/r%d", run->tmpdir, i);
            run->ropts[i].dir = run->dirs[i];
        }
        if ((rv = sc_reopen(run, i)) != 0) {
            return rv;
        }
    }
    if (run->sim != NULL) {
        /* on real threads the regions run while the writers start: give them
         * their start-up here too (their first tick, which runs the first
         * expiry pass: one that runs between the writes instead keeps
         * digests apart, docs/scenarios.md "Defects found") */
        tidal_sim_run_for(run->sim, SC_SIM_SETTLE_NS);
    }
    return 0;
}

int
sc_down(sc_run *run, int id, bool crash)
{
    collect_trace(run, id);
    sc_event_note(run, "%s region %d", crash ? "crash" : "close", id);
    int rv = crash ? tidal_region_crash(run->r[id]) : tidal_region_close(run->r[id]);
    run->r[id] = NULL;
    return rv;
}

void
sc_fault_pair(sc_run *run, int a, int b, const tidal_fault_rule *rule, bool both_ways,
              const char *what)
{
    int rv = tidal_cluster_fault_set(run->c, (tidal_region_id)a, (tidal_region_id)b, rule,
                                     both_ways);
    sc_event_note(run, "%s %d%s%d", what, a, both_ways ? "<->" : "->", b);
    if (rv != 0) {
        sc_verdict(run, "fault-set", false, "fault %s %d->%d refused: %s", what, a, b,
                   tidal_errname(rv));
    }
}

void
sc_clear_pair(sc_run *run, int a, int b, bool both_ways)
{
    (void)tidal_cluster_fault_clear(run->c, (tidal_region_id)a, (tidal_region_id)b, both_ways);
    sc_event_note(run, "restore %d%s%d", a, both_ways ? "<->" : "->", b);
}

void
sc_heal(sc_run *run)
{
    sc_event_note(run, "heal");
    int rv = tidal_cluster_heal(run->c);
    if (rv != 0) {
        sc_verdict(run, "heal", false, "tidal_cluster_heal: %s", tidal_errname(rv));
    }
    for (int i = 0; i < run->n; i++) {
        if (run->r[i] != NULL) {
            int rr = tidal_region_reconcile(run->r[i]); /* also periodic: a miss only delays */
            (void)rr;
        }
    }
}

static uint64_t
hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    }
    return h;
}

const char *
sc_transport_name(sc_transport t)
{
    return t == SC_SIM ? "sim" : t == SC_IPC ? "ipc" : "inproc";
}

/* Opens the simulation of an SC_SIM run, seeded from the run's seed. */
static int
sim_open(sc_run *run)
{
    tidal_sim_opts so = {.seed = run->seed};
    int rv = tidal_sim_open(&so, &run->sim);
    if (rv != 0) {
        sc_verdict(run, "ran", false, "tidal_sim_open: %s", tidal_errname(rv));
    }
    return rv;
}

static void
run_init(sc_run *run, const sc_scenario *s, uint64_t seed, sc_transport t, const char *tmpdir,
         bool quick)
{
    memset(run, 0, sizeof(*run));
    run->seed = seed;
    run->transport = t;
    run->tmpdir = tmpdir;
    run->quick = quick;
    run->scenario = s->name;
    run->rng = seed ^ hash_name(s->name);
    /* the writers' interleaving in a simulation: a stream of its own, so
     * the scenario's choices are the same as on real threads */
    run->sched_rng = run->rng ^ 0x5157a7e5c4ed0135ull;
    for (int i = 0; i < SC_REGIONS_MAX; i++) {
        run->clk[i].run = run;
    }
    pthread_mutex_init(&run->lock, NULL);
}

int
sc_run_scenario(const sc_scenario *s, uint64_t seed, sc_transport t, const char *tmpdir,
                bool quick, sc_run *run)
{
    run_init(run, s, seed, t, tmpdir, quick);
    if (t == SC_SIM && sim_open(run) != 0) {
        return TIDAL_EBUSY;
    }
    run->hn_base_ns = base_wall_ns(run) - 10000000000ull;
    int rv = s->fn(run);
    run->stop_writers = 1;
    sc_writers_join(run);
    if (run->sim != NULL && run->c != NULL) {
        sc__sim_digests(run);
    }
    if (run->c != NULL) {
        sc__collect_all(run);
        int crv = tidal_cluster_close(run->c);
        run->c = NULL;
        if (crv != 0) {
            sc_verdict(run, "closed", false, "tidal_cluster_close: %s", tidal_errname(crv));
        }
    }
    if (run->sim != NULL) {
        sc__sim_trace_hash(run);
        int crv = tidal_sim_close(run->sim);
        run->sim = NULL;
        if (crv != 0) {
            sc_verdict(run, "closed", false, "tidal_sim_close: %s", tidal_errname(crv));
        }
    }
    if (rv != 0 && run->nchecks == 0) {
        sc_verdict(run, "ran", false, "the scenario could not run: %s", tidal_errname(rv));
    }
    return rv;
}

bool
sc_run_passed(const sc_run *run)
{
    for (int i = 0; i < run->nchecks; i++) {
        if (!run->checks[i].pass) {
            return false;
        }
    }
    return run->nchecks > 0;
}

void
sc_run_free(sc_run *run)
{
    for (int i = 0; i < run->nw; i++) {
        sc_model_free(&run->w[i].m);
    }
    free(run->faults);
    run->faults = NULL;
    pthread_mutex_destroy(&run->lock);
}
