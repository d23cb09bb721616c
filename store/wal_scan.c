/*
 * The segment scanner: reads a segment's batches back, one at a time,
 * through a buffer (read(2) in large chunks), for recovery (wal_recover.c)
 * and for readers of batches no longer in the cache (wal_read.c).  It only
 * frames batches by their headers' lengths; what a batch must be is
 * checked by its caller (batch.h's rules).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/wal_state.h"

int
tidal__wal_scan_init(struct tidal__wal_scan *s, int fd)
{
    memset(s, 0, sizeof(*s));
    s->fd = fd;
    s->buf = malloc(TIDAL__WAL_READ_BYTES);
    if (s->buf == NULL) {
        return TIDAL_ENOMEM;
    }
    s->cap = TIDAL__WAL_READ_BYTES;
    return 0;
}

void
tidal__wal_scan_fini(struct tidal__wal_scan *s)
{
    free(s->buf);
    s->buf = NULL;
}

/* Reads until at least need bytes are unconsumed or the file ends, moving
 * the unconsumed bytes to the front and growing the buffer if need is more
 * than it holds.  0, TIDAL_EIO or TIDAL_ENOMEM. */
static int
scan_fill(struct tidal__wal_scan *s, size_t need)
{
    if (s->start > 0) {
        memmove(s->buf, s->buf + s->start, s->end - s->start);
        s->end -= s->start;
        s->start = 0;
    }
    if (need > s->cap) {
        uint8_t *b = realloc(s->buf, need);
        if (b == NULL) {
            return TIDAL_ENOMEM;
        }
        s->buf = b;
        s->cap = need;
    }
    while (s->end < need && !s->eof) {
        ssize_t n = read(s->fd, s->buf + s->end, s->cap - s->end);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return TIDAL_EIO;
        }
        if (n == 0) {
            s->eof = true;
        }
        s->end += (size_t)n;
    }
    return 0;
}

/* The payload length field of a header that passed rules 1..4 (batch.h:
 * offset 24, little endian). */
static size_t
header_payload_len(const uint8_t *p)
{
    return (size_t)p[24] | (size_t)p[25] << 8 | (size_t)p[26] << 16 | (size_t)p[27] << 24;
}

int
tidal__wal_scan_next(struct tidal__wal_scan *s, const uint8_t **batch, size_t *len,
                     tidal_batch_header *h, uint64_t *at, char *detail, size_t detail_cap)
{
    size_t total;
    int rc;

    if (s->end - s->start < TIDAL_BATCH_HEADER_BYTES && !s->eof) {
        rc = scan_fill(s, TIDAL_BATCH_HEADER_BYTES);
        if (rc != 0) {
            return rc;
        }
    }
    *at = s->off;
    if (s->end == s->start && s->eof) {
        return 1;
    }
    rc = tidal_batch_decode(s->buf + s->start, s->end - s->start, h, &total, detail, detail_cap);
    if (rc == TIDAL_ETRUNCATED && !s->eof && s->end - s->start >= TIDAL_BATCH_HEADER_BYTES) {
        /* Rules 1..4 held, so the length is in range: read the rest. */
        rc = scan_fill(s, TIDAL_BATCH_HEADER_BYTES + header_payload_len(s->buf + s->start));
        if (rc != 0) {
            return rc;
        }
        rc =
            tidal_batch_decode(s->buf + s->start, s->end - s->start, h, &total, detail, detail_cap);
    }
    if (rc != 0) {
        return rc;
    }
    *batch = s->buf + s->start;
    *len = total;
    s->start += total;
    s->off += total;
    return 0;
}
