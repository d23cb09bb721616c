/*
 * The in-memory ceiling of docs/measurements.md, shared by the benchmarks: a
 * hand-rolled msgpack envelope of seven fields (the ceiling's and raw nng's
 * message) and a lock-free single-producer / single-consumer ring that moves
 * envelopes between two threads, encoding and decoding each one.  Several
 * rings can run at once, one producer and one consumer thread each, to show
 * how far plain memory scales with cores beside the runtime.
 */
#ifndef TIDAL_BENCH_RING_H
#define TIDAL_BENCH_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A msgpack envelope of seven fields, as docs/measurements.md measured it:
 * [version, type, from str, to str, id, hlc uint64, payload bin].
 * Encoded with msgpack-c's packer, decoded with msgpack_unpack_next. */
#define BENCH_ENV_BYTES_MAX 128u
#define BENCH_PAYLOAD_BYTES 64u

/* Encodes one envelope into out (BENCH_ENV_BYTES_MAX bytes).  Returns its
 * length, or 0 if it did not fit. */
size_t bench_env_encode(uint8_t *out, uint64_t id, uint64_t hlc, const uint8_t *payload);

/* A decoder that reuses one msgpack_unpacked between calls. */
typedef struct bench_env_decoder bench_env_decoder;
bench_env_decoder *bench_env_decoder_new(void);
void bench_env_decoder_free(bench_env_decoder *d);
/* Decodes buf; true if it is a seven-field envelope with a 64-byte payload.
 * *id gets its id. */
bool bench_env_decode(bench_env_decoder *d, const uint8_t *buf, size_t len, uint64_t *id);

/* The most rings bench_ring_pairs_run runs at once (2 threads each). */
#define BENCH_RING_PAIRS_MAX 256u

/* Runs pairs rings at once (1..BENCH_RING_PAIRS_MAX), each moving n envelopes
 * from its producer thread (encode) to its consumer thread (decode and check
 * ids arrive 1..n in order).  Returns the nanoseconds from just before all
 * threads are released until the last one finished; *received gets how many
 * the consumers accepted in all (pairs * n unless something is broken).
 * Exits with status 1 if a thread cannot be started. */
uint64_t bench_ring_pairs_run(uint32_t pairs, uint64_t n, uint64_t *received);

/* One ring: bench_ring_pairs_run(1, n, received). */
uint64_t bench_ceiling_run(uint64_t n, uint64_t *received);

#endif /* TIDAL_BENCH_RING_H */
