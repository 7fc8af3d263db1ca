/* reth_mac.c - the AES-GCM-SIV tag (RFC 8452 sections 4 and 5) without the encryption. */
#include <endian.h>
#include <string.h>

#include "reth_mac.h"

void reth_mackey_init(reth_mackey_t *k, const uint8_t key[RETH_MAC_KEY_LEN],
                      const uint8_t nonce[RETH_MAC_NONCE_LEN])
{
    uint8_t in[RETH_AES_BLOCK], out[4][RETH_AES_BLOCK], auth[RETH_AES_BLOCK], enc[RETH_AES_BLOCK];
    reth_aes128_t kgk;

    reth_aes128_init(&kgk, key);
    for (uint8_t i = 0; i < 4; i++) {
        memset(in, 0, 4);
        in[0] = i; /* little-endian 32-bit counter, then the nonce */
        memcpy(in + 4, nonce, RETH_MAC_NONCE_LEN);
        reth_aes128_encrypt(&kgk, in, out[i]);
    }
    memcpy(auth, out[0], 8);
    memcpy(auth + 8, out[1], 8);
    memcpy(enc, out[2], 8);
    memcpy(enc + 8, out[3], 8);
    reth_polyval_init(&k->auth, auth);
    reth_aes128_init(&k->enc, enc);
    memcpy(k->nonce, nonce, RETH_MAC_NONCE_LEN);
}

void reth_mackey_load(reth_mackey_t *k, const uint8_t key[RETH_MAC_KEY_LEN])
{
    static const uint8_t zero[RETH_MAC_NONCE_LEN];

    reth_mackey_init(k, key, zero);
}

void reth_mac_tag(const reth_mackey_t *k, const void *ad, size_t ad_len, const void *msg,
                  size_t msg_len, uint8_t tag[RETH_MAC_TAG_LEN])
{
    reth_gf128_t s = {0, 0};
    uint64_t bits[2] = {htole64((uint64_t)ad_len * 8), htole64((uint64_t)msg_len * 8)};
    uint8_t b[RETH_AES_BLOCK];

    reth_polyval_update(&k->auth, &s, ad, ad_len);
    reth_polyval_update(&k->auth, &s, msg, msg_len);
    reth_polyval_update(&k->auth, &s, bits, sizeof(bits));
    s.lo = htole64(s.lo);
    s.hi = htole64(s.hi);
    memcpy(b, &s, sizeof(b));
    for (int i = 0; i < RETH_MAC_NONCE_LEN; i++)
        b[i] ^= k->nonce[i];
    b[15] &= 0x7f;
    reth_aes128_encrypt(&k->enc, b, tag);
}
