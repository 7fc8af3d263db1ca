/*
 * momentum_scalar.c - the scalar reference of the local part of a vote-mode
 * Lion step (core/lion/lion_step.c), for each element:
 *     c = b1*m + a1*g,  then  m = b2*m + a2*g
 * with the sign bits of c packed (bit i of word i/64 is the raw sign bit of
 * c[i]: negative NaNs set it; a c of +0 or -0 takes bit i % 64 of k.zpat) or
 * c itself stored (vote-l1).
 *
 * Every level computes exactly: two fp32 multiplies, then their fp32 sum,
 * never fused (the kernels are built with -ffp-contract=off and the SIMD
 * paths use separate intrinsics). Where both products are NaN the sum is the
 * first product's NaN, which the SIMD paths select the same way, so the
 * results are identical bit for bit. bf16 gradients are widened exactly.
 */
#include <math.h>

#include "kern.h"

/*
 * One element: c from *m and g, returned, then the new momentum into *m.
 * Where both products of a sum are NaN the first one's is the sum (the
 * hardware's rule for p + q, made explicit because compilers may swap the
 * operands of an addition). One unlikely branch for both sums: a sum is only
 * NaN if a product is, or the products are opposite infinities.
 */
static inline float lc_kern_momentum_one(float *m, float g, lc_kern_betas_t k)
{
    float mi, p1, p2, c, mnew;

    memcpy(&mi, m, sizeof(mi));
    p1 = k.b1 * mi;
    c = p1 + k.a1 * g;
    p2 = k.b2 * mi;
    mnew = p2 + k.a2 * g;
    if (__builtin_expect(isunordered(c, mnew), 0)) {
        c = isnan(p1) ? p1 : c;
        mnew = isnan(p2) ? p2 : mnew;
    }
    memcpy(m, &mnew, sizeof(mnew));
    return c;
}

/* Both entries; inlined with a constant gdt, so each gets its own loop. */
static inline __attribute__((always_inline)) void
lc_kern_momentum_loop(float *m, const void *g, lc_dtype_t gdt, size_t n, lc_kern_betas_t k,
                      uint64_t *bits, float *c)
{
    if (c) {
        for (size_t i = 0; i < n; i++) {
            float ci = lc_kern_momentum_one(m + i, lc_kern_ld_f32(g, gdt, i), k);

            memcpy(c + i, &ci, sizeof(ci));
        }
        return;
    }
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t cnt = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = 0;

        for (size_t i = 0; i < cnt; i++) {
            size_t j = wi * 64 + i;
            float ci = lc_kern_momentum_one(m + j, lc_kern_ld_f32(g, gdt, j), k);
            uint64_t bit = ci == 0.0f ? k.zpat >> i & 1 : lc_kern_f2u(ci) >> 31;

            word |= bit << i;
        }
        lc_kern_st64(bits + wi, word);
    }
}

void lc_kern_momentum_fp32_scalar(float *m, const float *g, size_t n, const lc_kern_betas_t *k,
                                  uint64_t *bits, float *c)
{
    lc_kern_momentum_loop(m, g, LC_FP32, n, *k, bits, c);
}

void lc_kern_momentum_bf16_scalar(float *m, const uint16_t *g, size_t n, const lc_kern_betas_t *k,
                                  uint64_t *bits, float *c)
{
    lc_kern_momentum_loop(m, g, LC_BF16, n, *k, bits, c);
}

void lc_kern_momentum_rest_scalar(float *m, const void *g, lc_dtype_t gdt, size_t from, size_t n,
                                  const lc_kern_betas_t *k, uint64_t *bits, float *c)
{
    uint64_t *rest_bits = c ? NULL : bits + from / 64;
    float *rest_c = c ? c + from : NULL;

    if (gdt == LC_FP32)
        lc_kern_momentum_fp32_scalar(m + from, (const float *)g + from, n - from, k, rest_bits,
                                     rest_c);
    else
        lc_kern_momentum_bf16_scalar(m + from, (const uint16_t *)g + from, n - from, k, rest_bits,
                                     rest_c);
}
