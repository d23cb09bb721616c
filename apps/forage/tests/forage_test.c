/* Shared helpers of forage's suites: see forage_test.h. */
#include "forage_test.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define FORAGE_TEST_LSAN 1
#endif

#ifdef FORAGE_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

void
forage_test_leak_check(void)
{
#ifdef FORAGE_TEST_LSAN
    int leaks = __lsan_do_recoverable_leak_check();
    cr_assert(leaks == 0, "LeakSanitizer found leaks (LEAK)");
#endif
}

const char *
forage_test_tmpdir(void)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/forage-test-XXXXXX");
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
forage_test_rmdir(const char *path)
{
    cr_assert(nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0, "cannot remove %s", path);
}

const char *
forage_test_write(const char *dir, const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot create %s", path);
    cr_assert(fputs(text, f) >= 0);
    cr_assert(fclose(f) == 0);
    return path;
}
