/*
 * test_args.c - the tools' option parser (tools/args.c): every kind of value
 * is stored when well formed and refused (status 2) when malformed, out of
 * range, missing or unexpected, as are unknown options and stray arguments;
 * --help and --version return 0.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"

static const char *const colors[] = {"red", "green", NULL};

struct vals {
    int flag, n, color, n_given;
    size_t size;
    double real, rate;
    uint64_t seed;
    const char *str;
};

/* Parse the words of line (space separated) as argv[1..]; the status. */
static int parse(struct vals *v, const char *line)
{
    const lca_opt_t opts[] = {
        {.shortname = 'f', .longname = "flag", .kind = LCA_FLAG, .dst = &v->flag, .help = "f"},
        {.shortname = 'n', .longname = "iters", .kind = LCA_INT, .dst = &v->n, .metavar = "N",
         .help = "n", .min = 1, .max = 100, .given = &v->n_given},
        {.shortname = 'b', .kind = LCA_SIZE, .dst = &v->size, .metavar = "SIZE", .help = "b",
         .min = 0, .max = 1 << 30},
        {.longname = "factor", .kind = LCA_REAL, .dst = &v->real, .metavar = "F", .help = "r",
         .min = 1, .max = HUGE_VAL, .min_open = 1},
        {.longname = "color", .kind = LCA_CHOICE, .dst = &v->color, .metavar = "C",
         .choices = colors, .help = "c"},
        {.longname = "link", .kind = LCA_RATE, .dst = &v->rate, .metavar = "R", .help = "l"},
        {.longname = "seed", .kind = LCA_U64, .dst = &v->seed, .metavar = "S", .help = "s"},
        {.shortname = 'J', .kind = LCA_STR, .dst = &v->str, .metavar = "FILE", .help = "j"},
        {.help = NULL},
    };
    const lca_tool_t tool = {.name = "test_args", .usage = "[options]", .about = "test\n",
                             .opts = opts};
    static char buf[512];
    char *argv[32] = {"test_args"};
    int argc = 1;

    memset(v, 0, sizeof(*v));
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *w = strtok(buf, " "); w && argc < 31; w = strtok(NULL, " "))
        argv[argc++] = w;
    return lca_parse(&tool, argc, argv);
}

static void test_good(void **state)
{
    struct vals v;

    (void)state;
    assert_int_equal(parse(&v, ""), -1);
    assert_int_equal(v.n_given, 0);
    assert_int_equal(parse(&v, "-f -n 7 -b 64K --factor 1.5 --color green --link 1gbit "
                               "--seed 18446744073709551615 -J out.json"),
                     -1);
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.n, 7);
    assert_int_equal(v.n_given, 1);
    assert_int_equal(v.size, 65536);
    assert_true(v.real == 1.5);
    assert_int_equal(v.color, 1);
    assert_true(v.rate == 1e9);
    assert_true(v.seed == UINT64_MAX);
    assert_string_equal(v.str, "out.json");
    assert_int_equal(parse(&v, "--iters=100 -n5 -b1M --color=red"), -1);
    assert_int_equal(v.n, 5); /* the last one counts */
    assert_int_equal(v.size, 1 << 20);
    assert_int_equal(v.color, 0);
    assert_int_equal(parse(&v, "--help"), 0);
    assert_int_equal(parse(&v, "-n 3 --version"), 0);
}

static void test_bad(void **state)
{
    static const char *const bad[] = {
        "-n 3x",       "-n 0",          "-n 101",      "-n",          "-n ''",
        "-b 1Q",       "-b -1",         "-b 2G",       "--factor 1",  "--factor x",
        "--factor inf", "--color blue", "--link fast", "--seed -1",   "--seed 1.5",
        "--seed 99999999999999999999", "-f=1",         "--flag=yes",  "-fx",
        "--bogus",     "-x",            "stray",       "-- -n 3",     "--iters-n 3",
        "--ite 3",     "-",
    };
    struct vals v;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(parse(&v, bad[i]), 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_good), cmocka_unit_test(test_bad)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
