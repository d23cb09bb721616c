/*
 * A region's own writes waiting for their sync (SYNC, with a directory):
 * visible once durable.
 *
 * Under SYNC a write is acknowledged once the fdatasync covering its batch
 * returned.  Were it applied to the state at its append, a reader - and the
 * reconciler, which sends state, not batches - would see it before that,
 * and if the disk then refused the batch (ENOSPC, EIO) it would have seen a
 * write that was never acknowledged, and that a restart would not bring
 * back.  Undoing it then is not possible in general: the state is made of
 * merges (maxima, unions) that other writes may have moved since, so an
 * "old value" to put back is not known.  So the write is not applied at its
 * append: its records wait here, in LSN order, and are applied once a sync
 * covered them - by the writer after its wait (read-your-writes), by the
 * log's sync thread for writes no one waits for (a handler's: logs.c), or
 * by the next writer, whichever comes first; all under state.lock.  A batch
 * the disk refused stays here until a retry writes it again and syncs it
 * (store/wal_retry.c), and is applied then.
 *
 * What a later write decides on must not wait for the sync, or two writes
 * in flight would decide alike.  So, at the append:
 *   - a signal's seqno is taken (the gate, session.c), and its counter
 *     components are counted from the state and from the signals here: two
 *     signals of one (item, type, bucket) in flight get n+1 and n+2, not
 *     n+1 twice (marks: each bucket's highest component here);
 *   - a session's START is applied: the writes that follow need the session;
 *   - a HOME record is applied: a home that hands its session over stops
 *     taking writes for it at once (two homes would give the same seqnos);
 *   - an END is marked: a signal after it is refused (TIDAL_ESTATE) as if
 *     it were applied;
 *   - a USER_COUNTER's component is counted from the state and the
 *     USER_COUNTER records here, as a signal's (marks: each pair's highest
 *     component here), and a pair it gives this region a first component in
 *     ("fresh") counts towards the origin's bounds (limits.h) as if applied
 *     (marks: fresh pairs by user, and in all).
 * When the disk refuses the tail (on_disk, logs.c, before any writer hears
 * of it), what can be given back is: a START in the refused tail takes its
 * session out of sight again, and the seqnos of its signals are given back
 * (newest first), so the state is what it was before those writes.  A
 * HOME is kept: its answer went to the new home already.  When the retry
 * succeeds, the batches are applied like any others - START first, so the
 * session and its seqnos come back - before any new write's gate runs.
 */
#include <stdlib.h>
#include <string.h>

#include "actors/internal.h"
#include "store/signals.h"

struct tidal__pending_batch {
    struct tidal__pending_batch *prev, *next;
    uint64_t first_lsn;
    uint32_t n;
    tidal_record recs[];
};

/* A mark: the highest counter component of a bucket among the signals
 * here, or an END here, or the highest component of a (user, key) pair;
 * refs: how many records made it.  For UC_USER and UC_ALL, refs counts the
 * fresh pairs here (of a user, of all). */
enum {
    MARK_MINUTE = 1,
    MARK_HOUR = 2,
    MARK_END = 3,
    MARK_UC = 4,
    MARK_UC_USER = 5,
    MARK_UC_ALL = 6
};
#define MARK_KEY_BYTES 48
struct mark {
    uint8_t key[MARK_KEY_BYTES]; /* kind, then item, type, bucket; or the sid; or user, key */
    uint64_t p;
    uint64_t n; /* MARK_UC: the component's N */
    uint64_t refs;
    bool fresh; /* MARK_UC: the state had no component of ours when it was made */
};

static void
uc_key(uint8_t key[MARK_KEY_BYTES], uint8_t kind, const tidal_record *rec)
{
    memset(key, 0, MARK_KEY_BYTES);
    key[0] = kind;
    if (kind != MARK_UC_ALL) {
        memcpy(key + 1, &rec->user, 8);
    }
    if (kind == MARK_UC) {
        memcpy(key + 9, rec->key, strnlen(rec->key, TIDAL_USER_COUNTER_KEY_BYTES_MAX));
    }
}

static void
signal_key(uint8_t key[MARK_KEY_BYTES], uint8_t kind, const tidal_record *rec, uint16_t type)
{
    uint64_t bucket = rec->ts_ns / (kind == MARK_MINUTE ? TIDAL_SIGNALS_MINUTE_NS
                                                        : TIDAL_SIGNALS_HOUR_NS);
    memset(key, 0, MARK_KEY_BYTES);
    key[0] = kind;
    memcpy(key + 1, &rec->item, 8);
    memcpy(key + 9, &type, 2);
    memcpy(key + 11, &bucket, 8);
}

static void
end_key(uint8_t key[MARK_KEY_BYTES], const tidal_record *rec)
{
    memset(key, 0, MARK_KEY_BYTES);
    key[0] = MARK_END;
    memcpy(key + 1, rec->sid, 16);
}

void
tidal__pending_init(tidal_region *r)
{
    tidal_hmap_init(&r->pending.marks, sizeof(struct mark), MARK_KEY_BYTES);
}

