/*
 * The tidal actor runtime (public API).
 *
 * A runtime is one node: a fixed pool of worker threads, the actors spawned in
 * it, the outbound links to every mailbox it has sent to, its timers, its clock
 * service and its fault-injection layer.  Several runtimes may live in one
 * process (a test's regions); they talk over nng exactly as processes do.
 *
 * Actors
 *  - A socket-backed actor owns an nng pull socket listening at a URL: the
 *    runtime's base URL plus the actor's name (inproc://base/name,
 *    ipc:///dir/name, tcp://host:<port chosen by the OS>), so changing the base
 *    URL's scheme changes the transport and nothing else.
 *  - A virtual actor is addressed by (owner, key): it shares its owner's socket,
 *    is activated on its first message (its behaviour's init runs then), and is
 *    passivated (fini) after idle_ms without messages, or earlier when its
 *    owner reaches virtual_active_max active ones and it is the least
 *    recently used idle one.  Sessions are virtual.
 *  - One actor handles one message at a time; handlers run on the runtime's
 *    worker pool and must never block.
 *  - Envelopes one handler sends to one socket are coalesced into one nng
 *    message, flushed when the handler returns; sends from outside handlers are
 *    coalesced only while an earlier nng send to that socket is still in flight
 *    (so coalescing never adds latency).
 *  - Mailboxes are bounded in envelopes.  A send to a full mailbox waits up to
 *    its timeout and fails with TIDAL_EFULL; from a handler it never waits.
 *  - A handler that returns non-zero has failed: its actor is restarted (fini,
 *    then init, which rebuilds state from whatever the actor keeps durably) and
 *    its parent receives a TIDAL_MSG_CHILD_EXIT message.  After
 *    TIDAL_RESTARTS_MAX failures within TIDAL_RESTART_WINDOW_MS it is stopped.
 *  - Envelopes that cannot be delivered go to dead letters, counted by reason.
 *    Bytes that are not valid frames are rejected, counted by reason, and never
 *    change any state.
 *
 * Ownership: payloads passed to a send are copied before it returns.  A
 * tidal_msg and its payload are valid only during the handler call.  A reply
 * returned by tidal_ask belongs to the caller (tidal_reply_free).
 *
 * Threads: every function here is thread-safe, except that tidal_runtime_close
 * and tidal_stop must not be called from a handler (use tidal_ctx_stop).
 */
#ifndef TIDAL_RUNTIME_H
#define TIDAL_RUNTIME_H

#include "tidal/export.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/hlc.h"
#include "tidal/limits.h"
#include "tidal/stats.h" /* the counters: dead letters, rejections, faults */
#include "tidal/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_ctx tidal_ctx;

/* Where a mailbox is: the owner's socket URL, the owner's name, and for a
 * virtual actor its key (key_len 0 = the owner itself). */
typedef struct tidal_addr {
    char url[TIDAL_URL_BYTES_MAX];
    char name[TIDAL_NAME_BYTES_MAX];
    uint8_t key[TIDAL_KEY_BYTES_MAX];
    uint8_t key_len;
} tidal_addr;

/* Where a message came from, as far as the connection it arrived on can tell
 * (tidal_msg.via).  The sender's name, its key and whatever its payload
 * says are claims: anyone who can reach a socket can write them.  The
 * connection is not a claim:
 *  - TIDAL_VIA_SELF: sent by this runtime (its actors, timers and threads),
 *    through a link only it dials;
 *  - TIDAL_VIA_PUBLIC: arrived on the actor's own listener (its URL), from
 *    anyone who can reach that;
 *  - 1 .. TIDAL_VIA_PEER_MAX: arrived on the listener tidal_listen_peer
 *    added for that peer tag: from whoever may connect there (over ipc a
 *    process of this uid; over inproc this process). */
#define TIDAL_VIA_PUBLIC 0u
#define TIDAL_VIA_PEER_MAX 1024u
#define TIDAL_VIA_SELF 0xffffu

