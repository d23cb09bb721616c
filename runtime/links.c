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

/* Opens l's rings and lock, then its carrier's sending end.  On error nothing
 * is left open. */
static int
link_open(tidal_runtime *rt, struct tidal__link *l, const char *url)
{
    int rv;
    snprintf(l->url, sizeof(l->url), "%s", url);
    l->rt = rt;
    l->full = calloc(TIDAL_LINK_FRAMES_MAX, sizeof(*l->full));
    l->full_n_env = calloc(TIDAL_LINK_FRAMES_MAX, sizeof(*l->full_n_env));
    if (l->full == NULL || l->full_n_env == NULL) {
        rv = TIDAL_ENOMEM;
        goto fail_ring;
    }
    if ((rv = rt->carrier->link_open(l, url)) != 0) {
        goto fail_ring;
    }
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    tidal_buf_init(&l->fill);
    return 0;

fail_ring:
    free(l->full);
    free(l->full_n_env);
    return rv;
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
    if (rt->ltab_cap > 0) {
        for (l = rt->ltab[h & (rt->ltab_cap - 1)]; l != NULL; l = l->next) {
            if (l->url_hash == h && l->self == self && strcmp(l->url, url) == 0) {
                goto done;
            }
        }
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
            rt->carrier->link_quiet(l);
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
            rt->carrier->link_close(l);
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
            free(l->full);
            free(l->full_n_env);
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
