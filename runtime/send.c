/*
 * Sending: the one path every message takes out of a runtime (tidal__send),
 * the public send, ask, reply and timer calls built on it, and the handler
 * context.
 *
 * A send builds the envelope (stamped by the clock service), reserves room in
 * the destination's mailbox when the destination lives in this runtime
 * (credit: actor.c), then hands the envelope to the fault layer (when any
 * rule is set) or straight to the destination's link.  Hops between a send
 * and the handler: the link's nng send, nng's own delivery, the receiver's rx
 * callback (decode + route), and one worker wake-up.
 *
 * Ask is in ask.c, timed sends (and room notifications) in timed.c, timer
 * delivery in timer.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "messages/types.h"
#include "runtime/internal.h"

static tidal_view
view_of(const void *p, size_t n)
{
    return (tidal_view){(const uint8_t *)p, (uint32_t)n};
}

#define FULLNAME_BYTES (TIDAL_NAME_BYTES_MAX + 2 * TIDAL_KEY_BYTES_MAX + 2)

/* A thread's send batch (tidal_send_batch_begin): the cork of its sends
 * outside any handler, on one runtime at a time. */
static _Thread_local struct {
    tidal_runtime *rt;
    uint32_t depth;
    struct tidal__cork cork;
} batch;

int
tidal_send_batch_begin(tidal_runtime *rt)
{
    if (rt == NULL) {
        return TIDAL_EINVAL;
    }
    if (batch.depth > 0 && batch.rt != rt) {
        return TIDAL_EBUSY;
    }
    batch.rt = rt;
    batch.depth++;
    return 0;
}

void
tidal_send_batch_end(tidal_runtime *rt)
{
    if (batch.depth == 0 || batch.rt != rt) {
        return;
    }
    if (--batch.depth == 0) {
        tidal__cork_flush(&batch.cork);
        batch.rt = NULL;
    }
}

/* The link of this thread's last send from outside a handler: the next
 * one to the same URL skips hashing it and the table's lock
 * (tidal__link_get), which were a tenth of a sender's time in a million
 * sends to new virtual keys (bench_scale, activations).  A link lives as
 * long as its runtime, and the serial tells that runtime from one opened
 * later at the same address, so a pointer kept here is only followed for
 * the runtime that made it. */
static _Thread_local struct {
    const tidal_runtime *rt;
    uint64_t serial;
    struct tidal__link *link;
} ext_last;

static struct tidal__link *
ext_link_get(tidal_runtime *rt, const char *url, bool self, int *rv)
{
    struct tidal__link *l = ext_last.link;
    if (ext_last.rt == rt && ext_last.serial == rt->serial && l->self == self &&
        strcmp(l->url, url) == 0) {
        return l;
    }
    if ((l = tidal__link_get(rt, url, self, rv)) != NULL) {
        ext_last.rt = rt;
        ext_last.serial = rt->serial;
        ext_last.link = l;
    }
    return l;
}

/* The cork for a send from outside a handler on rt: the thread's send
 * batch, if one is open on rt. */
static struct tidal__cork *
batch_cork(tidal_runtime *rt)
{
    return batch.depth > 0 && batch.rt == rt ? &batch.cork : NULL;
}

/* The id of a message sent on behalf of `from` from outside its handler:
 * from the unit's own counter when from names a socket-backed actor of this
 * runtime or one of its active virtual actors, so that a sender's ids are
 * one sequence whoever sends for it (the receiver's duplicate count stays
 * exact); else from the runtime's counter of external sends. */
