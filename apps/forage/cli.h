/*
 * The forage command's parts shared between its subcommands: option parsing
 * and loading a labelled catalogue.
 */
#ifndef FORAGE_CLI_H
#define FORAGE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "labels.h"
#include "nn.h"

/* Exit codes of every subcommand. */
#define FORAGE_EXIT_OK 0
#define FORAGE_EXIT_FAIL 1
#define FORAGE_EXIT_USAGE 2

/* A catalogue, its index, its labels and each item's label. */
typedef struct forage_labelled {
    forage_catalogue *cat;
    forage_nn_index *ix;
    forage_labels *labels;
    int *label; /* cat->n */
} forage_labelled;

/* Loads the catalogue at cat_path and the labels at labels_path and labels
 * every item.  On failure prints "forage: <what>" to stderr, frees what it
 * made and returns the error. */
__attribute__((warn_unused_result)) int forage_labelled_load(const char *cat_path,
                                                             const char *labels_path,
                                                             float threshold, forage_labelled *out);

/* Frees what forage_labelled_load made; accepts a zeroed struct. */
void forage_labelled_free(forage_labelled *l);

/* Parses an unsigned decimal option value in [min, max] into *out; prints
 * the error and returns -1 otherwise. */
int forage_opt_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out);

/* The subcommands: argc/argv after the subcommand's name. */
int forage_cmd_gen(int argc, char **argv);
int forage_cmd_labels(int argc, char **argv);
int forage_cmd_simulate(int argc, char **argv);

#endif /* FORAGE_CLI_H */