/* A received message, valid during the handler call only. */
typedef struct tidal_msg {
    uint16_t type;          /* TIDAL_MSG_* or an application type >= 1000 */
    uint64_t id;            /* sender's message id (unique per sender) */
    tidal_hlc hlc;          /* sender's clock when sent */
    const uint8_t *payload; /* payload bytes (may be NULL when len is 0) */
    uint32_t len;           /* payload length */
    const char *from_name;  /* sender name, not NUL-terminated */
    uint32_t from_name_len;
    const uint8_t *from_key; /* sender's virtual key (len 0 if socket-backed) */
    uint32_t from_key_len;
    uint64_t corr;          /* correlation id of an ask, 0 if none */
    bool is_reply;          /* true if this answers an ask made with tidal_ctx_ask */
    bool can_reply;         /* true if the sender asked (tidal_ctx_reply works) */
    uint16_t via;           /* the connection it came through: TIDAL_VIA_* or a peer tag */
    const void *internal;   /* runtime use */
} tidal_msg;

/* An actor's behaviour.  Hooks run on worker threads, one at a time per actor.
 *  init:   builds the actor's state (*state) from arg and whatever it keeps
 *          durably; runs at spawn, at activation (virtual) and at restart.
 *          Non-zero fails the spawn (or stops the actor at restart).
 *  handle: handles one message.  Must not block.  Non-zero means the actor
 *          failed: it is restarted (see above).
 *  fini:   frees the state; runs at stop, passivation, restart and runtime
 *          close.  May be NULL.  Cannot fail. */
typedef struct tidal_behaviour {
    int (*init)(tidal_ctx *ctx, void *arg, void **state);
    int (*handle)(tidal_ctx *ctx, void *state, const tidal_msg *msg);
    void (*fini)(void *state, void *arg);
} tidal_behaviour;

typedef struct tidal_spawn_opts {
    const char *name;                 /* required: unique in the runtime, 1..47 bytes,
                                         [A-Za-z0-9._-]; '_' first is reserved */
    const char *url;                  /* NULL = derived from the runtime's base URL */
    const tidal_behaviour *behaviour; /* required */
    void *arg;                        /* passed to init and fini */
    uint32_t mailbox_max;             /* envelopes; 0 = TIDAL_MAILBOX_ENVELOPES_DEFAULT */
    tidal_actor parent;               /* supervisor; {0} = the runtime (notify nobody) */
    const tidal_behaviour *virtual_behaviour; /* behaviour of keyed virtual actors owned
                                                 by this one; NULL = none (keyed messages
                                                 go to dead letters) */
    void *virtual_arg;                /* passed to the virtual behaviour's hooks */
    uint32_t virtual_idle_ms;         /* passivate after this idle time; 0 = 30000 */
    uint32_t virtual_mailbox_max;     /* per virtual actor; 0 = 1024 */
    uint32_t virtual_active_max;      /* active virtual actors at once, at most
                                         TIDAL_VIRTUAL_ACTIVE_MAX; 0 =
                                         TIDAL_VIRTUAL_ACTIVE_DEFAULT.  A new key past
                                         it passivates the least recently used idle
                                         one first (fini runs), or is refused
                                         (VIRTUAL_FULL) if none is idle */
} tidal_spawn_opts;

/* TLS for tls+tcp:// URLs (nng's TLS).  Identities are pinned: a
 * connection trusts exactly the one certificate it is given for the other
 * side (as its only CA) and requires the other side to present it. */
typedef struct tidal_tls_opts {
    const char *cert_key_file;  /* PEM: this side's certificate, then its key, in one file */
    const char *peer_cert_file; /* PEM: the other side's certificate, the only one trusted */
    const char *server_name;    /* dialing: the name the listener's certificate carries
                                   (its CN); NULL = the URL's host */
} tidal_tls_opts;

