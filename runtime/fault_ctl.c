/*
 * Fault-injection controls (include/tidal/fault.h): rules, partitions,
 * replay and the trace.  The decisions themselves are in fault.c.
 *
 * Clearing a rule releases every envelope held back by the reorder window, in
 * order per link, so nothing stays parked after a scenario heals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fault_internal.h"

/* ---- public controls -------------------------------------------------------- */

static bool
pattern_ok(const char *p)
{
    size_t n = p ? strnlen(p, FULLNAME_BYTES) : 0;
    if (n == 0 || n >= FULLNAME_BYTES) {
        return false;
    }
    const char *star = strchr(p, '*');
    return star == NULL || star == p + n - 1;
}

static bool
prob_ok(double p)
{
    return p >= 0.0 && p <= 1.0;
}

int
tidal_fault_set(tidal_runtime *rt, const char *from, const char *to,
                const tidal_fault_rule *rule)
{
    if (rt == NULL || rule == NULL || !pattern_ok(from) || !pattern_ok(to) ||
        !prob_ok(rule->drop) || !prob_ok(rule->duplicate) || !prob_ok(rule->delay) ||
        rule->delay_min_ms > rule->delay_max_ms || rule->delay_max_ms > TIDAL_DELAY_MS_MAX ||
        rule->reorder_window > TIDAL_REORDER_WINDOW_MAX ||
        rule->replay_keep > TIDAL_REPLAY_KEEP_MAX) {
        return TIDAL_EINVAL;
    }
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    uint32_t n = atomic_load(&f->nrules);
    uint32_t i = 0;
    while (i < n && !(strcmp(f->rules[i].from, from) == 0 && strcmp(f->rules[i].to, to) == 0)) {
        i++;
    }
    if (i == n && n == TIDAL_FAULT_RULES_MAX) {
        pthread_mutex_unlock(&f->lock);
        return TIDAL_ELIMIT;
    }
    struct rule *r = &f->rules[i];
    snprintf(r->from, sizeof(r->from), "%s", from);
    snprintf(r->to, sizeof(r->to), "%s", to);
    r->r = *rule;
    r->order = ++f->next_order;
    if (i == n) {
        atomic_store(&f->nrules, n + 1);
    }
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* Releases every held envelope, in order per link.  Takes f->lock per link
 * and sends outside it. */
static void
release_all_held(tidal_runtime *rt)
{
    struct tidal__fault *f = rt->fault;
    for (uint32_t b = 0; b < FLINK_BUCKETS; b++) {
        pthread_mutex_lock(&f->lock);
        for (struct flink *fl = f->flinks[b]; fl != NULL; fl = fl->next) {
            while (fl->nheld > 0) {
                struct outbox ob = {.n = 0};
                tidal__fault_release_held(fl, UINT64_MAX, &ob);
                pthread_mutex_unlock(&f->lock);
                tidal__fault_outbox_flush(rt, &ob, NULL);
                pthread_mutex_lock(&f->lock);
            }
        }
        pthread_mutex_unlock(&f->lock);
    }
}

int
tidal_fault_clear(tidal_runtime *rt, const char *from, const char *to)
{
    if (rt == NULL || from == NULL || to == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    uint32_t n = atomic_load(&f->nrules);
    uint32_t i = 0;
    while (i < n && !(strcmp(f->rules[i].from, from) == 0 && strcmp(f->rules[i].to, to) == 0)) {
        i++;
    }
    if (i == n) {
        pthread_mutex_unlock(&f->lock);
        return TIDAL_ENOENT;
    }
    f->rules[i] = f->rules[n - 1];
    atomic_store(&f->nrules, n - 1);
    pthread_mutex_unlock(&f->lock);
    release_all_held(rt);
    return 0;
}

void
tidal_fault_clear_all(tidal_runtime *rt)
{
    pthread_mutex_lock(&rt->fault->lock);
    atomic_store(&rt->fault->nrules, 0);
    pthread_mutex_unlock(&rt->fault->lock);
    release_all_held(rt);
}

int
tidal_fault_partition(tidal_runtime *rt, const char *a, const char *b, int both_ways)
{
    tidal_fault_rule cut = {.partition = 1};
    int rv = tidal_fault_set(rt, a, b, &cut);
    if (rv == 0 && both_ways) {
        rv = tidal_fault_set(rt, b, a, &cut);
    }
    return rv;
}

int
tidal_fault_replay(tidal_runtime *rt, const char *from, const char *to, uint32_t n,
                   uint32_t *sent)
{
    if (rt == NULL || from == NULL || to == NULL) {
        return TIDAL_EINVAL;
    }
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    struct flink *fl = tidal__fault_flink_get(f, from, to, false);
    if (fl == NULL || fl->ring_count == 0) {
        pthread_mutex_unlock(&f->lock);
        return TIDAL_ENOENT;
    }
    uint32_t k = n < fl->ring_count ? n : fl->ring_count;
    struct record *copies = calloc(k, sizeof(*copies));
    if (copies == NULL) {
        pthread_mutex_unlock(&f->lock);
        return TIDAL_ENOMEM;
    }
    uint32_t made = 0;
    for (uint32_t i = 0; i < k; i++) {
        const struct record *r = &fl->ring[(fl->ring_head + fl->ring_count - k + i) % fl->ring_cap];
        tidal_buf view = {.data = r->bytes, .len = r->len};
        if (tidal__fault_record_copy(&copies[made], &view, r->msg_id, r->l) == 0) {
            tidal__fault_trace_add(rt, fl, fl->seq, r->msg_id, TIDAL_FAULT_REPLAY, i);
            made++;
        }
    }
    pthread_mutex_unlock(&f->lock);
    tidal__fault_send(rt, copies, made, NULL);
    free(copies);
    k = made;
    if (sent != NULL) {
        *sent = k;
    }
    return 0;
}

size_t
tidal_trace_read(tidal_runtime *rt, size_t start, tidal_trace_entry *out, size_t max)
{
    struct tidal__fault *f = rt->fault;
    pthread_mutex_lock(&f->lock);
    uint64_t oldest = f->trace_first;
    if (f->trace_total - oldest > f->trace_cap) {
        oldest = f->trace_total - f->trace_cap;
    }
    size_t n = 0;
    for (uint64_t i = oldest + start; i < f->trace_total && n < max && f->trace != NULL; i++) {
        out[n++] = f->trace[i % f->trace_cap];
    }
    pthread_mutex_unlock(&f->lock);
    return n;
}

uint64_t
tidal_trace_total(tidal_runtime *rt)
{
    pthread_mutex_lock(&rt->fault->lock);
    uint64_t n = rt->fault->trace_total - rt->fault->trace_first;
    pthread_mutex_unlock(&rt->fault->lock);
    return n;
}

void
tidal_trace_clear(tidal_runtime *rt)
{
    pthread_mutex_lock(&rt->fault->lock);
    rt->fault->trace_first = rt->fault->trace_total;
    pthread_mutex_unlock(&rt->fault->lock);
}
