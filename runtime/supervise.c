/*
 * Supervision: what happens when a handler fails.
 *
 * A failed socket-backed actor is restarted at once (fini, then init, which
 * rebuilds its state from whatever it keeps durably) and its parent is told
 * with a CHILD_EXIT message; after TIDAL_RESTARTS_MAX failures within
 * TIDAL_RESTART_WINDOW_MS, or if init fails, it is stopped instead (the parent
 * hears stopped = true).  A failed virtual actor is re-initialised before its
 * next message; its owner is not notified (there may be millions).
 */
#include <stdlib.h>

#include "messages/msgs.h"
#include "runtime/internal.h"

/* ---- supervision ------------------------------------------------------------ */

static void
notify_parent(tidal_ctx *ctx, int code, uint32_t restarts, bool stopped)
{
    struct tidal__actor *act = ctx->actor;
    tidal_actor pa = {act->parent_id};
    tidal_addr to;
    if (act->parent_id == 0 || tidal_actor_addr(ctx->rt, pa, &to) != 0) {
        return;
    }
    tidal_msg_child_exit m = {
        .child = {(const uint8_t *)act->name, act->name_len},
        .code = (code >= (int)TIDAL_MSG_EXIT_CODE_MIN && code <= (int)TIDAL_MSG_EXIT_CODE_MAX)
                    ? (uint32_t)code
                    : (uint32_t)TIDAL_ESTATE,
        .restarts = restarts,
        .stopped = stopped,
    };
    tidal_buf b;
    tidal_buf_init(&b);
    if (tidal_msg_child_exit_encode(&m, &b) == 0) {
        /* a parent that cannot take it (full, gone) loses only the notice */
        (void)tidal__send(ctx->rt, ctx, &to, TIDAL_MSG_CHILD_EXIT, b.data, (uint32_t)b.len, 0,
                          TIDAL_ENV_F_SYSTEM, NULL, 0, NULL);
    }
    tidal_buf_fini(&b);
}

/* A handler returned rv != 0.  A virtual actor is re-initialised before its
 * next message; a socket-backed one is restarted now (fini, init), or stopped
 * after TIDAL_RESTARTS_MAX failures in TIDAL_RESTART_WINDOW_MS or if init
 * fails.  The parent hears of it either way. */
void
tidal__actor_failed(tidal_ctx *ctx, int rv)
{
    struct tidal__actor *act = ctx->actor;
    struct tidal__unit *u = ctx->unit;
    const tidal_behaviour *b = u->is_virtual ? &act->vbeh : &act->beh;
    void *arg = u->is_virtual ? act->varg : act->arg;
    atomic_fetch_add(&ctx->rt->st_restarts, 1);
    atomic_fetch_add(&act->st_restarts, 1);
    if (b->fini != NULL) {
        b->fini(u->state, arg);
    }
    u->state = NULL;
    u->needs_init = 1;
    if (u->is_virtual) {
        return;
    }
    uint64_t now = tidal__now_ms(ctx->rt);
    uint32_t recent = 0;
    for (uint32_t i = 0; i < TIDAL_RESTARTS_MAX; i++) {
        if (act->restart_ms[i] != 0 && now - act->restart_ms[i] < TIDAL_RESTART_WINDOW_MS) {
            recent++;
        }
    }
    act->restart_ms[act->restart_n++ % TIDAL_RESTARTS_MAX] = now;
    recent++;
    bool stop = recent > TIDAL_RESTARTS_MAX - 1;
    if (!stop) {
        void *state = NULL;
        if (b->init == NULL || b->init(ctx, arg, &state) == 0) {
            u->state = state;
            u->needs_init = 0;
        } else {
            stop = true;
        }
    }
    if (stop) {
        u->stop_requested = 1;
    }
    notify_parent(ctx, rv, recent, stop);
}
