/*
 * kern.h - internal interface of the kernels: one table of entry points per
 * SIMD level, the per-level entry points, and the small helpers every level
 * shares (unaligned loads and stores, bf16 rounding).
 *
 * The table entries take arguments already checked by kernels.c (the
 * momentum entries: by the Lion step). Every entry accepts any n and
 * unaligned pointers. The SIMD entries process the bulk and
 * hand the rest (always starting on a 64-element boundary) to the scalar
 * entry, so tails are the scalar code's business everywhere.
 */
#ifndef LC_KERN_H
#define LC_KERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Planes needed for LC_MAX_VOTERS = 2^20 voters: ceil(log2(2^20 + 1)). */
#define LC_KERN_MAX_PLANES 21

/* The tie rule's pattern for one word: bit i set iff (first + i + salt) is
 * odd, the same for every word of a call because words hold 64 (even) bits. */
#define LC_KERN_TIEPAT(first, salt)                                                                \
    ((((first) + (salt)) & 1) ? 0x5555555555555555ull : 0xAAAAAAAAAAAAAAAAull)

/* Lion's momentum coefficients, a = 1 - b computed once by the caller:
 * c = b1*m + a1*g, then m = b2*m + a2*g; zpat: the bits that a c of +0 or -0
 * packs to, element i of a word taking bit i of zpat. */
typedef struct lc_kern_betas {
    float b1, a1, b2, a2;
    uint64_t zpat;
} lc_kern_betas_t;

typedef struct lc_kern_ops {
    lc_simd_t level;
    void (*pack_fp32)(const float *x, size_t n, uint64_t *bits);
    void (*pack_16)(const uint16_t *x, size_t n, uint64_t *bits);
    void (*unpack_fp32)(const uint64_t *bits, size_t n, float *out);
    void (*unpack_16)(const uint64_t *bits, size_t n, uint16_t one, uint16_t *out);
    void (*count)(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t *planes,
                  size_t pstride);
    void (*decode_majority)(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                            uint64_t tiepat, uint64_t *bits);
    /* count + decode_majority fused, for p < 32 only */
    void (*count_majority)(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t tiepat,
                           uint64_t *bits);
    void (*decode_avg_fp32)(const uint64_t *planes, size_t pstride, size_t p, size_t n, float *out);
    void (*decode_avg_bf16)(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                            uint16_t *out);
    void (*apply_signs_fp32)(float *param, const uint64_t *bits, size_t n, float decay, float lr);
    void (*apply_signs_bf16)(uint16_t *param, const uint64_t *bits, size_t n, float decay,
                             float lr);
    void (*apply_update_fp32)(float *param, const float *u, size_t n, float decay, float lr);
    void (*apply_update_bf16)(uint16_t *param, const float *u, size_t n, float decay, float lr);
    int (*levels_pack)(const int8_t *q, size_t n, unsigned b, uint64_t *out);
    void (*levels_accumulate)(const uint64_t *packed, size_t n, unsigned b, int32_t *sums);
    void (*decode_sum_sign)(const int32_t *sums, size_t n, uint64_t tiepat, uint64_t *bits);
    void (*quantize_l1)(const void *c, lc_dtype_t dtype, size_t n, unsigned s, int8_t *q);
    void (*momentum_fp32)(float *m, const float *g, size_t n, const lc_kern_betas_t *k,
                          uint64_t *bits, float *c);
    void (*momentum_bf16)(float *m, const uint16_t *g, size_t n, const lc_kern_betas_t *k,
                          uint64_t *bits, float *c);
} lc_kern_ops_t;

/* The table of a level, whether or not this CPU can run it (tests and
 * benchmarks check lc_simd_supported first); NULL for an invalid level. */
LC_HIDDEN const lc_kern_ops_t *lc_kern_table(lc_simd_t level);

/* The active level's table: 0, or the error of lc_simd_active(). */
LC_HIDDEN int lc_kern_get(const lc_kern_ops_t **ops);

/*
 * The local part of a vote-mode Lion step (core/lion), on the active level:
 * for each i, c = b1*m[i] + a1*g[i] (g fp32 or bf16), then
 * m[i] = b2*m[i] + a2*g[i]. With bits, the sign bits of c are packed into
 * LC_BITS_WORDS(n) words (raw sign bit: negative NaNs set it; a c of +0 or -0
 * packs to bit i % 64 of k->zpat instead; unused high bits of the last word
 * zero); else c itself is stored into c (n floats).
 * An addition whose two products are NaN gives the first product's NaN.
 * Returns 0, or the error of lc_simd_active().
 */
LC_HIDDEN int lc_kern_momentum(float *m, const void *g, lc_dtype_t gdt, size_t n,
                               const lc_kern_betas_t *k, uint64_t *bits, float *c);

