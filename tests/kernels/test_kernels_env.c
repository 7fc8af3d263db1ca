/*
 * test_kernels_env.c - the LC_SIMD variable. ctest runs this program several
 * times with LC_SIMD unset, valid, unsupported by the CPU, or not a level; it
 * works out what lc_simd_active() must answer, checks that the kernels give
 * the same answer instead of falling back to another level, and that
 * lc_simd_set() overrides the variable.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "lioncub/lioncub.h"

/* What lc_simd_active() must return for the current environment. */
static int expected(void)
{
    const char *v = getenv("LC_SIMD");
    int best = LC_SIMD_SCALAR;

    for (int l = LC_SIMD_SCALAR; l < LC_SIMD_COUNT; l++)
        if (lc_simd_supported((lc_simd_t)l) == 1)
            best = l;
    if (!v || !*v)
        return best;
    for (int l = LC_SIMD_SCALAR; l < LC_SIMD_COUNT; l++)
        if (!strcasecmp(v, lc_simd_name((lc_simd_t)l)))
            return lc_simd_supported((lc_simd_t)l) == 1 ? l : LC_ERR_SIMD;
    return LC_ERR_CONFIG;
}

static void test_env(void **state)
{
    float x[3] = {1.0f, -2.0f, -0.0f};
    uint64_t bits = ~0ull;
    int want = expected();

    (void)state;
    print_message("LC_SIMD=%s: expecting %d\n", getenv("LC_SIMD") ? getenv("LC_SIMD") : "(unset)",
                  want);
    assert_int_equal(lc_simd_active(), want);
    assert_int_equal(lc_simd_active(), want); /* stable across calls */
    if (want < 0) {
        assert_true(strstr(lc_last_error(), "LC_SIMD") != NULL);
        assert_int_equal(lc_pack_signs(x, LC_FP32, 3, &bits), want);
        assert_true(bits == ~0ull); /* nothing computed on another level */
        assert_int_equal(lc_count_votes(&bits, 1, 1, 3, &bits), want);
    } else {
        assert_int_equal(lc_pack_signs(x, LC_FP32, 3, &bits), 0);
        assert_true(bits == 6);
    }
    assert_int_equal(lc_simd_set(LC_SIMD_SCALAR), 0);
    assert_int_equal(lc_simd_active(), LC_SIMD_SCALAR);
    assert_int_equal(lc_pack_signs(x, LC_FP32, 3, &bits), 0);
    assert_true(bits == 6);
    if (lc_simd_supported(LC_SIMD_AVX512) == 0)
        assert_int_equal(lc_simd_set(LC_SIMD_AVX512), LC_ERR_SIMD);
    assert_int_equal(lc_simd_active(), LC_SIMD_SCALAR); /* a refused set changes nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_env)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
