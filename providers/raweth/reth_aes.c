/* reth_aes.c - AES-128 block encryption: the key schedule and rounds of FIPS-197 in
 * software, and the same rounds with AES-NI. */
#include <pthread.h>
#include <string.h>

#include "reth_aes.h"

static uint8_t reth_sbox[256];
static pthread_once_t reth_sbox_once = PTHREAD_ONCE_INIT;

static uint8_t reth_xtime(uint8_t x)
{
    return (uint8_t)((x << 1) ^ ((x >> 7) * 0x1b));
}

static uint8_t reth_rotl8(uint8_t x, int s)
{
    return (uint8_t)((x << s) | (x >> (8 - s)));
}

/* The S-box from its definition: the inverse in GF(2^8) (0 for 0), then the affine map.
 * Walks the powers of the generator 3 and of its inverse together. */
static void reth_sbox_make(void)
{
    uint8_t p = 1, q = 1;

    do {
        p = (uint8_t)(p ^ reth_xtime(p)); /* p *= 3 */
        q ^= (uint8_t)(q << 1);           /* q /= 3: q *= 0xf6 */
        q ^= (uint8_t)(q << 2);
        q ^= (uint8_t)(q << 4);
        if (q & 0x80)
            q ^= 0x09;
        reth_sbox[p] = (uint8_t)(q ^ reth_rotl8(q, 1) ^ reth_rotl8(q, 2) ^ reth_rotl8(q, 3) ^
                                 reth_rotl8(q, 4) ^ 0x63);
    } while (p != 1);
    reth_sbox[0] = 0x63;
}

void reth_aes128_init(reth_aes128_t *a, const uint8_t key[RETH_AES_BLOCK])
{
    uint8_t rcon = 1;

    pthread_once(&reth_sbox_once, reth_sbox_make);
    memcpy(a->rk[0], key, RETH_AES_BLOCK);
    for (int r = 1; r <= RETH_AES128_ROUNDS; r++) {
        const uint8_t *prev = a->rk[r - 1];
        uint8_t *k = a->rk[r];
        uint8_t t[4] = {reth_sbox[prev[13]], reth_sbox[prev[14]], reth_sbox[prev[15]],
                        reth_sbox[prev[12]]}; /* SubWord(RotWord(last word)) */

        t[0] ^= rcon;
        rcon = reth_xtime(rcon);
        for (int i = 0; i < 16; i++)
            k[i] = (uint8_t)(prev[i] ^ (i < 4 ? t[i] : k[i - 4]));
    }
}

void reth_aes128_encrypt_sw(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                            uint8_t out[RETH_AES_BLOCK])
{
    uint8_t s[16], t[16];

    for (int i = 0; i < 16; i++)
        s[i] = in[i] ^ a->rk[0][i];
    for (int r = 1; r <= RETH_AES128_ROUNDS; r++) {
        /* SubBytes and ShiftRows: byte i is row i % 4 of column i / 4 */
        for (int c = 0; c < 4; c++)
            for (int row = 0; row < 4; row++)
                t[4 * c + row] = reth_sbox[s[4 * ((c + row) & 3) + row]];
        if (r < RETH_AES128_ROUNDS) {
            for (int c = 0; c < 4; c++) { /* MixColumns */
                uint8_t *col = t + 4 * c, all = col[0] ^ col[1] ^ col[2] ^ col[3], c0 = col[0];

                col[0] ^= all ^ reth_xtime(col[0] ^ col[1]);
                col[1] ^= all ^ reth_xtime(col[1] ^ col[2]);
                col[2] ^= all ^ reth_xtime(col[2] ^ col[3]);
                col[3] ^= all ^ reth_xtime(col[3] ^ c0);
            }
        }
        for (int i = 0; i < 16; i++)
            s[i] = t[i] ^ a->rk[r][i];
    }
    memcpy(out, s, RETH_AES_BLOCK);
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("aes,sse2"))) static void
reth_aes128_encrypt_ni(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                       uint8_t out[RETH_AES_BLOCK])
{
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)in),
                              _mm_loadu_si128((const __m128i *)a->rk[0]));

    for (int r = 1; r < RETH_AES128_ROUNDS; r++)
        x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)a->rk[r]));
    x = _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)a->rk[RETH_AES128_ROUNDS]));
    _mm_storeu_si128((__m128i *)out, x);
}

void reth_aes128_encrypt(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                         uint8_t out[RETH_AES_BLOCK])
{
    if (__builtin_cpu_supports("aes"))
        reth_aes128_encrypt_ni(a, in, out);
    else
        reth_aes128_encrypt_sw(a, in, out);
}
#else
void reth_aes128_encrypt(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                         uint8_t out[RETH_AES_BLOCK])
{
    reth_aes128_encrypt_sw(a, in, out);
}
#endif
