/*
 * `tidal export`: Forage's RLHF preference data (apps/forage/export.h,
 * docs/rlhf-export.md) from a region's directory, read offline, as JSONL.
 *
 * Offline: the directory's region is opened alone, in a cluster of its own
 * in this process, with no peer - so nothing is shipped, nothing is
 * reconciled and no peer joins its peers file - and closed after the
 * export, which only reads.  The open is the region's own recovery: on a
 * directory closed cleanly it changes no byte of any file; on one whose
 * process died, recovery cuts a torn tail (bytes never acknowledged) and
 * records it in that log's manifest, as the region's next open would.
 * Nothing tells whether another process has the region open (tidal keeps no
 * lock), so the command must not be run on a live region's directory.
 *
 * Which region: the one whose reconciled log the directory holds
 * (reconciled/wal/shard-SSSS/rOOOO.*, always the region's own; docs/
 * wal-format.md), or --region N when there is none, checked against the
 * logs under wal/ before anything is opened, so that a wrong id never makes
 * a new region's files in someone's directory.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "apps/forage/export.h"
#include "tidal/region.h"
#include "tools/tool.h"

#define NO_REGION 0xffffu

struct export_args {
    const char *dir, *out, *session_hex; /* session_hex NULL: every session */
    tidal_session_id session;            /* session_hex's */
    uint64_t region;                     /* NO_REGION: read from the directory */
};

static void
help(FILE *f)
{
    fprintf(f,
            "usage: tidal export --dir PATH --out FILE [--session HEX] [--region N]\n"
            "\n"
            "Writes Forage's preference data as JSONL (docs/rlhf-export.md): one line per\n"
            "slate that got an answer - the user, session and slate, the chosen items\n"
            "(liked) and the rejected (skipped, or hidden and still hidden), each with its\n"
            "signal's HLC stamp and region of origin.  Reads a region's directory offline:\n"
            "the region is opened alone in this process, read and closed; a directory\n"
            "closed cleanly is left byte for byte as it was.  Never run it on the\n"
            "directory of a region another process has open.\n"
            "\n"
            "options (each also as --opt=value):\n"
            "  --dir PATH     the region's directory (tidal_region_opts.dir)\n"
            "  --out FILE     where the lines go; - is standard output\n"
            "  --session HEX  one session (32 hex digits, as the lines write it);\n"
            "                 default: every session the directory holds\n"
            "  --region N     the region's id, 0 to %u, when the directory does not\n"
            "                 say (it has no reconciled log); checked against its logs\n"
            "  -h, --help     print this help\n"
            "\nexit codes:\n  0    exported\n"
            "  1    failed: no such directory, not a region's, a damaged log, an\n"
            "       unknown session, the output could not be written\n"
            "  2    usage error: a bad option or value (nothing was read)\n",
            TIDAL_REGIONS_MAX - 1);
}

/* Returns 0, 2 for a usage error (said on stderr), or -1 for --help. */
static int
parse(int argc, char **argv, struct export_args *a)
{
    *a = (struct export_args){.region = NO_REGION};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = tidal_tool_is_opt(arg, "--dir")       ? &a->dir
                            : tidal_tool_is_opt(arg, "--out")     ? &a->out
                            : tidal_tool_is_opt(arg, "--session") ? &a->session_hex
                                                       : NULL;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return -1;
        } else if (slot != NULL) {
            const char *name = arg[2] == 'd' ? "--dir" : arg[2] == 'o' ? "--out" : "--session";
            if ((*slot = tidal_tool_value_of("export", argc, argv, &i, name)) == NULL) {
                return 2;
            }
            if ((*slot)[0] == '\0') {
                fprintf(stderr, "tidal export: %s '': a value is needed\n", name);
                return 2;
            }
        } else if (tidal_tool_is_opt(arg, "--region")) {
            const char *v = tidal_tool_value_of("export", argc, argv, &i, "--region");
            if (v == NULL) {
                return 2;
            }
            if (!tidal_tool_read_u64(v, TIDAL_REGIONS_MAX - 1, &a->region)) {
                fprintf(stderr, "tidal export: --region '%s': not a number from 0 to %u\n", v,
                        TIDAL_REGIONS_MAX - 1);
                return 2;
            }
        } else {
            fprintf(stderr, "tidal export: unknown option '%s' (try tidal export --help)\n", arg);
            return 2;
        }
    }
    if (a->dir == NULL || a->out == NULL) {
        fprintf(stderr, "tidal export: %s is required (try tidal export --help)\n",
                a->dir == NULL ? "--dir" : "--out");
        return 2;
    }
    if (a->session_hex != NULL && forage_export_session_parse(a->session_hex, &a->session) != 0) {
        fprintf(stderr, "tidal export: --session '%s': not 32 hex digits\n", a->session_hex);
        return 2;
    }
    return 0;
}

