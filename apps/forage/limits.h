/*
 * Forage's named maximums, in one place, each with the reason for its bound.
 * Every input that crosses one is refused with a message, never truncated.
 */
#ifndef FORAGE_LIMITS_H
#define FORAGE_LIMITS_H

/* A catalogue line, newline excluded: 512 floats of up to ~16 characters
 * each, a title and an id fit with room to spare. */
#define FORAGE_LINE_BYTES_MAX 16384

/* Floats per item: enough for any embedding a small catalogue would carry;
 * it bounds a line and the cost of one dot product. */
#define FORAGE_DIM_MAX 512

/* Items in one catalogue: the simulation keeps per-user bitsets over the
 * catalogue, so it must stay modest. */
#define FORAGE_ITEMS_MAX 1000000

/* A title, terminating NUL excluded. */
#define FORAGE_TITLE_BYTES_MAX 256

/* Labels and example ids per label: labels are hand-defined topics. */
#define FORAGE_LABELS_MAX 64
#define FORAGE_LABEL_EXAMPLES_MAX 64
#define FORAGE_LABEL_NAME_BYTES_MAX 64

/* Neighbours one k-NN query may ask for: the top-k is kept by insertion. */
#define FORAGE_NN_K_MAX 256

/* Slots of a slate, and candidate sources.  The issue fixes both: slates
 * of 10 from four sources. */
#define FORAGE_SLATE_SLOTS 10
#define FORAGE_SOURCES 4

/* An error message: "file:line: what is wrong". */
#define FORAGE_ERR_BYTES 512

_Static_assert(FORAGE_DIM_MAX * 16 < FORAGE_LINE_BYTES_MAX, "a full line must fit the buffer");
_Static_assert(FORAGE_NN_K_MAX >= FORAGE_SLATE_SLOTS, "a source must fill a slate");

#endif /* FORAGE_LIMITS_H */
