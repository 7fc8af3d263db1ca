/*
 * count_avx2.c - the vote counter and the decoders with AVX2: the counter
 * template (count_tmpl.h) on 256-bit vectors, four words of elements per
 * column (two columns, a cache line of each row, when the rows are 4 KiB
 * apart); the average decode a 64-element word at a time.
 */
#include <immintrin.h>

#include "kern.h"
#include "simd_avx2.h"

#define LC_V              __m256i
#define LC_V_WORDS        4
#define LC_V_LOAD(p)      _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define LC_V_STORE(p, v)  _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define LC_V_AND(a, b)    _mm256_and_si256(a, b)
#define LC_V_OR(a, b)     _mm256_or_si256(a, b)
#define LC_V_XOR(a, b)    _mm256_xor_si256(a, b)
#define LC_V_ANDNOT(a, b) _mm256_andnot_si256(a, b)
#define LC_V_ZERO         _mm256_setzero_si256()
#define LC_V_ONES         _mm256_set1_epi64x(-1)
#define LC_V_SET1(x)      _mm256_set1_epi64x((long long)(x))
#define LC_V_GROUP        2 /* rows 4 KiB apart: one cache line of each row at a time */
#define LC_V_PREFETCH(p)  _mm_prefetch((const char *)(p), _MM_HINT_T1)
#define LC_V_AHEAD        32
#include "count_tmpl.h"

void lc_kern_count_avx2(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t *planes,
                        size_t pstride)
{
    size_t nvec = n / 256, done = nvec * 4;

    lc_kern_count_cols(vecs, stride, p, nvec, planes, pstride, lc_kern_nplanes(p));
    lc_kern_count_scalar(vecs + done, stride, p, n - done * 64, planes + done, pstride);
}

void lc_kern_count_majority_avx2(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                                 uint64_t tiepat, uint64_t *bits)
{
    size_t nvec = n / 256, done = nvec * 4;

    lc_kern_count_majority_cols(vecs, stride, p, nvec, tiepat, bits);
    lc_kern_count_majority_scalar(vecs + done, stride, p, n - done * 64, tiepat, bits + done);
}

void lc_kern_decode_majority_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  uint64_t tiepat, uint64_t *bits)
{
    size_t nvec = n / 256, done = nvec * 4;

    lc_kern_majority_cols(planes, pstride, p, nvec, tiepat, bits, lc_kern_nplanes(p));
    lc_kern_decode_majority_scalar(planes + done, pstride, p, n - done * 64, tiepat, bits + done);
}

/* The 64 averages of word wi, (p - 2c) / p as in the scalar code, into
 * avg[0..7]. Counts below 256 (w <= 8) are built 32 at a time in bytes: each
 * plane's bits are spread to bytes with a shuffle and a bit test; wider
 * counts are built 8 at a time in 32-bit lanes. */
static inline void lc_kern_avg_word(const uint64_t *planes, size_t pstride, int w, size_t wi,
                                    __m256 pf, __m256i pi, __m256 avg[8])
{
    __m256i c[8];

    if (w <= 8) {
        const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2,
                                                2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        const __m256i bit = _mm256_set1_epi64x(0x8040201008040201ll);

        for (unsigned h = 0; h < 2; h++) {
            __m256i c8 = _mm256_setzero_si256();

            for (int k = w - 1; k >= 0; k--) {
                uint64_t x = lc_kern_ld64(planes + (size_t)k * pstride + wi);
                __m256i b =
                    _mm256_shuffle_epi8(_mm256_set1_epi32((int)(uint32_t)(x >> (32 * h))), spread);

                b = _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
                c8 = _mm256_sub_epi8(_mm256_add_epi8(c8, c8), b);
            }
            __m128i lo = _mm256_castsi256_si128(c8), hi = _mm256_extracti128_si256(c8, 1);
            c[4 * h + 0] = _mm256_cvtepu8_epi32(lo);
            c[4 * h + 1] = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
            c[4 * h + 2] = _mm256_cvtepu8_epi32(hi);
            c[4 * h + 3] = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
        }
    } else {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), one = _mm256_set1_epi32(1);

        for (unsigned g = 0; g < 8; g++) {
            c[g] = _mm256_setzero_si256();
            for (int k = w - 1; k >= 0; k--) {
                uint64_t x = lc_kern_ld64(planes + (size_t)k * pstride + wi);
                __m256i b = _mm256_set1_epi32((int)((x >> (8 * g)) & 0xff));

                b = _mm256_and_si256(_mm256_srlv_epi32(b, lane), one);
                c[g] = _mm256_add_epi32(_mm256_add_epi32(c[g], c[g]), b);
            }
        }
    }
    for (unsigned g = 0; g < 8; g++) {
        __m256i d = _mm256_sub_epi32(pi, _mm256_add_epi32(c[g], c[g]));

        avg[g] = _mm256_div_ps(_mm256_cvtepi32_ps(d), pf);
    }
}

void lc_kern_decode_avg_fp32_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  float *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m256 pf = _mm256_set1_ps((float)p), avg[8];
    __m256i pi = _mm256_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++) {
        lc_kern_avg_word(planes, pstride, w, wi, pf, pi, avg);
        for (unsigned g = 0; g < 8; g++)
            _mm256_storeu_ps(out + wi * 64 + 8 * g, avg[g]);
    }
    lc_kern_decode_avg_fp32_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}

void lc_kern_decode_avg_bf16_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  uint16_t *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m256 pf = _mm256_set1_ps((float)p), avg[8];
    __m256i pi = _mm256_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++) {
        lc_kern_avg_word(planes, pstride, w, wi, pf, pi, avg);
        for (unsigned g = 0; g < 8; g += 2)
            lc_avx2_store_bf16x16(out + wi * 64 + 8 * g,
                                  lc_avx2_bf16_round(_mm256_castps_si256(avg[g])),
                                  lc_avx2_bf16_round(_mm256_castps_si256(avg[g + 1])));
    }
    lc_kern_decode_avg_bf16_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}
