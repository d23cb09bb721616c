/*
 * Helpers shared by every Criterion suite (like nng's nuts.h).
 *
 * TIDAL_PASS(expr)       expr must return 0; on failure prints the error name.
 * TIDAL_FAIL(expr, code) expr must return exactly code.
 * tidal_test_tmpdir()    a fresh directory under /tmp (short: ipc paths are
 *                        limited to ~107 bytes); removed by tidal_test_rmdir.
 * TIDAL_SUITE(name)      declares a suite whose teardown fails the test if
 *                        LeakSanitizer finds a leak (Criterion alone lets it pass).
 * tidal_test_threads()   the process's thread count; tidal_test_rand(&s) and
 *                        tidal_test_mix(&s) seeded PRNGs for a test's own choices.
 */
#ifndef TIDAL_TEST_H
#define TIDAL_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "base/hash.h"
#include "tidal/errors.h"

#define TIDAL_PASS(expr)                                                                  \
    do {                                                                                  \
        int tidal__rv = (expr);                                                           \
        cr_assert(tidal__rv == 0, "%s failed: %s (%s)", #expr, tidal_errname(tidal__rv),  \
                  tidal_strerror(tidal__rv));                                             \
    } while (0)

#define TIDAL_FAIL(expr, code)                                                            \
    do {                                                                                  \
        int tidal__rv = (expr);                                                           \
        cr_assert(tidal__rv == (code), "%s: expected %s, got %s", #expr,                  \
                  tidal_errname(code), tidal_errname(tidal__rv));                         \
    } while (0)

/* Checks for leaks now (when built with LeakSanitizer); asserts none. */
void tidal_test_leak_check(void);

#define TIDAL_SUITE(name) TestSuite(name, .fini = tidal_test_leak_check)

/* Creates a fresh temporary directory; the returned path is static storage
 * owned by the helper, valid until the next call. */
const char *tidal_test_tmpdir(void);

/* Removes a directory tree made by tidal_test_tmpdir.  Asserts on failure. */
void tidal_test_rmdir(const char *path);

/* Milliseconds on a monotonic clock. */
uint64_t tidal_test_now_ms(void);

/* Polls cond every millisecond until it holds or deadline_ms pass.  Never a
 * fixed sleep: returns as soon as cond is true. */
#define TIDAL_WAIT_UNTIL(cond, deadline_ms)                                               \
    ({                                                                                    \
        uint64_t tidal__end = tidal_test_now_ms() + (deadline_ms);                        \
        bool tidal__ok;                                                                   \
        while (!(tidal__ok = (cond)) && tidal_test_now_ms() < tidal__end) {               \
            tidal_test_sleep_ms(1);                                                       \
        }                                                                                 \
        tidal__ok;                                                                        \
    })

void tidal_test_sleep_ms(unsigned ms);

/* The threads this process has now (/proc/self/status): a simulation must
 * start none.  Asserts it could read them. */
int tidal_test_threads(void);

/* A small deterministic PRNG for a test's own choices (xorshift64*, state
 * not 0).  Cannot fail. */
static inline uint64_t
tidal_test_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

/* splitmix64's stream over the code base's one mixer: any seed, 0 included,
 * gives a full-period stream.  Cannot fail. */
static inline uint64_t
tidal_test_mix(uint64_t *s)
{
    *s += TIDAL_HASH_GOLDEN;
    return tidal_mix64(*s);
}

#endif /* TIDAL_TEST_H */
