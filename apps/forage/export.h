/*
 * The RLHF export: Forage's preference data as JSONL, one line per slate
 * that got an answer, read from a region through tidal's public API as
 * schema.h lays it out.  docs/rlhf-export.md is the schema and its rules;
 * in brief, per context (user, session, slate):
 *   chosen    the items whose last answer in the slate is a like;
 *   rejected  the items whose last answer is a skip, or a hide that still
 *             holds now by tidal's hard-negative state (tidal_retrieve_items
 *             filters the item): a hide later undone, from any session or
 *             region, rejects nothing;
 *   shown     every item the slate showed, with its source;
 * each item with the HLC stamp and origin region of the signal that
 * decided it.  A slate with no chosen and no rejected item writes no line.
 *
 * Streaming in constant memory: sessions are listed in pages
 * (tidal_region_sessions), a session's signals are read in pages
 * (tidal_session_signals_from), and a session's slates are built
 * FORAGE_EXPORT_WINDOW_SLATES at a time in a fixed table, one pass over the
 * session's signals per window.  What one call allocates is fixed by its
 * options (stats.buffer_bytes says how much), whatever the number of
 * sessions, signals or slates; each line is handed to the sink as soon as
 * it is made.
 *
 * A live region can be exported: each page is read under one hold of the
 * region's lock, so a session written meanwhile is exported as one of its
 * pages saw it (docs/rlhf-export.md, "Consistency").
 */
#ifndef FORAGE_EXPORT_H
#define FORAGE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include <tidal/region.h>

/* The schema's name and version, the "schema" field of every line. */
#define FORAGE_EXPORT_SCHEMA "forage.rlhf.v1"

/* Slates a pass over a session's signals builds at once; a session with
 * more is read again for each further window. */
#define FORAGE_EXPORT_WINDOW_SLATES 16
/* Distinct items one slate may show: a slate has FORAGE_SLATE_SLOTS (10);
 * a slate past this writes no line and is counted (slates_over_limit),
 * never truncated. */
#define FORAGE_EXPORT_SLATE_ITEMS_MAX 32
/* The largest page of either kind an option may ask for. */
#define FORAGE_EXPORT_PAGE_MAX 4096
/* The default page of either kind. */
#define FORAGE_EXPORT_PAGE_DEFAULT 256

/* Where lines go: line(arg, text, len) gets one complete JSONL line, its
 * '\n' included (text[len - 1]), NUL-terminated after it; text is valid
 * only during the call.  0 goes on; any other value ends the export, which
 * returns that value as it is (a server whose client went away, a full
 * disk: the sink chooses the code, a TIDAL_E* one by convention). */
typedef struct forage_export_sink {
    int (*line)(void *arg, const char *text, size_t len);
    void *arg;
} forage_export_sink;

typedef struct forage_export_opts {
    size_t session_page; /* session ids per tidal_region_sessions call;
                          * 0 = FORAGE_EXPORT_PAGE_DEFAULT; at most
                          * FORAGE_EXPORT_PAGE_MAX */
    size_t signal_page;  /* signals per tidal_session_signals_from call;
                          * 0 = FORAGE_EXPORT_PAGE_DEFAULT; at most
                          * FORAGE_EXPORT_PAGE_MAX */
} forage_export_opts;

/* What an export did; the caller zeroes it, each call adds to it. */
typedef struct forage_export_stats {
    uint64_t sessions;          /* sessions exported (read whole) */
    uint64_t sessions_gone;     /* listed, then freed before they were read */
    uint64_t slates;            /* slates found (numbers shown items carry) */
    uint64_t lines;             /* lines the sink took: slates with an answer */
    uint64_t slates_unanswered; /* slates with no chosen and no rejected item */
    uint64_t slates_over_limit; /* slates past FORAGE_EXPORT_SLATE_ITEMS_MAX */
    uint64_t chosen;            /* items written as chosen */
    uint64_t rejected;          /* items written as rejected */
    uint64_t hides_undone;      /* hides not written: the item is not hidden now */
    uint64_t answers_unmatched; /* answers about an item their slate did not show */
    uint64_t signals_malformed; /* shown or answer signals whose weight is no slate
                                 * number (an integer from 1 to 2^24) */
    uint64_t session_pages;     /* tidal_region_sessions calls */
    uint64_t signal_pages;      /* tidal_session_signals_from calls */
    size_t buffer_bytes;        /* the most one call held allocated for its pages
                                 * and slate table (fixed by the options) */
} forage_export_stats;

/* Exports session s of region r: its lines, slate by slate in slate order,
 * to sink.  opts may be NULL (defaults); st may be NULL.  Returns 0;
 * TIDAL_EINVAL for a NULL r or sink (or sink->line), an option out of
 * range; TIDAL_ENOENT if r does not hold s (or it was freed during the
 * export: the lines already given stay given); TIDAL_ENOMEM; the sink's own
 * non-zero code.  Lines given before an error stay given. */
__attribute__((warn_unused_result)) int forage_export_session(tidal_region *r, tidal_session_id s,
                                                              const forage_export_opts *opts,
                                                              const forage_export_sink *sink,
                                                              forage_export_stats *st);

/* Exports every session r holds (tidal_region_sessions: live, and ended
 * within the region's retention), in session id order.  A session freed
 * between its listing and its reading is counted (sessions_gone) and
 * passed.  Returns and fails as forage_export_session. */
__attribute__((warn_unused_result)) int forage_export_all(tidal_region *r,
                                                          const forage_export_opts *opts,
                                                          const forage_export_sink *sink,
                                                          forage_export_stats *st);

/* The session id as the export writes it: 32 lowercase hex digits, hi then
 * lo.  Cannot fail. */
void forage_export_session_hex(tidal_session_id s, char out[33]);

/* Reads a session id written that way (exactly 32 hex digits, either
 * case).  Returns 0, or TIDAL_EINVAL (*out unchanged). */
__attribute__((warn_unused_result)) int forage_export_session_parse(const char *hex,
                                                                    tidal_session_id *out);

#endif /* FORAGE_EXPORT_H */
