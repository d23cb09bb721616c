/*
 * The scenario matrix: fault scenarios run against a cluster - on real
 * threads over inproc:// or ipc://, or in a deterministic simulation
 * (sim://, include/tidal/sim.h) - each checked by checkers that compute what
 * must hold from a model the scenario recorded itself, never from the code
 * under test.  Shared by tests/test_check.c and `tidal check`
 * (tools/check.c); docs/scenarios.md describes each scenario and checker.
 *
 * A scenario is a function of (seed, transport, a temporary directory,
 * quick): it opens a cluster, starts one writer thread per region (signals
 * in sessions, hides and unhides), applies faults at points of the writers'
 * progress chosen from the seed, heals, waits for convergence with a
 * deadline, and runs the checkers.  Everything it decides comes from the
 * seed through sc_rand, and its actions are written to an event log.
 *
 * With real threads only the invariants are checked, not reproducibility.
 * In a simulation (SC_SIM) there are no writer threads: the scenario's
 * thread interleaves the writers' steps in an order drawn from the seed,
 * every clock reads the simulated one, and waits run the simulation up to a
 * simulated deadline, so the same seed gives the same fault trace, the same
 * final digests and the same simulated end time on any machine
 * (sc_run_same compares two runs).
 *
 * The model.  Every write a writer makes is recorded with its outcome:
 * acknowledged (the call returned 0) or unknown (it returned an error: it
 * may or may not have taken effect, as a timed-out request in Maelstrom).
 * Checkers require every acknowledged write and allow any subset of the
 * unknown ones.
 *
 * Uses the public API (include/tidal/) only.  Not thread-safe across runs:
 * one sc_run per thread.
 */
#ifndef TIDAL_TESTS_SCENARIOS_SCENARIO_H
#define TIDAL_TESTS_SCENARIOS_SCENARIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/region.h"
#include "tidal/sim.h"

#define SC_REGIONS_MAX 4   /* regions one scenario opens (3 unless it needs more) */
#define SC_WRITERS_MAX 4   /* writer threads, at most one per region */
#define SC_SESSIONS_MAX 8  /* sessions per writer */
#define SC_ITEMS 8         /* items the counters use: SC_ITEM_BASE .. + SC_ITEMS - 1 */
#define SC_ITEM_BASE 100u
#define SC_USERS 4         /* users the hard negatives use */
#define SC_HN_ITEMS 6      /* items per user the hard negatives use */
#define SC_CHECKS_MAX 24   /* checker verdicts one run keeps */
#define SC_EVENTS_MAX 256  /* scenario events (faults set, heals, crashes) kept */
#define SC_REASON_BYTES 200

typedef enum sc_transport { SC_INPROC = 0, SC_IPC = 1, SC_SIM = 2 } sc_transport;

/* "inproc", "ipc" or "sim". */
const char *sc_transport_name(sc_transport t);

/* ---- the model ---------------------------------------------------------- */

typedef enum sc_outcome { SC_ACKED = 0, SC_UNKNOWN = 1 } sc_outcome;

typedef struct sc_signal {
    uint64_t ts_ns;     /* unique within its session: the signal's identity */
    tidal_entity_id item;
    uint8_t type;       /* 0 = "view", 1 = "like" */
    uint8_t outcome;    /* sc_outcome */
} sc_signal;

typedef struct sc_session {
    tidal_session_id sid;
    sc_signal *sig; /* in write order */
    size_t n, cap;
    uint64_t last_ts;
} sc_session;

typedef struct sc_hn_op {
    tidal_entity_id user, item;
    tidal_hlc ts;
    bool hide;
    uint8_t outcome;
} sc_hn_op;

/* One writer's record: only its own thread writes it while it runs. */
typedef struct sc_model {
    sc_session sess[SC_SESSIONS_MAX];
    int nsess;
    sc_hn_op *hn;
    size_t nhn, caphn;
    uint64_t acked_writes, unknown_writes;
    int last_error; /* the last error a write returned (0: none) */
} sc_model;

/* ---- a run --------------------------------------------------------------- */

typedef struct sc_check {
    char name[24];
    bool pass;
    char reason[SC_REASON_BYTES];
} sc_check;

typedef struct sc_event {
    char what[64];
    uint64_t trace_at[SC_REGIONS_MAX]; /* each region's trace total when it happened */
} sc_event;

/* A trace entry kept for the chart, with the region whose runtime decided it. */
typedef struct sc_fault {
    tidal_trace_entry e;
    uint8_t region;
    uint64_t index; /* its index in that runtime's trace (tidal_trace_total order) */
} sc_fault;

typedef struct sc_run sc_run;

