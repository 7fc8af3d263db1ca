/*
 * coll.c - lc_coll's collectives: sizes and counts per datatype, every rank's
 * input (regenerable from the seed), one call of the collective, the check
 * against a reference computed from all inputs, and the bandwidth formulas.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kern.h"
#include "lc_coll.h"

const char *const lcc_coll_names[] = {"vote",      "vote-avg",  "vote-l1",
                                      "allreduce", "allgather", NULL};
const char *const lcc_type_names[] = {"float", "bfloat16", "uint8", "bits", NULL};
const char *const lcc_avg_names[] = {"rank0", "mean", "min", "max", NULL};

/* Bytes per element, in eighths (bits: one eighth). */
static size_t lcc_esz8(const struct lcc_opts *o)
{
    static const size_t esz8[LCC_NTYPE] = {32, 16, 8, 1};
    return esz8[o->type];
}

size_t lcc_count(const struct lcc_opts *o, size_t bytes, int p)
{
    if (o->coll == LCC_ALLGATHER)
        bytes /= (size_t)p;
    return bytes * 8 / lcc_esz8(o);
}

size_t lcc_bytes(const struct lcc_opts *o, size_t count, int p)
{
    size_t b = (count * lcc_esz8(o) + 7) / 8;
    return o->coll == LCC_ALLGATHER ? b * (size_t)p : b;
}

size_t lcc_in_len(const struct lcc_opts *o, size_t count)
{
    return o->type == LCC_BITS ? LC_BITS_WORDS(count) * 8 : lcc_bytes(o, count, 1);
}

size_t lcc_out_len(const struct lcc_opts *o, size_t count, int p)
{
    switch (o->coll) {
    case LCC_VOTE:
    case LCC_VOTE_L1:
        return LC_BITS_WORDS(count) * 8;
    case LCC_VOTE_AVG:
        return count * (o->type == LCC_BF16 ? 2 : 4);
    case LCC_ALLGATHER:
        return lcc_bytes(o, count, p);
    default:
        return lcc_bytes(o, count, 1);
    }
}

static uint64_t lcc_rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Small integers for the sum (exact in bf16 up to p = 16), uniform in [-1, 1) for the votes. */
static float lcc_value(const struct lcc_opts *o, uint64_t x)
{
    if (o->coll == LCC_ALLREDUCE)
        return (float)((int)(x % 17) - 8);
    return (float)((double)(x >> 11) * 0x1p-53 * 2.0 - 1.0);
}

void lcc_input(const struct lcc_opts *o, int r, size_t count, void *buf)
{
    uint64_t s = o->seed * 7919 + (uint64_t)r;

    if (o->coll == LCC_ALLGATHER) { /* any bytes: the all-gather moves them unchanged */
        size_t len = lcc_in_len(o, count);
        for (size_t i = 0; i < len; i += 8) {
            uint64_t x = lcc_rnd(&s);
            memcpy((char *)buf + i, &x, len - i < 8 ? len - i : 8);
        }
        return;
    }
    if (o->type == LCC_BITS)
        memset(buf, 0, lcc_in_len(o, count));
    for (size_t i = 0; i < count; i++) {
        float f = lcc_value(o, lcc_rnd(&s));
        uint32_t u = lc_kern_f2u(f);

        if (o->type == LCC_FLOAT)
            ((float *)buf)[i] = f;
        else if (o->type == LCC_BF16)
            ((uint16_t *)buf)[i] = (uint16_t)(u >> 16); /* exact for the sums' integers */
        else
            ((uint64_t *)buf)[i / 64] |= (uint64_t)(u >> 31) << (i % 64);
    }
}

static lc_dtype_t lcc_dtype(const struct lcc_opts *o)
{
    static const lc_dtype_t dt[LCC_NTYPE] = {LC_FP32, LC_BF16, LC_INT8, LC_BITS};
    return dt[o->type];
}

int lcc_run(lc_comm_t *c, const struct lcc_opts *o, const void *in, void *out, size_t count)
{
    lc_vote_opts_t vo = {.size = sizeof(vo), .level_bits = (unsigned)o->level_bits};
    lc_dtype_t dt = lcc_dtype(o);

    switch (o->coll) {
    case LCC_VOTE:
        return lc_vote(c, in, dt, out, LC_BITS, count, NULL);
    case LCC_VOTE_AVG:
        vo.mode = LC_VOTE_AVERAGE;
        return lc_vote(c, in, dt, out, o->type == LCC_BF16 ? LC_BF16 : LC_FP32, count, &vo);
    case LCC_VOTE_L1:
        vo.mode = LC_VOTE_L1;
        return lc_vote(c, in, dt, out, LC_BITS, count, &vo);
    case LCC_ALLREDUCE:
        return lc_allreduce(c, in, out, count, dt, LC_SUM);
    case LCC_ALLGATHER:
        return lc_allgather(c, in, out, lcc_in_len(o, count));
    default:
        return -EINVAL;
    }
}

