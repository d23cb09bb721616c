/*
 * What a session's signals say, read back from tidal (schema.h): the slates
 * it was served, the items it showed most recently, its recent likes.  The
 * app keeps none of this itself, so a session that roamed to another region
 * reads there exactly what it read at home.
 */
#include <stdlib.h>

#include "tidal/errors.h"

#include "app_impl.h"

/* Reads every signal of s into a fresh array (*out, the caller frees). */
static int
read_signals(tidal_region *r, tidal_session_id s, tidal_signal_view **out, size_t *n)
{
    size_t want = 0;
    *out = NULL;
    int rv = tidal_session_signals(r, s, NULL, 0, &want);
    while (rv == 0) {
        tidal_signal_view *v = malloc((want > 0 ? want : 1) * sizeof(*v));
        size_t got = 0;
        if (v == NULL)
            return TIDAL_ENOMEM;
        rv = tidal_session_signals(r, s, v, want, &got);
        if (rv == 0 && got <= want) {
            *out = v;
            *n = got;
            return 0;
        }
        free(v); /* signals arrived between the two reads: again, larger */
        want = got;
    }
    return rv;
}

static bool
listed(const uint32_t *rows, size_t n, uint32_t row)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i] == row)
            return true;
    return false;
}

/* The slate number a signal carries (its weight), 0 if it carries none. */
static uint32_t
slate_of(const tidal_signal_view *v)
{
    if (!(v->weight >= 1.0 && v->weight <= (double)UINT32_MAX))
        return 0;
    return (uint32_t)v->weight;
}

int
forage_session_read(struct forage_app *a, tidal_region *r, tidal_session_id s, long item,
                    forage_session_facts *out, uint32_t *slate, int *source)
{
    tidal_session_view sv;
    int rv = tidal_get_session(r, s, &sv);
    if (rv != 0)
        return rv;
    tidal_signal_view *v = NULL;
    size_t n = 0;
    rv = read_signals(r, s, &v, &n);
    if (rv != 0)
        return rv;
    *out = (forage_session_facts){.user = sv.user};
    if (slate != NULL)
        *slate = 0, *source = -1;
    forage_request *q = &out->req;
    q->user = sv.user;
    for (size_t i = n; i-- > 0;) { /* newest first */
        int src = forage_shown_source(v[i].type);
        int ans = src < 0 ? forage_answer_parse(v[i].type) : -1;
        uint32_t k = slate_of(&v[i]);
        if (src < 0 && ans < 0)
            continue; /* not one of the app's signals */
        if (k > out->last_slate)
            out->last_slate = k;
        long row = forage_app_row(a, v[i].item);
        if (row < 0)
            continue;
        if (src >= 0 && slate != NULL && row == item && *slate == 0)
            *slate = k, *source = src;
        if (src >= 0 && q->n_exclude < FORAGE_EXCLUDE_MAX &&
            !listed(q->exclude, q->n_exclude, (uint32_t)row))
            q->exclude[q->n_exclude++] = (uint32_t)row;
        if (ans == FORAGE_ANSWER_LIKE && q->n_recent < FORAGE_RECENT_LIKES &&
            !listed(q->recent, q->n_recent, (uint32_t)row))
            q->recent[q->n_recent++] = (uint32_t)row;
    }
    free(v);
    return 0;
}
