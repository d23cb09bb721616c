/*
 * The RLHF export's walk (export.h): sessions in pages, each session's
 * signals in pages, its slates built a window at a time in a fixed table,
 * each slate's line handed to the sink as soon as the window is read.
 *
 * A slate's number is its signals' weight (schema.h).  Within a window a
 * pass over the session's signals (seqno order) records, per slate, each
 * item its "shown:<source>" signals name (the first one), then each like,
 * skip or hide naming a shown item with that slate's number (the last one
 * wins: seqno order is the order the session's home took them).  Views and
 * unhides decide nothing: whether a hide still holds is tidal's hard-
 * negative state, asked when the line is made.
 */
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "export_slate.h"
#include "schema.h"

/* The largest slate number: a float's weight holds every integer to 2^24. */
#define SLATE_NUMBER_MAX (1u << 24)

/* One call's memory, allocated once: the pages and the window. */
typedef struct walker {
    tidal_region *r;
    const forage_export_sink *sink;
    forage_export_stats *st;
    size_t session_page, signal_page;
    tidal_session_id *ids;       /* session_page */
    tidal_signal_view *sigs;     /* signal_page */
    forage_export_slate *window; /* FORAGE_EXPORT_WINDOW_SLATES */
} walker;

static int
walker_open(walker *w, tidal_region *r, const forage_export_opts *opts,
            const forage_export_sink *sink, forage_export_stats *st)
{
    forage_export_opts o = opts != NULL ? *opts : (forage_export_opts){0};
    if (r == NULL || sink == NULL || sink->line == NULL ||
        o.session_page > FORAGE_EXPORT_PAGE_MAX || o.signal_page > FORAGE_EXPORT_PAGE_MAX) {
        return TIDAL_EINVAL;
    }
    *w = (walker){.r = r,
                  .sink = sink,
                  .st = st,
                  .session_page = o.session_page ? o.session_page : FORAGE_EXPORT_PAGE_DEFAULT,
                  .signal_page = o.signal_page ? o.signal_page : FORAGE_EXPORT_PAGE_DEFAULT};
    size_t bytes = w->session_page * sizeof(*w->ids) + w->signal_page * sizeof(*w->sigs) +
                   FORAGE_EXPORT_WINDOW_SLATES * sizeof(*w->window);
    w->ids = malloc(w->session_page * sizeof(*w->ids));
    w->sigs = malloc(w->signal_page * sizeof(*w->sigs));
    w->window = malloc(FORAGE_EXPORT_WINDOW_SLATES * sizeof(*w->window));
    if (w->ids == NULL || w->sigs == NULL || w->window == NULL) {
        free(w->ids);
        free(w->sigs);
        free(w->window);
        return TIDAL_ENOMEM;
    }
    if (st != NULL && bytes > st->buffer_bytes) {
        st->buffer_bytes = bytes;
    }
    return 0;
}

static void
walker_close(walker *w)
{
    free(w->ids);
    free(w->sigs);
    free(w->window);
}

/* The slate number a weight carries, or 0 if it is none. */
static uint32_t
slate_of(double weight)
{
    if (!(weight >= 1 && weight <= SLATE_NUMBER_MAX) || weight != (double)(uint32_t)weight) {
        return 0;
    }
    return (uint32_t)weight;
}

/* The answer a signal type names that can decide an item (like, skip,
 * hide), or -1.  schema.h's names, compared here so that the export needs
 * no more of the app than that header. */
static int
deciding_answer(const char *type)
{
    return strcmp(type, FORAGE_SIGNAL_LIKE_TYPE) == 0   ? FORAGE_ANSWER_LIKE
           : strcmp(type, FORAGE_SIGNAL_SKIP_TYPE) == 0 ? FORAGE_ANSWER_SKIP
           : strcmp(type, FORAGE_SIGNAL_HIDE_TYPE) == 0 ? FORAGE_ANSWER_HIDE
                                                        : -1;
}

static forage_export_item *
find_item(forage_export_slate *sl, tidal_entity_id item)
{
    for (size_t i = 0; i < sl->n; i++) {
        if (sl->items[i].item == item) {
            return &sl->items[i];
        }
    }
    return NULL;
}

