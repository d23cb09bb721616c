/*
 * Runtime internals shared by the files of runtime/.
 *
 * Thread rules (libuv's threadpool.c style):
 *  - Handlers run on a fixed set of threads, never one per actor: the worker
 *    pool (pool.c), sized from the core count, or nng's own threads.  A unit
 *    (socket-backed or virtual actor) is RUNNING on at most one thread.
 *  - nng runs our aio callbacks (carrier_nng.c) on its own threads; they
 *    never wait on an aio.  An rx callback that finds the receiving unit idle runs
 *    its handler right there ("inline runs", pool.c), which saves a thread
 *    wake-up per hop; a busy unit is queued for the workers instead, and
 *    tidal_runtime_opts.no_inline keeps every handler on the workers.
 *  - The timer thread (timer.c) only enqueues; it never runs handlers.
 *  - A runtime of a simulation (sim.c) has none of these threads: the
 *    simulation's one thread runs its units, timers and deliveries, one
 *    event at a time.
 *
 * Lock order (acquire left before right, never the reverse):
 *     rt->actors_lock  ->  actor->lock  ->  rt->runq_lock
 *     rt->fault_lock   ->  link->lock
 *     rt->links_lock   ->  link->lock
 *     rt->timer_lock and rt->ask_lock and rt->clock_lock are leaves.
 *   A handler's sends take fault_lock / link->lock with no actor lock held.
 *
 * References: an actor is freed when its refcount reaches 0.  The actor table
 * holds one reference until tidal_stop; each run-queue entry of one of its
 * units, each in-flight rx callback and each local sender's credit lookup hold
 * one more.
 */
#ifndef TIDAL_RUNTIME_INTERNAL_H
#define TIDAL_RUNTIME_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include "base/assert.h"
#include "base/hash.h"
#include "messages/envelope.h"
#include "store/hlc.h"
#include "tidal/fault.h"
#include "tidal/runtime.h"
#include "tidal/sim.h"


#include "runtime/mailbox.h" /* frames, queued envelopes, mailboxes */

enum tidal__run_state { TIDAL__IDLE = 0, TIDAL__QUEUED, TIDAL__RUNNING };

/* A timer's function (timer.c), run on the timer thread. */
typedef void (*tidal__timer_fn)(tidal_runtime *rt, void *arg);

/* Wake-ups waiting for room (room.c): guarded by the lock of whoever holds
 * the list (an actor, a link). */
struct tidal__room_waiter;
struct tidal__room {
    struct tidal__room_waiter *head, *tail; /* oldest first */
    uint32_t n;
    uint32_t promised; /* room presumed taken by senders woken, not yet taken */
};

struct tidal__actor;

/* A slot of an owner's table of virtual units (vtab.c): the unit's key
 * hash beside it, so that a probe and a growing table read the table alone,
 * never a unit that is not the one sought.  u NULL: empty. */
struct tidal__vslot {
    uint32_t hash;
    struct tidal__unit *u;
};

/* A schedulable unit: the socket-backed actor itself, or one virtual actor. */
struct tidal__unit {
    struct tidal__unit *run_next; /* run queue link */
    uint32_t key_hash;            /* of key, for the virtual table (vtab.c) */
    struct tidal__actor *owner;   /* socket owner (itself for the owner's unit) */
    struct tidal__mbox mbox;      /* guarded by owner->lock */
    void *state;                  /* behaviour state */
    atomic_uint_least64_t next_msg_id; /* ids of messages sent from this unit, by its
                                          handler or by tidal_send_as_actor */
    uint64_t last_active_ms;      /* for passivation */
    struct tidal__unit *lru_prev; /* owner's list of idle virtual units (vtab.c), */
    struct tidal__unit *lru_next; /* guarded by owner->lock */
    uint8_t run_state;            /* enum tidal__run_state, guarded by owner->lock */
    uint8_t is_virtual;
    uint8_t needs_init;           /* init not yet run (virtual activation, restart) */
    uint8_t stop_requested;       /* tidal_ctx_stop was called */
    uint8_t in_lru;               /* on the owner's idle list; guarded by owner->lock */
    uint8_t evicting;             /* passivation for the cap pending (vtab.c); owner->lock */
    uint8_t key_len;
    uint8_t key[TIDAL_KEY_BYTES_MAX];
};

