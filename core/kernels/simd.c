/*
 * simd.c - the kernels' SIMD level: CPU detection, the LC_SIMD override,
 * lc_simd_set(), and one table of kernel entry points per level.
 *
 * Detection and the LC_SIMD variable are read once (pthread_once), and the
 * LC_* variables nobody knows are reported then. A forced level the CPU
 * lacks, or an LC_SIMD value that is not a level (the registry's words), is
 * an error that lc_simd_active() and every kernel return; the kernels never
 * fall back silently to another level. lc_simd_set() replaces both.
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdatomic.h>

#include "kern.h"

#define LC_KERN_TABLE(lvl, sfx, qsfx)                                                              \
    {                                                                                              \
        .level = lvl, .pack_fp32 = lc_kern_pack_fp32_##sfx, .pack_16 = lc_kern_pack_16_##sfx,      \
        .unpack_fp32 = lc_kern_unpack_fp32_##sfx, .unpack_16 = lc_kern_unpack_16_##sfx,            \
        .count = lc_kern_count_##sfx, .decode_majority = lc_kern_decode_majority_##sfx,            \
        .count_majority = lc_kern_count_majority_##sfx,                                            \
        .decode_avg_fp32 = lc_kern_decode_avg_fp32_##sfx,                                          \
        .decode_avg_bf16 = lc_kern_decode_avg_bf16_##sfx,                                          \
        .apply_signs_fp32 = lc_kern_apply_signs_fp32_##sfx,                                        \
        .apply_signs_bf16 = lc_kern_apply_signs_bf16_##sfx,                                        \
        .apply_update_fp32 = lc_kern_apply_update_fp32_##sfx,                                      \
        .apply_update_bf16 = lc_kern_apply_update_bf16_##sfx,                                      \
        .levels_pack = lc_kern_levels_pack_##sfx,                                                  \
        .levels_accumulate = lc_kern_levels_accumulate_##sfx,                                      \
        .decode_sum_sign = lc_kern_decode_sum_sign_##sfx,                                          \
        .quantize_l1 = lc_kern_quantize_l1_##qsfx, .momentum_fp32 = lc_kern_momentum_fp32_##sfx,   \
        .momentum_bf16 = lc_kern_momentum_bf16_##sfx,                                              \
    }

static const lc_kern_ops_t lc_kern_tables[LC_SIMD_COUNT] = {
    LC_KERN_TABLE(LC_SIMD_SCALAR, scalar, scalar),
    LC_KERN_TABLE(LC_SIMD_AVX2, avx2, avx2),
    LC_KERN_TABLE(LC_SIMD_AVX512, avx512, avx2),
};

static pthread_once_t lc_simd_once = PTHREAD_ONCE_INIT;
static int lc_simd_best;                /* best level this CPU runs */
static int lc_simd_env;                 /* level from LC_SIMD, or an error code */
static const char *lc_simd_envval;      /* LC_SIMD's value, for error messages */
static _Atomic int lc_simd_forced = -1; /* lc_simd_set(), -1 if never called */

const char *const lc_simd_names[LC_SIMD_COUNT + 1] = {"scalar", "avx2", "avx512", NULL};

/* CPUID.1:ECX.F16C[bit 29] (clang's __builtin_cpu_supports does not know "f16c"). */
static int lc_simd_has_f16c(void)
{
    unsigned a, b, c, d;

    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static int lc_simd_cpu_has(int level)
{
    __builtin_cpu_init();
    switch (level) {
    case LC_SIMD_SCALAR:
        return 1;
    case LC_SIMD_AVX2:
        /* The AVX2 files are built with these extensions (cmake/lc_simd.cmake). */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
               __builtin_cpu_supports("popcnt") && lc_simd_has_f16c();
    case LC_SIMD_AVX512:
        return lc_simd_cpu_has(LC_SIMD_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq");
    default:
        return 0;
    }
}

static void lc_simd_init(void)
{
    int v = lc_param_word("LC_SIMD");

    lc_params_warn_unknown();
    lc_simd_envval = lc_param_str("LC_SIMD");
    lc_simd_best = LC_SIMD_SCALAR;
    for (int l = LC_SIMD_SCALAR; l < LC_SIMD_COUNT; l++)
        if (lc_simd_cpu_has(l))
            lc_simd_best = l;
    lc_simd_env = v == -ENOENT         ? lc_simd_best
                  : v < 0              ? LC_ERR_CONFIG
                  : lc_simd_cpu_has(v) ? v
                                       : LC_ERR_SIMD;
}

int lc_simd_active(void)
{
    int forced = atomic_load_explicit(&lc_simd_forced, memory_order_relaxed);

    if (forced >= 0)
        return forced;
    pthread_once(&lc_simd_once, lc_simd_init);
    if (lc_simd_env == LC_ERR_CONFIG) {
        char form[128];
        lc_param_form(lc_param_find("LC_SIMD", NULL), form, sizeof(form));
        return lc_seterr(LC_ERR_CONFIG, "simd", "LC_SIMD=%s: expected %s", lc_simd_envval, form);
    }
    if (lc_simd_env == LC_ERR_SIMD)
        return lc_seterr(LC_ERR_SIMD, "simd", "LC_SIMD=%s: this CPU does not support it",
                         lc_simd_envval);
    return lc_simd_env;
}

int lc_simd_supported(lc_simd_t level)
{
    if ((unsigned)level >= LC_SIMD_COUNT)
        return LC_EINVAL("simd", "lc_simd_supported: invalid level %d", (int)level);
    return lc_simd_cpu_has(level);
}

int lc_simd_set(lc_simd_t level)
{
    int r = lc_simd_supported(level);

    if (r < 0)
        return r;
    if (!r)
        return lc_seterr(LC_ERR_SIMD, "simd", "lc_simd_set: this CPU does not support %s",
                         lc_simd_names[level]);
    atomic_store_explicit(&lc_simd_forced, (int)level, memory_order_relaxed);
    return 0;
}

const char *lc_simd_name(lc_simd_t level)
{
    if ((unsigned)level >= LC_SIMD_COUNT)
        return "invalid";
    return lc_simd_names[level];
}

const lc_kern_ops_t *lc_kern_table(lc_simd_t level)
{
    if ((unsigned)level >= LC_SIMD_COUNT)
        return NULL;
    return &lc_kern_tables[level];
}

int lc_kern_get(const lc_kern_ops_t **ops)
{
    int level = lc_simd_active();

    if (level < 0)
        return level;
    *ops = &lc_kern_tables[level];
    return 0;
}