static forage_export_mark
mark_of(const tidal_signal_view *v)
{
    return (forage_export_mark){
        .seqno = v->seqno, .ts_ns = v->ts_ns, .stamp = v->stamp, .origin = v->origin};
}

/* Takes one signal into the window [lo, lo + WINDOW) (first: the first
 * window, which counts what is counted once per session); *top gets the
 * highest slate number seen. */
static void
take_signal(walker *w, const tidal_signal_view *v, uint32_t lo, bool first, uint32_t *top)
{
    bool shown =
        strncmp(v->type, FORAGE_SIGNAL_SHOWN_PREFIX, sizeof(FORAGE_SIGNAL_SHOWN_PREFIX) - 1) == 0;
    int answer = shown ? -1 : deciding_answer(v->type);
    if (!shown && answer < 0) {
        return; /* a view, an unhide, another app's type: decides nothing */
    }
    uint32_t k = slate_of(v->weight);
    if (k == 0) {
        w->st->signals_malformed += first;
        return;
    }
    if (shown && k > *top) {
        *top = k;
    }
    if (k < lo || k - lo >= FORAGE_EXPORT_WINDOW_SLATES) {
        return;
    }
    forage_export_slate *sl = &w->window[k - lo];
    sl->number = k;
    forage_export_item *it = find_item(sl, v->item);
    if (shown) {
        if (it != NULL) {
            return; /* shown twice in one slate: the first showing stands */
        }
        if (sl->n == FORAGE_EXPORT_SLATE_ITEMS_MAX) {
            sl->over_limit = true;
            return;
        }
        it = &sl->items[sl->n++];
        *it = (forage_export_item){.item = v->item, .shown = mark_of(v), .answer = -1};
        strcpy(it->source, v->type + sizeof(FORAGE_SIGNAL_SHOWN_PREFIX) - 1);
    } else if (it == NULL) {
        w->st->answers_unmatched += !sl->over_limit;
    } else {
        it->answer = answer; /* signals come in seqno order: the last wins */
        it->answered = mark_of(v);
    }
}

/* True if the item is hidden for user now (tidal's hard-negative state):
 * retrieval filters it.  *rv gets an error of the read. */
static bool
hidden_now(tidal_region *r, tidal_entity_id user, tidal_entity_id item, int *rv)
{
    tidal_scored_item out[1];
    size_t n = 0;
    tidal_retrieve q = {.user = user, .candidates = &item, .ncandidates = 1};
    *rv = tidal_retrieve_items(r, &q, out, &n);
    return *rv == 0 && n == 0;
}

/* Decides the slate's rejections and gives its line to the sink, if it
 * has an answer. */
static int
emit_slate(walker *w, const forage_export_context *ctx, forage_export_slate *sl)
{
    size_t chosen = 0, rejected = 0;
    int rv = 0;
    w->st->slates++;
    if (sl->over_limit) {
        w->st->slates_over_limit++;
        return 0;
    }
    for (size_t i = 0; i < sl->n; i++) {
        forage_export_item *it = &sl->items[i];
        it->rejected = it->answer == FORAGE_ANSWER_SKIP;
        if (it->answer == FORAGE_ANSWER_HIDE) {
            it->rejected = hidden_now(w->r, ctx->user, it->item, &rv);
            if (rv != 0) {
                return rv;
            }
            w->st->hides_undone += !it->rejected;
        }
        chosen += it->answer == FORAGE_ANSWER_LIKE;
        rejected += it->rejected;
    }
    if (chosen == 0 && rejected == 0) {
        w->st->slates_unanswered++;
        return 0;
    }
    char *text;
    size_t len;
    if ((rv = forage__export_line(ctx, sl, &text, &len)) != 0) {
        return rv;
    }
    rv = w->sink->line(w->sink->arg, text, len);
    free(text);
    if (rv == 0) {
        w->st->lines++;
        w->st->chosen += chosen;
        w->st->rejected += rejected;
    }
    return rv;
}

