/* Shared test helpers: see tidal_test.h. */
#include "tidal_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define TIDAL_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TIDAL_TEST_LSAN 1
#endif
#endif

#ifdef TIDAL_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

void
tidal_test_leak_check(void)
{
#ifdef TIDAL_TEST_LSAN
    int leaks = __lsan_do_recoverable_leak_check();
    cr_assert(leaks == 0, "LeakSanitizer found leaks (LEAK)");
#endif
}

const char *
tidal_test_tmpdir(void)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/tidal-test-XXXXXX");
    cr_assert(mkdtemp(path) != NULL, "mkdtemp failed");
    return path;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void
tidal_test_rmdir(const char *path)
{
    cr_assert(nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove %s", path);
}

uint64_t
tidal_test_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
tidal_test_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}

int
tidal_test_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    cr_assert_not_null(f);
    char line[256];
    int n = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Threads: %d", &n) == 1) {
            break;
        }
    }
    fclose(f);
    cr_assert_gt(n, 0, "no Threads: line in /proc/self/status");
    return n;
}
