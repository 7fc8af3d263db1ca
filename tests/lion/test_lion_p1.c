/*
 * test_lion_p1.c - the Lion step on a one-rank communicator against the
 * reference in lion_ref.c, for every mode and both parameter dtypes, plus
 * the argument checks of create/add_group/step. At one rank every mode is
 * single-process Lion; the data (ref_value) has no exact zeros, so c is never
 * exactly 0 there (test_zero_c covers c == 0 separately).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lion_ref.h"

#define NGROUPS 4
static const size_t group_n[NGROUPS] = {1, 63, 1037, 0};

static void *alloc_params(size_t n, lc_dtype_t dt, uint64_t seed)
{
    void *p = calloc(n + 1, 4);

    ref_fill(p, n, dt, seed, 0, 0);
    return p;
}

/* 20 steps of one mode and dtype: library and reference must agree bit for bit. */
static void run_mode(lc_comm_t *comm, lc_lion_mode_t mode, lc_dtype_t dt, unsigned level_bits)
{
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = mode, .lr = 0.01f,
                            .weight_decay = 0.5f, .level_bits = level_bits};
    ref_cfg_t rc = {.mode = mode, .lr = 0.01f, .wd = 0.5f, .beta1 = 0.9f, .beta2 = 0.99f,
                    .level_bits = level_bits ? level_bits : 4};
    /* group 1: every 3 steps in fp32; group 2: every 4 in bf16 */
    lc_msync_t ms[NGROUPS] = {
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_NEVER},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EVERY, .every = 3, .dtype = LC_FP32},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EVERY, .every = 4, .dtype = LC_BF16},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_NEVER},
    };
    int global = mode == LC_LION_GLOBAL_FP32 || mode == LC_LION_GLOBAL_BF16;
    void *p[NGROUPS], *rp[NGROUPS], *g[NGROUPS];
    float *rm[NGROUPS];
    lc_lion_t *lion;

    assert_int_equal(lc_lion_create(comm, &cfg, &lion), 0);
    for (int k = 0; k < NGROUPS; k++) {
        p[k] = alloc_params(group_n[k], dt, 100 + (uint64_t)k);
        rp[k] = alloc_params(group_n[k], dt, 100 + (uint64_t)k);
        g[k] = calloc(group_n[k] + 1, 4);
        rm[k] = calloc(group_n[k] + 1, sizeof(float));
        assert_int_equal(lc_lion_add_group(lion, p[k], group_n[k], dt, NULL, &ms[k]), k);
    }
    for (uint64_t s = 1; s <= 20; s++) {
        lc_lion_step_info_t info = {.size = sizeof(info)};
        lc_lion_step_opts_t opts = {.size = sizeof(opts), .lr = 0.02f, .weight_decay = -1.0f};
        int want_synced = 0;

        for (int k = 0; k < NGROUPS; k++)
            ref_fill(g[k], group_n[k], dt, 7, s, (uint64_t)k + 1);
        assert_int_equal(lc_lion_step(lion, (const void *const *)g, s == 5 ? &opts : NULL, &info),
                         0);
        rc.lr = s == 5 ? 0.02f : 0.01f;
        for (int k = 0; k < NGROUPS; k++) {
            const void *gk = g[k];

            ref_step(&rc, 1, group_n[k], dt, rp[k], &rm[k], &gk, s);
            if (!global && group_n[k] && ms[k].kind == LC_MSYNC_EVERY && s % ms[k].every == 0) {
                want_synced++;
                for (size_t i = 0; ms[k].dtype == LC_BF16 && i < group_n[k]; i++)
                    rm[k][i] = ref_bf16_to_f32(ref_f32_to_bf16(rm[k][i]));
            }
            for (size_t i = 0; i < group_n[k]; i++) {
                float a = dt == LC_FP32 ? ((float *)p[k])[i] : ref_bf16_to_f32(((uint16_t *)p[k])[i]);
                float b = dt == LC_FP32 ? ((float *)rp[k])[i] : ref_bf16_to_f32(((uint16_t *)rp[k])[i]);

                if (memcmp(&a, &b, sizeof(a)))
                    fail_msg("%s %s step %llu group %d elem %zu: %.9g != reference %.9g",
                             lc_lion_mode_name(mode), lc_dtype_name(dt), (unsigned long long)s,
                             k, i, (double)a, (double)b);
            }
        }
        assert_int_equal(info.step, s);
        assert_int_equal(info.momentum_synced, want_synced);
        assert_true(info.comm_seconds >= 0.0 && info.total_seconds >= info.comm_seconds);
    }
    lc_lion_destroy(lion);
    for (int k = 0; k < NGROUPS; k++) {
        free(p[k]);
        free(rp[k]);
        free(g[k]);
        free(rm[k]);
    }
}

