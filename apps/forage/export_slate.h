/*
 * One slate of the RLHF export as export.c builds it and export_json.c
 * writes it: the items the slate showed, each with the answer that decides
 * it.  Internal to the export (export.h is the interface).
 */
#ifndef FORAGE_EXPORT_SLATE_H
#define FORAGE_EXPORT_SLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tidal/region.h>

#include "export.h"

/* A signal's place and provenance: what the export writes of it. */
typedef struct forage_export_mark {
    tidal_seqno seqno;
    uint64_t ts_ns;
    tidal_hlc stamp;
    tidal_region_id origin;
} forage_export_mark;

/* An item the slate showed: its first "shown:<source>" signal in the slate,
 * and the last like, skip or hide about it with the slate's number (answer
 * -1: none; else FORAGE_ANSWER_LIKE, _SKIP or _HIDE). */
typedef struct forage_export_item {
    tidal_entity_id item;
    char source[32];
    forage_export_mark shown;
    int answer;
    forage_export_mark answered;
    bool rejected; /* decided when the line is made: a skip, or a hide that holds */
} forage_export_item;

typedef struct forage_export_slate {
    uint32_t number;
    size_t n; /* items, in the order shown */
    bool over_limit;
    forage_export_item items[FORAGE_EXPORT_SLATE_ITEMS_MAX];
} forage_export_slate;

/* The context of a line. */
typedef struct forage_export_context {
    tidal_region_id region; /* where the export ran */
    tidal_entity_id user;
    tidal_session_id session;
} forage_export_context;

/* Writes the slate's line into a string the caller frees (free()), its
 * '\n' included, *len its length.  The items' rejected flags must be set.
 * TIDAL_ENOMEM (*out NULL). */
__attribute__((warn_unused_result)) int forage__export_line(const forage_export_context *ctx,
                                                            const forage_export_slate *sl,
                                                            char **out, size_t *len);

#endif /* FORAGE_EXPORT_SLATE_H */
