/* reference.c - straightforward per-element reference implementations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reference.h"

int ref_sign(const void *x, lc_dtype_t dt, size_t i)
{
    switch (dt) {
    case LC_FP32: {
        uint32_t u;
        memcpy(&u, (const char *)x + 4 * i, 4);
        return (int)(u >> 31);
    }
    case LC_BF16:
    case LC_FP16:
        return ((const uint16_t *)x)[i] >> 15;
    case LC_BITS:
        return ref_bit(x, i);
    default:
        return -1;
    }
}

float ref_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t ref_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if (isnan(f))
        return (uint16_t)((u >> 16) | 0x40);
    /* round to nearest, ties to even */
    uint32_t lower = u & 0xffff, upper = u >> 16;
    if (lower > 0x8000 || (lower == 0x8000 && (upper & 1)))
        upper++;
    return (uint16_t)upper;
}

void ref_fill(void *x, lc_dtype_t dt, size_t n, uint64_t seed, int specials)
{
    uint64_t s = seed;

    for (size_t i = 0; i < n; i++) {
        uint64_t r = lc_test_rand(&s);
        float f = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);

        switch (specials ? r % 97 : 96) { /* a few special values */
        case 0: f = 0.0f; break;
        case 1: f = -0.0f; break;
        case 2: f = INFINITY; break;
        case 3: f = -INFINITY; break;
        case 4: f = NAN; break;
        case 5: f = -1e-40f; break;
        default: break;
        }
        switch (dt) {
        case LC_FP32:
            memcpy((char *)x + 4 * i, &f, 4);
            break;
        case LC_BF16:
            ((uint16_t *)x)[i] = ref_f32_to_bf16(f);
            break;
        case LC_FP16: /* random bit patterns: only the sign bit matters */
            ((uint16_t *)x)[i] = (uint16_t)(r >> 40);
            break;
        case LC_BITS:
            if (i % 64 == 0)
                ((uint64_t *)x)[i / 64] = 0;
            ((uint64_t *)x)[i / 64] |= (uint64_t)(r >> 63) << (i % 64);
            break;
        case LC_INT8:
            ((int8_t *)x)[i] = (int8_t)((int)(r % 15) - 7);
            break;
        default:
            break;
        }
    }
}

static int ref_decide(long twice_sum_neg, int p, size_t i, uint64_t salt)
{
    /* twice_sum_neg = 2k - p: > 0 majority negative */
    (void)p;
    if (twice_sum_neg > 0)
        return 1;
    if (twice_sum_neg < 0)
        return 0;
    return (int)((i + salt) & 1);
}

void ref_majority(const void *const *in, lc_dtype_t dt, int p, size_t n, uint64_t salt,
                  uint64_t *bits)
{
    memset(bits, 0, LC_BITS_WORDS(n) * 8);
    for (size_t i = 0; i < n; i++) {
        long k = 0;
        for (int j = 0; j < p; j++)
            k += ref_sign(in[j], dt, i);
        if (ref_decide(2 * k - p, p, i, salt))
            bits[i / 64] |= 1ull << (i % 64);
    }
}

void ref_average(const void *const *in, lc_dtype_t dt, int p, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++) {
        int k = 0;
        for (int j = 0; j < p; j++)
            k += ref_sign(in[j], dt, i);
        out[i] = (float)(p - 2 * k) / (float)p;
    }
}

static double ref_value(const void *c, lc_dtype_t dt, size_t i)
{
    if (dt == LC_FP32) {
        float f;
        memcpy(&f, (const char *)c + 4 * i, 4);
        return f;
    }
    return ref_bf16_to_f32(((const uint16_t *)c)[i]);
}

void ref_quantize(const void *c, lc_dtype_t dt, size_t n, unsigned levels, int8_t *q)
{
    double s = (double)levels, part[8] = {0}, sum, mean, scale;

    for (size_t i = 0; i < n; i++)
        part[i % 8] += fabs(ref_value(c, dt, i));
    sum = part[0];
    for (int k = 1; k < 8; k++)
        sum += part[k];
    mean = n ? sum / (double)n : 0;
    scale = mean > 0 ? 0.5 * s / mean : 0;
    for (size_t i = 0; i < n; i++) {
        double x = ref_value(c, dt, i) * scale;
        if (isnan(x))
            q[i] = 0;
        else if (x > s)
            q[i] = (int8_t)s;
        else if (x < -s)
            q[i] = (int8_t)-s;
        else
            q[i] = (int8_t)nearbyint(x); /* default rounding mode: half to even */
    }
}

void ref_l1(const int8_t *const *q, int p, size_t n, uint64_t salt, uint64_t *bits,
            uint64_t *ties)
{
    memset(bits, 0, LC_BITS_WORDS(n) * 8);
    memset(ties, 0, LC_BITS_WORDS(n) * 8);
    for (size_t i = 0; i < n; i++) {
        long sum = 0;
        for (int j = 0; j < p; j++)
            sum += q[j][i];
        if (ref_decide(-sum, p, i, salt))
            bits[i / 64] |= 1ull << (i % 64);
        if (sum == 0)
            ties[i / 64] |= 1ull << (i % 64);
    }
}

/* a + b in dt's arithmetic: fp32, or fp32 rounded to bf16. */
static float ref_add(float a, float b, lc_dtype_t dt)
{
    float s = a + b;
    return dt == LC_BF16 ? ref_bf16_to_f32(ref_f32_to_bf16(s)) : s;
}

static float ref_tree_sum(const float *v, int lo, int hi, lc_dtype_t dt)
{
    int mid = lo + (hi - lo) / 2;

    if (hi - lo == 1)
        return v[lo];
    return ref_add(ref_tree_sum(v, lo, mid, dt), ref_tree_sum(v, mid, hi, dt), dt);
}

void ref_allreduce(const void *const *in, lc_dtype_t dt, lc_op_t op, int p, size_t n, int tree,
                   void *out)
{
    size_t piece = (n + (size_t)p - 1) / (size_t)p;
    float *v = malloc((size_t)p * sizeof(float));

    for (size_t i = 0; i < n; i++) {
        float sum;
        for (int j = 0; j < p; j++)
            v[j] = dt == LC_BF16 ? ref_bf16_to_f32(((const uint16_t *)in[j])[i])
                                 : ((const float *)in[j])[i];
        if (tree) {
            sum = ref_tree_sum(v, 0, p, dt);
        } else {
            int k = (int)(i / piece);
            sum = v[k];
            for (int j = 1; j < p; j++)
                sum = ref_add(v[(k + j) % p], sum, dt);
        }
        if (op == LC_AVG)
            sum = sum / (float)p;
        if (dt == LC_BF16)
            ((uint16_t *)out)[i] = ref_f32_to_bf16(sum);
        else
            ((float *)out)[i] = sum;
    }
    free(v);
}
