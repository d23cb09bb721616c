/*
 * The forage command's parts shared between its subcommands: option parsing
 * (a labelled catalogue loads through labelled.h).
 */
#ifndef FORAGE_CLI_H
#define FORAGE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "labelled.h"

/* Exit codes of every subcommand. */
#define FORAGE_EXIT_OK 0
#define FORAGE_EXIT_FAIL 1
#define FORAGE_EXIT_USAGE 2

/* Parses an unsigned decimal option value in [min, max] into *out; prints
 * the error and returns -1 otherwise. */
int forage_opt_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out);

/* The subcommands: argc/argv after the subcommand's name. */
int forage_cmd_gen(int argc, char **argv);
int forage_cmd_labels(int argc, char **argv);
int forage_cmd_simulate(int argc, char **argv);

#endif /* FORAGE_CLI_H */
