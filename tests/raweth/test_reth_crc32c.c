/* test_reth_crc32c.c - CRC32C against RFC 3720 B.4 vectors; table and SSE4.2 paths agree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "reth_crc32c.h"

/* Bit-at-a-time reference, written from the polynomial definition. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

static void test_rfc3720_vectors(void **state)
{
    uint8_t buf[32];

    memset(buf, 0, 32);
    assert_int_equal(reth_crc32c(0, buf, 32), 0x8A9136AAu);
    assert_int_equal(reth_crc32c_sw(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, 32);
    assert_int_equal(reth_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(reth_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(reth_crc32c(0, buf, 32), 0x113FDB5Cu);
    assert_int_equal(reth_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(reth_crc32c(0, "", 0), 0u);
}

static void test_paths_agree(void **state)
{
    enum { N = 4096 };
    uint8_t *buf = malloc(N + 8);

    assert_non_null(buf);
    srand(12345);
    for (int i = 0; i < N + 8; i++)
        buf[i] = (uint8_t)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 300; len += 1 + len / 16) {
            uint32_t want = ref_crc32c(buf + off, len);
            assert_int_equal(reth_crc32c_sw(0, buf + off, len), want);
            assert_int_equal(reth_crc32c_hw(0, buf + off, len), want);
            assert_int_equal(reth_crc32c(0, buf + off, len), want);
        }
    /* Continuing a CRC over a split buffer equals one pass. */
    for (size_t cut = 0; cut <= N; cut += 333)
        assert_int_equal(reth_crc32c(reth_crc32c(0, buf, cut), buf + cut, N - cut),
                         ref_crc32c(buf, N));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
