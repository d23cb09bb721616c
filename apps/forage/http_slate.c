/*
 * A session's latest slate, read back from tidal as a region sees it
 * (schema.h): the "shown:<source>" signals that carry the highest slate
 * number, in the order they were written, each with the session's latest
 * answer about that item in that slate, the items the user has hidden since
 * (tidal's hard negatives, from any region) left out.  app.h serves slates
 * but has no read of the last one, and a page that refreshes must not
 * serve (and record) a new slate each time; this reads it with tidal's
 * public calls only.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "tidal/errors.h"

/* Every signal of s in region r into *out (malloc'd; *n of them). */
static int
signals_of(tidal_region *r, tidal_session_id s, tidal_signal_view **out, size_t *n)
{
    size_t have = 0;
    int rv = tidal_session_signals(r, s, NULL, 0, &have);
    for (;;) {
        if (rv != 0) {
            return rv;
        }
        size_t room = have + 16; /* signals may arrive between the calls */
        tidal_signal_view *v = malloc(room * sizeof(*v));
        if (v == NULL) {
            return TIDAL_ENOMEM;
        }
        rv = tidal_session_signals(r, s, v, room, &have);
        if (rv == 0 && have <= room) {
            *out = v;
            *n = have;
            return 0;
        }
        free(v);
    }
}

static const char *
title_of(const forage_catalogue *c, uint64_t item)
{
    long row = forage_catalogue_find(c, item);
    return row >= 0 ? c->titles[row] : "?";
}

/* The latest answer about item in slate k after signal i, or NULL. */
static const char *
answer_of(const tidal_signal_view *v, size_t n, size_t i, uint64_t item, uint32_t k)
{
    const char *ans = NULL;
    for (size_t x = i + 1; x < n; x++) {
        if (v[x].item == item && (uint32_t)v[x].weight == k &&
            forage_answer_parse(v[x].type) >= 0) {
            ans = forage_answer_type(forage_answer_parse(v[x].type));
        }
    }
    return ans;
}

/* The items of slate k as a JSON array (NULL: no memory). */
static int
items_of(forage_app *app, uint32_t region, tidal_entity_id user, const tidal_signal_view *v,
         size_t n, uint32_t k, json_t **out)
{
    const forage_catalogue *c = forage_app_catalogue(app);
    json_t *items = json_array();
    if (items == NULL) {
        return TIDAL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int src = forage_shown_source(v[i].type);
        if (src < 0 || (uint32_t)v[i].weight != k) {
            continue;
        }
        bool hidden;
        int rv = forage_app_hidden(app, region, user, v[i].item, &hidden);
        if (rv != 0) {
            json_decref(items);
            return rv;
        }
        if (hidden) {
            continue;
        }
        const char *label = forage_app_item_label(app, v[i].item);
        const char *ans = answer_of(v, n, i, v[i].item, k);
        json_t *it = json_pack("{s:I, s:s, s:s, s:s, s:s?}", "id", (json_int_t)v[i].item, "title",
                               title_of(c, v[i].item), "label", label != NULL ? label : "?",
                               "source", forage_source_name(src), "answer", ans);
        if (it == NULL || json_array_append_new(items, it) != 0) {
            json_decref(items);
            return TIDAL_ENOMEM;
        }
    }
    *out = items;
    return 0;
}

/* Session s's latest slate in region: its user, its number (0 if none was
 * served yet), its items not hidden now.  TIDAL_ENOENT for an unknown
 * session; nothing is written. */
int
forage_http_current_slate(forage_app *app, uint32_t region, tidal_session_id s,
                          tidal_entity_id *user, uint32_t *slate, json_t **items)
{
    tidal_region *r = forage_app_region(app, region);
    tidal_session_view sv;
    int rv = tidal_get_session(r, s, &sv);
    if (rv != 0) {
        return rv;
    }
    tidal_signal_view *v;
    size_t n;
    if ((rv = signals_of(r, s, &v, &n)) != 0) {
        return rv;
    }
    uint32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (forage_shown_source(v[i].type) >= 0 && (uint32_t)v[i].weight > k) {
            k = (uint32_t)v[i].weight;
        }
    }
    rv = items_of(app, region, sv.user, v, n, k, items);
    free(v);
    if (rv == 0) {
        *user = sv.user;
        *slate = k;
    }
    return rv;
}
