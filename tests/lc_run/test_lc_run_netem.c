/* test_lc_run_netem.c - lc_run --net 1gbit --netem with the BPF emulation
 * (LC_RUN_NETEM=bpf): counted bursts of UDP datagrams or raw 0x88B5 frames
 * from host 0 to host 1 show loss, duplicates, corruption (and that checksums
 * catch it) and reordering at plausible rates, delay shows in the round trip
 * time and, with reorder, lets the undelayed frames overtake, TCP carries a stream intact through a mix of impairments, options
 * that are not emulated fail, and the namespaces are gone after every run.
 * Needs root; exits 77 without it.
 * usage: test_lc_run_netem LC_RUN NETEM_PROBE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../netns_check.h"
#include "lct_harness.h"

#define N 4000 /* frames per burst */

typedef struct stats {
    int recv, uniq, dup, bad, ooo;
    double rtt_us;
} stats_t;

static int lost(const stats_t *s)
{
    return N - s->uniq;
}

/* lc_run -n 2 --net 1gbit --netem SPEC PROBE MODE N 1000 [EXTRA]. */
static void burst(const char *spec, const char *mode, const char *extra, stats_t *s)
{
    char n[16];
    lct_result_t a;
    const char *st, *rt;

    snprintf(n, sizeof(n), "%d", N);
    {
        char *argv[] = {(char *)lct_lc_run, "-n", "2", "--net", "1gbit", "--netem", (char *)spec,
                        "--timeout", "40", "--prefix", "--", (char *)lct_probe, (char *)mode, n,
                        "1000", (char *)extra, NULL};

        lct_run(argv, 50, &a);
    }
    if (a.rc != 0)
        fprintf(stderr, "lc_run --netem \"%s\" failed (%d):\n%s%s", spec, a.rc, a.out, a.err);
    assert_int_equal(a.rc, 0);
    st = strstr(a.out, "[1] STATS ");
    rt = strstr(a.out, "[0] RTT min_us=");
    assert_non_null(st);
    assert_non_null(rt);
    assert_int_equal(sscanf(st, "[1] STATS recv=%d uniq=%d dup=%d bad=%d ooo=%d", &s->recv,
                            &s->uniq, &s->dup, &s->bad, &s->ooo), 5);
    assert_int_equal(sscanf(rt, "[0] RTT min_us=%lf", &s->rtt_us), 1);
    printf("  --netem \"%s\" %s%s%s: recv=%d uniq=%d dup=%d bad=%d ooo=%d rtt=%.0f us\n", spec,
           mode, extra ? " " : "", extra ? extra : "", s->recv, s->uniq, s->dup, s->bad, s->ooo,
           s->rtt_us);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

/* 5 % of 4000 is 200 (standard deviation 14): 2 % .. 9 % is far outside chance. */
static void assert_about_5pct(int count)
{
    assert_in_range(count, N * 2 / 100, N * 9 / 100);
}

static void test_loss(void **state)
{
    stats_t s;

    burst("loss 5%", "udp", NULL, &s);
    assert_about_5pct(lost(&s));
    assert_int_equal(s.dup, 0);
    assert_int_equal(s.bad, 0);
}

static void test_duplicate(void **state)
{
    stats_t s;

    burst("duplicate 5%", "udp", NULL, &s);
    assert_int_equal(s.uniq, N);
    assert_about_5pct(s.dup);
    assert_int_equal(s.bad, 0);
}

/* Raw frames carry no checksum: every flipped bit arrives. */
static void test_corrupt_raw(void **state)
{
    stats_t s;

    burst("corrupt 5%", "raw", NULL, &s);
    assert_int_equal(s.recv, N);
    assert_about_5pct(s.bad);
    assert_int_equal(s.uniq + s.bad, N);
}

/* With UDP checksums the receiver drops every corrupted datagram: none
 * arrives bad, about 5 % are missing. */
static void test_corrupt_udp_checked(void **state)
{
    stats_t s;

    burst("corrupt 5%", "udp", NULL, &s);
    assert_int_equal(s.bad, 0);
    assert_about_5pct(lost(&s));
}

/* Without a UDP checksum the corrupted payloads arrive (bits flipped in the
 * IP or UDP header may still lose the datagram). */
static void test_corrupt_udp_nocheck(void **state)
{
    stats_t s;

    burst("corrupt 5%", "udp", "nocheck", &s);
    assert_about_5pct(s.bad);
    assert_in_range(s.uniq + s.bad, N - N / 50, N);
}

/* 10 % of the datagrams are held 1 ms while later ones pass. */
static void test_reorder(void **state)
{
    stats_t s;

    burst("reorder 10%", "udp", NULL, &s);
    assert_int_equal(s.uniq, N);
    assert_int_equal(s.bad, 0);
    assert_in_range(s.ooo, N * 4 / 100, N * 20 / 100);
}

/* Each direction waits 20 ms: a round trip takes at least 40 ms. */
static void test_delay(void **state)
{
    stats_t s;

    burst("delay 20ms limit 5000", "udp", NULL, &s);
    assert_true(s.rtt_us >= 40000 && s.rtt_us < 200000);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.dup, 0);
}

