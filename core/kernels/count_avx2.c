/*
 * count_avx2.c - the vote counter and the decoders with AVX2: the counter
 * template (count_tmpl.h) on 256-bit vectors, four words of elements per
 * column; the average decode eight elements at a time.
 */
#include <immintrin.h>

#include "kern.h"
#include "simd_avx2.h"

#define LC_V __m256i
#define LC_V_WORDS 4
#define LC_V_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define LC_V_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define LC_V_AND(a, b) _mm256_and_si256(a, b)
#define LC_V_OR(a, b) _mm256_or_si256(a, b)
#define LC_V_XOR(a, b) _mm256_xor_si256(a, b)
#define LC_V_ANDNOT(a, b) _mm256_andnot_si256(a, b)
#define LC_V_ZERO _mm256_setzero_si256()
#define LC_V_ONES _mm256_set1_epi64x(-1)
#define LC_V_SET1(x) _mm256_set1_epi64x((long long)(x))
#define LC_V_GROUP 2 /* two 32-byte columns: one cache line of each row */
#define LC_V_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#define LC_V_AHEAD 32
#include "count_tmpl.h"

void lc_kern_count_avx2(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                        uint64_t *planes, size_t pstride)
{
    size_t ngroups = n / 512, done = ngroups * 8;

    lc_kern_count_cols(vecs, stride, p, ngroups, planes, pstride, lc_kern_nplanes(p));
    lc_kern_count_scalar(vecs + done, stride, p, n - done * 64, planes + done, pstride);
}

void lc_kern_decode_majority_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  uint64_t tiepat, uint64_t *bits)
{
    size_t nvec = n / 256, done = nvec * 4;

    lc_kern_majority_cols(planes, pstride, p, nvec, tiepat, bits, lc_kern_nplanes(p));
    lc_kern_decode_majority_scalar(planes + done, pstride, p, n - done * 64, tiepat,
                                   bits + done);
}

/* Averages of the 8 elements at bits 8g..8g+7 of word wi: the counts are
 * assembled plane by plane (top first), then (p - 2c) / p as in the scalar code. */
static inline __m256 lc_kern_avg8(const uint64_t *planes, size_t pstride, int w, size_t wi,
                                  unsigned g, __m256 pf, __m256i pi)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), one = _mm256_set1_epi32(1);
    __m256i c = _mm256_setzero_si256();

    for (int k = w - 1; k >= 0; k--) {
        uint64_t x = lc_kern_ld64(planes + (size_t)k * pstride + wi);
        __m256i b = _mm256_set1_epi32((int)((x >> (8 * g)) & 0xff));

        b = _mm256_and_si256(_mm256_srlv_epi32(b, lane), one);
        c = _mm256_add_epi32(_mm256_add_epi32(c, c), b);
    }
    c = _mm256_sub_epi32(pi, _mm256_add_epi32(c, c));
    return _mm256_div_ps(_mm256_cvtepi32_ps(c), pf);
}

void lc_kern_decode_avg_fp32_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  float *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m256 pf = _mm256_set1_ps((float)p);
    __m256i pi = _mm256_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++)
        for (unsigned g = 0; g < 8; g++)
            _mm256_storeu_ps(out + wi * 64 + 8 * g, lc_kern_avg8(planes, pstride, w, wi, g, pf, pi));
    lc_kern_decode_avg_fp32_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}

void lc_kern_decode_avg_bf16_avx2(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                  uint16_t *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m256 pf = _mm256_set1_ps((float)p);
    __m256i pi = _mm256_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++)
        for (unsigned g = 0; g < 8; g += 2) {
            __m256 a = lc_kern_avg8(planes, pstride, w, wi, g, pf, pi);
            __m256 b = lc_kern_avg8(planes, pstride, w, wi, g + 1, pf, pi);

            lc_avx2_store_bf16x16(out + wi * 64 + 8 * g,
                                  lc_avx2_bf16_round(_mm256_castps_si256(a)),
                                  lc_avx2_bf16_round(_mm256_castps_si256(b)));
        }
    lc_kern_decode_avg_bf16_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}
