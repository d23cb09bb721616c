/*
 * A slate: up to FORAGE_SLATE_SLOTS items, each from one candidate source.
 *
 * Building one takes three steps, each usable alone:
 *   1. forage_slate_filter: drop from every source's ranked candidates the
 *      items the user has hidden, and any item already offered by a source
 *      earlier in source order (or earlier in the same list), so that every
 *      item left belongs to exactly one source;
 *   2. forage_bandit_compose_prior: how many slots each source gets;
 *   3. forage_slate_take: the first counts[s] candidates of each source s.
 * The hidden check in step 1 is the app's own guard: the tidal-backed sources
 * will read through tidal's retrieve, which filters hidden items already, and
 * a hidden item must never reach a slate even if a source slips.
 */
#ifndef FORAGE_SLATE_H
#define FORAGE_SLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bandit.h"
#include "limits.h"

/* Candidates a source offers for one slate: enough to fill it alone. */
#define FORAGE_CANDIDATES_MAX FORAGE_SLATE_SLOTS

typedef struct forage_candidates {
    size_t n;
    uint32_t items[FORAGE_CANDIDATES_MAX]; /* catalogue rows, best first */
} forage_candidates;

typedef struct forage_slate {
    size_t n;
    uint32_t items[FORAGE_SLATE_SLOTS];
    uint8_t source[FORAGE_SLATE_SLOTS]; /* the source each item came from */
    size_t counts[FORAGE_SOURCES];
} forage_slate;

/* Whether the user hid item (a catalogue row). */
typedef bool (*forage_hidden_fn)(uint32_t item, void *arg);

/* Step 1, in place.  Cannot fail. */
void forage_slate_filter(forage_candidates cands[FORAGE_SOURCES], forage_hidden_fn hidden,
                         void *arg);

/* Step 3: the first counts[s] candidates of each source, sources in order.
 * Returns TIDAL_EINVAL, *out empty, if a count exceeds its candidates or the
 * counts exceed FORAGE_SLATE_SLOTS. */
__attribute__((warn_unused_result)) int
forage_slate_take(const forage_candidates cands[FORAGE_SOURCES],
                  const size_t counts[FORAGE_SOURCES], forage_slate *out);

/* All three steps for policy p (cands are filtered in place), arm s's prior
 * prior[s] (forage_bandit_compose_prior; NULL: none).  Errors as
 * forage_bandit_compose's and forage_slate_take's. */
__attribute__((warn_unused_result)) int forage_slate_build(forage_policy p,
                                                           const forage_arm arms[FORAGE_SOURCES],
                                                           const forage_prior prior[FORAGE_SOURCES],
                                                           forage_candidates cands[FORAGE_SOURCES],
                                                           forage_hidden_fn hidden, void *arg,
                                                           forage_rng *r, forage_slate *out);

#endif /* FORAGE_SLATE_H */