static void test_modes_fp32(void **state)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++)
        run_mode(*state, (lc_lion_mode_t)m, LC_FP32, 0);
}

static void test_modes_bf16(void **state)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++)
        run_mode(*state, (lc_lion_mode_t)m, LC_BF16, 0);
}

static void test_l1_level_bits(void **state)
{
    static const unsigned bits[] = {2, 3, 8};

    for (size_t b = 0; b < sizeof(bits) / sizeof(bits[0]); b++) {
        run_mode(*state, LC_LION_VOTE_L1, LC_FP32, bits[b]);
        run_mode(*state, LC_LION_VOTE_L1, LC_BF16, bits[b]);
    }
}

/*
 * c == +0 (zero gradient, zero momentum at step 1), as the header documents:
 * global modes and vote-l1 (a tie abstains) do not move the parameter beyond
 * weight decay; vote and vote-avg vote the parity bit ((i + step + rank) & 1),
 * here (i + 1) & 1: -1 (p += lr) at even i, +1 (p -= lr) at odd i.
 */
static void test_zero_c(void **state)
{
    enum { N = 130 };
    const float lr = 0.125f, wd = 0.5f, decay = 1.0f - lr * wd;

    for (int m = 0; m < LC_LION_MODE_COUNT; m++) {
        lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = (lc_lion_mode_t)m, .lr = lr,
                                .weight_decay = wd};
        float p[N], g[N] = {0};
        const void *grads[1] = {g};
        lc_lion_t *lion;

        for (int i = 0; i < N; i++)
            p[i] = 1.0f + (float)i;
        assert_int_equal(lc_lion_create(*state, &cfg, &lion), 0);
        assert_int_equal(lc_lion_add_group(lion, p, N, LC_FP32, "zero", NULL), 0);
        assert_int_equal(lc_lion_step(lion, grads, NULL, NULL), 0);
        for (int i = 0; i < N; i++) {
            float q = (1.0f + (float)i) * decay, want;

            if (m == LC_LION_GLOBAL_FP32 || m == LC_LION_GLOBAL_BF16 || m == LC_LION_VOTE_L1)
                want = q;
            else
                want = ((i + 1) & 1) ? q + lr : q - lr; /* parity bit set: -1 */
            if (p[i] != want)
                fail_msg("%s elem %d: %g, want %g", lc_lion_mode_name((lc_lion_mode_t)m), i,
                         (double)p[i], (double)want);
        }
        lc_lion_destroy(lion);
    }
}

