/*
 * The names Forage gives its state in tidal (schema.h).
 */
#include "schema.h"

#include <stdio.h>
#include <string.h>

static const char *const answer_types[FORAGE_ANSWERS] = {
    FORAGE_SIGNAL_VIEW_TYPE, FORAGE_SIGNAL_LIKE_TYPE,   FORAGE_SIGNAL_SKIP_TYPE,
    FORAGE_SIGNAL_HIDE_TYPE, FORAGE_SIGNAL_UNHIDE_TYPE,
};

const char *
forage_answer_type(int a)
{
    return a >= 0 && a < FORAGE_ANSWERS ? answer_types[a] : "?";
}

int
forage_answer_parse(const char *type)
{
    for (int a = 0; a < FORAGE_ANSWERS; a++)
        if (strcmp(type, answer_types[a]) == 0)
            return a;
    return -1;
}

int
forage_shown_source(const char *type)
{
    size_t plen = sizeof(FORAGE_SIGNAL_SHOWN_PREFIX) - 1;
    if (strncmp(type, FORAGE_SIGNAL_SHOWN_PREFIX, plen) != 0)
        return -1;
    for (int s = 0; s < FORAGE_SOURCES; s++)
        if (strcmp(type + plen, forage_source_name(s)) == 0)
            return s;
    return -1;
}

void
forage_shown_type(int source, char out[32])
{
    snprintf(out, 32, "%s%s", FORAGE_SIGNAL_SHOWN_PREFIX, forage_source_name(source));
}

void
forage_arm_key(int source, bool success, char out[32])
{
    snprintf(out, 32, "forage/%s/%c", forage_source_name(source), success ? 's' : 'f');
}
