/*
 * What a session's signals say, read back from tidal (schema.h): the slates
 * it was served, the items it showed most recently, its recent likes.  A
 * slate reads only the session's newest FORAGE_SESSION_TAIL signals, so its
 * cost does not grow with the session.  The
 * app keeps none of this itself, so a session that roamed to another region
 * reads there exactly what it read at home.
 */
#include <stdlib.h>

#include "tidal/errors.h"

#include "app_impl.h"

/* Reads the signals of s from seqno `from` on into a fresh array (*out,
 * the caller frees). */
static int
read_signals(tidal_region *r, tidal_session_id s, tidal_seqno from, tidal_signal_view **out,
             size_t *n)
{
    size_t want = 0;
    *out = NULL;
    int rv = tidal_session_signals_from(r, s, from, NULL, 0, &want);
    while (rv == 0) {
        tidal_signal_view *v = malloc((want > 0 ? want : 1) * sizeof(*v));
        size_t got = 0;
        if (v == NULL)
            return TIDAL_ENOMEM;
        rv = tidal_session_signals_from(r, s, from, v, want, &got);
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

/* What signals v[0..n) say, newest first; whether they held a shown
 * signal at all. */
static bool
scan(struct forage_app *a, const tidal_signal_view *v, size_t n, long item,
     forage_session_facts *out, uint32_t *slate, int *source)
{
    bool shown = false;
    forage_request *q = &out->req;
    for (size_t i = n; i-- > 0;) {
        int src = forage_shown_source(v[i].type);
        int ans = src < 0 ? forage_answer_parse(v[i].type) : -1;
        uint32_t k = slate_of(&v[i]);
        if (src < 0 && ans < 0)
            continue; /* not one of the app's signals */
        shown = shown || src >= 0;
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
    return shown;
}

int
forage_session_read(struct forage_app *a, tidal_region *r, tidal_session_id s, long item,
                    forage_session_facts *out, uint32_t *slate, int *source)
{
    tidal_session_view sv;
    int rv = tidal_get_session(r, s, &sv);
    if (rv != 0)
        return rv;
    /* The newest signals say it all, unless they hold no slate (answers
     * after the last slate filled them) or not the item asked about: then
     * the whole session. */
    tidal_seqno from =
        sv.last_seqno > FORAGE_SESSION_TAIL ? sv.last_seqno - FORAGE_SESSION_TAIL + 1 : 1;
    for (;;) {
        tidal_signal_view *v = NULL;
        size_t n = 0;
        if ((rv = read_signals(r, s, from, &v, &n)) != 0)
            return rv;
        *out = (forage_session_facts){.user = sv.user, .req = {.user = sv.user}};
        if (slate != NULL)
            *slate = 0, *source = -1;
        bool shown = scan(a, v, n, item, out, slate, source);
        free(v);
        if (from <= 1 || (shown && (slate == NULL || *slate != 0)))
            return 0;
        from = 1;
    }
}
