/*
 * The signal-type intern table: names ("view", "like") <-> small ids.
 *
 * Records and reconciliation entries carry type names; the in-memory state
 * (signals, sessions) keeps 16-bit ids.  Ids are local to one table: two
 * regions may give different ids to one name, so anything that crosses a
 * region boundary or is hashed for a digest uses the name, never the id.
 *
 * Ids are assigned 1, 2, 3... in order of first intern and never change or
 * get reused while the table lives; 0 is never an id.  A name is 1 to
 * TIDAL_SIGTYPE_NAME_BYTES_MAX - 1 printable ASCII bytes other than space
 * (0x21..0x7e), compared byte for byte.
 *
 * An opaque table; not thread-safe (callers lock).
 */
#ifndef TIDAL_STORE_SIGTYPES_H
#define TIDAL_STORE_SIGTYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tidal/limits.h"

typedef struct tidal_sigtypes tidal_sigtypes;

/* An empty table in *out.  TIDAL_ENOMEM. */
int tidal_sigtypes_open(tidal_sigtypes **out) __attribute__((warn_unused_result));

/* Frees the table.  Accepts NULL. */
void tidal_sigtypes_close(tidal_sigtypes *t);

/* The id of the NUL-terminated name, assigning the next id if it is new.
 * TIDAL_EINVAL for an invalid name, TIDAL_ELIMIT when TIDAL_SIGTYPES_MAX
 * types exist, TIDAL_ENOMEM; on error nothing is changed. */
int tidal_sigtypes_intern(tidal_sigtypes *t, const char *name, uint16_t *id)
    __attribute__((warn_unused_result));

/* The same for name[0..len) (not NUL-terminated), as read off the wire, with
 * the same errors; on error nothing is changed. */
int tidal_sigtypes_intern_n(tidal_sigtypes *t, const char *name, size_t len, uint16_t *id)
    __attribute__((warn_unused_result));

/* True if name[0..len) is a valid type name (rules above).  Cannot fail. */
bool tidal_sigtypes_name_valid(const char *name, size_t len);

/* The id of an existing name.  TIDAL_ENOENT if unknown (or invalid). */
int tidal_sigtypes_find(const tidal_sigtypes *t, const char *name, uint16_t *id)
    __attribute__((warn_unused_result));

/* The name of id, NUL-terminated and owned by the table (valid while it
 * lives), or NULL for an unknown id.  Cannot fail. */
const char *tidal_sigtypes_name(const tidal_sigtypes *t, uint16_t id);

/* Types interned.  Cannot fail. */
size_t tidal_sigtypes_count(const tidal_sigtypes *t);

#endif /* TIDAL_STORE_SIGTYPES_H */
