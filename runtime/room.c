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

int
tidal__room_wait(struct tidal__room *r, tidal_runtime *rt, bool room_now, tidal__timer_fn fn,
                 void *arg, void (*free_arg)(void *arg))
{
    if (r->n >= TIDAL_ROOM_WAITERS_MAX) {
        return TIDAL_ELIMIT;
    }
    struct tidal__room_waiter *w = malloc(sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    *w = (struct tidal__room_waiter){.fn = fn, .arg = arg, .free_arg = free_arg};
    append(r, w);
    if (room_now) {
        tidal__room_fire(r, rt);
    }
    return 0;
}

/* Arms every wake-up, oldest first.  One the timers cannot take stays for
 * the next call (TIDAL_ELIMIT, TIDAL_ENOMEM), or is dropped once they are
 * stopped (the runtime is closing). */
void
tidal__room_fire(struct tidal__room *r, tidal_runtime *rt)
{
    struct tidal__room_waiter *w = r->head;
    *r = (struct tidal__room){0};
    while (w != NULL) {
        struct tidal__room_waiter *next = w->next;
        int rv = tidal__timer_add(rt, 0, w->fn, w->arg, w->free_arg);
        if (rv == 0 || rv == TIDAL_ECLOSED) {
            if (rv != 0) {
                w->free_arg(w->arg);
            }
            free(w);
        } else {
            append(r, w);
        }
        w = next;
    }
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
