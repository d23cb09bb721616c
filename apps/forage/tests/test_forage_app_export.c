/*
 * The live app (app.h) feeding the RLHF export (export.h): slates served
 * and answered through the app come out as the export's lines, the chosen
 * against the rejected, and a hide undone through the app is no rejection.
 */
#include "export_helpers.h"

#include "app.h"

FORAGE_SUITE(forage_app_export);

static bool
in_array(const json_t *o, const char *key, uint64_t item)
{
    const json_t *arr = json_object_get(o, key);
    size_t i;
    const json_t *it;
    cr_assert(json_is_array(arr), "no array %s", key);
    json_array_foreach(arr, i, it)
    {
        if ((uint64_t)fx_int(it, "item") == item) {
            return true;
        }
    }
    return false;
}

Test(forage_app_export, answers_through_the_app_are_the_exports_pairs)
{
    forage_app *a = NULL;
    char err[FORAGE_ERR_BYTES];
    forage_app_opts o = {.regions = 2, .seed = 3};
    FORAGE_PASS(forage_app_open(&o, &a, err));
    tidal_session_id s;
    forage_served sv, sv2;
    FORAGE_PASS(forage_app_start(a, 0, 77, &s));
    FORAGE_PASS(forage_app_slate(a, 0, s, &sv));
    cr_assert_geq(sv.n, 5);
    uint64_t liked = sv.items[0].item, skipped = sv.items[1].item, hidden = sv.items[2].item,
             undone = sv.items[3].item, viewed = sv.items[4].item;
    FORAGE_PASS(forage_app_answer(a, 0, s, liked, FORAGE_ANSWER_LIKE));
    FORAGE_PASS(forage_app_answer(a, 0, s, skipped, FORAGE_ANSWER_SKIP));
    FORAGE_PASS(forage_app_answer(a, 0, s, hidden, FORAGE_ANSWER_HIDE));
    FORAGE_PASS(forage_app_answer(a, 0, s, undone, FORAGE_ANSWER_HIDE));
    FORAGE_PASS(forage_app_answer(a, 0, s, viewed, FORAGE_ANSWER_VIEW));
    /* The hide is undone in the other region, where the session roams. */
    tidal_region_stats st;
    tidal_region_stats_get(forage_app_region(a, 0), &st);
    FORAGE_PASS(tidal_region_wait_applied(forage_app_region(a, 1), 0, st.last_lsn, 30000));
    FORAGE_PASS(forage_app_answer(a, 1, s, undone, FORAGE_ANSWER_UNHIDE));
    FORAGE_PASS(forage_app_slate(a, 1, s, &sv2)); /* a slate with no answer: no line */
    tidal_region_stats_get(forage_app_region(a, 1), &st);
    FORAGE_PASS(tidal_region_wait_applied(forage_app_region(a, 0), 1, st.last_lsn, 30000));

    for (uint32_t region = 0; region < 2; region++) {
        fx_lines lines = {0};
        forage_export_sink sink = {.line = fx_keep, .arg = &lines};
        forage_export_stats es;
        FORAGE_PASS(forage_export_session(forage_app_region(a, region), s, NULL, &sink, &es));
        cr_assert_eq(lines.n, 1, "region %u: one slate answered, %zu lines", region, lines.n);
        json_t *line = fx_parse(lines.v[0]);
        cr_assert_eq(fx_int(line, "slate"), 1);
        cr_assert_eq(fx_int(line, "user"), 77);
        cr_assert_eq(json_array_size(json_object_get(line, "shown")), sv.n);
        cr_assert(in_array(line, "chosen", liked));
        cr_assert_eq(json_array_size(json_object_get(line, "chosen")), 1);
        cr_assert(in_array(line, "rejected", skipped));
        cr_assert(in_array(line, "rejected", hidden));
        cr_assert(!in_array(line, "rejected", undone), "a hide undone is no rejection");
        cr_assert(!in_array(line, "rejected", viewed) && !in_array(line, "chosen", viewed));
        cr_assert_eq(json_array_size(json_object_get(line, "rejected")), 2);
        json_decref(line);
        fx_lines_free(&lines);
    }
    FORAGE_PASS(forage_app_close(a));
}
