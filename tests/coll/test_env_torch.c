/*
 * test_env_torch.c - bootstrap from PyTorch's variables: two processes with
 * only RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set join one
 * communicator at MASTER_PORT + LC_TORCH_PORT_OFFSET and all-gather their
 * ranks; LC_RANK/LC_SIZE and LC_ROOT win over torch's variables; a bad
 * MASTER_PORT is a configuration error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void clear_env(void)
{
    static const char *const vars[] = {
        "LC_RANK",      "LC_SIZE", "LC_ROOT",    "OMPI_COMM_WORLD_RANK", "PMI_RANK",
        "SLURM_PROCID", "RANK",    "WORLD_SIZE", "MASTER_ADDR",          "MASTER_PORT",
    };

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("LC_TIMEOUT", "20000", 1);
}

static void set_int(const char *name, int v)
{
    char s[16];

    snprintf(s, sizeof(s), "%d", v);
    setenv(name, s, 1);
}

/* In a child: join from the environment, check rank and size, all-gather the ranks. */
static int child_join(int want_rank, int want_size)
{
    lc_comm_t *comm = NULL;
    int all[2] = {-1, -1}, me, rc = lc_comm_init(NULL, &comm);

    if (rc) {
        fprintf(stderr, "rank %d: lc_comm_init: %s (%s)\n", want_rank, lc_strerror(rc),
                lc_last_error());
        return 1;
    }
    me = lc_comm_rank(comm);
    if (me != want_rank || lc_comm_size(comm) != want_size) {
        fprintf(stderr, "got rank %d of %d, want %d of %d\n", me, lc_comm_size(comm), want_rank,
                want_size);
        rc = 1;
    } else if (want_size > 1 &&
               (lc_allgather(comm, &me, all, sizeof(me)) || all[0] != 0 || all[1] != 1)) {
        fprintf(stderr, "all-gather of the ranks failed: %s\n", lc_last_error());
        rc = 1;
    }
    lc_comm_destroy(comm);
    return rc;
}

/* Two children with rank-specific variables set by `env`; both must join. */
static void run_pair(void (*env)(int rank, int port), int want_size)
{
    int port = lc_test_free_port();
    pid_t pid[2];

    for (int r = 0; r < 2; r++) {
        pid[r] = fork();
        assert_true(pid[r] >= 0);
        if (pid[r] == 0) {
            clear_env();
            env(r, port);
            alarm(60);
            _exit(child_join(want_size > 1 ? r : 0, want_size));
        }
    }
    for (int r = 0; r < 2; r++) {
        int st;

        assert_int_equal(waitpid(pid[r], &st, 0), pid[r]);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            fail_msg("rank %d failed (status 0x%x)", r, st);
    }
}

/* lioncub listens on MASTER_PORT + offset: `port` is free, so MASTER_PORT = port - offset. */
static void torch_env(int rank, int port)
{
    set_int("RANK", rank);
    set_int("WORLD_SIZE", 2);
    set_int("LOCAL_RANK", rank);
    set_int("LOCAL_WORLD_SIZE", 2);
    setenv("MASTER_ADDR", "127.0.0.1", 1);
    set_int("MASTER_PORT", port - LC_TORCH_PORT_OFFSET);
}

static void test_torch_vars(void **state)
{
    run_pair(torch_env, 2);
}

/* LC_ROOT wins: MASTER_PORT is not even parsed. */
static void lc_root_env(int rank, int port)
{
    char root[32];

    torch_env(rank, port);
    setenv("MASTER_PORT", "not-a-port", 1);
    snprintf(root, sizeof(root), "127.0.0.1:%d", port);
    setenv("LC_ROOT", root, 1);
}

static void test_lc_root_wins(void **state)
{
    run_pair(lc_root_env, 2);
}

/* LC_RANK/LC_SIZE win: each child is a one-rank communicator of its own. */
static void lc_rank_env(int rank, int port)
{
    torch_env(rank, port);
    setenv("LC_RANK", "0", 1);
    setenv("LC_SIZE", "1", 1);
}

static void test_lc_rank_wins(void **state)
{
    run_pair(lc_rank_env, 1);
}

static void test_bad_master_port(void **state)
{
    static const char *const bad[] = {"not-a-port", "65535", "0", "-5"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid_t pid = fork();
        int st;

        assert_true(pid >= 0);
        if (pid == 0) {
            lc_comm_t *comm = NULL;
            int rc;

            clear_env();
            torch_env(0, 3000);
            setenv("MASTER_PORT", bad[i], 1);
            rc = lc_comm_init(NULL, &comm);
            _exit(rc == LC_ERR_CONFIG && !comm ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            fail_msg("MASTER_PORT=%s was not a configuration error", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_vars),
        cmocka_unit_test(test_lc_root_wins),
        cmocka_unit_test(test_lc_rank_wins),
        cmocka_unit_test(test_bad_master_port),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
