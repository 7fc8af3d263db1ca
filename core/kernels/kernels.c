/*
 * kernels.c - the public kernel entry points: check the arguments, pick the
 * active SIMD level's table (simd.c) and call it; and the hidden entry of the
 * Lion step's momentum kernel (kern.h).
 *
 * Pointers may be NULL when n == 0 (nothing is read or written then).
 */
#include "kern.h"

#define KSYS "kernels"

/* Pointers must be non-NULL when there is something to read or write. */
#define LC_KERN_CHECK_PTR(fn, ptr, n)                                                              \
    do {                                                                                           \
        if ((n) && !(ptr))                                                                         \
            return LC_EINVAL(KSYS, "%s: %s is NULL", fn, #ptr);                                    \
    } while (0)

/* Element counts past SIZE_MAX / 64 would overflow the byte sizes of some outputs. */
#define LC_KERN_CHECK_N(fn, n)                                                                     \
    do {                                                                                           \
        if ((n) > SIZE_MAX / 64)                                                                   \
            return LC_EINVAL(KSYS, "%s: n=%zu is too large", fn, (size_t)(n));                     \
    } while (0)

int lc_count_planes(size_t p)
{
    if (p == 0 || p > LC_MAX_VOTERS)
        return LC_EINVAL(KSYS, "lc_count_planes: p=%zu is not in 1..%u", p, LC_MAX_VOTERS);
    return lc_kern_nplanes(p);
}

int lc_pack_signs(const void *x, lc_dtype_t dtype, size_t n, uint64_t *bits)
{
    const lc_kern_ops_t *k;
    int r;

    if (dtype != LC_FP32 && dtype != LC_BF16 && dtype != LC_FP16)
        return LC_EINVAL(KSYS, "lc_pack_signs: dtype %s is not fp32, bf16 or fp16",
                         lc_dtype_name(dtype));
    LC_KERN_CHECK_N("lc_pack_signs", n);
    LC_KERN_CHECK_PTR("lc_pack_signs", x, n);
    LC_KERN_CHECK_PTR("lc_pack_signs", bits, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (dtype == LC_FP32)
        k->pack_fp32(x, n, bits);
    else
        k->pack_16(x, n, bits);
    return 0;
}

/* The checks of p vote vectors of n bits, stride words apart, shared by the counters. */
static int lc_check_votes(const char *fn, const uint64_t *vecs, size_t stride, size_t p, size_t n)
{
    int r;

    if ((r = lc_count_planes(p)) < 0)
        return r;
    LC_KERN_CHECK_N(fn, n);
    if (stride < LC_BITS_WORDS(n))
        return LC_EINVAL(KSYS, "%s: stride %zu < %zu words of %zu bits", fn, stride,
                         (size_t)LC_BITS_WORDS(n), n);
    if (p > 1 && stride > SIZE_MAX / sizeof(uint64_t) / (p - 1))
        return LC_EINVAL(KSYS, "%s: stride %zu x %zu vectors overflows", fn, stride, p);
    LC_KERN_CHECK_PTR(fn, vecs, n);
    return 0;
}

int lc_count_votes(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t *planes)
{
    const lc_kern_ops_t *k;
    int r;

    if ((r = lc_check_votes("lc_count_votes", vecs, stride, p, n)) < 0)
        return r;
    LC_KERN_CHECK_PTR("lc_count_votes", planes, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    k->count(vecs, stride, p, n, planes, LC_BITS_WORDS(n));
    return 0;
}

int lc_decode_majority(const uint64_t *planes, size_t p, size_t n, uint64_t first,
                       uint64_t tie_salt, uint64_t *bits)
{
    const lc_kern_ops_t *k;
    int r;

    if ((r = lc_count_planes(p)) < 0)
        return r;
    LC_KERN_CHECK_N("lc_decode_majority", n);
    LC_KERN_CHECK_PTR("lc_decode_majority", planes, n);
    LC_KERN_CHECK_PTR("lc_decode_majority", bits, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    k->decode_majority(planes, LC_BITS_WORDS(n), p, n, LC_KERN_TIEPAT(first, tie_salt), bits);
    return 0;
}

/* Elements per block when p >= 32: 64 words of each of at most 21 planes (10.5 KiB). */
#define LC_VOTE_MAJ_BLOCK 4096

int lc_vote_majority(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t first,
                     uint64_t tie_salt, uint64_t *bits)
{
    uint64_t planes[LC_KERN_MAX_PLANES * (LC_VOTE_MAJ_BLOCK / 64)];
    const lc_kern_ops_t *k;
    int r;

    if ((r = lc_check_votes("lc_vote_majority", vecs, stride, p, n)) < 0)
        return r;
    LC_KERN_CHECK_PTR("lc_vote_majority", bits, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (p < 32) {
        k->count_majority(vecs, stride, p, n, LC_KERN_TIEPAT(first, tie_salt), bits);
        return 0;
    }
    for (size_t i = 0; i < n; i += LC_VOTE_MAJ_BLOCK) {
        size_t m = n - i < LC_VOTE_MAJ_BLOCK ? n - i : LC_VOTE_MAJ_BLOCK;

        k->count(vecs + i / 64, stride, p, m, planes, LC_BITS_WORDS(m));
        k->decode_majority(planes, LC_BITS_WORDS(m), p, m, LC_KERN_TIEPAT(first + i, tie_salt),
                           bits + i / 64);
    }
    return 0;
}

int lc_decode_average(const uint64_t *planes, size_t p, size_t n, void *out, lc_dtype_t dtype)
{
    const lc_kern_ops_t *k;
    int r;

    if ((r = lc_count_planes(p)) < 0)
        return r;
    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL(KSYS, "lc_decode_average: dtype %s is not fp32 or bf16",
                         lc_dtype_name(dtype));
    LC_KERN_CHECK_N("lc_decode_average", n);
    LC_KERN_CHECK_PTR("lc_decode_average", planes, n);
    LC_KERN_CHECK_PTR("lc_decode_average", out, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (dtype == LC_FP32)
        k->decode_avg_fp32(planes, LC_BITS_WORDS(n), p, n, out);
    else
        k->decode_avg_bf16(planes, LC_BITS_WORDS(n), p, n, out);
    return 0;
}

int lc_unpack_signs(const uint64_t *bits, size_t n, void *out, lc_dtype_t dtype)
{
    const lc_kern_ops_t *k;
    int r;

    if (dtype != LC_FP32 && dtype != LC_BF16 && dtype != LC_FP16)
        return LC_EINVAL(KSYS, "lc_unpack_signs: dtype %s is not fp32, bf16 or fp16",
                         lc_dtype_name(dtype));
    LC_KERN_CHECK_N("lc_unpack_signs", n);
    LC_KERN_CHECK_PTR("lc_unpack_signs", bits, n);
    LC_KERN_CHECK_PTR("lc_unpack_signs", out, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (dtype == LC_FP32)
        k->unpack_fp32(bits, n, out);
    else
        k->unpack_16(bits, n, dtype == LC_BF16 ? 0x3f80 : 0x3c00, out);
    return 0;
}

/* The decay factor is computed here once, so every level uses the same one. */
static float lc_kern_decay(float lr, float wd)
{
    float lw = lr * wd;

    return 1.0f - lw;
}

int lc_apply_signs(void *param, lc_dtype_t dtype, const uint64_t *bits, size_t n, float lr,
                   float wd)
{
    const lc_kern_ops_t *k;
    int r;

    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL(KSYS, "lc_apply_signs: dtype %s is not fp32 or bf16",
                         lc_dtype_name(dtype));
    LC_KERN_CHECK_N("lc_apply_signs", n);
    LC_KERN_CHECK_PTR("lc_apply_signs", param, n);
    LC_KERN_CHECK_PTR("lc_apply_signs", bits, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (dtype == LC_FP32)
        k->apply_signs_fp32(param, bits, n, lc_kern_decay(lr, wd), lr);
    else
        k->apply_signs_bf16(param, bits, n, lc_kern_decay(lr, wd), lr);
    return 0;
}

int lc_apply_update(void *param, lc_dtype_t dtype, const float *u, size_t n, float lr, float wd)
{
    const lc_kern_ops_t *k;
    int r;

    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL(KSYS, "lc_apply_update: dtype %s is not fp32 or bf16",
                         lc_dtype_name(dtype));
    LC_KERN_CHECK_N("lc_apply_update", n);
    LC_KERN_CHECK_PTR("lc_apply_update", param, n);
    LC_KERN_CHECK_PTR("lc_apply_update", u, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (dtype == LC_FP32)
        k->apply_update_fp32(param, u, n, lc_kern_decay(lr, wd), lr);
    else
        k->apply_update_bf16(param, u, n, lc_kern_decay(lr, wd), lr);
    return 0;
}

int lc_levels_pack(const int8_t *q, size_t n, unsigned b, uint64_t *out)
{
    const lc_kern_ops_t *k;
    int r;

    if (b < 1 || b > 8)
        return LC_EINVAL(KSYS, "lc_levels_pack: b=%u is not in 1..8", b);
    LC_KERN_CHECK_N("lc_levels_pack", n);
    LC_KERN_CHECK_PTR("lc_levels_pack", q, n);
    LC_KERN_CHECK_PTR("lc_levels_pack", out, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    if (k->levels_pack(q, n, b, out) < 0)
        return lc_seterr(-ERANGE, KSYS, "lc_levels_pack: a level does not fit in %u bits", b);
    return 0;
}

int lc_levels_accumulate(const uint64_t *packed, size_t n, unsigned b, int32_t *sums)
{
    const lc_kern_ops_t *k;
    int r;

    if (b < 1 || b > 8)
        return LC_EINVAL(KSYS, "lc_levels_accumulate: b=%u is not in 1..8", b);
    LC_KERN_CHECK_N("lc_levels_accumulate", n);
    LC_KERN_CHECK_PTR("lc_levels_accumulate", packed, n);
    LC_KERN_CHECK_PTR("lc_levels_accumulate", sums, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    k->levels_accumulate(packed, n, b, sums);
    return 0;
}

int lc_decode_sum_sign(const int32_t *sums, size_t n, uint64_t first, uint64_t tie_salt,
                       uint64_t *bits)
{
    const lc_kern_ops_t *k;
    int r;

    LC_KERN_CHECK_N("lc_decode_sum_sign", n);
    LC_KERN_CHECK_PTR("lc_decode_sum_sign", sums, n);
    LC_KERN_CHECK_PTR("lc_decode_sum_sign", bits, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    k->decode_sum_sign(sums, n, LC_KERN_TIEPAT(first, tie_salt), bits);
    return 0;
}

int lc_quantize_l1_levels(const void *c, lc_dtype_t dtype, size_t n, unsigned s, int8_t *q)
{
    const lc_kern_ops_t *k;
    int r;

    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL(KSYS, "lc_quantize_l1: dtype %s is not fp32 or bf16",
                         lc_dtype_name(dtype));
    if (s < 1 || s > LC_MAX_LEVELS)
        return LC_EINVAL(KSYS, "lc_quantize_l1: %u levels is not in 1..%d", s, LC_MAX_LEVELS);
    LC_KERN_CHECK_N("lc_quantize_l1", n);
    LC_KERN_CHECK_PTR("lc_quantize_l1", c, n);
    LC_KERN_CHECK_PTR("lc_quantize_l1", q, n);
    if ((r = lc_kern_get(&k)) < 0)
        return r;
    k->quantize_l1(c, dtype, n, s, q);
    return 0;
}

int lc_quantize_l1(const void *c, lc_dtype_t dtype, size_t n, unsigned b, int8_t *q)
{
    if (b < 2 || b > 8)
        return LC_EINVAL(KSYS, "lc_quantize_l1: b=%u is not in 2..8", b);
    return lc_quantize_l1_levels(c, dtype, n, (1u << (b - 1)) - 1, q);
}

int lc_levels_bits(unsigned s)
{
    int b = 1;

    if (s < 1 || s > LC_MAX_LEVELS)
        return LC_EINVAL(KSYS, "lc_levels_bits: %u levels is not in 1..%d", s, LC_MAX_LEVELS);
    while ((1u << (b - 1)) - 1 < s)
        b++;
    return b;
}

/* The Lion step passes checked arguments: no checks here. */
int lc_kern_momentum(float *m, const void *g, lc_dtype_t gdt, size_t n, const lc_kern_betas_t *k,
                     uint64_t *bits, float *c)
{
    const lc_kern_ops_t *ops;
    int r;

    if ((r = lc_kern_get(&ops)) < 0)
        return r;
    if (gdt == LC_FP32)
        ops->momentum_fp32(m, g, n, k, bits, c);
    else
        ops->momentum_bf16(m, g, n, k, bits, c);
    return 0;
}
