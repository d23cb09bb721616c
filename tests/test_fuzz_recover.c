/*
 * Replays fuzz/corpus/recover through fuzz_recover's own path
 * (tidal__fuzz_recover_one): WAL directories opened, read back, appended to
 * and recovered again, in every ctest run.  Names and what they expect:
 * tests/fuzz_replay.h.
 */
#include "fuzz/fuzz_recover.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_recover);

#define DIR_RECOVER TIDAL_FUZZ_CORPUS_DIR "/recover"

Test(fuzz_recover, seeds_recover_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_recover_one, DIR_RECOVER, false);
    cr_assert(n >= 8, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_RECOVER, "bad-ECORRUPT") >= 2);
}

Test(fuzz_recover, edge_inputs)
{
    const uint8_t in[] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    TIDAL_PASS(tidal__fuzz_recover_one(in, 0));
    TIDAL_PASS(tidal__fuzz_recover_one(in, 1)); /* an empty directory: a new log */
    /* one empty segment named LSN 1: recovery keeps it and appends there */
    TIDAL_PASS(tidal__fuzz_recover_one(in, sizeof(in)));
    /* one empty segment named LSN 0: LSNs start at 1 */
    const uint8_t zero[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    TIDAL_FAIL(tidal__fuzz_recover_one(zero, sizeof(zero)), TIDAL_ECORRUPT);
}
