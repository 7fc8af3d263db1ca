/* test_lion_msync.c - momentum sync schedules, Lion mode names and the checks that need no communicator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>

#include "lioncub/lioncub.h"

static lc_msync_t ms(lc_msync_kind_t kind, uint64_t every, uint64_t until, double k)
{
    return (lc_msync_t){.size = sizeof(lc_msync_t), .kind = kind, .every = every,
                        .until = until, .k = k, .dtype = LC_FP32};
}

/* The steps in 1..last where the policy is due must be exactly want[0..nwant). */
static void expect_steps(const lc_msync_t *m, uint64_t last, const uint64_t *want, size_t nwant)
{
    size_t w = 0;

    for (uint64_t s = 1; s <= last; s++) {
        int due = lc_msync_due(m, s);
        int expect = w < nwant && want[w] == s;

        assert_true(due == 0 || due == 1);
        if (due != expect)
            fail_msg("step %llu: due %d, expected %d", (unsigned long long)s, due, expect);
        w += (size_t)expect;
    }
    assert_int_equal(w, nwant);
}

static void test_never(void **state)
{
    lc_msync_t m = ms(LC_MSYNC_NEVER, 0, 0, 0.0);

    expect_steps(&m, 200, NULL, 0);
    m.every = 3;
    expect_steps(&m, 200, NULL, 0);
}

/* The Lion Cub authors' phase: the first step of every period. */
static void test_every_from_1(void **state)
{
    static const uint64_t e5[] = {1, 6, 11, 16, 21, 26};
    static const uint64_t e5u11[] = {1, 6, 11};
    static const uint64_t e1[] = {1, 2, 3, 4, 5};
    lc_msync_t m = ms(LC_MSYNC_EVERY_FROM_1, 5, 0, 0.0);

    expect_steps(&m, 30, e5, 6);
    m.until = 11;
    expect_steps(&m, 30, e5u11, 3);
    m = ms(LC_MSYNC_EVERY_FROM_1, 1, 0, 0.0);
    expect_steps(&m, 5, e1, 5);
    m = ms(LC_MSYNC_EVERY_FROM_1, 0, 0, 0.0);
    assert_int_equal(lc_msync_due(&m, 1), -EINVAL);
}

static void test_every(void **state)
{
    static const uint64_t e3[] = {3, 6, 9, 12, 15, 18, 21, 24, 27, 30};
    static const uint64_t e3u10[] = {3, 6, 9};
    static const uint64_t e1u4[] = {1, 2, 3, 4};
    lc_msync_t m = ms(LC_MSYNC_EVERY, 3, 0, 0.0);

    expect_steps(&m, 30, e3, 10);
    m.until = 10;
    expect_steps(&m, 30, e3u10, 3);
    m.until = 9; /* until is inclusive */
    expect_steps(&m, 30, e3u10, 3);
    m = ms(LC_MSYNC_EVERY, 1, 4, 0.0);
    expect_steps(&m, 30, e1u4, 4);
    m = ms(LC_MSYNC_EVERY, UINT64_MAX, 0, 0.0);
    assert_int_equal(lc_msync_due(&m, UINT64_MAX), 1);
    assert_int_equal(lc_msync_due(&m, UINT64_MAX - 1), 0);
}

/* The exponential schedule against lists worked out by hand from T(j+1) = T(j) + floor(2^(j/k)). */
static void test_exp(void **state)
{
    static const uint64_t e1k1[] = {1, 2, 4, 8, 16, 32, 64, 128};
    /* increments 1, 1, 2, 2, 4, 5, 8, 11, 16, 22, 32 */
    static const uint64_t e10k2[] = {10, 11, 12, 14, 16, 20, 25, 33, 44, 60, 82, 114};
    /* increments 1, 1, 1, 2, 2, 3, 4, 5, 6, 8 */
    static const uint64_t e3k3[] = {3, 4, 5, 6, 8, 10, 13, 17, 22, 28, 36};
    /* k = 0.5: increments 1, 4, 16, 64 */
    static const uint64_t e5k05[] = {5, 6, 10, 26, 90};
    lc_msync_t m = ms(LC_MSYNC_EXP, 1, 0, 1.0);

    expect_steps(&m, 200, e1k1, 8);
    m = ms(LC_MSYNC_EXP, 10, 0, 2.0);
    expect_steps(&m, 120, e10k2, 12);
    m = ms(LC_MSYNC_EXP, 3, 0, 3.0);
    expect_steps(&m, 40, e3k3, 11);
    m = ms(LC_MSYNC_EXP, 5, 0, 0.5);
    expect_steps(&m, 100, e5k05, 5);
    m.until = 26;
    expect_steps(&m, 100, e5k05, 4);
    m.until = 25;
    expect_steps(&m, 100, e5k05, 3);
}

