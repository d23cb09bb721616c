/*
 * The RLHF export (export.h, docs/rlhf-export.md): sessions written through
 * tidal's public API as schema.h lays them out, exported, every line parsed
 * back with jansson and compared field by field with what tidal holds of
 * the signals written (the round trip); a hide undone - in the session's
 * region or another - rejects nothing; one session against all; and a
 * streaming export whose memory is fixed by its pages, shown by the pages
 * it read.
 */
#include "export_helpers.h"

FORAGE_SUITE(export);

#define USER 42
#define POP FORAGE_SOURCE_POPULAR
#define SIM FORAGE_SOURCE_SIMILAR
#define FRESH FORAGE_SOURCE_FRESH
#define RND FORAGE_SOURCE_RANDOM

static tidal_cluster *
open_cluster(tidal_region **r, int regions)
{
    tidal_cluster *c;
    FORAGE_PASS(tidal_cluster_open(&(tidal_cluster_opts){0}, &c));
    for (int i = 0; i < regions; i++) {
        tidal_region_opts o = {.region_id = (tidal_region_id)i};
        FORAGE_PASS(tidal_region_open(c, &o, &r[i]));
    }
    return c;
}

/* Three slates: 1 answered every way (an answer to it given after slate 2
 * was served), 2 with a hide undone, 3 only viewed. */
static tidal_session_id
write_three_slates(tidal_region *r)
{
    tidal_session_id s;
    FORAGE_PASS(tidal_start_session(r, USER, NULL, &s));
    fx_show(r, s, 1, (tidal_entity_id[]){1, 2, 3, 4, 5}, (int[]){POP, SIM, FRESH, RND, POP}, 5);
    fx_answer(r, USER, s, 1, 1, FORAGE_ANSWER_VIEW);
    fx_answer(r, USER, s, 1, 1, FORAGE_ANSWER_LIKE);
    fx_answer(r, USER, s, 1, 2, FORAGE_ANSWER_SKIP);
    fx_answer(r, USER, s, 1, 3, FORAGE_ANSWER_HIDE);
    fx_answer(r, USER, s, 1, 4, FORAGE_ANSWER_SKIP);
    fx_answer(r, USER, s, 1, 4, FORAGE_ANSWER_LIKE); /* the last answer decides */
    fx_show(r, s, 2, (tidal_entity_id[]){6, 7, 8}, (int[]){RND, SIM, SIM}, 3);
    fx_answer(r, USER, s, 1, 5, FORAGE_ANSWER_SKIP); /* slate 1's, answered late */
    fx_answer(r, USER, s, 2, 6, FORAGE_ANSWER_LIKE);
    fx_answer(r, USER, s, 2, 7, FORAGE_ANSWER_HIDE);
    fx_answer(r, USER, s, 2, 7, FORAGE_ANSWER_UNHIDE);
    fx_answer(r, USER, s, 2, 8, FORAGE_ANSWER_SKIP);
    fx_show(r, s, 3, (tidal_entity_id[]){9, 10}, (int[]){FRESH, FRESH}, 2);
    fx_answer(r, USER, s, 3, 9, FORAGE_ANSWER_VIEW);
    return s;
}

static const char *const shown1[] = {"shown:popular", "shown:similar", "shown:fresh",
                                     "shown:random", "shown:popular"};
static const char *const src1[] = {"popular", "similar", "fresh", "random", "popular"};

