/*
 * Timers: one thread per runtime with a binary min-heap of deadlines (in a
 * simulation no thread: the simulator fires them, tidal__timers_fire_due).
 *
 * Timer functions run on the timer thread, one at a time, and must be quick
 * and never block: they enqueue (a message, a delayed envelope, a sweep) and
 * return.  Two timers with the same deadline fire in the order they were set.
 * At close the thread is joined and every pending timer's argument is freed
 * with its free function, unfired.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "messages/types.h"

#include "runtime/internal.h"
#include "base/time.h"

struct timer_ent {
    uint64_t due_ms;
    uint64_t seq;
    tidal__timer_fn fn;
    void *arg;
    void (*free_arg)(void *arg);
};

struct tidal__timer {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    struct timer_ent *heap;
    uint32_t len;
    uint32_t cap;
    uint64_t next_seq;
    bool stop;
    bool joined; /* the thread was joined (stop may run twice: quiesce, close) */
    bool threaded; /* a thread was started (not in a simulation) */
};

static bool
before(const struct timer_ent *a, const struct timer_ent *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void
sift_up(struct timer_ent *h, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!before(&h[i], &h[p])) {
            break;
        }
        struct timer_ent t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void
sift_down(struct timer_ent *h, uint32_t len, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < len && before(&h[l], &h[m])) {
            m = l;
        }
        if (r < len && before(&h[r], &h[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        struct timer_ent t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void *
timer_main(void *arg)
{
    tidal_runtime *rt = arg;
    struct tidal__timer *t = rt->timers;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        if (t->len == 0) {
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        uint64_t now = tidal__now_ms(rt);
        if (t->heap[0].due_ms > now) {
            uint64_t wait = t->heap[0].due_ms - now;
            struct timespec dl = tidal_deadline(CLOCK_MONOTONIC, wait);
            pthread_cond_timedwait(&t->cond, &t->lock, &dl);
            continue;
        }
        struct timer_ent e = t->heap[0];
        t->heap[0] = t->heap[--t->len];
        sift_down(t->heap, t->len, 0);
        pthread_mutex_unlock(&t->lock);
        e.fn(rt, e.arg);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int
tidal__timers_start(tidal_runtime *rt)
{
    struct tidal__timer *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return TIDAL_ENOMEM;
    }
    (void)tidal_cond_init_monotonic(&t->cond);
    pthread_mutex_init(&t->lock, NULL);
    rt->timers = t;
    if (rt->sim != NULL) {
        return 0;
    }
    t->threaded = true;
    if (pthread_create(&t->thread, NULL, timer_main, rt) != 0) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
        rt->timers = NULL;
        return TIDAL_ENOMEM;
    }
    return 0;
}

/* Close step 1: joins the timer thread and frees every pending timer's
 * argument, unfired.  Later tidal__timer_add calls fail with TIDAL_ECLOSED.
 * Idempotent.  Cannot fail. */
void
tidal__timers_stop(tidal_runtime *rt)
{
    struct tidal__timer *t = rt->timers;
    if (t == NULL) {
        return;
    }
    pthread_mutex_lock(&t->lock);
    bool joined = t->joined;
    t->stop = true;
    t->joined = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (!joined && t->threaded) {
        pthread_join(t->thread, NULL);
    }
    pthread_mutex_lock(&t->lock);
    for (uint32_t i = 0; i < t->len; i++) {
        if (t->heap[i].free_arg != NULL) {
            t->heap[i].free_arg(t->heap[i].arg);
        }
    }
    t->len = 0;
    pthread_mutex_unlock(&t->lock);
}

/* Frees the timer service (after tidal__timers_stop, when nothing can add a
 * timer any more).  Cannot fail. */
void
tidal__timers_free(tidal_runtime *rt)
{
    struct tidal__timer *t = rt->timers;
    if (t == NULL) {
        return;
    }
    free(t->heap);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    rt->timers = NULL;
}

/* Calls fn(rt, arg) after delay_ms on the timer thread.  TIDAL_ELIMIT past
 * TIDAL_TIMERS_MAX pending, TIDAL_ECLOSED once stopping; on error the caller
 * still owns arg. */
int
tidal__timer_add(tidal_runtime *rt, uint32_t delay_ms, tidal__timer_fn fn, void *arg,
                 void (*free_arg)(void *arg))
{
    struct tidal__timer *t = rt->timers;
    int rv = 0;
    pthread_mutex_lock(&t->lock);
    if (t->stop) {
        rv = TIDAL_ECLOSED;
    } else if (t->len >= TIDAL_TIMERS_MAX) {
        rv = TIDAL_ELIMIT;
    } else if (t->len == t->cap) {
        uint32_t ncap = t->cap ? t->cap * 2 : 64;
        struct timer_ent *h = realloc(t->heap, ncap * sizeof(*h));
        if (h == NULL) {
            rv = TIDAL_ENOMEM;
        } else {
            t->heap = h;
            t->cap = ncap;
        }
    }
    if (rv == 0) {
        t->heap[t->len] = (struct timer_ent){tidal__now_ms(rt) + delay_ms, t->next_seq++, fn, arg,
                                             free_arg};
        sift_up(t->heap, t->len);
        t->len++;
        if (t->heap[0].seq == t->next_seq - 1) {
            pthread_cond_signal(&t->cond); /* new earliest deadline */
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rv;
}

int
tidal_call_after(tidal_runtime *rt, uint32_t delay_ms, void (*fn)(tidal_runtime *rt, void *arg),
                 void *arg)
{
    if (rt == NULL || fn == NULL) {
        return TIDAL_EINVAL;
    }
    return tidal__timer_add(rt, delay_ms, fn, arg, NULL);
}

/* The earliest deadline pending, in *due_ms; false if none (or stopped).
 * For the simulator.  Cannot fail. */
bool
tidal__timers_next_due(tidal_runtime *rt, uint64_t *due_ms)
{
    struct tidal__timer *t = rt->timers;
    pthread_mutex_lock(&t->lock);
    bool any = !t->stop && t->len > 0;
    if (any) {
        *due_ms = t->heap[0].due_ms;
    }
    pthread_mutex_unlock(&t->lock);
    return any;
}

/* Fires the earliest timer if it is due at now_ms, on the calling thread,
 * as the timer thread would.  For the simulator.  Cannot fail. */
void
tidal__timers_fire_due(tidal_runtime *rt, uint64_t now_ms)
{
    struct tidal__timer *t = rt->timers;
    pthread_mutex_lock(&t->lock);
    if (t->stop || t->len == 0 || t->heap[0].due_ms > now_ms) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    struct timer_ent e = t->heap[0];
    t->heap[0] = t->heap[--t->len];
    sift_down(t->heap, t->len, 0);
    pthread_mutex_unlock(&t->lock);
    e.fn(rt, e.arg);
}
