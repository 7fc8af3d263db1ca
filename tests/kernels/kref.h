/*
 * kref.h - plain per-element references of the kernels, written from the
 * header's documentation only (no code shared with core/kernels), and the
 * vote generators both kernel tests use.
 */
#ifndef LC_KREF_H
#define LC_KREF_H

#include <math.h>

#include "ktest.h"

/* Value of bf16 bits as a double; the all-ones exponent counts as 2^128 so
 * that rounding up past the largest finite value compares correctly. */
static inline double ref_bf16_val(uint16_t h)
{
    if ((h & 0x7f80) == 0x7f80)
        return (h & 0x8000) ? -ldexp(1.0, 128) : ldexp(1.0, 128);
    return kt_f((uint32_t)h << 16);
}

/* fp32 to bf16 by comparing the two neighbours: nearest, ties to even. */
static inline uint16_t ref_bf16(float f)
{
    uint32_t u = kt_u(f);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double dl, dh;

    if (isnan(f))
        return (uint16_t)(lo | 0x40);
    if (isinf(f) || (u & 0xffff) == 0)
        return lo;
    dl = fabs((double)f - ref_bf16_val(lo));
    dh = fabs((double)f - ref_bf16_val(hi));
    if (dl < dh)
        return lo;
    if (dh < dl)
        return hi;
    return (lo & 1) ? hi : lo;
}

/* p vectors of stride words with the first nw words meaningful: each word
 * column gets a density (random, none, all, sparse, dense) so counts reach
 * 0, p and ties; padding words and tail bits are random garbage. */
static inline void ref_gen_votes(uint64_t *v, size_t p, size_t stride, size_t nw)
{
    for (size_t j = 0; j < p; j++)
        for (size_t c = 0; c < stride; c++) {
            uint64_t x = kt_rand();

            if (c < nw)
                switch ((c * 7 + 3) % 5) {
                case 1:
                    x = 0;
                    break;
                case 2:
                    x = ~0ull;
                    break;
                case 3:
                    x &= kt_rand() & kt_rand();
                    break;
                case 4:
                    x |= kt_rand() | kt_rand();
                    break;
                default:
                    break;
                }
            memcpy(v + j * stride + c, &x, 8);
        }
}

static inline uint32_t ref_count(const uint64_t *v, size_t stride, size_t p, size_t i)
{
    uint32_t c = 0;

    for (size_t j = 0; j < p; j++)
        c += (uint32_t)kt_bit(v + j * stride, i);
    return c;
}

static inline int ref_majority(uint32_t c, size_t p, uint64_t first, uint64_t salt, size_t i)
{
    if (2 * (uint64_t)c > p)
        return 1;
    if (2 * (uint64_t)c < p)
        return 0;
    return (int)((first + i + salt) & 1);
}

static inline float ref_average(uint32_t c, size_t p)
{
    return (float)(((double)p - 2.0 * c) / (double)p);
}

#endif