typedef struct tidal_runtime_opts {
    const char *url;    /* base URL: "inproc://x", "ipc:///dir", "tcp://127.0.0.1";
                           NULL = a unique inproc:// base */
    const char *name;   /* this node's name as the sender of messages not sent from a
                           handler; NULL = "node" */
    uint16_t node_id;   /* HLC node id; 0 is valid */
    uint64_t seed;      /* fault-injection seed; 0 is a valid seed */
    uint32_t workers;   /* worker threads; 0 = half the CPUs this thread may run on
                         * (nng's own threads run handlers too), at least
                         * min(CPUs, 2) */
    uint64_t max_skew_ns; /* HLC tolerance for remote clocks; 0 = 500 ms */
    uint32_t trace_max; /* fault trace entries kept; 0 = 65536 */
    bool no_inline;     /* run every handler on a worker; by default a frame for an
                           idle actor is handled on the nng callback that received
                           it (one thread hand-off less per hop) */
    uint64_t (*wall_clock)(void *arg); /* this node's wall clock, ns since the epoch; NULL =
                           the system's (CLOCK_REALTIME).  Everything the runtime and the
                           layers above it stamp or compare with the wall clock reads it
                           (tidal_wall_ns): a test injects a clock that lies */
    void *wall_clock_arg;
    const tidal_tls_opts *tls; /* required with a tls+tcp:// url: the runtime's own
                           identity - its actors' listeners present cert_key_file
                           (to anyone: they are public), and its links to its own
                           actors trust peer_cert_file (its own certificate) under
                           server_name.  Copied. */
    struct tidal_sim *sim; /* run inside this simulation (include/tidal/sim.h): no
                           thread of its own, simulated time (its wall clock too,
                           unless wall_clock is given), sim:// URLs only, and
                           workers, no_inline and tls are ignored.  Opened and used
                           on the simulation's thread.  NULL = real threads,
                           time and sockets */
    uint32_t link_hold_ms; /* how long a link holds frames for a peer it has no
                           connection to (an actor stopped, a process gone, a
                           network cut) before they go to dead letters (PEER_GONE),
                           counted from when its connection went down.  A peer that
                           is connected but slow is waited for, however long.  0 =
                           TIDAL_LINK_HOLD_MS_DEFAULT (60 s); UINT32_MAX = for ever.
                           In a simulation a frame that finds no listener is lost at
                           once, and this is ignored */
} tidal_runtime_opts;

/* Opens a runtime.  On error nothing is left open and *out is untouched. */
TIDAL_API int tidal_runtime_open(const tidal_runtime_opts *opts,
                                 tidal_runtime **out) TIDAL_WARN_UNUSED;

/* Stops the runtime's timers and handlers (nothing more is sent) and waits,
 * up to 200 ms, until every frame it queued has been handed to nng; its
 * sockets keep receiving until close.  Close several runtimes that talk to
 * each other by quiescing them all first: then no frame is in flight when a
 * socket closes (nng 1.5.2 may leak a message in flight towards a closing
 * socket).  Idempotent; after it only tidal_runtime_close is useful.  Must
 * not be called from a handler. */
TIDAL_API void tidal_runtime_quiesce(tidal_runtime *rt);

/* Stops every actor (fini runs for each), closes every socket and link, joins
 * the workers and frees everything.  Accepts NULL (returns 0).  Returns 0, or
 * TIDAL_EBUSY if asks were still outstanding (they fail with TIDAL_ECLOSED);
 * everything is freed either way. */
TIDAL_API int tidal_runtime_close(tidal_runtime *rt);

/* Releases what nng keeps for the whole process (its worker threads).  Call
 * it at process exit, once every runtime is closed, if nothing else in the
 * process uses nng; leak checkers then see nothing left.  Cannot fail. */
TIDAL_API void tidal_library_fini(void);

/* The runtime's base URL, as given or chosen.  Cannot fail. */
TIDAL_API const char *tidal_runtime_url(const tidal_runtime *rt);