/* Entry points of one level (sfx = scalar, avx2, avx512). */
#define LC_KERN_DECLARE(sfx)                                                                       \
    LC_HIDDEN void lc_kern_pack_fp32_##sfx(const float *x, size_t n, uint64_t *bits);              \
    LC_HIDDEN void lc_kern_pack_16_##sfx(const uint16_t *x, size_t n, uint64_t *bits);             \
    LC_HIDDEN void lc_kern_unpack_fp32_##sfx(const uint64_t *bits, size_t n, float *out);          \
    LC_HIDDEN void lc_kern_unpack_16_##sfx(const uint64_t *bits, size_t n, uint16_t one,           \
                                           uint16_t *out);                                         \
    LC_HIDDEN void lc_kern_count_##sfx(const uint64_t *vecs, size_t stride, size_t p, size_t n,    \
                                       uint64_t *planes, size_t pstride);                          \
    LC_HIDDEN void lc_kern_count_majority_##sfx(const uint64_t *vecs, size_t stride, size_t p,     \
                                                size_t n, uint64_t tiepat, uint64_t *bits);        \
    LC_HIDDEN void lc_kern_decode_majority_##sfx(const uint64_t *planes, size_t pstride, size_t p, \
                                                 size_t n, uint64_t tiepat, uint64_t *bits);       \
    LC_HIDDEN void lc_kern_decode_avg_fp32_##sfx(const uint64_t *planes, size_t pstride, size_t p, \
                                                 size_t n, float *out);                            \
    LC_HIDDEN void lc_kern_decode_avg_bf16_##sfx(const uint64_t *planes, size_t pstride, size_t p, \
                                                 size_t n, uint16_t *out);                         \
    LC_HIDDEN void lc_kern_apply_signs_fp32_##sfx(float *param, const uint64_t *bits, size_t n,    \
                                                  float decay, float lr);                          \
    LC_HIDDEN void lc_kern_apply_signs_bf16_##sfx(uint16_t *param, const uint64_t *bits, size_t n, \
                                                  float decay, float lr);                          \
    LC_HIDDEN void lc_kern_apply_update_fp32_##sfx(float *param, const float *u, size_t n,         \
                                                   float decay, float lr);                         \
    LC_HIDDEN void lc_kern_apply_update_bf16_##sfx(uint16_t *param, const float *u, size_t n,      \
                                                   float decay, float lr);                         \
    LC_HIDDEN int lc_kern_levels_pack_##sfx(const int8_t *q, size_t n, unsigned b, uint64_t *out); \
    LC_HIDDEN void lc_kern_levels_accumulate_##sfx(const uint64_t *packed, size_t n, unsigned b,   \
                                                   int32_t *sums);                                 \
    LC_HIDDEN void lc_kern_decode_sum_sign_##sfx(const int32_t *sums, size_t n, uint64_t tiepat,   \
                                                 uint64_t *bits);                                  \
    LC_HIDDEN void lc_kern_momentum_fp32_##sfx(                                                    \
        float *m, const float *g, size_t n, const lc_kern_betas_t *k, uint64_t *bits, float *c);   \
    LC_HIDDEN void lc_kern_momentum_bf16_##sfx(float *m, const uint16_t *g, size_t n,              \
                                               const lc_kern_betas_t *k, uint64_t *bits, float *c)

LC_KERN_DECLARE(scalar);
LC_KERN_DECLARE(avx2);
LC_KERN_DECLARE(avx512);

/*
 * quantize_l1 (levels_scalar.c, levels_avx2.c; AVX-512 machines use the
 * AVX2 code) and the scalar pieces the AVX2 code finishes its tails with:
 * add |c[i]| for i in [from, n) to part[i % 8]; the scale (s/2) / mean|c|,
 * or 0 when the mean is not positive; levels in [-s, s] for i in [from, n).
 */
#define LC_KERN_L1_PARTS 8
LC_HIDDEN void lc_kern_quantize_l1_scalar(const void *c, lc_dtype_t dtype, size_t n, unsigned s,
                                          int8_t *q);
LC_HIDDEN void lc_kern_quantize_l1_avx2(const void *c, lc_dtype_t dtype, size_t n, unsigned s,
                                        int8_t *q);
LC_HIDDEN void lc_kern_l1_partials_scalar(const void *c, lc_dtype_t dtype, size_t from, size_t n,
                                          double part[LC_KERN_L1_PARTS]);
LC_HIDDEN double lc_kern_l1_scale(const double part[LC_KERN_L1_PARTS], size_t n, unsigned s);
LC_HIDDEN void lc_kern_l1_levels_scalar(const void *c, lc_dtype_t dtype, size_t from, size_t n,
                                        double scale, unsigned s, int8_t *q);

/* The momentum kernel's scalar tail, which the SIMD entries finish with:
 * elements [from, n), from a multiple of 64 (bits from word from / 64). */
LC_HIDDEN void lc_kern_momentum_rest_scalar(float *m, const void *g, lc_dtype_t gdt, size_t from,
                                            size_t n, const lc_kern_betas_t *k, uint64_t *bits,
                                            float *c);

/* ---- helpers: memcpy-based accesses are the portable unaligned ones ---- */

static inline uint64_t lc_kern_ld64(const uint64_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline void lc_kern_st64(uint64_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline uint32_t lc_kern_f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static inline float lc_kern_u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Element i of an fp32 or bf16 array as fp32 (bf16: its bits << 16, exact). */
static inline float lc_kern_ld_f32(const void *x, lc_dtype_t dtype, size_t i)
{
    uint16_t h;
    float f;

    if (dtype == LC_BF16) {
        memcpy(&h, (const uint16_t *)x + i, sizeof(h));
        return lc_kern_u2f((uint32_t)h << 16);
    }
    memcpy(&f, (const float *)x + i, sizeof(f));
    return f;
}

/* Bit planes of a count of up to p votes: the bit length of p. */
static inline int lc_kern_nplanes(size_t p)
{
    int w = 0;

    while ((p >> w) != 0)
        w++;
    return w;
}

/* The mask of the valid bits of the last word of an n-bit vector (n > 0). */
static inline uint64_t lc_kern_tailmask(size_t n)
{
    return (n & 63) ? (1ull << (n & 63)) - 1 : ~0ull;
}

/* fp32 bits to bf16, round to nearest even; a NaN stays a NaN (quieted),
 * keeping its sign and top payload bits. The SIMD paths do exactly this. */
static inline uint16_t lc_kern_bf16_round(uint32_t x)
{
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x0040u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

#endif
