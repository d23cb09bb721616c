/*
 * The reconciled log: what reconciliation merged into a region with a
 * directory, kept so that a reopened region still has it.
 *
 * A region rebuilds its state on open from its logs (cluster.c, recover):
 * its own log and its copies of its peers'.  State that came by
 * reconciliation is in neither - for example what an ephemeral origin
 * released before this region had it (internal.h, "Released logs") - so it
 * is logged here, as shipped batches are logged in the copies.
 *
 * Why a log of its own, and not records in the region's own log: the own
 * log is shipped, and its LSNs are the region's writes that peers count
 * and acknowledge; entries would travel to every peer (which already has
 * them, or will by its own rounds), take LSNs peers would wait for, and
 * need a record kind that peers apply as nothing.  The reconciled log is
 * never shipped, never acknowledged, never released.
 *
 * Layout: a WAL (store/wal.h) of origin = this region, shard = its shard,
 * under <dir>/reconciled/ (logs.c: apart from the region's logs, so the
 * listing of peer copies never finds it).  A batch's payload is `count`
 * msgpack bins, back to back, each one entry as it travelled
 * ([kind byte, the store's encoding]: reconcile.h).  The entries of one
 * ENTRIES message that changed the state (entries.c) are one batch, or a
 * few when they pass the batch payload bound.
 *
 * Logged after the merge, under the same hold of state.lock, and only what
 * changed something (what did not change anything adds nothing on replay).
 * Merging is a CRDT join, commutative and idempotent (docs/design.md), so
 * replaying the entries after every batch on open gives the state the
 * region had, whatever order batches and rounds came in.  Replay is total:
 * an entry the state refuses (it did not when it was logged, but a limit
 * may read differently against the rebuilt state) is skipped and reported,
 * never a reason to refuse the open.  A failed append (a SYNC log behind,
 * a disk error) leaves the entries merged in memory only: it is reported,
 * and the round that brought them does not complete (reconciler.c).
 */
#include <stdio.h>
#include <string.h>

#include "actors/reconcile.h"
#include "base/log.h"
#include "messages/mpread.h"
#include "messages/mpwrite.h"
#include "store/hlc.h"

/* Bytes a bin header may take (msgpack bin32). */
#define BIN_HEAD_BYTES 5u

static atomic_uint_least64_t append_failures, replay_skips;

void
tidal__reconciled_batch_init(struct tidal__reconciled_batch *b)
{
    tidal_buf_init(&b->bytes);
    b->count = 0;
}

void
tidal__reconciled_batch_fini(struct tidal__reconciled_batch *b)
{
    tidal_buf_fini(&b->bytes);
}

int
tidal__reconciled_flush(tidal_region *r, struct tidal__reconciled_batch *b)
{
    int rv = 0;
    if (r->reconciled != NULL && b->count > 0) {
        uint64_t first;
        tidal_hlc now = {.wall_ns = tidal_wall_ns(r->rt), .node_id = r->id};
        rv = tidal_wal_append(r->reconciled, b->bytes.data, (uint32_t)b->bytes.len, b->count, now,
                              now, &first);
        if (rv != 0) {
            tidal__log(TIDAL_EVENT_DISK_ERROR, atomic_fetch_add(&append_failures, 1) + 1,
                       "region %u: reconciled log: %u merged entries not logged (%s): a restart "
                       "loses them until a round brings them again",
                       r->id, b->count, tidal_errname(rv));
        }
    }
    b->bytes.len = 0;
    b->count = 0;
    return rv;
}

int
tidal__reconciled_add(tidal_region *r, struct tidal__reconciled_batch *b, tidal_view e)
{
    if (r->reconciled == NULL) {
        return 0; /* ephemeral: nothing survives a close anyway */
    }
    int rv = 0;
    if (b->count == TIDAL_BATCH_RECORDS_MAX ||
        b->bytes.len + e.len + BIN_HEAD_BYTES > TIDAL_BATCH_PAYLOAD_BYTES_MAX) {
        rv = tidal__reconciled_flush(r, b);
    }
    int grown = tidal_buf_reserve(&b->bytes, e.len + BIN_HEAD_BYTES);
    if (grown != 0) {
        return rv != 0 ? rv : grown;
    }
    uint8_t *end = tidal_mpw_bin(b->bytes.data + b->bytes.len, e.ptr, e.len);
    b->bytes.len = (size_t)(end - b->bytes.data);
    b->count++;
    return rv;
}
_Static_assert(TIDAL_REPL_ENTRY_BYTES_MAX + BIN_HEAD_BYTES <= TIDAL_BATCH_PAYLOAD_BYTES_MAX,
               "an entry always fits an empty batch");

/* Merges every entry of one batch of the log.  Caller holds state.lock. */
static void
replay_payload(tidal_region *r, const uint8_t *payload, size_t len, uint32_t count, uint64_t lsn)
{
    tidal_mpr rd;
    tidal_decode_err err = {0};
    uint64_t now = tidal_wall_ns(r->rt);
    tidal_mpr_init(&rd, payload, len, &err);
    for (uint32_t i = 0; i < count; i++) {
        tidal_view e = {0};
        bool changed;
        int rv = tidal_mpr_bin(&rd, TIDAL_REPL_ENTRY_BYTES_MAX, &e.ptr, &e.len, "entry");
        if (rv != 0) {
            /* the CRC held, so this region wrote it: the rest cannot be found */
            tidal__log(TIDAL_EVENT_LOG_REFUSED, atomic_fetch_add(&replay_skips, 1) + 1,
                       "region %u: reconciled log: LSN %llu unreadable from entry %u (%s)", r->id,
                       (unsigned long long)lsn, i, tidal_errname(rv));
            return;
        }
        if ((rv = tidal__entry_merge(r, e, now, &changed)) != 0) {
            tidal__log(TIDAL_EVENT_LOG_REFUSED, atomic_fetch_add(&replay_skips, 1) + 1,
                       "region %u: reconciled log: entry %u of LSN %llu skipped (%s)", r->id, i,
                       (unsigned long long)lsn, tidal_errname(rv));
        }
    }
}

static int
replay_one(void *arg, const uint8_t *batch, size_t len)
{
    tidal_region *r = arg;
    tidal_batch_header h;
    if (tidal_batch_decode(batch, len, &h, NULL, NULL, 0) == 0) {
        pthread_mutex_lock(&r->state.lock);
        replay_payload(r, batch + TIDAL_BATCH_HEADER_BYTES, h.payload_len, h.count, h.first_lsn);
        pthread_mutex_unlock(&r->state.lock);
    }
    return 0; /* the WAL verified it; a batch we cannot read is skipped, not fatal */
}

int
tidal__reconciled_open(tidal_region *r)
{
    if (r->opts.dir == NULL) {
        return 0;
    }
    int rv = tidal__open_reconciled_log(r, &r->reconciled);
    if (rv != 0) {
        return rv;
    }
    rv = tidal_wal_read(r->reconciled, 0, true, replay_one, r);
    return rv == TIDAL_ENOENT ? 0 : rv; /* ENOENT: an empty log */
}

void
tidal__reconciled_close(tidal_region *r, bool clean)
{
    (clean ? tidal_wal_close : tidal_wal_abandon)(r->reconciled);
    r->reconciled = NULL;
}