static void test_create_args(void **state)
{
    lc_comm_t *comm = *state;
    lc_lion_config_t good = {.size = sizeof(good), .mode = LC_LION_VOTE, .lr = 1e-3f};
    lc_lion_config_t c;
    lc_lion_t *lion = NULL;

    assert_int_equal(lc_lion_create(comm, NULL, &lion), -EINVAL);
    assert_int_equal(lc_lion_create(comm, &good, NULL), -EINVAL);
#define BAD(field, value)                                                                        \
    do {                                                                                         \
        c = good;                                                                                \
        c.field = value;                                                                         \
        lion = (lc_lion_t *)&c;                                                                  \
        assert_int_equal(lc_lion_create(comm, &c, &lion), -EINVAL);                              \
        assert_null(lion);                                                                       \
    } while (0)
    BAD(size, 4); /* size not set (any size >= 8 is a caller's struct: tests/abi) */
    BAD(levels, LC_MAX_LEVELS + 1);
    BAD(flags, 2);
    BAD(mode, LC_LION_MODE_COUNT);
    BAD(lr, -1.0f);
    BAD(lr, NAN);
    BAD(weight_decay, -0.1f);
    BAD(weight_decay, INFINITY);
    BAD(beta1, 1.5f);
    BAD(beta2, -0.5f);
    BAD(beta2, NAN);
    BAD(level_bits, 1);
    BAD(level_bits, 9);
#undef BAD
    assert_int_equal(lc_lion_create(comm, &good, &lion), 0);
    lc_lion_destroy(lion);
}

static void test_group_and_step_args(void **state)
{
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = LC_LION_VOTE, .lr = 0.5f};
    lc_msync_t bad = {.size = sizeof(bad), .kind = LC_MSYNC_EVERY, .every = 0};
    float p0[8] = {0}, g0[8] = {0}, p1[3] = {0}, g1[3] = {0};
    const void *grads[3] = {g0, NULL, g1};
    lc_lion_step_info_t info = {.size = sizeof(info)};
    lc_lion_step_opts_t opts = {.size = sizeof(opts), .lr = -1.0f, .weight_decay = -1.0f};
    lc_lion_t *lion;

    assert_int_equal(lc_lion_create(*state, &cfg, &lion), 0);
    assert_int_equal(lc_lion_step(lion, grads, NULL, NULL), -EINVAL); /* no groups */
    assert_int_equal(lc_lion_add_group(lion, NULL, 8, LC_FP32, "x", NULL), -EINVAL);
    assert_int_equal(lc_lion_add_group(lion, p0, 8, LC_FP16, "x", NULL), -EINVAL);
    assert_int_equal(lc_lion_add_group(lion, p0, 8, LC_INT8, "x", NULL), -EINVAL);
    assert_int_equal(lc_lion_add_group(lion, p0, 8, LC_FP32, "x", &bad), -EINVAL);
    assert_int_equal(lc_lion_add_group(lion, p0, 8, LC_FP32, "p0", NULL), 0);
    assert_int_equal(lc_lion_add_group(lion, NULL, 0, LC_FP32, "empty", NULL), 1);
    assert_int_equal(lc_lion_add_group(lion, p1, 3, LC_FP32, NULL, NULL), 2);

    assert_int_equal(lc_lion_step(lion, NULL, NULL, NULL), -EINVAL);
    grads[0] = NULL;
    assert_int_equal(lc_lion_step(lion, grads, NULL, NULL), -EINVAL);
    grads[0] = g0;
    info.size = 4;
    assert_int_equal(lc_lion_step(lion, grads, NULL, &info), -EINVAL);
    info.size = sizeof(info);
    opts.size = 0;
    assert_int_equal(lc_lion_step(lion, grads, &opts, &info), -EINVAL);
    opts.size = sizeof(opts);
    opts.lr = NAN;
    assert_int_equal(lc_lion_step(lion, grads, &opts, &info), -EINVAL);
    opts.lr = -1.0f;
    /* the failed calls changed nothing: this is step 1, and the empty group is fine */
    assert_int_equal(lc_lion_step(lion, grads, &opts, &info), 0);
    assert_int_equal(info.step, 1);
    /* c = +0 votes the parity bit of (i + step): -1 at even i, +1 at odd i */
    assert_true(p0[0] == 0.5f && p0[1] == -0.5f && p1[2] == 0.5f);
    lc_lion_destroy(lion);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes_fp32),  cmocka_unit_test(test_modes_bf16),
        cmocka_unit_test(test_l1_level_bits), cmocka_unit_test(test_zero_c),
        cmocka_unit_test(test_create_args), cmocka_unit_test(test_group_and_step_args),
    };

    return cmocka_run_group_tests(tests, ref_one_rank_setup, ref_one_rank_teardown);
}
