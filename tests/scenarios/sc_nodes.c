/*
 * Scenarios of nodes: a region crashed and restarted from its directory
 * while the others write, and a region down while the others take many
 * writes - with the others keeping their log for it, with the others
 * releasing its part of their log (it then needs reconciliation), and with
 * sessions of thousands of signals each.
 */
#include <stdio.h>

#include "scenarios/scenarios.h"

int
sc__writer_more(sc_run *run, sc_writer *w, uint64_t more)
{
    sc_writer_join(w);
    w->stop = 0;
    w->ops = w->done + more;
    return sc_writers_start(run);
}

/* Every region in its directory (sync): region x crashes mid-run while the
 * others write, and reopens from what was durable; its writer goes on.  In
 * a simulation the crash is a power loss on the simulated disk
 * (tidal/sim.h, "The disk"): the power fails after a seeded number of
 * changes to x's files - the copies of its peers' logs it keeps writing -
 * and the crash keeps a seeded part of what was not synced, torn writes
 * included. */
static int
crash_restart(sc_run *run)
{
    int rv = sc__begin(run, 3, true, 60, 600, 2);
    if (rv != 0) {
        return rv;
    }
    int crashes = run->quick ? 1 : 3;
    for (int k = 0; k < crashes; k++) {
        int x = (int)sc_below(&run->rng, 3);
        sc_progress(run, (k + 0.5) / (crashes + 1.0));
        run->w[x].stop = 1;
        sc_writer_join(&run->w[x]);
        if (run->sim != NULL) {
            uint32_t ops = (uint32_t)sc_below(&run->rng, 8);
            if ((rv = tidal_region_sim_disk_cut(run->r[x], ops)) != 0) {
                sc_verdict(run, "restart", false, "region %d disk cut: %s", x, tidal_errname(rv));
                return 0;
            }
            sc_event_note(run, "power of region %d fails after %u changes", x, ops);
            tidal_sim_run_for(run->sim, (1 + sc_below(&run->rng, 50)) * 1000000ull);
        }
        if ((rv = sc_down(run, x, true)) != 0 || (rv = sc_reopen(run, x)) != 0) {
            sc_verdict(run, "restart", false, "region %d crash and reopen: %s", x,
                       tidal_errname(rv));
            return 0;
        }
        if ((rv = sc__writer_more(run, &run->w[x], run->w[x].ops - run->w[x].done)) != 0) {
            return rv;
        }
    }
    sc_check_all(run);
    return 0;
}

/* Region x writes a little, is closed, the others take their writes, and x
 * reopens from its directory. */
static int
down_while_writing(sc_run *run, uint64_t quick_ops, uint64_t full_ops, int sessions, bool release)
{
    int x = (int)sc_below(&run->rng, 3);
    for (int i = 0; i < 3; i++) {
        if (release && i != x) {
            /* a small log and a short hold: the others release x's part */
            run->ropts[i].memory_bytes = 16 * 1024;
            run->ropts[i].peer_hold_ms = 100;
        }
    }
    snprintf(run->dirs[x], sizeof(run->dirs[x]), "%s/r%d", run->tmpdir, x);
    run->ropts[x].dir = run->dirs[x];
    /* every writer starts its sessions and writes a little; then x goes down
     * and the others take the rest */
    uint64_t first = run->quick ? 20 : 100;
    int rv = sc__begin(run, 3, false, first, first, sessions);
    if (rv != 0) {
        return rv;
    }
    sc_progress(run, 1.0);
    sc_writers_join(run);
    if ((rv = sc_down(run, x, false)) != 0) {
        sc_verdict(run, "close", false, "region %d close: %s", x, tidal_errname(rv));
    }
    uint64_t more = run->quick ? quick_ops : full_ops;
    for (int i = 0; i < 3; i++) {
        if (i != x && (rv = sc__writer_more(run, &run->w[i], more)) != 0) {
            return rv;
        }
    }
    sc_progress(run, 1.0);
    sc_writers_join(run);
    sc_event_note(run, "the others wrote %llu more each", (unsigned long long)more);
    if ((rv = sc_reopen(run, x)) != 0) {
        return 0;
    }
    sc_check_all(run);
    if (release) {
        uint64_t let_go = 0;
        for (int i = 0; i < 3; i++) {
            tidal_region_stats st;
            tidal_region_stats_get(run->r[i], &st);
            let_go += st.peers_let_go;
        }
        sc_verdict(run, "released", let_go > 0, "peers let region %d go %llu times", x,
                   (unsigned long long)let_go);
    }
    return 0;
}

static int
down_writes(sc_run *run)
{
    /* full: the two others take 20,000 writes while it is down */
    return down_while_writing(run, 300, 10000, 3, false);
}

static int
down_released(sc_run *run)
{
    return down_while_writing(run, 300, 10000, 3, true);
}

static int
down_big_sessions(sc_run *run)
{
    /* two sessions per writer, thousands of signals each in full */
    for (int i = 0; i < SC_WRITERS_MAX; i++) {
        run->w[i].hn_percent = 1;
    }
    return down_while_writing(run, 400, 8000, 2, true);
}

const sc_scenario sc__nodes[] = {
    {"crash-restart", "a region crashed and restarted from its directory", crash_restart},
    {"down-writes", "a region down while the others take many writes", down_writes},
    {"down-released", "the same, after the others released its part of their log",
     down_released},
    {"down-big-sessions", "the same, with sessions of thousands of signals", down_big_sessions},
};
const size_t sc__nnodes = sizeof(sc__nodes) / sizeof(sc__nodes[0]);
