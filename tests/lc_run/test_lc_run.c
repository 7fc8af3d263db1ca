/* test_lc_run.c - lc_run over loopback: rank variables, the "[rank] " prefix
 * (on a terminal, on request, never into a pipe by default), failure propagation and stopping of the other ranks, timeout, SIGTERM,
 * --one, usage errors and the refusal of --net without root.
 * usage: test_lc_run LC_RUN PROBE */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lct_harness.h"

#define RUN(res, timeout, ...)                                                                 \
    do {                                                                                       \
        char *argv_[] = {(char *)lct_lc_run, __VA_ARGS__, NULL};                               \
        lct_run(argv_, timeout, res);                                                          \
    } while (0)

/* Check one "[r] RANK=r SIZE=n LOCAL=r ROOT=x KEY=y" line per rank. */
static void check_env_lines(const char *out, int n, const char *want_key)
{
    char root0[64] = "", key0[80] = "";
    int seen[8] = {0};

    for (int r = 0; r < n; r++) {
        char head[32], root[64], key[80];
        const char *line;
        int rank, size, local, port;

        snprintf(head, sizeof(head), "[%d] RANK=", r);
        line = strstr(out, head);
        assert_non_null(line);
        assert_int_equal(sscanf(line, "[%*d] RANK=%d SIZE=%d LOCAL=%d ROOT=%63s KEY=%79s", &rank,
                                &size, &local, root, key),
                         5);
        assert_int_equal(rank, r);
        assert_int_equal(size, n);
        assert_int_equal(local, r);
        assert_int_equal(sscanf(root, "127.0.0.1:%d", &port), 1);
        assert_true(port > 0 && port < 65536);
        if (r == 0) {
            strcpy(root0, root);
            strcpy(key0, key);
        }
        assert_string_equal(root, root0);
        assert_string_equal(key, key0);
        seen[rank]++;
    }
    for (int r = 0; r < n; r++)
        assert_int_equal(seen[r], 1);
    if (want_key) {
        assert_string_equal(key0, want_key);
    } else {
        assert_int_equal(strlen(key0), 32);
        for (const char *k = key0; *k; k++)
            assert_true(isxdigit((unsigned char)*k) && !isupper((unsigned char)*k));
    }
}

static void test_env(void **state)
{
    lct_result_t a, b;
    char *k1;

    unsetenv("LC_JOB_KEY");
    RUN(&a, 20, "-n", "4", "--prefix", "--", (char *)lct_probe, "env");
    assert_int_equal(a.rc, 0);
    check_env_lines(a.out, 4, NULL);
    for (int r = 0; r < 4; r++) {
        char want[32];

        snprintf(want, sizeof(want), "[%d] ERR %d\n", r, r);
        assert_non_null(strstr(a.err, want)); /* stderr stays stderr, prefixed */
        snprintf(want, sizeof(want), "[%d] tail %d\n", r, r);
        assert_non_null(strstr(a.out, want)); /* partial last line completed */
    }
    /* A second run gets another key; a key set by the user is kept. */
    k1 = strstr(a.out, "KEY=");
    RUN(&b, 20, "-n", "1", "--prefix", (char *)lct_probe, "env");
    assert_int_equal(b.rc, 0);
    assert_memory_not_equal(k1, strstr(b.out, "KEY="), 36);
    lct_result_free(&b);
    setenv("LC_JOB_KEY", "my-own-key", 1);
    RUN(&b, 20, "-n", "2", "--prefix", (char *)lct_probe, "env");
    unsetenv("LC_JOB_KEY");
    assert_int_equal(b.rc, 0);
    check_env_lines(b.out, 2, "my-own-key");
    lct_result_free(&a);
    lct_result_free(&b);
}