/* Spawns a socket-backed actor.  TIDAL_EINVAL for bad options, TIDAL_EEXIST for
 * a name in use, TIDAL_EADDR / TIDAL_ETRANSPORT if its socket cannot listen,
 * or init's own code.  On error nothing is left behind. */
TIDAL_API int tidal_spawn(tidal_runtime *rt, const tidal_spawn_opts *opts,
                          tidal_actor *out) TIDAL_WARN_UNUSED;

/* Stops an actor: closes its socket, waits for a running handler to return,
 * dead-letters what is left in its mailboxes and runs fini for it and every
 * active virtual actor it owns.  An actor listening over ipc or tcp first
 * stops taking frames for 50 ms, so that its close finds no connection
 * mid-message (nng 1.5.2 can hang such a close; tidal_runtime_close waits
 * once for all its actors).  TIDAL_ECLOSED for a stale id.  Must not be
 * called from that actor's own handler (use tidal_ctx_stop). */
TIDAL_API int tidal_stop(tidal_runtime *rt, tidal_actor actor);

/* Adds a listener to a socket-backed actor for one peer: every message that
 * arrives through it has via = peer (1 .. TIDAL_VIA_PEER_MAX), whatever it
 * claims.  url NULL = derived from the actor's URL: "<url>~<peer>" over
 * inproc and ipc, a port the OS chooses over tcp.  Over tls+tcp:// tls is
 * required: the listener presents tls->cert_key_file and lets in only a
 * client presenting tls->peer_cert_file's certificate (ignored otherwise).  The URL it listens at is
 * written to url_out (the one the peer must send to).  Over ipc the socket
 * file is 0600 and a connection from a process of another uid is closed
 * before it delivers anything (counted as TIDAL_REJECT_PEER_UID), on the
 * actor's own listener too once it has a peer listener.  TIDAL_EINVAL for a
 * bad tag or URL, TIDAL_EEXIST if the actor listens for that peer already,
 * TIDAL_ELIMIT past TIDAL_PEER_LISTENERS_MAX, TIDAL_EADDR if it cannot
 * listen, TIDAL_ECLOSED for a stale id. */
TIDAL_API int tidal_listen_peer(tidal_runtime *rt, tidal_actor actor, uint16_t peer,
                                const char *url, const tidal_tls_opts *tls,
                                char url_out[TIDAL_URL_BYTES_MAX]) TIDAL_WARN_UNUSED;

/* What this runtime's link to url (tls+tcp://) presents and trusts: tls's
 * cert_key_file, and only peer_cert_file's certificate under server_name.
 * Register it before the first send there; a link to a tls+tcp:// URL of
 * another runtime that has none is not opened (the send fails with
 * TIDAL_EADDR).  Registering a URL again replaces its configuration for
 * links opened later.  TIDAL_EINVAL for a URL that is not tls+tcp:// or
 * missing files, TIDAL_ENOMEM. */
TIDAL_API int tidal_runtime_tls_dial(tidal_runtime *rt, const char *url,
                                     const tidal_tls_opts *tls) TIDAL_WARN_UNUSED;

/* Finds a local actor by name.  TIDAL_ENOENT if none. */
TIDAL_API int tidal_lookup(tidal_runtime *rt, const char *name, tidal_actor *out) TIDAL_WARN_UNUSED;

/* The address of a local actor.  TIDAL_ECLOSED for a stale id. */
TIDAL_API int tidal_actor_addr(tidal_runtime *rt, tidal_actor actor,
                               tidal_addr *out) TIDAL_WARN_UNUSED;

/* Fills an address.  key may be NULL when key_len is 0.  TIDAL_EINVAL if a part
 * is too long. */
TIDAL_API int tidal_addr_make(tidal_addr *out, const char *url, const char *name, const void *key,
                              size_t key_len) TIDAL_WARN_UNUSED;

