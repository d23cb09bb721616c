/*
 * Scenarios of the data: an agent roaming between regions during
 * partitions (the single-home rule), hide/unhide races with tied stamps,
 * and stamps at the top of their range.
 */
#include <stdlib.h>

#include "scenarios/scenarios.h"

struct seq_of {
    uint64_t ts;
    uint64_t seqno;
};

static int
seq_cmp(const void *a, const void *b)
{
    const struct seq_of *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The single-home rule seen from outside: one home orders a session's
 * writes at a time, so writes acknowledged one after another (the roaming
 * writer waits for each) hold increasing seqnos, and every region names the
 * same home.  Two homes at once would hand out one seqno twice (a signal
 * lost or doubled, which the signals checker sees) or out of order. */
static void
check_single_home(sc_run *run, const sc_session *s)
{
    size_t n = 0;
    tidal_session_view home0;
    if (tidal_get_session(run->r[0], s->sid, &home0) != 0 ||
        tidal_session_signals(run->r[0], s->sid, NULL, 0, &n) != 0) {
        sc_verdict(run, "single-home", false, "region 0 does not know the roaming session");
        return;
    }
    for (int i = 1; i < run->n; i++) {
        tidal_session_view v;
        if (tidal_get_session(run->r[i], s->sid, &v) != 0 || v.home != home0.home) {
            sc_verdict(run, "single-home", false, "region %d names another home than region 0", i);
            return;
        }
    }
    tidal_signal_view *v = malloc((n + 1) * sizeof(*v));
    struct seq_of *m = malloc((n + 1) * sizeof(*m));
    size_t got = 0;
    if (v == NULL || m == NULL || tidal_session_signals(run->r[0], s->sid, v, n + 1, &got) != 0) {
        sc_verdict(run, "single-home", false, "cannot read the roaming session");
        free(v);
        free(m);
        return;
    }
    for (size_t i = 0; i < got; i++) {
        m[i] = (struct seq_of){v[i].ts_ns, v[i].seqno};
    }
    qsort(m, got, sizeof(*m), seq_cmp);
    uint64_t prev = 0;
    size_t acked = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->sig[i].outcome != SC_ACKED) {
            continue;
        }
        struct seq_of key = {s->sig[i].ts_ns, 0};
        struct seq_of *hit = bsearch(&key, m, got, sizeof(*m), seq_cmp);
        if (hit == NULL || hit->seqno <= prev) {
            sc_verdict(run, "single-home", false,
                       "acknowledged write #%zu holds seqno %llu after one holding %llu", i + 1,
                       hit ? (unsigned long long)hit->seqno : 0ull, (unsigned long long)prev);
            free(v);
            free(m);
            return;
        }
        prev = hit->seqno;
        acked++;
    }
    sc_verdict(run, "single-home", true, "%zu acknowledged roaming writes in order, one home",
               acked);
    free(v);
    free(m);
}

/* Writer 0 roams: each write at a region chosen from the seed, so the
 * session's home moves, while partitions come and go. */
static int
roaming(sc_run *run)
{
    for (int i = 0; i < 3; i++) {
        run->ropts[i].write_timeout_ms = 300; /* a handover cut off fails fast */
    }
    run->w[0].roam = true;
    run->w[0].hn_percent = 1;
    int rv = sc_open(run, 3, false);
    if (rv != 0) {
        return rv;
    }
    sc_writers(run, 3, run->quick ? 120 : 1500, 2);
    run->w[0].sessions = 1;
    if ((rv = sc_writers_start(run)) != 0) {
        return rv;
    }
    int flaps = run->quick ? 4 : 12;
    tidal_fault_rule cut = {.partition = 1};
    int a = 0, b = 1;
    for (int k = 0; k < flaps; k++) {
        sc_progress(run, (k + 1.0) / (flaps + 2.0));
        if (k % 2 == 0) {
            a = (int)sc_below(&run->rng, 3);
            b = (a + 1 + (int)sc_below(&run->rng, 2)) % 3;
            sc_fault_pair(run, a, b, &cut, true, "partition");
        } else {
            sc_clear_pair(run, a, b, true);
        }
    }
    sc_check_all(run);
    if (run->w[0].m.nsess == 1) {
        check_single_home(run, &run->w[0].m.sess[0]);
    }
    return 0;
}

/* Most writes are hides and unhides of few (user, item) pairs with few
 * distinct stamps, from every region at once, under reordering. */
static int
hn_races(sc_run *run, int mode)
{
    for (int i = 0; i < SC_WRITERS_MAX; i++) {
        run->w[i].hn_mode = mode;
        run->w[i].hn_percent = 80;
    }
    int rv = sc__begin(run, 3, false, 200, 3000, 1);
    if (rv != 0) {
        return rv;
    }
    sc_progress(run, 0.1);
    for (int x = 0; x < 3; x++) {
        tidal_fault_rule r = {.reorder_window = 2 + (uint32_t)sc_below(&run->rng, 10),
                              .duplicate = 0.1};
        sc_fault_pair(run, x, (x + 1) % 3, &r, true, "reordering");
    }
    sc_check_all(run);
    return 0;
}

static int
hide_races(sc_run *run)
{
    return hn_races(run, 1);
}

static int
counter_limits(sc_run *run)
{
    return hn_races(run, 2);
}

const sc_scenario sc__data[] = {
    {"roaming", "an agent roaming between regions during partitions", roaming},
    {"hide-races", "hides and unhides racing with tied stamps", hide_races},
    {"counter-limits", "logical counters at the top of their range", counter_limits},
};
const size_t sc__ndata = sizeof(sc__data) / sizeof(sc__data[0]);
