/*
 * The catalogue: the shipped file loads; generate, write and read back gives
 * the same catalogue; every refusal names the file and the line, one test per
 * kind of error.
 */
#include "forage_test.h"

#include <stdio.h>
#include <string.h>

#include "catalogue.h"
#include "gen.h"
#include "limits.h"

FORAGE_SUITE(catalogue);

static const char *dir;

static void
setup(void)
{
    dir = forage_test_tmpdir();
}

static void
teardown(void)
{
    forage_test_rmdir(dir);
    forage_test_leak_check();
}

/* Loads text as a file; expects code and an error starting "path:line: " and
 * containing what. */
static void
expect_refused(const char *text, int code, long line, const char *what)
{
    const char *path = forage_test_write(dir, "bad.tsv", text);
    char want[300], err[FORAGE_ERR_BYTES];
    snprintf(want, sizeof(want), "%s:%ld: ", path, line);
    forage_catalogue *c = (forage_catalogue *)1;
    FORAGE_FAIL(forage_catalogue_load(path, &c, err), code);
    cr_assert_null(c);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "error '%s' does not start '%s'", err, want);
    cr_assert(strstr(err, what) != NULL, "error '%s' does not say '%s'", err, what);
}

Test(catalogue, shipped_file_loads_with_4000_items_of_32_floats)
{
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    FORAGE_PASS(forage_catalogue_load(FORAGE_DATA_DIR "/catalogue.tsv", &c, err));
    cr_assert_eq(c->n, 4000);
    cr_assert_eq(c->dim, 32);
    for (size_t i = 0; i < c->n; i++) {
        cr_assert_eq(c->ids[i], i + 1);
    }
    forage_catalogue_free(c);
}

Test(catalogue, generated_catalogue_written_and_read_back_is_identical, .init = setup,
     .fini = teardown)
{
    forage_gen_opts o = {.seed = 7, .items = 300, .dim = 13, .topics = 5};
    forage_catalogue *g, *c;
    forage_label_def defs[FORAGE_GEN_TOPICS_MAX];
    size_t k;
    FORAGE_PASS(forage_gen_catalogue(&o, &g, defs, &k));
    cr_assert_eq(k, 5);
    char path[256];
    snprintf(path, sizeof(path), "%s/g.tsv", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("# a comment\n\n", f);
    FORAGE_PASS(forage_catalogue_write(g, f));
    cr_assert_eq(fclose(f), 0);
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_catalogue_load(path, &c, err));
    cr_assert_eq(c->n, g->n);
    cr_assert_eq(c->dim, g->dim);
    for (size_t i = 0; i < c->n; i++) {
        cr_assert_eq(c->ids[i], g->ids[i]);
        cr_assert_eq(c->created[i], g->created[i]);
        cr_assert_str_eq(c->titles[i], g->titles[i]);
    }
    cr_assert(memcmp(c->vec, g->vec, c->n * c->dim * sizeof(float)) == 0,
              "the generator's vectors are not the file's");
    forage_catalogue_free(c);
    forage_catalogue_free(g);
}

Test(catalogue, generator_is_deterministic_per_seed)
{
    forage_gen_opts o = {.seed = 3, .items = 200};
    forage_catalogue *a, *b, *d;
    forage_label_def defs[FORAGE_GEN_TOPICS_MAX];
    size_t k;
    FORAGE_PASS(forage_gen_catalogue(&o, &a, defs, &k));
    FORAGE_PASS(forage_gen_catalogue(&o, &b, defs, &k));
    o.seed = 4;
    FORAGE_PASS(forage_gen_catalogue(&o, &d, defs, &k));
    cr_assert(memcmp(a->vec, b->vec, a->n * a->dim * sizeof(float)) == 0);
    cr_assert(memcmp(a->vec, d->vec, a->n * a->dim * sizeof(float)) != 0);
    forage_catalogue_free(a);
    forage_catalogue_free(b);
    forage_catalogue_free(d);
}

Test(catalogue, comments_blank_lines_and_crlf_are_accepted, .init = setup, .fini = teardown)
{
    const char *path = forage_test_write(
        dir, "ok.tsv", "# header\n\n1\tone\t-5\t1\t0\r\n# mid\n2\ttwo\t7\t0.5\t-2e-1\n");
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    FORAGE_PASS(forage_catalogue_load(path, &c, err));
    cr_assert_eq(c->n, 2);
    cr_assert_eq(c->dim, 2);
    cr_assert_eq(c->created[0], -5);
    cr_assert_str_eq(c->titles[1], "two");
    cr_assert(c->vec[3] == -0.2f);
    forage_catalogue_free(c);
}

