/*
 * bench_wal: durable append throughput and recovery replay rate of the WAL
 * (store/wal.h), each beside a raw baseline measured in the same run.
 *
 * Durable appends (SYNC, group commit).  64-byte records in batches of 1 and
 * of 32 records; 1, 4 and 16 writer threads.  A writer keeps a window of
 * IN_FLIGHT batches in flight: before appending batch i it waits until batch
 * i - IN_FLIGHT is durable, as a pipelined writer does (a region acks each
 * client write when its batch is durable and never stops appending while
 * syncs run).  The time runs until every writer's last batch is durable.
 * Baselines, single thread, the same batch bytes into a plain file of the
 * same file system:
 *   raw_sync_each   write() + fdatasync() per batch: a log without group
 *                   commit;
 *   raw_grouped     write() of G batches, then one fdatasync, with G the
 *                   batches per sync the WAL reached in that configuration:
 *                   the same disk work with no locks, threads or cache.
 *
 * Recovery.  A 1,000,000-record log (64-byte records, batches of 256, 16 MiB
 * segments, so four segment files) is written under NONE and
 * closed; then tidal_wal_open (the recovery scan: every batch decoded and
 * CRC-checked) and a full tidal_wal_read pass (from the files: the cache is
 * empty after open) are timed, beside a raw sequential read() + tidal_crc32c
 * of the same files.  Warm: the files were just written and are in the page
 * cache.  Cold: each file's pages are dropped first with
 * posix_fadvise(DONTNEED) (no root needed, no other process affected), and
 * the residency left is measured with mincore and reported.
 *
 * Every figure is the median of RUNS runs, with the runs listed.  Counts are
 * asserted (batches appended, durable LSN, records recovered and read);
 * timings never are.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benches/bench_util.h"
#include "store/crc32c.h"
#include "store/wal.h"

#define RUNS 3
#define RECORD_BYTES 64u
#define IN_FLIGHT 64u
#define IN_FLIGHT_MAX 1024u
#define WAIT_MS 120000u

static const uint32_t thread_counts[] = {1, 4, 16};
static const uint32_t batch_records[] = {1, 32};

/* ---- durable appends ------------------------------------------------------------ */

struct append_run {
    tidal_wal *w;
    uint32_t records; /* per batch */
    uint64_t batches; /* per writer */
    uint32_t in_flight; /* window, at most IN_FLIGHT_MAX */
    pthread_barrier_t *go;
    int failures;
};

static void *
writer_main(void *arg)
{
    struct append_run *r = arg;
    uint32_t len = r->records * RECORD_BYTES;
    uint8_t *p = malloc(len);
    tidal_hlc h = {.wall_ns = 1, .logical = 0, .node_id = 1};
    uint64_t *window = malloc(r->in_flight * sizeof(*window)); /* by i % in_flight */
    uint32_t w = r->in_flight;
    uint64_t lsn = 0;

    BENCH_CHECK(p != NULL && window != NULL);
    memset(p, 0xab, len);
    pthread_barrier_wait(r->go);
    for (uint64_t i = 0; i < r->batches; i++) {
        /* the batch w back must be durable before this one goes */
        if (i >= w && tidal_wal_wait_durable(r->w, window[i % w], WAIT_MS) != 0) {
            r->failures++;
        }
        if (tidal_wal_append(r->w, p, len, r->records, h, h, &lsn) != 0) {
            r->failures++;
        }
        window[i % w] = lsn;
    }
    if (r->batches > 0 && tidal_wal_wait_durable(r->w, lsn, WAIT_MS) != 0) {
        r->failures++;
    }
    free(window);
    free(p);
    return NULL;
}

struct append_result {
    uint64_t ns;
    uint64_t appends;
    uint64_t syncs;
};

