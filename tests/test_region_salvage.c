/*
 * A region whose own log lost its newest segments, salvaged, learns from
 * its peers how far they applied its log before it takes a write
 * (actors/learn.c): its manifest's high lags what it had shipped, and a new
 * write given an LSN a peer applied would be dropped there as a duplicate.
 * Every peer must have answered - one that is closed holds the writes
 * until it is back - unless salvage_wait_ms gives up on it.  A peer below
 * the hole the log skips is stepped over it with a log base and reconciles
 * the rest (actors/ship.c).
 *
 * The damage: a crash after a roll-over leaves the manifest naming an
 * older newest segment with an older high; the test keeps a copy of the
 * manifest from then, writes on (the peers apply everything), closes, puts
 * the old manifest back and removes every segment from the one it names
 * newest on.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "repl_helpers.h"
#include "tidal/log.h"

TIDAL_SUITE(region_salvage);

#define ITEM 7u
#define NEW_USER 100000u

static tidal_region_opts
opts_of(repl_env *e, int id, bool salvage)
{
    return (tidal_region_opts){.region_id = (tidal_region_id)id,
                               .dir = repl_dir_of(e, id),
                               .durability = TIDAL_SYNC,
                               .segment_bytes = 8 << 10,
                               .reconcile_ms = UINT32_MAX,
                               .salvage = salvage};
}

static void
hide_users(tidal_region *r, int from, int to)
{
    for (int u = from; u < to; u++) {
        TIDAL_PASS(tidal_hide_item(r, (tidal_entity_id)u, ITEM));
    }
}

static int
count_hidden(tidal_region *r, int from, int to)
{
    int n = 0;
    for (int u = from; u < to; u++) {
        n += repl_hidden(r, (tidal_entity_id)u, ITEM);
    }
    return n;
}

static void
shard_path(repl_env *e, char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/wal/shard-0000/%s", repl_dir_of(e, 0), name);
}

/* The bytes of region 0's own manifest. */
static size_t
manifest_read(repl_env *e, uint8_t *buf, size_t cap)
{
    char path[512];
    shard_path(e, path, sizeof(path), "r0000.manifest");
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "%s", path);
    ssize_t n = read(fd, buf, cap);
    close(fd);
    cr_assert_gt(n, 40);
    return (size_t)n;
}

/* Puts the manifest bytes back and removes every segment of region 0 from
 * the one they name newest on; returns the high they name. */
static uint64_t
damage(repl_env *e, const uint8_t *man, size_t len)
{
    char path[512], tmp[530];
    uint64_t newest = 0, high = 0;
    for (int i = 7; i >= 0; i--) {
        newest = newest << 8 | man[24 + i];
        high = high << 8 | man[32 + i];
    }
    shard_path(e, path, sizeof(path), "r0000.manifest");
    snprintf(tmp, sizeof(tmp), "%s.put", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, man, len), (ssize_t)len);
    close(fd);
    cr_assert_eq(rename(tmp, path), 0);
    char dir[200];
    snprintf(dir, sizeof(dir), "%s/wal/shard-0000", repl_dir_of(e, 0));
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    int removed = 0;
    while ((de = readdir(d)) != NULL) {
        unsigned origin;
        unsigned long long first;
        if (sscanf(de->d_name, "r%4x-%16llx.seg", &origin, &first) == 2 && origin == 0 &&
            first >= newest) {
            shard_path(e, path, sizeof(path), de->d_name);
            cr_assert_eq(unlink(path), 0);
            removed++;
        }
    }
    closedir(d);
    cr_assert_gt(removed, 0);
    return high;
}

/* Region 0, which wrote users 0 .. done - 1 already, hides users up to
 * early, the manifest is copied aside, then `late` more (peer applies them
 * all); region 0 closes and is damaged.  Returns the manifest's high put
 * back. */
static uint64_t
written_and_damaged(repl_env *e, int done, int early, int late, tidal_region_id peer)
{
    uint8_t man[512];
    hide_users(e->r[0], done, early);
    /* the roll-overs are stored after the sync that made them durable */
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e->r[0]).acked_lsn[peer] == (uint64_t)early,
                               REPL_DEADLINE_MS));
    size_t len = manifest_read(e, man, sizeof(man));
    hide_users(e->r[0], early, early + late);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e->r[0]).acked_lsn[peer] == (uint64_t)(early + late),
                               REPL_DEADLINE_MS),
              "region %u applied every write", peer);
    TIDAL_PASS(tidal_region_close(e->r[0]));
    e->r[0] = NULL;
    uint64_t high = damage(e, man, len);
    cr_assert_lt(high, (uint64_t)(early + late), "the manifest put back lags the log");
    return high;
}

