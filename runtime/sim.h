/*
 * The simulator's state (sim.c, the loop and the clock; sim_net.c, the
 * network), shared by those two files only.
 *
 * Everything here is touched by the simulation's one thread (owner): no
 * lock.  Events are of three kinds, run one at a time in a total order that
 * depends only on what ran before:
 *   1. a unit on a runtime's run queue (runtimes in turn, in the order they
 *      opened), before simulated time moves;
 *   2. else the earliest of: a runtime's due timer (timer.c's heap, ms) and
 *      a network event (the heap below, ns: a frame arriving, or an actor's
 *      held frames resuming), ties broken by (kind, runtime order, sequence
 *      number).
 */
#ifndef TIDAL_RUNTIME_SIM_H
#define TIDAL_RUNTIME_SIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/internal.h"
#include "tidal/sim.h"

enum sim_ev_kind { SIM_EV_FRAME = 0, SIM_EV_RESUME = 1 };

struct sim_ev {
    uint64_t due_ns;
    uint64_t seq;
    nng_msg *msg;      /* FRAME: the frame, owned by the event */
    struct sim_reg *reg; /* RESUME: the registration to resume */
    uint8_t kind;
    char url[TIDAL_URL_BYTES_MAX]; /* FRAME: where it goes, looked up on arrival */
};

/* A listening actor: frames for url go to act, attributed to tag. */
struct sim_reg {
    struct sim_reg *next; /* hash chain */
    struct sim_reg *sib;  /* the actor's next registration: its own url first,
                             then its peer listeners' */
    uint64_t hash;
    char url[TIDAL_URL_BYTES_MAX];
    struct tidal__actor *act; /* referenced while registered */
    uint16_t tag;
    bool begun;               /* rx_begin ran: frames are handed over */
    bool resume_queued;       /* a RESUME event is on its way */
    uint32_t refs;            /* the table's, plus RESUME events pointing here */
    nng_msg **held;           /* frames that arrived while paused: a FIFO */
    uint32_t held_head, held_n, held_cap;
};

struct tidal_sim {
    pthread_t owner;
    uint64_t seed;
    uint64_t rng_n;       /* draws so far (travel times) */
    uint64_t now_ns;
    uint64_t start_wall_ns;
    uint32_t lat_min_us, lat_max_us;
    bool running;         /* inside an event: waits may not run the loop again */

    tidal_runtime *rts[TIDAL_SIM_RUNTIMES_MAX];
    uint32_t nrt;
    uint32_t rr;          /* round robin over run queues */

    struct sim_ev *heap;  /* network events, a min-heap by (due_ns, seq) */
    uint32_t len, cap;
    uint64_t next_seq;

    struct sim_reg **regs; /* listening URLs (sim_net.c) */
    uint32_t regs_cap, regs_n;

    bool real_disk;       /* tidal_sim_opts.real_disk (sim_disk.c) */
    uint64_t disk_n;      /* the disk's draws so far */
    char *disk_trace;     /* its crash lines, up to TIDAL_SIM_DISK_TRACE_BYTES */
    size_t disk_trace_len;

    tidal_sim_stats st;
};

/* sim_net.c */
void tidal__sim_run_net_event(struct tidal_sim *s);
void tidal__sim_net_fini(struct tidal_sim *s);

/* sim_disk.c: frees the disk's trace.  Cannot fail. */
void tidal__sim_disk_fini(struct tidal_sim *s);

#endif /* TIDAL_RUNTIME_SIM_H */
