/*
 * levels_avx512.c - level accumulation and the sum-sign decode with AVX-512.
 *
 * Accumulation reads 16 levels (16*b bits = 2b bytes) with one 16-byte load
 * broadcast to the four 128-bit lanes; a byte shuffle moves the two bytes
 * holding level j into 32-bit lane j, a variable shift aligns it and a shift
 * pair sign-extends it. Loads stay inside the packed buffer; the rest goes to
 * the scalar code from a 64-level boundary.
 */
#include "kern.h"
#include "simd_avx512.h"

void lc_kern_levels_accumulate_avx512(const uint64_t *packed, size_t n, unsigned b,
                                      int32_t *sums)
{
    size_t nbytes = LC_BITS_WORDS(n * b) * 8, i = 0;
    const uint8_t *src = (const uint8_t *)packed;
    int8_t ctl[64];
    int32_t sh[16];

    for (unsigned j = 0; j < 16; j++) {
        unsigned byte = j * b / 8;
        int8_t *c = ctl + 4 * j; /* lane j lies in 128-bit lane j / 4, all holding the load */

        sh[j] = (int32_t)(j * b % 8);
        c[0] = (int8_t)byte;
        /* byte 15 is only ever the last level's sole byte (j = 15, b = 8) */
        c[1] = byte + 1 < 16 ? (int8_t)(byte + 1) : (int8_t)0x80;
        c[2] = (int8_t)0x80;
        c[3] = (int8_t)0x80;
    }
    const __m512i vctl = _mm512_loadu_si512((const void *)ctl);
    const __m512i vsh = _mm512_loadu_si512((const void *)sh);
    const unsigned ext = 32 - b;

    for (; i + 64 <= n && (i + 48) * b / 8 + 16 <= nbytes; i += 64)
        for (size_t e = i; e < i + 64; e += 16) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(src + e * b / 8));
            __m512i v = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(raw), vctl);

            v = _mm512_srlv_epi32(v, vsh);
            v = _mm512_srai_epi32(_mm512_slli_epi32(v, ext), ext);
            _mm512_storeu_si512((void *)(sums + e),
                                _mm512_add_epi32(_mm512_loadu_si512((const void *)(sums + e)), v));
        }
    lc_kern_levels_accumulate_scalar(packed + i * b / 64, n - i, b, sums + i);
}

void lc_kern_decode_sum_sign_avx512(const int32_t *sums, size_t n, uint64_t tiepat,
                                    uint64_t *bits)
{
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t neg = 0, zer = 0;

        for (unsigned g = 0; g < 4; g++) {
            __m512i v = _mm512_loadu_si512((const void *)(sums + wi * 64 + 16 * g));

            neg |= (uint64_t)_mm512_movepi32_mask(v) << (16 * g);
            zer |= (uint64_t)_mm512_testn_epi32_mask(v, v) << (16 * g);
        }
        lc_kern_st64(bits + wi, neg | (zer & tiepat));
    }
    lc_kern_decode_sum_sign_scalar(sums + nw * 64, n - nw * 64, tiepat, bits + nw);
}
