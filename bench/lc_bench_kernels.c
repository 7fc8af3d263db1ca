/*
 * lc_bench_kernels.c - throughput of the vote kernels on every SIMD level the
 * CPU has, in cache (64 KiB) and out of cache (256 MiB, --big SIZE), each as
 * GB/s and as a ratio to a plain streaming read of the same number of bytes
 * measured in the same run (an AVX2 sum when the CPU has it, else SSE2).
 *
 * "bytes" is the kernel's main stream: the values read (pack, apply,
 * quantize_l1, decode_sum_sign; momentum: the fp32 gradients, besides which
 * it reads and writes as many bytes of fp32 momentum), the packed votes read
 * (count and its decodes: p vectors of n bits; "/pad": the vectors one cache
 * line further apart than n bits, as lc_vote lays them out, so that rows a
 * multiple of 4 KiB apart do not share an L1 set), the values written (unpack),
 * or the int32 sums updated (levels_accumulate). Results are printed, never
 * asserted.
 *
 * usage: lc_bench_kernels [--csv] [--big SIZE] [--simd LEVEL] [--kernel SUBSTR]
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "internal.h"
#include "kernels/kern.h"

enum kid {
    K_PACK,
    K_UNPACK,
    K_COUNT,
    K_COUNT_MAJ,
    K_COUNT_MAJ_PAD,
    K_COUNT_AVG,
    K_APPLY_SIGNS,
    K_APPLY_UPDATE,
    K_LEVELS_PACK,
    K_LEVELS_ACC,
    K_SUM_SIGN,
    K_QUANT,
    K_MOMENTUM,
};

typedef struct brow {
    enum kid k;
    const char *name;
    lc_dtype_t dt;
    size_t p; /* voters, or level bits */
} brow_t;

static const brow_t rows[] = {
    {K_PACK, "pack", LC_FP32, 0},
    {K_PACK, "pack", LC_BF16, 0},
    {K_UNPACK, "unpack", LC_FP32, 0},
    {K_UNPACK, "unpack", LC_BF16, 0},
    {K_COUNT, "count", LC_BITS, 8},
    {K_COUNT, "count", LC_BITS, 64},
    {K_COUNT_MAJ, "count+majority", LC_BITS, 8},
    {K_COUNT_MAJ, "count+majority", LC_BITS, 16},
    {K_COUNT_MAJ, "count+majority", LC_BITS, 32},
    {K_COUNT_MAJ, "count+majority", LC_BITS, 64},
    {K_COUNT_MAJ_PAD, "count+majority/pad", LC_BITS, 8},
    {K_COUNT_MAJ_PAD, "count+majority/pad", LC_BITS, 16},
    {K_COUNT_MAJ_PAD, "count+majority/pad", LC_BITS, 32},
    {K_COUNT_MAJ_PAD, "count+majority/pad", LC_BITS, 64},
    {K_COUNT_AVG, "count+average", LC_FP32, 32},
    {K_COUNT_AVG, "count+average", LC_FP32, 64},
    {K_APPLY_SIGNS, "apply_signs", LC_FP32, 0},
    {K_APPLY_SIGNS, "apply_signs", LC_BF16, 0},
    {K_APPLY_UPDATE, "apply_update", LC_FP32, 0},
    {K_APPLY_UPDATE, "apply_update", LC_BF16, 0},
    {K_LEVELS_PACK, "levels_pack", LC_INT8, 4},
    {K_LEVELS_ACC, "levels_accumulate", LC_INT32, 4},
    {K_SUM_SIGN, "decode_sum_sign", LC_INT32, 0},
    {K_QUANT, "quantize_l1", LC_FP32, 4},
    {K_MOMENTUM, "momentum", LC_FP32, 0},
};

/* Buffers for one size: a is the main stream (bytes); b (2 x bytes: the fp32
 * directions of bf16 parameters, the momentum) and c (int8 levels) are inputs
 * and outputs. */
typedef struct bctx {
    size_t bytes;
    unsigned char *a, *b, *c;
    uint64_t *small; /* small outputs: bits, planes */
} bctx_t;

static volatile uint64_t bench_sink;

/* Lion's default betas (momentum row). */
static const lc_kern_betas_t bench_betas = {.b1 = 0.9f, .a1 = 0.1f, .b2 = 0.99f, .a2 = 0.01f};

__attribute__((target("avx2"))) static uint64_t read_avx2(const unsigned char *p, size_t bytes)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;

    for (; i + 128 <= bytes; i += 128) {
        s0 = _mm256_add_epi64(s0, _mm256_loadu_si256((const __m256i *)(const void *)(p + i)));
        s1 = _mm256_add_epi64(s1, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32)));
        s2 = _mm256_add_epi64(s2, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 64)));
        s3 = _mm256_add_epi64(s3, _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 96)));
    }
    s0 = _mm256_add_epi64(_mm256_add_epi64(s0, s1), _mm256_add_epi64(s2, s3));
    return (uint64_t)_mm256_extract_epi64(s0, 0) + (uint64_t)_mm256_extract_epi64(s0, 3) + i;
}

