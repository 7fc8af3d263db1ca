/*
 * test_sec_vectors.c - SHA-256 against FIPS 180-4's examples, HMAC-SHA-256
 * against RFC 4231 (test cases 1, 2, 3, 4, 6, 7) and HKDF-SHA-256 against
 * RFC 5869 (test cases 1, 2, 3); lc_prov_derive's argument checks, and the
 * job key schedule's separation of jobs and purposes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sec/sec.h"

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
    uint8_t w[256];

    assert_int_equal(lc_test_unhex(want, w), len);
    assert_memory_equal(got, w, len);
}

static void sha(const void *m, size_t len, uint8_t out[32])
{
    lc_sha256_t s;

    lc_sha256_init(&s);
    lc_sha256_update(&s, m, len);
    lc_sha256_final(&s, out);
}

static void test_sha256(void **state)
{
    static char million[1000000];
    uint8_t d[32];
    lc_sha256_t s;

    sha("", 0, d);
    assert_hex(d, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha("abc", 3, d);
    assert_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
    assert_hex(d, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(million, 'a', sizeof(million));
    sha(million, sizeof(million), d);
    assert_hex(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* the same in uneven pieces */
    lc_sha256_init(&s);
    for (size_t o = 0, k = 1; o < sizeof(million); o += k, k = k * 7 % 997 + 1)
        lc_sha256_update(&s, million + o, o + k > sizeof(million) ? sizeof(million) - o : k);
    lc_sha256_final(&s, d);
    assert_hex(d, 32, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void hmac(const char *keyhex, const void *data, size_t len, uint8_t out[32])
{
    uint8_t key[256];
    size_t kl = lc_test_unhex(keyhex, key);
    lc_iov_c_t part = {data, len};

    lc_hmac_sha256(key, kl, &part, 1, out);
}

static void test_hmac_rfc4231(void **state)
{
    uint8_t d[32], data[64];
    char k131[2 * 131 + 1];
    const char *t7 = "This is a test using a larger than block-size key and a larger than "
                     "block-size data. The key needs to be hashed before being used by the HMAC "
                     "algorithm.";

    memset(k131, 'a', 2 * 131);
    k131[2 * 131] = 0;
    hmac("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", 8, d);
    assert_hex(d, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac("4a656665", "what do ya want for nothing?", 28, d);
    assert_hex(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(data, 0xdd, 50);
    hmac("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", data, 50, d);
    assert_hex(d, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    memset(data, 0xcd, 50);
    hmac("0102030405060708090a0b0c0d0e0f10111213141516171819", data, 50, d);
    assert_hex(d, 32, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
    hmac(k131, "Test Using Larger Than Block-Size Key - Hash Key First", 54, d);
    assert_hex(d, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    hmac(k131, t7, strlen(t7), d);
    assert_hex(d, 32, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
    /* data split in parts gives the same MAC */
    {
        uint8_t key[4] = {0x4a, 0x65, 0x66, 0x65};
        lc_iov_c_t parts[3] = {{"what do", 7}, {"", 0}, {" ya want for nothing?", 21}};
        lc_hmac_sha256(key, 4, parts, 3, d);
        assert_hex(d, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}

static void hkdf_case(const char *ikm_h, const char *salt_h, const char *info_h,
                      const char *prk_h, size_t L, const char *okm_h)
{
    uint8_t ikm[128], salt[128], info[128], prk[32], okm[128];
    size_t il = lc_test_unhex(ikm_h, ikm), sl = lc_test_unhex(salt_h, salt), nl = lc_test_unhex(info_h, info);

    lc_hkdf_extract(sl ? salt : NULL, sl, ikm, il, prk);
    assert_hex(prk, 32, prk_h);
    assert_int_equal(lc_hkdf_expand(prk, info, nl, okm, L), 0);
    assert_hex(okm, L, okm_h);
}

static void test_hkdf_rfc5869(void **state)
{
    uint8_t prk[32] = {0}, out[8];

    hkdf_case("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
              "f0f1f2f3f4f5f6f7f8f9",
              "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5", 42,
              "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    hkdf_case("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728"
              "292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
              "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788"
              "898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
              "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8"
              "d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
              "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244", 82,
              "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb"
              "41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
    hkdf_case("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
              "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04", 42,
              "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    /* too long an output is refused */
    assert_int_equal(lc_hkdf_expand(prk, "", 0, out, 255 * 32 + 1), -EINVAL);
}

static void test_prov_derive(void **state)
{
    uint8_t key[32] = {1}, a[16], b[16], c[16], prk_out[64];

    assert_int_equal(lc_prov_derive(key, "x", "ab", 2, a, 16), 0);
    assert_int_equal(lc_prov_derive(key, "x", "ab", 2, b, 16), 0);
    assert_memory_equal(a, b, 16);
    /* the label ends where its NUL is: ("x", "ab") and ("xa", "b") differ */
    assert_int_equal(lc_prov_derive(key, "xa", "b", 1, c, 16), 0);
    assert_memory_not_equal(a, c, 16);
    /* HKDF-Expand with info = label NUL ctx */
    assert_int_equal(lc_hkdf_expand(key, "x\0ab", 4, c, 16), 0);
    assert_memory_equal(a, c, 16);
    assert_int_equal(lc_prov_derive(key, "x", NULL, 0, prk_out, 64), 0);
    assert_int_equal(lc_prov_derive(NULL, "x", NULL, 0, a, 16), -EINVAL);
    assert_int_equal(lc_prov_derive(key, NULL, NULL, 0, a, 16), -EINVAL);
    assert_int_equal(lc_prov_derive(key, "x", NULL, 3, a, 16), -EINVAL);
    assert_int_equal(lc_prov_derive(key, "x", NULL, 0, a, 65), -EINVAL);
    assert_int_equal(lc_prov_derive(key, "x", NULL, 0, a, 0), -EINVAL);
}

static void test_job_keys(void **state)
{
    lc_job_keys_t k1, k2, k0, k0b;

    lc_job_keys("secret", 6, &k1);
    lc_job_keys("secreT", 6, &k2);
    lc_job_keys(NULL, 0, &k0);
    lc_job_keys(NULL, 0, &k0b);
    assert_int_equal(k0.job_id, 0);
    assert_true(k1.job_id != 0 && k1.job_id != k2.job_id);
    assert_memory_not_equal(k1.boot, k2.boot, 32);
    assert_memory_not_equal(k1.boot, k1.prov, 32);
    assert_memory_not_equal(k1.prov, k2.prov, 32);
    assert_memory_equal(k0.prov, k0b.prov, 32);
    assert_int_equal(lc_ct_diff(k1.boot, k1.boot, 32), 0);
    assert_int_not_equal(lc_ct_diff(k1.boot, k2.boot, 32), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),       cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_hkdf_rfc5869), cmocka_unit_test(test_prov_derive),
        cmocka_unit_test(test_job_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
