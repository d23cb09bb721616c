/*
 * Labels: a label's vector is the normalised mean of its normalised examples
 * (recomputed here independently), nearest label by cosine, the threshold,
 * the labels file's refusals, and on the shipped catalogue, labels that
 * recover the generator's topics (read back from the titles).
 */
#include "forage_test.h"

#include <math.h>
#include <string.h>

#include "catalogue.h"
#include "labels.h"
#include "nn.h"

FORAGE_SUITE(labels);

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

static void
load(const char *text, forage_catalogue **c, forage_nn_index **ix)
{
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_catalogue_load(forage_test_write(dir, "c.tsv", text), c, err));
    FORAGE_PASS(forage_nn_build((*c)->vec, (*c)->n, (*c)->dim, ix));
}

Test(labels, vector_is_normalised_mean_of_normalised_examples, .init = setup, .fini = teardown)
{
    forage_catalogue *c;
    forage_nn_index *ix;
    /* Examples (10, 0) and (0, 2): normalised (1, 0) and (0, 1), mean
     * (0.5, 0.5), normalised (0.7071, 0.7071).  A plain mean would lean
     * towards the longer first example. */
    load("1\ta\t0\t10\t0\n2\tb\t0\t0\t2\n3\tc\t0\t-1\t0.1\n", &c, &ix);
    forage_label_def d = {.name = "diag", .n_examples = 2, .examples = {1, 2}};
    forage_labels *l;
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_labels_build(c, ix, &d, 1, 0.5f, &l, err));
    cr_assert(fabsf(l->vec[0] - (float)M_SQRT1_2) < 1e-6f);
    cr_assert(fabsf(l->vec[1] - (float)M_SQRT1_2) < 1e-6f);
    int got[3];
    forage_labels_assign(l, ix, got);
    cr_assert_eq(got[0], 0); /* cosine 0.707 >= 0.5 */
    cr_assert_eq(got[1], 0);
    cr_assert_eq(got[2], FORAGE_UNLABELLED); /* cosine about -0.63 */
    forage_labels_free(l);
    forage_nn_free(ix);
    forage_catalogue_free(c);
}

Test(labels, nearest_label_wins_and_threshold_unlabels, .init = setup, .fini = teardown)
{
    forage_catalogue *c;
    forage_nn_index *ix;
    load("1\tx\t0\t1\t0\t0\n2\ty\t0\t0\t1\t0\n3\tq\t0\t1\t0.9\t0\n4\tr\t0\t0\t0\t1\n", &c, &ix);
    forage_label_def d[2] = {{.name = "x", .n_examples = 1, .examples = {1}},
                             {.name = "y", .n_examples = 1, .examples = {2}}};
    forage_labels *l;
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_labels_build(c, ix, d, 2, 0.7f, &l, err));
    float sim;
    /* Item 3 is (1, 0.9): cosine 0.743 with x, 0.669 with y. */
    cr_assert_eq(forage_labels_nearest(l, ix->rows + 2 * ix->stride, &sim), 0);
    cr_assert(fabsf(sim - 1.0f / sqrtf(1.81f)) < 1e-6f);
    /* Item 4 is orthogonal to both. */
    cr_assert_eq(forage_labels_nearest(l, ix->rows + 3 * ix->stride, &sim), FORAGE_UNLABELLED);
    l->threshold = 0.75f; /* just above item 3's best cosine */
    cr_assert_eq(forage_labels_nearest(l, ix->rows + 2 * ix->stride, NULL), FORAGE_UNLABELLED);
    forage_labels_free(l);
    forage_nn_free(ix);
    forage_catalogue_free(c);
}

Test(labels, example_missing_from_the_catalogue_is_refused, .init = setup, .fini = teardown)
{
    forage_catalogue *c;
    forage_nn_index *ix;
    load("1\tx\t0\t1\t0\n", &c, &ix);
    forage_label_def d = {.name = "x", .n_examples = 2, .examples = {1, 99}};
    forage_labels *l;
    char err[FORAGE_ERR_BYTES];
    FORAGE_FAIL(forage_labels_build(c, ix, &d, 1, 0.5f, &l, err), TIDAL_EINVAL);
    cr_assert_null(l);
    cr_assert(strstr(err, "example id 99 not in the catalogue") != NULL, "%s", err);
    forage_nn_free(ix);
    forage_catalogue_free(c);
}

