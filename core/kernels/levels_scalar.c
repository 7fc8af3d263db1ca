/*
 * levels_scalar.c - multi-bit levels (the L1-quantized vote): packing b-bit
 * two's complement fields, accumulating them into int32 sums, the sign
 * decode of the sums, and the L1 quantizer.
 *
 * lc_kern_quantize_l1_scalar serves every SIMD level: its cost is the mean
 * |c|, summed in double in element order by definition, a serial chain no
 * SIMD level can shorten without changing the result.
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
static inline int lc_kern_round_even(double x)
{
    double f = floor(x), d = x - f;
    int r = (int)f;

    if (d > 0.5 || (d == 0.5 && (r & 1)))
        r++;
    return r;
}

static inline double lc_kern_c_at(const void *c, lc_dtype_t dtype, size_t i)
{
    if (dtype == LC_FP32) {
        float f;

        memcpy(&f, (const float *)c + i, sizeof(f));
        return f;
    }
    uint16_t h;

    memcpy(&h, (const uint16_t *)c + i, sizeof(h));
    return lc_kern_u2f((uint32_t)h << 16);
}

/*
 * q = clip(round_half_even(c / mean|c| * s/2), -s, s): the quotient is taken
 * in double, then multiplied by s/2 (exact). A NaN (from a NaN or Inf in c)
 * gives 0; an all-zero c gives all zeros.
 */
void lc_kern_quantize_l1_scalar(const void *c, lc_dtype_t dtype, size_t n, unsigned b, int8_t *q)
{
    double s = (double)((1 << (b - 1)) - 1), half_s = 0.5 * s, sum = 0.0, mean;

    for (size_t i = 0; i < n; i++)
        sum += fabs(lc_kern_c_at(c, dtype, i));
    mean = n ? sum / (double)n : 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = mean > 0.0 ? lc_kern_c_at(c, dtype, i) / mean * half_s : 0.0;

        if (x > s)
            q[i] = (int8_t)s;
        else if (x < -s)
            q[i] = (int8_t)-s;
        else if (x == x)
            q[i] = (int8_t)lc_kern_round_even(x);
        else
            q[i] = 0;
    }
}
