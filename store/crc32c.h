/*
 * CRC32C (Castagnoli): the checksum of WAL batches.
 *
 * Reflected polynomial 0x82F63B78, initial value ~0, final xor ~0: the CRC of
 * iSCSI (RFC 3720), ext4 and LevelDB, so a batch can be checked with any of
 * their tools.  crc32c("123456789") = 0xE3069283.
 *
 * The value is on disk: both paths below must give the same result for every
 * input forever, and the tests compare them over every length and alignment.
 */
#ifndef TIDAL_STORE_CRC32C_H
#define TIDAL_STORE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The CRC32C of buf[0..len) continued from crc: pass 0 to start, and the
 * previous result to continue, so that crc32c(crc32c(0, a), b) equals the CRC
 * of a followed by b.  buf may be unaligned, and NULL when len is 0.  Uses
 * the SSE4.2 crc32 instruction when the CPU has it.  Cannot fail. */
uint32_t tidal_crc32c(uint32_t crc, const void *buf, size_t len);

/* The same, always with the portable table path (slicing-by-8); exposed so
 * tests can check the hardware path against it.  Cannot fail. */
uint32_t tidal_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* True when tidal_crc32c uses the CPU's crc32 instruction.  Cannot fail. */
bool tidal_crc32c_hw_available(void);

#endif /* TIDAL_STORE_CRC32C_H */
