/*
 * A region's replicated state: the store/ tables behind one lock, and the one
 * function that applies a record to them, for local writes and peers' alike.
 *
 * Applying is always a merge, so applying a record twice changes nothing:
 *   SESSION_START   start (idempotent for the same id)
 *   SESSION_SIGNAL  counts: the origin's components raised to the record's
 *                   p_minute / p_hour (max); the session's list: appended in
 *                   seqno order through the HWM - a seqno at or below it is a
 *                   duplicate (counted, dropped), the next one applies, a later
 *                   one is held until the gap fills
 *   SESSION_END     sticky
 *   SESSION_HOME    LWW by stamp
 *   HIDE / UNHIDE   the set keeps the greatest stamp of each
 *   USER_COUNTER    the origin's component of the pair raised to the
 *                   record's (p, n) (max)
 * A session record for a session this region does not know yet (its start is
 * in another origin's log, not applied yet) is held too, and applied when the
 * start arrives.  Only signals wait for a seqno gap: END and HOME are merges
 * and apply at once (a home's own HOME record must stop its writes at once,
 * or it would assign seqnos its successor also assigns).
 *
 * Sessions past the retention (retention.c) are freed as soon as a record or
 * a merge makes them so, and leave a tombstone that makes their late records
 * and entries drop (tidal__state_apply, tidal__state_merge_session).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"

int
tidal__state_open(tidal_region *r)
{
    int rv;
    if ((rv = tidal_sigtypes_open(&r->state.types)) != 0) {
        return rv;
    }
    if ((rv = tidal_signals_open(r->state.types, &r->state.signals)) != 0) {
        goto fail_types;
    }
    if ((rv = tidal_sessions_open(r->state.types, &r->state.sessions)) != 0) {
        goto fail_signals;
    }
    if ((rv = tidal_hardneg_open(&r->state.hardneg)) != 0) {
        goto fail_sessions;
    }
    if ((rv = tidal_ucounters_open(&r->state.ucounters)) != 0) {
        goto fail_hardneg;
    }
    if ((rv = tidal_hwm_open(&r->state.hwm)) != 0) {
        goto fail_ucounters;
    }
    if ((rv = tidal_idem_open(NULL, &r->state.idem)) != 0) {
        goto fail_hwm;
    }
    tidal_hmap_init(&r->state.held, sizeof(struct tidal__held_session), 16);
    pthread_mutex_init(&r->state.lock, NULL);
    TIDAL_IGNORE(tidal_cond_init_monotonic(&r->state.seen_cv)); /* a plain init cannot fail */
    r->state.seen_waiters = 0;
    memset(r->state.held_of, 0, sizeof(r->state.held_of));
    r->state.held_max = TIDAL_HELD_RECORDS_MAX;
    return 0;

fail_hwm:
    tidal_hwm_close(r->state.hwm);
fail_ucounters:
    tidal_ucounters_close(r->state.ucounters);
fail_hardneg:
    tidal_hardneg_close(r->state.hardneg);
fail_sessions:
    tidal_sessions_close(r->state.sessions);
fail_signals:
    tidal_signals_close(r->state.signals);
fail_types:
    tidal_sigtypes_close(r->state.types);
    return rv;
}

void
tidal__state_close(tidal_region *r)
{
    size_t cur = 0;
    struct tidal__held_session *hs;
    while ((hs = tidal_hmap_next(&r->state.held, &cur)) != NULL) {
        for (struct tidal__held_write *w = hs->list, *n; w != NULL; w = n) {
            n = w->next;
            free(w);
        }
    }
    tidal_hmap_fini(&r->state.held);
    tidal_idem_close(r->state.idem);
    tidal_hwm_close(r->state.hwm);
    tidal_ucounters_close(r->state.ucounters);
    tidal_hardneg_close(r->state.hardneg);
    tidal_sessions_close(r->state.sessions);
    tidal_signals_close(r->state.signals);
    tidal_sigtypes_close(r->state.types);
    pthread_cond_destroy(&r->state.seen_cv);
    pthread_mutex_destroy(&r->state.lock);
}

/* Holds rec, which came in origin's log, until its session exists and its
 * seqno is next.  Keeps the list sorted by seqno; a seqno already held is a
 * duplicate.  Counted by origin: held.c bounds what a peer's log may make
 * this region hold. */
