/*
 * The forage command's parts shared between its subcommands (cli.h):
 * option parsing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tidal/errors.h>

#include "cli.h"

int
forage_opt_u64(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = value ? strtoull(value, &end, 10) : 0;
    if (value == NULL || value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
        v < min || v > max) {
        fprintf(stderr, "forage: %s wants a number in %" PRIu64 "..%" PRIu64 "\n", name, min, max);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}
