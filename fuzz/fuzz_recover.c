/*
 * libFuzzer target for WAL recovery (store/wal_recover.c, and the scanner
 * and reader behind it): a region directory whose segment files the fuzzer
 * wrote, opened with tidal_wal_open as a restarted region opens its logs.
 *
 * Input: [flags u8] then up to SEGS_MAX files, each
 *   [how u8][lsn u64 LE][length u16 LE][length bytes of content]
 * written into <fresh temp dir>/wal/shard-0003/ for the log of origin 1,
 * shard 3.  how & 3 names the file:
 *   0  rOOOO-LLLL.seg of this log, L = lsn (a name may lie about its LSN)
 *   1  the same, L = the first LSN of the content's first batch header, so
 *      that mutated logs keep names that agree with their batches
 *   2  a segment of origin 2, which this log must ignore
 *   3  a name that does not parse (a leftover .tmp), which must be ignored
 * flags bit 0 writes the right CRC into every batch header that fits whole
 * in its file before the file is written, so mutations get past rule 6 to
 * continuity, truncation and "a valid batch follows".
 *
 * What must hold for any input (a failure aborts; libFuzzer's -timeout
 * catches a hang, ASan a leak or an overflow):
 *  - tidal_wal_open returns 0 or a TIDAL_E* code, and a refusal for
 *    corruption or version says where in rep.error; tidal_wal_list lists
 *    only the two logs that files were named for;
 *  - once open, reading every batch (tidal_wal_read from 0) works: each is a
 *    valid batch of this log, in LSN order without a gap, as many batches
 *    and records as recovery reported, ending at next_lsn;
 *  - the log then takes an append, and recovering the directory a second
 *    time finds a clean log (nothing more to truncate) holding exactly one
 *    batch more: recovery's own cut and a later append leave a log that
 *    recovers.
 *
 * tidal__fuzz_recover_one returns tidal_wal_open's result;
 * tests/test_fuzz_recover.c replays fuzz/corpus/recover through it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz_common.h"
#include "store/crc32c.h"
#include "store/wal.h"

int tidal__fuzz_recover_one(const uint8_t *data, size_t size);

#define SEGS_MAX 4u
#define FILE_HEAD_BYTES 11u /* how, lsn, length */
#define LOG_ORIGIN 1u
#define OTHER_ORIGIN 2u
#define LOG_SHARD 3u
#define FLAG_FIX_CRC 0x01u

/* A HIDE record, [5, user 1, item 2, [3, 0, 1]]: what the appended batch
 * holds. */
static const uint8_t hide_record[] = {0x94, 0x05, 0x01, 0x02, 0x93, 0x03, 0x00, 0x01};

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes the right CRC into every batch that fits whole, walking the
 * content from its start by each header's payload length. */
static void
fix_crcs(uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= TIDAL_BATCH_HEADER_BYTES) {
        uint32_t plen = le32(p + off + 24);
        if (plen > len - off - TIDAL_BATCH_HEADER_BYTES) {
            return;
        }
        uint32_t crc = tidal_crc32c(0, p + off, 64);
        crc = tidal_crc32c(crc, p + off + TIDAL_BATCH_HEADER_BYTES, plen);
        for (int i = 0; i < 4; i++) {
            p[off + 64 + i] = (uint8_t)(crc >> (8 * i));
        }
        off += TIDAL_BATCH_HEADER_BYTES + plen;
    }
}

static void
write_file(int dirfd, const char *name, const uint8_t *p, size_t len)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(len == 0 || write(fd, p, len) == (ssize_t)len);
    close(fd);
}

/* Writes the input's files into shard (a directory fd); returns whether a
 * file was named for this log's origin and for the other. */
static void
write_files(int shard, const uint8_t *data, size_t size, bool *ours, bool *other)
{
    size_t off = 1;
    *ours = *other = false;
    for (unsigned i = 0; i < SEGS_MAX && size - off >= FILE_HEAD_BYTES; i++) {
        uint8_t how = data[off] & 3u;
        uint64_t lsn = fuzz_le64(data + off + 1);
        size_t len = fuzz_le16(data + off + 9);
        off += FILE_HEAD_BYTES;
        len = len < size - off ? len : size - off;
        uint8_t *p = malloc(len != 0 ? len : 1);
        FUZZ_CHECK(p != NULL);
        memcpy(p, data + off, len);
        off += len;
        if (data[0] & FLAG_FIX_CRC) {
            fix_crcs(p, len);
        }
        if (how == 1 && len >= 24) {
            lsn = fuzz_le64(p + 16); /* the first header's first LSN */
        }
        char name[64];
        snprintf(name, sizeof(name), how == 3 ? "r%04x-%016llx.tmp" : "r%04x-%016llx.seg",
                 how == 2 ? OTHER_ORIGIN : LOG_ORIGIN, (unsigned long long)lsn);
        write_file(shard, name, p, len);
        *ours = *ours || how <= 1;
        *other = *other || how == 2;
        free(p);
    }
}

/* A temporary directory: in /dev/shm when there is one (no disk writes
 * per input), else $TMPDIR or /tmp. */
static void
make_tmpdir(char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "/dev/shm/tidal-fuzz-recover-XXXXXX");
    if (mkdtemp(out) != NULL) {
        return;
    }
    snprintf(out, cap, "%s/tidal-fuzz-recover-XXXXXX", tmp != NULL ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(out) != NULL);
}

/* Removes <root>/wal/shard-0003 and everything in it, then wal, then root:
 * all the WAL and this target create. */
