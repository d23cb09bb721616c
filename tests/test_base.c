/*
 * The ground layer's seams: the operator log (tidal/log.h, base/log.c) and
 * the random source (base/random.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/random.h"
#include "store/session.h"
#include "tidal/region.h"
#include "tidal_test.h"

TIDAL_SUITE(base);

struct lines {
    int n;
    int last_event;
    uint64_t last_count;
    char last[512];
};

static void
keep_line(void *arg, int event, uint64_t count, const char *line)
{
    struct lines *l = arg;
    l->n++;
    l->last_event = event;
    l->last_count = count;
    snprintf(l->last, sizeof(l->last), "%s", line);
}

Test(base, log_writes_the_first_second_fourth_eighth_and_counts_every_one)
{
    struct lines l = {0};
    uint64_t before = tidal_log_count(TIDAL_EVENT_WRITE_REFUSED);
    tidal_log_set(keep_line, &l);
    for (uint64_t nth = 1; nth <= 9; nth++) {
        tidal__log(TIDAL_EVENT_WRITE_REFUSED, nth, "refusal %u", (unsigned)nth);
    }
    tidal_log_set(NULL, NULL);
    cr_assert_eq(l.n, 4, "lines for nth 1, 2, 4, 8: %d", l.n);
    cr_assert_str_eq(l.last, "tidal: TIDAL-WRITE-REFUSED: refusal 8");
    cr_assert_eq(l.last_event, TIDAL_EVENT_WRITE_REFUSED);
    cr_assert_eq(tidal_log_count(TIDAL_EVENT_WRITE_REFUSED), before + 9);
    cr_assert_eq(l.last_count, before + 8, "the callback sees the count so far");
}

Test(base, log_set_null_restores_stderr_and_the_old_writer_is_not_called)
{
    struct lines l = {0};
    tidal_log_set(keep_line, &l);
    tidal_log_set(NULL, NULL);
    setenv("TIDAL_QUIET", "1", 1);
    tidal__log(TIDAL_EVENT_DISK_ERROR, 1, "not for the callback");
    unsetenv("TIDAL_QUIET");
    cr_assert_eq(l.n, 0);
}

Test(base, log_ids_are_stable_and_unknown_kinds_are_safe)
{
    cr_assert_str_eq(tidal_event_id(TIDAL_EVENT_LOG_TRUNCATED), "TIDAL-LOG-TRUNCATED");
    cr_assert_str_eq(tidal_event_id(TIDAL_EVENT_INPUT_REJECTED), "TIDAL-INPUT-REJECTED");
    cr_assert_str_eq(tidal_event_id(-1), "?");
    cr_assert_str_eq(tidal_event_id(TIDAL_EVENT_COUNT), "?");
    cr_assert_eq(tidal_log_count(TIDAL_EVENT_COUNT), 0);
}

Test(base, log_truncates_a_long_line_instead_of_overflowing)
{
    struct lines l = {0};
    char big[2048];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tidal_log_set(keep_line, &l);
    tidal__log(TIDAL_EVENT_LOG_REFUSED, 1, "%s", big);
    tidal_log_set(NULL, NULL);
    cr_assert_eq(l.n, 1);
    cr_assert_lt(strlen(l.last), sizeof(l.last));
    cr_assert(strncmp(l.last, "tidal: TIDAL-LOG-REFUSED: xxx", 29) == 0);
}

Test(base, a_seeded_source_repeats_its_draws_and_session_ids)
{
    uint64_t a[4], b[4];
    tidal_session_id s1, s2;

    tidal__random_seed(7);
    TIDAL_PASS(tidal__random(a, sizeof(a)));
    TIDAL_PASS(tidal_session_id_new(&s1));
    uint64_t id1 = tidal__random_id();
    tidal__random_seed(7);
    TIDAL_PASS(tidal__random(b, sizeof(b)));
    TIDAL_PASS(tidal_session_id_new(&s2));
    uint64_t id2 = tidal__random_id();
    tidal__random_unseed();

    cr_assert(memcmp(a, b, sizeof(a)) == 0);
    cr_assert_eq(tidal_session_id_compare(&s1, &s2), 0);
    cr_assert_eq(id1, id2);
    cr_assert_neq(a[0], a[1], "draws differ from each other");

    tidal__random_seed(8);
    TIDAL_PASS(tidal__random(b, sizeof(b)));
    tidal__random_unseed();
    cr_assert(memcmp(a, b, sizeof(a)) != 0, "another seed, other draws");
}

Test(base, an_odd_length_draw_fills_every_byte)
{
    uint8_t buf[13];
    memset(buf, 0, sizeof(buf));
    tidal__random_seed(1);
    TIDAL_PASS(tidal__random(buf, sizeof(buf)));
    tidal__random_unseed();
    int zero = 0;
    for (size_t i = 8; i < sizeof(buf); i++) {
        zero += buf[i] == 0;
    }
    cr_assert_lt(zero, 5, "the tail was written");
}

Test(base, the_kernel_source_gives_distinct_nonzero_ids)
{
    uint64_t x = tidal__random_id();
    uint64_t y = tidal__random_id();
    cr_assert_neq(x, 0);
    cr_assert_neq(y, 0);
    cr_assert_neq(x, y);
}
