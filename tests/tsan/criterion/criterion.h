/* The TSan build's stand-in for Criterion's header: tests/tsan/shim.h says
 * why and what it provides.  Only the TIDAL_TSAN build puts tests/tsan on
 * the include path; the normal builds get the real Criterion. */
#include "../shim.h"