Test(catalogue, wrong_field_count_is_refused, .init = setup, .fini = teardown)
{
    expect_refused("1\ta\t0\t1\n2\tb\t0\n", TIDAL_ECORRUPT, 2, "wrong field count: 3");
}

Test(catalogue, bad_float_is_refused, .init = setup, .fini = teardown)
{
    expect_refused("1\ta\t0\t1\t2\n2\tb\t0\t1\t2x\n", TIDAL_ECORRUPT, 2, "float 2: bad float");
    expect_refused("# c\n1\ta\t0\t\t2\n", TIDAL_ECORRUPT, 2, "float 1: bad float");
}

Test(catalogue, nan_and_inf_are_refused, .init = setup, .fini = teardown)
{
    expect_refused("1\ta\t0\t1\tnan\n", TIDAL_ECORRUPT, 1, "NaN or infinite");
    expect_refused("1\ta\t0\t1\t1\n2\ta\t0\t-inf\t1\n", TIDAL_ECORRUPT, 2, "NaN or infinite");
    /* Finite text that overflows a float is infinite once read. */
    expect_refused("1\ta\t0\t1e39\t1\n", TIDAL_ECORRUPT, 1, "NaN or infinite");
}

Test(catalogue, duplicate_id_is_refused_at_its_second_line, .init = setup, .fini = teardown)
{
    expect_refused("7\ta\t0\t1\n8\tb\t0\t1\n# c\n7\tc\t0\t1\n", TIDAL_ECORRUPT, 4,
                   "duplicate id 7 (first on line 1)");
}

Test(catalogue, zero_vector_is_refused, .init = setup, .fini = teardown)
{
    expect_refused("1\ta\t0\t1\t0\n2\tb\t0\t0\t-0.0\n", TIDAL_ECORRUPT, 2, "zero vector");
}

Test(catalogue, dimension_mismatch_is_refused, .init = setup, .fini = teardown)
{
    expect_refused("1\ta\t0\t1\t2\t3\n2\tb\t0\t1\t2\t3\t4\n", TIDAL_ECORRUPT, 2,
                   "dimension mismatch: 4 floats, the first item has 3");
}

/* One item whose line is exactly len bytes: a float of leading zeros, "00...01". */
static const char *
line_of(size_t len)
{
    static char text[FORAGE_LINE_BYTES_MAX + 64];
    strcpy(text, "1\ta\t0\t");
    size_t n = strlen(text);
    while (n < len - 1) {
        text[n++] = '0';
    }
    text[n++] = '1';
    text[n++] = '\n';
    text[n] = '\0';
    return text;
}

Test(catalogue, line_one_byte_over_the_limit_is_refused, .init = setup, .fini = teardown)
{
    expect_refused(line_of(FORAGE_LINE_BYTES_MAX + 1), TIDAL_ECORRUPT, 1, "line too long");
}

Test(catalogue, line_at_the_limit_is_read, .init = setup, .fini = teardown)
{
    const char *path = forage_test_write(dir, "long.tsv", line_of(FORAGE_LINE_BYTES_MAX));
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    FORAGE_PASS(forage_catalogue_load(path, &c, err));
    cr_assert(c->vec[0] == 1.0f);
    forage_catalogue_free(c);
}

Test(catalogue, bad_id_title_and_created_at_are_refused, .init = setup, .fini = teardown)
{
    expect_refused("x1\ta\t0\t1\n", TIDAL_ECORRUPT, 1, "bad id");
    expect_refused("0\ta\t0\t1\n", TIDAL_ECORRUPT, 1, "bad id");
    expect_refused("1\t\t0\t1\n", TIDAL_ECORRUPT, 1, "title of 0 bytes");
    expect_refused("1\ta\tnoon\t1\n", TIDAL_ECORRUPT, 1, "bad created-at");
}

Test(catalogue, empty_file_and_missing_file_are_refused, .init = setup, .fini = teardown)
{
    const char *path = forage_test_write(dir, "empty.tsv", "# nothing\n");
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    FORAGE_FAIL(forage_catalogue_load(path, &c, err), TIDAL_ECORRUPT);
    cr_assert(strstr(err, "no items") != NULL, "%s", err);
    FORAGE_FAIL(forage_catalogue_load("/nonexistent/forage.tsv", &c, err), TIDAL_EIO);
    cr_assert_null(c);
}