void
tidal__pending_fini(tidal_region *r)
{
    for (struct tidal__pending_batch *b = r->pending.head, *n; b != NULL; b = n) {
        n = b->next;
        free(b); /* never durable: a reopen does not have them either */
    }
    r->pending.head = r->pending.tail = NULL;
    tidal_hmap_fini(&r->pending.marks);
}

/* The type id of a signal record (interned by tidal__state_fill_signal). */
static int
type_of(tidal_region *r, const tidal_record *rec, uint16_t *type)
{
    return tidal_sigtypes_intern(r->state.types, rec->type, type);
}

/* Adds a reference to a mark, raising its component to p.  Room was
 * reserved (tidal__pending_prepare): cannot fail. */
static void
mark_add(tidal_region *r, const uint8_t key[MARK_KEY_BYTES], uint64_t p)
{
    struct mark *m;
    bool created;
    TIDAL_IGNORE(tidal_hmap_upsert(&r->pending.marks, key, (void **)&m, &created));
    m->p = m->p > p ? m->p : p;
    m->refs++;
}

static void
mark_drop(tidal_region *r, const uint8_t key[MARK_KEY_BYTES])
{
    struct mark *m = tidal_hmap_find(&r->pending.marks, key);
    if (m != NULL && --m->refs == 0) {
        tidal_hmap_remove_entry(&r->pending.marks, m);
    }
}

/* A USER_COUNTER's marks: its pair's component, and - when the pair is
 * fresh, as its mark is made and after its last record here is applied -
 * the fresh counts.  Room was reserved: cannot fail. */
static void
uc_marks(tidal_region *r, const tidal_record *rec, bool add)
{
    uint8_t key[MARK_KEY_BYTES], user[MARK_KEY_BYTES], all[MARK_KEY_BYTES];
    uc_key(key, MARK_UC, rec);
    uc_key(user, MARK_UC_USER, rec);
    uc_key(all, MARK_UC_ALL, rec);
    struct mark *m = tidal_hmap_find(&r->pending.marks, key);
    if (add) {
        uint64_t p, n;
        bool fresh = m == NULL && !tidal_ucounters_component(r->state.ucounters, rec->user,
                                                             rec->key, r->id, &p, &n);
        mark_add(r, key, rec->cp);
        m = tidal_hmap_find(&r->pending.marks, key);
        m->n = m->n > rec->cn ? m->n : rec->cn;
        m->fresh = m->fresh || fresh;
        if (fresh) {
            mark_add(r, user, 0);
            mark_add(r, all, 0);
        }
    } else if (m != NULL) {
        if (m->refs == 1 && m->fresh) {
            mark_drop(r, user);
            mark_drop(r, all);
        }
        mark_drop(r, key);
    }
}

void
tidal__pending_uc_floor(tidal_region *r, const tidal_record *rec, struct tidal_ucounters_floor *f)
{
    uint8_t key[MARK_KEY_BYTES];
    memset(f, 0, sizeof(*f));
    uc_key(key, MARK_UC, rec);
    const struct mark *m = tidal_hmap_find(&r->pending.marks, key);
    if (m != NULL) {
        f->known = true;
        f->p = m->p;
        f->n = m->n;
    }
    uc_key(key, MARK_UC_USER, rec);
    m = tidal_hmap_find(&r->pending.marks, key);
    f->own_pending_user = m != NULL ? (uint32_t)m->refs : 0;
    uc_key(key, MARK_UC_ALL, rec);
    m = tidal_hmap_find(&r->pending.marks, key);
    f->own_pending_all = m != NULL ? (uint32_t)m->refs : 0;
}

/* The marks a record makes, added (add) or dropped. */
static void
marks_of(tidal_region *r, const tidal_record *rec, bool add)
{
    uint8_t key[MARK_KEY_BYTES];
    uint16_t type;
    if (rec->kind == TIDAL_REC_SESSION_END) {
        end_key(key, rec);
        add ? mark_add(r, key, 0) : mark_drop(r, key);
    } else if (rec->kind == TIDAL_REC_USER_COUNTER) {
        uc_marks(r, rec, add);
    } else if (rec->kind == TIDAL_REC_SESSION_SIGNAL && type_of(r, rec, &type) == 0) {
        signal_key(key, MARK_MINUTE, rec, type);
        add ? mark_add(r, key, rec->p_minute) : mark_drop(r, key);
        signal_key(key, MARK_HOUR, rec, type);
        add ? mark_add(r, key, rec->p_hour) : mark_drop(r, key);
    }
}

int
tidal__pending_check(tidal_region *r, const tidal_record *rec)
{
    uint8_t key[MARK_KEY_BYTES];
    if (rec->kind != TIDAL_REC_SESSION_SIGNAL) {
        return 0;
    }
    end_key(key, rec);
    return tidal_hmap_find(&r->pending.marks, key) != NULL ? TIDAL_ESTATE : 0;
}