/* One timed run: threads writers, batches in all, in a fresh directory. */
static struct append_result
append_once(uint32_t threads, uint32_t records, uint64_t batches, uint32_t in_flight)
{
    char dir[64];
    tidal_wal_opts o = {.durability = TIDAL_DURABILITY_SYNC, .origin = 1, .shard = 0};
    struct append_run r[16];
    pthread_t t[16];
    pthread_barrier_t go;
    tidal_wal_stats st;
    struct append_result res;
    tidal_wal *w;
    uint64_t t0;

    bench_tmpdir(dir, sizeof(dir), "bench-wal");
    o.dir = dir;
    BENCH_PASS(tidal_wal_open(&o, &w, NULL));
    BENCH_CHECK(pthread_barrier_init(&go, NULL, threads + 1) == 0);
    for (uint32_t i = 0; i < threads; i++) {
        r[i] = (struct append_run){
            .w = w,
            .records = records,
            .batches = batches / threads,
            .in_flight = in_flight,
            .go = &go};
        BENCH_CHECK(pthread_create(&t[i], NULL, writer_main, &r[i]) == 0);
    }
    t0 = bench_now_ns();
    pthread_barrier_wait(&go);
    for (uint32_t i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        BENCH_CHECK(r[i].failures == 0);
    }
    res.ns = bench_now_ns() - t0;
    tidal_wal_stats_get(w, &st);
    BENCH_CHECK(st.appends == batches);
    BENCH_CHECK(tidal_wal_next_lsn(w) == batches * records + 1);
    BENCH_CHECK(tidal_wal_durable_lsn(w) == batches * records);
    res.appends = st.appends;
    res.syncs = st.syncs;
    pthread_barrier_destroy(&go);
    tidal_wal_close(w);
    bench_rmdir(dir);
    return res;
}

/* write() of n batches of len bytes, with an fdatasync after every `group`
 * (and after the last).  Returns the elapsed ns. */
static uint64_t
raw_loop(uint32_t len, uint64_t n, uint64_t group)
{
    char dir[64];
    char path[96];
    uint8_t *p = malloc(len);
    uint64_t t0;
    uint64_t ns;
    int fd;

    BENCH_CHECK(p != NULL);
    memset(p, 0xab, len);
    bench_tmpdir(dir, sizeof(dir), "bench-walraw");
    snprintf(path, sizeof(path), "%s/raw", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    BENCH_CHECK(fd >= 0);
    t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        BENCH_CHECK(write(fd, p, len) == (ssize_t)len);
        if ((i + 1) % group == 0 || i + 1 == n) {
            BENCH_CHECK(fdatasync(fd) == 0);
        }
    }
    ns = bench_now_ns() - t0;
    close(fd);
    free(p);
    bench_rmdir(dir);
    return ns;
}

/* RUNS timed runs of append_once: records/s and batches per sync of each. */
static void
append_runs(uint32_t threads, uint32_t records, uint64_t batches, uint32_t in_flight,
            double rec_s[RUNS], double per_sync[RUNS])
{
    for (int r = 0; r < RUNS; r++) {
        struct append_result res = append_once(threads, records, batches, in_flight);
        rec_s[r] = bench_rate(res.appends * records, res.ns);
        per_sync[r] = (double)res.appends / (double)(res.syncs ? res.syncs : 1);
    }
}

/* One writer, 1-record batches, windows from 16 to IN_FLIGHT_MAX batches:
 * with one writer a sync can cover at most the window, so the rate is bound
 * by window / (fdatasync time); this shows where the WAL meets that bound. */
static void
bench_window_sweep(bench_json *j, bool quick)
{
    static const uint32_t windows[] = {16, 64, 256, IN_FLIGHT_MAX};
    uint64_t batches = quick ? 4096 : 240000;

    bench_json_obj(j, "single_writer_window_sweep_batch_1");
    for (size_t k = 0; k < sizeof(windows) / sizeof(windows[0]); k++) {
        double rec_s[RUNS], per_sync[RUNS];
        char key[32];
        append_runs(1, 1, batches, windows[k], rec_s, per_sync);
        snprintf(key, sizeof(key), "in_flight_%u", windows[k]);
        bench_json_obj(j, key);
        bench_json_f(j, "records_per_s", bench_median(rec_s, RUNS), 0);
        bench_json_f(j, "batches_per_sync", bench_median(per_sync, RUNS), 1);
        bench_json_farr(j, "runs_records_per_s", rec_s, RUNS, 0);
        bench_json_close(j);
    }
    bench_json_close(j);
}