/* Duplicate detection per receiving socket and sender (runtime uid, name,
 * virtual key): highest id seen and a bitmap of the TIDAL_DUP_WINDOW_IDS ids
 * below it (dupwin.c). */
struct tidal__dupwin {
    struct tidal__dupwin *next, *prev; /* the actor's list, most recent first */
    struct tidal__dupwin *hnext;       /* its index's bucket */
    uint64_t hash;       /* of (runtime uid, name, key) */
    uint64_t uid;        /* the sending runtime: two runtimes may use one name */
    uint32_t name_len;
    uint32_t key_len;    /* each virtual actor numbers its own messages */
    char name[TIDAL_NAME_BYTES_MAX]; /* compared first, so a steady sender costs no hash */
    uint8_t key[TIDAL_KEY_BYTES_MAX];
    uint64_t top;
    uint64_t bits[TIDAL_DUP_WINDOW_IDS / 64];
};

struct tidal__actor {
    struct tidal__unit unit; /* first: a unit pointer to the owner is the actor */
    tidal_runtime *rt;
    uint32_t id;
    atomic_uint refs;
    char name[TIDAL_NAME_BYTES_MAX];
    uint32_t name_len;
    char url[TIDAL_URL_BYTES_MAX];
    tidal_behaviour beh;
    void *arg;
    uint32_t parent_id;
    bool is_reply_endpoint; /* the runtime's ask endpoint: rx completes asks */

    nng_socket sock;
    nng_listener listener;
    nng_aio *rx_aio;

    /* peer listeners (listen.c): each attributes what arrives through it to
     * its peer tag.  The pipes of those listeners, recorded when nng adds
     * them, map a frame's pipe to its tag.  Guarded by lock; peer_n only
     * grows, so a frame of an actor without peers costs no lookup. */
    struct tidal__peer_listener {
        nng_listener l;
        uint16_t tag;
    } peer_l[TIDAL_PEER_LISTENERS_MAX];
    _Atomic uint32_t peer_n;
    struct tidal__peer_pipe {
        uint32_t pipe;
        uint16_t tag;
    } *pipes;
    uint32_t pipes_n, pipes_cap;

    pthread_mutex_t lock;
    pthread_cond_t cond;      /* credit waiters, stop waiters */
    uint32_t intake;          /* envelopes reserved, in flight or queued: <= intake_max */
    uint32_t intake_max;
    uint32_t credit_waiters;
    uint32_t credit_inflight; /* reserved by local senders, not arrived yet: a credited
                                 envelope counts as such only against one of these, so
                                 a frame reserved for a stopped actor of the same name
                                 is counted as an ordinary arrival by its successor */
    uint32_t queued_n;        /* envelopes received and not yet handled (all mailboxes) */
    struct tidal__room room;  /* tidal_ctx_when_room's wake-ups (room.c): armed once
                                 intake falls to half intake_max, or the actor stops */
    bool rx_paused;           /* recv not re-posted until queued_n drops below the bound */
    bool rx_closed;           /* socket closed: never post a recv again */
    bool rx_settling;         /* about to close: take no more frames (rx.c,
                                 Settling) */
    bool rx_stopping;         /* a tidal__rx_stop owns the teardown */
    bool rx_stopped;          /* ... and has finished it */
    uint32_t dupwin_n;
    bool stopping;
    uint32_t running;         /* units of this actor RUNNING now */
    uint32_t scheduled;       /* units of this actor QUEUED on the run queue now */

    /* rx scratch: decoded items of the frame being validated (rx callback only) */
    struct tidal__item *scratch;
    uint32_t scratch_cap;
    struct tidal__dupwin *dupwins, *dupwins_tail; /* guarded by lock (dupwin.c) */
    struct tidal__dupwin **dupidx; /* NULL, or every window by sender hash */
    uint32_t dupidx_cap;

