/*
 * levels_avx512.c - level packing, accumulation and the sum-sign decode with
 * AVX-512.
 *
 * Packing checks 8 levels against their range with byte compares into a
 * mask, widens them to 64-bit lanes, shifts field j to bit j*b and ORs the
 * lanes together: 8b bits, stored as 8 bytes of which the next store
 * overwrites all but b. Stores stay inside the output; the scalar code packs
 * the rest from a 64-level boundary.
 *
 * Accumulation reads 16 levels (16*b bits = 2b bytes) with one 16-byte load
 * broadcast to the four 128-bit lanes; a byte shuffle moves the two bytes
 * holding level j into 32-bit lane j, a variable shift aligns it and a shift
 * pair sign-extends it. Loads stay inside the packed buffer; the rest goes to
 * the scalar code from a 64-level boundary.
 */
#include "kern.h"
#include "simd_avx512.h"

int lc_kern_levels_pack_avx512(const int8_t *q, size_t n, unsigned b, uint64_t *out)
{
    size_t nbytes = LC_BITS_WORDS(n * b) * 8, i = 0;
    unsigned char *dst = (unsigned char *)out;
    int lo = b == 1 ? -1 : -((1 << (b - 1)) - 1), hi = b == 1 ? 0 : (1 << (b - 1)) - 1;
    const __m128i vlo = _mm_set1_epi8((char)lo), vhi = _mm_set1_epi8((char)hi);
    const __m512i mask = _mm512_set1_epi64((long long)((1u << b) - 1));
    const __m512i sh = _mm512_setr_epi64(0, b, 2 * b, 3 * b, 4 * b, 5 * b, 6 * b, 7 * b);
    __mmask16 bad = 0;

    for (; i + 64 <= n && (i + 56) * b / 8 + 8 <= nbytes; i += 64)
        for (size_t e = i; e < i + 64; e += 8) {
            __m128i x = _mm_loadl_epi64((const __m128i *)(const void *)(q + e));
            __m512i a;
            uint64_t v;

            /* only the low 8 bytes of x are levels; the upper 8 are zero and in range */
            bad |= _mm_cmpgt_epi8_mask(x, vhi) | _mm_cmplt_epi8_mask(x, vlo);
            a = _mm512_sllv_epi64(_mm512_and_si512(_mm512_cvtepi8_epi64(x), mask), sh);
            v = (uint64_t)_mm512_reduce_or_epi64(a);
            memcpy(dst + e * b / 8, &v, sizeof(v));
        }
    if (bad)
        return -ERANGE;
    return lc_kern_levels_pack_scalar(q + i, n - i, b, out + i * b / 64);
}

void lc_kern_levels_accumulate_avx512(const uint64_t *packed, size_t n, unsigned b, int32_t *sums)
{
    size_t nbytes = LC_BITS_WORDS(n * b) * 8, i = 0;
    const uint8_t *src = (const uint8_t *)packed;
    int8_t ctl[64];
    int32_t sh[16];

    for (unsigned j = 0; j < 16; j++) {
        unsigned byte = j * b / 8;
        int8_t *c = ctl + 4 * j; /* lane j lies in 128-bit lane j / 4, all holding the load */

        sh[j] = (int32_t)(j * b % 8);
        c[0] = (int8_t)byte;
        /* byte 15 is only ever the last level's sole byte (j = 15, b = 8) */
        c[1] = byte + 1 < 16 ? (int8_t)(byte + 1) : (int8_t)0x80;
        c[2] = (int8_t)0x80;
        c[3] = (int8_t)0x80;
    }
    const __m512i vctl = _mm512_loadu_si512((const void *)ctl);
    const __m512i vsh = _mm512_loadu_si512((const void *)sh);
    const unsigned ext = 32 - b;

    for (; i + 64 <= n && (i + 48) * b / 8 + 16 <= nbytes; i += 64)
        for (size_t e = i; e < i + 64; e += 16) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(const void *)(src + e * b / 8));
            __m512i v = _mm512_shuffle_epi8(_mm512_broadcast_i32x4(raw), vctl);

            v = _mm512_srlv_epi32(v, vsh);
            v = _mm512_srai_epi32(_mm512_slli_epi32(v, ext), ext);
            _mm512_storeu_si512((void *)(sums + e),
                                _mm512_add_epi32(_mm512_loadu_si512((const void *)(sums + e)), v));
        }
    lc_kern_levels_accumulate_scalar(packed + i * b / 64, n - i, b, sums + i);
}

void lc_kern_decode_sum_sign_avx512(const int32_t *sums, size_t n, uint64_t tiepat, uint64_t *bits)
{
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t neg = 0, zer = 0;

        for (unsigned g = 0; g < 4; g++) {
            __m512i v = _mm512_loadu_si512((const void *)(sums + wi * 64 + 16 * g));

            neg |= (uint64_t)_mm512_movepi32_mask(v) << (16 * g);
            zer |= (uint64_t)_mm512_testn_epi32_mask(v, v) << (16 * g);
        }
        lc_kern_st64(bits + wi, neg | (zer & tiepat));
    }
    lc_kern_decode_sum_sign_scalar(sums + nw * 64, n - nw * 64, tiepat, bits + nw);
}
