/*
 * Symbol attributes of the public API.
 *
 * TIDAL_API marks what libtidal.so exports: every function declared in
 * include/tidal/.  The library is built with hidden visibility, so anything
 * without the mark (the internal tidal__ functions and the internal layers'
 * own tidal_ helpers) is not part of the ABI and cannot be linked against
 * the shared library (docs/abi.md).
 */
#ifndef TIDAL_EXPORT_H
#define TIDAL_EXPORT_H

#define TIDAL_API __attribute__((visibility("default")))

/* On a fallible call whose result must be read. */
#define TIDAL_WARN_UNUSED __attribute__((warn_unused_result))

#endif /* TIDAL_EXPORT_H */