    /* virtual actors (guarded by lock) */
    tidal_behaviour vbeh;
    bool has_vbeh;
    void *varg;
    uint32_t vidle_ms;
    uint32_t vmailbox_max;
    struct tidal__vslot *vtab; /* open addressing, linear probing (vtab.c) */
    uint32_t vtab_cap; /* power of two, 0 when none */
    uint32_t vtab_n;   /* units in vtab: the active ones and those evicting */
    uint32_t vcount;   /* active: not evicting; <= vactive_max (vtab.c) */
    uint32_t vactive_max;
    /* Idle virtual units (IDLE, empty mailbox, not evicting), least recently
     * used first: where the cap finds its victim in O(1).  Each evicting
     * unit also counts in queued_n, as an envelope would, so that new keys
     * arriving faster than the workers run the fini of their victims pause
     * the socket instead of growing the table. */
    struct tidal__unit *vlru_head;
    struct tidal__unit *vlru_tail;

    /* supervision */
    uint64_t restart_ms[TIDAL_RESTARTS_MAX];
    uint32_t restart_n;

    /* counters */
    atomic_uint_least64_t st_received;
    atomic_uint_least64_t st_handled;
    atomic_uint_least64_t st_dups;
    atomic_uint_least64_t st_restarts;
};

#include "runtime/link.h" /* links, corks, stages and a handler's context */

#include "runtime/carrier.h"

struct tidal__timer;
struct tidal__fault;
struct tidal__ask;
struct tidal__tls_dial;

/* A TLS identity (tls.c): this side's certificate and key (one PEM file),
 * the one certificate it trusts for the other side, the name it expects
 * the listener's certificate to carry.  Owned copies of the caller's paths. */
struct tidal__tls {
    char *cert_key;
    char *peer_cert;
    char *server_name;
};

struct tidal_runtime {
    uint64_t serial;     /* 1, 2, ... in the order runtimes open in this process:
                          * never the same for two, unlike an address */
    uint64_t uid;        /* random: in the frames it sends to other runtimes */
    uint64_t self_token; /* random, never sent anywhere but to this runtime's own
                            sockets: a frame carrying it comes from us (TIDAL_VIA_SELF) */
    struct tidal__tls tls; /* its own identity over tls+tcp:// (none: cert_key NULL) */
    struct tidal__tls_dial *tls_dials; /* links_lock: what a link to a URL trusts */
    char url[TIDAL_URL_BYTES_MAX];
    char name[TIDAL_NAME_BYTES_MAX];
    uint32_t name_len;
    uint16_t node_id;
    uint64_t seed;
    atomic_bool closing;
    /* The three seams (clock.c, pool.c and timer.c, the carrier): a runtime
     * opened in a simulation (sim.c) reads time from it, starts no thread -
     * the simulator runs its run queue and timers on its one thread - and
     * carries frames through the simulation's network.  Set at open. */
    const struct tidal__carrier *carrier;
    struct tidal_sim *sim; /* NULL: real threads, time and sockets */
    const uint64_t *sim_now_ns; /* the simulated clock (ns since it opened) ... */
    uint64_t sim_wall0_ns;      /* ... and the wall clock at its 0: set by sim.c */
    /* a blocking call's wait in a simulation (tidal__block): sim.c's
     * tidal__sim_wait_locked, reached through here as a seam */
    int (*sim_wait)(tidal_runtime *rt, pthread_mutex_t *lock, uint64_t deadline_ms);
    /* The one call that goes up inside runtime/ (pool.c to spawn.c), as a
     * seam: a worker stops an actor whose handler asked to stop
     * (tidal_ctx_stop, or supervision gave up) through this, which
     * tidal_runtime_open sets to tidal_stop.  Stopping closes the actor's
     * socket and takes its units off the run queue: work of the layers
     * above the pool, which the pool reaches only through here. */
    int (*stop_actor)(tidal_runtime *rt, tidal_actor actor);

