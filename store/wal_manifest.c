/*
 * The manifest of a log: a small file beside its segments that says which
 * segments the log had, so that recovery can tell a log that lost a
 * segment, or the durable batches of one, from a log that is merely short
 * (wal_recover.c makes the decisions).  The segment files alone cannot say
 * it: with the oldest segment gone the log looks released, with the newest
 * gone or emptied it looks like it ended earlier, and either way the open
 * would succeed with acknowledged writes missing.
 *
 * On disk: <dir>/wal/shard-SSSS/rOOOO.manifest (O the origin, as in the
 * segment names), mode 0600, little-endian:
 *   | offset | size | field                                              |
 *   |--------|------|----------------------------------------------------|
 *   | 0      | 4    | magic "TDLM"                                       |
 *   | 4      | 2    | version, 1                                         |
 *   | 6      | 2    | flags, 0                                           |
 *   | 8      | 2    | origin (must be the file name's)                   |
 *   | 10     | 2    | shard (must be the directory's)                    |
 *   | 12     | 4    | n, holes that follow (at most TIDAL__WAL_HOLES_MAX)|
 *   | 16     | 8    | oldest: first LSN of the oldest segment kept       |
 *   | 24     | 8    | newest: first LSN of the newest segment            |
 *   | 32     | 8    | high: every LSN up to it was durable once          |
 *   | 40     | 16n  | holes: first LSN, last LSN, each lost by a salvage |
 *   | 40+16n | 4    | CRC32C of every byte before it                     |
 * and oldest <= newest <= high + 1; the holes sorted, apart, at or above
 * oldest and below newest.  The version is read before anything else, so
 * that a manifest of a later version is refused as one (TIDAL_EVERSION),
 * never as a corrupt file.
 *
 * When it is written (always whole: a temporary file, fdatasync, rename,
 * fsync of the directory; no sync under NONE, which syncs nothing):
 *   - at open, once recovery is done, if it says something new (the log's
 *     ends, holes; and the first time, for a log made before manifests);
 *   - after a roll-over, by the sync round that made the new segment's
 *     first batches durable, before it reports them durable (under NONE by
 *     the appender, after its write), so a batch is never acknowledged in a
 *     segment the manifest does not name;
 *   - by tidal_wal_release, before it removes a segment;
 *   - at a clean close (tidal_wal_close), with high = the durable LSN.
 * Never per batch: high lags the log's end by up to a segment, and what the
 * manifest catches is what it names - a missing oldest or newest segment,
 * a gap, and a newest segment that ends below high (emptied, or cut short
 * below what was durable at the last roll-over or clean close).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "store/crc32c.h"
#include "store/le.h"
#include "store/wal_state.h"

#define MAGIC "TDLM"
#define VERSION 1u
#define FIXED_BYTES 40u
#define HOLE_BYTES 16u
#define MAX_BYTES (FIXED_BYTES + HOLE_BYTES * TIDAL__WAL_HOLES_MAX + 4u)

void
tidal__wal_manifest_name(char *out, uint16_t origin)
{
    snprintf(out, TIDAL__WAL_MANIFEST_NAME_BYTES, "r%04x.manifest", (unsigned)origin);
}

bool
tidal__wal_manifest_parse(const char *name, uint16_t *origin)
{
    unsigned o = 0;

    if (strlen(name) != TIDAL__WAL_MANIFEST_NAME_BYTES - 1 || name[0] != 'r' ||
        strcmp(name + 5, ".manifest") != 0) {
        return false;
    }
    for (int i = 1; i < 5; i++) {
        char c = name[i];
        if (c >= '0' && c <= '9') {
            o = o << 4 | (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            o = o << 4 | (unsigned)(c - 'a' + 10);
        } else {
            return false;
        }
    }
    *origin = (uint16_t)o;
    return true;
}

/* Encodes m for w's log into buf (MAX_BYTES); returns the length. */
static size_t
encode(const tidal_wal *w, const struct tidal__wal_manifest *m, uint8_t *buf)
{
    size_t n = FIXED_BYTES + HOLE_BYTES * m->nholes;

    memcpy(buf, MAGIC, 4);
    put16(buf + 4, VERSION);
    put16(buf + 6, 0);
    put16(buf + 8, w->opts.origin);
    put16(buf + 10, w->opts.shard);
    put32(buf + 12, m->nholes);
    put64(buf + 16, m->oldest);
    put64(buf + 24, m->newest);
    put64(buf + 32, m->high);
    for (uint32_t i = 0; i < m->nholes; i++) {
        put64(buf + FIXED_BYTES + HOLE_BYTES * i, m->holes[i].first);
        put64(buf + FIXED_BYTES + HOLE_BYTES * i + 8, m->holes[i].last);
    }
    put32(buf + n, tidal_crc32c(0, buf, n));
    return n + 4;
}

