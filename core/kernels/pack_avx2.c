/*
 * pack_avx2.c - sign packing and unpacking with AVX2: signed saturating
 * packs narrow the values to bytes keeping their signs, and movemask gathers
 * 32 sign bits at once; unpacking turns each bit into a sign bit OR-ed onto
 * +1.0.
 */
#include "kern.h"
#include "simd_avx2.h"

/* Sign bits of 32 fp32 values, in order: two signed saturating packs keep
 * each sign in a byte; a lane permutation restores the order. */
static inline uint32_t lc_avx2_signs32x32(const float *s)
{
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i a = _mm256_castps_si256(_mm256_loadu_ps(s));
    __m256i b = _mm256_castps_si256(_mm256_loadu_ps(s + 8));
    __m256i c = _mm256_castps_si256(_mm256_loadu_ps(s + 16));
    __m256i d = _mm256_castps_si256(_mm256_loadu_ps(s + 24));
    __m256i x = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));

    return (uint32_t)_mm256_movemask_epi8(_mm256_permutevar8x32_epi32(x, order));
}

void lc_kern_pack_fp32_avx2(const float *x, size_t n, uint64_t *bits)
{
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        const float *s = x + wi * 64;

        lc_kern_st64(bits + wi, lc_avx2_signs32x32(s) | (uint64_t)lc_avx2_signs32x32(s + 32) << 32);
    }
    lc_kern_pack_fp32_scalar(x + nw * 64, n - nw * 64, bits + nw);
}

/* Sign bits of 32 16-bit values, in order. */
static inline uint32_t lc_avx2_signs16x32(const uint16_t *s)
{
    __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)s);
    __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + 16));
    __m256i r = _mm256_permute4x64_epi64(_mm256_packs_epi16(a, b), 0xd8);

    return (uint32_t)_mm256_movemask_epi8(r);
}

void lc_kern_pack_16_avx2(const uint16_t *x, size_t n, uint64_t *bits)
{
    size_t nw = n / 64;

    for (size_t wi = 0; wi < nw; wi++) {
        const uint16_t *s = x + wi * 64;

        lc_kern_st64(bits + wi, lc_avx2_signs16x32(s) | (uint64_t)lc_avx2_signs16x32(s + 32) << 32);
    }
    lc_kern_pack_16_scalar(x + nw * 64, n - nw * 64, bits + nw);
}

void lc_kern_unpack_fp32_avx2(const uint64_t *bits, size_t n, float *out)
{
    size_t nw = n / 64;
    const __m256i one = _mm256_set1_epi32(0x3f800000);

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 8; g++) {
            __m256i v =
                _mm256_or_si256(one, lc_avx2_bits_to_signs((uint32_t)(word >> (8 * g)) & 0xff));

            _mm256_storeu_si256((__m256i *)(void *)(out + wi * 64 + 8 * g), v);
        }
    }
    lc_kern_unpack_fp32_scalar(bits + nw, n - nw * 64, out + nw * 64);
}

void lc_kern_unpack_16_avx2(const uint64_t *bits, size_t n, uint16_t one, uint16_t *out)
{
    size_t nw = n / 64;
    const __m256i lanebit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
                                              4096, 8192, 16384, (short)0x8000);
    const __m256i vone = _mm256_set1_epi16((short)one), sign = _mm256_set1_epi16((short)0x8000);

    for (size_t wi = 0; wi < nw; wi++) {
        uint64_t word = lc_kern_ld64(bits + wi);

        for (unsigned g = 0; g < 4; g++) {
            __m256i b = _mm256_set1_epi16((short)(uint16_t)(word >> (16 * g)));
            __m256i m = _mm256_cmpeq_epi16(_mm256_and_si256(b, lanebit), lanebit);
            __m256i v = _mm256_or_si256(vone, _mm256_and_si256(m, sign));

            _mm256_storeu_si256((__m256i *)(void *)(out + wi * 64 + 16 * g), v);
        }
    }
    lc_kern_unpack_16_scalar(bits + nw, n - nw * 64, one, out + nw * 64);
}
