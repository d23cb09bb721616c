/*
 * Replays fuzz/corpus/codec through fuzz_codec's own path
 * (tidal__fuzz_codec_one): the session, signal-state, hard-negative and
 * PN-counter entry codecs, with canonical encodings, idempotent merges and
 * local type ids, in every ctest run.  Names and what they expect:
 * tests/fuzz_replay.h.
 */
#include "fuzz/fuzz_codec.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_codec);

#define DIR_CODEC TIDAL_FUZZ_CORPUS_DIR "/codec"

Test(fuzz_codec, seeds_decode_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_codec_one, DIR_CODEC, false);
    cr_assert(n >= 15, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_CODEC, "valid-session") >= 2);
    cr_assert(fuzz_count_prefixed(DIR_CODEC, "valid-signals") >= 2);
    cr_assert(fuzz_count_prefixed(DIR_CODEC, "bad-") >= 5);
}

Test(fuzz_codec, edge_inputs)
{
    for (uint8_t sel = 0; sel < 4; sel++) {
        TIDAL_PASS(tidal__fuzz_codec_one(&sel, 0));
        /* every codec refuses an empty entry as cut short */
        TIDAL_FAIL(tidal__fuzz_codec_one(&sel, 1), TIDAL_ETRUNCATED);
    }
    const uint8_t pn_empty[] = {CODEC_PNCOUNTER, 0}; /* a counter of no region */
    TIDAL_PASS(tidal__fuzz_codec_one(pn_empty, sizeof(pn_empty)));
}
