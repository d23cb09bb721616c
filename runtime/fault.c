/*
 * Fault injection at the mailbox layer: rules per directed link, decided per
 * envelope before coalescing, recorded in a trace.
 *
 * Determinism: decision(kind) = mix(seed, link id, link seq, kind), a
 * counter-based PRNG.  The link's sequence number counts the envelopes sent on
 * that link while a rule matched it, so the same seed and the same per-link
 * sends give the same per-link decisions however threads interleave.
 *
 * Order of decisions for one envelope (each kind drawn independently):
 *   partition -> drop -> (remembered for replay) -> delay -> reorder ->
 *   duplicate.
 * A delayed envelope is not also held back or duplicated; a held one is not
 * duplicated.
 *
 * Credit: only an envelope enqueued directly, live, keeps the mailbox room its
 * sender reserved.  A dropped one gives it back; delayed, held, duplicated and
 * replayed envelopes give it back and travel uncredited, so the receiver
 * counts them on arrival like a remote peer's.
 *
 * Lock order: fault->lock -> link->lock.  The copies a decision lets go are
 * sent after fault->lock is released, and never wait for room: one that
 * finds its link full waits in fault_retry.c's queue and is tried again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#include "runtime/fault_internal.h"

int
tidal__fault_init(tidal_runtime *rt, uint32_t trace_max)
{
    struct tidal__fault *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return TIDAL_ENOMEM;
    }
    f->rules = calloc(TIDAL_FAULT_RULES_MAX, sizeof(*f->rules));
    if (f->rules == NULL) {
        free(f);
        return TIDAL_ENOMEM;
    }
    f->trace_cap = trace_max ? trace_max : 65536u;
    if (f->trace_cap > TIDAL_TRACE_ENTRIES_MAX) {
        f->trace_cap = TIDAL_TRACE_ENTRIES_MAX;
    }
    pthread_mutex_init(&f->lock, NULL);
    tidal_buf_init(&f->scratch);
    rt->fault = f;
    return 0;
}

void
tidal__fault_fini(tidal_runtime *rt)
{
    struct tidal__fault *f = rt->fault;
    if (f == NULL) {
        return;
    }
    for (uint32_t b = 0; b < FLINK_BUCKETS; b++) {
        for (struct flink *fl = f->flinks[b], *next; fl != NULL; fl = next) {
            next = fl->next;
            for (uint32_t i = 0; i < fl->ring_count; i++) {
                tidal__fault_record_free(&fl->ring[(fl->ring_head + i) % fl->ring_cap]);
            }
            for (uint32_t i = 0; i < fl->nheld; i++) {
                tidal__fault_record_free(&fl->held[i].rec);
            }
            free(fl->ring);
            free(fl);
        }
    }
    tidal__fault_retry_free(f);
    tidal_buf_fini(&f->scratch);
    free(f->trace);
    free(f->rules);
    pthread_mutex_destroy(&f->lock);
    free(f);
    rt->fault = NULL;
}

bool
tidal__fault_active(tidal_runtime *rt)
{
    return atomic_load_explicit(&rt->fault->nrules, memory_order_relaxed) > 0;
}

uint64_t
tidal_link_id(const char *from, const char *to)
{
    uint64_t a = tidal__hash(from, strlen(from), 0x6c696e6bull);
    return tidal__hash(to, strlen(to), a);
}

/* The decision PRNG: a pure function of (seed, link, seq, kind). */
static uint64_t
draw(const tidal_runtime *rt, uint64_t link, uint64_t seq, int kind)
{
    return tidal_mix64(
        rt->seed ^ tidal_mix64(link ^ tidal_mix64(seq * TIDAL_HASH_GOLDEN + (uint64_t)kind + 1)));
}

static double
draw01(const tidal_runtime *rt, uint64_t link, uint64_t seq, int kind)
{
    return (double)(draw(rt, link, seq, kind) >> 11) * 0x1.0p-53;
}

static bool
pattern_match(const char *pat, const char *name)
{
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '*') {
        return strncmp(pat, name, n - 1) == 0;
    }
    return strcmp(pat, name) == 0;
}

static const struct rule *
rule_match(struct tidal__fault *f, const char *from, const char *to)
{
    const struct rule *best = NULL;
    uint32_t n = atomic_load(&f->nrules);
    for (uint32_t i = 0; i < n; i++) {
        const struct rule *r = &f->rules[i];
        if (pattern_match(r->from, from) && pattern_match(r->to, to) &&
            (best == NULL || r->order > best->order)) {
            best = r;
        }
    }
    return best;
}

