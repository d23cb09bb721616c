/* The end of a failed assertion (assert.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/assert.h"

void
tidal__panic(const char *file, int line, const char *cond)
{
    fprintf(stderr, "tidal: assertion failed at %s:%d: %s\n", file, line, cond);
    abort();
}
