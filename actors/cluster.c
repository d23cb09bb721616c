/*
 * Clusters and region lifecycles: open (with recovery), close, crash.
 *
 * Opening a region with a directory recovers its own log and its copies of
 * its peers' logs (store/wal.h), replays every batch into the state (records
 * merge, so the order across logs does not matter) and resumes each origin's
 * applied LSN from its copy.  The region then introduces itself to every
 * other region of the cluster and they to it; their shippers resume from what
 * it acknowledges.
 *
 * Close order: the runtime first (no handler runs, nothing is sent), then
 * the WALs (a last sync), then the state.  The WAL's sync thread may ship
 * until then (logs.c): region->cb_lock and cb_closed keep it from touching a
 * closed runtime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actors/internal.h"

#include "base/log.h"
#include "store/hlc.h"

/* Refuses a transport on which others could speak as a peer (region.h). */
static int
check_transport(const tidal_cluster_opts *o)
{
    const char *u = o->url;
    if (strncmp(u, "tls+tcp://", 10) == 0) {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, 1,
                   "cluster %s: tls+tcp:// with pinned certificates is not built yet", u);
        return TIDAL_ENOTSUP;
    }
    if (strncmp(u, "tcp://", 6) == 0 && !o->plaintext) {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, 1,
                   "cluster %s: tcp:// is plaintext - anyone who reaches the ports can speak "
                   "as a peer; set tidal_cluster_opts.plaintext to accept that",
                   u);
        return TIDAL_EINVAL;
    }
    if (strncmp(u, "ipc://", 6) != 0) {
        return 0;
    }
    const char *dir = u + 6;
    struct stat st;
    if (stat(dir, &st) != 0) {
        return mkdir(dir, 0700) == 0 ? 0 : TIDAL_EADDR;
    }
    if (!S_ISDIR(st.st_mode) || (st.st_mode & 077) != 0) {
        tidal__log(TIDAL_EVENT_INPUT_REJECTED, 1,
                   "cluster %s: others may enter %s (mode %03o): make it 0700", u, dir,
                   (unsigned)(st.st_mode & 0777));
        return TIDAL_EINVAL;
    }
    return 0;
}

int
tidal_cluster_open(const tidal_cluster_opts *opts, tidal_cluster **out)
{
    static const tidal_cluster_opts defaults = {0};
    static atomic_uint n;
    if (out == NULL) {
        return TIDAL_EINVAL;
    }
    if (opts == NULL) {
        opts = &defaults;
    }
    if (opts->url != NULL && strlen(opts->url) + 32 >= TIDAL_URL_BYTES_MAX) {
        return TIDAL_EADDR;
    }
    int rv = opts->url != NULL ? check_transport(opts) : 0;
    if (rv != 0) {
        return rv;
    }
    tidal_cluster *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return TIDAL_ENOMEM;
    }
    if (opts->url != NULL) {
        snprintf(c->url, sizeof(c->url), "%s", opts->url);
    } else {
        snprintf(c->url, sizeof(c->url), "inproc://tidal-cluster-%d-%u", (int)getpid(),
                 atomic_fetch_add(&n, 1));
    }
    c->seed = opts->seed;
    c->workers = opts->workers;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

int
tidal_cluster_close(tidal_cluster *c)
{
    if (c == NULL) {
        return 0;
    }
    /* Quiesce every region before closing any (runtime.h): then nothing is
     * in flight between them when their sockets close.  nng 1.5.2 can leak
     * such a message, or hang in nng_close on a tcp pull socket a peer is
     * still sending to. */
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *r = c->regions[i];
        if (r != NULL) {
            pthread_mutex_lock(&r->cb_lock);
            r->cb_closed = true; /* the WAL's sync thread sends no more ticks */
            pthread_mutex_unlock(&r->cb_lock);
            tidal_runtime_quiesce(r->rt);
        }
    }
    int rv = 0;
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        if (c->regions[i] != NULL) {
            int r = tidal_region_close(c->regions[i]);
            rv = rv != 0 ? rv : r;
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
    return rv;
}

struct replay_ctx {
    tidal_region *r;
    int rv;
};

