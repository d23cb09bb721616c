/*
 * Replays fuzz/corpus/record through fuzz_record's own path
 * (tidal__fuzz_record_one): batch headers, the records of their payloads and
 * bare records, with their round trips, in every ctest run.  Names and what
 * they expect: tests/fuzz_replay.h.
 */
#include "fuzz/fuzz_record.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_record);

#define DIR_RECORD TIDAL_FUZZ_CORPUS_DIR "/record"

Test(fuzz_record, seeds_decode_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_record_one, DIR_RECORD, false);
    cr_assert(n >= 15, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_RECORD, "valid-batch") >= 2);
    cr_assert(fuzz_count_prefixed(DIR_RECORD, "bad-") >= 5);
}

Test(fuzz_record, edge_inputs)
{
    const uint8_t batch_empty = FLAG_BATCH, records_empty = 0;
    TIDAL_PASS(tidal__fuzz_record_one(&batch_empty, 0));
    TIDAL_FAIL(tidal__fuzz_record_one(&batch_empty, 1), TIDAL_ETRUNCATED);
    TIDAL_PASS(tidal__fuzz_record_one(&records_empty, 1)); /* no record at all */
    /* a HIDE record, then a byte that starts nothing */
    const uint8_t hide[] = {0, 0x94, 0x05, 0x01, 0x02, 0x93, 0x03, 0x00, 0x01, 0xc1};
    TIDAL_FAIL(tidal__fuzz_record_one(hide, sizeof(hide)), TIDAL_EFIELD);
    TIDAL_PASS(tidal__fuzz_record_one(hide, sizeof(hide) - 1));
}
