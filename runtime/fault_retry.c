/*
 * The copies the fault layer keeps and lets go (delayed, held back,
 * duplicated, replayed): their records, and their sending.  One that finds
 * its link full waits here and is tried again, instead of being lost.  A fault rule delays or reorders; a full link must not turn that
 * into a drop the rule never drew, which would break the accounting a
 * scenario checks (handled = sent - dropped + duplicated).
 *
 * The copies form one queue per runtime, oldest first, and one timer pass
 * tries them in order: a copy whose link is still full stays, with every
 * later copy for that link, so a link's copies keep their order.  While a
 * pass is armed or running, every new copy joins the queue behind the
 * others instead of trying its link first.  The pass comes 1 ms after a
 * pass that sent something and backs off, doubling up to
 * RETRY_BACKOFF_MAX_MS, while the links stay full.
 *
 * Bounds: at most TIDAL_FAULT_RETRY_MAX copies wait; a copy past it, a copy
 * whose link is closed or failed otherwise, and the queue when no timer can
 * be set are dead letters (LINK_FAILED), as before this queue existed.
 * Copies still waiting when the runtime closes are freed unsent, as held
 * ones are.
 *
 * Guarded by tidal__fault.lock: retry, retry_n, retry_cap, retry_ms,
 * retry_pass_n.  The pass takes the queue out and sends with no lock held;
 * the copies it holds meanwhile still count against the bound.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/fault_internal.h"

#define RETRY_BACKOFF_MAX_MS 16u

/* Full links remembered per pass: a copy for one of them is not tried.  A
 * pass with more full links than this tries the others' copies in turn. */
#define RETRY_FULL_LINKS 8u

static void retry_fire(tidal_runtime *rt, void *arg);

void
tidal__fault_record_free(struct record *r)
{
    free(r->bytes);
    r->bytes = NULL;
}

int
tidal__fault_record_copy(struct record *r, const tidal_buf *b, uint64_t msg_id, struct tidal__link *l)
{
    r->bytes = malloc(b->len);
    if (r->bytes == NULL) {
        return TIDAL_ENOMEM;
    }
    memcpy(r->bytes, b->data, b->len);
    r->len = (uint32_t)b->len;
    r->msg_id = msg_id;
    r->l = l;
    return 0;
}

/* Dead-letters and frees n copies. */
static void
lose(tidal_runtime *rt, struct record *recs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        tidal__fault_record_free(&recs[i]);
    }
    if (n > 0) {
        tidal__dead(rt, TIDAL_DEAD_LINK_FAILED, n);
    }
}

/* Room in f->retry for n copies.  Caller holds f->lock. */
static bool
reserve_locked(struct tidal__fault *f, uint32_t n)
{
    if (f->retry_n + n <= f->retry_cap) {
        return true;
    }
    uint32_t cap = f->retry_cap ? f->retry_cap : 64;
    while (cap < f->retry_n + n) {
        cap *= 2;
    }
    struct record *a = realloc(f->retry, (size_t)cap * sizeof(*a));
    if (a == NULL) {
        return false;
    }
    f->retry = a;
    f->retry_cap = cap;
    return true;
}

/* Arms the next pass in ms, or, if no timer can be set (the runtime is
 * closing, or memory), dead-letters the queue.  Caller holds f->lock. */
static void
arm_locked(tidal_runtime *rt, struct tidal__fault *f, uint32_t ms)
{
    f->retry_ms = ms;
    if (tidal__timer_add(rt, ms, retry_fire, NULL, NULL) != 0) {
        lose(rt, f->retry, f->retry_n);
        f->retry_n = 0;
        f->retry_ms = 0;
    }
}

/* Whether copies wait: a new copy joins them rather than overtake them.
 * Caller holds f->lock. */
static bool
waiting_locked(const struct tidal__fault *f)
{
    return f->retry_ms != 0;
}

/* Queues r (owned from here) behind the copies waiting.  Caller holds
 * f->lock. */
static void
queue_locked(tidal_runtime *rt, struct tidal__fault *f, struct record *r)
{
    if (f->retry_n + f->retry_pass_n >= TIDAL_FAULT_RETRY_MAX || !reserve_locked(f, 1)) {
        lose(rt, r, 1);
        return;
    }
    f->retry[f->retry_n++] = *r;
    if (!waiting_locked(f)) {
        arm_locked(rt, f, 1);
    }
}