/* The address of the virtual actor key of the actor at owner.  TIDAL_EINVAL
 * if key_len is 0 or too long. */
TIDAL_API int tidal_addr_virtual(tidal_addr *out, const tidal_addr *owner, const void *key,
                                 size_t key_len) TIDAL_WARN_UNUSED;

/* Sends one message from outside any handler (from this runtime's name).
 * Waits up to timeout_ms for room in a full mailbox or link, then fails with
 * TIDAL_EFULL (0 = do not wait).  TIDAL_ETOOBIG if len exceeds
 * TIDAL_PAYLOAD_BYTES_MAX.  A message dropped by an injected fault still
 * returns 0: the sender cannot tell, as on a real network. */
TIDAL_API int tidal_send(tidal_runtime *rt, const tidal_addr *to, uint16_t type,
                         const void *payload, uint32_t len, uint32_t timeout_ms) TIDAL_WARN_UNUSED;

/* As tidal_send, from the actor of this runtime named from: for a thread
 * that works on that actor's behalf.  The receiver, the fault rules and the
 * trace see the message on the link from -> to, as if the actor's handler
 * had sent it (a fault scenario scripted on that link covers both).
 * TIDAL_EINVAL if from is NULL, empty or too long. */
TIDAL_API int tidal_send_as(tidal_runtime *rt, const char *from, const tidal_addr *to,
                            uint16_t type, const void *payload, uint32_t len,
                            uint32_t timeout_ms) TIDAL_WARN_UNUSED;
/* Coalesces this thread's sends outside any handler, as a handler's are when
 * it returns: between tidal_send_batch_begin and tidal_send_batch_end, what
 * the thread sends on rt (tidal_send, tidal_send_as, tidal_send_as_actor) to
 * one destination is held back and leaves in as few frames as possible at
 * the end - one nng message for a burst instead of one per send when the
 * link is idle.  Meanwhile those sends never wait for room (TIDAL_EFULL at
 * once, as from a handler).  Pairs nest.  TIDAL_EINVAL for a NULL rt,
 * TIDAL_EBUSY if this thread has a batch open on another runtime.  End every
 * batch before closing the runtime. */
TIDAL_API int tidal_send_batch_begin(tidal_runtime *rt) TIDAL_WARN_UNUSED;

/* Ends one level of the thread's send batch on rt; the outermost sends
 * what it held back.  Does nothing if none is open on rt.  Cannot fail. */
TIDAL_API void tidal_send_batch_end(tidal_runtime *rt);

/* The same from any actor of this runtime, virtual ones included: from's
 * name and key name it (its url is not read), and the link is
 * "<name>/<hex key>" -> to, as its handler's would be.  TIDAL_EINVAL if
 * from is NULL or its name empty or too long. */
TIDAL_API int tidal_send_as_actor(tidal_runtime *rt, const tidal_addr *from, const tidal_addr *to,
                                  uint16_t type, const void *payload, uint32_t len,
                                  uint32_t timeout_ms) TIDAL_WARN_UNUSED;

/* A reply to tidal_ask; payload is owned by the reply. */
typedef struct tidal_reply {
    uint16_t type;
    uint8_t *payload;
    uint32_t len;
    tidal_hlc hlc;
} tidal_reply;

/* Request/reply from outside any handler: sends with a reply-to address and a
 * correlation id, waits up to timeout_ms for the answer.  TIDAL_ETIMEDOUT if
 * none came (a late answer goes to dead letters).  On success *out must be
 * freed with tidal_reply_free. */
TIDAL_API int tidal_ask(tidal_runtime *rt, const tidal_addr *to, uint16_t type, const void *payload,
                        uint32_t len, uint32_t timeout_ms, tidal_reply *out) TIDAL_WARN_UNUSED;

/* Frees a reply's payload.  Accepts NULL. */
TIDAL_API void tidal_reply_free(tidal_reply *r);