static void
bench_appends(bench_json *j, bool quick)
{
    bench_json_obj(j, "durable_append_sync");
    bench_json_u64(j, "record_bytes", RECORD_BYTES);
    bench_json_u64(j, "in_flight_per_writer_batches", IN_FLIGHT);
    for (size_t b = 0; b < sizeof(batch_records) / sizeof(batch_records[0]); b++) {
        uint32_t records = batch_records[b];
        uint32_t len = TIDAL_BATCH_HEADER_BYTES + records * RECORD_BYTES;
        uint64_t total_records = quick ? 4096 : (records == 1 ? 240000 : 960000);
        uint64_t batches = total_records / records;
        uint64_t raw_n = quick ? 16 : 2000;
        double raw_each[RUNS];
        char key[64];

        snprintf(key, sizeof(key), "batch_%u_records", records);
        bench_json_obj(j, key);
        bench_json_u64(j, "batch_bytes", len);
        for (int r = 0; r < RUNS; r++) {
            raw_each[r] = bench_rate(raw_n * len, raw_loop(len, raw_n, 1));
        }
        double raw_each_bps = bench_median(raw_each, RUNS);
        bench_json_obj(j, "raw_sync_each");
        bench_json_u64(j, "batches", raw_n);
        bench_json_f(j, "bytes_per_s", raw_each_bps, 0);
        bench_json_f(j, "records_per_s", raw_each_bps / len * records, 0);
        bench_json_farr(j, "runs_bytes_per_s", raw_each, RUNS, 0);
        bench_json_close(j);

        for (size_t t = 0; t < sizeof(thread_counts) / sizeof(thread_counts[0]); t++) {
            uint32_t threads = thread_counts[t];
            double rec_s[RUNS];
            double per_sync[RUNS];
            double raw_g[RUNS];
            uint64_t b_run = batches - batches % threads;

            append_runs(threads, records, b_run, IN_FLIGHT, rec_s, per_sync);
            double rps = bench_median(rec_s, RUNS);
            double group = bench_median(per_sync, RUNS);
            uint64_t g = group < 1 ? 1 : (uint64_t)(group + 0.5);
            uint64_t raw_g_n = quick ? 256 : b_run / 4;
            for (int r = 0; r < RUNS; r++) {
                raw_g[r] = bench_rate(raw_g_n * len, raw_loop(len, raw_g_n, g));
            }
            double raw_g_bps = bench_median(raw_g, RUNS);
            double bps = rps / records * len;

            snprintf(key, sizeof(key), "threads_%u", threads);
            bench_json_obj(j, key);
            bench_json_u64(j, "batches", b_run);
            bench_json_f(j, "records_per_s", rps, 0);
            bench_json_f(j, "mb_per_s", bps / 1e6, 2);
            bench_json_f(j, "batches_per_sync", group, 1);
            bench_json_farr(j, "runs_records_per_s", rec_s, RUNS, 0);
            bench_json_f(j, "raw_grouped_bytes_per_s", raw_g_bps, 0);
            bench_json_f(j, "ratio_vs_raw_sync_each", bps / raw_each_bps, 2);
            bench_json_f(j, "ratio_vs_raw_grouped", bps / raw_g_bps, 2);
            bench_json_bool(j, "goal_200k_records_per_s", rps >= 200000.0);
            bench_json_bool(j, "goal_80pct_of_raw_sync_each", bps >= 0.8 * raw_each_bps);
            bench_json_bool(j, "goal_80pct_of_raw_grouped", bps >= 0.8 * raw_g_bps);
            bench_json_close(j);
        }
        bench_json_close(j);
    }
    bench_window_sweep(j, quick);
    bench_json_close(j);
}

/* ---- recovery ------------------------------------------------------------------- */

#define REPLAY_BATCH_RECORDS 256u
/* 16 MiB segments: the 64 MB log spans four files, so replay crosses them. */
#define REPLAY_SEGMENT_BYTES (16ull << 20)