static uint64_t
next_id_as(tidal_runtime *rt, const tidal_addr *from)
{
    uint64_t id = 0;
    struct tidal__actor *a = tidal__actor_find(rt, from->name, strlen(from->name));
    if (a != NULL && (from->url[0] == '\0' || strcmp(a->url, from->url) == 0)) {
        if (from->key_len == 0) {
            id = atomic_fetch_add_explicit(&a->unit.next_msg_id, 1, memory_order_relaxed);
        } else {
            pthread_mutex_lock(&a->lock);
            struct tidal__unit *u = tidal__vtab_find_locked(a, from->key, from->key_len);
            if (u != NULL) {
                id = atomic_fetch_add_explicit(&u->next_msg_id, 1, memory_order_relaxed);
            }
            pthread_mutex_unlock(&a->lock);
        }
    }
    if (a != NULL) {
        tidal__actor_unref(a);
    }
    return id != 0 ? id : atomic_fetch_add(&rt->ext_next_id, 1) + 1;
}

int
tidal__send(tidal_runtime *rt, tidal_ctx *ctx, const tidal_addr *to, uint16_t type,
            const void *payload, uint32_t len, uint32_t timeout_ms, uint8_t flags,
            const tidal_addr *reply_to, uint64_t corr, const tidal_addr *from_as)
{
    if (rt == NULL || to == NULL || (payload == NULL && len > 0) || !tidal_msg_type_known(type)) {
        return TIDAL_EINVAL;
    }
    if (len > TIDAL_PAYLOAD_BYTES_MAX) {
        return TIDAL_ETOOBIG;
    }
    size_t to_name_len = tidal__addr_dest_ok(to);
    if (to_name_len == 0) {
        return TIDAL_EINVAL;
    }
    if (atomic_load(&rt->closing)) {
        return TIDAL_ECLOSED;
    }
    tidal_envelope e = {.type = type, .flags = flags, .corr = corr};
    if (ctx != NULL) {
        e.from_name = view_of(ctx->actor->name, ctx->actor->name_len);
        e.from_key = view_of(ctx->unit->key, ctx->unit->key_len);
        e.id = atomic_fetch_add_explicit(&ctx->unit->next_msg_id, 1, memory_order_relaxed);
    } else {
        const char *from = from_as != NULL ? from_as->name : rt->name;
        e.from_name = view_of(from, strlen(from));
        if (from_as != NULL) {
            e.from_key = view_of(from_as->key, from_as->key_len);
        }
        e.id = from_as != NULL ? next_id_as(rt, from_as)
                               : atomic_fetch_add(&rt->ext_next_id, 1) + 1;
    }
    e.to_name = view_of(to->name, to_name_len);
    e.to_key = view_of(to->key, to->key_len);
    e.payload = view_of(payload, len);
    if (reply_to != NULL) {
        e.has_reply = true;
        e.reply_url = view_of(reply_to->url, strlen(reply_to->url));
        e.reply_name = view_of(reply_to->name, strlen(reply_to->name));
        e.reply_key = view_of(reply_to->key, reply_to->key_len);
    }
    if (ctx == NULL) {
        e.hlc = tidal__clock_now(rt);
    } else {
        if (!ctx->stamped) {
            ctx->stamp = tidal__clock_now(rt);
            ctx->stamped = true;
        }
        e.hlc = ctx->stamp;
    }

    int rv;
    struct tidal__link *l;
    struct tidal__actor *local;
    if (ctx != NULL && ctx->dest_link != NULL && strcmp(ctx->dest_link->url, to->url) == 0 &&
        strcmp(ctx->dest_name, to->name) == 0) {
        l = ctx->dest_link;
        local = ctx->dest_local;
    } else {
        local = tidal__actor_find(rt, to->name, to_name_len);
        if (local != NULL && strcmp(local->url, to->url) != 0) {
            tidal__actor_unref(local);
            local = NULL;
        }
        l = ctx != NULL ? tidal__link_get(rt, to->url, local != NULL, &rv)
                        : ext_link_get(rt, to->url, local != NULL, &rv);
        if (l == NULL) {
            if (local != NULL) {
                tidal__actor_unref(local);
            }
            return rv;
        }
        if (ctx != NULL) {
            tidal__ctx_forget_dest(ctx);
            ctx->dest_link = l;
            ctx->dest_local = local; /* the cache keeps this reference */
            memcpy(ctx->dest_name, to->name, to_name_len + 1);
        }
    }
    /* from here on, `owned` says whether this call holds its own reference */
    bool owned = ctx == NULL && local != NULL;
    struct tidal__cork *cork = ctx != NULL ? &ctx->cork : batch_cork(rt);
    if (local != NULL && (rv = tidal__actor_reserve(local, 1, cork ? 0 : timeout_ms)) != 0) {
        if (owned) {
            tidal__actor_unref(local);
        }
        return rv;
    }
    if (local != NULL) {
        e.flags |= TIDAL_ENV_F_CREDITED;
    }
    if (ctx != NULL) {
        ctx->sent++;
    } else {
        atomic_fetch_add(&rt->st_sent, 1);
    }
    bool faults = tidal__fault_active(rt);
    bool stage = ctx != NULL && ctx->last_link == l && len <= TIDAL__STAGE_BYTES_MAX / 4 && !faults;
    if (ctx != NULL) {
        if (!stage) {
            tidal__stage_flush(&ctx->stage); /* what it holds goes first */
        }
        ctx->last_link = l;
    }
    if (!stage && faults) {
        char from_full[FULLNAME_BYTES], to_full[FULLNAME_BYTES];
        if (ctx != NULL) {
            tidal__unit_fullname(ctx->actor, ctx->unit, from_full, sizeof(from_full));
        } else if (from_as != NULL) {
            tidal__fullname(from_as->name, from_as->key, from_as->key_len, from_full,
                            sizeof(from_full));
        } else {
            snprintf(from_full, sizeof(from_full), "%s", rt->name);
        }
        tidal__fullname(to->name, to->key, to->key_len, to_full, sizeof(to_full));
        rv = tidal__fault_route(rt, cork, l, local, from_full, to_full, &e, timeout_ms);
    } else {
        rv = stage ? tidal__link_stage(l, &ctx->stage, &e, cork)
                   : tidal__link_enqueue(l, &e, timeout_ms, cork);
        if (rv != 0 && local != NULL) {
            pthread_mutex_lock(&local->lock);
            tidal__actor_unreserve(local, 1);
            pthread_mutex_unlock(&local->lock);
        }
    }
    if (owned) {
        tidal__actor_unref(local);
    }
    return rv;
}

