/* lion_ref.h - a plain C reference of the Lion step and the test data, for the Lion tests. */
#ifndef LION_REF_H
#define LION_REF_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/lioncub.h"

/* The hyper-parameters of a reference step (betas already defaulted). */
typedef struct ref_cfg {
    lc_lion_mode_t mode;
    float lr, wd, beta1, beta2;
    unsigned level_bits;
    unsigned levels; /* vote-l1 levels per side, or 0: 2^(level_bits - 1) - 1 */
} ref_cfg_t;

float ref_bf16_to_f32(uint16_t h);
uint16_t ref_f32_to_bf16(float f);

/* Deterministic data: a value of about unit size for (seed, a, b, i), never 0. */
float ref_value(uint64_t seed, uint64_t a, uint64_t b, uint64_t i);

/*
 * One reference step of one group over p ranks that share the parameters:
 * params (n of dtype) updated in place, m[r] the momentum of rank r (the
 * global modes use m[0] only), grads[r] rank r's gradient (n of dtype).
 * Global modes average the gradients in double (exact at p = 1 only).
 */
void ref_step(const ref_cfg_t *cfg, int p, size_t n, lc_dtype_t dtype, void *params,
              float *const *m, const void *const *grads, uint64_t step);

/* x[i] = ref_value(seed, a, b, i) for n elements of dt (fp32, or bf16 rounded). */
void ref_fill(void *x, size_t n, lc_dtype_t dt, uint64_t seed, uint64_t a, uint64_t b);

/* cmocka setup/teardown: *state is a one-rank communicator. */
int ref_one_rank_setup(void **state);
int ref_one_rank_teardown(void **state);

/* FNV-1a hash of n bytes, chained from h. */
uint64_t ref_hash(uint64_t h, const void *data, size_t n);

#endif
