/*
 * levels_avx2.c - level packing, accumulation and the sum-sign decode with
 * AVX2.
 *
 * Packing checks 8 levels against their range with byte compares, widens
 * them to 64-bit lanes, shifts field j to bit j*b and ORs the lanes together:
 * 8b bits, stored as 8 bytes of which the next store overwrites all but b.
 * Stores stay inside the output (LC_BITS_WORDS(n*b) words); the scalar code
 * packs the rest from a 64-level boundary.
 *
 * Accumulation reads 8 levels (8*b bits = b bytes) with one 8-byte load
 * broadcast to every 64-bit lane; a byte shuffle moves the two bytes holding
 * level j into 32-bit lane j, a variable shift aligns it, and a shift pair
 * sign-extends it. Loads stay inside the packed buffer (LC_BITS_WORDS(n*b)
 * words); the rest goes to the scalar code from a 64-level boundary.
 *
 * The L1 quantizer widens 8 values to doubles in two registers whose lanes
 * are the 8 partial sums of the scalar code, and rounds and clips 4 doubles
 * at a time with the same IEEE operations, so the levels are identical.
 */
#include "kern.h"
#include "simd_avx2.h"

int lc_kern_levels_pack_avx2(const int8_t *q, size_t n, unsigned b, uint64_t *out)
{
    size_t nbytes = LC_BITS_WORDS(n * b) * 8, i = 0;
    unsigned char *dst = (unsigned char *)out;
    int lo = b == 1 ? -1 : -((1 << (b - 1)) - 1), hi = b == 1 ? 0 : (1 << (b - 1)) - 1;
    const __m128i vlo = _mm_set1_epi8((char)lo), vhi = _mm_set1_epi8((char)hi);
    const __m256i mask = _mm256_set1_epi64x((long long)((1u << b) - 1));
    const __m256i sh_lo = _mm256_setr_epi64x(0, b, 2 * b, 3 * b);
    const __m256i sh_hi = _mm256_setr_epi64x(4 * b, 5 * b, 6 * b, 7 * b);
    __m128i bad = _mm_setzero_si128();

    for (; i + 64 <= n && (i + 56) * b / 8 + 8 <= nbytes; i += 64)
        for (size_t e = i; e < i + 64; e += 8) {
            __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)(q + e));
            __m256i a, c;
            uint64_t v;

            bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpgt_epi8(x, vhi), _mm_cmplt_epi8(x, vlo)));
            a = _mm256_sllv_epi64(_mm256_and_si256(_mm256_cvtepi8_epi64(x), mask), sh_lo);
            c = _mm256_and_si256(_mm256_cvtepi8_epi64(_mm_srli_si128(x, 4)), mask);
            a = _mm256_or_si256(a, _mm256_sllv_epi64(c, sh_hi));
            a = _mm256_or_si256(a, _mm256_permute4x64_epi64(a, 0x4e));
            a = _mm256_or_si256(a, _mm256_shuffle_epi32(a, 0x4e));
            v = (uint64_t)_mm_cvtsi128_si64(_mm256_castsi256_si128(a));
            memcpy(dst + e * b / 8, &v, sizeof(v));
        }
    if (!_mm_testz_si128(bad, bad))
        return -ERANGE;
    return lc_kern_levels_pack_scalar(q + i, n - i, b, out + i * b / 64);
}

void lc_kern_levels_accumulate_avx2(const uint64_t *packed, size_t n, unsigned b, int32_t *sums)
{
    size_t nbytes = LC_BITS_WORDS(n * b) * 8, i = 0;
    const uint8_t *src = (const uint8_t *)packed;
    int8_t ctl[32];
    int32_t sh[8];

    for (unsigned j = 0; j < 8; j++) {
        unsigned byte = j * b / 8;

        sh[j] = (int32_t)(j * b % 8);
        /* Lanes 0-3 shuffle the low 128 bits, lanes 4-7 the high ones; both hold the
         * 8 loaded bytes (twice), so byte indices 0..8 are valid in either half. */
        ctl[16 * (j / 4) + 4 * (j % 4) + 0] = (int8_t)byte;
        ctl[16 * (j / 4) + 4 * (j % 4) + 1] = (int8_t)(byte + 1);
        ctl[16 * (j / 4) + 4 * (j % 4) + 2] = (int8_t)0x80;
        ctl[16 * (j / 4) + 4 * (j % 4) + 3] = (int8_t)0x80;
    }
    const __m256i vctl = _mm256_loadu_si256((const __m256i *)(const void *)ctl);
    const __m256i vsh = _mm256_loadu_si256((const __m256i *)(const void *)sh);
    const int ext = 32 - (int)b;

    for (; i + 64 <= n && (i + 56) * b / 8 + 8 <= nbytes; i += 64)
        for (size_t e = i; e < i + 64; e += 8) {
            uint64_t raw;

            memcpy(&raw, src + e * b / 8, sizeof(raw));
            __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)raw), vctl);
            v = _mm256_srlv_epi32(v, vsh);
            v = _mm256_srai_epi32(_mm256_slli_epi32(v, ext), ext);
            __m256i *d = (__m256i *)(void *)(sums + e);
            _mm256_storeu_si256(d, _mm256_add_epi32(_mm256_loadu_si256(d), v));
        }
    lc_kern_levels_accumulate_scalar(packed + i * b / 64, n - i, b, sums + i);
}