int
tidal_send(tidal_runtime *rt, const tidal_addr *to, uint16_t type, const void *payload,
           uint32_t len, uint32_t timeout_ms)
{
    return tidal__send(rt, NULL, to, type, payload, len, timeout_ms, 0, NULL, 0, NULL);
}

int
tidal_send_as(tidal_runtime *rt, const char *from, const tidal_addr *to, uint16_t type,
              const void *payload, uint32_t len, uint32_t timeout_ms)
{
    size_t n = from != NULL ? strnlen(from, TIDAL_NAME_BYTES_MAX) : 0;
    if (n == 0 || n == TIDAL_NAME_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    tidal_addr as = {.key_len = 0};
    memcpy(as.name, from, n + 1);
    return tidal__send(rt, NULL, to, type, payload, len, timeout_ms, 0, NULL, 0, &as);
}

int
tidal_send_as_actor(tidal_runtime *rt, const tidal_addr *from, const tidal_addr *to,
                    uint16_t type, const void *payload, uint32_t len, uint32_t timeout_ms)
{
    size_t n = from != NULL ? strnlen(from->name, TIDAL_NAME_BYTES_MAX) : 0;
    if (n == 0 || n == TIDAL_NAME_BYTES_MAX || from->key_len > TIDAL_KEY_BYTES_MAX) {
        return TIDAL_EINVAL;
    }
    return tidal__send(rt, NULL, to, type, payload, len, timeout_ms, 0, NULL, 0, from);
}

/* ---- handler context ------------------------------------------------------ */

void
tidal__ctx_forget_dest(tidal_ctx *ctx)
{
    if (ctx->dest_local != NULL) {
        tidal__actor_unref(ctx->dest_local);
    }
    ctx->dest_local = NULL;
    ctx->dest_link = NULL;
}

/* The handler returned: send what it queued, drop the destination cache,
 * publish its counters.  The next handler call gets a fresh stamp. */
void
tidal__ctx_flush(tidal_ctx *ctx)
{
    tidal__stage_flush(&ctx->stage); /* into its frame before the cork lets it go */
    tidal_buf_fini(&ctx->stage.buf);
    ctx->last_link = NULL;
    tidal__cork_flush(&ctx->cork);
    tidal__ctx_forget_dest(ctx);
    ctx->stamped = false;
    if (ctx->sent > 0) {
        atomic_fetch_add(&ctx->rt->st_sent, ctx->sent);
        ctx->sent = 0;
    }
}

tidal_runtime *
tidal_ctx_runtime(tidal_ctx *ctx)
{
    return ctx->rt;
}

void
tidal_ctx_self(tidal_ctx *ctx, tidal_addr *out)
{
    int rv = tidal_addr_make(out, ctx->actor->url, ctx->actor->name, ctx->unit->key,
                             ctx->unit->key_len);
    TIDAL_ASSERT(rv == 0); /* the actor's own parts are within bounds */
}

tidal_actor
tidal_ctx_actor(tidal_ctx *ctx)
{
    return (tidal_actor){ctx->actor->id};
}

const uint8_t *
tidal_ctx_key(tidal_ctx *ctx, uint32_t *len)
{
    *len = ctx->unit->key_len;
    return ctx->unit->key;
}

int
tidal_ctx_send(tidal_ctx *ctx, const tidal_addr *to, uint16_t type, const void *payload,
               uint32_t len)
{
    return tidal__send(ctx->rt, ctx, to, type, payload, len, 0, 0, NULL, 0, NULL);
}

int
tidal_ctx_ask(tidal_ctx *ctx, const tidal_addr *to, uint16_t type, const void *payload,
              uint32_t len, uint64_t corr)
{
    tidal_addr self;
    tidal_ctx_self(ctx, &self);
    return tidal__send(ctx->rt, ctx, to, type, payload, len, 0, 0, &self, corr, NULL);
}

int
tidal_msg_reply_to(const tidal_msg *msg, tidal_reply_to *out)
{
    const tidal_envelope *e = msg->internal;
    if (e == NULL || !e->has_reply || out == NULL) {
        return TIDAL_ESTATE;
    }
    char url[TIDAL_URL_BYTES_MAX], name[TIDAL_NAME_BYTES_MAX];
    snprintf(url, sizeof(url), "%.*s", (int)e->reply_url.len, (const char *)e->reply_url.ptr);
    snprintf(name, sizeof(name), "%.*s", (int)e->reply_name.len, (const char *)e->reply_name.ptr);
    out->corr = e->corr;
    return tidal_addr_make(&out->addr, url, name, e->reply_key.ptr, e->reply_key.len) == 0
               ? 0
               : TIDAL_ESTATE;
}

int
tidal_ctx_reply_to(tidal_ctx *ctx, const tidal_reply_to *to, uint16_t type, const void *payload,
                   uint32_t len)
{
    return tidal__send(ctx->rt, ctx, &to->addr, type, payload, len, 0, TIDAL_ENV_F_REPLY, NULL,
                       to->corr, NULL);
}

int
tidal_ctx_reply(tidal_ctx *ctx, const tidal_msg *msg, uint16_t type, const void *payload,
                uint32_t len)
{
    tidal_reply_to to;
    int rv = tidal_msg_reply_to(msg, &to);
    return rv != 0 ? rv : tidal_ctx_reply_to(ctx, &to, type, payload, len);
}

void
tidal_ctx_stop(tidal_ctx *ctx)
{
    ctx->unit->stop_requested = 1;
}
