/*
 * Deterministic simulation: runtimes whose actors, timers and links all run
 * on the caller's one thread under a simulated clock.
 *
 * A runtime opened with tidal_runtime_opts.sim starts no thread.  Its
 * handlers, its timers (delayed sends, fault delays, the virtual actors'
 * idle sweep) and the carrying of its frames are driven by the simulation,
 * one event at a time, when the thread that owns the simulation asks:
 * tidal_sim_run_until, tidal_sim_run_for, or a blocking call (tidal_ask, a
 * send that waits for room) which runs the simulation until it can return.
 * Frames go through the same framing, fault rules, strict decoding and
 * mailboxes as over nng; only the carrying of bytes between sockets is
 * simulated, with a travel time drawn from the seed and each link kept in
 * order (as an nng connection is).
 *
 * Same seed, same run: the seed decides every travel time, every runtime
 * uid and every random id drawn while the simulation is open, and
 * simulated time moves only from event to event, so a program that drives
 * a simulation the same way gets the same events in the same order, the
 * same fault trace and the same state on any machine.
 *
 * Rules:
 *  - One simulation is open in a process at a time (the random source is
 *    the process's); it is driven from the thread that opened it, and its
 *    runtimes are used from that thread only.
 *  - Its URLs use the sim:// scheme ("sim://node-a"); a runtime with no url
 *    gets a unique one.  Nothing else is reachable from inside.
 *  - A frame sent to a URL where nothing listens is lost (counted as a dead
 *    letter of its link), as if the connection had failed.
 *  - Close every runtime of a simulation before the simulation.
 *
 * Regions: a cluster opened with tidal_cluster_opts.sim runs its regions'
 * runtimes here - their region, session, shipper and reconciler actors,
 * peer listeners included - and their blocking calls (writes,
 * tidal_region_wait_applied) run the simulation until they return.  A
 * region with a directory runs under any policy: its WALs start no sync
 * thread, their group commit, INTERVAL syncs and retries are timers of its
 * runtime (store/wal.h, tidal_wal_driver), and a write's wait for its sync
 * runs the simulation.  The files are real (written on the simulation's
 * thread, which takes no simulated time; with the simulated disk below,
 * a sync is the disk's, not the real one's).
 *
 * The disk: unless tidal_sim_opts.real_disk is set, each region with a
 * directory writes its logs through a simulated disk (store/simdisk.h),
 * which keeps the files real but remembers, per file, what was written
 * since that file's last successful sync, and per directory which names
 * were created, renamed or unlinked since its last fsync.  While the region
 * runs, nothing differs.  tidal_region_crash is then a power loss: from
 * that instant nothing the region does reaches the disk, and of each file's
 * unsynced changes the disk keeps, as drawn from the seed, none, all, a
 * prefix, or a prefix and a torn write (cut at an arbitrary byte, the rest
 * of its 512-byte sector left, zeroed or garbage where the write had
 * extended the file); of each directory's unsynced name changes, none, all
 * or a prefix.  The rest is reverted in the files; what a sync made durable
 * is never touched.  The reopened region recovers from what is left with
 * the ordinary code (a torn tail is cut).  A clean close loses nothing.
 * tidal_region_sim_disk_cut (tidal/region.h) makes the power fail in the
 * middle of the region's own disk work.  Each crash adds a line per file
 * or directory it touched to the disk trace (tidal_sim_disk_trace) and to
 * the counters below: one seed, one trace.  Not behind the simulated disk:
 * directories made at open (durable at once) and the region's peers file
 * (written whole).  With real_disk set, files are written whole and a
 * crash loses only what was never written.
 */
#ifndef TIDAL_SIM_H
#define TIDAL_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/errors.h"
#include "tidal/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tidal_sim tidal_sim;

typedef struct tidal_sim_opts {
    uint64_t seed;           /* decides travel times, runtime uids, random ids; 0 is valid */
    uint32_t latency_min_us; /* a frame's travel time is drawn uniformly from
                                [min, max]; 0 = 50 */
    uint32_t latency_max_us; /* 0 = 500; must be >= latency_min_us and <= 10 s */
    uint64_t start_wall_ns;  /* the wall clock (ns since the epoch) at simulated time
                                0, which every runtime of the simulation reads unless
                                given its own wall_clock; 0 = 2026-01-01T00:00:00Z */
    bool real_disk;          /* false = regions with a directory write through the
                                simulated disk ("The disk" above); true = their files
                                are written whole, and a crash keeps every write */
} tidal_sim_opts;

/* Opens a simulation at simulated time 0 and seeds the process's random
 * source from opts.seed.  TIDAL_EBUSY if one is open already; TIDAL_EINVAL
 * for bad options.  On error nothing is changed. */