/* Decodes len bytes into m; 0, TIDAL_EVERSION or TIDAL_ECORRUPT with why in
 * err. */
static int
decode(const tidal_wal *w, const uint8_t *buf, size_t len, struct tidal__wal_manifest *m, char *err,
       size_t cap)
{
    uint32_t n;

    if (len < 6 || memcmp(buf, MAGIC, 4) != 0) {
        snprintf(err, cap, "not a manifest (no magic)");
        return TIDAL_ECORRUPT;
    }
    if (get16(buf + 4) != VERSION) {
        snprintf(err, cap, "manifest version %u (this tidal reads version %u)", get16(buf + 4),
                 VERSION);
        return TIDAL_EVERSION;
    }
    n = len >= FIXED_BYTES ? get32(buf + 12) : 0;
    if (len < FIXED_BYTES + 4 || n > TIDAL__WAL_HOLES_MAX ||
        len != FIXED_BYTES + HOLE_BYTES * (size_t)n + 4) {
        snprintf(err, cap, "manifest of %zu bytes: cut short or too long", len);
        return TIDAL_ECORRUPT;
    }
    if (get32(buf + len - 4) != tidal_crc32c(0, buf, len - 4)) {
        snprintf(err, cap, "manifest checksum mismatch");
        return TIDAL_ECORRUPT;
    }
    if (get16(buf + 6) != 0 || get16(buf + 8) != w->opts.origin ||
        get16(buf + 10) != w->opts.shard) {
        snprintf(err, cap, "manifest of origin %u shard %u (flags %u), not this log's",
                 get16(buf + 8), get16(buf + 10), get16(buf + 6));
        return TIDAL_ECORRUPT;
    }
    memset(m, 0, sizeof(*m));
    m->oldest = get64(buf + 16);
    m->newest = get64(buf + 24);
    m->high = get64(buf + 32);
    m->nholes = n;
    bool ok = m->oldest >= 1 && m->oldest <= m->newest && m->newest - 1 <= m->high;
    for (uint32_t i = 0; i < n && ok; i++) {
        struct tidal__wal_hole *h = &m->holes[i];
        h->first = get64(buf + FIXED_BYTES + HOLE_BYTES * i);
        h->last = get64(buf + FIXED_BYTES + HOLE_BYTES * i + 8);
        ok = h->first >= m->oldest && h->first <= h->last && h->last < m->newest &&
             (i == 0 || h->first > m->holes[i - 1].last + 1);
    }
    if (!ok) {
        snprintf(err, cap, "manifest fields out of order");
        return TIDAL_ECORRUPT;
    }
    return 0;
}

int
tidal__wal_manifest_load(tidal_wal *w, struct tidal__wal_manifest *m, bool *found, char *err,
                         size_t cap)
{
    char name[TIDAL__WAL_MANIFEST_NAME_BYTES];
    uint8_t buf[MAX_BYTES + 1];
    size_t len = 0;
    int fd;

    *found = false;
    tidal__wal_manifest_name(name, w->opts.origin);
    fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        snprintf(err, cap, "open: %s", strerror(errno));
        return TIDAL_EIO;
    }
    while (len < sizeof(buf)) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(err, cap, "read: %s", strerror(errno));
            close(fd);
            return TIDAL_EIO;
        }
        if (r == 0) {
            break;
        }
        len += (size_t)r;
    }
    close(fd);
    *found = true;
    return decode(w, buf, len, m, err, cap);
}

/* Under man_lock: writes m whole under its name (see the top of the file).
 * 0 or TIDAL_EIO (errno says why); *syncs counts the syncs made. */