    /* actors (ids pack a slot index and a generation) */
    pthread_mutex_t actors_lock;
    struct tidal__actor **slots;
    uint32_t *slot_gen;
    uint32_t slot_cap;
    uint32_t slot_free_hint;
    uint32_t actor_count;
    struct tidal__actor **names; /* open addressing by name hash; TIDAL__TOMB = removed */
    uint32_t names_cap;          /* power of two, 0 when empty */
    uint32_t names_used;         /* live entries + tombstones */
    struct tidal__actor *reply_ep;

    /* links */
    pthread_mutex_t links_lock;
    struct tidal__link **ltab;
    uint32_t ltab_cap;
    uint32_t link_count;

    /* run queue and workers */
    pthread_mutex_t runq_lock;
    pthread_cond_t runq_cond;
    struct tidal__unit *runq_head;
    struct tidal__unit *runq_tail;
    uint32_t runq_len; /* units on the run queue */
    uint32_t runq_idle_workers;
    uint32_t runq_waking; /* workers signalled and not yet awake (pool.c, "Wake-ups") */
    bool runq_stop;
    pthread_t *workers;
    uint32_t nworkers;
    /* inline runs (pool.c): handlers run on an rx callback while the pool is up */
    bool inline_enabled;              /* set at open, never changed */
    atomic_bool inline_off;           /* set once the pool stops */
    atomic_uint_least32_t inline_busy; /* rx callbacks that may run a unit inline */

    /* clock service */
    pthread_mutex_t clock_lock;
    tidal_hlc_clock clock;
    uint64_t max_skew_ns;
    uint32_t link_hold_ms; /* tidal_runtime_opts.link_hold_ms, default applied */

    /* external sends */
    atomic_uint_least64_t ext_next_id;

    struct tidal__timer *timers;
    struct tidal__fault *fault;
    struct tidal__ask *asks;

    /* counters */
    atomic_uint_least64_t st_sent, st_frames_sent, st_frames_at_once, st_received,
        st_frames_received, st_handled, st_handled_inline, st_dups, st_restarts, st_activations,
        st_passivations, st_passivations_cap;
    atomic_uint_least64_t st_links_parked, st_links_unparked; /* links.c, Parking */
    atomic_uint_least64_t st_links_gave_up; /* link.c: holds given up (PEER_GONE) */
    atomic_uint_least64_t st_dead[TIDAL_DEAD_COUNT];
    atomic_uint_least64_t st_rejected[TIDAL_REJECT_COUNT];
    atomic_uint_least64_t st_faults[TIDAL_FAULT_COUNT];
};

/* Files, each calling only those listed after it.  Three seams call back
 * up through pointers set at open: rt->stop_actor (pool.c to spawn.c),
 * rt->carrier (rx.c and link.c to carrier_nng.c or sim_net.c) and
 * rt->sim_wait (tidal__block, to sim.c):
 *   runtime.c  sim.c  sim_net.c  carrier_nng.c  spawn.c  fault_ctl.c  rx.c
 *   listen.c  tls.c  vactor.c  pool.c  supervise.c  ask.c  send.c  fault.c
 *   vtab.c  timer.c  link.c  actor.c  addr.c  mailbox.c  stats.c  clock.c */

/* ---- sim.c: the simulator (its state: runtime/sim.h) ---- */
int tidal__sim_attach(struct tidal_sim *s, tidal_runtime *rt);
void tidal__sim_detach(struct tidal_sim *s, tidal_runtime *rt);
int tidal__sim_wait_locked(tidal_runtime *rt, pthread_mutex_t *lock, uint64_t deadline_ms);

/* The executor seam of a blocking call (an ask, a send waiting for room):
 * with lock held, waits for cond until dl (CLOCK_REALTIME) on real
 * threads; in a simulation runs one event instead (the caller's condition
 * may have changed) unless none is due by dl_ms on the runtime's clock.
 * Returns 0 to check the condition again, TIDAL_ETIMEDOUT at the
 * deadline. */
static inline int
tidal__block(tidal_runtime *rt, pthread_cond_t *cond, pthread_mutex_t *lock,
             const struct timespec *dl, uint64_t dl_ms)
{
    if (rt->sim != NULL) {
        return rt->sim_wait(rt, lock, dl_ms);
    }
    return pthread_cond_timedwait(cond, lock, dl) != 0 ? TIDAL_ETIMEDOUT : 0;
}