typedef struct sc_writer {
    sc_run *run;
    int id;
    int region;           /* the region it writes at */
    uint64_t rng;
    uint64_t ops;         /* operations to make */
    volatile uint64_t done; /* made so far (read by the schedule) */
    int hn_mode;          /* 0 = stamps from its clock, 1 = racing stamps, 2 = limits */
    int sessions;         /* sessions it starts and writes */
    bool roam;            /* writes at a region chosen per op (single-home rule) */
    bool past_ts;         /* signals stamped up to 8 days back (window rollover) */
    int hn_percent;       /* share of hides and unhides in its writes; 0 = 25 */
    int session_tries;    /* session starts tried (at most 100) */
    atomic_int stop;      /* stop this writer alone (its region goes down) */
    sc_model m;
    pthread_t thread;
    bool started;
} sc_writer;

typedef struct sc_clock {
    sc_run *run;
    int64_t offset_ns; /* fixed offset from the system clock (in a simulation,
                          from the simulated wall clock) */
    int64_t jump_ns;   /* added every other jump_period_ns of real (simulated) time */
    uint64_t jump_period_ns;
    uint64_t fixed_ns; /* non-zero: a clock that reads this (window rollover) */
} sc_clock;

struct sc_run {
    uint64_t seed;
    sc_transport transport;
    const char *tmpdir;
    bool quick;
    const char *scenario;
    uint64_t rng; /* the scenario's own choices */
    tidal_cluster *c;
    tidal_region *r[SC_REGIONS_MAX];
    tidal_region_opts ropts[SC_REGIONS_MAX];
    sc_clock clk[SC_REGIONS_MAX];
    char dirs[SC_REGIONS_MAX][160];
    int n;
    sc_writer w[SC_WRITERS_MAX];
    int nw;
    atomic_int stop_writers; /* read by the writer threads */
    /* The schedule's gate: writers make no more than gate_permille / 1000 of
     * their operations until sc_progress raises it, so every fault is set
     * at the same point of every writer's stream whatever the threads'
     * speed (and a simulation can run the same steps).  1000 = open. */
    uint32_t gate_permille;
    sc_check checks[SC_CHECKS_MAX];
    int nchecks;
    sc_event events[SC_EVENTS_MAX];
    int nevents;
    sc_fault *faults;
    size_t nfaults, capfaults;
    uint64_t trace_base[SC_REGIONS_MAX]; /* faults already collected per region */
    uint64_t max_ts_ns;                  /* latest stamp written (window reads wait past it) */
    uint64_t hn_base_ns;                 /* racing hide stamps start here (in the past) */
    pthread_mutex_t lock;                /* max_ts_ns, the clocks' readers */
    /* SC_SIM only: the simulation (open from before the scenario starts until
     * after its cluster closed), the stream that orders the writers' steps,
     * and what a second run of the seed must reproduce. */
    tidal_sim *sim;
    uint64_t sched_rng;
    uint64_t sim_end_ns;                 /* simulated time when the scenario returned */
    uint64_t digest[SC_REGIONS_MAX];     /* each open region's digest then (0: closed) */
    uint64_t trace_total[SC_REGIONS_MAX]; /* fault trace entries per region */
    uint64_t trace_hash;                 /* FNV-1a of every collected trace entry */
    tidal_sim_stats sim_stats;           /* the simulation's counters at the end */
};

/* A scenario: builds, drives and checks one run.  Returns 0, or a TIDAL_E*
 * code when it could not run at all (a region that would not open); a
 * violated invariant is a failed check, not an error. */
typedef int (*sc_fn)(sc_run *run);

typedef struct sc_scenario {
    const char *name;
    const char *summary;
    sc_fn fn;
} sc_scenario;

/* The matrix, in order; *n gets how many.  Cannot fail. */
const sc_scenario *sc_scenarios(size_t *n);
/* The scenario called name, or NULL. */
const sc_scenario *sc_find(const char *name);

/* Runs one scenario: opens run (everything it keeps), runs it, closes the
 * cluster.  tmpdir must exist and be private (ipc sockets and data go
 * there).  Returns what the scenario returned; run keeps the verdicts and
 * the fault trace until sc_run_free. */
int sc_run_scenario(const sc_scenario *s, uint64_t seed, sc_transport t, const char *tmpdir,
                    bool quick, sc_run *run);
/* True when every check of the run passed (and there was at least one). */
bool sc_run_passed(const sc_run *run);
/* Two SC_SIM runs of one seed: true when they reproduce each other (the same
 * verdicts, final digests, fault trace hash and counts, simulated end time
 * and simulation counters); why gets the first difference otherwise. */
