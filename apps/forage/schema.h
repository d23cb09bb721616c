/*
 * How Forage keeps its state in tidal: the only place the live app, the
 * RLHF export and the page agree on names.  Everything here is tidal's
 * public API: sessions, session signals, hard negatives and per-(user, key)
 * counters, all replicated, so a user who roams to another region finds
 * there what every region recorded.
 *
 * Items.  A catalogue item's tidal entity id is its catalogue id (the first
 * column of the catalogue file: docs/catalogue.md).
 *
 * Session signals (tidal_signal_in_session), weight = the slate number:
 *   a slate served is slate k of its session (1, 2, 3... counted from the
 *   session's signals: 1 + the highest slate number any of its signals
 *   carries), and every item on it is recorded as one signal of type
 *   "shown:<source>" (FORAGE_SIGNAL_SHOWN_PREFIX + forage_source_name), weight
 *   k, in slate order.  A person's answer to an item is a signal of type
 *   "view", "like", "skip", "hide" or "unhide", with the weight of the most
 *   recent slate that showed the item in that session.  An answer about an
 *   item the session was never shown is refused (nothing recorded).
 *
 * Hard negatives.  A hide is also tidal_hide_item(user, item), which keeps
 * the item out of every later slate in every region (tidal_retrieve_items
 * filters it); an unhide is tidal_unhide_item.  Whether an item is hidden
 * now is tidal's hard-negative state, not the session's signals: a hide
 * later undone (from any session or region) is not hidden.
 *
 * The bandit (bandit.h), per (user, source): two counters,
 *   "forage/<source>/s"  successes  (a like: +1)
 *   "forage/<source>/f"  failures   (a skip: +1; a hide: +FORAGE_HIDE_FAILURES)
 * added with tidal_user_counter_add by the region that takes the answer;
 * a view and an unhide change no counter.  Every answer also adds the same
 * to the same keys of the population, user FORAGE_POPULATION_USER (which no
 * person may be): the sum of every user's counts, from which a user's
 * arms take their prior (bandit.h, forage_arm_prior).
 */
#ifndef FORAGE_SCHEMA_H
#define FORAGE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bandit.h"

/* The user whose counters hold the population's counts (2^64 - 1). */
#define FORAGE_POPULATION_USER UINT64_MAX

#define FORAGE_SIGNAL_SHOWN_PREFIX "shown:"
#define FORAGE_SIGNAL_VIEW_TYPE "view"
#define FORAGE_SIGNAL_LIKE_TYPE "like"
#define FORAGE_SIGNAL_SKIP_TYPE "skip"
#define FORAGE_SIGNAL_HIDE_TYPE "hide"
#define FORAGE_SIGNAL_UNHIDE_TYPE "unhide"

/* An answer a person can give about a shown item. */
typedef enum forage_answer {
    FORAGE_ANSWER_VIEW = 0,
    FORAGE_ANSWER_LIKE = 1,
    FORAGE_ANSWER_SKIP = 2,
    FORAGE_ANSWER_HIDE = 3,
    FORAGE_ANSWER_UNHIDE = 4,
} forage_answer;
#define FORAGE_ANSWERS 5

/* The signal type of an answer ("like"...); "?" out of range.  Cannot fail. */
const char *forage_answer_type(int a);

/* The answer a signal type names, or -1.  Cannot fail. */
int forage_answer_parse(const char *type);

/* The source a "shown:<source>" type names, or -1 for any other type.
 * Cannot fail. */
int forage_shown_source(const char *type);

/* Writes "shown:<source>" into out (room for 32 bytes: tidal's type names).
 * Cannot fail for a source in range; "shown:?" otherwise. */
void forage_shown_type(int source, char out[32]);

/* Writes the counter key of (source, success or failure) into out (room for
 * 32 bytes).  Cannot fail. */
void forage_arm_key(int source, bool success, char out[32]);

#endif /* FORAGE_SCHEMA_H */
