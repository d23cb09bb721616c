/*
 * Assertions, on in every build (a plain assert() vanishes under CMake's
 * Release).  For programmer errors only: bytes from a socket, a file or a
 * caller are checked and rejected with an error code, never asserted on.
 *
 * Habits (TigerBeetle's):
 *  - No side effects inside an assertion: the program must do the same with
 *    every assertion deleted.  Compute into a local, then assert on it.
 *  - Split compound conditions (TIDAL_ASSERT(a); TIDAL_ASSERT(b); rather than
 *    TIDAL_ASSERT(a && b)), so the failing line names the failing condition.
 *  - Pair assertions at both ends of a boundary: check a value where it is
 *    made and again where it is used (a record before it is written and after
 *    it is read back).
 *
 * TIDAL_DEBUG_ASSERT is for checks too expensive for a release build (a walk
 * of a whole table); it is compiled in when TIDAL_DEBUG is defined, and its
 * condition is still type-checked otherwise.
 */
#ifndef TIDAL_BASE_ASSERT_H
#define TIDAL_BASE_ASSERT_H

#define TIDAL_ASSERT(cond)                                                                 \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            tidal__panic(__FILE__, __LINE__, #cond);                                       \
        }                                                                                  \
    } while (0)

#ifdef TIDAL_DEBUG
#define TIDAL_DEBUG_ASSERT(cond) TIDAL_ASSERT(cond)
#else
#define TIDAL_DEBUG_ASSERT(cond)                                                           \
    do {                                                                                   \
        if (0 && !(cond)) {                                                                \
        }                                                                                  \
    } while (0)
#endif

/* Prints where and what failed to stderr and aborts.  Never returns. */
__attribute__((noreturn)) void tidal__panic(const char *file, int line, const char *cond);

#endif /* TIDAL_BASE_ASSERT_H */