static int
hold(tidal_region *r, const tidal_record *rec, uint16_t origin)
{
    struct tidal__held_session *hs;
    bool created;
    int rv = tidal_hmap_upsert(&r->state.held, rec->sid, (void **)&hs, &created);
    if (rv != 0) {
        return rv;
    }
    if (created) {
        hs->list = NULL;
        hs->n = 0;
    }
    struct tidal__held_write **pp = &hs->list;
    while (*pp != NULL && (*pp)->rec.seqno < rec->seqno) {
        pp = &(*pp)->next;
    }
    if (*pp != NULL && (*pp)->rec.seqno == rec->seqno && rec->kind == TIDAL_REC_SESSION_SIGNAL &&
        (*pp)->rec.kind == TIDAL_REC_SESSION_SIGNAL) {
        atomic_fetch_add(&r->st_seqno_dups, 1);
        return 0;
    }
    struct tidal__held_write *w = malloc(sizeof(*w));
    if (w == NULL) {
        return TIDAL_ENOMEM;
    }
    w->rec = *rec;
    w->origin = origin;
    w->next = *pp;
    *pp = w;
    hs->n++;
    r->state.held_of[origin]++;
    return 0;
}

/* Raises the session's HWM over every seqno its signal list already holds
 * contiguously above it (a merge may have brought them).  Caller holds
 * state_lock. */
static int
advance_hwm(tidal_region *r, const tidal_session_id *sid)
{
    const tidal_session_signal *sigs;
    size_t n;
    if (tidal_sessions_signals(r->state.sessions, sid, &sigs, &n) != 0) {
        return 0;
    }
    uint64_t hwm = tidal_hwm_get(r->state.hwm, sid);
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first signal above the HWM */
        size_t mid = lo + (hi - lo) / 2;
        if (sigs[mid].seqno <= hwm) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    uint64_t top = hwm;
    while (lo < n && sigs[lo].seqno == top + 1) {
        top++;
        lo++;
    }
    return top > hwm ? tidal_hwm_raise(r->state.hwm, sid, top) : 0;
}

/* Applies the session part of a record whose session exists.  Returns
 * TIDAL_EBUSY if a signal must wait for an earlier seqno. */
static int
apply_session_part(tidal_region *r, const tidal_record *rec, const tidal_session_id *sid)
{
    switch (rec->kind) {
    case TIDAL_REC_SESSION_END:
        return tidal_sessions_end(r->state.sessions, sid, &rec->hlc);
    case TIDAL_REC_SESSION_HOME: {
        bool applied;
        return tidal_sessions_set_home(r->state.sessions, sid, rec->region, rec->seqno, &rec->hlc,
                                       &applied);
    }
    default:
        break;
    }
    uint64_t hwm = tidal_hwm_get(r->state.hwm, sid);
    if (rec->seqno <= hwm) {
        atomic_fetch_add(&r->st_seqno_dups, 1);
        return 0;
    }
    if (rec->seqno != hwm + 1) {
        return TIDAL_EBUSY;
    }
    uint16_t type;
    int rv = tidal_sigtypes_intern(r->state.types, rec->type, &type);
    if (rv != 0) {
        return rv;
    }
    tidal_session_signal s = {.seqno = rec->seqno, .item = rec->item, .ts_ns = rec->ts_ns,
                              .weight = (float)rec->weight, .type = type, .origin = rec->region,
                              .stamp = rec->hlc};
    if ((rv = tidal_sessions_add_signal(r->state.sessions, sid, &s)) != 0) {
        return rv;
    }
    bool apply;
    rv = tidal_hwm_should_apply(r->state.hwm, sid, rec->seqno, &apply);
    return rv != 0 ? rv : advance_hwm(r, sid);
}

/* Applies held records of a session that became applicable: every END and
 * HOME at once (merges, in any order), then signals in seqno order up to the
 * first gap.  Every path that raises a session's HWM ends here: a caller
 * waiting to see its own signal (seen.c) is woken. */
static int
drain(tidal_region *r, const uint8_t sid_bytes[16])
{
    if (r->state.seen_waiters > 0) {
        pthread_cond_broadcast(&r->state.seen_cv); /* they check under the lock we hold */
    }
    struct tidal__held_session *hs = tidal_hmap_find(&r->state.held, sid_bytes);
    tidal_session_id sid;
    tidal__sid_from_bytes(sid_bytes, &sid);
    int rv = 0;
    struct tidal__held_write **pp = hs != NULL ? &hs->list : NULL;
    while (pp != NULL && *pp != NULL) {
        struct tidal__held_write *w = *pp;
        if (w->rec.kind == TIDAL_REC_SESSION_SIGNAL) {
            pp = &w->next;
            continue;
        }
        *pp = w->next;
        hs->n--;
        rv = apply_session_part(r, &w->rec, &sid);
        tidal__state_unhold(r, w);
        if (rv != 0) {
            return rv;
        }
    }
    while (hs != NULL && hs->list != NULL) {
        struct tidal__held_write *w = hs->list;
        rv = apply_session_part(r, &w->rec, &sid);
        if (rv == TIDAL_EBUSY) {
            return 0; /* the next one is still missing */
        }
        hs->list = w->next;
        hs->n--;
        tidal__state_unhold(r, w);
        if (rv != 0) {
            return rv;
        }
    }
    if (hs != NULL) {
        tidal_hmap_remove_entry(&r->state.held, hs);
    }
    return rv;
}

