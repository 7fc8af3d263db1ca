/*
 * momentum_avx512.c - the local part of a vote-mode Lion step with AVX-512,
 * 16 elements at a time, 64 (one word of sign bits) per round. Same
 * operations in the same order as momentum_scalar.c (two multiplies, then
 * their sum; no FMA: built with -ffp-contract=off and written with separate
 * intrinsics; the first product's NaN where both are NaN; a c of +-0 takes
 * its bit of k->zpat), so the results equal the scalar ones bit for bit.
 */
#include "kern.h"
#include "simd_avx512.h"

/* p + q, where p wins when both are NaN (the rule of momentum_scalar.c). */
static inline __m512 lc_avx512_add_first_nan(__m512 p, __m512 q)
{
    return _mm512_mask_mov_ps(_mm512_add_ps(p, q), _mm512_cmp_ps_mask(p, p, _CMP_UNORD_Q), p);
}

/* Both entries: whole 64-element words here, the rest by the scalar code;
 * inlined with a constant gdt. */
static inline __attribute__((always_inline)) void
lc_avx512_momentum(float *m, const void *g, lc_dtype_t gdt, size_t n, const lc_kern_betas_t *k,
                   uint64_t *bits, float *c)
{
    const __m512 b1 = _mm512_set1_ps(k->b1), a1 = _mm512_set1_ps(k->a1);
    const __m512 b2 = _mm512_set1_ps(k->b2), a2 = _mm512_set1_ps(k->a2);
    const __m512 zero = _mm512_setzero_ps();
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = 0, zeros = 0;

        for (unsigned v = 0; v < 4; v++) {
            size_t i = wi * 64 + 16 * v;
            __m512 gv = gdt == LC_BF16 ? lc_avx512_load_bf16x16((const uint16_t *)g + i)
                                       : _mm512_loadu_ps((const float *)g + i);
            __m512 mv = _mm512_loadu_ps(m + i);
            __m512 cv = lc_avx512_add_first_nan(_mm512_mul_ps(b1, mv), _mm512_mul_ps(a1, gv));

            _mm512_storeu_ps(m + i,
                             lc_avx512_add_first_nan(_mm512_mul_ps(b2, mv), _mm512_mul_ps(a2, gv)));
            if (c)
                _mm512_storeu_ps(c + i, cv);
            else {
                word |= (uint64_t)_mm512_movepi32_mask(_mm512_castps_si512(cv)) << (16 * v);
                zeros |= (uint64_t)_mm512_cmp_ps_mask(cv, zero, _CMP_EQ_OQ) << (16 * v);
            }
        }
        if (!c)
            lc_kern_st64(bits + wi, (word & ~zeros) | (k->zpat & zeros));
    }
    lc_kern_momentum_rest_scalar(m, g, gdt, nw * 64, n, k, bits, c);
}

void lc_kern_momentum_fp32_avx512(float *m, const float *g, size_t n, const lc_kern_betas_t *k,
                                  uint64_t *bits, float *c)
{
    lc_avx512_momentum(m, g, LC_FP32, n, k, bits, c);
}

void lc_kern_momentum_bf16_avx512(float *m, const uint16_t *g, size_t n, const lc_kern_betas_t *k,
                                  uint64_t *bits, float *c)
{
    lc_avx512_momentum(m, g, LC_BF16, n, k, bits, c);
}
