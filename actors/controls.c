/*
 * Replication controls for tests and tools: the seed's
 * replay_last_session_batch, fault rules between regions, partition and heal,
 * on-demand reconciliation, digests and counters.
 *
 * A rule between regions a and b is set on a's runtime (faults are decided by
 * the sender) for every link from any of a's actors to b's region actor, its
 * session actors, its shipper and its reconciler.
 */
#include <stdio.h>
#include <string.h>

#include "actors/internal.h"

static tidal_region *
region_of(tidal_cluster *c, tidal_region_id id)
{
    if (c == NULL || id >= TIDAL_REGIONS_MAX) {
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    tidal_region *r = c->regions[id];
    pthread_mutex_unlock(&c->lock);
    return r;
}

int
tidal_cluster_replay_last_session_batch(tidal_cluster *c, tidal_region_id from,
                                        tidal_region_id to)
{
    tidal_region *r = region_of(c, from);
    struct tidal__peer peer;
    if (r == NULL || !tidal__peer_get(r, to, &peer)) {
        return TIDAL_ENOENT;
    }
    tidal_buf b;
    tidal_buf_init(&b);
    pthread_mutex_lock(&r->cb_lock);
    tidal_msg_batch m = {.origin = r->id, .shard = r->opts.shard_id,
                         .batch = {r->last_session_batch.data,
                                   (uint32_t)r->last_session_batch.len}};
    int rv = m.batch.len == 0 ? TIDAL_ENOENT : tidal_msg_batch_encode(&m, &b);
    pthread_mutex_unlock(&r->cb_lock);
    if (rv == 0) {
        /* through the receiver's mailbox like a live batch */
        rv = tidal_send(r->rt, &peer.region, TIDAL_MSG_BATCH, b.data, (uint32_t)b.len, 1000);
    }
    tidal_buf_fini(&b);
    return rv;
}

/* The four patterns naming region b's actors. */
static void
patterns_of(tidal_region_id b, char out[4][TIDAL_NAME_BYTES_MAX + 2])
{
    snprintf(out[0], sizeof(out[0]), "region-%u", b);
    snprintf(out[1], sizeof(out[1]), "region-%u/*", b);
    snprintf(out[2], sizeof(out[2]), "shipper-%u", b);
    snprintf(out[3], sizeof(out[3]), "reconciler-%u", b);
}

static int
set_one_way(tidal_cluster *c, tidal_region_id a, tidal_region_id b, const tidal_fault_rule *rule)
{
    tidal_region *ra = region_of(c, a);
    if (ra == NULL || region_of(c, b) == NULL || a == b) {
        return TIDAL_ENOENT;
    }
    char pats[4][TIDAL_NAME_BYTES_MAX + 2];
    patterns_of(b, pats);
    for (int i = 0; i < 4; i++) {
        int rv = tidal_fault_set(ra->rt, "*", pats[i], rule);
        if (rv != 0) {
            return rv;
        }
    }
    return 0;
}

int
tidal_cluster_fault_set(tidal_cluster *c, tidal_region_id a, tidal_region_id b,
                        const tidal_fault_rule *rule, int both_ways)
{
    int rv = set_one_way(c, a, b, rule);
    return rv != 0 || !both_ways ? rv : set_one_way(c, b, a, rule);
}

static int
clear_one_way(tidal_cluster *c, tidal_region_id a, tidal_region_id b)
{
    tidal_region *ra = region_of(c, a);
    if (ra == NULL) {
        return TIDAL_ENOENT;
    }
    char pats[4][TIDAL_NAME_BYTES_MAX + 2];
    patterns_of(b, pats);
    int rv = TIDAL_ENOENT;
    for (int i = 0; i < 4; i++) {
        if (tidal_fault_clear(ra->rt, "*", pats[i]) == 0) {
            rv = 0;
        }
    }
    return rv;
}

int
tidal_cluster_fault_clear(tidal_cluster *c, tidal_region_id a, tidal_region_id b, int both_ways)
{
    int rv = clear_one_way(c, a, b);
    int rv2 = both_ways ? clear_one_way(c, b, a) : 0;
    return rv != 0 ? rv : rv2;
}

int
tidal_cluster_partition(tidal_cluster *c, tidal_region_id a, tidal_region_id b)
{
    tidal_fault_rule cut = {.partition = 1};
    return tidal_cluster_fault_set(c, a, b, &cut, 1);
}

int
tidal_region_reconcile(tidal_region *r)
{
    if (r == NULL) {
        return TIDAL_EINVAL;
    }
    uint8_t one = 1; /* an on-demand round */
    return tidal_send(r->rt, &r->reconciler_addr, TIDAL_MSG_TICK, &one, 1, 1000);
}

int
tidal_cluster_heal(tidal_cluster *c)
{
    if (c == NULL) {
        return TIDAL_EINVAL;
    }
    int rv = 0;
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *r = region_of(c, i);
        if (r != NULL) {
            tidal_fault_clear_all(r->rt);
        }
    }
    for (tidal_region_id i = 0; i < TIDAL_REGIONS_MAX; i++) {
        tidal_region *r = region_of(c, i);
        if (r != NULL && rv == 0) {
            rv = tidal_region_reconcile(r);
        }
    }
    return rv;
}

