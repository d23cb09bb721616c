/*
 * Ask from outside handlers: request/reply without nng's req/rep (which
 * re-sends on its own after a timeout, so a request could be delivered
 * twice).  An ask carries the runtime's reply endpoint as reply-to and a
 * fresh correlation id; the endpoint's rx callback completes the waiter
 * directly, without a worker hop.  A reply whose waiter timed out goes to
 * dead letters (LATE_REPLY).
 *
 * Waiters live on their caller's stack, in a hash of ASK_BUCKETS chains under
 * asks->lock; close wakes them all with TIDAL_ECLOSED and waits until every
 * one has left before freeing the table.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/internal.h"
#include "base/time.h"

#define ASK_BUCKETS 256u

struct ask_waiter {
    struct ask_waiter *next;
    uint64_t corr;
    pthread_cond_t cond;
    bool done;
    int rv;
    tidal_reply reply;
};

struct tidal__ask {
    pthread_mutex_t lock;
    pthread_cond_t drained;
    struct ask_waiter *buckets[ASK_BUCKETS];
    uint64_t next_corr;
    uint32_t outstanding;
    bool closed;
};

/* ---- ask -------------------------------------------------------------------- */

int
tidal__asks_init(tidal_runtime *rt)
{
    struct tidal__ask *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        return TIDAL_ENOMEM;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->drained, NULL);
    a->next_corr = 1;
    rt->asks = a;
    return 0;
}

/* Close step 4: wakes every waiter with TIDAL_ECLOSED and waits for them to
 * leave.  Returns TIDAL_EBUSY if any was waiting. */
int
tidal__asks_fini(tidal_runtime *rt)
{
    struct tidal__ask *a = rt->asks;
    pthread_mutex_lock(&a->lock);
    a->closed = true;
    int rv = a->outstanding > 0 ? TIDAL_EBUSY : 0;
    for (uint32_t i = 0; i < ASK_BUCKETS; i++) {
        for (struct ask_waiter *w = a->buckets[i]; w != NULL; w = w->next) {
            pthread_cond_signal(&w->cond);
        }
    }
    while (a->outstanding > 0) {
        pthread_cond_wait(&a->drained, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->drained);
    free(a);
    rt->asks = NULL;
    return rv;
}

static void
waiter_unlink_locked(struct tidal__ask *a, struct ask_waiter *w)
{
    struct ask_waiter **pp = &a->buckets[w->corr % ASK_BUCKETS];
    while (*pp != w) {
        pp = &(*pp)->next;
    }
    *pp = w->next;
    if (--a->outstanding == 0 && a->closed) {
        pthread_cond_broadcast(&a->drained);
    }
}

/* The reply endpoint received e: completes its waiter, or dead-letters it. */
void
tidal__ask_complete(tidal_runtime *rt, const tidal_envelope *e)
{
    struct tidal__ask *a = rt->asks;
    pthread_mutex_lock(&a->lock);
    struct ask_waiter *w = a->buckets[e->corr % ASK_BUCKETS];
    while (w != NULL && (w->corr != e->corr || w->done)) {
        w = w->next;
    }
    if (w == NULL || (e->flags & TIDAL_ENV_F_REPLY) == 0) {
        pthread_mutex_unlock(&a->lock);
        tidal__dead(rt, TIDAL_DEAD_LATE_REPLY, 1);
        return;
    }
    w->reply.type = e->type;
    w->reply.hlc = e->hlc;
    w->reply.len = e->payload.len;
    w->reply.payload = malloc(e->payload.len ? e->payload.len : 1);
    if (w->reply.payload == NULL) {
        w->rv = TIDAL_ENOMEM;
    } else if (e->payload.len > 0) {
        memcpy(w->reply.payload, e->payload.ptr, e->payload.len);
    }
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&a->lock);
}

int
tidal_ask(tidal_runtime *rt, const tidal_addr *to, uint16_t type, const void *payload,
          uint32_t len, uint32_t timeout_ms, tidal_reply *out)
{
    if (rt == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__ask *a = rt->asks;
    struct ask_waiter w = {0};
    pthread_cond_init(&w.cond, NULL);
    pthread_mutex_lock(&a->lock);
    if (a->closed || a->outstanding >= TIDAL_ASKS_MAX) {
        int rv = a->closed ? TIDAL_ECLOSED : TIDAL_ELIMIT;
        pthread_mutex_unlock(&a->lock);
        pthread_cond_destroy(&w.cond);
        return rv;
    }
    w.corr = a->next_corr++;
    w.next = a->buckets[w.corr % ASK_BUCKETS];
    a->buckets[w.corr % ASK_BUCKETS] = &w;
    a->outstanding++;
    pthread_mutex_unlock(&a->lock);

    tidal_addr reply_to;
    int rv = tidal_addr_make(&reply_to, rt->reply_ep->url, rt->reply_ep->name, NULL, 0);
    if (rv == 0) {
        rv = tidal__send(rt, NULL, to, type, payload, len, timeout_ms, 0, &reply_to, w.corr, NULL);
    }
    struct timespec dl = tidal_deadline(CLOCK_REALTIME, timeout_ms);
    uint64_t dl_ms = tidal__now_ms(rt) + timeout_ms;
    pthread_mutex_lock(&a->lock);
    while (rv == 0 && !w.done && !a->closed) {
        if (tidal__block(rt, &w.cond, &a->lock, &dl, dl_ms) != 0) {
            break;
        }
    }
    waiter_unlink_locked(a, &w);
    if (rv == 0) {
        rv = w.done ? w.rv : (a->closed ? TIDAL_ECLOSED : TIDAL_ETIMEDOUT);
    }
    pthread_mutex_unlock(&a->lock);
    pthread_cond_destroy(&w.cond);
    if (rv == 0) {
        *out = w.reply;
    } else {
        free(w.reply.payload);
    }
    return rv;
}

void
tidal_reply_free(tidal_reply *r)
{
    if (r != NULL) {
        free(r->payload);
        r->payload = NULL;
        r->len = 0;
    }
}