/* ---- clock.c: the runtime's one reader of time ---- */
/* The simulated monotonic clock starts at 1 s, so a time of 0 still means
 * "never" to the runtime (supervision's restart window). */
#define TIDAL__SIM_MONO_BASE_MS 1000u
uint64_t tidal__now_ms(tidal_runtime *rt);
/* The same, up to a clock tick behind (tidal_monotonic_coarse_ms): for a
 * virtual actor's last activity, stamped under its owner's lock. */
uint64_t tidal__now_coarse_ms(tidal_runtime *rt);
/* The HLC's wall source of a runtime of a simulation with no wall clock of
 * its own (arg: the runtime): the simulated wall clock. */
uint64_t tidal__clock_sim_wall(void *rt);
/* The wall clock the runtime's HLC reads, in ns since the epoch. */
uint64_t tidal__wall_ns(tidal_runtime *rt);
tidal_hlc tidal__clock_now(tidal_runtime *rt);

/* ---- stats.c ---- */
void tidal__dead(tidal_runtime *rt, int reason, uint64_t n);
void tidal__reject(tidal_runtime *rt, int reason, const tidal_decode_err *err, const char *url);
int tidal__nng_err(int nng_rv);

/* ---- addr.c ---- */
size_t tidal__addr_dest_ok(const tidal_addr *to);
void tidal__fullname(const char *name, const uint8_t *key, uint32_t key_len, char *out,
                     size_t cap);
void tidal__unit_fullname(const struct tidal__actor *act, const struct tidal__unit *u, char *out,
                          size_t cap);

/* ---- actor.c ---- */
#define TIDAL__TOMB ((struct tidal__actor *)(uintptr_t)1)
uint32_t tidal__slot_index(uint32_t id);
uint32_t tidal__names_find(tidal_runtime *rt, const char *name, size_t len);
int tidal__names_insert(tidal_runtime *rt, struct tidal__actor *act);
int tidal__slot_take(tidal_runtime *rt, struct tidal__actor *act);
bool tidal__tables_remove(tidal_runtime *rt, struct tidal__actor *act);
struct tidal__actor *tidal__actor_get(tidal_runtime *rt, tidal_actor a);
struct tidal__actor *tidal__actor_find(tidal_runtime *rt, const char *name, size_t name_len);
void tidal__actor_ref(struct tidal__actor *act);
void tidal__actor_unref(struct tidal__actor *act);
void tidal__actor_release_intake(struct tidal__actor *act, uint32_t n);
int tidal__actor_when_room(struct tidal__actor *act, tidal__timer_fn fn, void *arg,
                           void (*free_arg)(void *));
void tidal__actor_room_stop_locked(struct tidal__actor *act);
void tidal__actor_unreserve(struct tidal__actor *act, uint32_t n);
bool tidal__actor_take_credit(struct tidal__actor *act);
int tidal__actor_reserve(struct tidal__actor *act, uint32_t n, uint32_t timeout_ms);
void tidal__actor_force_reserve(struct tidal__actor *act, uint32_t n);
uint32_t tidal__mbox_drain(tidal_runtime *rt, struct tidal__actor *act, struct tidal__mbox *mb);
void tidal__rx_resume_locked(struct tidal__actor *act);

/* ---- supervise.c ---- */
void tidal__actor_failed(tidal_ctx *ctx, int rv);

/* ---- spawn.c ---- */
void tidal__actors_stop_all(tidal_runtime *rt);
void tidal__actors_free_all(tidal_runtime *rt);
int tidal__spawn_reply_endpoint(tidal_runtime *rt);

/* ---- pool.c ---- */
int tidal__pool_start(tidal_runtime *rt, uint32_t n);
void tidal__pool_stop(tidal_runtime *rt);
bool tidal__pool_run_one(tidal_runtime *rt);
bool tidal__inline_enter(tidal_runtime *rt);
void tidal__inline_leave(tidal_runtime *rt);

