/*
 * simd_avx512.h - small AVX-512 helpers shared by the *_avx512.c files (only
 * they include it: it needs the AVX-512 F/BW/VL/DQ compile flags).
 */
#ifndef LC_SIMD_AVX512_H
#define LC_SIMD_AVX512_H

#include <immintrin.h>
#include <stdint.h>

/* fp32 bits to bf16 on 16 lanes, exactly lc_kern_bf16_round() (round to
 * nearest even, NaN quieted), narrowed to 16 bf16 values. */
static inline __m256i lc_avx512_bf16_round(__m512i x)
{
    __m512i hi = _mm512_srli_epi32(x, 16);
    __m512i r = _mm512_add_epi32(
        x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1))));
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));

    r = _mm512_mask_mov_epi32(_mm512_srli_epi32(r, 16), nan,
                              _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
    return _mm512_cvtepi32_epi16(r);
}

/* Widen 16 bf16 values to fp32. */
static inline __m512 lc_avx512_load_bf16x16(const uint16_t *in)
{
    __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)in);

    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

#endif
