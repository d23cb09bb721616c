/*
 * tidal error codes.
 *
 * Every fallible tidal function returns 0 on success or one of these codes.
 * The codes are positive and start at TIDAL_ERRNO_BASE (10000), a range that
 * cannot collide with nng's (1..~32, or flagged with 0x10000000/0x20000000),
 * so a tidal code and an nng code never mean the same thing.  nng and msgpack
 * errors are mapped to tidal codes at the boundary.
 *
 * The table below is the single source of the codes, their names and their
 * messages (libuv's UV_ERRNO_MAP).  When you add a code, add it at the end:
 * the numbers are part of the wire protocol of error replies.
 */
#ifndef TIDAL_ERRORS_H
#define TIDAL_ERRORS_H

#include "tidal/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TIDAL_ERRNO_BASE 10000

#define TIDAL_ERRNO_MAP(X)                                                             \
    X(EINVAL, 1, "invalid argument")                                                   \
    X(ENOMEM, 2, "out of memory")                                                      \
    X(ECLOSED, 3, "object closed or handle stale")                                     \
    X(EFULL, 4, "mailbox or queue full")                                               \
    X(ETIMEDOUT, 5, "timed out")                                                       \
    X(ENOENT, 6, "no such entry")                                                      \
    X(EEXIST, 7, "already exists")                                                     \
    X(ETOOBIG, 8, "input larger than its limit")                                       \
    X(ETRUNCATED, 9, "input truncated")                                                \
    X(EVERSION, 10, "unsupported version")                                             \
    X(ETYPE, 11, "unknown message type")                                               \
    X(EFIELD, 12, "field has the wrong type or value")                                 \
    X(ETRAILING, 13, "trailing bytes after the message")                               \
    X(ELENGTH, 14, "declared length exceeds the bytes remaining")                      \
    X(ECORRUPT, 15, "data corrupt")                                                    \
    X(ETRANSPORT, 16, "transport error")                                               \
    X(EADDR, 17, "invalid address or url")                                             \
    X(EIO, 18, "i/o error")                                                            \
    X(ESKEW, 19, "remote clock too far ahead")                                         \
    X(EBUSY, 20, "busy")                                                               \
    X(ESTATE, 21, "operation not valid in this state")                                 \
    X(ELIMIT, 22, "a configured limit was reached")                                    \
    X(ECRC, 23, "checksum mismatch")                                                   \
    X(ENOTSUP, 24, "not supported")                                                    \
    X(EFENCED, 25, "this region's clock is ahead of a peer's beyond its budget")

enum tidal_errno {
    TIDAL_OK = 0,
#define TIDAL__ERRNO_ENUM(name, n, msg) TIDAL_##name = TIDAL_ERRNO_BASE + (n),
    TIDAL_ERRNO_MAP(TIDAL__ERRNO_ENUM)
#undef TIDAL__ERRNO_ENUM
};

/* A static message for any code (tidal's, 0, or unknown).  Cannot fail. */
TIDAL_API const char *tidal_strerror(int code);

/* The code's name, such as "TIDAL_EFULL"; "TIDAL_OK" for 0; "TIDAL_E?" for an
 * unknown code.  Cannot fail. */
TIDAL_API const char *tidal_errname(int code);

#ifdef __cplusplus
}
#endif

#endif /* TIDAL_ERRORS_H */
