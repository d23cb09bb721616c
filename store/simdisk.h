/*
 * A simulated disk behind the WAL's file-system seam (wal_io.h), for a
 * deterministic simulation (include/tidal/sim.h, "The disk").
 *
 * The files stay real: every call is made on them as the default seam
 * makes it, so a reopened log recovers with the ordinary code.  What the
 * disk adds is memory of what a power loss could still take back:
 *   - per file (an inode, whatever its names), every change since its last
 *     successful fdatasync or fsync: a write (its offset, length, the size
 *     before and the bytes it overwrote) or a truncation (the size before
 *     and the bytes it cut);
 *   - per directory, every change to its names since its last fsync: a
 *     create, a rename (the name it replaced kept under a hidden link,
 *     ".simdisk-N"), an unlink (the file kept under such a link).
 * A sync forgets what it made durable; it does not reach the real disk
 * (in a simulation durability is what this disk remembers; the real files
 * only have to outlive the process, and skipping the real syncs makes a
 * simulated SYNC region as fast as an ephemeral one).
 *
 * The crash rule (tidal__simdisk_crash), for each file with changes, from
 * the simulation's draws: it keeps everything synced and, of the changes
 * since, either none, all, a prefix, or a prefix and then a torn write -
 * the next write cut at an arbitrary byte, the rest of its 512-byte sector
 * (only where it had extended the file: never over bytes that were there
 * before it) left as it was, zeroed or filled with garbage.  The rest is
 * reverted: appended bytes cut, overwritten ones put back.  Then for each
 * directory, none, all or a prefix of its name changes is kept and the rest
 * undone, in reverse (a create removed, a rename moved back and the name
 * it replaced restored, an unlinked file linked again).  So changes reach
 * the disk in the order they were made, within a file and within a
 * directory; between files, independently.  A real disk may keep any
 * subset of a file's unsynced pages; this model is the subset that a
 * log's torn tail and lost suffix come from.  Bytes and names made durable
 * by a sync are never touched.
 *
 * Not behind it: directories made by mkdir (durable at once; the WAL
 * fsyncs their parents under SYNC and INTERVAL), and reads.
 *
 * States: up; cut (tidal__simdisk_cut: after a number of changes the power
 * is gone while the writer runs - every change fails with EIO and does
 * nothing, as a dying disk's would, so nothing after the cut is taken as
 * durable); dead (tidal__simdisk_freeze, the crash instant: what the dying
 * process still does reaches no disk - changes report success and do
 * nothing - until the crash is resolved).
 *
 * Thread safety: one lock serialises every call (the seam's rule).
 */
#ifndef TIDAL_STORE_SIMDISK_H
#define TIDAL_STORE_SIMDISK_H

#include <stdbool.h>
#include <stdint.h>

#include "store/wal_io.h"

typedef struct tidal__simdisk tidal__simdisk;

/* What one crash took back. */
typedef struct tidal__simdisk_report {
    uint64_t files;        /* files that had changes since their last sync */
    uint64_t changes_lost; /* writes and truncations reverted whole */
    uint64_t writes_torn;  /* writes kept in part */
    uint64_t bytes_lost;   /* bytes of reverted and torn writes not kept */
    uint64_t entries_lost; /* creates, renames and unlinks undone */
} tidal__simdisk_report;

/* A new disk, up, remembering nothing.  TIDAL_ENOMEM. */
int tidal__simdisk_new(tidal__simdisk **out) __attribute__((warn_unused_result));

/* The seam that goes through d (valid until d is freed).  Cannot fail. */
const tidal_wal_io *tidal__simdisk_io(tidal__simdisk *d);

/* After ops more changes (0: at the next), every change fails with EIO and
 * does nothing, until the crash.  Cannot fail. */
void tidal__simdisk_cut(tidal__simdisk *d, uint64_t ops);

/* True once a cut has been reached.  Cannot fail. */
bool tidal__simdisk_is_cut(tidal__simdisk *d);

/* The crash instant: from now on changes report success and do nothing.
 * Cannot fail. */
void tidal__simdisk_freeze(tidal__simdisk *d);

/* Resolves the crash, after every log on d is closed: for each file and
 * directory with changes since its sync, draws (draw(arg), one word at a
 * time) what the disk kept and reverts the rest in the files, by the rule
 * above; calls line(arg, text) once per file or directory with its choice,
 * in the order d first saw them; adds the totals to *rep.  Then d
 * remembers nothing and is up again.  Cannot fail: a revert that fails
 * (the real disk refused it) is said in the line. */
void tidal__simdisk_crash(tidal__simdisk *d, uint64_t (*draw)(void *arg),
                          void (*line)(void *arg, const char *text), void *arg,
                          tidal__simdisk_report *rep);

/* Frees d without a crash (a clean close: nothing is lost - the hidden
 * links go, every change stays).  Files still open through d stay open.
 * Accepts NULL. */
void tidal__simdisk_free(tidal__simdisk *d);

#endif /* TIDAL_STORE_SIMDISK_H */
