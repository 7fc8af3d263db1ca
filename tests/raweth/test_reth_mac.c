/* test_reth_mac.c - the frame MAC against published vectors: AES-128 (FIPS-197 C.1),
 * POLYVAL (RFC 8452 appendix A), AEAD_AES_128_GCM_SIV's record keys and every tag of
 * RFC 8452 appendix C.1; each carry-less POLYVAL path and AES-NI against the portable code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "reth_mac.h"

/* RFC 8452 C.1: key, nonce, AAD, plaintext, tag (the ciphertext's last 16 bytes). */
static const struct {
    const char *key, *nonce, *aad, *pt, *tag;
} rfc8452_c1[] = {
#include "reth_mac_vectors.inc"
};

static void test_aes_fips197(void **state)
{
    uint8_t key[16], in[16], want[16], out[16];
    reth_aes128_t a;

    (void)state;
    lc_test_unhex("000102030405060708090a0b0c0d0e0f", key);
    lc_test_unhex("00112233445566778899aabbccddeeff", in);
    lc_test_unhex("69c4e0d86a7b0430d8cdb78070b4c55a", want);
    reth_aes128_init(&a, key);
    reth_aes128_encrypt_sw(&a, in, out);
    assert_memory_equal(out, want, 16);
    reth_aes128_encrypt(&a, in, out);
    assert_memory_equal(out, want, 16);
}

static void gf_bytes(const reth_gf128_t *x, uint8_t out[16])
{
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(x->lo >> (8 * i));
        out[8 + i] = (uint8_t)(x->hi >> (8 * i));
    }
}

static void test_polyval_rfc8452_a(void **state)
{
    uint8_t h[16], x[32], want[16], got[16];
    reth_polyval_key_t k;

    (void)state;
    lc_test_unhex("25629347589242761d31f826ba4b757b", h);
    lc_test_unhex("4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362", x);
    lc_test_unhex("f7a3b47b846119fae5b7866cf5e5b77e", want);
    reth_polyval_init(&k, h);
    for (int path = RETH_POLYVAL_SW; path <= RETH_POLYVAL_VCLMUL; path++) {
        reth_gf128_t s = {0, 0};

        if (reth_polyval_update_path(path, &k, &s, x, sizeof(x)) == -ENOTSUP)
            continue;
        gf_bytes(&s, got);
        assert_memory_equal(got, want, 16);
    }
}

static void test_record_keys(void **state)
{
    uint8_t key[16], nonce[12], want[16], got[16];
    reth_aes128_t enc;
    reth_mackey_t k;

    (void)state;
    lc_test_unhex(rfc8452_c1[0].key, key);
    lc_test_unhex(rfc8452_c1[0].nonce, nonce);
    reth_mackey_init(&k, key, nonce);
    lc_test_unhex("d9b360279694941ac5dbc6987ada7377", want);
    gf_bytes(&k.auth.pow[0], got);
    assert_memory_equal(got, want, 16);
    /* the record encryption key: compare its schedule with one expanded from the RFC's bytes */
    lc_test_unhex("4004a0dcd862f2a57360219d2d44ef6c", want);
    reth_aes128_init(&enc, want);
    assert_memory_equal(&enc, &k.enc, sizeof(enc));
}

static void test_tags_rfc8452_c1(void **state)
{
    (void)state;
    for (size_t v = 0; v < sizeof(rfc8452_c1) / sizeof(rfc8452_c1[0]); v++) {
        uint8_t key[16], nonce[12], aad[64], pt[64], want[16], tag[16];
        size_t na = lc_test_unhex(rfc8452_c1[v].aad, aad), np = lc_test_unhex(rfc8452_c1[v].pt, pt);
        reth_mackey_t k;

        lc_test_unhex(rfc8452_c1[v].key, key);
        lc_test_unhex(rfc8452_c1[v].nonce, nonce);
        lc_test_unhex(rfc8452_c1[v].tag, want);
        reth_mackey_init(&k, key, nonce);
        reth_mac_tag(&k, aad, na, pt, np, tag);
        if (memcmp(tag, want, 16))
            fail_msg("vector %zu: tag differs", v);
    }
}

/* The carry-less paths (16-block chunks and their tails) against the portable one-block
 * loop, at every length up to 600 bytes and at a jumbo frame's, from random states and keys;
 * a path this CPU lacks is reported and left out. */
static void test_polyval_paths_agree(void **state)
{
    static uint8_t data[9200];
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    (void)state;
    for (size_t i = 0; i < sizeof(data); i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    for (int path = RETH_POLYVAL_CLMUL; path <= RETH_POLYVAL_VCLMUL; path++) {
        for (size_t len = 0; len < sizeof(data); len = len < 600 ? len + 1 : len + 8500) {
            reth_polyval_key_t k;
            reth_gf128_t a = {x, ~x}, b = a;

            reth_polyval_init(&k, data + len % 64);
            assert_int_equal(reth_polyval_update_path(RETH_POLYVAL_SW, &k, &a, data + 1, len), 0);
            if (reth_polyval_update_path(path, &k, &b, data + 1, len) == -ENOTSUP) {
                print_message("POLYVAL path %d: not on this CPU\n", path);
                break;
            }
            if (a.lo != b.lo || a.hi != b.hi)
                fail_msg("path %d, length %zu: differs from the portable path", path, len);
            x = a.lo;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aes_fips197),
        cmocka_unit_test(test_polyval_rfc8452_a),
        cmocka_unit_test(test_record_keys),
        cmocka_unit_test(test_tags_rfc8452_c1),
        cmocka_unit_test(test_polyval_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