TIDAL_API int tidal_sim_open(const tidal_sim_opts *opts, tidal_sim **out) TIDAL_WARN_UNUSED;

/* Frees the simulation and gives the process back its kernel random source.
 * TIDAL_EBUSY (and nothing is freed) while a runtime of it is open.
 * Accepts NULL (returns 0). */
TIDAL_API int tidal_sim_close(tidal_sim *s);

/* Simulated nanoseconds since the simulation opened.  Cannot fail. */
TIDAL_API uint64_t tidal_sim_now_ns(const tidal_sim *s);

/* The simulated wall clock (start_wall_ns + tidal_sim_now_ns).  Cannot fail. */
TIDAL_API uint64_t tidal_sim_wall_ns(const tidal_sim *s);

/* Runs events in order until done(arg) returns true (checked before each
 * event), or until simulated time would pass deadline_ns (then simulated
 * time is deadline_ns).  Returns 0 when done, TIDAL_ETIMEDOUT at the
 * deadline - at once if nothing is left to run and done is still false
 * (nothing could ever change it): the clock jumps to the deadline.  done may
 * be NULL (run to the deadline).  Never call it from a handler. */
TIDAL_API int tidal_sim_run_until(tidal_sim *s, bool (*done)(void *arg), void *arg,
                                  uint64_t deadline_ns) TIDAL_WARN_UNUSED;

/* Runs every event due within the next ns simulated nanoseconds; simulated
 * time is then now + ns.  Cannot fail. */
TIDAL_API void tidal_sim_run_for(tidal_sim *s, uint64_t ns);

/* Sends len bytes (copied) to url as one frame from outside the
 * simulation - a peer that is no runtime, such as a hostile client: they
 * arrive after a travel time drawn from the seed and go through the same
 * strict frame check and decoding as any frame, attributed to whichever
 * listener url is (an actor's own url: its public listener).  So garbage is
 * rejected and counted in tidal_stats.rejected, as over a socket; over
 * TIDAL_FRAME_BYTES_MAX it is rejected as TIDAL-FRAME-TOOBIG.  Lost, as any
 * frame, if nothing listens at url when it arrives.  Call it from the
 * simulation's thread.  Returns 0 (the bytes are on their way),
 * TIDAL_EINVAL (NULL s or url, NULL bytes with len > 0, another thread),
 * TIDAL_EADDR (not a sim:// url, or one over TIDAL_URL_BYTES_MAX - 1
 * bytes), TIDAL_ENOMEM, or TIDAL_ELIMIT (TIDAL_SIM_FRAMES_MAX frames on
 * their way); on error nothing is sent. */
TIDAL_API int tidal_sim_inject(tidal_sim *s, const char *url, const void *bytes,
                               size_t len) TIDAL_WARN_UNUSED;

/* The simulation rt runs in, NULL for a runtime on real threads.  Cannot
 * fail. */
struct tidal_runtime;
TIDAL_API tidal_sim *tidal_runtime_sim(const struct tidal_runtime *rt);

typedef struct tidal_sim_stats {
    uint64_t now_ns;      /* simulated time */
    uint64_t events;      /* events run: unit runs, timers, frame deliveries */
    uint64_t unit_runs;   /* bursts of handler calls */
    uint64_t timers;      /* timer callbacks */
    uint64_t frames;      /* frames delivered */
    uint64_t frames_lost; /* frames that found no listener */
    uint32_t runtimes;    /* open runtimes of the simulation */
    /* The simulated disk's crashes ("The disk"): */
    uint64_t disk_crashes;       /* regions crashed with a simulated disk */
    uint64_t disk_files_hit;     /* files they left with changes since a sync */
    uint64_t disk_changes_lost;  /* writes and truncations reverted whole */
    uint64_t disk_writes_torn;   /* writes kept in part */
    uint64_t disk_bytes_lost;    /* bytes written and not kept */
    uint64_t disk_names_lost;    /* creates, renames and unlinks undone */
    uint64_t disk_trace_hash;    /* a hash of every line of the disk trace */
    uint64_t disk_trace_dropped; /* lines past TIDAL_SIM_DISK_TRACE_BYTES, hashed only */
} tidal_sim_stats;

/* Copies the simulation's counters.  Cannot fail. */
TIDAL_API void tidal_sim_stats_get(const tidal_sim *s, tidal_sim_stats *out);

/* Copies the disk trace - one line per file or directory a crash touched,
 * "<simulated s> s: region <id> crash: <file>: <what was kept>" - into out
 * (NUL-terminated, cut to cap - 1 bytes; out may be NULL with cap 0) and
 * returns its whole length.  The same seed driven the same way gives the
 * same text.  Cannot fail. */
TIDAL_API size_t tidal_sim_disk_trace(const tidal_sim *s, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_SIM_H */