/* One pass over the session's signals for the window from lo; *top gets
 * the highest slate number. */
static int
read_window(walker *w, tidal_session_id s, uint32_t lo, uint32_t *top)
{
    tidal_seqno from = 0;
    for (;;) {
        size_t n;
        int rv = tidal_session_signals_from(w->r, s, from, w->sigs, w->signal_page, &n);
        if (rv != 0) {
            return rv;
        }
        w->st->signal_pages++;
        size_t got = n < w->signal_page ? n : w->signal_page;
        for (size_t i = 0; i < got; i++) {
            take_signal(w, &w->sigs[i], lo, lo == 1, top);
        }
        if (n <= w->signal_page) {
            return 0;
        }
        from = w->sigs[got - 1].seqno + 1;
    }
}

static int
export_one(walker *w, tidal_session_id s)
{
    tidal_session_view v;
    int rv = tidal_get_session(w->r, s, &v);
    if (rv != 0) {
        return rv;
    }
    forage_export_context ctx = {.region = tidal_region_id_of(w->r), .user = v.user, .session = s};
    uint32_t top = 0;
    for (uint32_t lo = 1; lo == 1 || lo <= top; lo += FORAGE_EXPORT_WINDOW_SLATES) {
        for (size_t k = 0; k < FORAGE_EXPORT_WINDOW_SLATES; k++) {
            w->window[k].number = 0;
            w->window[k].n = 0;
            w->window[k].over_limit = false;
        }
        if ((rv = read_window(w, s, lo, &top)) != 0) {
            return rv;
        }
        for (size_t k = 0; k < FORAGE_EXPORT_WINDOW_SLATES; k++) {
            if (w->window[k].n > 0 || w->window[k].over_limit) {
                if ((rv = emit_slate(w, &ctx, &w->window[k])) != 0) {
                    return rv;
                }
            }
        }
    }
    w->st->sessions++;
    return 0;
}

int
forage_export_session(tidal_region *r, tidal_session_id s, const forage_export_opts *opts,
                      const forage_export_sink *sink, forage_export_stats *st)
{
    forage_export_stats scratch = {0};
    walker w;
    int rv = walker_open(&w, r, opts, sink, st != NULL ? st : &scratch);
    if (rv != 0) {
        return rv;
    }
    rv = export_one(&w, s);
    walker_close(&w);
    return rv;
}

int
forage_export_all(tidal_region *r, const forage_export_opts *opts, const forage_export_sink *sink,
                  forage_export_stats *st)
{
    forage_export_stats scratch = {0};
    walker w;
    int rv = walker_open(&w, r, opts, sink, st != NULL ? st : &scratch);
    if (rv != 0) {
        return rv;
    }
    tidal_session_id cursor;
    const tidal_session_id *after = NULL;
    for (;;) {
        size_t n;
        if ((rv = tidal_region_sessions(r, after, w.ids, w.session_page, &n)) != 0) {
            break;
        }
        w.st->session_pages++;
        size_t got = n < w.session_page ? n : w.session_page;
        for (size_t i = 0; rv == 0 && i < got; i++) {
            rv = export_one(&w, w.ids[i]);
            if (rv == TIDAL_ENOENT) { /* freed since it was listed */
                w.st->sessions_gone++;
                rv = 0;
            }
        }
        if (rv != 0 || n <= w.session_page) {
            break;
        }
        cursor = w.ids[got - 1];
        after = &cursor;
    }
    walker_close(&w);
    return rv;
}

static int
hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

int
forage_export_session_parse(const char *hex, tidal_session_id *out)
{
    uint64_t half[2] = {0, 0};
    if (hex == NULL || strlen(hex) != 32) {
        return TIDAL_EINVAL;
    }
    for (size_t i = 0; i < 32; i++) {
        int d = hex_digit(hex[i]);
        if (d < 0) {
            return TIDAL_EINVAL;
        }
        half[i / 16] = half[i / 16] << 4 | (uint64_t)d;
    }
    *out = (tidal_session_id){.hi = half[0], .lo = half[1]};
    return 0;
}