static uint64_t read_sse2(const unsigned char *p, size_t bytes)
{
    __m128i s0 = _mm_setzero_si128(), s1 = s0;
    size_t i = 0;

    for (; i + 32 <= bytes; i += 32) {
        s0 = _mm_add_epi64(s0, _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
        s1 = _mm_add_epi64(s1, _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16)));
    }
    return (uint64_t)_mm_cvtsi128_si64(_mm_add_epi64(s0, s1)) + i;
}

static int use_avx2_read;

static void run_read(bctx_t *c)
{
    bench_sink += use_avx2_read ? read_avx2(c->a, c->bytes) : read_sse2(c->a, c->bytes);
}

/* Elements of row r for a main stream of `bytes`. */
static size_t row_n(const brow_t *r, size_t bytes)
{
    switch (r->k) {
    case K_COUNT:
    case K_COUNT_MAJ:
    case K_COUNT_MAJ_PAD:
    case K_COUNT_AVG:
        return bytes * 8 / r->p;
    case K_LEVELS_PACK:
        return bytes;
    default:
        return bytes / (r->dt == LC_BF16 ? 2 : 4);
    }
}

static int run_row(const brow_t *r, bctx_t *c, size_t n, uint64_t step)
{
    size_t nw = LC_BITS_WORDS(n);
    int e = 0;

    switch (r->k) {
    case K_PACK:
        return lc_pack_signs(c->a, r->dt, n, c->small);
    case K_UNPACK:
        return lc_unpack_signs(c->small, n, c->a, r->dt);
    case K_COUNT:
        return lc_count_votes((const uint64_t *)c->a, nw, r->p, n, c->small);
    case K_COUNT_MAJ:
        return lc_vote_majority((const uint64_t *)c->a, nw, r->p, n, 0, step, (uint64_t *)c->b);
    case K_COUNT_MAJ_PAD: /* rows one cache line more apart, as lc_vote lays them out */
        return lc_vote_majority((const uint64_t *)c->a, nw + LC_VOTE_ROW_PAD, r->p, n, 0, step,
                                (uint64_t *)c->b);
    case K_COUNT_AVG:
        e = lc_count_votes((const uint64_t *)c->a, nw, r->p, n, c->small);
        return e ? e : lc_decode_average(c->small, r->p, n, c->b, LC_FP32);
    case K_APPLY_SIGNS:
        return lc_apply_signs(c->a, r->dt, c->small, n, 1e-30f, 0.0f);
    case K_APPLY_UPDATE:
        return lc_apply_update(c->a, r->dt, (const float *)c->b, n, 1e-30f, 0.0f);
    case K_LEVELS_PACK:
        return lc_levels_pack((const int8_t *)c->c, n, (unsigned)r->p, c->small);
    case K_LEVELS_ACC:
        return lc_levels_accumulate(c->small, n, (unsigned)r->p, (int32_t *)c->a);
    case K_SUM_SIGN:
        return lc_decode_sum_sign((const int32_t *)c->a, n, 0, step, c->small);
    case K_QUANT:
        return lc_quantize_l1(c->a, r->dt, n, (unsigned)r->p, (int8_t *)c->b);
    case K_MOMENTUM: /* the Lion step's local part: momentum in b, sign bits out */
        return lc_kern_momentum((float *)c->b, c->a, r->dt, n, &bench_betas, c->small, NULL);
    }
    return -EINVAL;
}

/* Best seconds per call over 5 (in cache) or 3 batches, each of >= 20 ms or one call. */
static double time_it(const brow_t *r, bctx_t *c, size_t n, int *err)
{
    double best = 1e30;
    uint64_t step = 0;
    int reps = 1, batches = c->bytes > (1 << 20) ? 3 : 5;

    for (int batch = 0; batch < batches; batch++) {
        double t0 = lc_now(), dt;

        for (int i = 0; i < reps; i++) {
            if (r)
                *err = run_row(r, c, n, step++);
            else
                run_read(c);
            if (*err)
                return 0;
        }
        dt = (lc_now() - t0) / reps;
        best = dt < best ? dt : best;
        if (dt * reps < 0.02 && reps < (1 << 20))
            reps = (int)(0.02 / (dt > 1e-9 ? dt : 1e-9)) + 1;
    }
    return best;
}

static void *bench_alloc(size_t bytes)
{
    return aligned_alloc(64, (bytes + 63) & ~(size_t)63);
}