/* Delivers a message to `to` after delay_ms, from "_timer".  TIDAL_ELIMIT if
 * TIDAL_TIMERS_MAX timers are pending. */
TIDAL_API int tidal_timer_after(tidal_runtime *rt, const tidal_addr *to, uint32_t delay_ms,
                                uint16_t type, const void *payload, uint32_t len) TIDAL_WARN_UNUSED;

/* Calls fn(rt, arg) once, after delay_ms, where the runtime fires its
 * timers: on its timer thread, or in a simulation as one of its events on
 * the simulation's thread - so a layer above can have work of its own (a
 * WAL's sync round, actors/logs.c) run by the simulation, deterministically
 * and on simulated time.  fn must be quick and must not block (it may send,
 * and may call this again); it is not called if the runtime closes first,
 * and arg stays the caller's.  TIDAL_EINVAL (NULL rt or fn), TIDAL_ELIMIT
 * if TIDAL_TIMERS_MAX timers are pending, TIDAL_ECLOSED once the runtime is
 * closing, TIDAL_ENOMEM; on error fn is never called. */
TIDAL_API int tidal_call_after(tidal_runtime *rt, uint32_t delay_ms,
                               void (*fn)(tidal_runtime *rt, void *arg), void *arg)
    TIDAL_WARN_UNUSED;

/* The runtime's wall clock now (tidal_runtime_opts.wall_clock), in ns since
 * the epoch: what its HLC stamps follow.  Cannot fail. */
TIDAL_API uint64_t tidal_wall_ns(tidal_runtime *rt);

/* The runtime's elapsed-time clock in ms (CLOCK_MONOTONIC, or the
 * simulation's): what timers, timeouts and deadlines of the runtime and of
 * the layers above it read.  Cannot fail. */
TIDAL_API uint64_t tidal_elapsed_ms(tidal_runtime *rt);

/* For code above the runtime that blocks a caller's thread until a
 * condition holds or deadline_ms (tidal_elapsed_ms's clock) passes - call
 * it in a loop that checks the condition.  With lock held: waits on cond,
 * which must have been made with CLOCK_MONOTONIC; with cond and lock NULL:
 * sleeps.  In a simulation it runs one event of the simulation instead
 * (lock released meanwhile), so the condition can change on this very
 * thread.  Returns 0 to check the condition again, TIDAL_ETIMEDOUT once the
 * deadline has passed - and, in a simulation, at once when called from
 * inside one of its events or from a thread other than the simulation's
 * (neither may run it). */
TIDAL_API int tidal_runtime_block(tidal_runtime *rt, pthread_cond_t *cond, pthread_mutex_t *lock,
                                  uint64_t deadline_ms);

/* A fresh stamp from the runtime's clock service.  Cannot fail. */
TIDAL_API tidal_hlc tidal_now(tidal_runtime *rt);

/* Merges a remote stamp into the runtime's clock.  TIDAL_ESKEW if too far
 * ahead (nothing changed). */
TIDAL_API int tidal_clock_update(tidal_runtime *rt, const tidal_hlc *remote,
                                 tidal_hlc *out) TIDAL_WARN_UNUSED;

/* Advances the runtime's clock past ts, without the skew check.  Cannot fail. */
TIDAL_API void tidal_clock_observe(tidal_runtime *rt, const tidal_hlc *ts);

/* ---- Inside a handler ---------------------------------------------------- */

/* The runtime running the handler.  Cannot fail. */
TIDAL_API tidal_runtime *tidal_ctx_runtime(tidal_ctx *ctx);
/* The handling actor's address (the virtual key included).  Cannot fail. */
TIDAL_API void tidal_ctx_self(tidal_ctx *ctx, tidal_addr *out);
/* The handling actor's id (its owner's, for a virtual actor).  Cannot fail. */
TIDAL_API tidal_actor tidal_ctx_actor(tidal_ctx *ctx);
/* The virtual actor's key (len 0 for a socket-backed actor).  Cannot fail. */
TIDAL_API const uint8_t *tidal_ctx_key(tidal_ctx *ctx, uint32_t *len);
/* Sends from this actor; never waits: TIDAL_EFULL if the mailbox is full. */
TIDAL_API int tidal_ctx_send(tidal_ctx *ctx, const tidal_addr *to, uint16_t type,
                             const void *payload, uint32_t len) TIDAL_WARN_UNUSED;
