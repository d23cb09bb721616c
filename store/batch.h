/*
 * A WAL batch: header v2 + payload of msgpack records.  The same bytes are
 * written to segments and shipped to peers.
 *
 * Header v2 layout (TIDAL_BATCH_HEADER_BYTES = 72, little endian):
 *   off size field
 *   0   4    magic "TDLB"
 *   4   2    version (2)
 *   6   2    flags (none defined: must be 0)
 *   8   2    origin region
 *   10  2    shard
 *   12  4    record count (>= 1)
 *   16  8    first LSN (>= 1)
 *   24  4    payload length (<= TIDAL_BATCH_PAYLOAD_BYTES_MAX)
 *   28  4    reserved, zero
 *   32  8    hlc_min.wall_ns   40 4 hlc_min.logical   44 2 hlc_min.node_id  46 2 zero
 *   48  8    hlc_max.wall_ns   56 4 hlc_max.logical   60 2 hlc_max.node_id  62 2 zero
 *   64  4    CRC32C over bytes 0..63 and then the payload
 *   68  4    reserved, zero
 *
 * A batch is valid if and only if:
 *   1. at least 72 bytes are present (else TIDAL_ETRUNCATED);
 *   2. the magic matches (else TIDAL_ECORRUPT);
 *   3. version == 2 (version 1 and any other: TIDAL_EVERSION, checked before
 *      anything else is read, so an old or future header is never misread);
 *   4. flags, reserved and padding are zero, 1 <= count <=
 *      TIDAL_BATCH_RECORDS_MAX, first LSN >= 1, first LSN + count does not
 *      overflow 64 bits, payload length <= TIDAL_BATCH_PAYLOAD_BYTES_MAX,
 *      hlc_min <= hlc_max in the full (wall, logical, node id) order
 *      (else TIDAL_ECORRUPT);
 *   5. header + payload length bytes are present (else TIDAL_ETRUNCATED);
 *   6. the CRC matches (else TIDAL_ECRC).
 * The decoder checks in that order and reports the first failure.
 *
 * When you add a header field: bump the version, keep decoding v2, extend the
 * layout table, the encoder and decoder (side by side in batch.c), and the
 * tests (round trip, every rule, torn tail at every offset).
 */
#ifndef TIDAL_STORE_BATCH_H
#define TIDAL_STORE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "tidal/hlc.h"
#include "tidal/limits.h"

#define TIDAL_BATCH_MAGIC "TDLB"
#define TIDAL_BATCH_VERSION 2u
#define TIDAL_BATCH_HEADER_BYTES 72u

typedef struct tidal_batch_header {
    uint16_t version; /* decode: always 2; encode: ignored (writes 2) */
    uint16_t origin;
    uint16_t shard;
    uint32_t count;
    uint64_t first_lsn;
    uint32_t payload_len;
    tidal_hlc hlc_min;
    tidal_hlc hlc_max;
    uint32_t crc; /* decode: as stored; encode: computed */
} tidal_batch_header;

/* Writes the 72-byte header for h and payload into out, computing the CRC
 * over the header and h->payload_len bytes of payload (which must hold that
 * many; NULL only when payload_len is 0).  h->version and h->crc are ignored.
 * TIDAL_EINVAL if h breaks rule 4 or payload is NULL with a non-zero length.
 * On error out is untouched. */
int tidal_batch_header_encode(const tidal_batch_header *h, const uint8_t *payload,
                              uint8_t out[TIDAL_BATCH_HEADER_BYTES])
    __attribute__((warn_unused_result));

/* Decodes and verifies the batch at buf (rules 1..6); bytes after the batch
 * are ignored.  *h (may be NULL) gets the fields and *total (may be NULL)
 * header + payload bytes.  On error returns the code, leaves *h and *total
 * untouched and, if detail is not NULL, writes a one-line reason (field,
 * expected, actual) into it. */
int tidal_batch_decode(const uint8_t *buf, size_t len, tidal_batch_header *h, size_t *total,
                       char *detail, size_t detail_cap) __attribute__((warn_unused_result));

/* The LSNs of a batch this process has verified before (one its own WAL
 * holds): its first LSN and count from the header, with the header's shape
 * checked (rules 1 to 3) but not its CRC.  Never for bytes from outside:
 * they go through tidal_batch_decode.  TIDAL_ETRUNCATED, TIDAL_ECORRUPT or
 * TIDAL_EVERSION as tidal_batch_decode; on error nothing is written. */
int tidal_batch_span(const uint8_t *buf, size_t len, uint64_t *first_lsn, uint32_t *count)
    __attribute__((warn_unused_result));

#endif /* TIDAL_STORE_BATCH_H */
