/*
 * The live app (app.h): opening and closing it, and the calls a client
 * makes.  Every fact about a session, a hide or a bandit arm is read from
 * and written to tidal (schema.h); the app itself holds only the catalogue
 * and the sources' actors, so any region serves any user.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tidal/errors.h"

#include "app_impl.h"

#ifndef FORAGE_DATA_DIR
#define FORAGE_DATA_DIR "data"
#endif

static int
make_dir(const char *path, char *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, FORAGE_ERR_BYTES, "%s: cannot make the directory: %s", path, strerror(errno));
        return TIDAL_EIO;
    }
    return 0;
}

static int
open_regions(struct forage_app *a, const forage_app_opts *o, char *err)
{
    tidal_cluster_opts co = {.url = o->url, .seed = o->seed};
    int rv = tidal_cluster_open(&co, &a->cluster);
    if (rv != 0) {
        snprintf(err, FORAGE_ERR_BYTES, "cannot open the cluster: %s", tidal_strerror(rv));
        return rv;
    }
    if (o->dir != NULL && (rv = make_dir(o->dir, err)) != 0)
        return rv;
    for (uint32_t i = 0; i < a->nregions; i++) {
        char path[4096];
        tidal_region_opts ro = {.region_id = (tidal_region_id)i, .shard_id = 0};
        if (o->dir != NULL) {
            snprintf(path, sizeof(path), "%s/region-%u", o->dir, i);
            ro.dir = path;
            ro.durability = TIDAL_SYNC;
        }
        rv = tidal_region_open(a->cluster, &ro, &a->regions[i].r);
        if (rv != 0) {
            snprintf(err, FORAGE_ERR_BYTES, "cannot open region %u: %s", i, tidal_strerror(rv));
            return rv;
        }
        if ((rv = forage_sources_spawn(a, i)) != 0) {
            snprintf(err, FORAGE_ERR_BYTES, "cannot start region %u's sources: %s", i,
                     tidal_strerror(rv));
            return rv;
        }
    }
    return 0;
}

int
forage_app_open(const forage_app_opts *o, forage_app **out, char *err)
{
    forage_app_opts d = {0};
    *out = NULL;
    err[0] = '\0';
    if (o == NULL)
        o = &d;
    uint32_t regions = o->regions == 0 ? 2 : o->regions;
    if (regions > FORAGE_APP_REGIONS_MAX || (unsigned)o->policy > FORAGE_POLICY_RANDOM) {
        snprintf(err, FORAGE_ERR_BYTES, "regions must be 1..%d and the policy known",
                 FORAGE_APP_REGIONS_MAX);
        return TIDAL_EINVAL;
    }
    struct forage_app *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, FORAGE_ERR_BYTES, "out of memory");
        return TIDAL_ENOMEM;
    }
    a->nregions = regions;
    a->policy = o->policy;
    a->seed = o->seed;
    forage_rng_seed2(&a->rng, o->seed, 0);
    pthread_mutex_init(&a->nn_lock, NULL);
    pthread_mutex_init(&a->rng_lock, NULL);
    for (size_t i = 0; i < sizeof(a->session_locks) / sizeof(a->session_locks[0]); i++)
        pthread_mutex_init(&a->session_locks[i], NULL);
    int rv = forage_labelled_load(o->catalogue_path ? o->catalogue_path
                                                    : FORAGE_DATA_DIR "/catalogue.tsv",
                                  o->labels_path ? o->labels_path : FORAGE_DATA_DIR "/labels.tsv",
                                  FORAGE_LABEL_THRESHOLD_DEFAULT, &a->lab, err);
    if (rv == 0) {
        a->cat = a->lab.cat;
        a->ix = a->lab.ix;
        if ((rv = forage_app_orders(a)) != 0)
            snprintf(err, FORAGE_ERR_BYTES, "out of memory");
    }
    if (rv == 0)
        rv = open_regions(a, o, err);
    if (rv != 0) {
        (void)forage_app_close(a);
        return rv;
    }
    *out = a;
    return 0;
}

int
forage_app_close(forage_app *a)
{
    if (a == NULL)
        return 0;
    for (uint32_t i = 0; i < a->nregions; i++)
        if (a->regions[i].r != NULL)
            forage_sources_stop(a, i);
    int rv = tidal_cluster_close(a->cluster);
    forage_labelled_free(&a->lab);
    free(a->by_id);
    free(a->fresh);
    pthread_mutex_destroy(&a->nn_lock);
    pthread_mutex_destroy(&a->rng_lock);
    for (size_t i = 0; i < sizeof(a->session_locks) / sizeof(a->session_locks[0]); i++)
        pthread_mutex_destroy(&a->session_locks[i]);
    free(a);
    return rv;
}

uint32_t
forage_app_regions(const forage_app *a)
{
    return a->nregions;
}

tidal_region *
forage_app_region(forage_app *a, uint32_t region)
{
    return region < a->nregions ? a->regions[region].r : NULL;
}

const forage_catalogue *
forage_app_catalogue(const forage_app *a)
{
    return a->cat;
}

static const char *
label_name(const forage_app *a, long row)
{
    int l = a->lab.label[row];
    return l == FORAGE_UNLABELLED ? "unlabelled" : a->lab.labels->defs[l].name;
}

const char *
forage_app_item_label(const forage_app *a, uint64_t item)
{
    long row = forage_app_row(a, item);
    return row < 0 ? NULL : label_name(a, row);
}

int
forage_app_start(forage_app *a, uint32_t region, tidal_entity_id user, tidal_session_id *out)
{
    if (a == NULL || region >= a->nregions || out == NULL || user == FORAGE_POPULATION_USER)
        return TIDAL_EINVAL;
    return tidal_start_session(a->regions[region].r, user, NULL, out);
}

pthread_mutex_t *
forage_session_lock(forage_app *a, tidal_session_id s)
{
    size_t n = sizeof(a->session_locks) / sizeof(a->session_locks[0]);
    return &a->session_locks[(s.lo ^ s.hi) % n];
}

int
forage_weights_arms(forage_app *a, uint32_t region, tidal_entity_id user,
                    forage_arm arms[FORAGE_SOURCES])
{
    tidal_region *r = a->regions[region].r;
    for (int s = 0; s < FORAGE_SOURCES; s++) {
        char ks[32], kf[32];
        int64_t vs = 0, vf = 0;
        forage_arm_key(s, true, ks);
        forage_arm_key(s, false, kf);
        int rv = tidal_user_counter_get(r, user, ks, &vs);
        if (rv == 0)
            rv = tidal_user_counter_get(r, user, kf, &vf);
        if (rv != 0)
            return rv;
        /* Only adds are ever made, so a negative count is another writer's. */
        arms[s] = (forage_arm){.successes = vs > 0 ? (uint64_t)vs : 0,
                               .failures = vf > 0 ? (uint64_t)vf : 0};
    }
    return 0;
}