Test(export, round_trip_compares_every_field_with_what_tidal_holds)
{
    tidal_region *r[1];
    tidal_cluster *c = open_cluster(r, 1);
    tidal_session_id s = write_three_slates(r[0]);
    fx_lines l = {0};
    forage_export_stats st = {0};
    forage_export_sink sink = {fx_keep, &l};
    FORAGE_PASS(forage_export_session(r[0], s, NULL, &sink, &st));
    cr_assert_eq(l.n, 2, "slates 1 and 2 have answers, 3 has none: %zu lines", l.n);
    cr_assert(st.sessions == 1 && st.slates == 3 && st.lines == 2 && st.slates_unanswered == 1);
    cr_assert(st.chosen == 3 && st.rejected == 4 && st.hides_undone == 1,
              "chosen %" PRIu64 " rejected %" PRIu64 " undone %" PRIu64, st.chosen, st.rejected,
              st.hides_undone);
    cr_assert(st.answers_unmatched == 0 && st.signals_malformed == 0);

    json_t *o = fx_parse(l.v[0]);
    fx_assert_context(o, r[0], USER, s, 1);
    fx_assert_items(o, "shown", r[0], s, 1, (tidal_entity_id[]){1, 2, 3, 4, 5}, shown1, src1, 5);
    fx_assert_items(o, "chosen", r[0], s, 1, (tidal_entity_id[]){1, 4},
                    (const char *const[]){"like", "like"},
                    (const char *const[]){"popular", "random"}, 2);
    fx_assert_items(o, "rejected", r[0], s, 1, (tidal_entity_id[]){2, 3, 5},
                    (const char *const[]){"skip", "hide", "skip"},
                    (const char *const[]){"similar", "fresh", "popular"}, 3);
    json_decref(o);

    o = fx_parse(l.v[1]);
    fx_assert_context(o, r[0], USER, s, 2);
    fx_assert_items(o, "shown", r[0], s, 2, (tidal_entity_id[]){6, 7, 8},
                    (const char *const[]){"shown:random", "shown:similar", "shown:similar"},
                    (const char *const[]){"random", "similar", "similar"}, 3);
    fx_assert_items(o, "chosen", r[0], s, 2, (tidal_entity_id[]){6}, (const char *const[]){"like"},
                    (const char *const[]){"random"}, 1);
    /* item 7 was hidden, then unhidden: not a rejection */
    fx_assert_items(o, "rejected", r[0], s, 2, (tidal_entity_id[]){8},
                    (const char *const[]){"skip"}, (const char *const[]){"similar"}, 1);
    json_decref(o);
    fx_lines_free(&l);
    cr_assert_eq(tidal_cluster_close(c), 0);
}

/* Hides in region 0; one is undone from region 1, one from region 0 by the
 * same user in another session.  Once both regions agree, each exports the
 * session with only the hide that holds as a rejection, its stamp and
 * origin those of region 0's signal. */
Test(export, a_hide_undone_from_another_region_is_no_rejection)
{
    tidal_region *r[2];
    tidal_cluster *c = open_cluster(r, 2);
    tidal_session_id s, other;
    FORAGE_PASS(tidal_start_session(r[0], USER, NULL, &s));
    fx_show(r[0], s, 1, (tidal_entity_id[]){11, 12, 13}, (int[]){POP, POP, SIM}, 3);
    fx_answer(r[0], USER, s, 1, 11, FORAGE_ANSWER_HIDE);
    fx_answer(r[0], USER, s, 1, 12, FORAGE_ANSWER_HIDE);
    fx_answer(r[0], USER, s, 1, 13, FORAGE_ANSWER_HIDE);
    /* item 11 unhidden from region 1 (hard negatives are per user) */
    FORAGE_PASS(tidal_unhide_item(r[1], USER, 11));
    /* item 12 unhidden in another session of the user's */
    FORAGE_PASS(tidal_start_session(r[0], USER, NULL, &other));
    fx_show(r[0], other, 1, (tidal_entity_id[]){12}, (int[]){RND}, 1);
    fx_answer(r[0], USER, other, 1, 12, FORAGE_ANSWER_UNHIDE);
    /* both regions see the unhides and the session's every signal */
    uint64_t lsn[2];
    for (int i = 0; i < 2; i++) {
        tidal_region_stats rs;
        tidal_region_stats_get(r[i], &rs);
        lsn[i] = rs.last_lsn;
    }
    FORAGE_PASS(tidal_region_wait_applied(r[0], 1, lsn[1], FX_DEADLINE_MS));
    FORAGE_PASS(tidal_region_wait_applied(r[1], 0, lsn[0], FX_DEADLINE_MS));
    for (int i = 0; i < 2; i++) {
        fx_lines l = {0};
        forage_export_stats st = {0};
        FORAGE_PASS(forage_export_session(r[i], s, NULL, &(forage_export_sink){fx_keep, &l}, &st));
        cr_assert_eq(l.n, 1, "region %d: %zu lines", i, l.n);
        cr_assert(st.rejected == 1 && st.hides_undone == 2 && st.chosen == 0, "region %d", i);
        json_t *o = fx_parse(l.v[0]);
        fx_assert_context(o, r[i], USER, s, 1);
        /* region 0's signal, read in region 0: the same stamp everywhere */
        fx_assert_items(o, "rejected", r[0], s, 1, (tidal_entity_id[]){13},
                        (const char *const[]){"hide"}, (const char *const[]){"similar"}, 1);
        cr_assert_eq(fx_int(json_array_get(json_object_get(o, "rejected"), 0), "origin"), 0);
        cr_assert_eq(json_array_size(json_object_get(o, "chosen")), 0);
        json_decref(o);
        fx_lines_free(&l);
    }
    cr_assert_eq(tidal_cluster_close(c), 0);
}

