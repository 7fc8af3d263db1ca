/*
 * apply_scalar.c - the scalar reference of the fused Lion update:
 *     param = param * decay - lr * s,  decay = 1 - lr*wd (computed by kernels.c)
 * with s = +1/-1 from packed signs (lr * s is lr with its sign flipped when the
 * bit is set) or s = u[i] (apply_update).
 *
 * Every level computes exactly: t = param * decay (fp32 multiply), then
 * t - lr*s (fp32 multiply, fp32 subtract), never fused: the kernels are built
 * with -ffp-contract=off (cmake/lc_simd.cmake), and the SIMD paths use the
 * same separate multiply and subtract, so the results are identical bit for
 * bit. bf16 parameters are widened exactly, updated in fp32 and rounded to
 * nearest even with lc_kern_bf16_round().
 */
#include "kern.h"

static inline float lc_kern_lion(float param, float decay, float step)
{
    float t = param * decay;

    return t - step;
}

/* lr with its sign flipped by a set bit: lr * (-1), exactly. */
static inline float lc_kern_signed_lr(float lr, uint64_t bit)
{
    return lc_kern_u2f(lc_kern_f2u(lr) ^ (uint32_t)bit << 31);
}

void lc_kern_apply_signs_fp32_scalar(float *param, const uint64_t *bits, size_t n, float decay,
                                     float lr)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = lc_kern_ld64(bits + wi);

        for (size_t i = 0; i < m; i++) {
            float x;

            memcpy(&x, param + wi * 64 + i, sizeof(x));
            x = lc_kern_lion(x, decay, lc_kern_signed_lr(lr, (word >> i) & 1));
            memcpy(param + wi * 64 + i, &x, sizeof(x));
        }
    }
}

void lc_kern_apply_signs_bf16_scalar(uint16_t *param, const uint64_t *bits, size_t n, float decay,
                                     float lr)
{
    for (size_t wi = 0; wi * 64 < n; wi++) {
        size_t m = n - wi * 64 < 64 ? n - wi * 64 : 64;
        uint64_t word = lc_kern_ld64(bits + wi);

        for (size_t i = 0; i < m; i++) {
            uint16_t h;
            float x;

            memcpy(&h, param + wi * 64 + i, sizeof(h));
            x = lc_kern_lion(lc_kern_u2f((uint32_t)h << 16), decay,
                             lc_kern_signed_lr(lr, (word >> i) & 1));
            h = lc_kern_bf16_round(lc_kern_f2u(x));
            memcpy(param + wi * 64 + i, &h, sizeof(h));
        }
    }
}

void lc_kern_apply_update_fp32_scalar(float *param, const float *u, size_t n, float decay, float lr)
{
    for (size_t i = 0; i < n; i++) {
        float x, d;

        memcpy(&x, param + i, sizeof(x));
        memcpy(&d, u + i, sizeof(d));
        x = lc_kern_lion(x, decay, lr * d);
        memcpy(param + i, &x, sizeof(x));
    }
}

void lc_kern_apply_update_bf16_scalar(uint16_t *param, const float *u, size_t n, float decay,
                                      float lr)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        float d, x;

        memcpy(&h, param + i, sizeof(h));
        memcpy(&d, u + i, sizeof(d));
        x = lc_kern_lion(lc_kern_u2f((uint32_t)h << 16), decay, lr * d);
        h = lc_kern_bf16_round(lc_kern_f2u(x));
        memcpy(param + i, &h, sizeof(h));
    }
}
