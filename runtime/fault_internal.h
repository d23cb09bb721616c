/*
 * Internals of the fault layer shared by fault.c (decisions, hold-back and
 * delay), fault_ctl.c (rules, replay, trace) and fault_retry.c (the copies'
 * records and their sending, with the queue of those waiting for room).
 * All of it is guarded by tidal__fault.lock unless a comment says otherwise.
 */
#ifndef TIDAL_RUNTIME_FAULT_INTERNAL_H
#define TIDAL_RUNTIME_FAULT_INTERNAL_H

#include "runtime/internal.h"

#define FULLNAME_BYTES (TIDAL_NAME_BYTES_MAX + 2 * TIDAL_KEY_BYTES_MAX + 2)
#define FLINK_BUCKETS 1024u

struct rule {
    char from[FULLNAME_BYTES];
    char to[FULLNAME_BYTES];
    tidal_fault_rule r;
    uint64_t order; /* later rules win */
};

struct record {
    uint8_t *bytes;
    uint32_t len;
    uint64_t msg_id;
    struct tidal__link *l;
};

struct held {
    struct record rec;
    uint64_t release_seq;
};

struct flink {
    struct flink *next;
    uint64_t id;
    char from[FULLNAME_BYTES];
    char to[FULLNAME_BYTES];
    uint64_t seq;
    struct record *ring; /* replay memory, allocated on first use */
    uint32_t ring_cap;
    uint32_t ring_head;
    uint32_t ring_count;
    struct held held[TIDAL_REORDER_WINDOW_MAX];
    uint32_t nheld;
    bool hold_timer;
};

struct tidal__fault {
    pthread_mutex_t lock;
    atomic_uint nrules;
    struct rule *rules;
    uint64_t next_order;
    struct flink *flinks[FLINK_BUCKETS];
    tidal_trace_entry *trace;
    uint32_t trace_cap;
    uint64_t trace_total; /* entries ever recorded */
    uint64_t trace_first; /* total at the last clear */
    tidal_buf scratch;
    /* fault_retry.c: copies waiting for room on a full link, oldest first,
     * and the wait of the pass armed for them (0: none armed or running) */
    struct record *retry;
    uint32_t retry_n;
    uint32_t retry_cap;
    uint32_t retry_ms;
    uint32_t retry_pass_n; /* copies a running pass took out of retry */
};

/* Sends that a decision produced, performed after f->lock is released so no
 * sender waits on a link while holding it.  Records are owned here. */
struct outbox {
    struct record recs[2 + TIDAL_REORDER_WINDOW_MAX];
    uint32_t n;
};

void tidal__fault_record_free(struct record *r);
int tidal__fault_record_copy(struct record *r, const tidal_buf *b, uint64_t msg_id,
                             struct tidal__link *l);
/* Sends n copies (owned from here; the array stays the caller's) with no
 * lock held: each goes to its link, or waits for room behind the copies
 * already waiting (fault_retry.c), or is a dead letter (LINK_FAILED) if
 * its link is closed or failed.  Never waits. */
void tidal__fault_send(tidal_runtime *rt, struct record *recs, uint32_t n,
                       struct tidal__cork *cork);
/* tidal__fault_send of ob's copies; empties ob. */
void tidal__fault_outbox_flush(tidal_runtime *rt, struct outbox *ob, struct tidal__cork *cork);
/* Frees the copies still waiting, unsent (at close, the timers stopped). */
void tidal__fault_retry_free(struct tidal__fault *f);
void tidal__fault_release_held(struct flink *fl, uint64_t seq, struct outbox *ob);
struct flink *tidal__fault_flink_get(struct tidal__fault *f, const char *from, const char *to,
                                     bool create);
void tidal__fault_trace_add(tidal_runtime *rt, const struct flink *fl, uint64_t seq,
                            uint64_t msg_id, int kind, uint32_t param);

#endif /* TIDAL_RUNTIME_FAULT_INTERNAL_H */
