/*
 * count_avx512.c - the vote counter and the decoders with AVX-512: the
 * counter template (count_tmpl.h) on 512-bit vectors, eight words of
 * elements per column, each carry-save adder two ternary-logic instructions;
 * the average decode builds 16 counts at a time with mask registers.
 */
#include "kern.h"
#include "simd_avx512.h"

#define LC_V              __m512i
#define LC_V_WORDS        8
#define LC_V_LOAD(p)      _mm512_loadu_si512((const void *)(p))
#define LC_V_STORE(p, v)  _mm512_storeu_si512((void *)(p), v)
#define LC_V_AND(a, b)    _mm512_and_si512(a, b)
#define LC_V_OR(a, b)     _mm512_or_si512(a, b)
#define LC_V_XOR(a, b)    _mm512_xor_si512(a, b)
#define LC_V_ANDNOT(a, b) _mm512_andnot_si512(a, b)
#define LC_V_ZERO         _mm512_setzero_si512()
#define LC_V_ONES         _mm512_set1_epi64(-1)
#define LC_V_SET1(x)      _mm512_set1_epi64((long long)(x))
/* 0xe8: majority of the three inputs; 0x96: their XOR. */
#define LC_V_CSA(h, l, a, b, c)                                                                    \
    do {                                                                                           \
        LC_V b_ = (b), c_ = (c);                                                                   \
        h = _mm512_ternarylogic_epi64(a, b_, c_, 0xe8);                                            \
        l = _mm512_ternarylogic_epi64(a, b_, c_, 0x96);                                            \
    } while (0)
#define LC_V_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#define LC_V_AHEAD       32
#include "count_tmpl.h"

void lc_kern_count_avx512(const uint64_t *vecs, size_t stride, size_t p, size_t n, uint64_t *planes,
                          size_t pstride)
{
    size_t nvec = n / 512, done = nvec * 8;

    lc_kern_count_cols(vecs, stride, p, nvec, planes, pstride, lc_kern_nplanes(p));
    lc_kern_count_scalar(vecs + done, stride, p, n - done * 64, planes + done, pstride);
}

void lc_kern_count_majority_avx512(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                                 uint64_t tiepat, uint64_t *bits)
{
    size_t nvec = n / 512, done = nvec * 8;

    lc_kern_count_majority_cols(vecs, stride, p, nvec, tiepat, bits);
    lc_kern_count_majority_scalar(vecs + done, stride, p, n - done * 64, tiepat, bits + done);
}

void lc_kern_decode_majority_avx512(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    uint64_t tiepat, uint64_t *bits)
{
    size_t nvec = n / 512, done = nvec * 8;

    lc_kern_majority_cols(planes, pstride, p, nvec, tiepat, bits, lc_kern_nplanes(p));
    lc_kern_decode_majority_scalar(planes + done, pstride, p, n - done * 64, tiepat, bits + done);
}

/* Averages of the 16 elements at bits 16g..16g+15 of word wi, as in the scalar code. */
static inline __m512 lc_kern_avg16(const uint64_t *planes, size_t pstride, int w, size_t wi,
                                   unsigned g, __m512 pf, __m512i pi)
{
    const __m512i one = _mm512_set1_epi32(1);
    __m512i c = _mm512_setzero_si512();

    for (int k = w - 1; k >= 0; k--) {
        __mmask16 m = (__mmask16)(lc_kern_ld64(planes + (size_t)k * pstride + wi) >> (16 * g));

        c = _mm512_add_epi32(c, c);
        c = _mm512_mask_or_epi32(c, m, c, one);
    }
    c = _mm512_sub_epi32(pi, _mm512_add_epi32(c, c));
    return _mm512_div_ps(_mm512_cvtepi32_ps(c), pf);
}

void lc_kern_decode_avg_fp32_avx512(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    float *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m512 pf = _mm512_set1_ps((float)p);
    __m512i pi = _mm512_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++)
        for (unsigned g = 0; g < 4; g++)
            _mm512_storeu_ps(out + wi * 64 + 16 * g,
                             lc_kern_avg16(planes, pstride, w, wi, g, pf, pi));
    lc_kern_decode_avg_fp32_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}

void lc_kern_decode_avg_bf16_avx512(const uint64_t *planes, size_t pstride, size_t p, size_t n,
                                    uint16_t *out)
{
    int w = lc_kern_nplanes(p);
    size_t nw = n / 64;
    __m512 pf = _mm512_set1_ps((float)p);
    __m512i pi = _mm512_set1_epi32((int)p);

    for (size_t wi = 0; wi < nw; wi++)
        for (unsigned g = 0; g < 4; g++) {
            __m512 a = lc_kern_avg16(planes, pstride, w, wi, g, pf, pi);

            _mm256_storeu_si256((__m256i *)(void *)(out + wi * 64 + 16 * g),
                                lc_avx512_bf16_round(_mm512_castps_si512(a)));
        }
    lc_kern_decode_avg_bf16_scalar(planes + nw, pstride, p, n - nw * 64, out + nw * 64);
}
