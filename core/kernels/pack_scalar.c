/*
 * pack_scalar.c - the scalar reference of sign packing (fp32, bf16, fp16:
 * the IEEE sign bit) and of unpacking bits to +1/-1 values.
 */
#include "kern.h"

void lc_kern_pack_fp32_scalar(const float *x, size_t n, uint64_t *bits)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = 0;

        for (size_t i = 0; i < m; i++) {
            uint32_t u;

            memcpy(&u, x + wi * 64 + i, sizeof(u));
            word |= (uint64_t)(u >> 31) << i;
        }
        lc_kern_st64(bits + wi, word);
    }
}

void lc_kern_pack_16_scalar(const uint16_t *x, size_t n, uint64_t *bits)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = 0;

        for (size_t i = 0; i < m; i++) {
            uint16_t u;

            memcpy(&u, x + wi * 64 + i, sizeof(u));
            word |= (uint64_t)(u >> 15) << i;
        }
        lc_kern_st64(bits + wi, word);
    }
}

void lc_kern_unpack_fp32_scalar(const uint64_t *bits, size_t n, float *out)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = lc_kern_ld64(bits + wi);

        for (size_t i = 0; i < m; i++) {
            uint32_t u = 0x3f800000u | (uint32_t)((word >> i) & 1) << 31;

            memcpy(out + wi * 64 + i, &u, sizeof(u));
        }
    }
}

/* one: the dtype's +1.0 (0x3f80 for bf16, 0x3c00 for fp16); -1.0 adds the sign bit. */
void lc_kern_unpack_16_scalar(const uint64_t *bits, size_t n, uint16_t one, uint16_t *out)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = lc_kern_ld64(bits + wi);

        for (size_t i = 0; i < m; i++) {
            uint16_t u = (uint16_t)(one | (uint16_t)((word >> i) & 1) << 15);

            memcpy(out + wi * 64 + i, &u, sizeof(u));
        }
    }
}
