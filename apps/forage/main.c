/*
 * The forage command: a discovery application on tidal's public API.
 *
 *   forage gen-catalogue [--seed N] [--items N] [--dim N] [--topics N]
 *                        [--labels FILE]       a catalogue on stdout
 *   forage labels [--catalogue F] [--labels F] [--threshold X]
 *                                              items per label, as JSON
 *   forage simulate [--seed N] [--slates N] [--users N] [--out DIR]
 *                   [--prior-strength N] [--catalogue F] [--labels F]
 *                                              regret of the bandit policies
 *
 * Exit codes: 0 success, 1 failure, 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "cli.h"
#include "gen.h"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: forage gen-catalogue [--seed N] [--items N] [--dim N] [--topics N] "
            "[--labels FILE]\n"
            "       forage labels [--catalogue FILE] [--labels FILE] [--threshold X]\n"
            "       forage simulate [--seed N] [--slates N] [--users N] [--every N] "
            "[--out DIR]\n"
            "                       [--prior-strength N] [--catalogue FILE] [--labels FILE]\n"
            "defaults: --catalogue %s/catalogue.tsv --labels %s/labels.tsv\n",
            FORAGE_DATA_DIR, FORAGE_DATA_DIR);
}

static int
write_labels_file(const char *path, const forage_label_def *defs, size_t k)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "forage: %s: %s\n", path, strerror(errno));
        return FORAGE_EXIT_FAIL;
    }
    fprintf(f, "# forage labels: <name> TAB <example id>[,<id>...] (docs/catalogue.md)\n");
    int rv = forage_labels_write(defs, k, f);
    if (fclose(f) != 0 || rv != 0) {
        fprintf(stderr, "forage: %s: write failed\n", path);
        return FORAGE_EXIT_FAIL;
    }
    return FORAGE_EXIT_OK;
}

int
forage_cmd_gen(int argc, char **argv)
{
    forage_gen_opts o = {.seed = 1};
    const char *labels_path = NULL;
    uint64_t v;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--labels") == 0 && val != NULL) {
            labels_path = val;
        } else if (strcmp(a, "--seed") == 0 && forage_opt_u64(a, val, 0, UINT64_MAX, &v) == 0) {
            o.seed = v;
        } else if (strcmp(a, "--items") == 0 &&
                   forage_opt_u64(a, val, 1, FORAGE_ITEMS_MAX, &v) == 0) {
            o.items = v;
        } else if (strcmp(a, "--dim") == 0 && forage_opt_u64(a, val, 2, FORAGE_DIM_MAX, &v) == 0) {
            o.dim = v;
        } else if (strcmp(a, "--topics") == 0 &&
                   forage_opt_u64(a, val, 1, FORAGE_GEN_TOPICS_MAX, &v) == 0) {
            o.topics = v;
        } else {
            usage(stderr);
            return FORAGE_EXIT_USAGE;
        }
        i++;
    }
    forage_catalogue *c;
    forage_label_def defs[FORAGE_GEN_TOPICS_MAX];
    size_t k;
    int rv = forage_gen_catalogue(&o, &c, defs, &k);
    if (rv != 0) {
        fprintf(stderr, "forage: gen-catalogue: %s (items must be at least %d per topic)\n",
                tidal_strerror(rv), FORAGE_GEN_EXAMPLES * 4);
        return rv == TIDAL_EINVAL ? FORAGE_EXIT_USAGE : FORAGE_EXIT_FAIL;
    }
    printf("# forage catalogue: id TAB title TAB created-at (Unix seconds) TAB %zu floats "
           "(docs/catalogue.md)\n"
           "# made by: forage gen-catalogue --seed %" PRIu64 " --items %zu --dim %zu "
           "--topics %zu\n",
           c->dim, o.seed, c->n, c->dim, k);
    rv = forage_catalogue_write(c, stdout);
    forage_catalogue_free(c);
    if (rv != 0 || fflush(stdout) != 0) {
        fprintf(stderr, "forage: gen-catalogue: write failed\n");
        return FORAGE_EXIT_FAIL;
    }
    return labels_path ? write_labels_file(labels_path, defs, k) : FORAGE_EXIT_OK;
}

int
forage_cmd_labels(int argc, char **argv)
{
    const char *cat = FORAGE_DATA_DIR "/catalogue.tsv", *lab = FORAGE_DATA_DIR "/labels.tsv";
    float threshold = FORAGE_LABEL_THRESHOLD_DEFAULT;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--catalogue") == 0) {
            cat = argv[i + 1];
        } else if (strcmp(argv[i], "--labels") == 0) {
            lab = argv[i + 1];
        } else if (strcmp(argv[i], "--threshold") == 0) {
            threshold = strtof(argv[i + 1], NULL);
        } else {
            usage(stderr);
            return FORAGE_EXIT_USAGE;
        }
    }
    if (argc % 2 != 0 || !(threshold >= -1.0f && threshold <= 1.0f)) {
        usage(stderr);
        return FORAGE_EXIT_USAGE;
    }
    forage_labelled l;
    char err[FORAGE_ERR_BYTES];
    if (forage_labelled_load(cat, lab, threshold, &l, err) != 0) {
        fprintf(stderr, "forage: %s\n", err);
        return FORAGE_EXIT_FAIL;
    }
    size_t counts[FORAGE_LABELS_MAX + 1] = {0};
    for (size_t i = 0; i < l.cat->n; i++) {
        counts[l.label[i] == FORAGE_UNLABELLED ? l.labels->k : (size_t)l.label[i]]++;
    }
    printf("{\"items\": %zu, \"threshold\": %.3f, \"labels\": {", l.cat->n, threshold);
    for (size_t i = 0; i < l.labels->k; i++) {
        printf("\"%s\": %zu, ", l.labels->defs[i].name, counts[i]);
    }
    printf("\"unlabelled\": %zu}}\n", counts[l.labels->k]);
    forage_labelled_free(&l);
    return FORAGE_EXIT_OK;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return FORAGE_EXIT_USAGE;
    }
    if (strcmp(argv[1], "gen-catalogue") == 0) {
        return forage_cmd_gen(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "labels") == 0) {
        return forage_cmd_labels(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "simulate") == 0) {
        return forage_cmd_simulate(argc - 2, argv + 2);
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return FORAGE_EXIT_OK;
    }
    usage(stderr);
    return FORAGE_EXIT_USAGE;
}
