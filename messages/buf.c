/*
 * A growable byte buffer that msgpack-c packs into (see buf.h).
 *
 * Invariants: len <= cap; data is NULL exactly when cap is 0.  Capacity only
 * grows (doubling), so a buffer reused across encodes stops allocating once it
 * has held the largest message.  A failed append changes nothing but `failed`.
 */
#include "messages/buf.h"

#include <stdlib.h>
#include <string.h>

#include "tidal/errors.h"

/* The first allocation: large enough for a typical small envelope, so most
 * buffers allocate once. */
#define TIDAL_BUF_CAP_MIN 256u

void
tidal_buf_init(tidal_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = 0;
}

void
tidal_buf_fini(tidal_buf *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    tidal_buf_init(b);
}

void
tidal_buf_reset(tidal_buf *b)
{
    b->len = 0;
    b->failed = 0;
}

/* Makes room for `more` bytes past len.  On error nothing is changed. */
int
tidal_buf_reserve(tidal_buf *b, size_t more)
{
    if (more > SIZE_MAX - b->len) {
        return TIDAL_ENOMEM;
    }
    size_t need = b->len + more;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap < TIDAL_BUF_CAP_MIN ? TIDAL_BUF_CAP_MIN : b->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *data = realloc(b->data, cap);
    if (data == NULL) {
        return TIDAL_ENOMEM;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

int
tidal_buf_append(tidal_buf *b, const void *p, size_t len)
{
    if (len == 0) {
        /* msgpack-c writes empty str/bin bodies as (NULL, 0): nothing to copy. */
        return 0;
    }
    if (tidal_buf_reserve(b, len) != 0) {
        b->failed = TIDAL_ENOMEM;
        return TIDAL_ENOMEM;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

int
tidal_buf_msgpack_write(void *data, const char *buf, size_t len)
{
    /* msgpack-c's pack functions return what this returns; they only test it
     * against 0, and their own buffers use -1 for failure. */
    return tidal_buf_append(data, buf, len) == 0 ? 0 : -1;
}

void
tidal_buf_packer(tidal_buf *b, msgpack_packer *pk)
{
    msgpack_packer_init(pk, b, tidal_buf_msgpack_write);
}