void lc_kern_decode_sum_sign_avx2(const int32_t *sums, size_t n, uint64_t tiepat, uint64_t *bits)
{
    size_t nw = n / 64;
    const __m256i zero = _mm256_setzero_si256();

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t neg = 0, zer = 0;

        for (unsigned g = 0; g < 8; g++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(sums + wi * 64 + 8 * g));

            neg |= (uint64_t)(uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(v)) << (8 * g);
            zer |= (uint64_t)(uint32_t)_mm256_movemask_ps(
                       _mm256_castsi256_ps(_mm256_cmpeq_epi32(v, zero)))
                   << (8 * g);
        }
        lc_kern_st64(bits + wi, neg | (zer & tiepat));
    }
    lc_kern_decode_sum_sign_scalar(sums + nw * 64, n - nw * 64, tiepat, bits + nw);
}

/* 8 values from c + i as doubles: elements i..i+3 in *lo, i+4..i+7 in *hi. */
static inline void lc_avx2_l1_load(const void *c, lc_dtype_t dtype, size_t i, __m256d *lo,
                                   __m256d *hi)
{
    __m256 f = dtype == LC_FP32 ? _mm256_loadu_ps((const float *)c + i)
                                : lc_avx2_load_bf16x8((const uint16_t *)c + i);

    *lo = _mm256_cvtps_pd(_mm256_castps256_ps128(f));
    *hi = _mm256_cvtps_pd(_mm256_extractf128_ps(f, 1));
}

/* round half to even, clip to [-s, s], NaN to 0; 4 levels as int32 */
static inline __m128i lc_avx2_l1_level4(__m256d x, __m256d s)
{
    __m256d r = _mm256_round_pd(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);

    r = _mm256_max_pd(_mm256_min_pd(r, s), _mm256_sub_pd(_mm256_setzero_pd(), s));
    r = _mm256_and_pd(r, _mm256_cmp_pd(x, x, _CMP_ORD_Q));
    return _mm256_cvtpd_epi32(r);
}

void lc_kern_quantize_l1_avx2(const void *c, lc_dtype_t dtype, size_t n, unsigned s, int8_t *q)
{
    double part[LC_KERN_L1_PARTS], scale;
    size_t n8 = n & ~(size_t)7;
    __m256d acc_lo = _mm256_setzero_pd(), acc_hi = _mm256_setzero_pd(), lo, hi;
    const __m256d absmask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffll));

    for (size_t i = 0; i < n8; i += 8) {
        lc_avx2_l1_load(c, dtype, i, &lo, &hi);
        acc_lo = _mm256_add_pd(acc_lo, _mm256_and_pd(lo, absmask));
        acc_hi = _mm256_add_pd(acc_hi, _mm256_and_pd(hi, absmask));
    }
    _mm256_storeu_pd(part, acc_lo);
    _mm256_storeu_pd(part + 4, acc_hi);
    lc_kern_l1_partials_scalar(c, dtype, n8, n, part);
    scale = lc_kern_l1_scale(part, n, s);

    const __m256d vscale = _mm256_set1_pd(scale);
    const __m256d vs = _mm256_set1_pd((double)s);

    for (size_t i = 0; i < n8; i += 8) {
        __m128i l4, h4, v;

        lc_avx2_l1_load(c, dtype, i, &lo, &hi);
        l4 = lc_avx2_l1_level4(_mm256_mul_pd(lo, vscale), vs);
        h4 = lc_avx2_l1_level4(_mm256_mul_pd(hi, vscale), vs);
        v = _mm_packs_epi16(_mm_packs_epi32(l4, h4), _mm_setzero_si128());
        _mm_storel_epi64((__m128i *)(void *)(q + i), v);
    }
    lc_kern_l1_levels_scalar(c, dtype, n8, n, scale, s, q);
}