/* netem's reorder with a delay: half the datagrams skip the 5 ms delay and
 * overtake the delayed half, which arrive late. */
static void test_delay_reorder(void **state)
{
    stats_t s;

    burst("delay 5ms reorder 50%", "udp", NULL, &s);
    assert_int_equal(s.uniq, N);
    assert_in_range(s.ooo, N * 35 / 100, N * 60 / 100);
}

static void test_tcp_mix(void **state)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "2", "--net", "1gbit", "--netem",
                    "loss 1% duplicate 1% corrupt 0.1% reorder 10%", "--timeout", "40",
                    "--prefix", "--", (char *)lct_probe, "tcp", "8000000", NULL};
    lct_result_t a;

    lct_run(argv, 50, &a);
    if (a.rc != 0)
        fprintf(stderr, "%s%s", a.out, a.err);
    assert_int_equal(a.rc, 0);
    assert_non_null(strstr(a.out, "[1] TCP OK bytes=8000000\n"));
    printf("  TCP 8 MB through \"loss 1%% duplicate 1%% corrupt 0.1%% reorder 10%%\": %.2f s\n",
           a.secs);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

static void expect_refused(const char *spec, const char *why)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "2", "--net", "1gbit", "--netem", (char *)spec,
                    "--", (char *)lct_probe, "tcp", "1000", NULL};
    lct_result_t a;

    lct_run(argv, 30, &a);
    assert_int_equal(a.rc, 2);
    if (!strstr(a.err, why))
        fprintf(stderr, "stderr for \"%s\": %s\n", spec, a.err);
    assert_non_null(strstr(a.err, why));
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

/* netem's spellings that the emulation reads: "random", bare numbers as
 * percent, times with and without units (bare: microseconds), limit. */
static void test_syntax_accepted(void **state)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "2", "--net", "1gbit", "--netem",
                    "loss random 0 duplicate 0% corrupt 0.0 reorder 0 delay 500 limit 10",
                    "--", "true", NULL};
    lct_result_t a;

    lct_run(argv, 30, &a);
    if (a.rc != 0)
        fprintf(stderr, "%s", a.err);
    assert_int_equal(a.rc, 0);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

static void test_not_emulated(void **state)
{
    expect_refused("rate 1mbit", "\"rate\" is not emulated");
    expect_refused("loss 5% 25%", "\"25%\" is not emulated");
    expect_refused("delay 10ms 2ms", "\"2ms\" is not emulated");
    expect_refused("loss 150%", "bad value \"150%\" for loss");
    expect_refused("corrupt", "\"corrupt\" needs a value");
}

/* Was lc_run built with the emulation? (It says so when asked to use it.) */
static int has_emulation(void)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "1", "--net", "1gbit", "--netem", "loss 0%",
                    "--", "true", NULL};
    lct_result_t a;
    int ok;

    lct_run(argv, 30, &a);
    ok = a.rc == 0;
    if (!ok)
        printf("lc_run --netem emulation unavailable: %s", a.err);
    lct_result_free(&a);
    return ok;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_duplicate),
        cmocka_unit_test(test_corrupt_raw),
        cmocka_unit_test(test_corrupt_udp_checked),
        cmocka_unit_test(test_corrupt_udp_nocheck),
        cmocka_unit_test(test_reorder),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_delay_reorder),
        cmocka_unit_test(test_tcp_mix),
        cmocka_unit_test(test_syntax_accepted),
        cmocka_unit_test(test_not_emulated),
    };

    lct_init(argc, argv);
    if (!lc_test_can_make_netns()) {
        printf("skipped: needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN to create network "
               "namespaces\n");
        return 77;
    }
    setenv("LC_RUN_NETEM", "bpf", 1); /* the emulation, also where sch_netem exists */
    if (!has_emulation()) {
        printf("skipped: lc_run has no BPF netem emulation here\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
