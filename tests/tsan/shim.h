/*
 * A Criterion-compatible test runner for the ThreadSanitizer build.
 *
 * Criterion 2.4.1 cannot start under TSan (docs/dependencies.md), so the
 * TIDAL_TSAN build compiles every test file against this header instead:
 * tests/tsan/criterion/criterion.h includes it, and tests/tsan comes first on
 * the include path of those builds, so tidal_test.h's
 * `#include <criterion/criterion.h>` needs no change.
 *
 * It provides the part of Criterion's API that tidal's tests use, no more: a
 * construct a test starts using that is missing here fails to compile in the
 * TSan build (which is -Werror), never silently passes.
 *
 *   Test(suite, name, .init = f, .fini = g, .timeout = s, .disabled = b,
 *        .description = "...")        (options optional)
 *   TestSuite(suite, same options)    (the suite's defaults)
 *   cr_assert(cond, [fmt, ...])       cr_assert_not
 *   cr_assert_eq/neq/lt/leq/gt/geq(a, b, [fmt, ...])
 *   cr_assert_null/not_null(p, [fmt, ...])
 *   cr_assert_str_eq/str_neq(a, b, [fmt, ...])   cr_assert_str_empty(s, ...)
 *   cr_expect_eq(a, b, [fmt, ...])    (fails the test, lets it go on)
 *   cr_skip_test([fmt, ...])          cr_log_info/cr_log_warn/cr_log_error(fmt, ...)
 *
 * Each test runs in a child process forked from a parent that has touched
 * neither nng nor any thread (shim.c says why), with its suite's init and
 * fini around it, as Criterion runs it.  A failed cr_assert ends that test
 * only: it jumps back to the runner in the child, which runs fini.
 */
#ifndef TIDAL_TSAN_SHIM_H
#define TIDAL_TSAN_SHIM_H

/* The standard headers Criterion's criterion.h brings in: test files that
 * lean on them compile alike in both builds. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What Test() and TestSuite() accept after the names.  `shim_pad_` lets the
 * macros start the initializer with a field no caller names, so that an empty
 * option list and a full one are both valid C. */
struct tidal_shim_opts {
    int shim_pad_;
    void (*init)(void);
    void (*fini)(void);
    double timeout; /* seconds; 0: the runner's default */
    bool disabled;
    const char *description;
};

struct tidal_shim_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    const char *file;
    int line;
    struct tidal_shim_opts opts;
    struct tidal_shim_test *next;
};

struct tidal_shim_suite {
    const char *name;
    struct tidal_shim_opts opts;
    struct tidal_shim_suite *next;
};

void tidal_shim_register_test(struct tidal_shim_test *t);
void tidal_shim_register_suite(struct tidal_shim_suite *s);

/* Failure paths.  The abort forms never return: a test that asserted a
 * pointer is non-NULL may use it on the next line (Criterion's are
 * noreturn too, so the compiler sees the same flow in both builds). */