static void
expect_bad_labels(const char *text, long line, const char *what)
{
    const char *path = forage_test_write(dir, "l.tsv", text);
    char want[300], err[FORAGE_ERR_BYTES];
    snprintf(want, sizeof(want), "%s:%ld: ", path, line);
    forage_label_def defs[FORAGE_LABELS_MAX];
    size_t k;
    FORAGE_FAIL(forage_labels_read(path, defs, &k, err), TIDAL_ECORRUPT);
    cr_assert(strncmp(err, want, strlen(want)) == 0, "'%s' does not start '%s'", err, want);
    cr_assert(strstr(err, what) != NULL, "'%s' does not say '%s'", err, what);
}

Test(labels, labels_file_refusals_name_the_line, .init = setup, .fini = teardown)
{
    expect_bad_labels("a\t1\nno tab here\n", 2, "want <name> TAB");
    expect_bad_labels("# c\na\t1,2\na\t3\n", 3, "defined twice");
    expect_bad_labels("a\t1,x\n", 1, "bad example id list");
    expect_bad_labels("a\t\n", 1, "bad example id list");
    expect_bad_labels("\t1\n", 1, "label name of 0 bytes");
}

Test(labels, labels_file_round_trips, .init = setup, .fini = teardown)
{
    forage_label_def in[2] = {
        {.name = "jazz", .n_examples = 3, .examples = {4, 5, 6}},
        {.name = "dub", .n_examples = 1, .examples = {18446744073709551615u}}};
    char path[256];
    snprintf(path, sizeof(path), "%s/l.tsv", dir);
    FILE *f = fopen(path, "w");
    FORAGE_PASS(forage_labels_write(in, 2, f));
    cr_assert_eq(fclose(f), 0);
    forage_label_def out[FORAGE_LABELS_MAX];
    size_t k;
    char err[FORAGE_ERR_BYTES];
    FORAGE_PASS(forage_labels_read(path, out, &k, err));
    cr_assert_eq(k, 2);
    cr_assert_str_eq(out[1].name, "dub");
    cr_assert_eq(out[0].n_examples, 3);
    cr_assert_eq(out[0].examples[2], 6);
    cr_assert_eq(out[1].examples[0], 18446744073709551615u);
}

Test(labels, shipped_labels_recover_the_generators_topics)
{
    char err[FORAGE_ERR_BYTES];
    forage_catalogue *c;
    forage_nn_index *ix;
    forage_label_def defs[FORAGE_LABELS_MAX];
    size_t k;
    forage_labels *l;
    FORAGE_PASS(forage_catalogue_load(FORAGE_DATA_DIR "/catalogue.tsv", &c, err));
    FORAGE_PASS(forage_nn_build(c->vec, c->n, c->dim, &ix));
    FORAGE_PASS(forage_labels_read(FORAGE_DATA_DIR "/labels.tsv", defs, &k, err));
    FORAGE_PASS(forage_labels_build(c, ix, defs, k, FORAGE_LABEL_THRESHOLD_DEFAULT, &l, err));
    int *got = malloc(c->n * sizeof(int));
    forage_labels_assign(l, ix, got);
    /* The generator titles an item "<topic> <n>", or "misc <n>" for none. */
    size_t topical = 0, right = 0, misc = 0, misc_unlabelled = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (strncmp(c->titles[i], "misc ", 5) == 0) {
            misc++;
            misc_unlabelled += got[i] == FORAGE_UNLABELLED;
            continue;
        }
        topical++;
        size_t len = strlen(defs[got[i] < 0 ? 0 : got[i]].name);
        right += got[i] >= 0 && strncmp(c->titles[i], defs[got[i]].name, len) == 0 &&
                 c->titles[i][len] == ' ';
    }
    cr_assert_gt(topical, 3000);
    cr_assert_geq(right * 100, topical * 99, "%zu of %zu topical items", right, topical);
    cr_assert_geq(misc_unlabelled * 100, misc * 90, "%zu of %zu misc unlabelled", misc_unlabelled,
                  misc);
    free(got);
    forage_labels_free(l);
    forage_nn_free(ix);
    forage_catalogue_free(c);
}
