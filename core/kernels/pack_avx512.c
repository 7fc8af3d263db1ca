/*
 * pack_avx512.c - sign packing and unpacking with AVX-512: saturating packs
 * and vpmovb2m (fp32) or vpmovw2m (16-bit) read the sign bits into mask
 * registers, and masked moves turn bits back into +1/-1.
 */
#include "kern.h"
#include "simd_avx512.h"

/* Sign bits of 64 fp32 values, in order. Signed saturating packs keep each
 * sign in a byte (port 5), one vpmovb2m reads all 64 (port 0): fewer port-0
 * instructions than four vpmovd2m and their mask moves. The packs interleave
 * 128-bit lanes, so dword 4l+s holds elements 4l..4l+3 of source s; the
 * permutation puts them back in order. */
static inline uint64_t lc_avx512_signs64(const float *s, __m512i order)
{
    __m512i a = _mm512_loadu_si512((const void *)s);
    __m512i b = _mm512_loadu_si512((const void *)(s + 16));
    __m512i c = _mm512_loadu_si512((const void *)(s + 32));
    __m512i d = _mm512_loadu_si512((const void *)(s + 48));
    __m512i x = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));

    return _cvtmask64_u64(_mm512_movepi8_mask(_mm512_permutexvar_epi32(order, x)));
}

void lc_kern_pack_fp32_avx512(const float *x, size_t n, uint64_t *bits)
{
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++)
        lc_kern_st64(bits + wi, lc_avx512_signs64(x + wi * 64, order));
    lc_kern_pack_fp32_scalar(x + nw * 64, n - nw * 64, bits + nw);
}

void lc_kern_pack_16_avx512(const uint16_t *x, size_t n, uint64_t *bits)
{
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        const uint16_t *s = x + wi * 64;
        uint64_t lo = _mm512_movepi16_mask(_mm512_loadu_si512((const void *)s));
        uint64_t hi = _mm512_movepi16_mask(_mm512_loadu_si512((const void *)(s + 32)));

        lc_kern_st64(bits + wi, lo | hi << 32);
    }
    lc_kern_pack_16_scalar(x + nw * 64, n - nw * 64, bits + nw);
}

void lc_kern_unpack_fp32_avx512(const uint64_t *bits, size_t n, float *out)
{
    size_t nw = n / 64;
    const __m512i one = _mm512_set1_epi32(0x3f800000);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 4; g++) {
            __m512i v = _mm512_mask_or_epi32(one, (__mmask16)(word >> (16 * g)), one, sign);

            _mm512_storeu_si512((void *)(out + wi * 64 + 16 * g), v);
        }
    }
    lc_kern_unpack_fp32_scalar(bits + nw, n - nw * 64, out + nw * 64);
}

void lc_kern_unpack_16_avx512(const uint64_t *bits, size_t n, uint16_t one, uint16_t *out)
{
    size_t nw = n / 64;
    const __m512i vone = _mm512_set1_epi16((short)one);
    const __m512i vneg = _mm512_set1_epi16((short)(one | 0x8000));

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 2; g++) {
            __m512i v = _mm512_mask_mov_epi16(vone, (__mmask32)(word >> (32 * g)), vneg);

            _mm512_storeu_si512((void *)(out + wi * 64 + 32 * g), v);
        }
    }
    lc_kern_unpack_16_scalar(bits + nw, n - nw * 64, one, out + nw * 64);
}