/* A session's lines, exported alone. */
static fx_lines
lines_of(tidal_region *r, tidal_session_id s)
{
    fx_lines l = {0};
    FORAGE_PASS(forage_export_session(r, s, NULL, &(forage_export_sink){fx_keep, &l}, NULL));
    return l;
}

static int
by_id(const void *a, const void *b)
{
    const tidal_session_id *x = a, *y = b;
    return x->hi != y->hi   ? (x->hi < y->hi ? -1 : 1)
           : x->lo != y->lo ? (x->lo < y->lo ? -1 : 1)
                            : 0;
}

Test(export, all_sessions_are_each_session_in_id_order)
{
    tidal_region *r[1];
    tidal_cluster *c = open_cluster(r, 1);
    tidal_session_id s[4];
    s[0] = write_three_slates(r[0]);
    for (int i = 1; i < 4; i++) { /* users 1..3, one liked item each */
        FORAGE_PASS(tidal_start_session(r[0], (tidal_entity_id)i, NULL, &s[i]));
        fx_show(r[0], s[i], 1, (tidal_entity_id[]){100 + i}, (int[]){FRESH}, 1);
        fx_answer(r[0], (tidal_entity_id)i, s[i], 1, 100 + i, FORAGE_ANSWER_LIKE);
    }
    qsort(s, 4, sizeof(s[0]), by_id);
    fx_lines all = {0};
    FORAGE_PASS(forage_export_all(r[0], NULL, &(forage_export_sink){fx_keep, &all}, NULL));
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        fx_lines one = lines_of(r[0], s[i]);
        for (size_t k = 0; k < one.n; k++, at++) {
            cr_assert_lt(at, all.n);
            cr_assert_str_eq(all.v[at], one.v[k], "session %d line %zu", i, k);
        }
        fx_lines_free(&one);
    }
    cr_assert_eq(at, all.n, "all = the sessions' lines, nothing else");
    cr_assert_eq(all.n, 5);
    fx_lines_free(&all);
    tidal_session_id unknown = {1, 2};
    fx_lines none = {0};
    FORAGE_FAIL(
        forage_export_session(r[0], unknown, NULL, &(forage_export_sink){fx_keep, &none}, NULL),
        TIDAL_ENOENT);
    cr_assert_eq(none.n, 0);
    FORAGE_FAIL(forage_export_all(r[0], &(forage_export_opts){.signal_page = 4097},
                                  &(forage_export_sink){fx_keep, &none}, NULL),
                TIDAL_EINVAL);
    FORAGE_FAIL(forage_export_all(r[0], NULL, &(forage_export_sink){NULL, NULL}, NULL),
                TIDAL_EINVAL);
    FORAGE_FAIL(forage_export_all(NULL, NULL, &(forage_export_sink){fx_keep, &none}, NULL),
                TIDAL_EINVAL);
    cr_assert_eq(tidal_cluster_close(c), 0);
}

