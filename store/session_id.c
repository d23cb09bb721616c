/*
 * Session ids (session.h): 128 random bits, never all zero, and their
 * order.  Apart from the table so that every file of the session store can
 * use them without calling into the table's file.
 */
#include "store/session.h"

#include "base/random.h"
#include "tidal/errors.h"

int
tidal_session_id_new(tidal_session_id *out)
{
    tidal_session_id id = {0, 0};

    while (id.hi == 0 && id.lo == 0) {
        if (tidal__random(&id, sizeof(id)) != 0) {
            return TIDAL_EIO;
        }
    }
    *out = id;
    return 0;
}

int
tidal_session_id_compare(const tidal_session_id *a, const tidal_session_id *b)
{
    if (a->hi != b->hi) {
        return a->hi < b->hi ? -1 : 1;
    }
    if (a->lo != b->lo) {
        return a->lo < b->lo ? -1 : 1;
    }
    return 0;
}