static int
write_file(tidal_wal *w, const struct tidal__wal_manifest *m, uint64_t *syncs)
{
    char name[TIDAL__WAL_MANIFEST_NAME_BYTES];
    char tmp[TIDAL__WAL_MANIFEST_NAME_BYTES + 4];
    uint8_t buf[MAX_BYTES];
    size_t len = encode(w, m, buf);
    int fd;

    tidal__wal_manifest_name(name, w->opts.origin);
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    /* 0600 whatever the umask, which can only narrow it */
    fd = tidal__io_openat(w, w->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return TIDAL_EIO;
    }
    if (tidal__wal_pwrite_all(w, fd, buf, len, 0) != 0 ||
        (w->sync_fds && tidal__io_fdatasync(w, fd) != 0)) {
        int e = errno;
        tidal__io_close(w, fd);
        (void)tidal__io_unlinkat(w, w->dirfd, tmp);
        errno = e;
        return TIDAL_EIO;
    }
    tidal__io_close(w, fd);
    if (tidal__io_renameat(w, w->dirfd, tmp, name) != 0) {
        int e = errno;
        (void)tidal__io_unlinkat(w, w->dirfd, tmp);
        errno = e;
        return TIDAL_EIO;
    }
    if (w->sync_fds) {
        *syncs += 1;
        if (tidal__io_fsync(w, w->dirfd) != 0) {
            return TIDAL_EIO;
        }
        *syncs += 1;
    }
    return 0;
}

static bool
same(const struct tidal__wal_manifest *a, const struct tidal__wal_manifest *b)
{
    if (a->oldest != b->oldest || a->newest != b->newest || a->high != b->high ||
        a->nholes != b->nholes) {
        return false;
    }
    return memcmp(a->holes, b->holes, a->nholes * sizeof(a->holes[0])) == 0;
}

int
tidal__wal_manifest_store(tidal_wal *w)
{
    struct tidal__wal_manifest m;
    uint64_t syncs = 0;
    int rc = 0;

    /* man_lock first: a store that copied w->man later writes later, so the
     * file never goes back to what an earlier store saw */
    pthread_mutex_lock(&w->man_lock);
    pthread_mutex_lock(&w->lock);
    w->man_roll = false;
    m = w->man;
    pthread_mutex_unlock(&w->lock);
    if (!w->man_on_disk || !same(&m, &w->man_stored)) {
        rc = write_file(w, &m, &syncs);
        if (rc == 0) {
            w->man_stored = m;
            w->man_on_disk = true;
        }
    }
    pthread_mutex_unlock(&w->man_lock);
    if (syncs > 0) {
        int e = errno;
        pthread_mutex_lock(&w->lock);
        w->stats.syncs += syncs;
        pthread_mutex_unlock(&w->lock);
        errno = e;
    }
    return rc;
}

void
tidal__wal_manifest_trim(struct tidal__wal_manifest *m)
{
    uint32_t k = 0;

    while (k < m->nholes && m->holes[k].last < m->oldest) {
        k++;
    }
    memmove(m->holes, m->holes + k, (m->nholes - k) * sizeof(m->holes[0]));
    m->nholes -= k;
    if (m->nholes > 0 && m->holes[0].first < m->oldest) {
        m->holes[0].first = m->oldest;
    }
}

int
tidal__wal_manifest_add_hole(struct tidal__wal_manifest *m, uint64_t first, uint64_t last)
{
    uint32_t i = 0;

    while (i < m->nholes && m->holes[i].last + 1 < first) {
        i++;
    }
    /* holes i.. end at or after first - 1: merge every one that touches */
    if (i < m->nholes && m->holes[i].first <= last + 1) {
        uint32_t j = i;
        while (j + 1 < m->nholes && m->holes[j + 1].first <= last + 1) {
            j++;
        }
        m->holes[i].first = first < m->holes[i].first ? first : m->holes[i].first;
        m->holes[i].last = last > m->holes[j].last ? last : m->holes[j].last;
        memmove(m->holes + i + 1, m->holes + j + 1, (m->nholes - j - 1) * sizeof(m->holes[0]));
        m->nholes -= j - i;
        return 0;
    }
    if (m->nholes == TIDAL__WAL_HOLES_MAX) {
        return TIDAL_ELIMIT;
    }
    memmove(m->holes + i + 1, m->holes + i, (m->nholes - i) * sizeof(m->holes[0]));
    m->holes[i].first = first;
    m->holes[i].last = last;
    m->nholes++;
    return 0;
}

const struct tidal__wal_hole *
tidal__wal_hole_at(const struct tidal__wal_manifest *m, uint64_t lsn)
{
    for (uint32_t i = 0; i < m->nholes && m->holes[i].first <= lsn; i++) {
        if (lsn <= m->holes[i].last) {
            return &m->holes[i];
        }
    }
    return NULL;
}
