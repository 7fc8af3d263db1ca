/* test_lc_run_netns.c - lc_run --net: each rank sees only lc0 and lo with its
 * link-local address, ranks reach each other over TCP, --one exports the hosts,
 * and the namespaces are gone afterwards: after success, a rank crash, SIGTERM
 * to lc_run and a failed setup. Needs root; exits 77 without it.
 * usage: test_lc_run_netns LC_RUN PROBE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../netns_check.h"
#include "lct_harness.h"

#define RUN(res, timeout, ...)                                                                 \
    do {                                                                                       \
        char *argv_[] = {(char *)lct_lc_run, __VA_ARGS__, NULL};                               \
        lct_run(argv_, timeout, res);                                                          \
    } while (0)

static void check_mesh(const lct_result_t *a, int n)
{
    assert_int_equal(a->rc, 0);
    for (int r = 0; r < n; r++) {
        char want[64];

        snprintf(want, sizeof(want), "[%d] NET OK rank=%d addr=169.254.1.%d\n", r, r, r + 1);
        assert_non_null(strstr(a->out, want));
    }
    assert_int_equal(lct_netns_count(a->pid), 0);
}

static void test_mesh4(void **state)
{
    lct_result_t a;

    RUN(&a, 60, "-n", "4", "--net", "1gbit", "--prefix", "--", (char *)lct_probe, "net");
    check_mesh(&a, 4);
    lct_result_free(&a);
}

static void test_jumbo(void **state)
{
    lct_result_t a;

    RUN(&a, 60, "-n", "2", "--net", "10gbit", "--mtu", "9000", "--prefix", (char *)lct_probe,
        "net");
    check_mesh(&a, 2);
    lct_result_free(&a);
}

static void test_crash_cleans_up(void **state)
{
    lct_result_t a;
    pid_t pids[8];
    int n;

    RUN(&a, 60, "-n", "4", "--net", "100mbit", (char *)lct_probe, "crash", "1");
    assert_int_equal(a.rc, 128 + SIGSEGV);
    assert_true(a.secs < 8.0);
    assert_non_null(strstr(a.err, "rank 1 was killed by signal"));
    assert_int_equal(lct_netns_count(a.pid), 0);
    n = lct_pids(a.out, pids, 8);
    for (int i = 0; i < n; i++)
        assert_true(lct_gone(pids[i]));
    lct_result_free(&a);
}

static void test_sigterm_cleans_up(void **state)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "2", "--net", "1gbit", (char *)lct_probe, "sleep",
                    NULL};
    lct_result_t a;
    lct_proc_t p;

    assert_int_equal(lct_start(argv, &p), 0);
    assert_int_equal(lct_wait_for(&p, "ready", 2, 20), 2);
    assert_int_equal(lct_netns_count(p.pid), 3); /* switch and two hosts exist while running */
    kill(p.pid, SIGTERM);
    lct_finish(&p, 20, &a);
    assert_int_equal(a.rc, 128 + SIGTERM);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

static void test_one(void **state)
{
    lct_result_t a;
    char want[256];
    int pid;

    RUN(&a, 60, "-n", "3", "--net", "100mbit", "--one", (char *)lct_probe, "one");
    assert_int_equal(a.rc, 0);
    pid = (int)a.pid;
    snprintf(want, sizeof(want),
             "ONE RANK=unset SIZE=3 HOSTS=[lc%dh0 lc%dh1 lc%dh2] "
             "ADDRS=[169.254.1.1 169.254.1.2 169.254.1.3] SWITCH=[lc%ds]\n",
             pid, pid, pid, pid);
    assert_string_equal(a.out, want);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

/* A tc failure during setup (netem with a bogus argument) removes what was made. */
static void test_setup_failure_cleans_up(void **state)
{
    lct_result_t a;

    RUN(&a, 60, "-n", "3", "--net", "1gbit", "--netem", "bogus-netem-argument", (char *)lct_probe,
        "env");
    assert_int_equal(a.rc, 2);
    assert_null(strstr(a.out, "RANK="));
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mesh4),
        cmocka_unit_test(test_jumbo),
        cmocka_unit_test(test_crash_cleans_up),
        cmocka_unit_test(test_sigterm_cleans_up),
        cmocka_unit_test(test_one),
        cmocka_unit_test(test_setup_failure_cleans_up),
    };

    lct_init(argc, argv);
    if (!lc_test_can_make_netns()) {
        printf("skipped: needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN to create network "
               "namespaces\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