Test(region_salvage, a_salvaged_origin_writes_above_what_its_peer_applied)
{
    repl_env e;
    repl_cluster(&e, "inproc", 41);
    tidal_region_opts o0 = opts_of(&e, 0, false), o1 = opts_of(&e, 1, false);
    repl_open_opts(&e, &o0);
    repl_open_opts(&e, &o1);
    const int early = 400, late = 400, all = early + late;
    uint64_t high = written_and_damaged(&e, 0, early, late, 1);
    cr_log_info("manifest high %llu, region 1 applied %d", (unsigned long long)high, all);

    TIDAL_FAIL(tidal_region_open(e.c, &o0, &e.r[0]), TIDAL_ECORRUPT);
    o0.salvage = true;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    cr_assert_gt(repl_stats(e.r[0]).lost_lsns, 0);

    TIDAL_PASS(tidal_hide_item(e.r[0], NEW_USER, ITEM));
    uint64_t lsn = repl_stats(e.r[0]).last_lsn;
    cr_assert_gt(lsn, (uint64_t)all, "LSN %llu: above the %d region 1 applied",
                 (unsigned long long)lsn, all);
    cr_assert(TIDAL_WAIT_UNTIL(repl_hidden(e.r[1], NEW_USER, ITEM), REPL_DEADLINE_MS),
              "region 1 applied the new write, not dropped as a duplicate");
    cr_assert(TIDAL_WAIT_UNTIL(count_hidden(e.r[0], 0, all) == all, REPL_DEADLINE_MS),
              "region 0 got back what it lost from region 1");

    /* the skip is recorded: a reopen without salvage is not refused */
    TIDAL_PASS(tidal_region_close(e.r[0]));
    o0.salvage = false;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, lsn);
    repl_close(&e);
}

Test(region_salvage, a_peer_below_the_hole_is_stepped_over_it_and_converges)
{
    repl_env e;
    repl_cluster(&e, "inproc", 42);
    tidal_region_opts o0 = opts_of(&e, 0, false), o1 = opts_of(&e, 1, false),
                      o2 = opts_of(&e, 2, false);
    repl_open_opts(&e, &o0);
    repl_open_opts(&e, &o1);
    repl_open_opts(&e, &o2);
    const int first = 300, early = 100, late = 400, all = first + early + late;
    hide_users(e.r[0], 0, first);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e.r[0]).acked_lsn[2] == (uint64_t)first,
                               REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_close(e.r[2])); /* region 2 applies less */
    e.r[2] = NULL;
    e.n = 2;
    uint64_t high = written_and_damaged(&e, first, first + early, late, 1);
    cr_log_info("manifest high %llu, region 1 applied %d, region 2 %d", (unsigned long long)high,
                all, first);

    o0.salvage = true;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    /* region 2 is one of region 0's peers: no write before it answered */
    repl_open_opts(&e, &o2);
    e.n = 3;
    TIDAL_PASS(tidal_hide_item(e.r[0], NEW_USER, ITEM));
    cr_assert_gt(repl_stats(e.r[0]).last_lsn, (uint64_t)all);
    bool got = TIDAL_WAIT_UNTIL(repl_hidden(e.r[2], NEW_USER, ITEM), REPL_DEADLINE_MS);
    if (!got) {
        repl_dump(&e);
    }
    cr_assert(got, "region 2 was stepped over the hole to the new write");
    TIDAL_PASS(tidal_region_reconcile(e.r[2]));
    cr_assert(TIDAL_WAIT_UNTIL(tidal_region_digest(e.r[2]) == tidal_region_digest(e.r[1]) &&
                                   tidal_region_digest(e.r[0]) == tidal_region_digest(e.r[1]),
                               REPL_DEADLINE_MS),
              "the three regions converge");
    cr_assert_eq(count_hidden(e.r[2], 0, all), all);
    repl_close(&e);
}

/* The operator log's TIDAL-LOG-SALVAGED lines, joined. */
static pthread_mutex_t salvaged_lock = PTHREAD_MUTEX_INITIALIZER;
static char salvaged[4096];

static void
capture(void *arg, int event, uint64_t count, const char *line)
{
    (void)arg;
    (void)count;
    if (event != TIDAL_EVENT_LOG_SALVAGED) {
        return;
    }
    pthread_mutex_lock(&salvaged_lock);
    size_t n = strlen(salvaged);
    snprintf(salvaged + n, sizeof(salvaged) - n, "%s\n", line);
    pthread_mutex_unlock(&salvaged_lock);
}

static bool
salvaged_says(const char *what)
{
    pthread_mutex_lock(&salvaged_lock);
    bool yes = strstr(salvaged, what) != NULL;
    pthread_mutex_unlock(&salvaged_lock);
    return yes;
}

