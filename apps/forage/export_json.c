/*
 * One line of the RLHF export in JSON (docs/rlhf-export.md, "Fields"),
 * built with jansson, which keeps an object's keys in insertion order, so
 * every line names its fields in the documented order.
 *
 * Numbers: JSON has one number type and jansson's integers are int64_t.  A
 * user or item id above INT64_MAX is written as a string of its decimal
 * digits (the document says so; Forage's ids are far below); a stamp's
 * wall_ns and ts_ns are integers until the year 2262.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "export_slate.h"
#include "schema.h"

/* An id as a JSON integer, or a decimal string above INT64_MAX.  NULL if
 * out of memory. */
static json_t *
id_json(uint64_t id)
{
    if (id <= INT64_MAX) {
        return json_integer((json_int_t)id);
    }
    char digits[24];
    snprintf(digits, sizeof(digits), "%" PRIu64, id);
    return json_string(digits);
}

static json_t *
uint_json(uint64_t v)
{
    return json_integer(v <= INT64_MAX ? (json_int_t)v : INT64_MAX);
}

void
forage_export_session_hex(tidal_session_id s, char out[33])
{
    snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, s.hi, s.lo);
}

/* The fields of a mark, added to o in order.  Returns false if out of
 * memory. */
static bool
add_mark(json_t *o, const forage_export_mark *m)
{
    json_t *stamp = json_pack("{s:o, s:I, s:I}", "wall_ns", uint_json(m->stamp.wall_ns), "logical",
                              (json_int_t)m->stamp.logical, "node", (json_int_t)m->stamp.node_id);
    return stamp != NULL && json_object_set_new(o, "seqno", uint_json(m->seqno)) == 0 &&
           json_object_set_new(o, "ts_ns", uint_json(m->ts_ns)) == 0 &&
           json_object_set_new(o, "stamp", stamp) == 0 &&
           json_object_set_new(o, "origin", json_integer(m->origin)) == 0;
}

/* {"item", "source", seqno, ts_ns, stamp, origin} of a shown item. */
static json_t *
shown_json(const forage_export_item *it)
{
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "item", id_json(it->item)) != 0 ||
        json_object_set_new(o, "source", json_string(it->source)) != 0 ||
        !add_mark(o, &it->shown)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* schema.h's name of a deciding answer. */
static const char *
answer_name(int answer)
{
    return answer == FORAGE_ANSWER_LIKE   ? FORAGE_SIGNAL_LIKE_TYPE
           : answer == FORAGE_ANSWER_SKIP ? FORAGE_SIGNAL_SKIP_TYPE
                                          : FORAGE_SIGNAL_HIDE_TYPE;
}

/* {"item", "answer", seqno, ts_ns, stamp, origin, "source"} of an answered
 * item. */
static json_t *
answered_json(const forage_export_item *it)
{
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(o, "item", id_json(it->item)) != 0 ||
        json_object_set_new(o, "answer", json_string(answer_name(it->answer))) != 0 ||
        !add_mark(o, &it->answered) ||
        json_object_set_new(o, "source", json_string(it->source)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The three arrays of a slate.  Returns false if out of memory. */
static bool
add_items(json_t *line, const forage_export_slate *sl)
{
    json_t *shown = json_array(), *chosen = json_array(), *rejected = json_array();
    bool ok = shown != NULL && chosen != NULL && rejected != NULL;
    for (size_t i = 0; ok && i < sl->n; i++) {
        const forage_export_item *it = &sl->items[i];
        ok = json_array_append_new(shown, shown_json(it)) == 0;
        if (ok && it->answer == FORAGE_ANSWER_LIKE) {
            ok = json_array_append_new(chosen, answered_json(it)) == 0;
        } else if (ok && it->rejected) {
            ok = json_array_append_new(rejected, answered_json(it)) == 0;
        }
    }
    /* _set_new takes the reference, also on failure */
    ok = json_object_set_new(line, "shown", shown) == 0 && ok;
    ok = json_object_set_new(line, "chosen", chosen) == 0 && ok;
    ok = json_object_set_new(line, "rejected", rejected) == 0 && ok;
    return ok;
}

int
forage__export_line(const forage_export_context *ctx, const forage_export_slate *sl, char **out,
                    size_t *len)
{
    char hex[33];
    forage_export_session_hex(ctx->session, hex);
    *out = NULL;
    json_t *line = json_pack("{s:s, s:i, s:o, s:s, s:I}", "schema", FORAGE_EXPORT_SCHEMA, "region",
                             (int)ctx->region, "user", id_json(ctx->user), "session", hex, "slate",
                             (json_int_t)sl->number);
    if (line == NULL) {
        return TIDAL_ENOMEM;
    }
    if (!add_items(line, sl)) {
        json_decref(line);
        return TIDAL_ENOMEM;
    }
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (text == NULL) {
        return TIDAL_ENOMEM;
    }
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (withnl == NULL) {
        free(text);
        return TIDAL_ENOMEM;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *out = withnl;
    *len = n + 1;
    return 0;
}