static void
remove_tree(const char *root)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/wal/shard-%04x", root, LOG_SHARD);
    DIR *d = opendir(path);
    FUZZ_CHECK(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            FUZZ_CHECK(unlinkat(dirfd(d), de->d_name, 0) == 0);
        }
    }
    closedir(d);
    FUZZ_CHECK(rmdir(path) == 0);
    snprintf(path, sizeof(path), "%s/wal", root);
    FUZZ_CHECK(rmdir(path) == 0);
    FUZZ_CHECK(rmdir(root) == 0);
}

struct listed {
    unsigned ours, other;
};

static void
on_log(void *arg, uint16_t origin, uint16_t shard)
{
    struct listed *l = arg;
    FUZZ_CHECK(shard == LOG_SHARD && (origin == LOG_ORIGIN || origin == OTHER_ORIGIN));
    if (origin == LOG_ORIGIN) {
        l->ours++;
    } else {
        l->other++;
    }
}

/* What a full read saw. */
struct seen {
    uint64_t batches, records;
    uint64_t next; /* the LSN after the last batch; 0 before the first */
};

static int
on_batch(void *arg, const uint8_t *batch, size_t len)
{
    struct seen *s = arg;
    tidal_batch_header h;
    size_t total = 0;
    FUZZ_CHECK(tidal_batch_decode(batch, len, &h, &total, NULL, 0) == 0 && total == len);
    FUZZ_CHECK(h.origin == LOG_ORIGIN && h.shard == LOG_SHARD);
    FUZZ_CHECK(s->next == 0 || h.first_lsn == s->next);
    s->next = h.first_lsn + h.count;
    s->batches++;
    s->records += h.count;
    return 0;
}

/* Reads the whole open log: what recovery reported, plus `extra` batches
 * appended since. */
static void
read_all(tidal_wal *w, const tidal_wal_recovery *rep, uint64_t extra)
{
    struct seen s = {0};
    FUZZ_CHECK(tidal_wal_read(w, 0, true, on_batch, &s) == 0);
    FUZZ_CHECK(s.batches == rep->batches + extra && s.records == rep->records + extra);
    FUZZ_CHECK(s.batches == 0 || s.next == tidal_wal_next_lsn(w));
}

int
tidal__fuzz_recover_one(const uint8_t *data, size_t size)
{
    char root[256];
    char shard_path[300];
    tidal_wal_recovery rep;
    tidal_wal_recovery rep2;
    tidal_wal *w = NULL;
    struct listed listed = {0};
    bool ours, other;

    if (size == 0) {
        return 0;
    }
    make_tmpdir(root, sizeof(root));
    snprintf(shard_path, sizeof(shard_path), "%s/wal", root);
    FUZZ_CHECK(mkdir(shard_path, 0755) == 0);
    snprintf(shard_path, sizeof(shard_path), "%s/wal/shard-%04x", root, LOG_SHARD);
    FUZZ_CHECK(mkdir(shard_path, 0755) == 0);
    int shard = open(shard_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(shard >= 0);
    write_files(shard, data, size, &ours, &other);
    close(shard);

    FUZZ_CHECK(tidal_wal_list(root, on_log, &listed) == 0);
    FUZZ_CHECK(listed.ours == (ours ? 1u : 0u) && listed.other == (other ? 1u : 0u));

    tidal_wal_opts opts = {.dir = root,
                           .origin = LOG_ORIGIN,
                           .shard = LOG_SHARD,
                           .durability = TIDAL_DURABILITY_NONE,
                           .segment_bytes = TIDAL_WAL_SEGMENT_BYTES_MIN};
    int rv = tidal_wal_open(&opts, &w, &rep);
    FUZZ_CHECK(fuzz_code_ok(rv));
    if (rv != 0) {
        if (rv == TIDAL_ECORRUPT || rv == TIDAL_EVERSION) {
            FUZZ_CHECK(rep.error[0] != '\0');
        }
        remove_tree(root);
        return rv;
    }
    FUZZ_CHECK(rep.error[0] == '\0' && rep.next_lsn >= 1);
    FUZZ_CHECK(rep.next_lsn == tidal_wal_next_lsn(w));
    if (rep.truncated_bytes > 0) {
        FUZZ_CHECK(rep.truncated_segment[0] != '\0' && rep.truncated_reason[0] != '\0');
    }
    read_all(w, &rep, 0);

    /* One append, then the directory recovers cleanly with it. */
    uint64_t first = 0;
    tidal_hlc ts = {1700000000000000000ull, 0, LOG_ORIGIN};
    int ar = tidal_wal_append(w, hide_record, sizeof(hide_record), 1, ts, ts, &first);
    FUZZ_CHECK(fuzz_code_ok(ar));
    /* Only a log at the very end of the 64-bit LSN range refuses it. */
    FUZZ_CHECK(ar == 0 || rep.next_lsn == UINT64_MAX);
    FUZZ_CHECK(ar != 0 || first == rep.next_lsn);
    uint64_t extra = ar == 0 ? 1 : 0;
    tidal_wal_close(w);

    w = NULL;
    FUZZ_CHECK(tidal_wal_open(&opts, &w, &rep2) == 0);
    FUZZ_CHECK(rep2.truncated_bytes == 0);
    FUZZ_CHECK(rep2.next_lsn == rep.next_lsn + extra);
    read_all(w, &rep2, 0);
    FUZZ_CHECK(rep2.batches == rep.batches + extra);
    tidal_wal_close(w);
    remove_tree(root);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)tidal__fuzz_recover_one(data, size); /* any result is fine; only checks abort */
    return 0;
}