int
forage_app_weights(forage_app *a, uint32_t region, tidal_entity_id user, forage_weights *out)
{
    if (a == NULL || region >= a->nregions || out == NULL)
        return TIDAL_EINVAL;
    int rv = forage_weights_arms(a, region, user, out->arms);
    for (int s = 0; rv == 0 && s < FORAGE_SOURCES; s++)
        out->mean[s] = forage_arm_mean(&out->arms[s]);
    return rv;
}

int
forage_app_hidden(forage_app *a, uint32_t region, tidal_entity_id user, uint64_t item, bool *out)
{
    if (a == NULL || region >= a->nregions || out == NULL || forage_app_row(a, item) < 0)
        return TIDAL_EINVAL;
    tidal_entity_id cand = item;
    tidal_scored_item got;
    size_t n = 0;
    tidal_retrieve q = {.user = user, .candidates = &cand, .ncandidates = 1};
    int rv = tidal_retrieve_items(a->regions[region].r, &q, &got, &n);
    if (rv == 0)
        *out = n == 0;
    return rv;
}

uint64_t
forage_app_version(forage_app *a, uint32_t region)
{
    if (a == NULL || region >= a->nregions)
        return 0;
    tidal_region_stats st;
    tidal_region_stats_get(a->regions[region].r, &st);
    return st.writes + st.batches_applied + st.reconcile_entries;
}
