/*
 * The sending side of the runtime, shared by the files of runtime/: outbound
 * links (link.c), the corks and stages through which a handler's sends reach
 * them, and a handler's context (send.c).  Included by internal.h, whose
 * lock order and reference rules apply.
 */
#ifndef TIDAL_RUNTIME_LINK_H
#define TIDAL_RUNTIME_LINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "messages/envelope.h"
#include "store/hlc.h"
#include "tidal/runtime.h"

struct tidal__actor;
struct tidal__unit;

/* An outbound link: one push socket dialed to one URL, shared by every sender
 * of the runtime.  At most one nng send is in flight; envelopes arriving
 * meanwhile fill the next frame (natural batching). */
struct tidal__link {
    struct tidal__link *next;     /* links table chain */
    tidal_runtime *rt;
    char url[TIDAL_URL_BYTES_MAX];
    uint64_t url_hash;
    bool self;                    /* to an actor of this runtime: frames carry self_token */
    nng_socket sock;
    nng_dialer dialer;
    nng_aio *tx_aio;              /* a frame nng could not take at once (tx_cb) */
    nng_aio *now_aio;             /* no callback, zero timeout: send_frame's first try */
    struct tidal__link_pipes *pipes_watch; /* keeps pipes, down_since_ms (link_pipes.c) */
    pthread_mutex_t lock;
    pthread_cond_t cond;          /* room waiters */
    tidal_buf fill;               /* frame being filled (header included), reused */
    uint32_t fill_n;              /* envelopes in fill; 0 = no frame started */
    nng_msg **full;               /* ring of sealed frames waiting to be sent */
    uint32_t *full_n_env;         /* envelopes in each sealed frame */
    uint32_t full_head;
    uint32_t full_count;          /* < TIDAL_LINK_FRAMES_MAX */
    uint32_t waiters;             /* senders waiting for room */
    struct tidal__room room;      /* tidal_ctx_when_room's wake-ups (room.c): armed once
                                     the link is at most half full */
    uint32_t inflight_n;          /* envelopes in the frame being sent; 0 = idle */
    uint32_t queued;              /* envelopes in fill + full + in flight */
    uint32_t corked;              /* corks (handlers, send batches) that will flush it */
    uint32_t stages;              /* stages holding room here: a sealed frame each */
    bool closing;
    atomic_bool parked;           /* sending end closed and rings freed (links.c, Parking);
                                     written under lock, read before it by
                                     tidal__link_ready, which opens it again */
    atomic_uint pipes;            /* connections up now (the carrier keeps it) */
    _Atomic uint64_t down_since_ms; /* when pipes last fell to 0, or the end was opened */
    uint64_t sim_due_ns;          /* simulated carrier: when its last frame arrives */
};


/* The links a sender holds back until it is done - a handler until it
 * returns, a thread between tidal_send_batch_begin and _end - so that what
 * it sends to one destination leaves as one frame.  A corked sender never
 * waits for room in a link. */
struct tidal__cork {
    struct tidal__link *links[16];
    uint32_t n;
};

/* Envelopes a handler sends to one link in a row, encoded with no lock
 * held and appended to the link's frame together (link.c, "Stages"): the
 * room for them is taken from the link up front, so the send still fails at
 * once with TIDAL_EFULL when the link is full, and their order is kept. */
#define TIDAL__STAGE_ENVELOPES_MAX 32u
#define TIDAL__STAGE_BYTES_MAX (16u << 10)
struct tidal__stage {
    struct tidal__link *link; /* where the staged envelopes go; NULL: holds no room */
    uint32_t n;               /* envelopes staged */
    uint32_t room;            /* envelopes of room taken on link (in its queued) */
    uint32_t ends[TIDAL__STAGE_ENVELOPES_MAX]; /* each envelope's end in buf */
    tidal_buf buf;
};

/* The context of one handler call. */
struct tidal_ctx {
    tidal_runtime *rt;
    struct tidal__actor *actor;
    struct tidal__unit *unit;
    struct tidal__cork cork; /* flushed when the handler returns */
    /* The last destination of this handler call: its link and, when it lives
     * in this runtime, a reference to it (dropped at flush).  A handler that
     * sends a burst to one actor resolves it once. */
    struct tidal__link *dest_link;
    struct tidal__actor *dest_local;
    char dest_name[TIDAL_NAME_BYTES_MAX];
    /* One clock stamp serves every send of one handler call: they are
     * concurrent events to any receiver. */
    tidal_hlc stamp;
    bool stamped;
    uint64_t sent; /* added to rt->st_sent at flush */
    struct tidal__link *last_link; /* of the last send: a second in a row stages */
    struct tidal__stage stage;     /* moved to its link before the cork's flush */
    /* Spawn's init: the actor takes no message until init returns, so a timer
     * it arms would fire into a refusal (a 0 ms one often did) and be lost.
     * Its timers wait here until spawn arms them (send.c). */
    bool hold_timers;
    struct tidal__held_timer *held_timers;
};

/* ---- link.c ---- */
struct tidal__link *tidal__link_get(tidal_runtime *rt, const char *url, bool self, int *rv);
int tidal__link_enqueue(struct tidal__link *l, const tidal_envelope *e, uint32_t timeout_ms,
                        struct tidal__cork *cork);
int tidal__link_enqueue_raw(struct tidal__link *l, const uint8_t *bytes, size_t len,
                            struct tidal__cork *cork);
int tidal__link_stage(struct tidal__link *l, struct tidal__stage *st, const tidal_envelope *e,
                      struct tidal__cork *cork);
void tidal__stage_flush(struct tidal__stage *st);
void tidal__link_uncork(struct tidal__link *l);
nng_msg *tidal__link_frame_done(struct tidal__link *l, int rv);
void tidal__cork_flush(struct tidal__cork *cork);
int tidal__link_when_room(struct tidal__link *l, tidal__timer_fn fn, void *arg,
                          void (*free_arg)(void *arg));
int tidal__link_ready(struct tidal__link *l);
void tidal__links_sweep(tidal_runtime *rt, uint64_t down_ms);
void tidal__links_park_self(tidal_runtime *rt, const char *url);
int tidal__links_sweep_start(tidal_runtime *rt);
void tidal__links_quiet(tidal_runtime *rt);
void tidal__links_close(tidal_runtime *rt);
bool tidal__links_idle(tidal_runtime *rt);

/* ---- send.c ---- */
int tidal__send(tidal_runtime *rt, tidal_ctx *ctx, const tidal_addr *to, uint16_t type,
                const void *payload, uint32_t len, uint32_t timeout_ms, uint8_t flags,
                const tidal_addr *reply_to, uint64_t corr, const tidal_addr *from_as);
void tidal__ctx_flush(tidal_ctx *ctx);
/* ---- send.c: timers an init armed (tidal_ctx.hold_timers) ---- */
int tidal__ctx_arm_held_timers(tidal_ctx *ctx);
void tidal__ctx_drop_held_timers(tidal_ctx *ctx);
void tidal__ctx_forget_dest(tidal_ctx *ctx);

#endif /* TIDAL_RUNTIME_LINK_H */
