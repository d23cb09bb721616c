/*
 * The shim's own tests: each case below has the verdict it must get, and
 * scripts/tsan checks them (tests/tsan/selftest.expect) before it trusts a
 * PASS from the real suite.  A runner that reported PASS for a failed
 * assertion, a race, a crash or a hang would make the whole TSan run
 * worthless, so every one of those is here, failing on purpose.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tidal_test.h"

/* The suite's fini writes a mark on stderr: the expectation file checks it
 * ran after a failed assertion too. */
static void
selftest_fini(void)
{
    fprintf(stderr, "selftest: suite fini ran\n");
}

static void
test_fini(void)
{
    fprintf(stderr, "selftest: test fini ran\n");
}

TestSuite(selftest, .fini = selftest_fini);

Test(selftest, pass)
{
    cr_assert(1 + 1 == 2);
    cr_assert_eq(2, 2, "with a message %d", 2);
    cr_assert_str_eq("a", "a");
    cr_assert_str_empty("");
    cr_assert_null(NULL);
    cr_log_info("a log line %s", "from a passing test");
}

Test(selftest, assert_fails, .fini = test_fini)
{
    cr_assert_eq(1, 2, "one is not %d", 2);
    fprintf(stderr, "selftest: UNREACHED after a failed assert\n");
}

Test(selftest, expect_fails_and_goes_on)
{
    cr_expect_eq(1, 2);
    fprintf(stderr, "selftest: went on after a failed expect\n");
}

Test(selftest, str_fails)
{
    cr_assert_str_eq("left", "right");
}

Test(selftest, tidal_pass_fails)
{
    TIDAL_PASS(-1);
}

Test(selftest, skipped)
{
    cr_skip_test("skipped on purpose");
    fprintf(stderr, "selftest: UNREACHED after a skip\n");
}

static void *
assert_on_thread(void *arg)
{
    (void)arg;
    cr_assert(0, "from another thread");
    return NULL;
}

Test(selftest, assert_on_another_thread_fails)
{
    pthread_t t;
    cr_assert(pthread_create(&t, NULL, assert_on_thread, NULL) == 0);
    pthread_join(t, NULL);
}

static int racy;

static void *
race_writer(void *arg)
{
    (void)arg;
    racy++;
    return NULL;
}

Test(selftest, race_is_reported)
{
    pthread_t t;
    cr_assert(pthread_create(&t, NULL, race_writer, NULL) == 0);
    racy++;
    pthread_join(t, NULL);
}

Test(selftest, crash_is_reported)
{
    raise(SIGSEGV);
}

Test(selftest, exit_without_verdict_is_reported)
{
    exit(0);
}

Test(selftest, hang_times_out, .timeout = 1)
{
    for (;;)
        pause();
}

Test(selftest, disabled_is_skipped, .disabled = true)
{
    cr_assert(0);
}
