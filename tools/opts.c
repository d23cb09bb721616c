/*
 * What every verb's option parser shares (tool.h): "--opt value" and
 * "--opt=value", and integers read whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tool.h"

bool
tidal_tool_is_opt(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *
tidal_tool_value_of(const char *verb, int argc, char **argv, int *i, const char *opt)
{
    const char *eq = strchr(argv[*i], '=');
    if (eq != NULL) {
        return eq + 1;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "tidal %s: %s needs a value\n", verb, opt);
        return NULL;
    }
    return argv[++*i];
}

bool
tidal_tool_read_u64(const char *s, uint64_t max, uint64_t *out)
{
    const char *digits = "0123456789";
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        digits = "0123456789abcdefABCDEF";
        base = 16;
        s += 2;
    }
    /* strtoull alone would take "", " 7", "-1" (as 2^64 - 1) and "0x0x7" */
    if (s[0] == '\0' || strspn(s, digits) != strlen(s)) {
        return false;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}