struct counter {
    uint64_t lines;
    uint64_t stop_after; /* 0: never */
};

static int
count_line(void *arg, const char *text, size_t len)
{
    struct counter *k = arg;
    cr_assert(len > 1 && text[len - 1] == '\n');
    k->lines++;
    return k->stop_after != 0 && k->lines == k->stop_after ? TIDAL_ECLOSED : 0;
}

#define MANY 300

/* 300 sessions of one answered slate, and one of 40 slates, exported in
 * pages of 7 sessions and 3 signals: every line comes, read page by page
 * (the pages counted are exactly what the sizes imply), with the same
 * buffer as an export of one session; a sink's error ends it at once. */
Test(export, streaming_reads_pages_with_memory_fixed_by_the_options)
{
    tidal_region *r[1];
    tidal_cluster *c = open_cluster(r, 1);
    for (int i = 0; i < MANY; i++) {
        tidal_session_id s;
        FORAGE_PASS(tidal_start_session(r[0], (tidal_entity_id)(i % 17), NULL, &s));
        fx_show(r[0], s, 1, (tidal_entity_id[]){1, 2}, (int[]){POP, RND}, 2);
        fx_answer(r[0], (tidal_entity_id)(i % 17), s, 1, 1, FORAGE_ANSWER_LIKE);
        fx_answer(r[0], (tidal_entity_id)(i % 17), s, 1, 2, FORAGE_ANSWER_SKIP);
    }
    tidal_session_id big;
    FORAGE_PASS(tidal_start_session(r[0], 99, NULL, &big));
    for (int k = 1; k <= 40; k++) { /* past two windows of 16 slates */
        fx_show(r[0], big, k, (tidal_entity_id[]){(tidal_entity_id)k}, (int[]){SIM}, 1);
        fx_answer(r[0], 99, big, k, (tidal_entity_id)k, FORAGE_ANSWER_LIKE);
    }
    forage_export_opts o = {.session_page = 7, .signal_page = 3};
    struct counter k = {0};
    forage_export_stats st = {0};
    FORAGE_PASS(forage_export_all(r[0], &o, &(forage_export_sink){count_line, &k}, &st));
    cr_assert_eq(k.lines, MANY + 40);
    cr_assert_eq(st.lines, MANY + 40);
    cr_assert_eq(st.sessions, MANY + 1);
    /* 301 sessions in pages of 7: 43 pages, the last holding 0 < 7 - 1 */
    cr_assert_eq(st.session_pages, (MANY + 1 + 6) / 7, "%" PRIu64 " session pages",
                 st.session_pages);
    /* 4 signals a small session in pages of 3: 2 pages; the big one's 80 in
     * 27 pages, read once per window of 16 slates: 3 windows */
    cr_assert_eq(st.signal_pages, 2 * MANY + 3 * 27, "%" PRIu64 " signal pages", st.signal_pages);

    forage_export_stats one = {0};
    struct counter k1 = {0};
    FORAGE_PASS(forage_export_session(r[0], big, &o, &(forage_export_sink){count_line, &k1}, &one));
    cr_assert_eq(k1.lines, 40);
    cr_assert_eq(one.buffer_bytes, st.buffer_bytes, "the same buffer for 1 session or %d",
                 MANY + 1);
    cr_assert_lt(st.buffer_bytes, 256 * 1024, "%zu bytes", st.buffer_bytes);

    struct counter stop = {.stop_after = 5};
    FORAGE_FAIL(forage_export_all(r[0], &o, &(forage_export_sink){count_line, &stop}, NULL),
                TIDAL_ECLOSED);
    cr_assert_eq(stop.lines, 5, "nothing after the sink's error");
    cr_assert_eq(tidal_cluster_close(c), 0);
}
