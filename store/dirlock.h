/*
 * A region directory's lock: one open region per directory, in any
 * process.  Two regions writing one directory - two processes, or two
 * clusters of one process - would interleave their logs and manifests and
 * ruin both; the second open is refused instead.
 *
 * The lock is an flock(2) on <dir>/LOCK, taken exclusively and without
 * waiting.  flock belongs to the open file, so a second open in the same
 * process conflicts as one in another process does, and the kernel drops
 * it when the holder's process dies: a crashed process leaves no stale lock
 * behind (the file stays; only the flock on it counts).
 */
#ifndef TIDAL_STORE_DIRLOCK_H
#define TIDAL_STORE_DIRLOCK_H

/* Makes dir if it is missing (0700) and locks it: *fd then holds the lock
 * until tidal_dirlock_release.  TIDAL_EBUSY if another open file holds it
 * (another region, here or in another process), TIDAL_EIO if dir cannot be
 * made or the file opened or locked; *fd is -1 then, and the operator log
 * says which. */
__attribute__((warn_unused_result)) int tidal_dirlock_take(const char *dir, int *fd);

/* Drops the lock (closes fd).  Accepts -1.  Cannot fail. */
void tidal_dirlock_release(int fd);

#endif /* TIDAL_STORE_DIRLOCK_H */