/* The segment files of dir's only log, as paths. */
static size_t
seg_paths(const char *dir, char paths[][256], size_t cap)
{
    char shard[128];
    struct dirent *de;
    DIR *d;
    size_t n = 0;

    snprintf(shard, sizeof(shard), "%s/wal/shard-0000", dir);
    d = opendir(shard);
    BENCH_CHECK(d != NULL);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".seg") != NULL) {
            int len = snprintf(paths[n], 256, "%s/%.64s", shard, de->d_name);
            BENCH_CHECK(n < cap && len > 0 && len < 256);
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Drops the files' pages from the page cache (cold) or not (warm); returns
 * the fraction of their pages still resident. */
static double
set_cache(char paths[][256], size_t n, bool cold)
{
    uint64_t pages = 0;
    uint64_t resident = 0;
    long psz = sysconf(_SC_PAGESIZE);

    for (size_t i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        BENCH_CHECK(fd >= 0 && fstat(fd, &st) == 0);
        if (cold) {
            BENCH_CHECK(fdatasync(fd) == 0);
            BENCH_CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
        }
        if (st.st_size > 0) {
            size_t np = (size_t)((st.st_size + psz - 1) / psz);
            unsigned char *vec = malloc(np);
            void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
            BENCH_CHECK(vec != NULL && m != MAP_FAILED);
            BENCH_CHECK(mincore(m, (size_t)st.st_size, vec) == 0);
            for (size_t k = 0; k < np; k++) {
                resident += vec[k] & 1u;
            }
            pages += np;
            munmap(m, (size_t)st.st_size);
            free(vec);
        }
        close(fd);
    }
    return pages ? (double)resident / (double)pages : 0;
}

/* Counts records from the header's count field (batch.h: offset 12): the
 * WAL has verified the batch already, and a shipper would not again. */
static int
count_read(void *arg, const uint8_t *b, size_t len)
{
    uint64_t *records = arg;

    BENCH_CHECK(len >= TIDAL_BATCH_HEADER_BYTES);
    *records +=
        (uint64_t)b[12] | (uint64_t)b[13] << 8 | (uint64_t)b[14] << 16 | (uint64_t)b[15] << 24;
    return 0;
}

/* Sequential read() of the files in 1 MiB blocks + CRC32C; returns ns. */
static uint64_t
raw_read_crc(char paths[][256], size_t n, uint64_t *bytes)
{
    uint8_t *buf = malloc(1u << 20);
    uint32_t crc = 0;
    uint64_t t0 = bench_now_ns();

    BENCH_CHECK(buf != NULL);
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        ssize_t r;
        BENCH_CHECK(fd >= 0);
        while ((r = read(fd, buf, 1u << 20)) > 0) {
            crc = tidal_crc32c(crc, buf, (size_t)r);
            *bytes += (uint64_t)r;
        }
        BENCH_CHECK(r == 0);
        close(fd);
    }
    uint64_t ns = bench_now_ns() - t0;
    free(buf);
    if (crc == 0x12345678u) {
        fprintf(stderr, "(crc)\n"); /* keeps the CRC from being optimised away */
    }
    return ns;
}

static void
replay_case(bench_json *j, const char *key, const char *dir, uint64_t records, bool cold)
{
    tidal_wal_opts o = {.dir = dir,
                        .origin = 1,
                        .shard = 0,
                        .durability = TIDAL_DURABILITY_NONE,
                        .segment_bytes = REPLAY_SEGMENT_BYTES};
    char paths[16][256];
    size_t n = seg_paths(dir, paths, 16);
    double open_rs[RUNS];
    double read_rs[RUNS];
    double raw_rs[RUNS];
    double resident[RUNS];
    uint64_t bytes = 0;

    for (int r = 0; r < RUNS; r++) {
        tidal_wal_recovery rep;
        tidal_wal *w;
        uint64_t got = 0;
        uint64_t t0;

        resident[r] = set_cache(paths, n, cold);
        t0 = bench_now_ns();
        BENCH_PASS(tidal_wal_open(&o, &w, &rep));
        open_rs[r] = bench_rate(records, bench_now_ns() - t0);
        BENCH_CHECK(rep.records == records);
        BENCH_CHECK(rep.truncated_bytes == 0);

        (void)set_cache(paths, n, cold);
        t0 = bench_now_ns();
        BENCH_PASS(tidal_wal_read(w, 1, false, count_read, &got));
        read_rs[r] = bench_rate(records, bench_now_ns() - t0);
        BENCH_CHECK(got == records);
        tidal_wal_close(w);

        (void)set_cache(paths, n, cold);
        raw_rs[r] = bench_rate(records, raw_read_crc(paths, n, &bytes));
    }
    double open_med = bench_median(open_rs, RUNS);
    double read_med = bench_median(read_rs, RUNS);
    double raw_med = bench_median(raw_rs, RUNS);

    bench_json_obj(j, key);
    bench_json_f(j, "resident_fraction_before", bench_median(resident, RUNS), 3);
    bench_json_f(j, "open_records_per_s", open_med, 0);
    bench_json_f(j, "read_records_per_s", read_med, 0);
    bench_json_f(j, "raw_read_crc_records_per_s", raw_med, 0);
    bench_json_f(j, "raw_read_crc_mb_per_s", raw_med / (double)records * (double)bytes / 1e6, 1);
    bench_json_f(j, "open_ratio_vs_raw", open_med / raw_med, 2);
    bench_json_f(j, "read_ratio_vs_raw", read_med / raw_med, 2);
    bench_json_farr(j, "runs_open_records_per_s", open_rs, RUNS, 0);
    bench_json_farr(j, "runs_read_records_per_s", read_rs, RUNS, 0);
    bench_json_bool(j, "goal_2m_records_per_s", open_med >= 2e6 && read_med >= 2e6);
    bench_json_bool(j, "goal_50pct_of_raw", open_med >= 0.5 * raw_med && read_med >= 0.5 * raw_med);
    bench_json_close(j);
}

