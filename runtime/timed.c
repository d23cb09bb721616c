/*
 * Timed sends: a message the timer thread sends later (tidal_timer_after,
 * tidal_ctx_timer, and the timers an actor's init arms, held until spawn has
 * it taking messages), and room notifications (tidal_ctx_when_room): the
 * same message, armed by the destination's credit (actor.c) once its mailbox
 * has room again, in place of a sender polling a full mailbox with a timer.
 */
#include <stdlib.h>
#include <string.h>

#include "messages/types.h"
#include "runtime/internal.h"

struct timed_send {
    tidal_addr to;
    uint16_t type;
    uint32_t len;
    uint8_t payload[];
};

/* A timer spawn's init armed, held until the actor takes messages. */
struct tidal__held_timer {
    struct tidal__held_timer *next;
    uint32_t delay_ms;
    struct timed_send *send;
};

static void
timed_send_fire(tidal_runtime *rt, void *arg)
{
    static const tidal_addr timer = {.name = "_timer"};
    struct timed_send *t = arg;
    /* a full or stopped destination loses the timer, as a send would */
    (void)tidal__send(rt, NULL, &t->to, t->type, t->payload, t->len, 0, TIDAL_ENV_F_SYSTEM,
                      NULL, 0, &timer);
    free(t);
}

/* A timed send's copy of what it will send, in *out. */
static int
timed_send_new(const tidal_addr *to, uint16_t type, const void *payload, uint32_t len,
               struct timed_send **out)
{
    if (to == NULL || (payload == NULL && len > 0) || !tidal_msg_type_known(type)) {
        return TIDAL_EINVAL;
    }
    if (len > TIDAL_PAYLOAD_BYTES_MAX) {
        return TIDAL_ETOOBIG;
    }
    struct timed_send *t = malloc(sizeof(*t) + len);
    if (t == NULL) {
        return TIDAL_ENOMEM;
    }
    t->to = *to;
    t->type = type;
    t->len = len;
    if (len > 0) {
        memcpy(t->payload, payload, len);
    }
    *out = t;
    return 0;
}

int
tidal_timer_after(tidal_runtime *rt, const tidal_addr *to, uint32_t delay_ms, uint16_t type,
                  const void *payload, uint32_t len)
{
    struct timed_send *t;
    int rv = rt == NULL ? TIDAL_EINVAL : timed_send_new(to, type, payload, len, &t);
    if (rv != 0) {
        return rv;
    }
    if ((rv = tidal__timer_add(rt, delay_ms, timed_send_fire, t, free)) != 0) {
        free(t);
    }
    return rv;
}

int
tidal_ctx_timer(tidal_ctx *ctx, uint32_t delay_ms, uint16_t type, const void *payload,
                uint32_t len)
{
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    if (!ctx->hold_timers) {
        return tidal_timer_after(ctx->rt, &self, delay_ms, type, payload, len);
    }
    struct tidal__held_timer *h = malloc(sizeof(*h));
    if (h == NULL) {
        return TIDAL_ENOMEM;
    }
    int rv = timed_send_new(&self, type, payload, len, &h->send);
    if (rv != 0) {
        free(h);
        return rv;
    }
    h->delay_ms = delay_ms;
    h->next = NULL;
    struct tidal__held_timer **end = &ctx->held_timers;
    while (*end != NULL) {
        end = &(*end)->next; /* armed in the order init armed them */
    }
    *end = h;
    return 0;
}

/* Arms the timers spawn's init armed, now that the actor takes messages.
 * Returns 0, or why one could not be armed (TIDAL_ELIMIT, TIDAL_ECLOSED,
 * TIDAL_ENOMEM); then the rest are dropped. */
int
tidal__ctx_arm_held_timers(tidal_ctx *ctx)
{
    int rv = 0;
    while (ctx->held_timers != NULL && rv == 0) {
        struct tidal__held_timer *h = ctx->held_timers;
        ctx->held_timers = h->next;
        if ((rv = tidal__timer_add(ctx->rt, h->delay_ms, timed_send_fire, h->send, free)) != 0) {
            free(h->send);
        }
        free(h);
    }
    tidal__ctx_drop_held_timers(ctx);
    return rv;
}

/* Drops the timers spawn's init armed, unarmed (spawn failed).  Cannot fail. */
void
tidal__ctx_drop_held_timers(tidal_ctx *ctx)
{
    while (ctx->held_timers != NULL) {
        struct tidal__held_timer *h = ctx->held_timers;
        ctx->held_timers = h->next;
        free(h->send);
        free(h);
    }
}

/* ---- room notifications ---- */

int
tidal_ctx_when_room(tidal_ctx *ctx, const tidal_addr *to, uint16_t type, const void *payload,
                    uint32_t len)
{
    if (ctx == NULL || to == NULL) {
        return TIDAL_EINVAL;
    }
    size_t n = tidal__addr_dest_ok(to);
    if (n == 0) {
        return TIDAL_EINVAL;
    }
    if (ctx->hold_timers) {
        return TIDAL_ESTATE; /* from spawn's init: the actor takes no message yet */
    }
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    struct timed_send *t;
    int rv = timed_send_new(&self, type, payload, len, &t);
    if (rv != 0) {
        return rv;
    }
    /* what a send to `to` met: the actor's mailbox credit when it lives
     * here (tidal__send's choice), else this runtime's link to it */
    struct tidal__actor *dest = tidal__actor_find(ctx->rt, to->name, n);
    if (dest != NULL && strcmp(dest->url, to->url) == 0) {
        rv = tidal__actor_when_room(dest, timed_send_fire, t, free);
    } else {
        struct tidal__link *l = tidal__link_get(ctx->rt, to->url, false, &rv);
        rv = l != NULL ? tidal__link_when_room(l, timed_send_fire, t, free) : rv;
    }
    if (dest != NULL) {
        tidal__actor_unref(dest);
    }
    if (rv != 0) {
        free(t);
    }
    return rv;
}
