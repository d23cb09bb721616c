/*
 * A growable byte buffer that msgpack-c packs into.
 *
 * Owned by its user; reused across encodes (tidal_buf_reset keeps the
 * allocation) so steady-state encoding allocates nothing.
 */
#ifndef TIDAL_MESSAGES_BUF_H
#define TIDAL_MESSAGES_BUF_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

typedef struct tidal_buf {
    uint8_t *data; /* NULL until the first append */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
    int failed;    /* TIDAL_ENOMEM once an append failed; sticky until reset */
} tidal_buf;

/* Zero-initialises b.  Cannot fail. */
void tidal_buf_init(tidal_buf *b);
/* Frees b's memory; b may be reused after tidal_buf_init.  Accepts NULL. */
void tidal_buf_fini(tidal_buf *b);
/* Empties b (keeps the allocation, clears failed).  Cannot fail. */
void tidal_buf_reset(tidal_buf *b);
/* Appends len bytes.  TIDAL_ENOMEM on failure, and b->failed is set. */
int tidal_buf_append(tidal_buf *b, const void *p, size_t len)
    __attribute__((warn_unused_result));
/* Makes room for `more` bytes past len (capacity doubles).  TIDAL_ENOMEM on
 * failure; on error nothing is changed. */
int tidal_buf_reserve(tidal_buf *b, size_t more) __attribute__((warn_unused_result));
/* A msgpack_packer write callback appending to the tidal_buf in data. */
int tidal_buf_msgpack_write(void *data, const char *buf, size_t len);
/* Initialises pk to pack into b.  Cannot fail. */
void tidal_buf_packer(tidal_buf *b, msgpack_packer *pk);

#endif /* TIDAL_MESSAGES_BUF_H */