static void test_prefix_chunks(void **state)
{
    lct_result_t a;
    int xs[3] = {0};

    RUN(&a, 20, "-n", "3", "--no-prefix", "--prefix", (char *)lct_probe, "chunks");
    assert_int_equal(a.rc, 0);
    /* Every line carries a valid prefix; whole lines arrive intact. */
    for (char *line = a.out; *line;) {
        char *nl = strchr(line, '\n');
        int r = -1, off = 0;

        assert_non_null(nl);
        assert_int_equal(sscanf(line, "[%d] %n", &r, &off), 1);
        assert_true(r >= 0 && r < 3 && off > 0);
        if (line[off] == 'x') {
            for (char *c = line + off; c < nl; c++)
                assert_int_equal(*c, 'x');
            xs[r] += (int)(nl - line - off);
        }
        line = nl + 1;
    }
    for (int r = 0; r < 3; r++) {
        char want[48];

        for (int i = 0; i < 20; i++) {
            snprintf(want, sizeof(want), "[%d] line %d of rank %d\n", r, i, r);
            assert_non_null(strstr(a.out, want));
        }
        snprintf(want, sizeof(want), "[%d] end\n", r);
        assert_non_null(strstr(a.out, want));
        assert_int_equal(xs[r], 40000); /* the long line, split but complete */
    }
    lct_result_free(&a);
}

/* Into pipes (the harness's) lines pass as the ranks wrote them, whole;
 * --no-prefix after --prefix wins. */
/* Into pipes (the harness's) lines pass whole and as the ranks wrote them, by
 * default and with --no-prefix (which wins over an earlier --prefix). */
static void test_no_prefix_into_pipe(void **state)
{
    char *plain[] = {(char *)lct_lc_run, "-n", "3", "--", (char *)lct_probe, "chunks", NULL};
    char *off[] = {(char *)lct_lc_run, "-n", "3", "--prefix", "--no-prefix", "--",
                   (char *)lct_probe, "chunks", NULL};
    char **argvs[] = {plain, off};

    for (int i = 0; i < 2; i++) {
        lct_result_t a;
        int ends = 0;

        lct_run(argvs[i], 20, &a);
        assert_int_equal(a.rc, 0);
        for (int r = 0; r < 3; r++) {
            char want[48];

            snprintf(want, sizeof(want), "line 19 of rank %d\n", r);
            assert_non_null(strstr(a.out, want));
        }
        for (const char *line = a.out; *line; line = strchr(line, '\n') + 1) {
            assert_non_null(strchr(line, '\n'));
            ends += !strncmp(line, "end\n", 4);
            assert_true(!strncmp(line, "line ", 5) || line[0] == 'x' || !strncmp(line, "end\n", 4));
        }
        assert_int_equal(ends, 3);
        lct_result_free(&a);
    }
}

/* On a terminal (stdout on a pseudo-terminal) stdout's lines are prefixed,
 * while stderr, a pipe, is not. */