struct flink *
tidal__fault_flink_get(struct tidal__fault *f, const char *from, const char *to, bool create)
{
    uint64_t id = tidal_link_id(from, to);
    struct flink **b = &f->flinks[id % FLINK_BUCKETS];
    for (struct flink *fl = *b; fl != NULL; fl = fl->next) {
        if (fl->id == id && strcmp(fl->from, from) == 0 && strcmp(fl->to, to) == 0) {
            return fl;
        }
    }
    if (!create) {
        return NULL;
    }
    struct flink *fl = calloc(1, sizeof(*fl));
    if (fl == NULL) {
        return NULL;
    }
    fl->id = id;
    snprintf(fl->from, sizeof(fl->from), "%s", from);
    snprintf(fl->to, sizeof(fl->to), "%s", to);
    fl->next = *b;
    *b = fl;
    return fl;
}

void
tidal__fault_trace_add(tidal_runtime *rt, const struct flink *fl, uint64_t seq, uint64_t msg_id, int kind,
          uint32_t param)
{
    struct tidal__fault *f = rt->fault;
    atomic_fetch_add(&rt->st_faults[kind], 1);
    if (f->trace == NULL && (f->trace = calloc(f->trace_cap, sizeof(*f->trace))) == NULL) {
        return; /* counted, not traced */
    }
    f->trace[f->trace_total % f->trace_cap] = (tidal_trace_entry){
        .link_id = fl->id, .link_seq = seq, .msg_id = msg_id, .param = param, .kind = (uint8_t)kind};
    f->trace_total++;
}

static void
give_back(struct tidal__actor *local, bool credited)
{
    if (local != NULL && credited) {
        pthread_mutex_lock(&local->lock);
        tidal__actor_unreserve(local, 1);
        pthread_mutex_unlock(&local->lock);
    }
}

static void
remember(struct flink *fl, const struct tidal_fault_rule *rule, const tidal_buf *b,
         uint64_t msg_id, struct tidal__link *l)
{
    uint32_t keep = rule->replay_keep ? rule->replay_keep : TIDAL_REPLAY_KEEP_MAX;
    if (fl->ring == NULL) {
        fl->ring = calloc(TIDAL_REPLAY_KEEP_MAX, sizeof(*fl->ring));
        if (fl->ring == NULL) {
            return;
        }
        fl->ring_cap = TIDAL_REPLAY_KEEP_MAX;
    }
    while (fl->ring_count >= keep) {
        tidal__fault_record_free(&fl->ring[fl->ring_head]);
        fl->ring_head = (fl->ring_head + 1) % fl->ring_cap;
        fl->ring_count--;
    }
    struct record *r = &fl->ring[(fl->ring_head + fl->ring_count) % fl->ring_cap];
    if (tidal__fault_record_copy(r, b, msg_id, l) == 0) {
        fl->ring_count++;
    }
}

/* Moves held envelopes due at seq (all when seq is UINT64_MAX) into ob, in
 * release order. */
void
tidal__fault_release_held(struct flink *fl, uint64_t seq, struct outbox *ob)
{
    while (ob->n < sizeof(ob->recs) / sizeof(ob->recs[0])) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < fl->nheld; i++) {
            if (fl->held[i].release_seq <= seq &&
                (best == UINT32_MAX || fl->held[i].release_seq < fl->held[best].release_seq)) {
                best = i;
            }
        }
        if (best == UINT32_MAX) {
            return;
        }
        ob->recs[ob->n++] = fl->held[best].rec;
        memmove(&fl->held[best], &fl->held[best + 1],
                (fl->nheld - best - 1) * sizeof(fl->held[0]));
        fl->nheld--;
    }
}

static void
hold_timer_fire(tidal_runtime *rt, void *arg)
{
    struct flink *fl = arg;
    struct outbox ob = {.n = 0};
    pthread_mutex_lock(&rt->fault->lock);
    fl->hold_timer = false;
    tidal__fault_release_held(fl, UINT64_MAX, &ob);
    pthread_mutex_unlock(&rt->fault->lock);
    tidal__fault_outbox_flush(rt, &ob, NULL);
}

struct delayed {
    struct record rec;
};

static void
delayed_fire(tidal_runtime *rt, void *arg)
{
    struct delayed *d = arg;
    struct outbox ob = {.n = 1};
    ob.recs[0] = d->rec;
    tidal__fault_outbox_flush(rt, &ob, NULL);
    free(d);
}

static void
delayed_free(void *arg)
{
    struct delayed *d = arg;
    tidal__fault_record_free(&d->rec);
    free(d);
}

/* Decides delay, hold-back and duplication for an envelope already past
 * partition and drop.  f->scratch holds its uncredited encoding.  Returns
 * true if the live envelope should be sent now.  Caller holds f->lock. */
