/*
 * The runtime's table of outbound links (link.c): one per destination URL
 * and kind (to an actor of this runtime, or elsewhere), opened on first use
 * and kept until the runtime closes, so a pointer to one stays valid - a
 * handler's context and a send's fast path keep it.  A closing runtime
 * quiets them (no redial) before its actors' sockets close under them, and
 * closes them once no worker or timer is left.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* A link's send rings: the sealed frames and their envelope counts. */
struct rings {
    nng_msg **full;
    uint32_t *full_n_env;
};

/* Frees rings that never became a link's.  Cannot fail. */
static void
rings_drop(struct rings *r)
{
    free(r->full);
    free(r->full_n_env);
}

/* Empty rings in *r.  TIDAL_ENOMEM (nothing left allocated). */
static int
rings_new(struct rings *r)
{
    r->full = calloc(TIDAL_LINK_FRAMES_MAX, sizeof(*r->full));
    r->full_n_env = calloc(TIDAL_LINK_FRAMES_MAX, sizeof(*r->full_n_env));
    if (r->full == NULL || r->full_n_env == NULL) {
        rings_drop(r);
        return TIDAL_ENOMEM;
    }
    return 0;
}

/* Frees l's rings (emptied of frames by the caller).  Cannot fail. */
static void
rings_free(struct tidal__link *l)
{
    free(l->full);
    free(l->full_n_env);
    l->full = NULL;
    l->full_n_env = NULL;
}

/* Allocates l's rings and opens its carrier's sending end.  On error
 * neither is left. */
static int
end_open(struct tidal__link *l)
{
    struct rings r;
    int rv = rings_new(&r);
    if (rv != 0) {
        return rv;
    }
    l->full = r.full;
    l->full_n_env = r.full_n_env;
    if ((rv = l->rt->carrier->link_open(l, l->url)) != 0) {
        rings_free(l);
    }
    return rv;
}

/* The link to url of that kind (self), or NULL.  h is its hash.  Caller
 * holds rt->links_lock. */
static struct tidal__link *
find_locked(tidal_runtime *rt, const char *url, bool self, uint64_t h)
{
    struct tidal__link *l = rt->ltab_cap > 0 ? rt->ltab[h & (rt->ltab_cap - 1)] : NULL;
    while (l != NULL && !(l->url_hash == h && l->self == self && strcmp(l->url, url) == 0)) {
        l = l->next;
    }
    return l;
}

/* Opens l's rings and lock, then its carrier's sending end.  On error nothing
 * is left open. */