int
tidal__pending_fill(tidal_region *r, tidal_record *rec)
{
    uint8_t key[MARK_KEY_BYTES];
    uint16_t type;
    int rv = type_of(r, rec, &type);
    if (rv != 0) {
        return rv;
    }
    signal_key(key, MARK_MINUTE, rec, type);
    const struct mark *m = tidal_hmap_find(&r->pending.marks, key);
    if (m != NULL && m->p >= rec->p_minute) {
        rec->p_minute = m->p + 1;
    }
    signal_key(key, MARK_HOUR, rec, type);
    m = tidal_hmap_find(&r->pending.marks, key);
    if (m != NULL && m->p >= rec->p_hour) {
        rec->p_hour = m->p + 1;
    }
    return 0;
}

int
tidal__pending_prepare(tidal_region *r, const tidal_record *recs, uint32_t n,
                       struct tidal__pending_batch **out)
{
    size_t marks = 0;
    for (uint32_t i = 0; i < n; i++) {
        marks += recs[i].kind == TIDAL_REC_SESSION_SIGNAL ? 2
                 : recs[i].kind == TIDAL_REC_USER_COUNTER ? 3
                                                          : recs[i].kind == TIDAL_REC_SESSION_END;
    }
    struct tidal__pending_batch *b = malloc(sizeof(*b) + n * sizeof(b->recs[0]));
    if (b == NULL) {
        return TIDAL_ENOMEM;
    }
    int rv = tidal_hmap_reserve(&r->pending.marks, tidal_hmap_count(&r->pending.marks) + marks);
    if (rv != 0) {
        free(b);
        return rv;
    }
    b->n = n;
    memcpy(b->recs, recs, n * sizeof(b->recs[0]));
    *out = b;
    return 0;
}

void
tidal__pending_discard(struct tidal__pending_batch *b)
{
    free(b);
}

int
tidal__pending_add(tidal_region *r, struct tidal__pending_batch *b, uint64_t first_lsn)
{
    int rv = 0;
    b->first_lsn = first_lsn;
    b->next = NULL;
    b->prev = r->pending.tail;
    if (b->prev != NULL) {
        b->prev->next = b;
    } else {
        r->pending.head = b;
    }
    r->pending.tail = b;
    for (uint32_t i = 0; i < b->n; i++) {
        marks_of(r, &b->recs[i], true);
        if (b->recs[i].kind == TIDAL_REC_SESSION_START ||
            b->recs[i].kind == TIDAL_REC_SESSION_HOME) {
            /* what later writes decide on; logged already, so total */
            tidal__state_apply_logged(r, &b->recs[i], r->id);
        }
    }
    return rv;
}

void
tidal__pending_apply(tidal_region *r, uint64_t durable)
{
    struct tidal__pending_batch *b;
    while ((b = r->pending.head) != NULL && b->first_lsn + b->n - 1 <= durable) {
        r->pending.head = b->next;
        if (b->next != NULL) {
            b->next->prev = NULL;
        } else {
            r->pending.tail = NULL;
        }
        for (uint32_t i = 0; i < b->n; i++) {
            /* durable, and on its way to the peers: applying a logged
             * record is total (state.c, tidal__state_apply_logged) */
            tidal__state_apply_logged(r, &b->recs[i], r->id);
            marks_of(r, &b->recs[i], false);
        }
        free(b);
    }
}

void
tidal__pending_catch_up(tidal_region *r)
{
    if (!r->defer_apply) {
        return;
    }
    pthread_mutex_lock(&r->state.lock);
    if (r->pending.head != NULL) {
        tidal__pending_apply(r, tidal_wal_durable_lsn(r->wal));
    }
    pthread_mutex_unlock(&r->state.lock);
}

/* Gives back what a record of a refused tail took at its append (newest
 * first): a signal's seqno, a START's session - while this region is still
 * the session's home and nothing came after it. */
static void
give_back(tidal_region *r, const tidal_record *rec)
{
    tidal_session_id sid;
    tidal_session_state info;
    tidal__sid_from_bytes(rec->sid, &sid);
    if ((rec->kind != TIDAL_REC_SESSION_SIGNAL && rec->kind != TIDAL_REC_SESSION_START) ||
        tidal_sessions_get(r->state.sessions, &sid, &info) != 0 || info.home != r->id) {
        return;
    }
    if (rec->kind == TIDAL_REC_SESSION_SIGNAL) {
        if (rec->seqno + 1 == info.next_seqno && rec->seqno >= info.handover_seqno) {
            TIDAL_IGNORE(tidal_sessions_unassign_seqno(r->state.sessions, &sid, rec->seqno));
        }
    } else if (info.signals == 0 && info.next_seqno == 1 && !info.ended) {
        TIDAL_IGNORE(tidal_sessions_remove(r->state.sessions, &sid));
        (void)tidal_hwm_remove(r->state.hwm, &sid);
    }
}

void
tidal__pending_refused(tidal_region *r, uint64_t first)
{
    for (struct tidal__pending_batch *b = r->pending.tail; b != NULL && b->first_lsn >= first;
         b = b->prev) {
        for (uint32_t i = b->n; i > 0; i--) {
            give_back(r, &b->recs[i - 1]);
        }
    }
}
