/* test_lc_run_netns.c - lc_run --net: each rank sees only lc0 and lo with its
 * host's link-local address, ranks reach each other over TCP, --hosts places
 * the ranks on shared host namespaces (even and uneven splits, a list) with
 * LC_HOST, LC_LOCAL_RANK and LC_LOCAL_SIZE, --one exports the hosts, and the
 * namespaces are gone afterwards: after success, a rank crash, SIGTERM to
 * lc_run and a failed setup. Needs root; exits 77 without it.
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

/* layout: "HOST:LOCAL/SIZE" of each rank in rank order. Every rank reached
 * every other (NET OK) from its host's namespace and address; ranks share a
 * namespace exactly when they share a host; nothing is left afterwards. */
static void check_layout(const lct_result_t *a, const char *layout)
{
    unsigned long ns[32];
    int host[32], n = 0, off;

    assert_int_equal(a->rc, 0);
    for (const char *l = layout; sscanf(l, " %d:%*d/%*d%n", &host[n], &off) == 1; l += off) {
        char want[96], *line;
        int local, size;

        assert_int_equal(sscanf(l, " %*d:%d/%d", &local, &size), 2);
        snprintf(want, sizeof(want), "[%d] NET OK rank=%d addr=169.254.1.%d host=%d local=%d/%d ",
                 n, n, host[n] + 1, host[n], local, size);
        line = strstr(a->out, want);
        if (!line)
            fail_msg("no '%s' in:\n%s%s", want, a->out, a->err);
        assert_int_equal(sscanf(line + strlen(want), "netns=%lu", &ns[n]), 1);
        n++;
    }
    assert_int_equal(lct_count(a->out, "NET OK"), n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            assert_int_equal(ns[i] == ns[j], host[i] == host[j]);
    assert_int_equal(lct_netns_count(a->pid), 0);
}

static void test_mesh4(void **state)
{
    lct_result_t a;

    RUN(&a, 60, "-n", "4", "--net", "1gbit", "--prefix", "--", (char *)lct_probe, "net");
    check_layout(&a, "0:0/1 1:0/1 2:0/1 3:0/1");
    lct_result_free(&a);
}

static void test_jumbo(void **state)
{
    lct_result_t a;

    RUN(&a, 60, "-n", "2", "--net", "10gbit", "--mtu", "9000", "--prefix", (char *)lct_probe,
        "net");
    check_layout(&a, "0:0/1 1:0/1");
    lct_result_free(&a);
}

/* --hosts: 5 ranks on 2 hosts (3 + 2), 8 on 2 and on 4, and a list. */
static void test_hosts(void **state)
{
    static const struct {
        const char *n, *hosts, *layout;
    } cases[] = {
        {"5", "2", "0:0/3 0:1/3 0:2/3 1:0/2 1:1/2"},
        {"8", "2", "0:0/4 0:1/4 0:2/4 0:3/4 1:0/4 1:1/4 1:2/4 1:3/4"},
        {"8", "4", "0:0/2 0:1/2 1:0/2 1:1/2 2:0/2 2:1/2 3:0/2 3:1/2"},
        {"7", "1,2,4", "0:0/1 1:0/2 1:1/2 2:0/4 2:1/4 2:2/4 2:3/4"},
        {"3", "1", "0:0/3 0:1/3 0:2/3"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lct_result_t a;

        RUN(&a, 90, "-n", (char *)cases[i].n, "--hosts", (char *)cases[i].hosts, "--net",
            "1gbit", "--prefix", "--", (char *)lct_probe, "net");
        check_layout(&a, cases[i].layout);
        lct_result_free(&a);
    }
}

static void test_crash_cleans_up(void **state)
{
    lct_result_t a;
    pid_t pids[8];
    int n;

    RUN(&a, 60, "-n", "4", "--hosts", "3", "--net", "100mbit", (char *)lct_probe, "crash", "1");
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
    char *hosts[] = {(char *)lct_lc_run, "-n", "5", "--hosts", "2", "--net", "1gbit",
                     (char *)lct_probe, "sleep", NULL};
    char **argvs[] = {argv, hosts};
    int ranks[] = {2, 5};

    for (int i = 0; i < 2; i++) {
        lct_result_t a;
        lct_proc_t p;

        assert_int_equal(lct_start(argvs[i], &p), 0);
        assert_int_equal(lct_wait_for(&p, "ready", ranks[i], 20), ranks[i]);
        assert_int_equal(lct_netns_count(p.pid), 3); /* switch and two hosts while running */
        kill(p.pid, SIGTERM);
        lct_finish(&p, 20, &a);
        assert_int_equal(a.rc, 128 + SIGTERM);
        assert_int_equal(lct_netns_count(a.pid), 0);
        lct_result_free(&a);
    }
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
             "ADDRS=[169.254.1.1 169.254.1.2 169.254.1.3] RANKS=[1 1 1] SWITCH=[lc%ds]\n",
             pid, pid, pid, pid);
    assert_string_equal(a.out, want);
    assert_int_equal(lct_netns_count(a.pid), 0);
    lct_result_free(&a);
    RUN(&a, 60, "-n", "5", "--hosts", "2,3", "--net", "100mbit", "--one", (char *)lct_probe,
        "one");
    assert_int_equal(a.rc, 0);
    pid = (int)a.pid;
    snprintf(want, sizeof(want),
             "ONE RANK=unset SIZE=5 HOSTS=[lc%dh0 lc%dh1] ADDRS=[169.254.1.1 169.254.1.2] "
             "RANKS=[2 3] SWITCH=[lc%ds]\n", pid, pid, pid);
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
        cmocka_unit_test(test_hosts),
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