/* Three regions; region 1 is closed after `first` (it applies less),
 * region 2 applies everything region 0 writes, region 0 is damaged, then
 * region 2 closes and region 1 comes back: region 0's peer that applied
 * the most is down when it is salvaged. */
static void
three_with_the_highest_peer_down(repl_env *e, uint64_t seed, int first, int early, int late)
{
    salvaged[0] = '\0';
    tidal_log_set(capture, NULL);
    repl_cluster(e, "inproc", seed);
    tidal_region_opts o[3];
    for (int i = 0; i < 3; i++) {
        o[i] = opts_of(e, i, false);
        repl_open_opts(e, &o[i]);
    }
    hide_users(e->r[0], 0, first);
    cr_assert(TIDAL_WAIT_UNTIL(repl_stats(e->r[0]).acked_lsn[1] == (uint64_t)first,
                               REPL_DEADLINE_MS));
    TIDAL_PASS(tidal_region_close(e->r[1]));
    e->r[1] = NULL;
    uint64_t high = written_and_damaged(e, first, first + early, late, 2);
    cr_log_info("manifest high %llu, region 2 applied %d, region 1 %d", (unsigned long long)high,
                first + early + late, first);
    TIDAL_PASS(tidal_region_close(e->r[2]));
    e->r[2] = NULL;
    repl_open_opts(e, &o[1]);
}

/* The peer that applied the most is down: the salvaged region takes no
 * write (a caller times out, nothing written) until it is back, however
 * long after the open; then the write lands above what that peer applied
 * and reaches every region, and the three converge. */
Test(region_salvage, writes_wait_for_a_closed_peer_then_land_above_what_it_applied)
{
    repl_env e;
    const int first = 300, early = 100, late = 400, all = first + early + late;
    three_with_the_highest_peer_down(&e, 43, first, early, late);
    tidal_region_opts o0 = opts_of(&e, 0, true);
    o0.write_timeout_ms = 300;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    uint64_t before = repl_stats(e.r[0]).last_lsn;
    cr_assert_lt(before, (uint64_t)all);
    /* region 1 answers within its first probe; region 2 cannot: the later
     * tries come after region 1's answer, and are refused all the same */
    for (int i = 0; i < 3; i++) {
        TIDAL_FAIL(tidal_hide_item(e.r[0], NEW_USER, ITEM), TIDAL_ETIMEDOUT);
    }
    cr_assert(!repl_hidden(e.r[0], NEW_USER, ITEM) && !repl_hidden(e.r[1], NEW_USER, ITEM));
    cr_assert_eq(repl_stats(e.r[0]).last_lsn, before, "an LSN was given while learning");

    tidal_region_opts o2 = opts_of(&e, 2, false);
    repl_open_opts(&e, &o2);
    cr_assert(TIDAL_WAIT_UNTIL(tidal_hide_item(e.r[0], NEW_USER, ITEM) == 0, REPL_DEADLINE_MS),
              "writes are taken once region 2 answered");
    uint64_t lsn = repl_stats(e.r[0]).last_lsn;
    cr_assert_gt(lsn, (uint64_t)all, "LSN %llu: above the %d region 2 applied",
                 (unsigned long long)lsn, all);
    bool got = TIDAL_WAIT_UNTIL(repl_hidden(e.r[1], NEW_USER, ITEM) &&
                                    repl_hidden(e.r[2], NEW_USER, ITEM),
                                REPL_DEADLINE_MS);
    if (!got) {
        repl_dump(&e);
    }
    cr_assert(got, "the new write reached both peers, dropped by neither");
    cr_assert(!salvaged_says("did not say"), "a peer was given up on");
    TIDAL_PASS(tidal_region_reconcile(e.r[1]));
    cr_assert(TIDAL_WAIT_UNTIL(tidal_region_digest(e.r[0]) == tidal_region_digest(e.r[2]) &&
                                   tidal_region_digest(e.r[1]) == tidal_region_digest(e.r[2]),
                               REPL_DEADLINE_MS),
              "the three regions converge");
    cr_assert_eq(count_hidden(e.r[1], 0, all), all);
    repl_close(&e);
    tidal_log_set(NULL, NULL);
}

/* With salvage_wait_ms the salvaged region gives up on the peer that is
 * down after it: a write is taken (it waited for the end), and the
 * operator log names the silent peer. */
Test(region_salvage, salvage_wait_ms_takes_writes_and_names_the_silent_peer)
{
    repl_env e;
    three_with_the_highest_peer_down(&e, 44, 300, 100, 400);
    tidal_region_opts o0 = opts_of(&e, 0, true);
    /* past max_skew_ns (500 ms): an ACK counts only once stamped that far
     * after the open (actors/learn.c), so region 1 can answer in time */
    o0.salvage_wait_ms = 1500;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    TIDAL_PASS(tidal_hide_item(e.r[0], NEW_USER, ITEM));
    cr_assert(TIDAL_WAIT_UNTIL(repl_hidden(e.r[1], NEW_USER, ITEM), REPL_DEADLINE_MS));
    cr_assert(salvaged_says("peers 2 did not say how far"), "%s", salvaged);
    repl_close(&e);
    tidal_log_set(NULL, NULL);
}

