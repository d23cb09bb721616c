/*
 * Message type numbers (see types.h): lookups generated from
 * TIDAL_MSG_TYPE_MAP, so the table in the header is the only list.  The
 * envelope decoder asks tidal_msg_type_known for every envelope: it is a
 * switch, not a search.
 */
#include "messages/types.h"

#include <stddef.h>

bool
tidal_msg_type_known(uint32_t type)
{
    switch (type) {
#define TIDAL__MSG_TYPE_CASE(name, n, desc)                                                        \
    case (n):                                                                                      \
        return true;
        TIDAL_MSG_TYPE_MAP(TIDAL__MSG_TYPE_CASE)
#undef TIDAL__MSG_TYPE_CASE
    default:
        /* The wire carries types as 16 bits (envelope.h). */
        return type >= TIDAL_MSG_TYPE_USER_MIN && type <= UINT16_MAX;
    }
}

const char *
tidal_msg_type_name(uint32_t type)
{
    switch (type) {
#define TIDAL__MSG_TYPE_NAME(name, n, desc)                                                        \
    case (n):                                                                                      \
        return #name;
        TIDAL_MSG_TYPE_MAP(TIDAL__MSG_TYPE_NAME)
#undef TIDAL__MSG_TYPE_NAME
    default:
        return NULL;
    }
}
