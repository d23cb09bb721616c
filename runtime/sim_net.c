/*
 * The simulated network: the carrier of a runtime opened in a simulation
 * (internal.h, "The carrier seam").
 *
 * Listening registers the actor under its sim:// URL.  Sending a frame
 * completes the send at once and schedules its arrival after a travel time
 * drawn from the seed, never before the link's previous frame (a link is
 * one connection, in order).  On arrival the frame is looked up by URL: no
 * listener - it is lost and counted; a listener not begun, paused, or with
 * frames held already - it waits in the listener's FIFO until a RESUME
 * event hands them over in order; else it goes to tidal__rx_frame at once.
 *
 * tidal_sim_inject puts outside bytes on the same path: a frame event from
 * no link, which arrives as any other and meets the same checks.
 *
 * The events live in one binary min-heap by (due, sequence number): the
 * sequence number orders frames sent at the same simulated instant in the
 * order they were sent.
 */
#include <stdlib.h>
#include <string.h>

#include "runtime/sim.h"

/* A frame's travel time in ns, from the seed and the draw count: a pure
 * function of (seed, n), so it does not depend on anything else drawn. */
static uint64_t
latency_ns(tidal_sim *s)
{
    uint64_t r = tidal_mix64(s->seed ^ tidal_mix64(++s->rng_n * TIDAL_HASH_GOLDEN));
    uint64_t span = (uint64_t)(s->lat_max_us - s->lat_min_us) + 1;
    return ((uint64_t)s->lat_min_us + r % span) * 1000u;
}