/* Far steps answer quickly and stop where the schedule leaves 64 bits. */
static void test_exp_far(void **state)
{
    lc_msync_t m = ms(LC_MSYNC_EXP, 1, 0, 1.0);

    assert_int_equal(lc_msync_due(&m, 1ull << 40), 1);
    assert_int_equal(lc_msync_due(&m, (1ull << 40) + 1), 0);
    assert_int_equal(lc_msync_due(&m, 1ull << 63), 1);
    assert_int_equal(lc_msync_due(&m, UINT64_MAX), 0);
    m.until = 1ull << 40;
    assert_int_equal(lc_msync_due(&m, 1ull << 41), 0);
}

static void test_bad_policy(void **state)
{
    lc_msync_t m = ms(LC_MSYNC_EVERY, 4, 0, 0.0);

    assert_int_equal(lc_msync_due(NULL, 1), -EINVAL);
    assert_int_equal(lc_msync_due(&m, 0), -EINVAL);
    m.size = 4; /* not set (a smaller caller's struct is fine: tests/abi) */
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m = ms(LC_MSYNC_EVERY, 0, 0, 0.0);
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m = ms(LC_MSYNC_EXP, 0, 0, 1.0);
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m = ms(LC_MSYNC_EXP, 1, 0, 0.0);
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m.k = -1.0;
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m.k = NAN;
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m.k = INFINITY;
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m = ms(LC_MSYNC_EVERY, 2, 0, 0.0);
    m.dtype = LC_INT8;
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    m.dtype = LC_BF16;
    assert_int_equal(lc_msync_due(&m, 4), 1);
    m.kind = (lc_msync_kind_t)7;
    assert_int_equal(lc_msync_due(&m, 4), -EINVAL);
    assert_true(lc_last_error()[0] != '\0');
}

static void test_mode_names(void **state)
{
    static const char *const names[] = {"global-fp32", "global-bf16", "vote", "vote-avg",
                                        "vote-l1"};

    for (int i = 0; i < LC_LION_MODE_COUNT; i++) {
        assert_string_equal(lc_lion_mode_name((lc_lion_mode_t)i), names[i]);
        assert_int_equal(lc_lion_mode_parse(names[i]), i);
    }
    assert_string_equal(lc_lion_mode_name(LC_LION_MODE_COUNT), "invalid");
    assert_string_equal(lc_lion_mode_name((lc_lion_mode_t)-1), "invalid");
    assert_int_equal(lc_lion_mode_parse("VOTE"), -EINVAL);
    assert_int_equal(lc_lion_mode_parse(""), -EINVAL);
    assert_int_equal(lc_lion_mode_parse(NULL), -EINVAL);
}

static void test_null_handles(void **state)
{
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = LC_LION_VOTE, .lr = 1e-3f};
    lc_lion_t *lion = (lc_lion_t *)&cfg;
    float p[4] = {0}, g[4] = {0};
    const void *grads[1] = {g};

    assert_int_equal(lc_lion_create(NULL, &cfg, &lion), -EINVAL);
    assert_null(lion);
    assert_int_equal(lc_lion_create(NULL, &cfg, NULL), -EINVAL);
    assert_int_equal(lc_lion_add_group(NULL, p, 4, LC_FP32, "p", NULL), -EINVAL);
    assert_int_equal(lc_lion_step(NULL, grads, NULL, NULL), -EINVAL);
    lc_lion_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never),        cmocka_unit_test(test_every_from_1), cmocka_unit_test(test_every),
        cmocka_unit_test(test_exp),          cmocka_unit_test(test_exp_far),
        cmocka_unit_test(test_bad_policy),   cmocka_unit_test(test_mode_names),
        cmocka_unit_test(test_null_handles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