__attribute__((noreturn, format(printf, 4, 5))) void
tidal_shim_abort_(const char *file, int line, const char *what, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void
tidal_shim_expect_(const char *file, int line, const char *what, const char *fmt, ...);
__attribute__((format(printf, 7, 8))) void
tidal_shim_str_(const char *file, int line, int op, const char *what, const char *a,
                const char *b, const char *fmt, ...);
__attribute__((noreturn, format(printf, 3, 4))) void
tidal_shim_skip_(const char *file, int line, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void
tidal_shim_log_(const char *file, int line, const char *level, const char *fmt, ...);

#define TIDAL_SHIM_CAT_(a, b) a##b
#define TIDAL_SHIM_ID_(suite, name, what) TIDAL_SHIM_CAT_(tidal_shim_##what##_##suite##_, name)

#define Test(suite, name, ...)                                                              \
    static void TIDAL_SHIM_ID_(suite, name, fn)(void);                                      \
    static struct tidal_shim_test TIDAL_SHIM_ID_(suite, name, t) = {                        \
        #suite, #name, TIDAL_SHIM_ID_(suite, name, fn), __FILE__, __LINE__,                 \
        {.shim_pad_ = 0, __VA_ARGS__}, NULL};                                               \
    __attribute__((constructor)) static void TIDAL_SHIM_ID_(suite, name, reg)(void)         \
    {                                                                                       \
        tidal_shim_register_test(&TIDAL_SHIM_ID_(suite, name, t));                          \
    }                                                                                       \
    static void TIDAL_SHIM_ID_(suite, name, fn)(void)

#define TestSuite(suite, ...)                                                               \
    static struct tidal_shim_suite TIDAL_SHIM_CAT_(tidal_shim_suite_, suite) = {            \
        #suite, {.shim_pad_ = 0, __VA_ARGS__}, NULL};                                       \
    __attribute__((constructor)) static void TIDAL_SHIM_CAT_(tidal_shim_suite_reg_, suite)(void) \
    {                                                                                       \
        tidal_shim_register_suite(&TIDAL_SHIM_CAT_(tidal_shim_suite_, suite));              \
    }                                                                                       \
    struct tidal_shim_opts /* swallows the caller's ';' */

/* The message is optional, as in Criterion: `"" __VA_ARGS__` is the format
 * the caller gave, or "" when none (the runner then prints the expression).
 * Each macro is one level deep so that its arguments are split only once. */
#define cr_assert(cond, ...)                                                                \
    do {                                                                                    \
        if (!(cond))                                                                        \
            tidal_shim_abort_(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                   \
    } while (0)
#define cr_assert_not(cond, ...)                                                            \
    do {                                                                                    \
        if (cond)                                                                           \
            tidal_shim_abort_(__FILE__, __LINE__, "!(" #cond ")", "" __VA_ARGS__);          \
    } while (0)
#define TIDAL_SHIM_OP_(a, op, b, ...)                                                       \
    do {                                                                                    \
        if (!((a)op(b)))                                                                    \
            tidal_shim_abort_(__FILE__, __LINE__, #a " " #op " " #b, "" __VA_ARGS__);       \
    } while (0)
#define cr_assert_eq(a, b, ...) TIDAL_SHIM_OP_(a, ==, b, __VA_ARGS__)
/* Fails unconditionally (Criterion's cr_assert_fail). */
#define cr_assert_fail(...) tidal_shim_abort_(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
/* |a - b| <= eps, as doubles (Criterion's float_eq). */
#define cr_assert_float_eq(a, b, eps, ...)                                                  \
    do {                                                                                    \
        double tidal_shim_d_ = (double)(a) - (double)(b);                                   \
        if (!(tidal_shim_d_ <= (double)(eps) && -tidal_shim_d_ <= (double)(eps)))           \
            tidal_shim_abort_(__FILE__, __LINE__, "|" #a " - " #b "| <= " #eps,             \
                              "" __VA_ARGS__);                                              \
    } while (0)
#define cr_assert_neq(a, b, ...) TIDAL_SHIM_OP_(a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) TIDAL_SHIM_OP_(a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) TIDAL_SHIM_OP_(a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) TIDAL_SHIM_OP_(a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) TIDAL_SHIM_OP_(a, >=, b, __VA_ARGS__)
#define cr_assert_null(p, ...)                                                              \
    do {                                                                                    \
        if ((p) != NULL)                                                                    \
            tidal_shim_abort_(__FILE__, __LINE__, #p " == NULL", "" __VA_ARGS__);           \
    } while (0)
#define cr_assert_not_null(p, ...)                                                          \
    do {                                                                                    \
        if ((p) == NULL)                                                                    \
            tidal_shim_abort_(__FILE__, __LINE__, #p " != NULL", "" __VA_ARGS__);           \
    } while (0)
/* String checks evaluate each operand once and print both on failure. */
#define cr_assert_str_eq(a, b, ...)                                                         \
    tidal_shim_str_(__FILE__, __LINE__, 0, #a " == " #b, (a), (b), "" __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                                        \
    tidal_shim_str_(__FILE__, __LINE__, 1, #a " != " #b, (a), (b), "" __VA_ARGS__)
#define cr_assert_str_empty(s, ...)                                                         \
    tidal_shim_str_(__FILE__, __LINE__, 0, #s " is empty", (s), "", "" __VA_ARGS__)
#define cr_expect_eq(a, b, ...)                                                             \
    do {                                                                                    \
        if (!((a) == (b)))                                                                  \
            tidal_shim_expect_(__FILE__, __LINE__, #a " == " #b, "" __VA_ARGS__);           \
    } while (0)
#define cr_skip_test(...) tidal_shim_skip_(__FILE__, __LINE__, "" __VA_ARGS__)
#define cr_log_info(...) tidal_shim_log_(__FILE__, __LINE__, "info", __VA_ARGS__)
#define cr_log_warn(...) tidal_shim_log_(__FILE__, __LINE__, "warn", __VA_ARGS__)
#define cr_log_error(...) tidal_shim_log_(__FILE__, __LINE__, "error", __VA_ARGS__)

#endif /* TIDAL_TSAN_SHIM_H */