static int
replay_one(void *arg, const uint8_t *batch, size_t len)
{
    struct replay_ctx *rc = arg;
    tidal_batch_header h;
    int rv = tidal_batch_decode(batch, len, &h, NULL, NULL, 0);
    if (rv == 0) {
        pthread_mutex_lock(&rc->r->state.lock);
        rv = tidal__apply_payload(rc->r, batch + TIDAL_BATCH_HEADER_BYTES, h.payload_len,
                                  h.count);
        pthread_mutex_unlock(&rc->r->state.lock);
    }
    rc->rv = rv;
    return rv;
}

static void
list_one(void *arg, uint16_t origin, uint16_t shard)
{
    struct replay_ctx *rc = arg;
    tidal_region *r = rc->r;
    if (rc->rv != 0 || origin >= TIDAL_REGIONS_MAX || origin == r->id ||
        r->peer_wal[origin] != NULL) {
        return;
    }
    rc->rv = tidal__open_log(r, origin, shard, &r->peer_wal[origin]);
}

/* Opens the region's logs and replays them into the state. */
static int
recover(tidal_region *r)
{
    int rv = tidal__open_log(r, r->id, r->opts.shard_id, &r->wal);
    if (rv != 0 || r->opts.dir == NULL) {
        return rv;
    }
    r->ship.recovered_lsn = tidal_wal_next_lsn(r->wal) - 1;
    struct replay_ctx rc = {.r = r};
    if ((rv = tidal_wal_list(r->dir, list_one, &rc)) != 0 || (rv = rc.rv) != 0) {
        return rv;
    }
    /* from the oldest batch kept: a log whose head is gone (released by a
     * tidal before manifests, or lost and salvaged: opts.salvage) still
     * gives back all it holds, and the reconciler brings the rest from the
     * peers */
    rv = tidal_wal_read(r->wal, 0, true, replay_one, &rc);
    if (rv != 0 && rv != TIDAL_ENOENT) {
        return rv;
    }
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        if (r->peer_wal[o] == NULL) {
            continue;
        }
        rv = tidal_wal_read(r->peer_wal[o], 0, true, replay_one, &rc);
        if (rv != 0 && rv != TIDAL_ENOENT) {
            return rv;
        }
        r->follow.applied_lsn[o] = tidal_wal_next_lsn(r->peer_wal[o]) - 1;
        tidal__publish_applied(r, o, r->follow.applied_lsn[o]);
    }
    return 0;
}

static int
check_region_opts(const tidal_region_opts *o)
{
    if (o->region_id >= TIDAL_REGIONS_MAX || o->role > TIDAL_ROLE_FOLLOWER ||
        o->durability > TIDAL_NONE || (o->dir != NULL && strlen(o->dir) >= 200)) {
        return TIDAL_EINVAL;
    }
    return 0;
}

static int
start_actors(tidal_region *r)
{
    tidal_actor a;
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "region-%u", r->id);
    tidal_spawn_opts ro = {.name = name, .behaviour = &tidal__region_behaviour, .arg = r,
                           .mailbox_max = 65536, .virtual_behaviour = &tidal__session_behaviour,
                           .virtual_arg = r, .virtual_mailbox_max = 4096};
    int rv = tidal_spawn(r->rt, &ro, &a);
    rv = rv != 0 ? rv : tidal_actor_addr(r->rt, a, &r->region_addr);
    if (rv != 0) {
        return rv;
    }
    snprintf(name, sizeof(name), "shipper-%u", r->id);
    tidal_spawn_opts so = {.name = name, .behaviour = &tidal__shipper_behaviour, .arg = r,
                           .mailbox_max = 65536};
    rv = tidal_spawn(r->rt, &so, &a);
    rv = rv != 0 ? rv : tidal_actor_addr(r->rt, a, &r->shipper_addr);
    if (rv != 0) {
        return rv;
    }
    snprintf(name, sizeof(name), "reconciler-%u", r->id);
    tidal_spawn_opts co = {.name = name, .behaviour = &tidal__reconciler_behaviour, .arg = r,
                           .mailbox_max = 65536};
    rv = tidal_spawn(r->rt, &co, &a);
    return rv != 0 ? rv : tidal_actor_addr(r->rt, a, &r->reconciler_addr);
}