uint64_t
tidal_region_digest(tidal_region *r)
{
    return tidal__state_digest(r);
}

void
tidal_region_stats_get(tidal_region *r, tidal_region_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->writes = atomic_load(&r->st_writes);
    out->last_lsn = tidal_wal_next_lsn(r->wal) - 1;
    out->durable_lsn = tidal_wal_durable_lsn(r->wal);
    out->batches_shipped = atomic_load(&r->st_shipped);
    out->batches_shipped_at_sync = atomic_load(&r->st_shipped_at_sync);
    out->batches_applied = atomic_load(&r->st_applied);
    out->batches_duplicate = atomic_load(&r->st_dup_batches);
    out->batches_held = atomic_load(&r->st_held);
    out->acks_sent = atomic_load(&r->st_acks);
    out->seqno_duplicates = atomic_load(&r->st_seqno_dups);
    out->reconcile_rounds = atomic_load(&r->st_rounds);
    out->reconcile_entries = atomic_load(&r->st_rentries);
    out->reconcile_bytes = atomic_load(&r->st_rbytes);
    out->room_waits = atomic_load(&r->st_room_waits);
    out->peers_let_go = atomic_load(&r->st_let_go);
    out->writes_refused = atomic_load(&r->st_refused);
    out->records_skipped = atomic_load(&r->st_apply_skipped);
    out->session_records_held = tidal__held_total(r);
    out->batches_paused = atomic_load(&r->st_paused);
    for (uint32_t i = 0; i < TIDAL_REGIONS_MAX; i++) {
        out->applied_lsn[i] = atomic_load(&r->st_applied_lsn[i]);
        out->acked_lsn[i] = atomic_load(&r->st_acked[i]);
    }
    for (int i = 0; i < TIDAL_REGION_REJECT_COUNT; i++) {
        out->rejected[i] = atomic_load(&r->st_rejected[i]);
    }
    out->lost_first_lsn = r->lost_first;
    out->lost_last_lsn = r->lost_last;
    out->lost_lsns = r->lost_lsns;
    out->logs_salvaged = atomic_load(&r->logs_salvaged);
    tidal__retention_stats(r, out);
    out->disk_errors = atomic_load(&r->st_disk_errors);
    out->disk_recoveries = atomic_load(&r->st_disk_recoveries);
    tidal_wal_stats ws;
    tidal_wal_stats_get(r->wal, &ws);
    out->disk_read_only = ws.refusing;
    out->at_risk_first_lsn = ws.at_risk_first;
    out->at_risk_last_lsn = ws.at_risk_last;
    tidal__clock_stats(r, out);
}
