/*
 * Helpers for forage's suites (tidal's tests/ has its own; forage keeps to
 * itself so it reads as an application on tidal's public API alone).
 *
 * FORAGE_PASS(expr)        expr must return 0; prints the error name if not.
 * FORAGE_FAIL(expr, code)  expr must return exactly code.
 * FORAGE_SUITE(name)       a suite whose teardown fails the test if
 *                          LeakSanitizer finds a leak.
 * forage_test_tmpdir()     a fresh directory under /tmp for this test.
 * forage_test_rmdir(path)  removes it and everything under it.
 * forage_test_write(dir, name, text)  writes a file; returns its path.
 */
#ifndef FORAGE_TEST_H
#define FORAGE_TEST_H

#include <criterion/criterion.h>

#include <tidal/errors.h>

#define FORAGE_PASS(expr)                                                                          \
    do {                                                                                           \
        int forage__rv = (expr);                                                                   \
        cr_assert(forage__rv == 0, "%s failed: %s", #expr, tidal_errname(forage__rv));             \
    } while (0)

#define FORAGE_FAIL(expr, code)                                                                    \
    do {                                                                                           \
        int forage__rv = (expr);                                                                   \
        cr_assert(forage__rv == (code), "%s: expected %s, got %s", #expr, tidal_errname(code),     \
                  tidal_errname(forage__rv));                                                      \
    } while (0)

void forage_test_leak_check(void);

#define FORAGE_SUITE(name) TestSuite(name, .fini = forage_test_leak_check)

/* Static storage, valid until the next call. */
const char *forage_test_tmpdir(void);
void forage_test_rmdir(const char *path);
const char *forage_test_write(const char *dir, const char *name, const char *text);

#endif /* FORAGE_TEST_H */