/* ---- runq.c ---- */
bool tidal__claim_locked(struct tidal__actor *act, struct tidal__unit *u);
void tidal__schedule_locked(struct tidal__actor *act, struct tidal__unit *u);
/* Units claimed (tidal__claim_locked) and not yet queued, in order. */
struct tidal__runq_chain {
    struct tidal__unit *head, *tail;
    uint32_t n;
};
void tidal__runq_chain_add(struct tidal__runq_chain *c, struct tidal__unit *u);
void tidal__runq_push_locked(struct tidal__actor *act, const struct tidal__runq_chain *c);
void tidal__runq_remove_actor(struct tidal__actor *act);
void tidal__runq_wake_one_locked(tidal_runtime *rt);
uint32_t tidal__runq_take_locked(tidal_runtime *rt, struct tidal__unit **units, uint32_t max);

/* ---- run.c ---- */
/* Bursts an rx callback runs of the unit it claimed (pool.c, "inline runs"). */
#define TIDAL__INLINE_BURSTS 4u
/* Units of one owner a worker runs as one batch, at most. */
#define TIDAL__RUN_BATCH_MAX 16u
void tidal__run_units(tidal_runtime *rt, struct tidal__unit **units, uint32_t n);
void tidal__run_unit_inline(tidal_runtime *rt, struct tidal__unit *u);
void tidal__passivate(struct tidal__actor *act, struct tidal__unit *u, bool for_cap);

/* ---- rx.c ---- */
int tidal__rx_listen(struct tidal__actor *act, const char *url);
int tidal__rx_begin(struct tidal__actor *act);
void tidal__rx_stop(struct tidal__actor *act);
/* How long a receiving end settles before it closes (rx.c, Settling).  At
 * full speed 2-5 ms did (no hang in 1,560 closes under traffic of nng alone,
 * nor in 1,600 of test_close_traffic, both with new connections refused
 * too); under ThreadSanitizer, whose slowdown starves nng's threads, 5 ms
 * still hung in the first rounds and 50 ms passed.  With 50 ms and no
 * refusal: 800 closes of test_close_traffic, no hang.  Paid once per
 * runtime close and per stop of an ipc/tcp actor. */
#define TIDAL__RX_SETTLE_MS 50u
bool tidal__rx_settle(struct tidal__actor *act);
void tidal__rx_settle_wait(void);
void tidal__rx_frame(struct tidal__actor *act, nng_msg *msg, int tag, struct tidal__unit **claim);
/* ---- dupwin.c ---- */
bool tidal__dup_seen(struct tidal__actor *act, uint64_t uid, const tidal_envelope *e);
void tidal__dupwins_free(struct tidal__actor *act);
bool tidal__rx_should_pause_locked(struct tidal__actor *act);
/* listen.c: peer listeners and the attribution of frames to them */
int tidal__listen_notify(struct tidal__actor *act);
void tidal__resolve_url(nng_listener l, const char *url, char *out, size_t cap);
uint16_t tidal__via_of_pipe_locked(struct tidal__actor *act, nng_msg *msg);
int tidal__peer_entry_add(struct tidal__actor *act, nng_listener l, uint16_t tag);
void tidal__peer_entry_remove(struct tidal__actor *act, uint16_t tag);
int tidal__listen_peer_nng(struct tidal__actor *act, const char *url, uint16_t peer,
                           const tidal_tls_opts *tls, char *url_out);
/* link_pipes.c: a link socket's connections, and nng 1.5.2's ready list */
struct tidal__link_pipes;
int tidal__link_pipes_watch(struct tidal__link *l, nng_socket sock, struct tidal__link_pipes **out);
void tidal__link_pipes_free(struct tidal__link_pipes *w);
/* tls.c: TLS over tls+tcp:// with pinned identities */
bool tidal__is_tls(const char *url);
int tidal__tls_copy(struct tidal__tls *t, const tidal_tls_opts *o);
void tidal__tls_fini(struct tidal__tls *t);
int tidal__tls_listener(tidal_runtime *rt, nng_listener l, const struct tidal__tls *peer);
int tidal__tls_dialer(tidal_runtime *rt, nng_dialer d, const char *url, bool self);
void tidal__tls_free_all(tidal_runtime *rt);