static void test_prefix_on_terminal(void **state)
{
    char out[8192] = "", *err;
    int master, slave, pe[2], status;
    size_t len = 0;
    pid_t pid;

    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        skip(); /* no pseudo-terminals here */
    assert_int_equal(pipe(pe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(master);
        close(pe[0]);
        dup2(slave, STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        execl(lct_lc_run, lct_lc_run, "-n", "2", "--timeout", "20", (char *)lct_probe, "env",
              (char *)NULL);
        _exit(126);
    }
    close(slave);
    close(pe[1]);
    /* Until the last writer of the terminal is gone (EIO) or the buffer is full. */
    for (ssize_t n; len < sizeof(out) - 1 &&
                    (n = read(master, out + len, sizeof(out) - 1 - len)) > 0;)
        len += (size_t)n;
    out[len] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    err = calloc(1, 4096);
    assert_non_null(err);
    for (size_t e = 0; e < 4095;) {
        ssize_t n = read(pe[0], err + e, 4095 - e);

        if (n <= 0)
            break;
        e += (size_t)n;
    }
    for (int r = 0; r < 2; r++) {
        char want[32];

        snprintf(want, sizeof(want), "[%d] RANK=%d ", r, r);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof(want), "ERR %d\n", r);
        assert_non_null(strstr(err, want));
        snprintf(want, sizeof(want), "] ERR %d\n", r);
        assert_null(strstr(err, want));
    }
    free(err);
    close(master);
    close(pe[0]);
}

static void check_gone(const char *out)
{
    pid_t pids[8];
    int n = lct_pids(out, pids, 8);

    for (int i = 0; i < n; i++)
        assert_true(lct_gone(pids[i]));
}

static void test_fail_stops_others(void **state)
{
    lct_result_t a;

    RUN(&a, 30, "-n", "4", "--grace", "1", (char *)lct_probe, "fail", "2", "7");
    assert_int_equal(a.rc, 7);
    assert_true(a.secs < 5.0); /* the others sleep 60 s unless stopped */
    assert_non_null(strstr(a.err, "rank 2 exited with code 7"));
    check_gone(a.out);
    lct_result_free(&a);
}

static void test_crash_signal(void **state)
{
    const char *asan = getenv("ASAN_OPTIONS");
    char saved[256];
    lct_result_t a;

    /* Under AddressSanitizer the probe must still die by the signal. */
    snprintf(saved, sizeof(saved), "%s", asan ? asan : "");
    setenv("ASAN_OPTIONS", "handle_segv=0", 1);
    RUN(&a, 30, "-n", "3", (char *)lct_probe, "crash", "1");
    if (asan)
        setenv("ASAN_OPTIONS", saved, 1);
    else
        unsetenv("ASAN_OPTIONS");
    assert_int_equal(a.rc, 128 + SIGSEGV);
    assert_true(a.secs < 5.0);
    assert_non_null(strstr(a.err, "rank 1 was killed by signal"));
    assert_non_null(strstr(a.err, "SIGSEGV"));
    check_gone(a.out);
    lct_result_free(&a);
}

static void test_stubborn_killed(void **state)
{
    lct_result_t a;

    RUN(&a, 30, "-n", "3", "--grace", "0.5", (char *)lct_probe, "fail", "0", "3", "stubborn");
    assert_int_equal(a.rc, 3);
    assert_true(a.secs < 4.0);
    assert_non_null(strstr(a.err, "SIGKILL"));
    check_gone(a.out);
    lct_result_free(&a);
}

static void test_timeout(void **state)
{
    lct_result_t a;

    RUN(&a, 30, "-n", "2", "--timeout", "0.5", (char *)lct_probe, "sleep");
    assert_int_equal(a.rc, 124);
    assert_true(a.secs < 4.0);
    assert_non_null(strstr(a.err, "timeout"));
    check_gone(a.out);
    lct_result_free(&a);
}

static void test_sigterm(void **state)
{
    char *argv[] = {(char *)lct_lc_run, "-n", "3", (char *)lct_probe, "sleep", NULL};
    lct_result_t a;
    lct_proc_t p;

    assert_int_equal(lct_start(argv, &p), 0);
    assert_int_equal(lct_wait_for(&p, "ready", 3, 10), 3);
    kill(p.pid, SIGTERM);
    lct_finish(&p, 10, &a);
    assert_int_equal(a.rc, 128 + SIGTERM);
    assert_non_null(strstr(a.err, "SIGTERM"));
    check_gone(a.out);
    lct_result_free(&a);
}

static void test_one(void **state)
{
    lct_result_t a;

    setenv("LC_RANK", "5", 1); /* must not leak into --one */
    RUN(&a, 20, "-n", "3", "--one", (char *)lct_probe, "one");
    unsetenv("LC_RANK");
    assert_int_equal(a.rc, 0);
    /* Once, unprefixed, no rank, no hosts without --net. */
    assert_int_equal(lct_count(a.out, "ONE "), 1);
    assert_non_null(strstr(a.out, "ONE RANK=unset SIZE=3 HOSTS=[] ADDRS=[] RANKS=[] SWITCH=[unset]\n"));
    assert_int_equal(a.out[0], 'O');
    lct_result_free(&a);
}

static void test_usage(void **state)
{
    lct_result_t a;

    RUN(&a, 10, (char *)lct_probe, "env"); /* no -n */
    assert_int_equal(a.rc, 2);
    lct_result_free(&a);
    RUN(&a, 10, "-n", "2", "--netem", "delay 1ms", (char *)lct_probe, "env");
    assert_int_equal(a.rc, 2);
    lct_result_free(&a);
    RUN(&a, 10, "-n", "2", "--net", "fast", (char *)lct_probe, "env");
    assert_int_equal(a.rc, 2);
    lct_result_free(&a);
    RUN(&a, 10, "-n", "251", "--net", "1gbit", (char *)lct_probe, "env");
    assert_int_equal(a.rc, 2);
    assert_null(strstr(a.out, "RANK="));
    lct_result_free(&a);
    RUN(&a, 10, "-n", "1", "/nonexistent/program");
    assert_int_equal(a.rc, 127);
    lct_result_free(&a);
}

/* --hosts: malformed values, layouts that do not place -n ranks, and no --net. */
static void test_hosts_usage(void **state)
{
    static const struct {
        const char *n, *hosts, *msg;
    } bad[] = {
        {"4", "0", "--hosts needs"},       {"4", "251", "--hosts needs"},
        {"4", "2x", "--hosts needs"},      {"4", "1,,3", "--hosts needs"},
        {"4", "2,", "--hosts needs"},      {"4", "1,0,3", "--hosts needs"},
        {"2", "3", "H <= -n"},             {"4", "1,2", "places 3 ranks, -n asks for 4"},
        {"300", "", "at most 250 ranks"},
    };
    lct_result_t a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (*bad[i].hosts)
            RUN(&a, 10, "-n", (char *)bad[i].n, "--net", "1gbit", "--hosts", (char *)bad[i].hosts,
                (char *)lct_probe, "env");
        else
            RUN(&a, 10, "-n", (char *)bad[i].n, "--net", "1gbit", (char *)lct_probe, "env");
        assert_int_equal(a.rc, 2);
        if (!strstr(a.err, bad[i].msg))
            fail_msg("--hosts '%s' -n %s: '%s' lacks '%s'", bad[i].hosts, bad[i].n, a.err,
                     bad[i].msg);
        assert_null(strstr(a.out, "RANK="));
        lct_result_free(&a);
    }
    RUN(&a, 10, "-n", "4", "--hosts", "2", (char *)lct_probe, "env");
    assert_int_equal(a.rc, 2);
    assert_non_null(strstr(a.err, "need --net"));
    lct_result_free(&a);
}

