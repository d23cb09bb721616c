/*
 * Room notifications (tidal_ctx_when_room, timed.c): a sender that met
 * TIDAL_EFULL asks to be told when there is room again instead of polling
 * with a timer.  What was full keeps a list of wake-ups: a local actor's
 * mailbox credit (actor.c), or the link to a remote one (link.c), whose
 * frames pile up while the peer's mailbox pushes back through nng.
 *
 * Each wake-up is a timer entry the owner arms with no delay once it is at
 * most half full (hysteresis: a waiter woken at the bound would find it full
 * again and wait once more), or when it stops.  Registering, checking for
 * room and arming all hold the owner's lock, so no wake-up is lost between a
 * sender's failed send and its registration.  The timer lock is a leaf,
 * taken under the owner's lock.
 *
 * Pacing.  Waking every waiter at once is a thundering herd: with 1,000
 * senders behind one mailbox, the first hundred fill it again and the rest
 * wake only to find it full and wait once more, each wake-up a hop through
 * its own socket (bench_scale's fan-in: 57,000 of 70,000 handler calls sent
 * nothing).  So the owner wakes waiters oldest first, only as many as the
 * free room can take, counting `share` envelopes for each (a coalesced
 * frame's worth, or half the bound if that is less).  Room so promised is
 * given back as envelopes come in (tidal__room_taken), whoever sends them.
 * A woken sender that sends less than its share leaves some promised room
 * behind; once the owner is empty, every waiter is woken, so a waiter is
 * never left behind while nothing moves.
 */
#include <stdlib.h>

#include "runtime/internal.h"

struct tidal__room_waiter {
    struct tidal__room_waiter *next;
    tidal__timer_fn fn;
    void *arg;
    void (*free_arg)(void *arg);
};

static void
append(struct tidal__room *r, struct tidal__room_waiter *w)
{
    w->next = NULL;
    if (r->tail != NULL) {
        r->tail->next = w;
    } else {
        r->head = w;
    }
    r->tail = w;
    r->n++;
}

static void
promise(struct tidal__room *r, uint32_t woken, uint32_t share)
{
    uint64_t p = (uint64_t)r->promised + (uint64_t)woken * share;
    r->promised = p < UINT32_MAX ? (uint32_t)p : UINT32_MAX;
}

int
tidal__room_wait(struct tidal__room *r, tidal_runtime *rt, bool room_now, uint32_t share,
                 tidal__timer_fn fn, void *arg, void (*free_arg)(void *arg))
{
    TIDAL_ASSERT(share > 0);
    if (room_now) {
        /* room already: this waiter alone, at once; those before it in line
         * wait for their turn as room is given back */
        int rv = tidal__timer_add(rt, 0, fn, arg, free_arg);
        if (rv == 0) {
            promise(r, 1, share);
            return 0;
        }
        if (rv == TIDAL_ECLOSED) {
            free_arg(arg); /* the runtime is closing: nothing will be woken */
            return 0;
        }
        /* the timers are full: in line, for the next give */
    }
    if (r->n >= TIDAL_ROOM_WAITERS_MAX) {
        return TIDAL_ELIMIT;
    }
    struct tidal__room_waiter *w = malloc(sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    *w = (struct tidal__room_waiter){.fn = fn, .arg = arg, .free_arg = free_arg};
    append(r, w);
    return 0;
}

/* Arms up to max wake-ups, oldest first, and returns how many.  One the
 * timers cannot take (TIDAL_ELIMIT, TIDAL_ENOMEM) stays first in line for
 * the next call; once the timers are stopped (the runtime is closing) each
 * is dropped. */
static uint32_t
fire_n(struct tidal__room *r, tidal_runtime *rt, uint32_t max)
{
    uint32_t woken = 0;
    while (r->head != NULL && woken < max) {
        struct tidal__room_waiter *w = r->head;
        int rv = tidal__timer_add(rt, 0, w->fn, w->arg, w->free_arg);
        if (rv != 0 && rv != TIDAL_ECLOSED) {
            break;
        }
        r->head = w->next;
        if (r->head == NULL) {
            r->tail = NULL;
        }
        r->n--;
        if (rv == 0) {
            woken++;
        } else {
            w->free_arg(w->arg);
        }
        free(w);
    }
    return woken;
}

void
tidal__room_fire(struct tidal__room *r, tidal_runtime *rt)
{
    (void)fire_n(r, rt, UINT32_MAX);
}

void
tidal__room_give(struct tidal__room *r, tidal_runtime *rt, uint32_t free_n, uint32_t share,
                 bool empty)
{
    TIDAL_ASSERT(share > 0);
    if (r->head == NULL) {
        return;
    }
    uint32_t k = UINT32_MAX;
    if (!empty) {
        k = free_n > r->promised ? (free_n - r->promised) / share : 0;
        if (k == 0 && r->promised == 0) {
            k = 1; /* room, and nobody woken owes any of it */
        }
    }
    promise(r, fire_n(r, rt, k), share);
}

void
tidal__room_taken(struct tidal__room *r, uint32_t n)
{
    r->promised = n < r->promised ? r->promised - n : 0;
}

void
tidal__room_fini(struct tidal__room *r)
{
    for (struct tidal__room_waiter *w = r->head, *next; w != NULL; w = next) {
        next = w->next;
        w->free_arg(w->arg);
        free(w);
    }
    *r = (struct tidal__room){0};
}