static void
bench_replay(bench_json *j, bool quick)
{
    uint64_t records = quick ? 10000 : 1000000;
    tidal_wal_opts o = {.origin = 1,
                        .shard = 0,
                        .durability = TIDAL_DURABILITY_NONE,
                        .segment_bytes = REPLAY_SEGMENT_BYTES};
    uint8_t *p = malloc(REPLAY_BATCH_RECORDS * RECORD_BYTES);
    tidal_hlc h = {.wall_ns = 1, .logical = 0, .node_id = 1};
    char dir[64];
    char paths[16][256];
    tidal_wal *w;
    uint64_t left = records;
    uint64_t lsn;
    uint64_t file_bytes = 0;

    BENCH_CHECK(p != NULL);
    memset(p, 0x5c, REPLAY_BATCH_RECORDS * RECORD_BYTES);
    bench_tmpdir(dir, sizeof(dir), "bench-walrec");
    o.dir = dir;
    BENCH_PASS(tidal_wal_open(&o, &w, NULL));
    while (left > 0) {
        uint32_t k = left < REPLAY_BATCH_RECORDS ? (uint32_t)left : REPLAY_BATCH_RECORDS;
        BENCH_PASS(tidal_wal_append(w, p, k * RECORD_BYTES, k, h, h, &lsn));
        left -= k;
    }
    BENCH_CHECK(tidal_wal_next_lsn(w) == records + 1);
    tidal_wal_close(w);
    free(p);
    size_t n = seg_paths(dir, paths, 16);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        BENCH_CHECK(stat(paths[i], &st) == 0);
        file_bytes += (uint64_t)st.st_size;
    }

    bench_json_obj(j, "recovery_replay");
    bench_json_u64(j, "records", records);
    bench_json_u64(j, "record_bytes", RECORD_BYTES);
    bench_json_u64(j, "batch_records", REPLAY_BATCH_RECORDS);
    bench_json_u64(j, "segment_files", n);
    bench_json_u64(j, "file_bytes", file_bytes);
    bench_json_str(j, "page_cache",
                   "warm: files just written, all pages resident (resident_fraction_before); "
                   "cold: pages dropped with posix_fadvise(DONTNEED) first, read back from the "
                   "virtio disk, which the VM's host may itself cache");
    replay_case(j, "warm_page_cache", dir, records, false);
    replay_case(j, "cold_fadvise_dontneed", dir, records, true);
    bench_json_close(j);
    bench_rmdir(dir);
}

int
main(int argc, char **argv)
{
    bool quick = bench_parse_quick(argc, argv,
                                   "Durable WAL appends under SYNC (1/4/16 writers) and "
                                   "recovery replay, each beside a raw baseline.\n");
    bench_json j;

    bench_json_begin(&j);
    bench_json_str(&j, "bench", "wal");
    bench_json_bool(&j, "quick", quick);
    bench_json_u64(&j, "runs", RUNS);
    bench_json_bool(&j, "crc32c_hw", tidal_crc32c_hw_available());
    bench_appends(&j, quick);
    bench_replay(&j, quick);
    bench_json_end(&j);
    return 0;
}
