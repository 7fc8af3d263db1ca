/*
 * levels_scalar.c - multi-bit levels (the L1-quantized vote): packing b-bit
 * two's complement fields, accumulating them into int32 sums, the sign
 * decode of the sums, and the L1 quantizer.
 *
 * The quantizer's order of operations (lioncub.h) is fixed so that every
 * SIMD level gives the same levels: |c| summed in double into 8 partial sums
 * by element index mod 8 (four lanes of two AVX2 registers), the partials
 * added in index order, then one multiplication per element by the scale.
 */
#include <math.h>

#include "kern.h"

int lc_kern_levels_pack_scalar(const int8_t *q, size_t n, unsigned b, uint64_t *out)
{
    int lo = b == 1 ? -1 : -((1 << (b - 1)) - 1);
    int hi = b == 1 ? 0 : (1 << (b - 1)) - 1;
    uint64_t mask = (1ull << b) - 1, acc = 0;
    unsigned fill = 0; /* bits of acc in use */
    size_t wo = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t f = (uint64_t)(uint8_t)q[i] & mask;

        if (q[i] < lo || q[i] > hi)
            return -ERANGE;
        acc |= f << fill;
        fill += b;
        if (fill >= 64) {
            lc_kern_st64(out + wo++, acc);
            fill -= 64;
            acc = fill ? f >> (b - fill) : 0;
        }
    }
    if (fill)
        lc_kern_st64(out + wo, acc);
    return 0;
}

/* Level i of a b-bit stream, sign-extended. */
static inline int32_t lc_kern_level_at(const uint64_t *packed, size_t i, unsigned b)
{
    size_t off = i * b;
    unsigned sh = (unsigned)(off & 63);
    uint64_t v = lc_kern_ld64(packed + off / 64) >> sh;

    if (sh + b > 64)
        v |= lc_kern_ld64(packed + off / 64 + 1) << (64 - sh);
    v &= (1ull << b) - 1;
    return (int32_t)(v ^ (1ull << (b - 1))) - (int32_t)(1u << (b - 1));
}

void lc_kern_levels_accumulate_scalar(const uint64_t *packed, size_t n, unsigned b, int32_t *sums)
{
    for (size_t i = 0; i < n; i++) {
        int32_t s;

        memcpy(&s, sums + i, sizeof(s));
        s += lc_kern_level_at(packed, i, b);
        memcpy(sums + i, &s, sizeof(s));
    }
}

void lc_kern_decode_sum_sign_scalar(const int32_t *sums, size_t n, uint64_t tiepat, uint64_t *bits)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t neg = 0, zero = 0;

        for (size_t i = 0; i < m; i++) {
            int32_t s;

            memcpy(&s, sums + wi * 64 + i, sizeof(s));
            neg |= (uint64_t)(s < 0) << i;
            zero |= (uint64_t)(s == 0) << i;
        }
        lc_kern_st64(bits + wi, neg | (zero & tiepat));
    }
}

/* Round half to even without depending on the FPU rounding mode. */
static inline double lc_kern_round_even(double x)
{
    double f = floor(x), d = x - f;

    if (d > 0.5 || (d == 0.5 && fmod(f, 2.0) != 0.0))
        f += 1.0;
    return f;
}

void lc_kern_l1_partials_scalar(const void *c, lc_dtype_t dtype, size_t from, size_t n,
                                double part[LC_KERN_L1_PARTS])
{
    for (size_t i = from; i < n; i++)
        part[i % LC_KERN_L1_PARTS] += fabs((double)lc_kern_ld_f32(c, dtype, i));
}

double lc_kern_l1_scale(const double part[LC_KERN_L1_PARTS], size_t n, unsigned s)
{
    double sum = part[0], mean;

    for (int k = 1; k < LC_KERN_L1_PARTS; k++)
        sum += part[k];
    mean = n ? sum / (double)n : 0.0;
    return mean > 0.0 ? 0.5 * (double)s / mean : 0.0;
}

void lc_kern_l1_levels_scalar(const void *c, lc_dtype_t dtype, size_t from, size_t n,
                              double scale, unsigned s, int8_t *q)
{
    double lim = (double)s;

    for (size_t i = from; i < n; i++) {
        double x = lc_kern_round_even((double)lc_kern_ld_f32(c, dtype, i) * scale);

        q[i] = x != x ? 0 : (int8_t)(x > lim ? lim : x < -lim ? -lim : x);
    }
}

void lc_kern_quantize_l1_scalar(const void *c, lc_dtype_t dtype, size_t n, unsigned s, int8_t *q)
{
    double part[LC_KERN_L1_PARTS] = {0};

    lc_kern_l1_partials_scalar(c, dtype, 0, n, part);
    lc_kern_l1_levels_scalar(c, dtype, 0, n, lc_kern_l1_scale(part, n, s), s, q);
}
