/*
 * The run queue: one FIFO of units per runtime, guarded by rt->runq_lock,
 * which the workers (pool.c) and a simulation's thread take units from.
 * Units join it one at a time (tidal__schedule_locked) or a frame's worth
 * at once (a chain, rx.c), claimed first: a unit is on it at most once
 * (run_state QUEUED), and each entry holds a reference on its owner.
 */
#include "runtime/internal.h"

/* Claims u if it is idle: it then counts as scheduled and holds a
 * reference, and must be queued (tidal__schedule_locked) or run inline
 * (tidal__run_unit_inline, as a unit a worker popped).  Caller holds
 * act->lock. */
bool
tidal__claim_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    if (u->run_state != TIDAL__IDLE) {
        return false;
    }
    tidal__vlru_remove_locked(act, u); /* busy now: no victim for the cap */
    u->run_state = TIDAL__QUEUED;
    act->scheduled++;
    tidal__actor_ref(act);
    return true;
}

/* Signals an idle worker unless one is already on its way (pool.c, "Wake-ups").  Caller holds
 * runq_lock and has just queued work. */
void
tidal__runq_wake_one_locked(tidal_runtime *rt)
{
    if (rt->runq_waking == 0 && rt->runq_idle_workers > 0) {
        rt->runq_waking++;
        pthread_cond_signal(&rt->runq_cond);
    }
}

/* Puts u on the run queue if it is idle.  Caller holds act->lock. */
void
tidal__schedule_locked(struct tidal__actor *act, struct tidal__unit *u)
{
    if (!tidal__claim_locked(act, u)) {
        return;
    }
    struct tidal__runq_chain one = {0};
    tidal__runq_chain_add(&one, u);
    tidal__runq_push_locked(act, &one);
}

/* Appends u, claimed by the caller, to a chain of units to queue. */
void
tidal__runq_chain_add(struct tidal__runq_chain *c, struct tidal__unit *u)
{
    TIDAL_ASSERT(u->run_state == TIDAL__QUEUED);
    u->run_next = NULL;
    if (c->tail != NULL) {
        c->tail->run_next = u;
    } else {
        c->head = u;
    }
    c->tail = u;
    c->n++;
}

/* Queues the chain's units, all of act and claimed, at the tail of the run
 * queue, in order.  Caller holds act->lock. */
void
tidal__runq_push_locked(struct tidal__actor *act, const struct tidal__runq_chain *c)
{
    if (c->n == 0) {
        return;
    }
    tidal_runtime *rt = act->rt;
    pthread_mutex_lock(&rt->runq_lock);
    if (rt->runq_tail != NULL) {
        rt->runq_tail->run_next = c->head;
    } else {
        rt->runq_head = c->head;
    }
    rt->runq_tail = c->tail;
    rt->runq_len += c->n;
    tidal__runq_wake_one_locked(rt);
    pthread_mutex_unlock(&rt->runq_lock);
}

/* Takes every unit of act off the run queue (stop must not wait for a
 * worker: the caller may be the only one).  Caller holds act->lock. */
void
tidal__runq_remove_actor(struct tidal__actor *act)
{
    tidal_runtime *rt = act->rt;
    uint32_t removed = 0;
    pthread_mutex_lock(&rt->runq_lock);
    struct tidal__unit **pp = &rt->runq_head;
    rt->runq_tail = NULL;
    while (*pp != NULL) {
        struct tidal__unit *u = *pp;
        if (u->owner == act) {
            *pp = u->run_next;
            u->run_state = TIDAL__IDLE;
            removed++;
        } else {
            rt->runq_tail = u;
            pp = &u->run_next;
        }
    }
    TIDAL_ASSERT(rt->runq_len >= removed);
    rt->runq_len -= removed;
    pthread_mutex_unlock(&rt->runq_lock);
    TIDAL_ASSERT(act->scheduled >= removed);
    act->scheduled -= removed;
    /* the run queue's references: the caller still holds its own */
    uint32_t refs = atomic_fetch_sub(&act->refs, removed);
    TIDAL_ASSERT(refs > removed);
}

/* Takes the head of the run queue and the entries of the same owner right
 * behind it, up to max, into units; returns how many.  Caller holds
 * runq_lock and has seen the queue non-empty. */
uint32_t
tidal__runq_take_locked(tidal_runtime *rt, struct tidal__unit **units, uint32_t max)
{
    TIDAL_ASSERT(rt->runq_head != NULL);
    TIDAL_ASSERT(max >= 1);
    uint32_t n = 0;
    struct tidal__actor *owner = rt->runq_head->owner;
    while (n < max && rt->runq_head != NULL && rt->runq_head->owner == owner) {
        units[n++] = rt->runq_head;
        rt->runq_head = rt->runq_head->run_next;
    }
    if (rt->runq_head == NULL) {
        rt->runq_tail = NULL;
    }
    TIDAL_ASSERT(rt->runq_len >= n);
    rt->runq_len -= n;
    return n;
}
