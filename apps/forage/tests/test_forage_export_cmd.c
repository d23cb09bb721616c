/*
 * `tidal export` (tools/export.c), the built binary: a region's directory,
 * written by a cluster that is then closed, exported offline gives exactly
 * the lines the live region gave, for every session or one, and the
 * directory is left byte for byte and time for time as it was; a missing,
 * foreign or damaged directory exits 1, bad arguments exit 2.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <ftw.h>

#include "export_helpers.h"

FORAGE_SUITE(export_cmd);

/* Runs the command line through the shell; returns its exit code. */
static int
run(const char *cmd)
{
    int st = system(cmd);
    cr_assert(st != -1 && WIFEXITED(st), "%s did not exit", cmd);
    return WEXITSTATUS(st);
}

/* The file's lines, as the sink would have kept them. */
static fx_lines
read_lines(const char *path)
{
    fx_lines l = {0};
    FILE *f = fopen(path, "r");
    char buf[65536];
    cr_assert(f != NULL, "no %s", path);
    while (fgets(buf, sizeof(buf), f) != NULL) {
        cr_assert_eq(fx_keep(&l, buf, strlen(buf)), 0);
    }
    fclose(f);
    return l;
}

static void
assert_same_lines(const fx_lines *a, const fx_lines *b, const char *what)
{
    cr_assert_eq(a->n, b->n, "%s: %zu lines, expected %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        cr_assert_str_eq(a->v[i], b->v[i], "%s: line %zu", what, i);
    }
}

/* ---- a directory's fingerprint: every path, size, mtime and byte ---- */

static uint64_t print_sum;

static int
fingerprint_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    uint64_t h = 1469598103934665603ull;
    for (const char *c = p; *c != '\0'; c++) {
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    }
    h = (h ^ (uint64_t)sb->st_size) * 1099511628211ull;
    h = (h ^ (uint64_t)sb->st_mtim.tv_sec) * 1099511628211ull;
    h = (h ^ (uint64_t)sb->st_mtim.tv_nsec) * 1099511628211ull;
    if (flag == FTW_F) {
        FILE *f = fopen(p, "rb");
        int ch;
        cr_assert(f != NULL);
        while ((ch = fgetc(f)) != EOF) {
            h = (h ^ (uint8_t)ch) * 1099511628211ull;
        }
        fclose(f);
    }
    print_sum += h; /* order-free: nftw's order is the directory's */
    return 0;
}

static uint64_t
fingerprint(const char *dir)
{
    print_sum = 0;
    cr_assert_eq(nftw(dir, fingerprint_one, 16, FTW_PHYS), 0);
    return print_sum;
}

/* Two regions with directories under root: sessions in region 0, a hide
 * undone from region 1; each region's live export is kept in live[i], and
 * one session of region 0's alone in *one; then the cluster is closed. */
static void
write_and_close(const char *root, fx_lines live[2], tidal_session_id *s0, fx_lines *one)
{
    tidal_cluster *c;
    tidal_region *r[2];
    char dir[2][128];
    FORAGE_PASS(tidal_cluster_open(&(tidal_cluster_opts){0}, &c));
    for (int i = 0; i < 2; i++) {
        snprintf(dir[i], sizeof(dir[i]), "%s/r%d", root, i);
        tidal_region_opts o = {.region_id = (tidal_region_id)i, .dir = dir[i]};
        FORAGE_PASS(tidal_region_open(c, &o, &r[i]));
    }
    tidal_session_id s[3];
    for (int i = 0; i < 3; i++) {
        FORAGE_PASS(tidal_start_session(r[0], 7 + (tidal_entity_id)i, NULL, &s[i]));
        fx_show(r[0], s[i], 1, (tidal_entity_id[]){1, 2, 3}, (int[]){0, 1, 2}, 3);
        fx_answer(r[0], 7 + (tidal_entity_id)i, s[i], 1, 1, FORAGE_ANSWER_LIKE);
        fx_answer(r[0], 7 + (tidal_entity_id)i, s[i], 1, 2, FORAGE_ANSWER_HIDE);
        fx_answer(r[0], 7 + (tidal_entity_id)i, s[i], 1, 3, FORAGE_ANSWER_HIDE);
    }
    FORAGE_PASS(tidal_unhide_item(r[1], 7, 3)); /* user 7's second hide undone */
    tidal_region_stats st[2];
    for (int i = 0; i < 2; i++) {
        tidal_region_stats_get(r[i], &st[i]);
    }
    FORAGE_PASS(tidal_region_wait_applied(r[0], 1, st[1].last_lsn, FX_DEADLINE_MS));
    FORAGE_PASS(tidal_region_wait_applied(r[1], 0, st[0].last_lsn, FX_DEADLINE_MS));
    for (int i = 0; i < 2; i++) {
        live[i] = (fx_lines){0};
        FORAGE_PASS(forage_export_all(r[i], NULL, &(forage_export_sink){fx_keep, &live[i]}, NULL));
        cr_assert_eq(live[i].n, 3);
    }
    *s0 = s[1];
    *one = (fx_lines){0};
    FORAGE_PASS(forage_export_session(r[0], s[1], NULL, &(forage_export_sink){fx_keep, one}, NULL));
    cr_assert_eq(tidal_cluster_close(c), 0);
}

