/*
 * apply_avx2.c - the fused Lion update with AVX2, eight parameters at a time.
 * Same operations in the same order as apply_scalar.c (multiply, multiply,
 * subtract; no FMA: built with -ffp-contract=off and written with separate
 * intrinsics), so the results equal the scalar ones bit for bit.
 */
#include "kern.h"
#include "simd_avx2.h"

void lc_kern_apply_signs_fp32_avx2(float *param, const uint64_t *bits, size_t n, float decay,
                                   float lr)
{
    size_t nw = n / 64;
    const __m256 vd = _mm256_set1_ps(decay);
    const __m256i vlr = _mm256_castps_si256(_mm256_set1_ps(lr));

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 8; g++) {
            float *pp = param + wi * 64 + 8 * g;
            __m256i s = lc_avx2_bits_to_signs((uint32_t)(word >> (8 * g)) & 0xff);
            __m256 step = _mm256_castsi256_ps(_mm256_xor_si256(vlr, s));
            __m256 t = _mm256_mul_ps(_mm256_loadu_ps(pp), vd);

            _mm256_storeu_ps(pp, _mm256_sub_ps(t, step));
        }
    }
    lc_kern_apply_signs_fp32_scalar(param + nw * 64, bits + nw, n - nw * 64, decay, lr);
}

void lc_kern_apply_signs_bf16_avx2(uint16_t *param, const uint64_t *bits, size_t n, float decay,
                                   float lr)
{
    size_t nw = n / 64;
    const __m256 vd = _mm256_set1_ps(decay);
    const __m256i vlr = _mm256_castps_si256(_mm256_set1_ps(lr));

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 8; g += 2) {
            uint16_t *pp = param + wi * 64 + 8 * g;
            __m256i r[2];

            for (unsigned h = 0; h < 2; h++) {
                __m256i s = lc_avx2_bits_to_signs((uint32_t)(word >> (8 * (g + h))) & 0xff);
                __m256 step = _mm256_castsi256_ps(_mm256_xor_si256(vlr, s));
                __m256 t = _mm256_mul_ps(lc_avx2_load_bf16x8(pp + 8 * h), vd);

                r[h] = lc_avx2_bf16_round(_mm256_castps_si256(_mm256_sub_ps(t, step)));
            }
            lc_avx2_store_bf16x16(pp, r[0], r[1]);
        }
    }
    lc_kern_apply_signs_bf16_scalar(param + nw * 64, bits + nw, n - nw * 64, decay, lr);
}

void lc_kern_apply_update_fp32_avx2(float *param, const float *u, size_t n, float decay, float lr)
{
    size_t i = 0;
    const __m256 vd = _mm256_set1_ps(decay), vlr = _mm256_set1_ps(lr);

    for (; i + 8 <= n; i += 8) {
        __m256 t = _mm256_mul_ps(_mm256_loadu_ps(param + i), vd);
        __m256 step = _mm256_mul_ps(vlr, _mm256_loadu_ps(u + i));

        _mm256_storeu_ps(param + i, _mm256_sub_ps(t, step));
    }
    lc_kern_apply_update_fp32_scalar(param + i, u + i, n - i, decay, lr);
}

void lc_kern_apply_update_bf16_avx2(uint16_t *param, const float *u, size_t n, float decay,
                                    float lr)
{
    size_t i = 0;
    const __m256 vd = _mm256_set1_ps(decay), vlr = _mm256_set1_ps(lr);

    for (; i + 16 <= n; i += 16) {
        __m256i r[2];

        for (unsigned h = 0; h < 2; h++) {
            __m256 t = _mm256_mul_ps(lc_avx2_load_bf16x8(param + i + 8 * h), vd);
            __m256 step = _mm256_mul_ps(vlr, _mm256_loadu_ps(u + i + 8 * h));

            r[h] = lc_avx2_bf16_round(_mm256_castps_si256(_mm256_sub_ps(t, step)));
        }
        lc_avx2_store_bf16x16(param + i, r[0], r[1]);
    }
    lc_kern_apply_update_bf16_scalar(param + i, u + i, n - i, decay, lr);
}