/* True if s is n lowercase hex digits (the WAL's names: docs/wal-format.md);
 * *v gets their value. */
static bool
hex_field(const char *s, size_t n, unsigned long long *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) {
            return false;
        }
        *v = *v << 4 | (unsigned)d;
    }
    return true;
}

/* The origin a log file's name gives (rOOOO.manifest or
 * rOOOO-LLLLLLLLLLLLLLLL.seg), or -1 for any other name. */
static int
log_origin(const char *name)
{
    unsigned long long origin, lsn;
    size_t len = strlen(name);
    if (name[0] != 'r' || len < 5 || !hex_field(name + 1, 4, &origin) ||
        origin >= TIDAL_REGIONS_MAX) {
        return -1;
    }
    if (strcmp(name + 5, ".manifest") == 0 ||
        (len == 26 && name[5] == '-' && hex_field(name + 6, 16, &lsn) &&
         strcmp(name + 22, ".seg") == 0)) {
        return (int)origin;
    }
    return -1;
}

/* The origins whose logs dir/shard-SSSS/ holds: bit o of *origins for each,
 * and bit s of shards_of[o] for each shard directory (0..31) holding one.
 * Returns false if dir cannot be read. */
static bool
scan_logs(const char *dir, uint32_t *origins, uint32_t shards_of[TIDAL_REGIONS_MAX])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL) {
        return false;
    }
    while ((e = readdir(d)) != NULL) {
        unsigned long long shard;
        char path[4096];
        if (strncmp(e->d_name, "shard-", 6) != 0 || strlen(e->d_name) != 10 ||
            !hex_field(e->d_name + 6, 4, &shard) || shard > 31) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        DIR *sd = opendir(path);
        struct dirent *f;
        while (sd != NULL && (f = readdir(sd)) != NULL) {
            int origin = log_origin(f->d_name);
            if (origin >= 0) {
                *origins |= 1u << origin;
                shards_of[origin] |= 1u << shard;
            }
        }
        if (sd != NULL) {
            closedir(sd);
        }
    }
    closedir(d);
    return true;
}

/* The lowest bit set of a mask that has exactly one, else -1. */
static int
only_bit(uint32_t m)
{
    return m != 0 && (m & (m - 1)) == 0 ? __builtin_ctz(m) : -1;
}

