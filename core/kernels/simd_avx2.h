/*
 * simd_avx2.h - small AVX2 helpers shared by the *_avx2.c files (only they
 * include it: it needs the AVX2 compile flags).
 */
#ifndef LC_SIMD_AVX2_H
#define LC_SIMD_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* fp32 bits to bf16 on 8 lanes, exactly lc_kern_bf16_round(): round to
 * nearest even, NaN quieted; the result is in the low 16 bits of each lane. */
static inline __m256i lc_avx2_bf16_round(__m256i x)
{
    __m256i hi = _mm256_srli_epi32(x, 16);
    __m256i r = _mm256_add_epi32(
        x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1))));
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)),
                                     _mm256_set1_epi32(0x7f800000));

    return _mm256_blendv_epi8(_mm256_srli_epi32(r, 16),
                              _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
}

/* Store 16 bf16 values, the low halves of the lanes of a (first 8) and b. */
static inline void lc_avx2_store_bf16x16(uint16_t *out, __m256i a, __m256i b)
{
    __m256i r = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);

    _mm256_storeu_si256((__m256i *)(void *)out, r);
}

/* Widen 8 bf16 values to fp32. */
static inline __m256 lc_avx2_load_bf16x8(const uint16_t *in)
{
    __m128i h = _mm_loadu_si128((const __m128i *)(const void *)in);

    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* Sign-bit masks (0x80000000 where set) of the 8 bits of byte `byte`. */
static inline __m256i lc_avx2_bits_to_signs(uint32_t byte)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);

    return _mm256_slli_epi32(_mm256_srlv_epi32(_mm256_set1_epi32((int)byte), lane), 31);
}

#endif
