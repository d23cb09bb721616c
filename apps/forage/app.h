/*
 * The live Forage app: a tidal cluster of regions, the catalogue with its
 * labels, the four candidate sources as actors in every region, and a
 * bandit whose counts live in tidal (schema.h).  The HTTP server, the
 * `tidal forage` command and the tests drive it through this header.
 *
 * Regions are numbered 0..regions-1, each a tidal region of one cluster,
 * replicating to the others.  Every call names the region it is made in, as
 * a client of that region would: a session started in region 0 and used in
 * region 1 roams there (tidal's handover), and its bandit weights come with
 * it because they are replicated counters.
 *
 * Threads: every call may be made from any thread, concurrently; each takes
 * the app's state it needs under its own locks.  Calls block on tidal's
 * writes (durable under the regions' policy when they return).
 *
 * Errors are tidal's codes (tidal/errors.h): TIDAL_EINVAL for an argument out
 * of range (region, item not in the catalogue, answer), TIDAL_ENOENT for an
 * unknown session, TIDAL_ESTATE for an answer about an item the session was
 * never shown, and any code of the tidal call underneath.  A refused call
 * changes nothing.
 */
#ifndef FORAGE_APP_H
#define FORAGE_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/region.h"

#include "bandit.h"
#include "catalogue.h"
#include "labels.h"
#include "limits.h"
#include "schema.h"

#define FORAGE_APP_REGIONS_MAX 4

typedef struct forage_app forage_app;

typedef struct forage_app_opts {
    uint32_t regions;           /* 1..FORAGE_APP_REGIONS_MAX; 0 = 2 */
    const char *catalogue_path; /* NULL = the shipped data/catalogue.tsv */
    const char *labels_path;    /* NULL = the shipped data/labels.tsv */
    const char *dir;            /* NULL = regions in memory; else region i keeps
                                 * its log in dir/region-<i> (made if missing) */
    const char *url;            /* the cluster's base URL; NULL = inproc */
    uint64_t seed;              /* the random source and Thompson's draws */
    forage_policy policy;       /* 0 = Thompson */
} forage_app_opts;

/* One item of a served slate. */
typedef struct forage_served_item {
    uint64_t item;          /* catalogue id = tidal entity id */
    uint8_t source;         /* forage_source it came from */
    int label;              /* label index or FORAGE_UNLABELLED */
    const char *title;      /* the catalogue's, valid while the app is open */
    const char *label_name; /* "unlabelled" or the label's name; likewise */
} forage_served_item;

typedef struct forage_served {
    tidal_session_id session;
    tidal_entity_id user;
    uint32_t slate; /* its number in the session: 1, 2, 3... */
    size_t n;
    forage_served_item items[FORAGE_SLATE_SLOTS];
} forage_served;

/* The bandit's state for a user as a region reads it: per source the
 * replicated counts and the posterior mean (1 + s) / (2 + s + f). */
typedef struct forage_weights {
    forage_arm arms[FORAGE_SOURCES];
    double mean[FORAGE_SOURCES];
} forage_weights;

/* Opens the app: loads and labels the catalogue, opens the cluster and its
 * regions, spawns the sources.  err (FORAGE_ERR_BYTES) says what failed
 * ("path:line: what" for a bad file); *out is NULL then. */
__attribute__((warn_unused_result)) int forage_app_open(const forage_app_opts *opts,
                                                        forage_app **out, char *err);

/* Stops the sources, closes the regions and the cluster, frees everything.
 * Accepts NULL.  Returns tidal_cluster_close's result. */
int forage_app_close(forage_app *a);

uint32_t forage_app_regions(const forage_app *a);
tidal_region *forage_app_region(forage_app *a, uint32_t region);
const forage_catalogue *forage_app_catalogue(const forage_app *a);

/* The label name of an item ("unlabelled" for none); NULL if the id is not
 * in the catalogue. */
const char *forage_app_item_label(const forage_app *a, uint64_t item);

/* Starts a session for user in region.  TIDAL_EINVAL for
 * FORAGE_POPULATION_USER, whose counters are the population's. */
__attribute__((warn_unused_result)) int
forage_app_start(forage_app *a, uint32_t region, tidal_entity_id user, tidal_session_id *out);

/* Serves the next slate of session s in region: asks the four sources for
 * candidates, drops hidden items (tidal_retrieve_items) and duplicates,
 * lets the user's bandit share out the slots, records a "shown:<source>"
 * signal per item (schema.h), and writes the slate to *out.  A slate can
 * have fewer than FORAGE_SLATE_SLOTS items if the sources run dry. */
__attribute__((warn_unused_result)) int forage_app_slate(forage_app *a, uint32_t region,
                                                         tidal_session_id s, forage_served *out);

/* Records a person's answer about item in session s (schema.h): the session
 * signal, the hide or unhide, the bandit counter.  TIDAL_ESTATE if the
 * session never showed the item. */
__attribute__((warn_unused_result)) int forage_app_answer(forage_app *a, uint32_t region,
                                                          tidal_session_id s, uint64_t item,
                                                          forage_answer ans);

/* The user's bandit state as region reads it (the population's:
 * FORAGE_POPULATION_USER). */
__attribute__((warn_unused_result)) int
forage_app_weights(forage_app *a, uint32_t region, tidal_entity_id user, forage_weights *out);

/* Whether item is hidden for user in region now (tidal's hard negatives). */
__attribute__((warn_unused_result)) int
forage_app_hidden(forage_app *a, uint32_t region, tidal_entity_id user, uint64_t item, bool *out);

/* A number that grows whenever region takes a write or applies one from a
 * peer (a signal, a hide, a counter; a batch or a reconciliation entry):
 * the sum of tidal_region_stats' writes, batches_applied and
 * reconcile_entries.  Cheap to read (no lock), so a page can long-poll on
 * it; it may grow without a visible change (an entry already held). */
uint64_t forage_app_version(forage_app *a, uint32_t region);

#endif /* FORAGE_APP_H */