static bool
before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int
heap_push(struct tidal_sim *s, const struct sim_ev *e)
{
    if (s->len == TIDAL_SIM_FRAMES_MAX) {
        return TIDAL_ELIMIT;
    }
    if (s->len == s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 256;
        struct sim_ev *h = realloc(s->heap, ncap * sizeof(*h));
        if (h == NULL) {
            return TIDAL_ENOMEM;
        }
        s->heap = h;
        s->cap = ncap;
    }
    uint32_t i = s->len++;
    s->heap[i] = *e;
    s->heap[i].seq = s->next_seq++;
    while (i > 0 && before(&s->heap[i], &s->heap[(i - 1) / 2])) {
        struct sim_ev t = s->heap[i];
        s->heap[i] = s->heap[(i - 1) / 2];
        s->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    return 0;
}

static struct sim_ev
heap_pop(struct tidal_sim *s)
{
    struct sim_ev top = s->heap[0];
    s->heap[0] = s->heap[--s->len];
    for (uint32_t i = 0;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->len && before(&s->heap[l], &s->heap[m])) {
            m = l;
        }
        if (r < s->len && before(&s->heap[r], &s->heap[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        struct sim_ev t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- listeners ---------------------------------------------------------------- */

static struct sim_reg *
reg_find(struct tidal_sim *s, const char *url)
{
    if (s->regs_cap == 0) {
        return NULL;
    }
    uint64_t h = tidal__hash(url, strlen(url), 0);
    for (struct sim_reg *r = s->regs[h & (s->regs_cap - 1)]; r != NULL; r = r->next) {
        if (r->hash == h && strcmp(r->url, url) == 0) {
            return r;
        }
    }
    return NULL;
}

static int
regs_grow(struct tidal_sim *s)
{
    uint32_t ncap = s->regs_cap ? s->regs_cap * 2 : 64;
    struct sim_reg **n = calloc(ncap, sizeof(*n));
    if (n == NULL) {
        return TIDAL_ENOMEM;
    }
    for (uint32_t i = 0; i < s->regs_cap; i++) {
        for (struct sim_reg *r = s->regs[i], *next; r != NULL; r = next) {
            next = r->next;
            r->next = n[r->hash & (ncap - 1)];
            n[r->hash & (ncap - 1)] = r;
        }
    }
    free(s->regs);
    s->regs = n;
    s->regs_cap = ncap;
    return 0;
}

static void
reg_unref(struct sim_reg *r)
{
    if (--r->refs > 0) {
        return;
    }
    while (r->held_n > 0) {
        nng_msg_free(r->held[r->held_head]);
        r->held_head = (r->held_head + 1) % r->held_cap;
        r->held_n--;
    }
    free(r->held);
    free(r);
}

/* Registers url for act, its frames attributed to tag; a peer listener's
 * goes on the chain of act's own (first). */
static int
reg_add(struct tidal_sim *s, struct tidal__actor *act, const char *url, uint16_t tag)
{
    struct sim_reg *own = tag == TIDAL_VIA_PUBLIC ? NULL : reg_find(s, act->url);
    if (tag != TIDAL_VIA_PUBLIC && (own == NULL || own->act != act)) {
        return TIDAL_ECLOSED;
    }
    if (strncmp(url, "sim://", 6) != 0 || strlen(url) >= sizeof(act->url)) {
        return TIDAL_EADDR;
    }
    if (reg_find(s, url) != NULL) {
        return TIDAL_EADDR; /* in use, as nng's NNG_EADDRINUSE */
    }
    int rv;
    if ((s->regs_n + 1) * 4 > s->regs_cap * 3 && (rv = regs_grow(s)) != 0) {
        return rv; /* at most 3/4 full */
    }
    struct sim_reg *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return TIDAL_ENOMEM;
    }
    snprintf(r->url, sizeof(r->url), "%s", url);
    r->hash = tidal__hash(url, strlen(url), 0);
    r->act = act;
    r->tag = tag;
    r->refs = 1;
    r->begun = tag != TIDAL_VIA_PUBLIC; /* a peer listener of a running actor */
    tidal__actor_ref(act);
    r->next = s->regs[r->hash & (s->regs_cap - 1)];
    s->regs[r->hash & (s->regs_cap - 1)] = r;
    s->regs_n++;
    if (own != NULL) {
        r->sib = own->sib;
        own->sib = r;
    }
    return 0;
}

static int
sim_listen(struct tidal__actor *act, const char *url)
{
    int rv = reg_add(act->rt->sim, act, url, TIDAL_VIA_PUBLIC);
    if (rv != 0) {
        act->rx_closed = true;
        return rv;
    }
    snprintf(act->url, sizeof(act->url), "%s", url);
    return 0;
}

static int
sim_listen_peer(struct tidal__actor *act, const char *url, uint16_t tag,
                const tidal_tls_opts *tls, char *url_out)
{
    (void)tls; /* nothing to encrypt: the simulation is one process */
    nng_listener none = NNG_LISTENER_INITIALIZER;
    int rv = tidal__peer_entry_add(act, none, tag);
    if (rv != 0) {
        return rv;
    }
    if ((rv = reg_add(act->rt->sim, act, url, tag)) != 0) {
        tidal__peer_entry_remove(act, tag);
        return rv;
    }
    snprintf(url_out, TIDAL_URL_BYTES_MAX, "%s", url);
    return 0;
}

/* Schedules the hand-over of r's held frames, now. */
static void
queue_resume(struct tidal_sim *s, struct sim_reg *r)
{
    if (r->resume_queued) {
        return;
    }
    struct sim_ev e = {.due_ns = s->now_ns, .kind = SIM_EV_RESUME, .reg = r};
    if (heap_push(s, &e) == 0) {
        r->resume_queued = true;
        r->refs++;
    }
}

static int
sim_rx_begin(struct tidal__actor *act)
{
    struct tidal_sim *s = act->rt->sim;
    struct sim_reg *r = reg_find(s, act->url);
    TIDAL_ASSERT(r != NULL);
    r->begun = true;
    if (r->held_n > 0) {
        queue_resume(s, r);
    }
    return 0;
}

static void
sim_rx_resume_locked(struct tidal__actor *act)
{
    struct tidal_sim *s = act->rt->sim;
    for (struct sim_reg *r = reg_find(s, act->url); r != NULL; r = r->sib) {
        if (r->held_n > 0) {
            queue_resume(s, r); /* not here: the caller holds act->lock */
        }
    }
}

static void
reg_remove(struct tidal_sim *s, struct sim_reg *r)
{
    struct sim_reg **pp = &s->regs[r->hash & (s->regs_cap - 1)];
    while (*pp != r) {
        pp = &(*pp)->next;
    }
    *pp = r->next;
    s->regs_n--;
    struct tidal__actor *act = r->act;
    r->act = NULL; /* a RESUME on its way finds it gone */
    tidal__actor_unref(act);
    reg_unref(r);
}

/* Unregisters every url of act: its own and its peer listeners'. */
static void
sim_rx_stop(struct tidal__actor *act, bool was_closed)
{
    (void)was_closed;
    struct tidal_sim *s = act->rt->sim;
    struct sim_reg *r = reg_find(s, act->url);
    if (r == NULL || r->act != act) {
        return; /* its listen failed */
    }
    while (r != NULL) {
        struct sim_reg *sib = r->sib;
        reg_remove(s, r);
        r = sib;
    }
}

/* ---- arrival -------------------------------------------------------------------- */

static int
hold(struct sim_reg *r, nng_msg *m)
{
    if (r->held_n == r->held_cap) {
        uint32_t ncap = r->held_cap ? r->held_cap * 2 : 16;
        nng_msg **n = malloc(ncap * sizeof(*n));
        if (n == NULL) {
            return TIDAL_ENOMEM;
        }
        for (uint32_t i = 0; i < r->held_n; i++) {
            n[i] = r->held[(r->held_head + i) % r->held_cap];
        }
        free(r->held);
        r->held = n;
        r->held_head = 0;
        r->held_cap = ncap;
    }
    r->held[(r->held_head + r->held_n) % r->held_cap] = m;
    r->held_n++;
    return 0;
}

/* Hands m to r's actor; false (m still the caller's) if the actor cannot
 * take frames now. */
static bool
hand_over(struct tidal_sim *s, struct sim_reg *r, nng_msg *m)
{
    struct tidal__actor *act = r->act;
    pthread_mutex_lock(&act->lock);
    bool can = r->begun && !act->rx_paused && !act->rx_closed;
    pthread_mutex_unlock(&act->lock);
    if (!can) {
        return false;
    }
    tidal__rx_frame(act, m, r->tag, NULL);
    s->st.frames++;
    pthread_mutex_lock(&act->lock);
    if (!act->rx_closed) {
        (void)tidal__rx_should_pause_locked(act);
    }
    pthread_mutex_unlock(&act->lock);
    return true;
}

static void
arrive(struct tidal_sim *s, const char *url, nng_msg *m)
{
    struct sim_reg *r = reg_find(s, url);
    if (r == NULL) {
        nng_msg_free(m);
        s->st.frames_lost++;
        return;
    }
    if (r->held_n > 0 || !hand_over(s, r, m)) {
        if (hold(r, m) != 0) {
            nng_msg_free(m);
            s->st.frames_lost++;
        }
    }
}

static void
resume(struct tidal_sim *s, struct sim_reg *r)
{
    r->resume_queued = false;
    while (r->act != NULL && r->held_n > 0) {
        nng_msg *m = r->held[r->held_head];
        if (!hand_over(s, r, m)) {
            break; /* paused again: the next resume goes on */
        }
        r->held_head = (r->held_head + 1) % r->held_cap;
        r->held_n--;
    }
    reg_unref(r);
}

/* Runs the earliest network event; simulated time is already at it. */
void
tidal__sim_run_net_event(struct tidal_sim *s)
{
    struct sim_ev e = heap_pop(s);
    if (e.kind == SIM_EV_RESUME) {
        resume(s, e.reg);
    } else {
        arrive(s, e.url, e.msg);
    }
}

/* Frees what is still on its way (every runtime has closed).  Cannot fail. */
void
tidal__sim_net_fini(struct tidal_sim *s)
{
    while (s->len > 0) {
        struct sim_ev e = heap_pop(s);
        if (e.kind == SIM_EV_RESUME) {
            reg_unref(e.reg);
        } else {
            nng_msg_free(e.msg);
        }
    }
    free(s->heap);
    TIDAL_ASSERT(s->regs_n == 0); /* every actor stopped with its runtime */
    free(s->regs);
}

/* ---- sending ----------------------------------------------------------------------- */

static int
sim_link_open(struct tidal__link *l, const char *url)
{
    if (strncmp(url, "sim://", 6) != 0) {
        return TIDAL_EADDR; /* nothing outside the simulation is reachable */
    }
    l->sim_due_ns = 0;
    return 0;
}

/* Sends m and every frame queued behind it: each leaves at once and
 * arrives after its travel time, in order. */
static void
sim_link_send(struct tidal__link *l, nng_msg *m)
{
    struct tidal_sim *s = l->rt->sim;
    while (m != NULL) {
        uint64_t due = s->now_ns + latency_ns(s);
        due = due > l->sim_due_ns ? due : l->sim_due_ns; /* one connection: in order */
        struct sim_ev e = {.due_ns = due, .kind = SIM_EV_FRAME, .msg = m};
        snprintf(e.url, sizeof(e.url), "%s", l->url);
        int rv = heap_push(s, &e);
        if (rv != 0) {
            nng_msg_free(m); /* the network is full: as a failed connection */
        } else {
            l->sim_due_ns = due;
        }
        m = tidal__link_frame_done(l, rv);
    }
}

int
tidal_sim_inject(tidal_sim *s, const char *url, const void *bytes, size_t len)
{
    if (s == NULL || url == NULL || (bytes == NULL && len > 0)) {
        return TIDAL_EINVAL;
    }
    if (!pthread_equal(s->owner, pthread_self())) {
        return TIDAL_EINVAL;
    }
    if (strncmp(url, "sim://", 6) != 0 || strlen(url) >= TIDAL_URL_BYTES_MAX) {
        return TIDAL_EADDR;
    }
    nng_msg *m;
    if (nng_msg_alloc(&m, len) != 0) {
        return TIDAL_ENOMEM;
    }
    if (len > 0) {
        memcpy(nng_msg_body(m), bytes, len);
    }
    /* a connection of its own: no link's order to keep */
    struct sim_ev e = {.due_ns = s->now_ns + latency_ns(s), .kind = SIM_EV_FRAME, .msg = m};
    snprintf(e.url, sizeof(e.url), "%s", url);
    int rv = heap_push(s, &e);
    if (rv != 0) {
        nng_msg_free(m);
    }
    return rv;
}

static void
sim_link_close(struct tidal__link *l)
{
    (void)l; /* nothing in flight: a frame leaves the link when it is sent */
}

const struct tidal__carrier tidal__carrier_sim = {
    .name = "sim",
    .listen = sim_listen,
    .rx_begin = sim_rx_begin,
    .rx_resume_locked = sim_rx_resume_locked,
    .rx_stop = sim_rx_stop,
    .listen_peer = sim_listen_peer,
    .link_open = sim_link_open,
    .link_send = sim_link_send,
    .link_close = sim_link_close,
};