static const char *const actor_kinds[3] = {"region", "shipper", "reconciler"};

/* Has r listen for peer p on its region actor, shipper and reconciler (each
 * once: a region that comes back finds its URLs unchanged).  Caller holds
 * c->lock. */
static int
listen_for(tidal_region *r, tidal_region_id p)
{
    for (int k = 0; k < 3; k++) {
        if (r->listening[p] & (1u << k)) {
            continue;
        }
        char name[TIDAL_NAME_BYTES_MAX];
        snprintf(name, sizeof(name), "%s-%u", actor_kinds[k], r->id);
        tidal_actor a;
        int rv = tidal_lookup(r->rt, name, &a);
        if (rv != 0 || (rv = tidal_listen_peer(r->rt, a, TIDAL__PEER_TAG(p), NULL,
                                                r->listen_url[p][k])) != 0) {
            return rv;
        }
        r->listening[p] |= (uint8_t)(1u << k);
    }
    return 0;
}

/* What peer p must know of r: the URLs r listens at for p. */
static void
describe(const tidal_region *r, tidal_region_id p, tidal_msg_peer *m)
{
    const char (*u)[TIDAL_URL_BYTES_MAX] = r->listen_url[p];
    m->region = r->id;
    m->region_url = (tidal_view){(const uint8_t *)u[0], (uint32_t)strlen(u[0])};
    m->shipper_url = (tidal_view){(const uint8_t *)u[1], (uint32_t)strlen(u[1])};
    m->reconciler_url = (tidal_view){(const uint8_t *)u[2], (uint32_t)strlen(u[2])};
}

/* Makes r and every other open region peers of each other, each sending to
 * the listeners the other keeps for it alone (trust.c).  A pair that cannot
 * listen stays apart, and the operator log says so.  Caller holds c->lock. */
static void
introduce(tidal_cluster *c, tidal_region *r)
{
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *q = c->regions[i];
        if (q == NULL || q == r) {
            continue;
        }
        int rv = listen_for(r, q->id);
        if (rv != 0 || (rv = listen_for(q, r->id)) != 0) {
            tidal__log(TIDAL_EVENT_PEER_REJECTED, 1,
                       "regions %u and %u cannot listen for each other (%s): not peers",
                       r->id, q->id, tidal_errname(rv));
            continue;
        }
        tidal_msg_peer me, them;
        describe(q, r->id, &them);
        describe(r, q->id, &me);
        /* two open regions of one cluster: distinct ids in range, their
         * actors' own URLs */
        TIDAL_IGNORE(tidal__peer_set(r, &them));
        TIDAL_IGNORE(tidal__peer_set(q, &me));
    }
}

/* Frees r; clean: its logs' manifests record where they end, else they
 * are left as a crash leaves them (store/wal.h, tidal_wal_abandon). */
static void
region_free(tidal_region *r, bool clean)
{
    void (*close_log)(tidal_wal *) = clean ? tidal_wal_close : tidal_wal_abandon;
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        close_log(r->peer_wal[o]);
        for (struct tidal__held_batch *hb = r->follow.held_batches[o], *n; hb != NULL; hb = n) {
            n = hb->next;
            free(hb);
        }
    }
    close_log(r->wal);
    tidal__pending_fini(r); /* after the log's sync thread, which applies them */
    tidal_buf_fini(&r->last_session_batch);
    tidal__state_close(r);
    pthread_mutex_destroy(&r->peers.lock);
    pthread_mutex_destroy(&r->cb_lock);
    tidal__ship_fini(r);
    tidal__watermark_fini(r);
    free(r);
}