/* Decides the region id and shard of dir; 0, or 1 after saying why. */
static int
find_region(const struct export_args *a, tidal_region_id *region, tidal_shard_id *shard)
{
    char path[4096];
    struct stat sb;
    uint32_t own = 0, logs = 0, own_shards[TIDAL_REGIONS_MAX] = {0},
             log_shards[TIDAL_REGIONS_MAX] = {0};
    if (stat(a->dir, &sb) != 0) {
        fprintf(stderr, "tidal export: %s: %s\n", a->dir, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "tidal export: %s: not a directory\n", a->dir);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/wal", a->dir);
    if (!scan_logs(path, &logs, log_shards) || logs == 0) {
        fprintf(stderr, "tidal export: %s is not a region's directory: no log under %s\n", a->dir,
                path);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/reconciled/wal", a->dir);
    (void)scan_logs(path, &own, own_shards); /* absent: a directory of an older tidal */
    int id = only_bit(own);
    if (own != 0 && id < 0) {
        fprintf(stderr, "tidal export: %s: reconciled logs of several regions\n", a->dir);
        return 1;
    }
    if (id >= 0 && a->region != NO_REGION && a->region != (uint64_t)id) {
        fprintf(stderr, "tidal export: %s is region %d's directory, not --region %u's\n", a->dir,
                id, (unsigned)a->region);
        return 1;
    }
    if (id < 0) {
        if (a->region == NO_REGION) {
            fprintf(stderr, "tidal export: %s does not say which region it is: give --region\n",
                    a->dir);
            return 1;
        }
        id = (int)a->region;
        if ((logs & (1u << id)) == 0) {
            fprintf(stderr, "tidal export: %s holds no log of region %d\n", a->dir, id);
            return 1;
        }
    }
    int s = only_bit(own_shards[id] | log_shards[id]);
    if (s < 0) {
        fprintf(stderr, "tidal export: %s: region %d's logs are in several shards\n", a->dir, id);
        return 1;
    }
    *region = (tidal_region_id)id;
    *shard = (tidal_shard_id)s;
    return 0;
}

struct file_sink {
    FILE *f;
};

static int
write_line(void *arg, const char *text, size_t len)
{
    struct file_sink *fs = arg;
    return fwrite(text, 1, len, fs->f) == len ? 0 : TIDAL_EIO;
}

/* Exports from the open region r into f; 0 or 1 after saying why. */
static int
export_to(tidal_region *r, const struct export_args *a, FILE *f, forage_export_stats *st)
{
    struct file_sink fs = {f};
    forage_export_sink sink = {write_line, &fs};
    int rv;
    if (a->session_hex != NULL) {
        rv = forage_export_session(r, a->session, NULL, &sink, st);
    } else {
        rv = forage_export_all(r, NULL, &sink, st);
    }
    if (rv == TIDAL_ENOENT && a->session_hex != NULL) {
        fprintf(stderr, "tidal export: %s holds no session %s\n", a->dir, a->session_hex);
        return 1;
    }
    if (rv != 0) {
        fprintf(stderr, "tidal export: %s: %s\n", rv == TIDAL_EIO ? a->out : a->dir,
                rv == TIDAL_EIO ? strerror(errno) : tidal_strerror(rv));
        return 1;
    }
    return 0;
}

int
tidal_tool_export(int argc, char **argv)
{
    struct export_args a;
    int code = parse(argc, argv, &a);
    if (code != 0) {
        if (code < 0) {
            help(stdout);
        }
        return code < 0 ? 0 : code;
    }
    tidal_region_id id;
    tidal_shard_id shard;
    if (find_region(&a, &id, &shard) != 0) {
        return 1;
    }
    tidal_cluster *c;
    tidal_region *r;
    int rv = tidal_cluster_open(&(tidal_cluster_opts){0}, &c);
    if (rv == 0) {
        /* retention never: every session the logs hold, however long ago it
         * ended; no reconciler runs (there is no peer anyway) */
        tidal_region_opts o = {.region_id = id,
                               .shard_id = shard,
                               .dir = a.dir,
                               .reconcile_ms = UINT32_MAX,
                               .session_retention_ms = UINT32_MAX};
        rv = tidal_region_open(c, &o, &r);
        if (rv != 0) {
            (void)tidal_cluster_close(c); /* nothing of it was opened */
        }
    }
    if (rv != 0) {
        fprintf(stderr, "tidal export: cannot open region %u from %s: %s (%s)\n", (unsigned)id,
                a.dir, tidal_strerror(rv), tidal_errname(rv));
        return 1;
    }
    bool to_stdout = strcmp(a.out, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(a.out, "w");
    forage_export_stats st = {0};
    if (f == NULL) {
        fprintf(stderr, "tidal export: %s: %s\n", a.out, strerror(errno));
        code = 1;
    } else {
        code = export_to(r, &a, f, &st);
        if ((to_stdout ? fflush(f) : fclose(f)) != 0 && code == 0) {
            fprintf(stderr, "tidal export: %s: %s\n", a.out, strerror(errno));
            code = 1;
        }
        if (code != 0 && !to_stdout) {
            (void)remove(a.out); /* no partial export left behind as if whole */
        }
    }
    if (tidal_cluster_close(c) != 0 && code == 0) {
        fprintf(stderr, "tidal export: region %u did not close cleanly\n", (unsigned)id);
        code = 1;
    }
    if (code == 0) {
        fprintf(stderr,
                "tidal export: region %u: %llu sessions, %llu slates, %llu lines (%llu slates "
                "without an answer), %llu chosen, %llu rejected, %llu hides undone\n",
                (unsigned)id, (unsigned long long)st.sessions, (unsigned long long)st.slates,
                (unsigned long long)st.lines, (unsigned long long)st.slates_unanswered,
                (unsigned long long)st.chosen, (unsigned long long)st.rejected,
                (unsigned long long)st.hides_undone);
    }
    return code;
}