/* Element i of a float or bf16 buffer, as a float. */
static float lcc_get(const struct lcc_opts *o, const void *buf, size_t i)
{
    if (o->type == LCC_BF16)
        return lc_kern_u2f((uint32_t)((const uint16_t *)buf)[i] << 16);
    return ((const float *)buf)[i];
}

/* Whether element i of rank r's input votes -1 (its sign bit). */
static int lcc_neg(const struct lcc_opts *o, const void *in, size_t i)
{
    if (o->type == LCC_BITS)
        return (int)((((const uint64_t *)in)[i / 64] >> (i % 64)) & 1);
    return signbit(lcc_get(o, in, i)) ? 1 : 0;
}

/* The elements of out that differ from acc: per-element sums (allreduce),
 * negative votes (vote, vote-avg) or level sums (vote-l1) over all ranks. */
static long long lcc_compare(const struct lcc_opts *o, int p, const void *out, const float *sum,
                             const int32_t *acc, size_t count)
{
    long long wrong = 0;

    for (size_t i = 0; i < count; i++) {
        if (o->coll == LCC_ALLREDUCE) {
            wrong += lcc_get(o, out, i) != sum[i];
        } else if (o->coll == LCC_VOTE_AVG) {
            float want = (float)(p - 2 * acc[i]) / (float)p;
            if (o->type == LCC_BF16)
                wrong += ((const uint16_t *)out)[i] != lc_kern_bf16_round(lc_kern_f2u(want));
            else
                wrong += ((const float *)out)[i] != want;
        } else {
            /* > 0: -1 wins; a tie takes the tie rule's bit (tie_salt 0: i & 1) */
            long m = o->coll == LCC_VOTE ? 2L * acc[i] - p : -(long)acc[i];
            int want = m > 0 ? 1 : m < 0 ? 0 : (int)(i & 1);
            wrong += (int)((((const uint64_t *)out)[i / 64] >> (i % 64)) & 1) != want;
        }
    }
    return wrong;
}

long long lcc_check(lc_comm_t *c, const struct lcc_opts *o, const void *out, size_t count)
{
    int p = lc_comm_size(c);
    size_t len = lcc_in_len(o, count);
    void *in = malloc(len + 8);
    float *sum = o->coll == LCC_ALLREDUCE ? calloc(count + 1, sizeof(float)) : NULL;
    int32_t *acc = calloc(count + 1, sizeof(int32_t));
    int8_t *q = o->coll == LCC_VOTE_L1 ? malloc(count + 1) : NULL;
    long long wrong = 0;

    if (!in || !acc || (o->coll == LCC_ALLREDUCE && !sum) || (o->coll == LCC_VOTE_L1 && !q)) {
        wrong = -ENOMEM;
        goto out;
    }
    for (int r = 0; r < p; r++) {
        lcc_input(o, r, count, in);
        if (o->coll == LCC_ALLGATHER) {
            size_t esz = len / (count ? count : 1);
            const char *blk = (const char *)out + (size_t)r * len;
            for (size_t i = 0; i < count; i++)
                wrong += memcmp(blk + i * esz, (char *)in + i * esz, esz) != 0;
            continue;
        }
        if (q && lc_quantize_l1(in, lcc_dtype(o), count, (unsigned)o->level_bits, q)) {
            wrong = -EINVAL;
            goto out;
        }
        for (size_t i = 0; i < count; i++) {
            if (sum)
                sum[i] += lcc_get(o, in, i);
            else
                acc[i] += q ? q[i] : lcc_neg(o, in, i);
        }
    }
    if (o->coll != LCC_ALLGATHER)
        wrong = lcc_compare(o, p, out, sum, acc, count);
out:
    free(in);
    free(sum);
    free(acc);
    free(q);
    return wrong;
}

double lcc_bus_factor(const struct lcc_opts *o, int p)
{
    double f = (double)(p - 1) / p;
    return o->coll == LCC_ALLGATHER ? f : 2 * f;
}

double lcc_wire_bits(const struct lcc_opts *o, int p)
{
    double f = (double)(p - 1) / p, bits = (double)lcc_esz8(o);

    switch (o->coll) {
    case LCC_VOTE:
        return f * 2;
    case LCC_VOTE_AVG:
        return f * (1 + lc_count_planes((size_t)p));
    case LCC_VOTE_L1:
        return f * (o->level_bits + 1);
    case LCC_ALLREDUCE:
        return f * 2 * bits;
    default: /* all-gather: its block to each of the p-1 others */
        return (p - 1) * bits;
    }
}

const char *lcc_redop(const struct lcc_opts *o)
{
    static const char *const redop[LCC_NCOLL] = {"majority", "average", "l1", "sum", "none"};
    return redop[o->coll];
}
