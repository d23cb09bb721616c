/* The hot-path envelope encoder writes exactly what msgpack-c's packer
 * writes, for every integer, string, binary and array width. */
#include <stdlib.h>
#include <string.h>

#include "messages/envelope.h"
#include "tidal/limits.h"
#include "tidal_test.h"

TIDAL_SUITE(envelope_writer);

static void
assert_same_bytes(const tidal_envelope *e)
{
    tidal_buf fast, ref;
    tidal_buf_init(&fast);
    tidal_buf_init(&ref);
    msgpack_packer pk;
    tidal_buf_packer(&ref, &pk);
    TIDAL_PASS(tidal_envelope_encode(e, &fast));
    TIDAL_PASS(tidal_envelope_pack(&pk, e));
    cr_assert_eq(fast.len, ref.len, "lengths %zu vs %zu", fast.len, ref.len);
    cr_assert(memcmp(fast.data, ref.data, fast.len) == 0, "bytes differ");
    tidal_envelope d;
    TIDAL_PASS(tidal_envelope_decode_exact(fast.data, fast.len, &d, NULL));
    cr_assert_eq(d.id, e->id);
    cr_assert_eq(d.corr, e->corr);
    cr_assert_eq(d.payload.len, e->payload.len);
    tidal_buf_fini(&fast);
    tidal_buf_fini(&ref);
}

Test(envelope_writer, every_width_matches_msgpack_c)
{
    static const uint64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ull,
                                    4294967296ull, UINT64_MAX};
    static const uint32_t lens[] = {0, 1, 31, 32, 47};
    static const uint32_t keys[] = {0, 1, 15, 16};
    static const uint32_t payloads[] = {0, 1, 255, 256, 65535, 65536, TIDAL_PAYLOAD_BYTES_MAX};
    static uint8_t bytes[TIDAL_PAYLOAD_BYTES_MAX];
    char url[TIDAL_URL_BYTES_MAX];
    memset(bytes, 'x', sizeof(bytes));
    memset(url, 'u', sizeof(url));
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        for (size_t n = 1; n < sizeof(lens) / sizeof(lens[0]); n++) {
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
                tidal_envelope e = {
                    .type = (uint16_t)(ints[i] > 65535 || ints[i] == 0 ? 1000 : ints[i] < 1000 ? 1 : ints[i]),
                    .flags = TIDAL_ENV_F_REPLY,
                    .from_name = {bytes, lens[n]},
                    .from_key = {bytes, keys[k]},
                    .to_name = {bytes, lens[n]},
                    .to_key = {bytes, keys[k]},
                    .id = ints[i],
                    .hlc = {ints[i], (uint32_t)ints[i], (uint16_t)ints[i]},
                    .payload = {bytes, payloads[i % (sizeof(payloads) / sizeof(payloads[0]))]},
                    .has_reply = (i + k) % 2 == 0,
                    .reply_url = {(const uint8_t *)url, (uint32_t)(1 + (i * 13) % 127)},
                    .reply_name = {bytes, lens[n]},
                    .reply_key = {bytes, keys[k]},
                    .corr = ints[(i + 3) % (sizeof(ints) / sizeof(ints[0]))],
                };
                assert_same_bytes(&e);
            }
        }
    }
}

Test(envelope_writer, refuses_what_the_packer_refuses_and_leaves_out_unchanged)
{
    uint8_t name[TIDAL_NAME_BYTES_MAX] = {0};
    tidal_envelope e = {.type = 1000, .from_name = {name, 1}, .to_name = {name, 1}};
    tidal_buf b;
    tidal_buf_init(&b);
    TIDAL_PASS(tidal_envelope_encode(&e, &b));
    size_t len = b.len;
    e.to_name.len = TIDAL_NAME_BYTES_MAX; /* one past the longest name */
    TIDAL_FAIL(tidal_envelope_encode(&e, &b), TIDAL_EINVAL);
    cr_assert_eq(b.len, len);
    tidal_buf_fini(&b);
}
