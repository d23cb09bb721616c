/*
 * A region with a directory rebuilds its state from its own log on open, so
 * it keeps every segment of it: alone (no peer to keep anything for) or
 * after every peer acknowledged everything.  An earlier version deleted the
 * acknowledged segments and, reopened, recovered nothing at all.  A log
 * whose oldest or newest segment was removed by hand is refused
 * (TIDAL_ECORRUPT, the file named in the operator log); opened with
 * salvage, it gives back what it still holds and reports what it lost.
 */
#include <dirent.h>

#include "repl_helpers.h"
#include "tidal/log.h"

TIDAL_SUITE(region_reopen);

#define WRITES 1500
#define ITEM 7u

static tidal_region_opts
small_segments(repl_env *e, int id)
{
    return (tidal_region_opts){.region_id = (tidal_region_id)id,
                               .dir = repl_dir_of(e, id),
                               .durability = TIDAL_SYNC,
                               .segment_bytes = 8 << 10,
                               .reconcile_ms = UINT32_MAX};
}

/* How many of users [from, to) r hides ITEM for. */
static int
count_hidden(tidal_region *r, int from, int to)
{
    int n = 0;
    for (int u = from; u < to; u++) {
        n += repl_hidden(r, (tidal_entity_id)u, ITEM);
    }
    return n;
}

/* The segment files of region id's own log (origin id, shard 0), sorted. */
static int
own_segments(repl_env *e, int id, char names[][520], int max)
{
    char path[256], prefix[8];
    snprintf(path, sizeof(path), "%s/wal/shard-0000", repl_dir_of(e, id));
    snprintf(prefix, sizeof(prefix), "r%04x-", id);
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort), k = 0;
    cr_assert_geq(n, 0, "no log directory %s", path);
    for (int i = 0; i < n; i++) {
        if (strncmp(list[i]->d_name, prefix, 6) == 0 && k < max) {
            snprintf(names[k++], 520, "%s/%s", path, list[i]->d_name);
        }
        free(list[i]);
    }
    free(list);
    return k;
}

static void
write_hides(tidal_region *r, int n)
{
    for (int u = 0; u < n; u++) {
        TIDAL_PASS(tidal_hide_item(r, (tidal_entity_id)u, ITEM));
    }
}

/* A lone region 0 with small segments, WRITES hides written, closed.
 * Returns its options (to reopen it) and lists its segment files. */
static tidal_region_opts
lone_region_written(repl_env *e, uint64_t seed, char names[][520], int max, int *segs)
{
    repl_cluster(e, "inproc", seed);
    tidal_region_opts o = small_segments(e, 0);
    TIDAL_PASS(tidal_region_open(e->c, &o, &e->r[0]));
    e->n = 1;
    write_hides(e->r[0], WRITES);
    TIDAL_PASS(tidal_region_close(e->r[0]));
    *segs = own_segments(e, 0, names, max);
    return o;
}

Test(region_reopen, a_lone_region_keeps_its_whole_log)
{
    repl_env e;
    static char names[256][520];
    int segs;
    tidal_region_opts o = lone_region_written(&e, 31, names, 256, &segs);
    cr_assert_gt(segs, 10, "the log rolled over many times (%d segments)", segs);
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES);
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "every acknowledged hide");
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "and after a crash");
    repl_close(&e);
}

Test(region_reopen, an_origin_keeps_what_its_peer_acknowledged)
{
    repl_env e;
    repl_cluster(&e, "inproc", 32);
    tidal_region_opts o0 = small_segments(&e, 0), o1 = small_segments(&e, 1);
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o1, &e.r[1]));
    e.n = 2;
    write_hides(e.r[0], WRITES);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[1] == WRITES, REPL_DEADLINE_MS),
              "region 1 acknowledged the whole log");
    TIDAL_PASS(tidal_region_close(e.r[1])); /* nobody to reconcile from */
    e.r[1] = NULL;
    TIDAL_PASS(tidal_region_crash(e.r[0]));
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), WRITES, "region 0 alone has them all");
    repl_close(&e);
}

/* Operator log lines of one event kind, captured (tidal/log.h). */
struct captured {
    int event;
    int lines;
    char text[4096];
};

static void
capture_line(void *arg, int event, uint64_t count, const char *line)
{
    struct captured *c = arg;
    (void)count;
    if (event == c->event) {
        size_t used = strlen(c->text);
        snprintf(c->text + used, sizeof(c->text) - used, "%s\n", line);
        c->lines++;
    }
}

/* Opens region 0 with o, expecting code, with the lines of event captured
 * into *c. */
static int
open_logged(repl_env *e, const tidal_region_opts *o, int event, struct captured *c)
{
    memset(c, 0, sizeof(*c));
    c->event = event;
    tidal_log_set(capture_line, c);
    int rv = tidal_region_open(e->c, o, &e->r[0]);
    tidal_log_set(NULL, NULL);
    fprintf(stderr, "%s", c->text); /* still shown */
    return rv;
}

