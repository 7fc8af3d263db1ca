/* reference.h - plain, independent reference results for the collective tests. */
#ifndef LC_TEST_REFERENCE_H
#define LC_TEST_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/lioncub.h"

/* The IEEE sign bit of element i of x. */
int ref_sign(const void *x, lc_dtype_t dt, size_t i);
float ref_bf16_to_f32(uint16_t h);
uint16_t ref_f32_to_bf16(float f);
/* Fill n elements of dtype with random values in (-1, 1); with specials, some
 * are ±0, ±Inf, NaN or subnormal. */
void ref_fill(void *x, lc_dtype_t dt, size_t n, uint64_t seed, int specials);
/* Majority over p inputs of dtype (LC_BITS allowed) with the tie rule: bits. */
void ref_majority(const void *const *in, lc_dtype_t dt, int p, size_t n, uint64_t salt,
                  uint64_t *bits);
/* Average of signs as fp32: (p - 2k) / p. */
void ref_average(const void *const *in, lc_dtype_t dt, int p, size_t n, float *out);
/* L1 levels of one input (double arithmetic, as documented), in [-levels, levels]. */
void ref_quantize(const void *c, lc_dtype_t dt, size_t n, unsigned levels, int8_t *q);
/* Sign of the sum of p ranks' levels with the tie rule: bits; where the sum is 0: ties. */
void ref_l1(const int8_t *const *q, int p, size_t n, uint64_t salt, uint64_t *bits,
            uint64_t *ties);
/*
 * lc_allreduce's sum (or average) of p inputs of fp32 or bf16, in its
 * documented order: with `tree` (p a power of two on hosts that are aligned
 * blocks of L >= 2 ranks) as ((x0 + x1) + (x2 + x3)) + ..., else as the ring,
 * where element i of piece k = i / ceil(n / p) is
 * x[k+p-1] + (... + (x[k+1] + x[k])) (ranks mod p). bf16 partial sums are
 * rounded to bf16 at every addition.
 */
void ref_allreduce(const void *const *in, lc_dtype_t dt, lc_op_t op, int p, size_t n, int tree,
                   void *out);
/* Bit i of a packed vector. */
static inline int ref_bit(const uint64_t *bits, size_t i)
{
    return (int)((bits[i / 64] >> (i % 64)) & 1);
}

#endif
