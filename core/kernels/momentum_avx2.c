/*
 * momentum_avx2.c - the local part of a vote-mode Lion step with AVX2, eight
 * elements at a time, 64 (one word of sign bits) per round. Same operations
 * in the same order as momentum_scalar.c (two multiplies, then their sum; no
 * FMA: built with -ffp-contract=off and written with separate intrinsics;
 * the first product's NaN where both are NaN; a c of +-0 takes its bit of
 * k->zpat), so the results equal the scalar ones bit for bit.
 */
#include "kern.h"
#include "simd_avx2.h"

/* p + q, where p wins when both are NaN (the rule of momentum_scalar.c). */
static inline __m256 lc_avx2_add_first_nan(__m256 p, __m256 q)
{
    return _mm256_blendv_ps(_mm256_add_ps(p, q), p, _mm256_cmp_ps(p, p, _CMP_UNORD_Q));
}

/* Both entries: whole 64-element words here, the rest by the scalar code;
 * inlined with a constant gdt. */
static inline __attribute__((always_inline)) void
lc_avx2_momentum(float *m, const void *g, lc_dtype_t gdt, size_t n, const lc_kern_betas_t *k,
                 uint64_t *bits, float *c)
{
    const __m256 b1 = _mm256_set1_ps(k->b1), a1 = _mm256_set1_ps(k->a1);
    const __m256 b2 = _mm256_set1_ps(k->b2), a2 = _mm256_set1_ps(k->a2);
    const __m256 zero = _mm256_setzero_ps();
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = 0, zeros = 0;

        for (unsigned v = 0; v < 8; v++) {
            size_t i = wi * 64 + 8 * v;
            __m256 gv = gdt == LC_BF16 ? lc_avx2_load_bf16x8((const uint16_t *)g + i)
                                       : _mm256_loadu_ps((const float *)g + i);
            __m256 mv = _mm256_loadu_ps(m + i);
            __m256 cv = lc_avx2_add_first_nan(_mm256_mul_ps(b1, mv), _mm256_mul_ps(a1, gv));

            _mm256_storeu_ps(m + i,
                             lc_avx2_add_first_nan(_mm256_mul_ps(b2, mv), _mm256_mul_ps(a2, gv)));
            if (c)
                _mm256_storeu_ps(c + i, cv);
            else {
                word |= (uint64_t)(unsigned)_mm256_movemask_ps(cv) << (8 * v);
                zeros |= (uint64_t)(unsigned)_mm256_movemask_ps(
                             _mm256_cmp_ps(cv, zero, _CMP_EQ_OQ))
                         << (8 * v);
            }
        }
        if (!c)
            lc_kern_st64(bits + wi, (word & ~zeros) | (k->zpat & zeros));
    }
    lc_kern_momentum_rest_scalar(m, g, gdt, nw * 64, n, k, bits, c);
}

void lc_kern_momentum_fp32_avx2(float *m, const float *g, size_t n, const lc_kern_betas_t *k,
                                uint64_t *bits, float *c)
{
    lc_avx2_momentum(m, g, LC_FP32, n, k, bits, c);
}

void lc_kern_momentum_bf16_avx2(float *m, const uint16_t *g, size_t n, const lc_kern_betas_t *k,
                                uint64_t *bits, float *c)
{
    lc_avx2_momentum(m, g, LC_BF16, n, k, bits, c);
}
