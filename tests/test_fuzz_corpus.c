/*
 * Replays fuzz_envelope's seed corpus and every saved crash of
 * fuzz/corpus/crashes through the target's own decode path, so a fixed crash
 * stays fixed in every ctest run (also the sanitizer build) without clang or
 * libFuzzer.  Names and what they expect: tests/fuzz_replay.h.  The other
 * targets have one test each (tests/test_fuzz_<name>.c).
 */
/* The target's decode path (tidal__fuzz_one), then the replay. */
#include "fuzz/fuzz_envelope.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_corpus);

Test(fuzz_corpus, seeds_decode_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_one, TIDAL_FUZZ_CORPUS_DIR "/envelope", false);
    cr_assert(n >= 10, "only %zu seeds", n);
}

Test(fuzz_corpus, saved_crashes_do_not_crash)
{
    (void)fuzz_replay_dir(tidal__fuzz_one, TIDAL_FUZZ_CORPUS_DIR "/crashes", true);
}

Test(fuzz_corpus, edge_inputs_do_not_crash)
{
    static const uint8_t one[] = {0xdd};
    TIDAL_PASS(tidal__fuzz_one(one, 0));
    TIDAL_FAIL(tidal__fuzz_one(one, sizeof(one)), TIDAL_ETRUNCATED);
}
