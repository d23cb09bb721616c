/*
 * Replays a fuzz target's corpus through the target's own function, so that
 * every ctest run (the sanitizer build too) checks every seed and every
 * saved crash without clang or libFuzzer.  A test #includes its target
 * (fuzz/fuzz_<name>.c: tests/CMakeLists.txt builds one source per test
 * binary, so the target is included rather than linked), then this file.
 *
 * Seed names carry their expectation: valid-* must give 0, and
 * bad-<CODE>-* must fail with TIDAL_<CODE>.  Other names (inputs the fuzzer
 * made, crashes) must only not crash and give 0 or a TIDAL_E* code.
 */
#ifndef TIDAL_TESTS_FUZZ_REPLAY_H
#define TIDAL_TESTS_FUZZ_REPLAY_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidal_test.h"

typedef int (*fuzz_one_fn)(const uint8_t *data, size_t size);

/* Reads a whole file into a fresh allocation (freed by the caller). */
static inline uint8_t *
fuzz_read_file(const char *path, size_t *len)
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

static inline void
fuzz_replay_one(fuzz_one_fn fn, const char *dir, const char *name)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    uint8_t *buf = fuzz_read_file(path, &len);
    int rv = fn(buf, len);
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

/* Replays every regular file in dir through fn; returns how many.  A
 * missing directory counts 0 when it may be absent. */
static inline size_t
fuzz_replay_dir(fuzz_one_fn fn, const char *dir, bool may_be_absent)
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
        fuzz_replay_one(fn, dir, ent->d_name);
        count++;
    }
    closedir(d);
    return count;
}

/* Counts the files of dir whose name starts with prefix. */
static inline size_t
fuzz_count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    cr_assert(d != NULL, "cannot open %s", dir);
    size_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        count += strncmp(ent->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return count;
}

#endif /* TIDAL_TESTS_FUZZ_REPLAY_H */