int
tidal_region_open(tidal_cluster *c, const tidal_region_opts *opts, tidal_region **out)
{
    if (c == NULL || opts == NULL || out == NULL) {
        return TIDAL_EINVAL;
    }
    int rv = check_region_opts(opts);
    if (rv != 0) {
        return rv;
    }
    tidal_region *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return TIDAL_ENOMEM;
    }
    r->cluster = c;
    r->opts = *opts;
    if (r->opts.write_timeout_ms == 0) {
        r->opts.write_timeout_ms = TIDAL_WRITE_TIMEOUT_MS_DEFAULT;
    }
    if (r->opts.peer_hold_ms == 0) {
        r->opts.peer_hold_ms = TIDAL_PEER_HOLD_MS_DEFAULT;
    }
    atomic_init(&r->handover_corr, tidal_hlc_wall_now(NULL));
    r->id = opts->region_id;
    if (opts->dir != NULL) {
        snprintf(r->dir, sizeof(r->dir), "%s", opts->dir);
        r->opts.dir = r->dir;
    }
    pthread_mutex_init(&r->peers.lock, NULL);
    pthread_mutex_init(&r->cb_lock, NULL);
    tidal__ship_init(r);
    tidal__watermark_init(r);
    r->cb_closed = true; /* until the runtime exists */
    if ((rv = tidal__state_open(r)) != 0) {
        pthread_mutex_destroy(&r->peers.lock);
        pthread_mutex_destroy(&r->cb_lock);
        tidal__ship_fini(r);
        tidal__watermark_fini(r);
        free(r);
        return rv;
    }
    pthread_mutex_lock(&c->lock);
    if (c->regions[r->id] != NULL) {
        pthread_mutex_unlock(&c->lock);
        region_free(r, true);
        return TIDAL_EEXIST;
    }
    char node[TIDAL_NAME_BYTES_MAX];
    snprintf(node, sizeof(node), "node-%u", r->id);
    tidal_runtime_opts ro = {.url = c->url, .name = node, .node_id = r->id, .seed = c->seed,
                             .workers = c->workers};
    if ((rv = tidal_runtime_open(&ro, &r->rt)) != 0 || (rv = recover(r)) != 0 ||
        (rv = start_actors(r)) != 0) {
        pthread_mutex_unlock(&c->lock);
        TIDAL_IGNORE(tidal_runtime_close(r->rt));
        region_free(r, true);
        return rv;
    }
    pthread_mutex_lock(&r->cb_lock);
    r->cb_closed = false;
    pthread_mutex_unlock(&r->cb_lock);
    c->regions[r->id] = r;
    introduce(c, r);
    pthread_mutex_unlock(&c->lock);
    *out = r;
    return 0;
}

static int
region_shutdown(tidal_region *r, bool clean)
{
    tidal_cluster *c = r->cluster;
    pthread_mutex_lock(&c->lock);
    if (c->regions[r->id] == r) {
        c->regions[r->id] = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&r->cb_lock);
    r->cb_closed = true;
    pthread_mutex_unlock(&r->cb_lock);
    int rv = tidal_runtime_close(r->rt);
    tidal__watermark_close(r); /* after the last apply: no publish races the free */
    region_free(r, clean);
    return rv;
}

int
tidal_region_close(tidal_region *r)
{
    return r == NULL ? 0 : region_shutdown(r, true);
}

/* As kill -9: what was written to the WAL files survives (the kernel keeps
 * it), messages in flight and queued are lost.  The WALs are closed without
 * waiting for anything else, and their manifests are left as a crash
 * leaves them: not told where the logs end. */
int
tidal_region_crash(tidal_region *r)
{
    return r == NULL ? 0 : region_shutdown(r, false);
}

tidal_runtime *
tidal_region_runtime(tidal_region *r)
{
    return r->rt;
}

tidal_region_id
tidal_region_id_of(const tidal_region *r)
{
    return r->id;
}

int
tidal_region_peer_addr(tidal_region *r, tidal_region_id peer, const char *actor, tidal_addr *out)
{
    if (r == NULL || actor == NULL || out == NULL || peer >= TIDAL_REGIONS_MAX) {
        return TIDAL_EINVAL;
    }
    int k = 0;
    while (k < 3 && strcmp(actor, actor_kinds[k]) != 0) {
        k++;
    }
    if (k == 3) {
        return TIDAL_EINVAL;
    }
    char name[TIDAL_NAME_BYTES_MAX];
    snprintf(name, sizeof(name), "%s-%u", actor, r->id);
    int rv = TIDAL_ENOENT;
    pthread_mutex_lock(&r->cluster->lock);
    if (r->listening[peer] & (1u << k)) {
        rv = tidal_addr_make(out, r->listen_url[peer][k], name, NULL, 0);
    }
    pthread_mutex_unlock(&r->cluster->lock);
    return rv;
}