static bool
session_known(tidal_region *r, const tidal_session_id *sid)
{
    tidal_session_state info;
    return tidal_sessions_get(r->state.sessions, sid, &info) == 0;
}

/* A signal's counts: its origin's components of (item, type) raised to the
 * record's (max). */
static int
observe_signal(tidal_region *r, const tidal_record *rec)
{
    uint16_t type;
    int rv;
    if (rec->region == r->id && tidal_sigtypes_find(r->state.types, rec->type, &type) != 0) {
        r->state.types_brought++; /* recovery replaying our own log */
    }
    if ((rv = tidal_sigtypes_intern(r->state.types, rec->type, &type)) != 0) {
        return rv;
    }
    return tidal_signals_observe(r->state.signals, rec->item, type, rec->region, rec->ts_ns,
                                 rec->p_minute, rec->p_hour);
}

/* Applies the session part of a session record of a session not freed
 * here; origin: the log it came in. */
static int
apply_session(tidal_region *r, const tidal_record *rec, const tidal_session_id *sid,
              uint16_t origin)
{
    int rv;
    if (rec->kind == TIDAL_REC_SESSION_START) {
        rv = tidal_sessions_start(r->state.sessions, sid, rec->user, rec->region, &rec->hlc);
        return rv != 0 ? rv : drain(r, rec->sid);
    }
    bool known = session_known(r, sid);
    if (known && rec->kind != TIDAL_REC_SESSION_SIGNAL) {
        /* END and HOME merge (sticky, LWW): never held behind a seqno gap, so
         * a home that hands its session over stops taking writes at once */
        return apply_session_part(r, rec, sid);
    }
    if (!known || tidal_hmap_find(&r->state.held, rec->sid) != NULL) {
        rv = hold(r, rec, origin);
        return rv != 0 ? rv : (known ? drain(r, rec->sid) : 0);
    }
    rv = apply_session_part(r, rec, sid);
    if (rv == TIDAL_EBUSY) {
        return hold(r, rec, origin);
    }
    return rv != 0 ? rv : drain(r, rec->sid);
}

/* Applies one record.  Caller holds state_lock.
 *
 * The retention (retention.c): a record of a session freed here (it has a
 * tombstone) is dropped - it was on its way, or is a log replayed - but a
 * signal's counts still apply, as they are the item's.  An END of a session
 * not known here that ended before the retention leaves a tombstone at once,
 * so that its START, still to come from another log (or further on in
 * recovery), drops too: a region ends with that session freed whatever the
 * order its logs arrive or are replayed in.  After a record, a session it
 * made expired is freed. */
int
tidal__state_apply(tidal_region *r, const tidal_record *rec, uint16_t origin)
{
    switch (rec->kind) {
    case TIDAL_REC_HIDE:
        return tidal_hardneg_hide(r->state.hardneg, rec->user, rec->item, &rec->hlc);
    case TIDAL_REC_UNHIDE:
        return tidal_hardneg_unhide(r->state.hardneg, rec->user, rec->item, &rec->hlc);
    case TIDAL_REC_USER_COUNTER:
        /* total: what an origin logged stays within the table's bounds
         * (store/ucounters.h) */
        return tidal_ucounters_raise(r->state.ucounters, rec->user, rec->key, rec->region, rec->cp,
                                     rec->cn);
    default:
        break;
    }
    tidal_session_id sid;
    tidal__sid_from_bytes(rec->sid, &sid);
    int rv = rec->kind == TIDAL_REC_SESSION_SIGNAL ? observe_signal(r, rec) : 0;
    if (rv != 0) {
        return rv;
    }
    if (tidal_sessions_tomb(r->state.sessions, &sid, NULL)) {
        tidal__retention_dropped(r);
        return 0;
    }
    if (rec->kind == TIDAL_REC_SESSION_END && !session_known(r, &sid) &&
        rec->hlc.wall_ns < tidal__retention_cutoff(r)) {
        return tidal__retention_bury(r, &sid, &rec->hlc);
    }
    if ((rv = apply_session(r, rec, &sid, origin)) == 0) {
        tidal__retention_check(r, &sid);
    }
    return rv;
}

void
tidal__state_apply_logged(tidal_region *r, const tidal_record *rec, uint16_t origin)
{
    int rv = tidal__state_apply(r, rec, origin);
    if (rv == 0) {
        return;
    }
    if (rv == TIDAL_ENOMEM) {
        /* half a batch applied cannot be undone, nor the record skipped
         * (the next one may need it): stop, and let the restart rebuild
         * the state from the log */
        fprintf(stderr, "tidal: region %u: out of memory applying a logged record (kind %u); "
                        "aborting: a restart recovers from the log\n",
                r->id, rec->kind);
        abort();
    }
    /* a rule that should have made this total did not: skipping it keeps
     * the region and everything behind it going, and says so */
    uint64_t n = atomic_fetch_add(&r->st_apply_skipped, 1) + 1;
    tidal__log(TIDAL_EVENT_LOG_REFUSED, n,
               "region %u: a logged record (kind %u) could not be applied: %s; skipped "
               "(%" PRIu64 " so far)",
               r->id, rec->kind, tidal_errname(rv), n);
}

