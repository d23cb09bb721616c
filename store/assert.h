/*
 * Assertions for store/, on in release builds like the runtime's TIDAL_ASSERT
 * (which store/ cannot use: it sits below the runtime).  For programmer
 * errors only; bytes from a socket or a disk are rejected, never asserted on.
 */
#ifndef TIDAL_STORE_ASSERT_H
#define TIDAL_STORE_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define TIDAL_STORE_ASSERT(cond)                                                           \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif /* TIDAL_STORE_ASSERT_H */