static int
link_open(tidal_runtime *rt, struct tidal__link *l, const char *url)
{
    snprintf(l->url, sizeof(l->url), "%s", url);
    l->rt = rt;
    int rv = end_open(l);
    if (rv != 0) {
        return rv;
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    tidal_buf_init(&l->fill);
    return 0;
}

static int
links_grow(tidal_runtime *rt)
{
    uint32_t ncap = rt->ltab_cap ? rt->ltab_cap * 2 : 64;
    struct tidal__link **n = calloc(ncap, sizeof(*n));
    if (n == NULL) {
        return TIDAL_ENOMEM;
    }
    for (uint32_t i = 0; i < rt->ltab_cap; i++) {
        for (struct tidal__link *l = rt->ltab[i], *next; l != NULL; l = next) {
            next = l->next;
            l->next = n[l->url_hash & (ncap - 1)];
            n[l->url_hash & (ncap - 1)] = l;
        }
    }
    free(rt->ltab);
    rt->ltab = n;
    rt->ltab_cap = ncap;
    return 0;
}

/* The link to url, opened on first use; self: to an actor of this runtime
 * (its frames carry the runtime's self token, so the receiver knows they
 * are ours: a URL may have a link of each kind).  Links live until the
 * runtime closes, so the pointer stays valid.  *rv gets the error when
 * NULL. */
struct tidal__link *
tidal__link_get(tidal_runtime *rt, const char *url, bool self, int *rv)
{
    uint64_t h = tidal__hash(url, strlen(url), self);
    struct tidal__link *l = NULL;
    *rv = 0;
    pthread_mutex_lock(&rt->links_lock);
    if (atomic_load(&rt->closing)) {
        *rv = TIDAL_ECLOSED;
        goto done;
    }
    if ((l = find_locked(rt, url, self, h)) != NULL) {
        goto done;
    }
    if (rt->link_count >= rt->ltab_cap && (*rv = links_grow(rt)) != 0) {
        goto done;
    }
    if ((l = calloc(1, sizeof(*l))) == NULL) {
        *rv = TIDAL_ENOMEM;
        goto done;
    }
    l->self = self; /* link_open picks a TLS configuration by it */
    if ((*rv = link_open(rt, l, url)) != 0) {
        free(l);
        l = NULL;
        goto done;
    }
    l->url_hash = h;
    l->self = self;
    l->next = rt->ltab[h & (rt->ltab_cap - 1)];
    rt->ltab[h & (rt->ltab_cap - 1)] = l;
    rt->link_count++;
done:
    pthread_mutex_unlock(&rt->links_lock);
    return l;
}

/* True if no link holds a frame not yet handed to nng.  Cannot fail. */
bool
tidal__links_idle(tidal_runtime *rt)
{
    bool idle = true;
    pthread_mutex_lock(&rt->links_lock);
    for (uint32_t i = 0; i < rt->ltab_cap && idle; i++) {
        for (struct tidal__link *l = rt->ltab[i]; l != NULL && idle; l = l->next) {
            pthread_mutex_lock(&l->lock);
            idle = l->queued == 0;
            pthread_mutex_unlock(&l->lock);
        }
    }
    pthread_mutex_unlock(&rt->links_lock);
    return idle;
}

/* ---- Parking ------------------------------------------------------------
 *
 * Links live as long as the runtime, and a link whose peer has gone (an
 * actor stopped, a process exited, a tcp port of a spawn long gone) would
 * redial it for ever: nng 1.5.2 redials every second at most, and its timer
 * thread scans every waiting redial at each wake-up, so a runtime that had
 * spawned, used and stopped 1,000 socket-backed actors spent 1.3 cores
 * doing nothing (4,000: both cores).  So a link with nothing to send whose
 * connection has been down for LINK_PARK_MS is parked: the carrier closes
 * its sending end and the rings are freed, leaving the struct (its URL and
 * counters), so every pointer to it stays valid.  The next sender opens it
 * again, as on first use (tidal__link_ready, before it takes the lock).  A
 * runtime's own link to an actor it stops parks at once
 * (tidal__links_park_self).
 *
 * A sweep on the timer thread parks them, every LINK_SWEEP_MS.  It checks
 * under the link's lock that nothing is queued, in flight, staged, corked or
 * waiting for room, so no sender can be in the middle of it; closing the
 * sending end of a link with no connection and no frame loses nothing.  The
 * end is taken out of the link under its lock and closed after (nng_close
 * waits for nng's callbacks, one of which takes the link's lock), so a send
 * may open the link again while the old end closes. */
#define LINK_PARK_MS 10000u
#define LINK_SWEEP_MS 2000u

/* Opens l again if it is parked, before a sender takes its lock: the
 * carrier opens the new end apart (nng holds its own locks while it calls
 * tx_cb, which takes l->lock), and it is attached under the lock.  A sender
 * then takes the lock and checks again: the sweep may have parked l anew.
 * 0, or why it could not be opened. */
int
tidal__link_ready(struct tidal__link *l)
{
    tidal_runtime *rt = l->rt;
    while (atomic_load(&l->parked)) {
        void *end = NULL;
        struct rings r;
        int rv = rings_new(&r);
        if (rv == 0 && (rv = rt->carrier->link_open_end(l, &end)) != 0) {
            rings_drop(&r);
        }
        if (rv != 0) {
            return rv;
        }
        pthread_mutex_lock(&l->lock);
        bool used = atomic_load(&l->parked) && !l->closing;
        if (used) {
            rt->carrier->link_attach(l, end);
            l->full = r.full;
            l->full_n_env = r.full_n_env;
            l->full_head = 0;
            atomic_store(&l->parked, false);
            atomic_fetch_add(&rt->st_links_unparked, 1);
        }
        bool closing = l->closing;
        pthread_mutex_unlock(&l->lock);
        if (!used) {
            rings_drop(&r);
            rt->carrier->link_reap(end); /* another sender opened it first */
        }
        if (closing) {
            return TIDAL_ECLOSED;
        }
    }
    return 0;
}

static bool
parkable_locked(const struct tidal__link *l, uint64_t now_ms, uint64_t down_ms, bool gone)
{
    bool idle = !atomic_load(&l->parked) && !l->closing && l->queued == 0 && l->inflight_n == 0 &&
                l->fill_n == 0 && l->full_count == 0 && l->stages == 0 && l->corked == 0 &&
                l->waiters == 0 && l->room.head == NULL;
    return idle && (gone || (atomic_load(&l->pipes) == 0 &&
                             now_ms - atomic_load(&l->down_since_ms) >= down_ms));
}

/* Parks l if it has nothing to send and its peer is gone: its connection
 * down for down_ms, or (gone) its peer known to be closed.  Takes l->lock;
 * closes the sending end after letting it go. */
static void
park(struct tidal__link *l, uint64_t now_ms, uint64_t down_ms, bool gone)
{
    tidal_runtime *rt = l->rt;
    void *end = NULL;
    pthread_mutex_lock(&l->lock);
    if (parkable_locked(l, now_ms, down_ms, gone) && (end = rt->carrier->link_detach(l)) != NULL) {
        rings_free(l);
        tidal_buf_fini(&l->fill);
        tidal_buf_init(&l->fill);
        atomic_store(&l->parked, true);
        atomic_fetch_add(&rt->st_links_parked, 1);
    }
    pthread_mutex_unlock(&l->lock);
    if (end != NULL) {
        rt->carrier->link_reap(end); /* a send may open l again meanwhile */
    }
}

/* An actor of this runtime has closed its socket (tidal_stop): parks the
 * runtime's own link to it at once if that has nothing to send, rather than
 * let it redial for LINK_PARK_MS.  Whatever connection it still has is on
 * its way down.  Cannot fail. */
void
tidal__links_park_self(tidal_runtime *rt, const char *url)
{
    if (rt->carrier->link_detach == NULL) {
        return;
    }
    pthread_mutex_lock(&rt->links_lock);
    struct tidal__link *l = find_locked(rt, url, true, tidal__hash(url, strlen(url), true));
    pthread_mutex_unlock(&rt->links_lock);
    if (l != NULL) {
        park(l, 0, 0, true); /* links are never freed before the runtime closes */
    }
}

/* Parks every link with nothing to send whose connection has been down for
 * down_ms.  Cannot fail (a link it cannot list now waits for the next). */
void
tidal__links_sweep(tidal_runtime *rt, uint64_t down_ms)
{
    if (rt->carrier->link_detach == NULL) {
        return;
    }
    pthread_mutex_lock(&rt->links_lock);
    uint32_t n = 0;
    struct tidal__link **all = malloc((rt->link_count + 1) * sizeof(*all));
    for (uint32_t i = 0; all != NULL && i < rt->ltab_cap; i++) {
        for (struct tidal__link *l = rt->ltab[i]; l != NULL; l = l->next) {
            all[n++] = l;
        }
    }
    pthread_mutex_unlock(&rt->links_lock);
    /* links are never freed before the runtime closes, after its timers */
    uint64_t now = tidal__now_ms(rt);
    for (uint32_t i = 0; i < n; i++) {
        park(all[i], now, down_ms, false);
    }
    free(all);
}

static void
sweep_fire(tidal_runtime *rt, void *arg)
{
    (void)arg;
    tidal__links_sweep(rt, LINK_PARK_MS);
    (void)tidal__timer_add(rt, LINK_SWEEP_MS, sweep_fire, NULL, NULL); /* ECLOSED: closing */
}

/* Arms the first sweep (none for a carrier whose links never park). */
int
tidal__links_sweep_start(tidal_runtime *rt)
{
    if (rt->carrier->link_detach == NULL) {
        return 0;
    }
    return tidal__timer_add(rt, LINK_SWEEP_MS, sweep_fire, NULL, NULL);
}

/* Close step 0: no link redials a connection it loses from now on (the
 * carrier's link_quiet).  Cannot fail. */
void
tidal__links_quiet(tidal_runtime *rt)
{
    if (rt->carrier->link_quiet == NULL) {
        return;
    }
    pthread_mutex_lock(&rt->links_lock);
    for (uint32_t i = 0; i < rt->ltab_cap; i++) {
        for (struct tidal__link *l = rt->ltab[i]; l != NULL; l = l->next) {
            pthread_mutex_lock(&l->lock);
            if (!atomic_load(&l->parked)) {
                rt->carrier->link_quiet(l);
            }
            pthread_mutex_unlock(&l->lock);
        }
    }
    pthread_mutex_unlock(&rt->links_lock);
}

/* Close step 5: closes every link; frames not yet sent are dead-lettered.
 * Runs after the workers and timers have stopped.  Cannot fail. */
void
tidal__links_close(tidal_runtime *rt)
{
    for (uint32_t i = 0; i < rt->ltab_cap; i++) {
        for (struct tidal__link *l = rt->ltab[i], *next; l != NULL; l = next) {
            next = l->next;
            pthread_mutex_lock(&l->lock);
            l->closing = true;
            pthread_cond_broadcast(&l->cond);
            pthread_mutex_unlock(&l->lock);
            if (!atomic_load(&l->parked)) {
                rt->carrier->link_close(l);
            }
            uint32_t lost = l->fill_n;
            tidal_buf_fini(&l->fill);
            while (l->full_count > 0) {
                lost += l->full_n_env[l->full_head];
                nng_msg_free(l->full[l->full_head]);
                l->full_head = (l->full_head + 1) % TIDAL_LINK_FRAMES_MAX;
                l->full_count--;
            }
            tidal__dead(rt, TIDAL_DEAD_LINK_FAILED, lost);
            tidal__room_fini(&l->room); /* the timers are stopped: no one to wake */
            rings_free(l);
            pthread_mutex_destroy(&l->lock);
            pthread_cond_destroy(&l->cond);
            free(l);
        }
    }
    free(rt->ltab);
    rt->ltab = NULL;
    rt->ltab_cap = 0;
    rt->link_count = 0;
}
