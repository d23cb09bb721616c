/*
 * The peers file: the regions a region with a directory was ever made a
 * peer of, kept in <dir>/peers, so that a salvaged region knows whom to
 * learn from (learn.c) in a process where those peers have not been opened
 * yet - a peer that never wrote leaves no copy of its log to name it.
 *
 *   offset size  field
 *   0      4     magic "TDLP"
 *   4      1     version (1)
 *   5      3     reserved, zero
 *   8      4     mask: bit p = region p was a peer (little endian)
 *   12     4     CRC-32C of bytes 0..11
 *
 * Valid if and only if the file is exactly 16 bytes, the magic and version
 * are those, the reserved bytes are zero, the CRC matches and the mask has
 * no bit at or above TIDAL_REGIONS_MAX.  A missing file is an empty mask (a
 * directory from before the file existed, or a region never introduced).
 * An invalid file refuses the open with TIDAL_ECORRUPT naming it - unless
 * the region is opened with opts.salvage: then every other region id is
 * taken as a peer to learn from (the safe side: a salvaged region then
 * waits for every peer, or for salvage_wait_ms).
 *
 * The mask only grows.  It is written as a new file, synced, renamed over
 * the old one and the directory synced (0600), so a crash leaves the old
 * mask or the new one, never a torn one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actors/internal.h"
#include "base/log.h"
#include "store/crc32c.h"
#include "store/le.h"

#define PEERFILE_BYTES 16u
#define PEERFILE_VERSION 1u

static void
path_of(const tidal_region *r, char *out, size_t cap, const char *suffix)
{
    snprintf(out, cap, "%s/peers%s", r->dir, suffix);
}

/* Reads the mask of r's peers file into r->peers_ever.  0 (an empty mask if
 * there is no file), or TIDAL_ECORRUPT / TIDAL_EIO after logging which file
 * and why; under opts.salvage an invalid file gives every other region
 * instead. */
int
tidal__peerfile_load(tidal_region *r)
{
    char path[300];
    path_of(r, path, sizeof(path), "");
    r->peers_ever = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? 0 : TIDAL_EIO;
    }
    uint8_t b[PEERFILE_BYTES + 1];
    ssize_t n = read(fd, b, sizeof(b));
    close(fd);
    const char *why = n != (ssize_t)PEERFILE_BYTES                 ? "not 16 bytes"
                      : memcmp(b, "TDLP", 4) != 0                  ? "bad magic"
                      : b[4] != PEERFILE_VERSION                   ? "unknown version"
                      : (b[5] | b[6] | b[7]) != 0                  ? "reserved bytes set"
                      : tidal_crc32c(0, b, 12) != get32(b + 12)    ? "CRC mismatch"
                      : (get32(b + 8) >> TIDAL_REGIONS_MAX) != 0   ? "region id out of range"
                                                                   : NULL;
    if (why == NULL) {
        r->peers_ever = get32(b + 8);
        return 0;
    }
    if (!r->opts.salvage) {
        tidal__log(TIDAL_EVENT_LOG_REFUSED, 1,
                   "region %u: %s: %s (opts.salvage opens it, waiting for every region)",
                   r->id, path, why);
        return TIDAL_ECORRUPT;
    }
    r->peers_ever = ((1u << TIDAL_REGIONS_MAX) - 1) & ~(1u << r->id);
    tidal__log(TIDAL_EVENT_LOG_SALVAGED, 1,
               "region %u: %s: %s; every other region is taken as a peer to learn from", r->id,
               path, why);
    return 0;
}

static int
write_all(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return TIDAL_EIO;
    }
    bool ok = write(fd, b, n) == (ssize_t)n && fsync(fd) == 0;
    return close(fd) == 0 && ok ? 0 : TIDAL_EIO;
}

/* Adds the peers in mask to r's peers file if any is new.  An ephemeral
 * region has none.  On error the file keeps its old mask, and the failure
 * goes to the operator log: a salvage of r could then miss those peers. */
void
tidal__peerfile_add(tidal_region *r, uint32_t mask)
{
    mask &= ~(1u << r->id);
    if (r->opts.dir == NULL || (r->peers_ever | mask) == r->peers_ever) {
        return;
    }
    uint32_t next = r->peers_ever | mask;
    uint8_t b[PEERFILE_BYTES] = {'T', 'D', 'L', 'P', PEERFILE_VERSION, 0, 0, 0};
    put32(b + 8, next);
    put32(b + 12, tidal_crc32c(0, b, 12));
    char path[300], tmp[310];
    path_of(r, path, sizeof(path), "");
    path_of(r, tmp, sizeof(tmp), ".new");
    int rv = write_all(tmp, b, sizeof(b));
    if (rv == 0 && rename(tmp, path) != 0) {
        rv = TIDAL_EIO;
    }
    int dfd = rv == 0 ? open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rv == 0 && (dfd < 0 || fsync(dfd) != 0)) {
        rv = TIDAL_EIO;
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (rv != 0) {
        (void)unlink(tmp);
        tidal__log(TIDAL_EVENT_DISK_ERROR, 1,
                   "region %u: %s not written (%s): a salvage may not know all its peers",
                   r->id, path, strerror(errno));
        return;
    }
    r->peers_ever = next;
}