/* salvage_wait_ms is range-checked on open: a day at most. */
Test(region_salvage, salvage_wait_ms_past_a_day_is_refused)
{
    repl_env e;
    repl_cluster(&e, "inproc", 45);
    tidal_region_opts o = opts_of(&e, 0, true);
    o.salvage_wait_ms = TIDAL_SALVAGE_WAIT_MS_MAX + 1;
    TIDAL_FAIL(tidal_region_open(e.c, &o, &e.r[0]), TIDAL_EINVAL);
    o.salvage_wait_ms = TIDAL_SALVAGE_WAIT_MS_MAX;
    TIDAL_PASS(tidal_region_open(e.c, &o, &e.r[0]));
    e.n = 1;
    repl_close(&e);
}

/* As above, but in a fresh cluster (as after a restart of the process):
 * region 2, the peer that applied the most, never wrote, so region 0 keeps
 * no copy of its log to name it, and it is not open yet.  Region 0's peers
 * file names it (actors/peerfile.c): the salvaged region waits for it all
 * the same. */
Test(region_salvage, a_fresh_process_waits_for_a_peer_only_its_peers_file_names)
{
    repl_env e;
    const int first = 300, early = 100, late = 400, all = first + early + late;
    three_with_the_highest_peer_down(&e, 46, first, early, late);
    TIDAL_PASS(tidal_region_close(e.r[1]));
    e.r[1] = NULL;
    char dir[sizeof(e.dir)];
    snprintf(dir, sizeof(dir), "%s", e.dir);
    TIDAL_PASS(tidal_cluster_close(e.c));
    repl_cluster(&e, "inproc", 47); /* a new cluster over the same directories */
    snprintf(e.dir, sizeof(e.dir), "%s", dir);
    tidal_region_opts o1 = opts_of(&e, 1, false), o0 = opts_of(&e, 0, true);
    repl_open_opts(&e, &o1);
    o0.write_timeout_ms = 300;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    e.n = 3;
    for (int i = 0; i < 2; i++) {
        TIDAL_FAIL(tidal_hide_item(e.r[0], NEW_USER, ITEM), TIDAL_ETIMEDOUT);
    }
    tidal_region_opts o2 = opts_of(&e, 2, false);
    repl_open_opts(&e, &o2);
    cr_assert(TIDAL_WAIT_UNTIL(tidal_hide_item(e.r[0], NEW_USER, ITEM) == 0, REPL_DEADLINE_MS),
              "writes are taken once region 2 answered");
    uint64_t lsn = repl_stats(e.r[0]).last_lsn;
    cr_assert_gt(lsn, (uint64_t)all, "LSN %llu: above the %d region 2 applied",
                 (unsigned long long)lsn, all);
    cr_assert(TIDAL_WAIT_UNTIL(repl_hidden(e.r[2], NEW_USER, ITEM), REPL_DEADLINE_MS),
              "region 2 applied the new write instead of dropping it");
    repl_close(&e);
    tidal_log_set(NULL, NULL);
}

/* A peers file that is not what tidal wrote refuses the open, naming it;
 * opts.salvage opens the region and waits for every other region. */
Test(region_salvage, a_damaged_peers_file_refuses_the_open_unless_salvaged)
{
    repl_env e;
    repl_cluster(&e, "inproc", 48);
    tidal_region_opts o0 = opts_of(&e, 0, false), o1 = opts_of(&e, 1, false);
    repl_open_opts(&e, &o0);
    repl_open_opts(&e, &o1);
    TIDAL_PASS(tidal_region_close(e.r[0]));
    e.r[0] = NULL;
    char path[512];
    snprintf(path, sizeof(path), "%s/peers", repl_dir_of(&e, 0));
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0, "%s: the peers file was written", path);
    uint8_t b[16];
    cr_assert_eq(read(fd, b, sizeof(b)), 16);
    cr_assert_eq(b[8], 1u << 1, "it names region 1");
    b[8] ^= 4; /* a flipped bit: the CRC no longer matches */
    cr_assert_eq(pwrite(fd, b, sizeof(b), 0), 16);
    close(fd);
    TIDAL_FAIL(tidal_region_open(e.c, &o0, &e.r[0]), TIDAL_ECORRUPT);
    o0.salvage = true;
    TIDAL_PASS(tidal_region_open(e.c, &o0, &e.r[0]));
    repl_close(&e);
}
