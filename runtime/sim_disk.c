/*
 * The simulation's side of the simulated disk (include/tidal/sim.h, "The
 * disk"; the disk itself is store/simdisk.h): a stream of draws of its
 * own, the crash's totals in the simulation's counters and its lines in
 * the disk trace.
 *
 * A draw is a pure function of (seed, n), n counting the disk's draws
 * alone, as a frame's travel time is (sim_net.c): adding a draw elsewhere
 * does not move what a crash keeps.  Every crash line is folded into
 * disk_trace_hash, kept or not, so two runs of one seed compare whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "runtime/sim.h"
#include "runtime/sim_disk.h"
#include "tidal/limits.h"

/* Keeps the disk's draws apart from the network's, which use the bare seed. */
#define DISK_KEY 0x6469736b2d736964ull

struct crash_ctx {
    tidal_sim *s;
    unsigned region;
};

static uint64_t
disk_draw(void *arg)
{
    tidal_sim *s = ((struct crash_ctx *)arg)->s;
    return tidal_mix64(s->seed ^ DISK_KEY ^ tidal_mix64(++s->disk_n * TIDAL_HASH_GOLDEN));
}

static void
disk_line(void *arg, const char *text)
{
    struct crash_ctx *c = arg;
    tidal_sim *s = c->s;
    char line[320];
    int n = snprintf(line, sizeof(line), "%.3f s: region %u crash: %s\n", (double)s->now_ns / 1e9,
                     c->region, text);
    size_t len = n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1;
    s->st.disk_trace_hash = tidal__hash(line, len, s->st.disk_trace_hash);
    if (s->disk_trace == NULL) {
        s->disk_trace = malloc(TIDAL_SIM_DISK_TRACE_BYTES);
    }
    if (s->disk_trace != NULL && s->disk_trace_len + len < TIDAL_SIM_DISK_TRACE_BYTES) {
        memcpy(s->disk_trace + s->disk_trace_len, line, len);
        s->disk_trace_len += len;
        s->disk_trace[s->disk_trace_len] = '\0';
    } else {
        s->st.disk_trace_dropped++;
    }
}

int
tidal__sim_disk_open(tidal_sim *s, tidal__simdisk **out)
{
    *out = NULL;
    return s->real_disk ? 0 : tidal__simdisk_new(out);
}

void
tidal__sim_disk_crash(tidal_sim *s, tidal__simdisk *d, unsigned region)
{
    struct crash_ctx c = {.s = s, .region = region};
    tidal__simdisk_report rep = {0};
    tidal__simdisk_crash(d, disk_draw, disk_line, &c, &rep);
    s->st.disk_crashes++;
    s->st.disk_files_hit += rep.files;
    s->st.disk_changes_lost += rep.changes_lost;
    s->st.disk_writes_torn += rep.writes_torn;
    s->st.disk_bytes_lost += rep.bytes_lost;
    s->st.disk_names_lost += rep.entries_lost;
    tidal__simdisk_free(d);
}

size_t
tidal_sim_disk_trace(const tidal_sim *s, char *out, size_t cap)
{
    if (out != NULL && cap > 0) {
        size_t n = s->disk_trace_len < cap - 1 ? s->disk_trace_len : cap - 1;
        if (n > 0) {
            memcpy(out, s->disk_trace, n);
        }
        out[n] = '\0';
    }
    return s->disk_trace_len;
}

void
tidal__sim_disk_fini(tidal_sim *s)
{
    free(s->disk_trace);
    s->disk_trace = NULL;
}
