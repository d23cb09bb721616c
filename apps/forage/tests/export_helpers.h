/*
 * Helpers of the RLHF export's suites: sessions written through tidal's
 * public API exactly as schema.h lays them out (a slate's items as
 * "shown:<source>" signals with the slate's number as weight, answers with
 * the slate's number, hides and unhides also as hard negatives), a sink
 * that keeps the lines, and checks of a parsed line's items against the
 * signals tidal holds.
 */
#ifndef FORAGE_EXPORT_HELPERS_H
#define FORAGE_EXPORT_HELPERS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "export.h"
#include "forage_test.h"
#include "schema.h"

#define FX_HELPER static __attribute__((unused))
#define FX_T0 (1700000000ull * 1000000000ull)
#define FX_DEADLINE_MS 10000

/* ---- writing, as schema.h says ---- */

/* Shows items[0..n) as slate `slate` of session s, each from source
 * sources[i]. */
FX_HELPER void
fx_show(tidal_region *r, tidal_session_id s, int slate, const tidal_entity_id *items,
        const int *sources, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char type[32];
        forage_shown_type(sources[i], type);
        FORAGE_PASS(tidal_signal_in_session(r, s, type, items[i], slate, FX_T0 + i));
    }
}

/* A person's answer about item in slate `slate`: the signal, and for a hide
 * or an unhide the hard negative too. */
FX_HELPER void
fx_answer(tidal_region *r, tidal_entity_id user, tidal_session_id s, int slate,
          tidal_entity_id item, int answer)
{
    FORAGE_PASS(
        tidal_signal_in_session(r, s, forage_answer_type(answer), item, slate, FX_T0 + 1000));
    if (answer == FORAGE_ANSWER_HIDE) {
        FORAGE_PASS(tidal_hide_item(r, user, item));
    } else if (answer == FORAGE_ANSWER_UNHIDE) {
        FORAGE_PASS(tidal_unhide_item(r, user, item));
    }
}

/* The last signal of session s with this type, item and slate, as r holds
 * it. */
FX_HELPER tidal_signal_view
fx_signal(tidal_region *r, tidal_session_id s, const char *type, tidal_entity_id item, int slate)
{
    static tidal_signal_view all[1024];
    size_t n;
    FORAGE_PASS(tidal_session_signals(r, s, all, 1024, &n));
    cr_assert_leq(n, 1024);
    for (size_t i = n; i-- > 0;) {
        if (strcmp(all[i].type, type) == 0 && all[i].item == item && all[i].weight == slate) {
            return all[i];
        }
    }
    cr_assert_fail("no %s signal of item %" PRIu64 " in slate %d", type, item, slate);
    return all[0]; /* not reached: cr_assert_fail ends the test */
}

/* ---- the lines ---- */

typedef struct fx_lines {
    char **v;
    size_t n, cap;
} fx_lines;

/* A sink that keeps a copy of every line. */
FX_HELPER int
fx_keep(void *arg, const char *text, size_t len)
{
    fx_lines *l = arg;
    cr_assert(len > 0 && text[len - 1] == '\n' && text[len] == '\0', "a line ends in \\n");
    cr_assert(memchr(text, '\n', len - 1) == NULL, "one line: no newline inside");
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        cr_assert(l->v != NULL);
    }
    l->v[l->n++] = strdup(text);
    return 0;
}

FX_HELPER void
fx_lines_free(fx_lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i]);
    }
    free(l->v);
    *l = (fx_lines){0};
}

/* The line parsed; asserts it is one JSON object. */
FX_HELPER json_t *
fx_parse(const char *line)
{
    json_error_t err;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    cr_assert(o != NULL && json_is_object(o), "not a JSON object: %s (%s)", line, err.text);
    return o;
}

/* The line of slate `slate` among lines, parsed, or NULL. */
FX_HELPER json_t *
fx_find_slate(const fx_lines *l, int slate)
{
    for (size_t i = 0; i < l->n; i++) {
        json_t *o = fx_parse(l->v[i]);
        if (json_integer_value(json_object_get(o, "slate")) == slate) {
            return o;
        }
        json_decref(o);
    }
    return NULL;
}

FX_HELPER json_int_t
fx_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
    return json_integer_value(v);
}

/* The context fields of a line. */
FX_HELPER void
fx_assert_context(const json_t *o, tidal_region *r, tidal_entity_id user, tidal_session_id s,
                  int slate)
{
    char hex[33];
    forage_export_session_hex(s, hex);
    cr_assert_str_eq(json_string_value(json_object_get(o, "schema")), FORAGE_EXPORT_SCHEMA);
    cr_assert_eq(fx_int(o, "region"), tidal_region_id_of(r));
    cr_assert_eq(fx_int(o, "user"), (json_int_t)user);
    cr_assert_str_eq(json_string_value(json_object_get(o, "session")), hex);
    cr_assert_eq(fx_int(o, "slate"), slate);
    cr_assert_eq(json_object_size(o), 8,
                 "8 fields: schema region user session slate shown "
                 "chosen rejected");
}

/* One item of a line against the signal v it must come from. */
FX_HELPER void
fx_assert_item(const json_t *it, const tidal_signal_view *v, const char *source, const char *answer)
{
    cr_assert_eq(fx_int(it, "item"), (json_int_t)v->item);
    cr_assert_str_eq(json_string_value(json_object_get(it, "source")), source);
    if (answer != NULL) {
        cr_assert_str_eq(json_string_value(json_object_get(it, "answer")), answer);
    } else {
        cr_assert_null(json_object_get(it, "answer"), "a shown item has no answer");
    }
    cr_assert_eq(fx_int(it, "seqno"), (json_int_t)v->seqno);
    cr_assert_eq(fx_int(it, "ts_ns"), (json_int_t)v->ts_ns);
    cr_assert_eq(fx_int(it, "origin"), v->origin);
    const json_t *st = json_object_get(it, "stamp");
    cr_assert(json_is_object(st) && json_object_size(st) == 3);
    cr_assert_eq(fx_int(st, "wall_ns"), (json_int_t)v->stamp.wall_ns);
    cr_assert_eq(fx_int(st, "logical"), v->stamp.logical);
    cr_assert_eq(fx_int(st, "node"), v->stamp.node_id);
    cr_assert_neq(v->stamp.wall_ns, 0, "tidal stamps every signal");
}

/* The items of array `key` of a line, in order, against expected items: each
 * the signal of type `type` (the shown type for "shown") for that item and
 * slate. */
FX_HELPER void
fx_assert_items(const json_t *o, const char *key, tidal_region *r, tidal_session_id s, int slate,
                const tidal_entity_id *items, const char *const *types, const char *const *sources,
                size_t n)
{
    const json_t *a = json_object_get(o, key);
    cr_assert(json_is_array(a), "\"%s\" is an array", key);
    cr_assert_eq(json_array_size(a), n, "slate %d: %zu %s, expected %zu", slate, json_array_size(a),
                 key, n);
    for (size_t i = 0; i < n; i++) {
        tidal_signal_view v = fx_signal(r, s, types[i], items[i], slate);
        bool shown = strcmp(key, "shown") == 0;
        fx_assert_item(json_array_get(a, i), &v, sources[i], shown ? NULL : types[i]);
    }
}

#endif /* FORAGE_EXPORT_HELPERS_H */
