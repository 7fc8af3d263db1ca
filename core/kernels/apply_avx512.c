/*
 * apply_avx512.c - the fused Lion update with AVX-512, 16 parameters at a
 * time. Same operations in the same order as apply_scalar.c (multiply,
 * multiply, subtract; no FMA: built with -ffp-contract=off and written with
 * separate intrinsics), so the results equal the scalar ones bit for bit.
 */
#include "kern.h"
#include "simd_avx512.h"

void lc_kern_apply_signs_fp32_avx512(float *param, const uint64_t *bits, size_t n, float decay,
                                     float lr)
{
    size_t nw = n / 64;
    const __m512 vd = _mm512_set1_ps(decay);
    const __m512i vlr = _mm512_castps_si512(_mm512_set1_ps(lr));
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 4; g++) {
            float *pp = param + wi * 64 + 16 * g;
            __mmask16 m = (__mmask16)(word >> (16 * g));
            __m512 step = _mm512_castsi512_ps(_mm512_mask_xor_epi32(vlr, m, vlr, sign));
            __m512 t = _mm512_mul_ps(_mm512_loadu_ps(pp), vd);

            _mm512_storeu_ps(pp, _mm512_sub_ps(t, step));
        }
    }
    lc_kern_apply_signs_fp32_scalar(param + nw * 64, bits + nw, n - nw * 64, decay, lr);
}

void lc_kern_apply_signs_bf16_avx512(uint16_t *param, const uint64_t *bits, size_t n, float decay,
                                     float lr)
{
    size_t nw = n / 64;
    const __m512 vd = _mm512_set1_ps(decay);
    const __m512i vlr = _mm512_castps_si512(_mm512_set1_ps(lr));
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 4; g++) {
            uint16_t *pp = param + wi * 64 + 16 * g;
            __mmask16 m = (__mmask16)(word >> (16 * g));
            __m512 step = _mm512_castsi512_ps(_mm512_mask_xor_epi32(vlr, m, vlr, sign));
            __m512 t = _mm512_mul_ps(lc_avx512_load_bf16x16(pp), vd);

            _mm256_storeu_si256((__m256i *)(void *)pp,
                                lc_avx512_bf16_round(_mm512_castps_si512(_mm512_sub_ps(t, step))));
        }
    }
    lc_kern_apply_signs_bf16_scalar(param + nw * 64, bits + nw, n - nw * 64, decay, lr);
}

void lc_kern_apply_update_fp32_avx512(float *param, const float *u, size_t n, float decay, float lr)
{
    size_t i = 0;
    const __m512 vd = _mm512_set1_ps(decay), vlr = _mm512_set1_ps(lr);

    for (; i + 16 <= n; i += 16) {
        __m512 t = _mm512_mul_ps(_mm512_loadu_ps(param + i), vd);
        __m512 step = _mm512_mul_ps(vlr, _mm512_loadu_ps(u + i));

        _mm512_storeu_ps(param + i, _mm512_sub_ps(t, step));
    }
    lc_kern_apply_update_fp32_scalar(param + i, u + i, n - i, decay, lr);
}

void lc_kern_apply_update_bf16_avx512(uint16_t *param, const float *u, size_t n, float decay,
                                      float lr)
{
    size_t i = 0;
    const __m512 vd = _mm512_set1_ps(decay), vlr = _mm512_set1_ps(lr);

    for (; i + 16 <= n; i += 16) {
        __m512 t = _mm512_mul_ps(lc_avx512_load_bf16x16(param + i), vd);
        __m512 step = _mm512_mul_ps(vlr, _mm512_loadu_ps(u + i));

        _mm256_storeu_si256((__m256i *)(void *)(param + i),
                            lc_avx512_bf16_round(_mm512_castps_si512(_mm512_sub_ps(t, step))));
    }
    lc_kern_apply_update_bf16_scalar(param + i, u + i, n - i, decay, lr);
}