/* --net without root: exit 2 and say why (as root: drop to nobody first). */
static void test_net_needs_root(void **state)
{
    lct_result_t a;
    lct_proc_t p;

    if (geteuid() != 0) {
        RUN(&a, 10, "-n", "2", "--net", "1gbit", (char *)lct_probe, "env");
    } else {
        char *argv[] = {"/bin/sh", "-c", "exec setpriv --reuid=65534 --regid=65534 "
                        "--clear-groups \"$0\" -n 2 --net 1gbit true", (char *)lct_lc_run, NULL};

        if (access("/usr/bin/setpriv", X_OK) != 0 && access("/bin/setpriv", X_OK) != 0)
            skip();
        assert_int_equal(lct_start(argv, &p), 0);
        lct_finish(&p, 10, &a);
        if (strstr(a.err, "Permission denied") && !strstr(a.err, "lc_run"))
            skip(); /* nobody cannot reach the build tree */
    }
    assert_int_equal(a.rc, 2);
    assert_non_null(strstr(a.err, "needs root"));
    lct_result_free(&a);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env),           cmocka_unit_test(test_prefix_chunks),
        cmocka_unit_test(test_no_prefix_into_pipe), cmocka_unit_test(test_prefix_on_terminal),
        cmocka_unit_test(test_fail_stops_others), cmocka_unit_test(test_crash_signal),
        cmocka_unit_test(test_stubborn_killed),   cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_sigterm),       cmocka_unit_test(test_one),
        cmocka_unit_test(test_usage),         cmocka_unit_test(test_hosts_usage),
        cmocka_unit_test(test_net_needs_root),
    };

    lct_init(argc, argv);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
