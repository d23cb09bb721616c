/*
 * Replays the fuzz seed corpus and every saved crash through the fuzz
 * target's own decode path, so a fixed crash stays fixed in every ctest run
 * (also the sanitizer build) without clang or libFuzzer.
 *
 * Seed names carry their expectation: valid-* must decode whole (0), and
 * bad-<CODE>-* must fail with TIDAL_<CODE>.  Other names (fuzzer-made inputs,
 * crashes) must only not crash and return 0 or a TIDAL_E* code.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidal_test.h"

/* The target's decode path (tidal__fuzz_one).  tests/CMakeLists.txt builds
 * one source per test binary, so the target is included rather than linked. */
#include "fuzz/fuzz_envelope.c"

TIDAL_SUITE(fuzz_corpus);

/* Reads a whole file into a fresh allocation (freed by the caller). */
static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "cannot open %s", path);
    uint8_t *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            buf = realloc(buf, cap);
            cr_assert(buf != NULL);
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0) {
            break;
        }
    }
    cr_assert(!ferror(f), "cannot read %s", path);
    fclose(f);
    return buf;
}

static void
replay_one(const char *dir, const char *name)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    uint8_t *buf = read_file(path, &len);
    int rv = tidal__fuzz_one(buf, len);
    free(buf);

    cr_assert(rv == 0 || strcmp(tidal_errname(rv), "TIDAL_E?") != 0, "%s: result %d", path, rv);
    if (strncmp(name, "valid-", 6) == 0) {
        cr_assert(rv == 0, "%s: %s", path, tidal_errname(rv));
    } else if (strncmp(name, "bad-", 4) == 0) {
        const char *code = name + 4;
        size_t n = strcspn(code, "-.");
        const char *got = tidal_errname(rv) + strlen("TIDAL_");
        cr_assert(rv != 0 && strlen(got) == n && strncmp(got, code, n) == 0,
                  "%s: expected TIDAL_%.*s, got %s", path, (int)n, code, tidal_errname(rv));
    }
}

/* Replays every regular file in dir; returns how many.  A missing directory
 * counts 0 when it may be absent. */
static size_t
replay_dir(const char *dir, bool may_be_absent)
{
    DIR *d = opendir(dir);
    if (d == NULL && may_be_absent && errno == ENOENT) {
        return 0;
    }
    cr_assert(d != NULL, "cannot open %s", dir);
    size_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') {
            continue;
        }
        replay_one(dir, ent->d_name);
        count++;
    }
    closedir(d);
    return count;
}

Test(fuzz_corpus, seeds_decode_as_their_names_say)
{
    size_t n = replay_dir(TIDAL_FUZZ_CORPUS_DIR "/envelope", false);
    cr_assert(n >= 10, "only %zu seeds", n);
}

Test(fuzz_corpus, saved_crashes_do_not_crash)
{
    (void)replay_dir(TIDAL_FUZZ_CORPUS_DIR "/crashes", true);
}

Test(fuzz_corpus, edge_inputs_do_not_crash)
{
    static const uint8_t one[] = {0xdd};
    TIDAL_PASS(tidal__fuzz_one(one, 0));
    TIDAL_FAIL(tidal__fuzz_one(one, sizeof(one)), TIDAL_ETRUNCATED);
}