/* Puts r on its link: 0 (sent and freed), TIDAL_EFULL (kept: the caller
 * queues it), or another code (a dead letter, freed). */
static int
try_copy(tidal_runtime *rt, struct record *r, struct tidal__cork *cork)
{
    int rv = tidal__link_enqueue_raw(r->l, r->bytes, r->len, cork);
    if (rv == 0) {
        tidal__fault_record_free(r);
    } else if (rv != TIDAL_EFULL) {
        lose(rt, r, 1);
    }
    return rv;
}

void
tidal__fault_send(tidal_runtime *rt, struct record *recs, uint32_t n, struct tidal__cork *cork)
{
    struct tidal__fault *f = rt->fault;
    uint32_t i = 0;
    if (n == 0) {
        return; /* most sends: no copy, and no lock to take */
    }
    pthread_mutex_lock(&f->lock);
    bool waiting = waiting_locked(f);
    pthread_mutex_unlock(&f->lock);
    for (; i < n && !waiting; i++) {
        if (try_copy(rt, &recs[i], cork) == TIDAL_EFULL) {
            break; /* it and the rest wait, in order */
        }
    }
    if (i < n) {
        pthread_mutex_lock(&f->lock);
        for (; i < n; i++) {
            queue_locked(rt, f, &recs[i]);
        }
        pthread_mutex_unlock(&f->lock);
    }
}

void
tidal__fault_outbox_flush(tidal_runtime *rt, struct outbox *ob, struct tidal__cork *cork)
{
    tidal__fault_send(rt, ob->recs, ob->n, cork);
    ob->n = 0;
}

static bool
is_full(struct tidal__link *const *full, uint32_t nfull, const struct tidal__link *l)
{
    for (uint32_t i = 0; i < nfull; i++) {
        if (full[i] == l) {
            return true;
        }
    }
    return false;
}

/* One pass over the queue, on the timer thread. */
static void
retry_fire(tidal_runtime *rt, void *arg)
{
    (void)arg;
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    struct record *recs = f->retry;
    uint32_t n = f->retry_n;
    f->retry = NULL;
    f->retry_n = 0;
    f->retry_cap = 0;
    f->retry_pass_n = n; /* still counted against the bound */
    pthread_mutex_unlock(&f->lock);

    struct tidal__link *full[RETRY_FULL_LINKS];
    uint32_t nfull = 0, kept = 0, sent = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct record *r = &recs[i];
        int rv = is_full(full, nfull, r->l) ? TIDAL_EFULL : try_copy(rt, r, NULL);
        if (rv == TIDAL_EFULL) {
            if (nfull < RETRY_FULL_LINKS && !is_full(full, nfull, r->l)) {
                full[nfull++] = r->l;
            }
            recs[kept++] = *r;
        } else if (rv == 0) {
            sent++;
        }
    }

    /* The copies kept go back before those queued during the pass. */
    pthread_mutex_lock(&f->lock);
    f->retry_pass_n = 0;
    if (kept > 0 && !reserve_locked(f, kept)) {
        lose(rt, recs, kept);
        kept = 0;
    }
    if (kept > 0) {
        memmove(&f->retry[kept], f->retry, (size_t)f->retry_n * sizeof(*f->retry));
        memcpy(f->retry, recs, (size_t)kept * sizeof(*recs));
        f->retry_n += kept;
    }
    free(recs);
    if (f->retry_n == 0) {
        f->retry_ms = 0;
    } else {
        uint32_t ms = sent > 0 ? 1 : f->retry_ms * 2;
        arm_locked(rt, f, ms < RETRY_BACKOFF_MAX_MS ? ms : RETRY_BACKOFF_MAX_MS);
    }
    pthread_mutex_unlock(&f->lock);
}

void
tidal__fault_retry_free(struct tidal__fault *f)
{
    for (uint32_t i = 0; i < f->retry_n; i++) {
        tidal__fault_record_free(&f->retry[i]);
    }
    free(f->retry);
    f->retry = NULL;
    f->retry_n = 0;
    f->retry_cap = 0;
}