Test(export_cmd, a_closed_region_exports_what_it_gave_live_and_is_left_as_it_was)
{
    char root[64], cmd[1024], out[128];
    snprintf(root, sizeof(root), "%s", forage_test_tmpdir());
    fx_lines live[2], one;
    tidal_session_id s;
    write_and_close(root, live, &s, &one);
    for (int i = 0; i < 2; i++) {
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/r%d", root, i);
        snprintf(out, sizeof(out), "%s/out%d.jsonl", root, i);
        uint64_t before = fingerprint(dir);
        /* the region's id comes from its directory */
        snprintf(cmd, sizeof(cmd), "%s export --dir %s --out %s", TIDAL_BIN, dir, out);
        cr_assert_eq(run(cmd), 0, "%s", cmd);
        cr_assert_eq(fingerprint(dir), before, "region %d's directory changed", i);
        fx_lines got = read_lines(out);
        assert_same_lines(&got, &live[i], "all sessions");
        fx_lines_free(&got);
        fx_lines_free(&live[i]);
    }
    char hex[33];
    forage_export_session_hex(s, hex);
    snprintf(cmd, sizeof(cmd), "%s export --dir %s/r0 --out=%s --session %s --region 0", TIDAL_BIN,
             root, out, hex);
    cr_assert_eq(run(cmd), 0, "%s", cmd);
    fx_lines got = read_lines(out);
    assert_same_lines(&got, &one, "one session");
    fx_lines_free(&got);
    fx_lines_free(&one);
    /* an unknown session: 1, and no file left as if it were an export */
    snprintf(cmd, sizeof(cmd), "%s export --dir %s/r0 --out %s/none --session %032x 2>/dev/null",
             TIDAL_BIN, root, root, 5);
    cr_assert_eq(run(cmd), 1, "%s", cmd);
    snprintf(out, sizeof(out), "%s/none", root);
    cr_assert_neq(access(out, F_OK), 0, "no output file after a failure");
    forage_test_rmdir(root);
}

Test(export_cmd, bad_directories_exit_1_and_bad_arguments_exit_2)
{
    char root[64], cmd[1024];
    snprintf(root, sizeof(root), "%s", forage_test_tmpdir());
    fx_lines live[2], one;
    tidal_session_id s;
    write_and_close(root, live, &s, &one);
    for (int i = 0; i < 2; i++) {
        fx_lines_free(&live[i]);
    }
    fx_lines_free(&one);
    static const struct {
        const char *args;
        int code;
    } cases[] = {
        {"--dir %s/missing --out %s/o", 1},       /* no such directory */
        {"--dir %s --out %s/o", 1},               /* not a region's: no wal/ */
        {"--dir %s/r0 --out %s/o --region 1", 1}, /* its reconciled log says region 0 */
        {"--dir %s/r0 --out %s/no/such/dir/o", 1},
        {"--dir %s/r0", 2},
        {"--out %s/o", 2},
        {"--dir %s/r0 --out %s/o --region 16", 2},
        {"--dir %s/r0 --out %s/o --session 12ab", 2},
        {"--dir %s/r0 --out %s/o --frob", 2},
        {"--dir %s/r0 --out %s/o --region", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char args[512];
        snprintf(args, sizeof(args), cases[i].args, root, root);
        snprintf(cmd, sizeof(cmd), "%s export %s 2>/dev/null", TIDAL_BIN, args);
        cr_assert_eq(run(cmd), cases[i].code, "%s: expected %d", cmd, cases[i].code);
    }
    /* a damaged log: a byte of region 0's first batch flipped */
    char seg[256];
    snprintf(seg, sizeof(seg), "%s/r0/wal/shard-0000/r0000-0000000000000001.seg", root);
    FILE *f = fopen(seg, "r+b");
    cr_assert(f != NULL, "no %s", seg);
    cr_assert_eq(fseek(f, 40, SEEK_SET), 0);
    int ch = fgetc(f);
    cr_assert_eq(fseek(f, 40, SEEK_SET), 0);
    fputc(ch ^ 0xff, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s export --dir %s/r0 --out %s/o 2>%s/err", TIDAL_BIN, root, root,
             root);
    cr_assert_eq(run(cmd), 1, "%s", cmd);
    snprintf(cmd, sizeof(cmd), "grep -q 'cannot open region 0' %s/err", root);
    cr_assert_eq(run(cmd), 0, "the error names what failed");
    forage_test_rmdir(root);
}

Test(export_cmd, help_names_the_options_and_exit_codes)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "%s help export | grep -q '^usage: tidal export --dir PATH --out FILE' && "
             "%s export --help | grep -q '^  2    usage error'",
             TIDAL_BIN, TIDAL_BIN);
    cr_assert_eq(run(cmd), 0, "%s", cmd);
}
