/*
 * Clusters and region lifecycles: open (with recovery), close, crash.
 *
 * Opening a region with a directory recovers its own log and its copies of
 * its peers' logs (store/wal.h), replays every batch into the state (records
 * merge, so the order across logs does not matter), resumes each origin's
 * applied LSN from its copy, and merges what reconciliation brought
 * (reconciled.c).  The region then introduces itself to every
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
#include "actors/reconcile.h"

#include "base/log.h"
#include "base/random.h"
#include "runtime/sim_disk.h"
#include "store/dirlock.h"
#include "store/hlc.h"

/* Refuses a transport on which others could speak as a peer (region.h). */
static int
check_transport(const tidal_cluster_opts *o)
{
    const char *u = o->url;
    if ((strncmp(u, "sim://", 6) == 0) != (o->sim != NULL)) {
        return TIDAL_EADDR; /* a simulation reaches only sim://, and only it does */
    }
    if (strncmp(u, "tls+tcp://", 10) == 0) {
        if (o->tls_dir == NULL || strlen(o->tls_dir) + 32 >= sizeof(((tidal_cluster *)0)->tls_dir)) {
            tidal__log(TIDAL_EVENT_INPUT_REJECTED, 1,
                       "cluster %s: tls+tcp:// needs tls_dir, the regions' certificates", u);
            return TIDAL_EINVAL;
        }
        return 0;
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
        snprintf(c->url, sizeof(c->url), "%s://tidal-cluster-%d-%u",
                 opts->sim != NULL ? "sim" : "inproc", (int)getpid(), atomic_fetch_add(&n, 1));
    }
    c->seed = opts->seed;
    c->sim = opts->sim;
    c->workers = opts->workers;
    if (opts->tls_dir != NULL) {
        snprintf(c->tls_dir, sizeof(c->tls_dir), "%s", opts->tls_dir);
    }
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
        /* the WAL's recovery checked the origin against the log's name */
        uint16_t origin = h.origin < TIDAL_REGIONS_MAX ? h.origin : rc->r->id;
        rv = tidal__apply_payload(rc->r, batch + TIDAL_BATCH_HEADER_BYTES, h.payload_len,
                                  h.count, origin);
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
    if (rv != 0 || r->opts.dir == NULL || (rv = tidal__peerfile_load(r)) != 0) {
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
    /* last: what reconciliation merged joins whatever the logs rebuilt */
    return tidal__reconciled_open(r);
}

static int
check_region_opts(const tidal_region_opts *o)
{
    if (o->region_id >= TIDAL_REGIONS_MAX || o->role > TIDAL_ROLE_FOLLOWER ||
        o->durability > TIDAL_NONE || (o->dir != NULL && strlen(o->dir) >= 200) ||
        o->salvage_wait_ms > TIDAL_SALVAGE_WAIT_MS_MAX) {
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
    tidal__reconciled_close(r, clean);
    if (r->disk != NULL && !clean) {
        tidal__sim_disk_crash(r->cluster->sim, r->disk, r->id); /* every log closed */
    } else {
        tidal__simdisk_free(r->disk); /* a clean close loses nothing */
    }
    tidal__pending_fini(r); /* after the log's sync thread, which applies them */
    tidal_buf_fini(&r->last_session_batch);
    tidal__state_close(r);
    pthread_mutex_destroy(&r->peers.lock);
    pthread_mutex_destroy(&r->cb_lock);
    tidal__ship_fini(r);
    tidal__learn_fini(r);
    tidal__watermark_fini(r);
    tidal_dirlock_release(r->dirlock); /* after every file of it is closed */
    free(r);
}

/* Records in the peers files that r and every other open region are peers
 * now.  Caller holds c->lock. */
static void
note_peers(tidal_cluster *c, tidal_region *r)
{
    uint32_t others = 0;
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *q = c->regions[i];
        if (q != NULL && q != r) {
            others |= 1u << i;
            tidal__peerfile_add(q, 1u << r->id);
        }
    }
    tidal__peerfile_add(r, others);
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
    r->dirlock = -1;
    r->opts = *opts;
    if (r->opts.write_timeout_ms == 0) {
        r->opts.write_timeout_ms = TIDAL_WRITE_TIMEOUT_MS_DEFAULT;
    }
    if (r->opts.peer_hold_ms == 0) {
        r->opts.peer_hold_ms = TIDAL_PEER_HOLD_MS_DEFAULT;
    }
    if (r->opts.max_skew_ns == 0) {
        r->opts.max_skew_ns = TIDAL_HLC_SKEW_NS_DEFAULT;
    }
    atomic_init(&r->handover_corr, tidal__random_id()); /* seeded in a simulation */
    r->id = opts->region_id;
    if (opts->dir != NULL) {
        snprintf(r->dir, sizeof(r->dir), "%s", opts->dir);
        r->opts.dir = r->dir;
    }
    pthread_mutex_init(&r->peers.lock, NULL);
    pthread_mutex_init(&r->cb_lock, NULL);
    tidal__ship_init(r);
    tidal__learn_init(r);
    tidal__watermark_init(r);
    r->cb_closed = true; /* until the runtime exists */
    if ((rv = tidal__state_open(r)) != 0) {
        pthread_mutex_destroy(&r->peers.lock);
        pthread_mutex_destroy(&r->cb_lock);
        tidal__ship_fini(r);
        tidal__learn_fini(r);
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
    struct tidal__tls_paths own;
    tidal_runtime_opts ro = {.url = c->url, .name = node, .node_id = r->id, .seed = c->seed,
                             .workers = c->workers, .max_skew_ns = r->opts.max_skew_ns,
                             .wall_clock = r->opts.wall_clock,
                             .wall_clock_arg = r->opts.wall_clock_arg,
                             .tls = tidal__tls_for(c, r->id, r->id, &own), .sim = c->sim};
    if ((rv = tidal_runtime_open(&ro, &r->rt)) != 0 ||
        (opts->dir != NULL && (rv = tidal_dirlock_take(r->dir, &r->dirlock)) != 0) ||
        (c->sim != NULL && opts->dir != NULL && (rv = tidal__sim_disk_open(c->sim, &r->disk)) != 0) ||
        (rv = recover(r)) != 0 || (rv = start_actors(r)) != 0) {
        pthread_mutex_unlock(&c->lock);
        TIDAL_IGNORE(tidal_runtime_close(r->rt));
        region_free(r, true);
        return rv;
    }
    pthread_mutex_lock(&r->cb_lock);
    r->cb_closed = false;
    pthread_mutex_unlock(&r->cb_lock);
    c->regions[r->id] = r;
    c->opened |= 1u << r->id;
    tidal__introduce(c, r);
    note_peers(c, r);
    /* the peers a salvaged region waits for (learn.c): every region this
     * cluster opened, every origin whose log it keeps a copy of, and every
     * region its peers file names (one that never wrote leaves no copy) */
    uint32_t configured = c->opened | r->peers_ever;
    for (tidal_region_id o = 0; o < TIDAL_REGIONS_MAX; o++) {
        configured |= r->peer_wal[o] != NULL ? 1u << o : 0;
    }
    atomic_store(&r->learn.configured, configured & ~(1u << r->id));
    atomic_store(&r->learn.introduced, true);
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
    /* Waiters first: woken with TIDAL_ECLOSED and gone before the runtime
     * their waits read the clock of is freed.  A publish after this only
     * signals a condvar nobody waits on; region_free comes after the last
     * apply (the runtime's close). */
    tidal__watermark_close(r);
    int rv = tidal_runtime_close(r->rt);
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
    if (r != NULL && r->disk != NULL) {
        tidal__simdisk_freeze(r->disk); /* the instant of the power loss */
    }
    return r == NULL ? 0 : region_shutdown(r, false);
}

int
tidal_region_sim_disk_cut(tidal_region *r, uint32_t ops)
{
    if (r == NULL) {
        return TIDAL_EINVAL;
    }
    if (r->disk == NULL) {
        return TIDAL_ESTATE;
    }
    tidal__simdisk_cut(r->disk, ops);
    return 0;
}

bool
tidal_region_sim_disk_is_cut(tidal_region *r)
{
    return r != NULL && r->disk != NULL && tidal__simdisk_is_cut(r->disk);
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
