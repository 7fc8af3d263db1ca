/*
 * test_ofi_netns.c - the ofi provider between two network namespaces made by
 * lc_run --net (tcp;ofi_rxm over the emulated Ethernet, interface lc0): runs
 * ofi_perf as two ranks, which checks every message. Needs root; exits 77
 * without it. Usage: test_ofi_netns LC_RUN OFI_PERF
 */
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
#include "ofi_pair.h"

static const char *lc_run, *ofi_perf;

static void test_two_hosts(void **state)
{
    char cmd[2048], line[512];
    int saw_lc0 = 0, saw_bw = 0, status;
    FILE *f;

    (void)state;
    snprintf(cmd, sizeof(cmd),
             "LC_LOG_LEVEL=info '%s' --net 1gbit --timeout 60 -n 2 '%s' 256K 32 4 2>&1", lc_run,
             ofi_perf);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        fputs(line, stdout);
        saw_lc0 |= strstr(line, "domain lc0") != NULL;
        saw_bw |= strstr(line, "bandwidth") != NULL;
    }
    status = pclose(f);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(saw_lc0); /* the ranks used the emulated link, not loopback */
    assert_true(saw_bw);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_two_hosts)};

    if (argc != 3) {
        fprintf(stderr, "usage: %s LC_RUN OFI_PERF\n", argv[0]);
        return 2;
    }
    lc_run = argv[1];
    ofi_perf = argv[2];
    if (!lc_test_can_make_netns()) {
        printf("skipped: needs root allowed to create network namespaces\n");
        return 77;
    }
    ofi_env_or_skip();
    unsetenv("LC_OFI_IFNAME"); /* lc_run sets lc0 in the namespaces */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
