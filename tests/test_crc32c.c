/*
 * CRC32C: published vectors, the hardware path against the table path and
 * against a bit-at-a-time reference over every length and misalignment, and
 * incremental use.  The value is on disk, so any disagreement is a format bug.
 */
#include "tidal_test.h"

#include <stdlib.h>
#include <string.h>

#include "store/crc32c.h"

TIDAL_SUITE(crc32c);

/* The definition, one bit at a time: too slow for use, too simple to be wrong. */
static uint32_t
crc32c_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        }
    }
    return ~crc;
}

static void
fill_random(unsigned char *p, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++) {
        p[i] = (unsigned char)(tidal_test_rand(&seed) >> 56);
    }
}

static void
check_vector(const void *buf, size_t len, uint32_t want, const char *what)
{
    uint32_t hw = tidal_crc32c(0, buf, len);
    uint32_t sw = tidal_crc32c_sw(0, buf, len);
    uint32_t ref = crc32c_bitwise(0, buf, len);
    cr_assert_eq(hw, want, "%s: tidal_crc32c = 0x%08X, expected 0x%08X", what, hw, want);
    cr_assert_eq(sw, want, "%s: tidal_crc32c_sw = 0x%08X, expected 0x%08X", what, sw, want);
    cr_assert_eq(ref, want, "%s: reference = 0x%08X, expected 0x%08X", what, ref, want);
}

Test(crc32c, reports_which_path_it_uses)
{
    cr_log_info("crc32c hardware path: %s", tidal_crc32c_hw_available() ? "sse4.2" : "none");
#if defined(__x86_64__)
    /* Every x86-64 made since 2009 has SSE4.2; say so if this one does not. */
    if (!tidal_crc32c_hw_available()) {
        cr_log_info("no SSE4.2: hardware == software tests compare the table path to itself");
    }
#endif
}

Test(crc32c, known_vectors)
{
    unsigned char b[32];

    check_vector(NULL, 0, 0x00000000u, "empty");
    check_vector("a", 1, 0xC1D04330u, "a");
    check_vector("123456789", 9, 0xE3069283u, "123456789");

    /* RFC 3720, appendix B.4. */
    memset(b, 0x00, sizeof(b));
    check_vector(b, sizeof(b), 0x8A9136AAu, "32 zeros");
    memset(b, 0xFF, sizeof(b));
    check_vector(b, sizeof(b), 0x62A8AB43u, "32 x 0xFF");
    for (int i = 0; i < 32; i++) {
        b[i] = (unsigned char)i;
    }
    check_vector(b, sizeof(b), 0x46DD794Eu, "00..1f");
    for (int i = 0; i < 32; i++) {
        b[i] = (unsigned char)(31 - i);
    }
    check_vector(b, sizeof(b), 0x113FDB5Cu, "1f..00");

    static const unsigned char read10[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    check_vector(read10, sizeof(read10), 0xD9963A56u, "iSCSI SCSI Read (10) PDU");
}

Test(crc32c, empty_input_returns_the_running_value)
{
    cr_assert_eq(tidal_crc32c(0xDEADBEEFu, NULL, 0), 0xDEADBEEFu);
    cr_assert_eq(tidal_crc32c_sw(0xDEADBEEFu, NULL, 0), 0xDEADBEEFu);
    cr_assert_eq(tidal_crc32c(0xDEADBEEFu, "x", 0), 0xDEADBEEFu);
}

Test(crc32c, hardware_equals_software_for_every_length_and_misalignment)
{
    enum { LEN_MAX = 1024, SHIFT_MAX = 7 };
    /* Heap memory so ASan catches any read past buf + len. */
    unsigned char *src = malloc(LEN_MAX + SHIFT_MAX);
    cr_assert_not_null(src);
    fill_random(src, LEN_MAX + SHIFT_MAX, 0x63726333326321ull);

    for (size_t shift = 0; shift <= SHIFT_MAX; shift++) {
        for (size_t len = 0; len <= LEN_MAX; len++) {
            /* An exact-size copy: reading one byte too many is an ASan error.
             * (+1 only when empty: malloc(0) may return NULL.) */
            unsigned char *buf = malloc(len + shift + (len + shift == 0));
            cr_assert_not_null(buf);
            memcpy(buf + shift, src + shift, len);
            uint32_t ref = crc32c_bitwise(0, buf + shift, len);
            uint32_t hw = tidal_crc32c(0, buf + shift, len);
            uint32_t sw = tidal_crc32c_sw(0, buf + shift, len);
            free(buf);
            cr_assert_eq(hw, ref, "hw len %zu shift %zu: 0x%08X != 0x%08X", len, shift, hw, ref);
            cr_assert_eq(sw, ref, "sw len %zu shift %zu: 0x%08X != 0x%08X", len, shift, sw, ref);
        }
    }
    free(src);
}

Test(crc32c, hardware_equals_software_on_a_large_buffer)
{
    size_t len = 4u << 20;
    unsigned char *buf = malloc(len);
    cr_assert_not_null(buf);
    fill_random(buf, len, 42);
    uint32_t hw = tidal_crc32c(0, buf, len);
    uint32_t sw = tidal_crc32c_sw(0, buf, len);
    free(buf);
    cr_assert_eq(hw, sw, "0x%08X != 0x%08X", hw, sw);
}

Test(crc32c, incremental_pieces_equal_one_shot)
{
    enum { LEN = 4096 };
    static unsigned char buf[LEN];
    fill_random(buf, LEN, 7);
    uint32_t whole = tidal_crc32c(0, buf, LEN);
    cr_assert_eq(tidal_crc32c_sw(0, buf, LEN), whole);

    /* One byte at a time. */
    uint32_t hw = 0;
    uint32_t sw = 0;
    for (size_t i = 0; i < LEN; i++) {
        hw = tidal_crc32c(hw, buf + i, 1);
        sw = tidal_crc32c_sw(sw, buf + i, 1);
    }
    cr_assert_eq(hw, whole);
    cr_assert_eq(sw, whole);

    /* Random pieces, mixing the two paths: they share one running value. */
    uint64_t seed = 99;
    for (int round = 0; round < 200; round++) {
        uint32_t crc = 0;
        size_t off = 0;
        while (off < LEN) {
            uint64_t r = tidal_test_rand(&seed);
            size_t piece = (size_t)(r % 300);
            if (piece > LEN - off) {
                piece = LEN - off;
            }
            crc = (r >> 32) & 1 ? tidal_crc32c(crc, buf + off, piece)
                                : tidal_crc32c_sw(crc, buf + off, piece);
            off += piece;
        }
        cr_assert_eq(crc, whole, "round %d: 0x%08X != 0x%08X", round, crc, whole);
    }
}

Test(crc32c, detects_every_single_bit_flip)
{
    enum { LEN = 256 };
    unsigned char buf[LEN];
    fill_random(buf, LEN, 5);
    uint32_t good = tidal_crc32c(0, buf, LEN);

    for (size_t bit = 0; bit < LEN * 8; bit++) {
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        cr_assert_neq(tidal_crc32c(0, buf, LEN), good, "flip of bit %zu went unseen", bit);
        buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
}