static int bctx_init(bctx_t *c, size_t bytes)
{
    c->bytes = bytes;
    /* Cache-line aligned, as tensors from frameworks' allocators are: plain
     * malloc returns 16-byte offsets, where every AVX-512 load splits a line. */
    c->a = bench_alloc(bytes + 64 + 64 * 8 * LC_VOTE_ROW_PAD); /* up to 64 padded rows */
    c->b = bench_alloc(2 * bytes + 64);
    c->c = bench_alloc(bytes + 64);
    /* planes of up to 7 x bytes*8/8 bits, signs of bytes/2 values, levels of 4 bits */
    c->small = bench_alloc(bytes + 4096);
    if (!c->a || !c->b || !c->c || !c->small)
        return -ENOMEM;
    for (size_t i = 0; i < bytes / 2; i++) {
        /* normal bf16 halves of random sign and mantissa: normal fp32 words too */
        uint16_t h = (uint16_t)(0x3f80 | ((i * 2654435761u >> 11) & 0x807f));

        memcpy(c->a + 2 * i, &h, 2);
    }
    memset(c->b, 0x3c, 2 * bytes); /* small positive floats: finite updates */
    for (size_t i = 0; i < bytes; i++)
        c->c[i] = (unsigned char)((i * 7) % 15 - 7); /* levels -7..7 */
    memset(c->small, 0x5a, bytes + 4096);
    return 0;
}

static void bctx_fini(bctx_t *c)
{
    free(c->a), free(c->b), free(c->c), free(c->small);
}

int main(int argc, char **argv)
{
    size_t big = 256 << 20;
    const char *levels[LC_SIMD_COUNT + 1] = {NULL}, *only_kernel = NULL;
    int csv = 0, simd = -1, rc;

    for (int l = 0; l < LC_SIMD_COUNT; l++)
        levels[l] = lc_simd_name((lc_simd_t)l);
    const lca_opt_t opts[] = {
        {.longname = "csv", .kind = LCA_FLAG, .dst = &csv, .help = "print CSV"},
        {.longname = "big", .kind = LCA_SIZE, .dst = &big, .metavar = "SIZE",
         .help = "bytes of the out-of-cache run (default 256M)", .min = 65536,
         .max = (double)LC_MAX_BUFFER},
        {.longname = "simd", .kind = LCA_CHOICE, .dst = &simd, .metavar = "LEVEL",
         .choices = levels, .help = "only this SIMD level (default: all the CPU has)"},
        {.longname = "kernel", .kind = LCA_STR, .dst = &only_kernel, .metavar = "SUBSTR",
         .help = "only the kernels whose name contains SUBSTR"},
        {.help = NULL},
    };
    const lca_tool_t tool = {.name = "lc_bench_kernels", .usage = "[options]",
                             .about = "Throughput of the vote kernels, in and out of cache, "
                                      "against a streaming read.\n",
                             .opts = opts};

    if ((rc = lca_parse(&tool, argc, argv)) >= 0)
        return rc;
    use_avx2_read = __builtin_cpu_supports("avx2");
    if (csv)
        printf("kernel,simd,dtype,p,bytes,gbps,ratio_to_read\n");
    else
        printf("# read baseline: %s sum; GB/s of the main stream (see the file comment)\n"
               "%-18s %-7s %-5s %5s %11s %8s %7s %8s\n",
               use_avx2_read ? "AVX2" : "SSE2", "kernel", "simd", "dtype", "p/b", "bytes", "GB/s",
               "x_read", "Gelem/s");
    size_t sizes[2] = {64 << 10, (size_t)big};
    for (int si = 0; si < 2; si++) {
        bctx_t c;
        int err = 0;
        double tread;

        if (bctx_init(&c, sizes[si])) {
            fprintf(stderr, "lc_bench_kernels: out of memory for %zu bytes\n", sizes[si]);
            bctx_fini(&c);
            return 1;
        }
        tread = time_it(NULL, &c, 0, &err);
        if (!csv)
            printf("# %s: streaming read of %zu bytes: %.2f GB/s\n",
                   si ? "out of cache" : "in cache", sizes[si], sizes[si] / tread * 1e-9);
        for (int l = 0; l < LC_SIMD_COUNT; l++) {
            if (lc_simd_supported((lc_simd_t)l) != 1 || (simd >= 0 && l != simd))
                continue;
            lc_simd_set((lc_simd_t)l);
            for (size_t ri = 0; ri < sizeof(rows) / sizeof(rows[0]); ri++) {
                const brow_t *r = &rows[ri];
                size_t n = row_n(r, sizes[si]);
                double t;

                if (only_kernel && !strstr(r->name, only_kernel))
                    continue;
                t = time_it(r, &c, n, &err);
                if (err) {
                    fprintf(stderr, "lc_bench_kernels: %s failed: %s (%s)\n", r->name,
                            lc_strerror(err), lc_last_error());
                    bctx_fini(&c);
                    return 1;
                }
                if (csv)
                    printf("%s,%s,%s,%zu,%zu,%.3f,%.3f\n", r->name, lc_simd_name((lc_simd_t)l),
                           lc_dtype_name(r->dt), r->p, sizes[si], sizes[si] / t * 1e-9, tread / t);
                else
                    printf("%-18s %-7s %-5s %5zu %11zu %8.2f %7.2f %8.3f\n", r->name,
                           lc_simd_name((lc_simd_t)l), lc_dtype_name(r->dt), r->p, sizes[si],
                           sizes[si] / t * 1e-9, tread / t, n / t * 1e-9);
                fflush(stdout);
            }
        }
        bctx_fini(&c);
    }
    return 0;
}
