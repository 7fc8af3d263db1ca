/*
 * test_params.c - the LC_* variables against the registry's rules
 * (core/param.c): lc_comm_init refuses a bad value with LC_ERR_CONFIG and a
 * message naming the variable and the form it accepts, takes the good ones,
 * lc_param_int applies ranges and multiples, and an LC_* variable nobody
 * knows is reported once, with the name it resembles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "comm/comm.h"

static char seen[64][512];
static int nseen;

static void capture(lc_log_level_t level, const char *subsys, const char *msg)
{
    if (nseen < 64)
        snprintf(seen[nseen++], sizeof(seen[0]), "%d %s %s", (int)level, subsys, msg);
}

/* Messages captured so far that contain s. */
static int count_seen(const char *s)
{
    int n = 0;

    for (int i = 0; i < nseen; i++)
        n += strstr(seen[i], s) != NULL;
    return n;
}

static void single_rank(void)
{
    setenv("LC_RANK", "0", 1);
    setenv("LC_SIZE", "1", 1);
    setenv("LC_PROVIDER", "tcp", 1);
    unsetenv("LC_ROOT");
}

/* Runs first: main() set LC_PROVDER before anything read the environment. */
static void test_unknown_reported_once(void **state)
{
    lc_comm_t *c;

    (void)state;
    single_rank();
    assert_int_equal(lc_params_check(), 0);
    assert_int_equal(lc_comm_init(NULL, &c), 0);
    lc_comm_destroy(c);
    assert_int_equal(lc_pack_signs((float[]){1.0f}, LC_FP32, 1, (uint64_t[]){0}), 0);
    assert_int_equal(count_seen("LC_PROVDER"), 1);
    assert_int_equal(count_seen("did you mean LC_PROVIDER?"), 1);
    /* registered names are known, also those lc_run and ctest set */
    assert_int_equal(count_seen("LC_BIN"), 0);
    assert_int_equal(count_seen("LC_RANK "), 0);
    unsetenv("LC_PROVDER");
}

static void test_bad_values_fail_init(void **state)
{
    static const struct {
        const char *name, *value, *form;
    } bad[] = {
        {"LC_SIMD", "sse", "one of scalar, avx2, avx512"},
        {"LC_LOG_LEVEL", "loud", "one of none, error, warn, info, debug"},
        {"LC_SEGMENT", "100", "a multiple of 64"},
        {"LC_SEGMENT", "0", "an integer 64..4G"},
        {"LC_SEGMENT", "8G", "an integer 64..4G"},
        {"LC_SEGMENT", "0x40", "an integer"},
        {"LC_VOTE_DEPTH", "9", "an integer 1..8"},
        {"LC_TIMEOUT", "soon", "an integer 1..86400000"},
        {"LC_CHECK_ARGS", "maybe", "1, 0, yes, no, on, off, true or false"},
        {"LC_PROVIDER", "tcpp", "provider names"},
        {"LC_PROVIDER", "tcp,,ofi", "provider names"},
        {"LC_ROOT", "nohost", "host:port"},
        {"LC_ROOT", "127.0.0.1:99999", "host:port"},
        {"LC_RANK", "-1", "an integer >= 0"},
        {"LC_TCP_NSOCKS", "many", "an integer"}, /* a provider's: its type */
    };
    lc_comm_t *c = NULL;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[64];

        single_rank();
        setenv(bad[i].name, bad[i].value, 1);
        print_message("%s=%s\n", bad[i].name, bad[i].value);
        assert_int_equal(lc_comm_init(NULL, &c), LC_ERR_CONFIG);
        assert_null(c);
        snprintf(want, sizeof(want), "%s=%s: expected", bad[i].name, bad[i].value);
        assert_non_null(strstr(lc_last_error(), want));
        assert_non_null(strstr(lc_last_error(), bad[i].form));
        assert_int_equal(lc_param_check(bad[i].name), LC_ERR_CONFIG);
        unsetenv(bad[i].name);
    }
    single_rank();
    assert_int_equal(lc_params_check(), 0);
}

