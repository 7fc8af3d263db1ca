/* lion_ref.c - the reference Lion step, written from the formulas in lioncub.h, not the library. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lion_ref.h"

float ref_bf16_to_f32(uint16_t h)
{
    union {
        uint32_t u;
        float f;
    } v = {.u = (uint32_t)h << 16};
    return v.f;
}

uint16_t ref_f32_to_bf16(float f)
{
    union {
        uint32_t u;
        float f;
    } v = {.f = f};
    uint32_t lower = v.u & 0xffffu, upper = v.u >> 16;

    if (isnan(f))
        return (uint16_t)(upper | 0x40u);
    if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u)))
        upper++;
    return (uint16_t)upper;
}

static uint64_t ref_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

float ref_value(uint64_t seed, uint64_t a, uint64_t b, uint64_t i)
{
    uint64_t x = ref_mix(ref_mix(ref_mix(ref_mix(seed) ^ a) ^ b) ^ i);
    /* in (-2, 2) without 0: a sign and a magnitude in [2^-10, 2) */
    float mag = (float)((x >> 11) & 0xfffff) / (float)(1 << 19) + 1.0f / 1024.0f;

    return (x & 1) ? -mag : mag;
}

static float ref_load(const void *x, lc_dtype_t dt, size_t i)
{
    return dt == LC_FP32 ? ((const float *)x)[i] : ref_bf16_to_f32(((const uint16_t *)x)[i]);
}

static void ref_store(void *x, lc_dtype_t dt, size_t i, float v)
{
    if (dt == LC_FP32)
        ((float *)x)[i] = v;
    else
        ((uint16_t *)x)[i] = ref_f32_to_bf16(v);
}

/* Each rank's L1 levels of c: clip(rint(c * (s / 2) / mean|c|), -s, s), with
 * |c| summed into 8 partials by index mod 8 (lioncub.h's order). */
static void ref_levels(const float *c, size_t n, int s, int *q)
{
    double part[8] = {0}, mean = 0.0, scale;

    for (size_t i = 0; i < n; i++)
        part[i % 8] += fabs((double)c[i]);
    for (int k = 0; k < 8; k++)
        mean += part[k];
    mean /= (double)n;
    scale = mean > 0.0 ? s / 2.0 / mean : 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = rint((double)c[i] * scale);

        q[i] = v != v ? 0 : v > s ? s : v < -s ? -s : (int)v;
    }
}

void ref_step(const ref_cfg_t *cfg, int p, size_t n, lc_dtype_t dtype, void *params,
              float *const *m, const void *const *grads, uint64_t step)
{
    int global = cfg->mode == LC_LION_GLOBAL_FP32 || cfg->mode == LC_LION_GLOBAL_BF16;
    float *c = calloc((size_t)p * n + 1, sizeof(float));
    float *u = calloc(n + 1, sizeof(float));
    int *q = calloc(n + 1, sizeof(int)), *qsum = calloc(n + 1, sizeof(int));
    int nr = global ? 1 : p;

    for (int r = 0; r < nr; r++) {
        for (size_t i = 0; i < n; i++) {
            float g;

            if (global) {
                double sum = 0.0;

                for (int j = 0; j < p; j++) {
                    float gj = ref_load(grads[j], dtype, i);

                    if (cfg->mode == LC_LION_GLOBAL_BF16)
                        gj = ref_bf16_to_f32(ref_f32_to_bf16(gj));
                    sum += gj;
                }
                g = (float)(sum / p);
                if (cfg->mode == LC_LION_GLOBAL_BF16)
                    g = ref_bf16_to_f32(ref_f32_to_bf16(g));
            } else {
                g = ref_load(grads[r], dtype, i);
            }
            c[(size_t)r * n + i] = cfg->beta1 * m[r][i] + (1.0f - cfg->beta1) * g;
            m[r][i] = cfg->beta2 * m[r][i] + (1.0f - cfg->beta2) * g;
        }
        if (cfg->mode == LC_LION_VOTE_L1) {
            ref_levels(c + (size_t)r * n, n,
                       cfg->levels ? (int)cfg->levels : (1 << (cfg->level_bits - 1)) - 1, q);
            for (size_t i = 0; i < n; i++)
                qsum[i] += q[i];
        }
    }
    for (size_t i = 0; i < n; i++) {
        int neg = 0;

        for (int r = 0; r < nr; r++) {
            float cr = c[(size_t)r * n + i];

            /* a c of +-0 votes -1 where (i + step + rank) is odd */
            neg += cr == 0.0f ? (int)((i + step + (uint64_t)r) & 1) : signbit(cr) ? 1 : 0;
        }
        switch (cfg->mode) {
        case LC_LION_GLOBAL_FP32:
        case LC_LION_GLOBAL_BF16:
            u[i] = c[i] > 0 ? 1.0f : c[i] < 0 ? -1.0f : 0.0f;
            break;
        case LC_LION_VOTE:
            if (2 * neg == p)
                u[i] = ((i + step) & 1) ? -1.0f : 1.0f;
            else
                u[i] = 2 * neg > p ? -1.0f : 1.0f;
            break;
        case LC_LION_VOTE_AVG:
            u[i] = (float)(p - 2 * neg) / (float)p;
            break;
        default: /* a tie abstains */
            if (qsum[i] == 0)
                u[i] = 0.0f;
            else
                u[i] = qsum[i] < 0 ? -1.0f : 1.0f;
            break;
        }
        ref_store(params, dtype, i,
                  ref_load(params, dtype, i) * (1.0f - cfg->lr * cfg->wd) - cfg->lr * u[i]);
    }
    free(c);
    free(u);
    free(q);
    free(qsum);
}

uint64_t ref_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

void ref_fill(void *x, size_t n, lc_dtype_t dt, uint64_t seed, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < n; i++)
        ref_store(x, dt, i, ref_value(seed, a, b, i));
}

int ref_one_rank_setup(void **state)
{
    lc_unique_id_t id;
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 0, .nranks = 1, .id = &id};
    lc_comm_t *comm = NULL;

    if (lc_get_unique_id(&id) || lc_comm_init(&cfg, &comm)) {
        fprintf(stderr, "one-rank communicator: %s\n", lc_last_error());
        return -1;
    }
    *state = comm;
    return 0;
}

int ref_one_rank_teardown(void **state)
{
    return lc_comm_destroy(*state);
}
