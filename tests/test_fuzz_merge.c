/*
 * Replays fuzz/corpus/merge through fuzz_merge's own path
 * (tidal__fuzz_merge_one): ENTRIES merged into fresh tables, idempotent,
 * transferable and commutative, in every ctest run.  Names and what they
 * expect: tests/fuzz_replay.h.
 */
#include "fuzz/fuzz_merge.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_merge);

#define DIR_MERGE TIDAL_FUZZ_CORPUS_DIR "/merge"

Test(fuzz_merge, seeds_merge_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_merge_one, DIR_MERGE, false);
    cr_assert(n >= 8, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_MERGE, "bad-") >= 3);
}

Test(fuzz_merge, edge_inputs)
{
    uint8_t in[HEAD_BYTES + 4] = {FLAG_RAW};
    TIDAL_PASS(tidal__fuzz_merge_one(in, HEAD_BYTES - 1)); /* no room for now */
    TIDAL_PASS(tidal__fuzz_merge_one(in, HEAD_BYTES));     /* no entry */
    /* one raw entry of one byte: a kind and nothing to decode */
    in[HEAD_BYTES] = 1;
    in[HEAD_BYTES + 2] = KIND_SESSION;
    TIDAL_FAIL(tidal__fuzz_merge_one(in, HEAD_BYTES + 3), TIDAL_ETRUNCATED);
    /* an ENTRIES payload cut after its array header */
    in[0] = 0;
    in[HEAD_BYTES] = 0x98; /* ENTRIES is an array of 8 */
    TIDAL_FAIL(tidal__fuzz_merge_one(in, HEAD_BYTES + 1), TIDAL_ETRUNCATED);
}
