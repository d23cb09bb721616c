/*
 * Replays fuzz/corpus/repl through fuzz_repl's own path (tidal__fuzz_repl_one):
 * every replication payload decoder, its round trip and its envelope, in
 * every ctest run.  Names and what they expect: tests/fuzz_replay.h.
 */
#include "fuzz/fuzz_repl.c"
#include "fuzz_replay.h"

TIDAL_SUITE(fuzz_repl);

#define DIR_REPL TIDAL_FUZZ_CORPUS_DIR "/repl"

Test(fuzz_repl, seeds_decode_as_their_names_say)
{
    size_t n = fuzz_replay_dir(tidal__fuzz_repl_one, DIR_REPL, false);
    cr_assert(n >= 20, "only %zu seeds", n);
    cr_assert(fuzz_count_prefixed(DIR_REPL, "bad-") >= 5);
}

/* Every type the target selects has a valid seed: its first byte is the
 * type's number. */
Test(fuzz_repl, every_type_has_a_valid_seed)
{
    bool seen[REPL_TYPES] = {false};
    DIR *d = opendir(DIR_REPL);
    struct dirent *ent;
    cr_assert(d != NULL);
    while ((ent = readdir(d)) != NULL) {
        char path[1024];
        size_t len;
        if (strncmp(ent->d_name, "valid-", 6) != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", DIR_REPL, ent->d_name);
        uint8_t *buf = fuzz_read_file(path, &len);
        for (size_t i = 0; len > 0 && i < REPL_TYPES; i++) {
            seen[i] = seen[i] || buf[0] == repl_types[i];
        }
        free(buf);
    }
    closedir(d);
    for (size_t i = 0; i < REPL_TYPES; i++) {
        cr_assert(seen[i], "no valid seed for %s", tidal_msg_type_name(repl_types[i]));
    }
}

Test(fuzz_repl, edge_inputs)
{
    const uint8_t ack = TIDAL_MSG_ACK, tick[] = {TIDAL_MSG_TICK, 1, 2, 3};
    TIDAL_PASS(tidal__fuzz_repl_one(&ack, 0));
    /* an empty payload: the ACK decoder finds no array */
    TIDAL_FAIL(tidal__fuzz_repl_one(&ack, 1), TIDAL_ETRUNCATED);
    /* a TICK has no decoder: any payload goes through the envelope only */
    TIDAL_PASS(tidal__fuzz_repl_one(tick, sizeof(tick)));
    /* a byte that is no type's number selects one modulo the eleven: ACK */
    _Static_assert(199 % REPL_TYPES == 1, "199 selects repl_types[1], ACK");
    const uint8_t other[] = {199, 0x93, 0x01, 0x00, 0x2a};
    TIDAL_PASS(tidal__fuzz_repl_one(other, sizeof(other)));
}