/* ---- ask.c ---- */
int tidal__asks_init(tidal_runtime *rt);
int tidal__asks_fini(tidal_runtime *rt);
void tidal__ask_complete(tidal_runtime *rt, const tidal_envelope *e);

/* ---- vactor.c, vtab.c ---- */
/* Finds the unit for key; with create, activates it if it is absent or
 * evicting (an active place under the owner's cap first) and, when it
 * returns NULL, has counted the dead letter.  Caller holds act->lock. */
struct tidal__unit *tidal__vactor_get_locked(struct tidal__actor *act, const uint8_t *key,
                                             uint32_t key_len, bool create);
/* The table and its idle list (vtab.c); callers hold act->lock. */
struct tidal__unit *tidal__vtab_find_locked(struct tidal__actor *act, const uint8_t *key,
                                            uint32_t key_len);
struct tidal__unit *tidal__vtab_insert_locked(struct tidal__actor *act, const uint8_t *key,
                                              uint32_t key_len);
void tidal__vtab_evict_locked(struct tidal__actor *act, struct tidal__unit *u);
void tidal__vtab_unevict_locked(struct tidal__actor *act, struct tidal__unit *u);
/* u went IDLE with an empty mailbox / leaves the idle list (a no-op if it is
 * not on it). */
void tidal__vlru_push_locked(struct tidal__actor *act, struct tidal__unit *u);
void tidal__vlru_remove_locked(struct tidal__actor *act, struct tidal__unit *u);
int tidal__vactor_start_sweeper(struct tidal__actor *act);
void tidal__vactor_retire_locked(struct tidal__actor *act, struct tidal__unit *u);
/* Takes u out of its owner's table.  Caller holds act->lock. */
void tidal__vtab_unlink(struct tidal__actor *act, struct tidal__unit *u);
void tidal__vactor_retire_finish(struct tidal__actor *act, struct tidal__unit *u);
void tidal__vactor_free_all(struct tidal__actor *act);

/* ---- room.c (caller holds the lock that guards r) ---- */
/* A waiter is woken at once if room_now; else it waits in line.  `share`:
 * the envelopes of room a woken sender is presumed to take. */
int tidal__room_wait(struct tidal__room *r, tidal_runtime *rt, bool room_now, uint32_t share,
                     tidal__timer_fn fn, void *arg, void (*free_arg)(void *arg));
/* Wakes every waiter (the owner stops). */
void tidal__room_fire(struct tidal__room *r, tidal_runtime *rt);
/* Room was given back and the owner is at most half full, with free_n
 * envelopes of room: wakes as many waiters as that room takes, or every
 * one if the owner is empty. */
void tidal__room_give(struct tidal__room *r, tidal_runtime *rt, uint32_t free_n, uint32_t share,
                      bool empty);
/* n envelopes of room were taken: room promised to woken senders is paid. */
void tidal__room_taken(struct tidal__room *r, uint32_t n);
void tidal__room_fini(struct tidal__room *r);

/* ---- timer.c ---- */
int tidal__timers_start(tidal_runtime *rt);
void tidal__timers_stop(tidal_runtime *rt);
void tidal__timers_free(tidal_runtime *rt);
int tidal__timer_add(tidal_runtime *rt, uint32_t delay_ms, tidal__timer_fn fn, void *arg,
                     void (*free_arg)(void *arg));
bool tidal__timers_next_due(tidal_runtime *rt, uint64_t *due_ms);
void tidal__timers_fire_due(tidal_runtime *rt, uint64_t now_ms);

/* ---- fault.c ---- */
int tidal__fault_init(tidal_runtime *rt, uint32_t trace_max);
void tidal__fault_fini(tidal_runtime *rt);
bool tidal__fault_active(tidal_runtime *rt);
int tidal__fault_route(tidal_runtime *rt, struct tidal__cork *cork, struct tidal__link *l,
                       struct tidal__actor *local, const char *from_full, const char *to_full,
                       const tidal_envelope *e, uint32_t timeout_ms);

#endif /* TIDAL_RUNTIME_INTERNAL_H */