/* Sends with this actor as reply-to and corr as correlation id; the answer
 * arrives as a message with is_reply set and the same corr. */
TIDAL_API int tidal_ctx_ask(tidal_ctx *ctx, const tidal_addr *to, uint16_t type,
                            const void *payload, uint32_t len, uint64_t corr) TIDAL_WARN_UNUSED;
/* Answers msg (which must have can_reply).  TIDAL_ESTATE if it cannot. */
TIDAL_API int tidal_ctx_reply(tidal_ctx *ctx, const tidal_msg *msg, uint16_t type,
                              const void *payload, uint32_t len) TIDAL_WARN_UNUSED;
/* Where to answer a message later (a deferred reply): its reply-to address
 * and correlation id, copied out of the message. */
typedef struct tidal_reply_to {
    tidal_addr addr;
    uint64_t corr;
} tidal_reply_to;

/* Captures msg's reply-to.  TIDAL_ESTATE if the sender did not ask. */
TIDAL_API int tidal_msg_reply_to(const tidal_msg *msg, tidal_reply_to *out) TIDAL_WARN_UNUSED;

/* Answers a message captured earlier with tidal_msg_reply_to.  Never waits. */
TIDAL_API int tidal_ctx_reply_to(tidal_ctx *ctx, const tidal_reply_to *to, uint16_t type,
                                 const void *payload, uint32_t len) TIDAL_WARN_UNUSED;

/* Delivers a message to this actor after delay_ms.  As tidal_timer_after.
 * From the init tidal_spawn runs, the delay counts from when the actor
 * takes messages, once init has returned; there a timer past
 * TIDAL_TIMERS_MAX fails the spawn rather than init's call. */
TIDAL_API int tidal_ctx_timer(tidal_ctx *ctx, uint32_t delay_ms, uint16_t type, const void *payload,
                              uint32_t len) TIDAL_WARN_UNUSED;

/* Delivers a message (type, payload: copied) to this actor once a send to
 * `to` would find room again, for a send that failed with TIDAL_EFULL, in
 * place of retrying on a timer: nothing runs while it stays full, and the
 * wake-up comes as soon as it drains.  Room means: for an actor of this
 * runtime, its mailbox at most half full, or the actor stopping (it takes
 * nothing more); for one elsewhere, this runtime's link to it at most half
 * full (a full mailbox there pushes back through the link).  With room
 * already, the message comes at once.  Senders waiting on the same mailbox
 * or link are woken in the order they asked, as many at a time as its free
 * room can take at 256 envelopes each (or half the bound, if less), and
 * every one once it is empty.  Each call asks for one message, sent
 * as a timer's is (from "_timer").  TIDAL_EINVAL: a bad address;
 * TIDAL_ESTATE: from tidal_spawn's init; TIDAL_ELIMIT: past
 * TIDAL_ROOM_WAITERS_MAX waiting on the same mailbox or link; TIDAL_ECLOSED:
 * the runtime is closing. */
TIDAL_API int tidal_ctx_when_room(tidal_ctx *ctx, const tidal_addr *to, uint16_t type,
                                  const void *payload, uint32_t len) TIDAL_WARN_UNUSED;

/* Stops this actor once the handler returns; messages queued behind it go to
 * dead letters (STOPPED).  For a virtual actor: passivates it at once (fini
 * runs); a later message for its key activates a fresh one.  Cannot fail. */
TIDAL_API void tidal_ctx_stop(tidal_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_RUNTIME_H */