/* The first LSN in a segment file's name (.../rOOOO-LLLL.seg). */
static uint64_t
seg_first_lsn(const char *path)
{
    const char *base = strrchr(path, '/') + 1;
    unsigned origin;
    unsigned long long lsn;
    cr_assert_eq(sscanf(base, "r%4x-%16llx.seg", &origin, &lsn), 2, "%s", base);
    return lsn;
}

Test(region_reopen, a_log_missing_its_head_is_refused_or_salvaged)
{
    repl_env e;
    static char names[256][520];
    int segs;
    struct captured c;
    tidal_region_opts o = lone_region_written(&e, 33, names, 256, &segs);
    cr_assert_gt(segs, 3);
    uint64_t kept_from = seg_first_lsn(names[2]);
    cr_assert_eq(unlink(names[0]), 0); /* the oldest two, by hand */
    cr_assert_eq(unlink(names[1]), 0);

    /* The manifest knows the log started at LSN 1: a loss, not a release. */
    TIDAL_FAIL(open_logged(&e, &o, TIDAL_EVENT_LOG_REFUSED, &c), TIDAL_ECORRUPT);
    cr_assert_eq(c.lines, 1);
    cr_assert(strstr(c.text, strrchr(names[0], '/') + 1) != NULL, "names the file: %s", c.text);
    cr_assert(strstr(c.text, "missing") != NULL, "%s", c.text);

    o.salvage = true;
    TIDAL_PASS(open_logged(&e, &o, TIDAL_EVENT_LOG_SALVAGED, &c));
    cr_assert_eq(c.lines, 1, "the loss is logged");
    cr_assert(strstr(c.text, strrchr(names[0], '/') + 1) != NULL, "%s", c.text);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_eq(st.lost_first_lsn, 1);
    cr_assert_eq(st.lost_last_lsn, kept_from - 1);
    cr_assert_eq(st.lost_lsns, kept_from - 1);
    cr_assert_eq(st.logs_salvaged, 1);
    int kept = count_hidden(e.r[0], 0, WRITES);
    cr_log_info("%d segments, the oldest two removed: %d of %d hides kept", segs, kept, WRITES);
    cr_assert_eq(kept, WRITES - (int)(kept_from - 1), "exactly what the remaining segments hold");
    cr_assert(repl_hidden(e.r[0], WRITES - 1, ITEM), "the newest write");
    cr_assert_eq(st.last_lsn, WRITES, "the log goes on where it was");
    write_hides(e.r[0], 1);
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES + 1);
    TIDAL_PASS(tidal_region_close(e.r[0]));

    /* Salvaged once, the log opens as it now is, without salvage. */
    o.salvage = false;
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).lost_lsns, 0);
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES + 1);
    repl_close(&e);
}

/* The newest segment, and the writes in it, gone after a clean close: the
 * open is refused; salvaged, the region keeps the rest and its next write
 * takes an LSN above every one it had used, which a peer that applied the
 * lost ones would otherwise drop as a duplicate. */
Test(region_reopen, a_log_missing_its_newest_segment_is_refused_or_salvaged)
{
    repl_env e;
    static char names[256][520];
    int segs;
    struct captured c;
    tidal_region_opts o = lone_region_written(&e, 34, names, 256, &segs);
    cr_assert_gt(segs, 3);
    uint64_t lost_from = seg_first_lsn(names[segs - 1]);
    cr_assert_eq(unlink(names[segs - 1]), 0);

    TIDAL_FAIL(open_logged(&e, &o, TIDAL_EVENT_LOG_REFUSED, &c), TIDAL_ECORRUPT);
    cr_assert(strstr(c.text, strrchr(names[segs - 1], '/') + 1) != NULL, "names the file: %s",
              c.text);

    o.salvage = true;
    TIDAL_PASS(open_logged(&e, &o, TIDAL_EVENT_LOG_SALVAGED, &c));
    cr_assert_eq(c.lines, 1);
    tidal_region_stats st = repl_stats(e.r[0]);
    cr_assert_eq(st.lost_first_lsn, lost_from);
    cr_assert_eq(st.lost_last_lsn, WRITES, "up to the last write, recorded at the clean close");
    cr_assert_eq(st.lost_lsns, WRITES - lost_from + 1);
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), (int)lost_from - 1, "what is left");
    write_hides(e.r[0], 1); /* user 0 again: a new LSN */
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES + 1, "above every LSN used before");
    TIDAL_PASS(tidal_region_crash(e.r[0]));

    o.salvage = false;
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, WRITES + 1, "the hole is recorded, not a loss");
    cr_assert_eq(count_hidden(e.r[0], 0, WRITES), (int)lost_from - 1);
    repl_close(&e);
}
