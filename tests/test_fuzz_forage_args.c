/*
 * Replays fuzz/corpus/forage_args through fuzz_forage_args's own path
 * (tidal__fuzz_forage_args_one): Forage's query and JSON argument parsers
 * (apps/forage/http_args.c), their ranges, and the two agreeing on what
 * parsed, in every ctest run that builds the apps.  Names and what they
 * expect: tests/fuzz_replay.h (a 400 is TIDAL_EINVAL).
 */
#include "fuzz/fuzz_forage_args.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_forage_args);

#define DIR_FORAGE_ARGS TIDAL_FUZZ_CORPUS_DIR "/forage_args"

Test(fuzz_forage_args, seeds_parse_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_forage_args_one, DIR_FORAGE_ARGS, false);
    cr_assert(n >= 20, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_FORAGE_ARGS, "valid-query") >= 3);
    cr_assert(fuzz_count_prefixed(DIR_FORAGE_ARGS, "valid-json") >= 2);
    cr_assert(fuzz_count_prefixed(DIR_FORAGE_ARGS, "bad-EINVAL-json") >= 5);
}

Test(fuzz_forage_args, edge_inputs)
{
    /* query, every argument allowed, none required */
    uint8_t in[ARGS_HEAD + 8] = {0, 0xff, 0x01, 0, 0};
    TIDAL_PASS(tidal__fuzz_forage_args_one(in, ARGS_HEAD - 1)); /* no room for the masks */
    TIDAL_PASS(tidal__fuzz_forage_args_one(in, ARGS_HEAD));     /* an empty query */
    in[3] = FORAGE_ARG_REGION;                                  /* required, and not given */
    TIDAL_FAIL(tidal__fuzz_forage_args_one(in, ARGS_HEAD), TIDAL_EINVAL);
    memcpy(in + ARGS_HEAD, "region=3", 8);
    TIDAL_PASS(tidal__fuzz_forage_args_one(in, ARGS_HEAD + 8));
    in[ARGS_HEAD + 7] = '4'; /* past FORAGE_APP_REGIONS_MAX */
    TIDAL_FAIL(tidal__fuzz_forage_args_one(in, ARGS_HEAD + 8), TIDAL_EINVAL);
    in[0] = ARGS_JSON; /* an empty body is no JSON object */
    TIDAL_FAIL(tidal__fuzz_forage_args_one(in, ARGS_HEAD), TIDAL_EINVAL);
}
