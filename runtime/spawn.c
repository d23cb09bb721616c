/*
 * Spawning and stopping socket-backed actors.
 *
 * Spawn runs init on the calling thread before the actor's socket listens,
 * so no message is handled before its state exists; until then the actor is
 * in the tables but marked stopping, so a local sender that finds it gets
 * TIDAL_ECLOSED rather than a reservation.  The timers init arms are held
 * and armed once it takes messages: one that fired before (a 0 ms one, often
 * under load) went to that refusal and was lost, and the actor with it,
 * if its timer was all that woke it.  Stop removes it from the tables
 * first (its id turns stale at once), closes its socket, takes its units off
 * the run queue, waits for a running handler, dead-letters what is queued and
 * runs fini for every state it owns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

/* ---- spawn ------------------------------------------------------------------ */

static bool
name_ok(const char *name, bool internal)
{
    size_t n = strnlen(name, TIDAL_NAME_BYTES_MAX);
    if (n == 0 || n >= TIDAL_NAME_BYTES_MAX || (name[0] == '_' && !internal)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

/* The URL an actor listens at when spawn gave none: the base URL plus the
 * name, or for tcp (and tls+tcp) the base host with a port the OS picks. */
static int
derive_url(const tidal_runtime *rt, const char *name, char *out, size_t cap)
{
    const char *base = rt->url;
    int n;
    if (strncmp(base, "tcp", 3) == 0 || tidal__is_tls(base)) {
        const char *host = strstr(base, "://") + 3;
        const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
        size_t hlen = end == NULL ? strlen(host) : (size_t)(end - host) + (host[0] == '[');
        n = snprintf(out, cap, "%.*s%.*s:0", (int)(host - base), base, (int)hlen, host);
    } else {
        n = snprintf(out, cap, "%s/%s", base, name);
    }
    return (n < 0 || (size_t)n >= cap) ? TIDAL_EADDR : 0;
}

static int
check_spawn(const tidal_spawn_opts *o, bool internal)
{
    if (o == NULL || o->name == NULL || !name_ok(o->name, internal)) {
        return TIDAL_EINVAL;
    }
    if (o->behaviour == NULL || o->behaviour->handle == NULL) {
        return TIDAL_EINVAL;
    }
    if (o->virtual_behaviour != NULL && o->virtual_behaviour->handle == NULL) {
        return TIDAL_EINVAL;
    }
    if (o->mailbox_max > TIDAL_MAILBOX_ENVELOPES_MAX ||
        o->virtual_mailbox_max > TIDAL_MAILBOX_ENVELOPES_MAX ||
        o->virtual_active_max > TIDAL_VIRTUAL_ACTIVE_MAX) {
        return TIDAL_EINVAL;
    }
    if (o->url != NULL && strnlen(o->url, TIDAL_URL_BYTES_MAX) >= TIDAL_URL_BYTES_MAX) {
        return TIDAL_EADDR;
    }
    return 0;
}

static struct tidal__actor *
actor_new(tidal_runtime *rt, const tidal_spawn_opts *o)
{
    struct tidal__actor *act = calloc(1, sizeof(*act));
    if (act == NULL) {
        return NULL;
    }
    act->unit.owner = act;
    atomic_init(&act->unit.next_msg_id, 1);
    act->rt = rt;
    atomic_init(&act->refs, 1);
    snprintf(act->name, sizeof(act->name), "%s", o->name);
    act->name_len = (uint32_t)strlen(act->name);
    act->beh = *o->behaviour;
    act->arg = o->arg;
    act->parent_id = o->parent.id;
    act->intake_max = o->mailbox_max ? o->mailbox_max : TIDAL_MAILBOX_ENVELOPES_DEFAULT;
    if (o->virtual_behaviour != NULL) {
        act->has_vbeh = true;
        act->vbeh = *o->virtual_behaviour;
        act->varg = o->virtual_arg;
        act->vidle_ms = o->virtual_idle_ms ? o->virtual_idle_ms : 30000u;
        act->vmailbox_max = o->virtual_mailbox_max ? o->virtual_mailbox_max : 1024u;
        act->vactive_max =
            o->virtual_active_max ? o->virtual_active_max : TIDAL_VIRTUAL_ACTIVE_DEFAULT;
    }
    pthread_mutex_init(&act->lock, NULL);
    pthread_cond_init(&act->cond, NULL);
    return act;
}

static int
spawn(tidal_runtime *rt, const tidal_spawn_opts *o, bool internal, tidal_actor *out)
{
    int rv = check_spawn(o, internal);
    if (rv != 0) {
        return rv;
    }
    if (atomic_load(&rt->closing)) {
        return TIDAL_ECLOSED;
    }
    char url[TIDAL_URL_BYTES_MAX];
    if (o->url != NULL) {
        snprintf(url, sizeof(url), "%s", o->url);
    } else if ((rv = derive_url(rt, o->name, url, sizeof(url))) != 0) {
        return rv;
    }
    struct tidal__actor *act = actor_new(rt, o);
    if (act == NULL) {
        return TIDAL_ENOMEM;
    }
    pthread_mutex_lock(&rt->actors_lock);
    if (tidal__names_find(rt, act->name, act->name_len) != UINT32_MAX) {
        rv = TIDAL_EEXIST;
    } else if ((rv = tidal__slot_take(rt, act)) == 0 && (rv = tidal__names_insert(rt, act)) != 0) {
        rt->slots[tidal__slot_index(act->id)] = NULL;
    }
    if (rv == 0) {
        rt->actor_count++;
        act->stopping = true; /* not reachable by senders until init and rx are done */
    }
    pthread_mutex_unlock(&rt->actors_lock);
    if (rv != 0) {
        goto fail_actor;
    }
    if ((rv = tidal__rx_listen(act, url)) != 0) {
        goto fail_tables;
    }
    tidal_ctx ctx = {.rt = rt, .actor = act, .unit = &act->unit, .hold_timers = true};
    if (act->beh.init != NULL && (rv = act->beh.init(&ctx, act->arg, &act->unit.state)) != 0) {
        tidal__ctx_flush(&ctx);
        goto fail_listen;
    }
    tidal__ctx_flush(&ctx);
    /* Under the actor's lock: the actor is in the tables, so a sender (a
     * timer's delayed send, another thread's send) may already be reading
     * `stopping` in tidal__actor_reserve, under this lock. */
    pthread_mutex_lock(&act->lock);
    act->stopping = false;
    pthread_mutex_unlock(&act->lock);
    if ((rv = tidal__rx_begin(act)) != 0) {
        goto fail_init;
    }
    if ((act->has_vbeh && (rv = tidal__vactor_start_sweeper(act)) != 0) ||
        (rv = tidal__ctx_arm_held_timers(&ctx)) != 0) {
        /* the actor is live: stop it the ordinary way */
        tidal__ctx_drop_held_timers(&ctx);
        (void)tidal_stop(rt, (tidal_actor){act->id});
        return rv;
    }
    out->id = act->id;
    return 0;

fail_init:
    if (act->beh.fini != NULL) {
        act->beh.fini(act->unit.state, act->arg);
    }
fail_listen:
    tidal__ctx_drop_held_timers(&ctx);
    tidal__rx_stop(act); /* safe after rx_begin closed the socket itself */
fail_tables:
    pthread_mutex_lock(&rt->actors_lock);
    (void)tidal__tables_remove(rt, act);
    pthread_mutex_unlock(&rt->actors_lock);
fail_actor:
    tidal__actor_unref(act);
    return rv;
}

int
tidal_spawn(tidal_runtime *rt, const tidal_spawn_opts *opts, tidal_actor *out)
{
    if (rt == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    return spawn(rt, opts, false, out);
}

/* The ask endpoint: a socket whose rx path completes tidal_ask waiters
 * directly (no worker hop).  Its handler is never called. */
static int
reply_handle(tidal_ctx *ctx, void *state, const tidal_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    return 0;
}

int
tidal__spawn_reply_endpoint(tidal_runtime *rt)
{
    static const tidal_behaviour beh = {.handle = reply_handle};
    char name[TIDAL_NAME_BYTES_MAX];
    /* unique per runtime: runtimes may share an ipc directory */
    snprintf(name, sizeof(name), "_reply-%016llx", (unsigned long long)rt->uid);
    tidal_spawn_opts o = {.name = name, .behaviour = &beh};
    tidal_actor a;
    int rv = spawn(rt, &o, true, &a);
    if (rv == 0) {
        rt->reply_ep = tidal__actor_get(rt, a);
        rt->reply_ep->is_reply_endpoint = true;
        tidal__actor_unref(rt->reply_ep); /* the table's reference keeps it */
    }
    return rv;
}

/* ---- stop ------------------------------------------------------------------- */

/* Finishes stopping act after it left the tables: waits for running handlers,
 * dead-letters queued envelopes, runs fini for every state. */
static void
actor_shutdown(struct tidal__actor *act)
{
    tidal_runtime *rt = act->rt;
    /* its senders waiting for room learn it is going before anything here
     * waits (rx_stop, for a handler running inline); one that asks from now
     * on is woken when stopping releases the mailbox */
    pthread_mutex_lock(&act->lock);
    tidal__actor_room_stop_locked(act);
    pthread_mutex_unlock(&act->lock);
    tidal__rx_stop(act);
    tidal__links_park_self(rt, act->url); /* nothing listens there now */
    pthread_mutex_lock(&act->lock);
    act->stopping = true;
    pthread_cond_broadcast(&act->cond);
    /* Units still queued are taken off the run queue here; a unit a worker has
     * already popped but not started counts in `scheduled` until that worker
     * sees `stopping` (pool.c), so wait for it as for a running one.  The
     * caller may be a worker stopping its own actor: it holds no popped unit,
     * so this never waits on itself. */
    tidal__runq_remove_actor(act);
    while (act->running > 0 || act->scheduled > 0) {
        pthread_cond_wait(&act->cond, &act->lock);
        tidal__runq_remove_actor(act); /* a unit that was running may have requeued */
    }
    (void)tidal__mbox_drain(rt, act, &act->unit.mbox);
    pthread_mutex_unlock(&act->lock);
    tidal__vactor_free_all(act);
    if (act->beh.fini != NULL && !act->unit.needs_init) {
        act->beh.fini(act->unit.state, act->arg);
    }
    act->unit.state = NULL;
}

int
tidal_stop(tidal_runtime *rt, tidal_actor a)
{
    if (rt == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__actor *act = tidal__actor_get(rt, a);
    if (act == NULL || act->is_reply_endpoint) {
        if (act != NULL) {
            tidal__actor_unref(act);
        }
        return act == NULL ? TIDAL_ECLOSED : TIDAL_EINVAL;
    }
    pthread_mutex_lock(&rt->actors_lock);
    bool mine = tidal__tables_remove(rt, act);
    pthread_mutex_unlock(&rt->actors_lock);
    if (!mine) {
        tidal__actor_unref(act);
        return TIDAL_ECLOSED;
    }
    actor_shutdown(act);
    tidal__actor_unref(act); /* the table's */
    tidal__actor_unref(act); /* ours */
    return 0;
}

/* Calls fn for every actor in the tables, holding a reference across the
 * call and no lock; true if any call returned true. */
static bool
each_actor(tidal_runtime *rt, bool (*fn)(struct tidal__actor *act))
{
    bool any = false;
    for (uint32_t i = 0; i < rt->slot_cap; i++) {
        pthread_mutex_lock(&rt->actors_lock);
        struct tidal__actor *act = rt->slots[i];
        if (act != NULL) {
            tidal__actor_ref(act);
        }
        pthread_mutex_unlock(&rt->actors_lock);
        if (act != NULL) {
            any = fn(act) || any;
            tidal__actor_unref(act);
        }
    }
    return any;
}

static bool
rx_stop_one(struct tidal__actor *act)
{
    tidal__rx_stop(act);
    return false;
}

/* Close step 2: closes every actor's socket so nothing more arrives.  Every
 * receiving end settles first, and the close waits once for all (rx.c,
 * Settling).  The actors stay in the tables until tidal__actors_free_all. */
void
tidal__actors_stop_all(tidal_runtime *rt)
{
    if (each_actor(rt, tidal__rx_settle)) {
        tidal__rx_settle_wait();
    }
    (void)each_actor(rt, rx_stop_one);
}

/* Close step 6: runs with no worker, rx callback or timer left. */
void
tidal__actors_free_all(tidal_runtime *rt)
{
    for (uint32_t i = 0; i < rt->slot_cap; i++) {
        struct tidal__actor *act = rt->slots[i];
        if (act == NULL) {
            continue;
        }
        (void)tidal__tables_remove(rt, act);
        actor_shutdown(act);
        tidal__actor_unref(act);
    }
    free(rt->slots);
    free(rt->slot_gen);
    free(rt->names);
    rt->slots = NULL;
    rt->slot_gen = NULL;
    rt->names = NULL;
    rt->slot_cap = rt->names_cap = 0;
}

