/*
 * The live app's parts, shared by app.c (open, close, the calls of app.h),
 * app_sources.c (the four candidate sources, one actor each per region) and
 * app_session.c (what a session's signals say: its slates, what it showed,
 * its likes).  Not for the server or the commands: they use app.h.
 */
#ifndef FORAGE_APP_IMPL_H
#define FORAGE_APP_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/region.h"
#include "tidal/runtime.h"

#include "app.h"
#include "labelled.h"
#include "nn.h"
#include "rng.h"
#include "slate.h"

/* The message type of a candidates request and of its reply. */
#define FORAGE_MSG_CANDIDATES 1000

/* Items a request may ask a source to leave out: what the session showed
 * most recently.  An older item may come back in a long session. */
#define FORAGE_EXCLUDE_MAX 256

/* Signals of a session a slate reads, newest: its last slates and answers
 * (an answer about an item shown before them reads the whole session). */
#define FORAGE_SESSION_TAIL 1024

/* Liked items the similar source starts from, newest first. */
#define FORAGE_RECENT_LIKES 3

/* How long a slate waits for a source's answer before doing without it. */
#define FORAGE_SOURCE_TIMEOUT_MS 2000

/* A candidates request, as the bytes it travels as (little-endian u64s):
 * user, then n_recent, recent likes (catalogue rows), n_exclude, excluded
 * rows.  Rows, not ids: the sources index the catalogue by row. */
typedef struct forage_request {
    uint64_t user;
    size_t n_recent;
    uint32_t recent[FORAGE_RECENT_LIKES];
    size_t n_exclude;
    uint32_t exclude[FORAGE_EXCLUDE_MAX];
} forage_request;

/* Bytes of an encoded request at most. */
#define FORAGE_REQUEST_BYTES_MAX (8 * (3 + FORAGE_RECENT_LIKES + FORAGE_EXCLUDE_MAX))

/* One region of the app: the tidal region, its sources' addresses. */
typedef struct forage_app_region {
    tidal_region *r;
    tidal_actor actors[FORAGE_SOURCES];
    tidal_addr sources[FORAGE_SOURCES];
    bool spawned[FORAGE_SOURCES];
} forage_region_part;

/* What a source actor is given: the app and which region it serves. */
typedef struct forage_source_arg {
    struct forage_app *app;
    uint32_t region;
    int source;
} forage_source_arg;

struct forage_app {
    forage_labelled lab;     /* the catalogue, its index and labels */
    forage_catalogue *cat;   /* lab.cat */
    forage_nn_index *ix;     /* lab.ix */
    uint32_t *by_id;         /* cat->n rows sorted by id: forage_app_row */
    uint32_t *fresh;         /* cat->n rows, newest first */
    pthread_mutex_t nn_lock; /* the index serves one search at a time */
    forage_policy policy;
    uint64_t seed;
    pthread_mutex_t rng_lock;
    forage_rng rng;                    /* Thompson's draws, under rng_lock */
    pthread_mutex_t session_locks[16]; /* one slate or answer at a time per session */
    tidal_cluster *cluster;
    uint32_t nregions;
    forage_region_part regions[FORAGE_APP_REGIONS_MAX];
    forage_source_arg source_args[FORAGE_APP_REGIONS_MAX][FORAGE_SOURCES];
};

/* The catalogue row of an item id, or -1.  Cannot fail. */
long forage_app_row(const struct forage_app *a, uint64_t id);

/* Makes a->by_id and a->fresh from a->cat (app_items.c).  TIDAL_ENOMEM. */
__attribute__((warn_unused_result)) int forage_app_orders(struct forage_app *a);

/* Request bytes: encode into buf (FORAGE_REQUEST_BYTES_MAX), returning the
 * length; decode returns TIDAL_EINVAL for bytes that are not a request
 * whose rows are all below n. */
size_t forage_request_encode(const forage_request *q, uint8_t *buf);
__attribute__((warn_unused_result)) int forage_request_decode(const uint8_t *buf, size_t len,
                                                              size_t n, forage_request *out);

/* Candidates reply bytes: a u32 count then that many u32 rows. */
size_t forage_candidates_encode(const forage_candidates *c, uint8_t *buf);
__attribute__((warn_unused_result)) int forage_candidates_decode(const uint8_t *buf, size_t len,
                                                                 size_t n, forage_candidates *out);

/* The lock that one session's slates and answers take (striped). */
pthread_mutex_t *forage_session_lock(struct forage_app *a, tidal_session_id s);

/* The user's arms as region reads them from tidal's counters (schema.h). */
__attribute__((warn_unused_result)) int forage_weights_arms(struct forage_app *a, uint32_t region,
                                                            tidal_entity_id user,
                                                            forage_arm arms[FORAGE_SOURCES]);

/* Spawns the four source actors of region i / stops them. */
__attribute__((warn_unused_result)) int forage_sources_spawn(struct forage_app *a, uint32_t i);
void forage_sources_stop(struct forage_app *a, uint32_t i);

/* What a session's signals say (app_session.c). */
typedef struct forage_session_facts {
    tidal_entity_id user;
    uint32_t last_slate; /* the highest slate number of its signals; 0: none */
    forage_request req;  /* recent likes and the items to leave out */
} forage_session_facts;

/* Reads session s in region r: its user, its last slate, its recent likes
 * and the items it showed most recently.  With item >= 0 it also finds the
 * most recent "shown" signal of that row: its slate into *slate and its
 * source into *source (both 0 / -1 if the session never showed it).
 * TIDAL_ENOENT for an unknown session, TIDAL_ENOMEM. */
__attribute__((warn_unused_result)) int forage_session_read(struct forage_app *a, tidal_region *r,
                                                            tidal_session_id s, long item,
                                                            forage_session_facts *out,
                                                            uint32_t *slate, int *source);

#endif /* FORAGE_APP_IMPL_H */