static void test_good_values_taken(void **state)
{
    struct lc_comm *c;

    (void)state;
    single_rank();
    setenv("LC_SEGMENT", "128", 1);
    setenv("LC_VOTE_DEPTH", "8", 1);
    setenv("LC_CHECK_ARGS", "Off", 1);
    setenv("LC_SIMD", "SCALAR", 1);
    setenv("LC_LOG_LEVEL", "NONE", 1);
    setenv("LC_TIMEOUT", "5K", 1);
    assert_int_equal(lc_comm_init(NULL, &c), 0);
    assert_int_equal(c->segment, 128);
    assert_int_equal(c->vote_depth, 8);
    assert_int_equal(c->check_args, 0);
    assert_int_equal(c->timeout_ms, 5120);
    lc_comm_destroy(c);
    unsetenv("LC_SEGMENT");
    unsetenv("LC_VOTE_DEPTH");
    unsetenv("LC_CHECK_ARGS");
    unsetenv("LC_SIMD");
    unsetenv("LC_LOG_LEVEL");
    unsetenv("LC_TIMEOUT");
    /* the defaults come from the registry */
    assert_int_equal(lc_comm_init(NULL, &c), 0);
    assert_int_equal(c->segment, 1 << 20);
    assert_int_equal(c->vote_depth, 2);
    assert_int_equal(c->check_args, 1);
    assert_int_equal(c->timeout_ms, 60000);
    lc_comm_destroy(c);
}

static void test_param_int_rules(void **state)
{
    int64_t v = -1;
    char form[256];

    (void)state;
    setenv("LC_SEGMENT", "4K", 1);
    assert_int_equal(lc_param_int("LC_SEGMENT", &v), 0);
    assert_int_equal(v, 4096);
    setenv("LC_SEGMENT", "4G", 1);
    assert_int_equal(lc_param_int("LC_SEGMENT", &v), 0);
    assert_true(v == 4LL << 30);
    setenv("LC_SEGMENT", "96", 1);
    assert_int_equal(lc_param_int("LC_SEGMENT", &v), LC_ERR_CONFIG);
    setenv("LC_SEGMENT", "9999999999999999999G", 1); /* out of int64_t */
    assert_int_equal(lc_param_int("LC_SEGMENT", &v), LC_ERR_CONFIG);
    unsetenv("LC_SEGMENT");
    assert_int_equal(lc_param_int("LC_SEGMENT", &v), 0);
    assert_int_equal(v, 1 << 20);
    assert_int_equal(lc_param_int("LC_NO_SUCH", &v), -ENOENT);
    setenv("LC_SIMD", "Avx2", 1);
    assert_int_equal(lc_param_word("LC_SIMD"), LC_SIMD_AVX2);
    setenv("LC_SIMD", "sse", 1);
    assert_int_equal(lc_param_word("LC_SIMD"), -EINVAL);
    unsetenv("LC_SIMD");
    assert_int_equal(lc_param_word("LC_SIMD"), -ENOENT);
    assert_int_equal(lc_param_word("LC_LOG_LEVEL"), 0); /* default "none" */
    lc_param_form(lc_param_find("LC_VOTE_DEPTH", NULL), form, sizeof(form));
    assert_string_equal(form, "an integer 1..8 (K, M or G suffix: x1024)");
    /* every registered variable has help and a form */
    for (int i = 0; lc_param_at(i, NULL); i++) {
        const lc_param_t *p = lc_param_at(i, NULL);
        lc_param_form(p, form, sizeof(form));
        assert_true(strlen(form) > 5);
        assert_true(p->help && strlen(p->help) > 10);
        assert_ptr_equal(lc_param_find(p->name, NULL), p);
    }
}

static void test_log_level_warned_once(void **state)
{
    int before = count_seen("not logging");

    (void)state;
    setenv("LC_LOG_LEVEL", "loud", 1);
    lc_log_set_sink(capture); /* the level is read again */
    assert_false(lc_log_enabled(LC_LOG_ERROR));
    assert_false(lc_log_enabled(LC_LOG_DEBUG));
    assert_int_equal(count_seen("not logging"), before + 1);
    assert_non_null(strstr(seen[nseen - 1],
                           "LC_LOG_LEVEL=loud: expected one of none, error, warn, info, debug"));
    setenv("LC_LOG_LEVEL", "debug", 1);
    lc_log_set_sink(capture);
    assert_true(lc_log_enabled(LC_LOG_DEBUG));
    unsetenv("LC_LOG_LEVEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_reported_once), cmocka_unit_test(test_bad_values_fail_init),
        cmocka_unit_test(test_good_values_taken),     cmocka_unit_test(test_param_int_rules),
        cmocka_unit_test(test_log_level_warned_once),
    };

    setenv("LC_PROVDER", "tcp", 1); /* misspelt: reported once */
    lc_log_set_sink(capture);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