/* A reconciliation merged a session: its HWM and held writes catch up.
 * Caller holds state_lock. */
int
tidal__state_session_merged(tidal_region *r, const tidal_session_id *sid)
{
    uint8_t b[16];
    int rv = advance_hwm(r, sid);
    tidal__sid_to_bytes(sid, b);
    return rv != 0 ? rv : drain(r, b);
}

int
tidal__state_merge_session(tidal_region *r, const uint8_t *entry, size_t len)
{
    tidal_session_id id;
    tidal_hlc end;
    bool ended;
    int rv = tidal_sessions_entry_peek(entry, len, &id, &ended, &end);
    if (rv != 0) {
        return rv;
    }
    if (tidal_sessions_tomb(r->state.sessions, &id, NULL)) {
        /* freed here, not yet by the peer, or the peer missed its end: the
         * tombstone this region sends in its own entries ends it there */
        tidal__retention_dropped(r);
        return 0;
    }
    if ((rv = tidal_sessions_entry_merge(r->state.sessions, entry, len, NULL)) != 0) {
        return rv;
    }
    /* a merge that cannot raise the HWM or drain now (memory) is not the
     * entry's fault: the next record or round does it */
    TIDAL_IGNORE(tidal__state_session_merged(r, &id));
    tidal__retention_check(r, &id); /* an entry past the retention: created, then freed */
    return 0;
}

int
tidal__state_merge_tomb(tidal_region *r, const uint8_t *entry, size_t len)
{
    tidal_session_id id;
    tidal_hlc end;
    int rv = tidal_sessions_tomb_decode(entry, len, &id, &end);
    if (rv != 0) {
        return rv;
    }
    if (session_known(r, &id)) {
        /* a copy that missed its end (a released log, a long cut): the end
         * merges like any END, and frees it if it is past the retention */
        if ((rv = tidal_sessions_end(r->state.sessions, &id, &end)) == 0) {
            tidal__retention_check(r, &id);
        }
        return rv;
    }
    /* unknown here: remembered if past the retention by this region's
     * clock too, so that its records still on their way drop; otherwise
     * (a peer's clock ahead) its END comes with them */
    return end.wall_ns < tidal__retention_cutoff(r) ? tidal__retention_bury(r, &id, &end) : 0;
}

/* At the origin, before applying a new signal: its counter components after
 * it (this region's own, plus one).  Caller holds state_lock. */
int
tidal__state_fill_signal(tidal_region *r, tidal_record *rec)
{
    uint16_t type;
    uint64_t pm = 0, ph = 0;
    /* the origin's bounds, below the tables' own: what peers apply stays
     * within those (limits.h), so they never refuse it */
    int rv = 0;
    if (tidal_sigtypes_find(r->state.types, rec->type, &type) != 0) {
        rv = r->state.types_brought < TIDAL_SIGTYPES_ORIGIN_MAX ? 0 : TIDAL_ELIMIT;
        rv = rv != 0 ? rv : tidal_sigtypes_intern(r->state.types, rec->type, &type);
        r->state.types_brought += rv == 0;
    }
    rv = rv != 0 ? rv : tidal_signals_room(r->state.signals, rec->item, type, rec->ts_ns);
    if (rv == 0) {
        rv =
            tidal_signals_component(r->state.signals, rec->item, type, r->id, rec->ts_ns, &pm, &ph);
    }
    if (rv == 0) {
        rec->region = r->id;
        rec->p_minute = pm + 1;
        rec->p_hour = ph + 1;
    }
    return rv;
}

/* A digest of the whole replicated state: equal digests, equal state.
 * Sessions past the retention are no part of it, freed or not yet. */
uint64_t
tidal__state_digest(tidal_region *r)
{
    uint64_t cutoff = tidal__retention_cutoff(r);
    pthread_mutex_lock(&r->state.lock);
    uint64_t d = tidal_signals_digest(r->state.signals);
    d = d * TIDAL_HASH_GOLDEN ^ tidal_sessions_digest_at(r->state.sessions, cutoff);
    d = d * TIDAL_HASH_GOLDEN ^ tidal_hardneg_digest(r->state.hardneg);
    d = d * TIDAL_HASH_GOLDEN ^ tidal_ucounters_digest(r->state.ucounters);
    pthread_mutex_unlock(&r->state.lock);
    return d;
}
