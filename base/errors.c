/* Error names and messages, generated from TIDAL_ERRNO_MAP (errors.h). */
#include "tidal/errors.h"

const char *
tidal_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define TIDAL__ERRNO_MSG(name, n, msg)                                                    \
    case TIDAL_ERRNO_BASE + (n):                                                          \
        return msg;
        TIDAL_ERRNO_MAP(TIDAL__ERRNO_MSG)
#undef TIDAL__ERRNO_MSG
    default:
        return "unknown error";
    }
}

const char *
tidal_errname(int code)
{
    switch (code) {
    case 0:
        return "TIDAL_OK";
#define TIDAL__ERRNO_NAME(name, n, msg)                                                   \
    case TIDAL_ERRNO_BASE + (n):                                                          \
        return "TIDAL_" #name;
        TIDAL_ERRNO_MAP(TIDAL__ERRNO_NAME)
#undef TIDAL__ERRNO_NAME
    default:
        return "TIDAL_E?";
    }
}