bool sc_run_same(const sc_run *a, const sc_run *b, char *why, size_t len);
void sc_run_free(sc_run *run);

/* ---- for the scenario files (harness.c) ---------------------------------- */

uint64_t sc_rand(uint64_t *s);
uint64_t sc_below(uint64_t *s, uint64_t n); /* uniform in [0, n) */
double sc_unit(uint64_t *s);                /* uniform in [0, 1) */

/* Opens the cluster and regions 0 .. n-1 with run->ropts (set before;
 * region_id, clocks and directories are filled in).  durable: each region in
 * its directory under run->tmpdir. */
int sc_open(sc_run *run, int n, bool durable);
/* Reopens region id with its options (after a crash or close). */
int sc_reopen(sc_run *run, int id);
/* Crashes (crash true) or closes region id, collecting its trace first. */
int sc_down(sc_run *run, int id, bool crash);
/* Region id's clock now (ns). */
uint64_t sc_clock_now(sc_run *run, int id);

/* Writers: one per region in 0 .. n-1 (ops each), not started. */
void sc_writers(sc_run *run, int n, uint64_t ops, int sessions);
/* Starts the writers (each starts its sessions, then writes); in a
 * simulation it only marks them started: sc_progress and the joins run
 * their steps. */
int sc_writers_start(sc_run *run);
/* Lets the writers run up to fraction of their ops and waits until every
 * running writer got there (or stopped), up to a deadline; false if the
 * deadline passed.  Writers start held at 0: the first call lets them go.
 * In a simulation this thread makes the writers' steps itself, one writer's
 * next step at a time in an order drawn from the seed, with a seeded bit of
 * simulated time between steps. */
bool sc_progress(sc_run *run, double fraction);
void sc_writers_join(sc_run *run);
void sc_writer_join(sc_writer *w);

/* Writes one signal / hide / unhide through writer w at region id,
 * recording the outcome.  Used by writers and by scenarios that write on
 * their own thread. */
void sc_write_signal(sc_writer *w, int id, int sess);
void sc_write_hn(sc_writer *w, int id);

/* Records a scenario event (a fault set, a heal, a crash) for the log and
 * the chart. */
void sc_event_note(sc_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fault rule helpers that note the event; errors are checks of their own. */
void sc_fault_pair(sc_run *run, int a, int b, const tidal_fault_rule *rule, bool both_ways,
                   const char *what);
void sc_clear_pair(sc_run *run, int a, int b, bool both_ways);
/* Heals everything, asks every reconciler to run, and records it. */
void sc_heal(sc_run *run);

/* Records a verdict. */
void sc_verdict(sc_run *run, const char *name, bool pass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- checkers (checkers.c): each records one verdict -------------------- */

/* Waits (with a deadline) until every open region applied every other's log
 * and all digests are equal: verdict "converged". */
bool sc_check_converged(sc_run *run);
/* Every region's 7-day count of every (item, type) is the acknowledged
 * increments plus a subset of the unknown ones: verdict "counters". */
void sc_check_counters(sc_run *run);
/* Every acknowledged signal is in every region, once; nothing else is but
 * unknown ones; seqnos are 1..n: verdict "signals". */
void sc_check_signals(sc_run *run);
/* Every (user, item) is hidden or shown as some subset of the unknown
 * operations with every acknowledged one makes it: verdict "hardneg". */
void sc_check_hardneg(sc_run *run);
/* All of the above, after healing: what most scenarios end with. */
void sc_check_all(sc_run *run);

/* The checkers' cores, on a model and one region: for tests that forge a
 * model.  Return true when it holds; reason gets why not. */
bool sc_signals_hold(tidal_region *r, const sc_model *m, char *reason, size_t len);
bool sc_counters_hold(tidal_region *r, const sc_model *const *ms, int nm, tidal_window w,
                      uint64_t now_ns, char *reason, size_t len);
bool sc_hardneg_hold(tidal_region *r, const sc_model *const *ms, int nm, char *reason,
                     size_t len);

/* Model recording (model.c). */
int sc_model_signal(sc_model *m, int sess, uint64_t ts, tidal_entity_id item, int type,
                    sc_outcome o);
int sc_model_hn(sc_model *m, const sc_hn_op *op);
void sc_model_free(sc_model *m);

/* ---- the chart (chart.c) -------------------------------------------------- */

/* Writes the run's fault trace as a standalone SVG message-sequence chart
 * to path: one lane per actor, an arrow per traced envelope, each fault kind
 * marked, the scenario's events as bands.  TIDAL_EIO if the file cannot be
 * written. */
int sc_chart_write(const sc_run *run, const char *path);

#endif /* TIDAL_TESTS_SCENARIOS_SCENARIO_H */