static bool
shape(tidal_runtime *rt, struct flink *fl, const tidal_fault_rule *rule, uint64_t seq,
      const tidal_envelope *e, struct tidal__link *l, struct outbox *ob)
{
    struct tidal__fault *f = rt->fault;
    if (rule->delay > 0 && draw01(rt, fl->id, seq, TIDAL_FAULT_DELAY) < rule->delay) {
        uint32_t span = rule->delay_max_ms - rule->delay_min_ms + 1;
        uint32_t ms = rule->delay_min_ms +
                      (uint32_t)(draw(rt, fl->id, seq, TIDAL_FAULT_DELAY + 100) % span);
        struct delayed *d = malloc(sizeof(*d));
        if (d != NULL && tidal__fault_record_copy(&d->rec, &f->scratch, e->id, l) == 0 &&
            tidal__timer_add(rt, ms, delayed_fire, d, delayed_free) == 0) {
            tidal__fault_trace_add(rt, fl, seq, e->id, TIDAL_FAULT_DELAY, ms);
            return false;
        }
        if (d != NULL && d->rec.bytes != NULL) {
            tidal__fault_record_free(&d->rec);
        }
        free(d);
        return true; /* could not delay: send it now rather than lose it */
    }
    if (rule->reorder_window > 1 && fl->nheld < TIDAL_REORDER_WINDOW_MAX) {
        uint32_t h = (uint32_t)(draw(rt, fl->id, seq, TIDAL_FAULT_REORDER) % rule->reorder_window);
        if (h > 0 && tidal__fault_record_copy(&fl->held[fl->nheld].rec, &f->scratch, e->id, l) == 0) {
            fl->held[fl->nheld].release_seq = seq + h;
            fl->nheld++;
            tidal__fault_trace_add(rt, fl, seq, e->id, TIDAL_FAULT_REORDER, h);
            if (!fl->hold_timer &&
                tidal__timer_add(rt, TIDAL_REORDER_HOLD_MS, hold_timer_fire, fl, NULL) == 0) {
                fl->hold_timer = true;
            }
            return false;
        }
    }
    if (rule->duplicate > 0 && draw01(rt, fl->id, seq, TIDAL_FAULT_DUPLICATE) < rule->duplicate &&
        tidal__fault_record_copy(&ob->recs[ob->n], &f->scratch, e->id, l) == 0) {
        ob->n++;
        tidal__fault_trace_add(rt, fl, seq, e->id, TIDAL_FAULT_DUPLICATE, 0);
    }
    return true;
}

/* The fault path of a send: decides, traces and enqueues one envelope.  Owns
 * the sender's credit on every path (keeps it for a live send, else gives it
 * back). */
int
tidal__fault_route(tidal_runtime *rt, struct tidal__cork *cork, struct tidal__link *l,
                   struct tidal__actor *local, const char *from_full, const char *to_full,
                   const tidal_envelope *e, uint32_t timeout_ms)
{
    struct tidal__fault *f = rt->fault;
    bool credited = (e->flags & TIDAL_ENV_F_CREDITED) != 0;
    bool live = true;
    struct outbox ob = {.n = 0};
    int rv = 0;
    pthread_mutex_lock(&f->lock);
    const struct rule *r = rule_match(f, from_full, to_full);
    struct flink *fl = r ? tidal__fault_flink_get(f, from_full, to_full, true) : NULL;
    if (fl != NULL) {
        tidal_fault_rule rule = r->r;
        uint64_t seq = fl->seq++;
        tidal_envelope plain = *e; /* copies travel uncredited */
        plain.flags &= (uint8_t)~TIDAL_ENV_F_CREDITED;
        tidal_buf_reset(&f->scratch);
        if (rule.partition) {
            tidal__fault_trace_add(rt, fl, seq, e->id, TIDAL_FAULT_PARTITION, 0);
            live = false;
        } else if (rule.drop > 0 && draw01(rt, fl->id, seq, TIDAL_FAULT_DROP) < rule.drop) {
            tidal__fault_trace_add(rt, fl, seq, e->id, TIDAL_FAULT_DROP, 0);
            live = false;
        } else if ((rv = tidal_envelope_encode(&plain, &f->scratch)) != 0) {
            live = false;
        } else {
            remember(fl, &rule, &f->scratch, e->id, l);
            live = shape(rt, fl, &rule, seq, e, l, &ob);
        }
        tidal__fault_release_held(fl, seq, &ob);
    }
    pthread_mutex_unlock(&f->lock);
    if (live) {
        rv = tidal__link_enqueue(l, e, timeout_ms, cork);
    }
    if ((!live || rv != 0) && credited) {
        give_back(local, credited);
    }
    tidal__fault_outbox_flush(rt, &ob, cork);
    return rv;
}

