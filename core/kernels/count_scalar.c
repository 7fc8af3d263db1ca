/*
 * count_scalar.c - the scalar reference of the vote counter and the two
 * decoders (majority, average), one 64-bit word of elements at a time.
 *
 * The SIMD levels hand their tails to these functions, which write the tail
 * bits of the last word as 0.
 */
#include "kern.h"

#define LC_V              uint64_t
#define LC_V_WORDS        1
#define LC_V_LOAD(p)      lc_kern_ld64(p)
#define LC_V_STORE(p, v)  lc_kern_st64(p, v)
#define LC_V_AND(a, b)    ((a) & (b))
#define LC_V_OR(a, b)     ((a) | (b))
#define LC_V_XOR(a, b)    ((a) ^ (b))
#define LC_V_ANDNOT(a, b) (~(a) & (b))
#define LC_V_ZERO         0ull
#define LC_V_ONES         (~0ull)
#define LC_V_SET1(x)      (x)
#include "count_tmpl.h"

void lc_kern_count_scalar(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t *planes,
                          size_t pstride)
{
    size_t nw = LC_BITS_WORDS(n);
    int w = lc_kern_nplanes(p);

    if (!nw)
        return;
    /* Counters are per bit, so garbage past n only reaches the planes' tails. */
    lc_kern_count_cols(vecs, stride, p, nw, planes, pstride, w);
    for (int k = 0; k < w; k++) {
        uint64_t *last = planes + (size_t)k * pstride + nw - 1;
        lc_kern_st64(last, lc_kern_ld64(last) & lc_kern_tailmask(n));
    }
}

void lc_kern_count_majority_scalar(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                                   uint64_t tiepat, uint64_t *bits)
{
    size_t nw = LC_BITS_WORDS(n);

    if (!nw)
        return;
    lc_kern_count_majority_cols(vecs, stride, p, nw, tiepat, bits);
    lc_kern_st64(bits + nw - 1, lc_kern_ld64(bits + nw - 1) & lc_kern_tailmask(n));
}

void lc_kern_decode_majority_scalar(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    uint64_t tiepat, uint64_t *bits)
{
    size_t nw = LC_BITS_WORDS(n);

    if (!nw)
        return;
    lc_kern_majority_cols(planes, pstride, p, nw, tiepat, bits, lc_kern_nplanes(p));
    lc_kern_st64(bits + nw - 1, lc_kern_ld64(bits + nw - 1) & lc_kern_tailmask(n));
}

/* The average of one element from its count: (p - 2c) / p, both exact in fp32,
 * so the quotient is correctly rounded and the same on every level. The bf16
 * output rounds this fp32 value to nearest even (lc_kern_bf16_round), which
 * can differ in the last bf16 bit from rounding the exact quotient directly;
 * every level and every rank does the same. */
static inline float lc_kern_avg(size_t p, uint32_t c)
{
    return (float)((int32_t)p - 2 * (int32_t)c) / (float)p;
}

/* Counts of the elements of word wi, one per element (m of them). */
static void lc_kern_word_counts(const uint64_t *planes, size_t pstride, int w, size_t wi, size_t m,
                                uint32_t *cnt)
{
    uint64_t pw[LC_KERN_MAX_PLANES];

    for (int k = 0; k < w; k++)
        pw[k] = lc_kern_ld64(planes + (size_t)k * pstride + wi);
    for (size_t i = 0; i < m; i++) {
        uint32_t c = 0;

        for (int k = 0; k < w; k++)
            c |= (uint32_t)((pw[k] >> i) & 1) << k;
        cnt[i] = c;
    }
}

void lc_kern_decode_avg_fp32_scalar(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    float *out)
{
    int w = lc_kern_nplanes(p);
    uint32_t cnt[64];

    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;

        lc_kern_word_counts(planes, pstride, w, wi, m, cnt);
        for (size_t i = 0; i < m; i++) {
            float v = lc_kern_avg(p, cnt[i]);
            memcpy(out + wi * 64 + i, &v, sizeof(v));
        }
    }
}

void lc_kern_decode_avg_bf16_scalar(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    uint16_t *out)
{
    int w = lc_kern_nplanes(p);
    uint32_t cnt[64];

    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;

        lc_kern_word_counts(planes, pstride, w, wi, m, cnt);
        for (size_t i = 0; i < m; i++) {
            uint16_t v = lc_kern_bf16_round(lc_kern_f2u(lc_kern_avg(p, cnt[i])));
            memcpy(out + wi * 64 + i, &v, sizeof(v));
        }
    }
}
