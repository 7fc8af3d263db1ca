/*
 * test_fault.c - ranks as processes with the environment rendezvous (LC_ROOT):
 * a rank presenting a wrong job key is refused and the job goes on once the
 * right one joins; a rank killed in the middle of a collective makes every
 * other rank return an error within the timeout instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "lioncub/provider_sdk.h"

#define TIMEOUT_MS 3000

static int vote_once(lc_comm_t *c, size_t n)
{
    float *x = calloc(n, sizeof(float));
    uint64_t *bits = calloc(LC_BITS_WORDS(n), 8);
    int rc = lc_vote(c, x, LC_FP32, bits, LC_BITS, n, NULL);
    free(x);
    free(bits);
    return rc;
}

/* Child of the job key test: 0 when it behaved as expected. */
static int key_child(int rank, int port)
{
    lc_comm_t *c;
    int rc;

    if (rank == 2) {
        lc_test_env(rank, 3, port, "not-the-key", TIMEOUT_MS);
        rc = lc_comm_init(NULL, &c);
        if (rc != LC_ERR_JOB_KEY) {
            fprintf(stderr, "wrong key: expected LC_ERR_JOB_KEY, got %d\n", rc);
            return 1;
        }
        fprintf(stderr, "refused as expected: %s\n", lc_last_error());
    }
    lc_test_env(rank, 3, port, "the-key", TIMEOUT_MS);
    rc = lc_comm_init(NULL, &c);
    if (rc) {
        fprintf(stderr, "rank %d: %s\n", rank, lc_last_error());
        return 2;
    }
    rc = vote_once(c, 1000);
    lc_comm_destroy(c);
    return rc ? 3 : 0;
}

static void run_children(int p, int (*child)(int rank, int port), int *status)
{
    int port = lc_test_free_port();
    pid_t pid[16];

    for (int r = 0; r < p; r++) {
        pid[r] = fork();
        if (pid[r] == 0)
            _exit(child(r, port));
    }
    for (int r = 0; r < p; r++) {
        int st;
        waitpid(pid[r], &st, 0);
        status[r] = st;
    }
}

static void test_wrong_job_key(void **state)
{
    int st[3];

    run_children(3, key_child, st);
    for (int r = 0; r < 3; r++) {
        assert_true(WIFEXITED(st[r]));
        assert_int_equal(WEXITSTATUS(st[r]), 0);
    }
}

static void *die_later(void *arg)
{
    usleep(200 * 1000);
    _exit(42); /* no cleanup, sockets reset by the kernel: a crash */
}

/* Exit codes: 0 error seen in time, 1 init failed, 4 no error, 5 error too late. */
static int death_child(int rank, int port)
{
    lc_comm_t *c;
    double t_death;
    int rc;

    lc_test_env(rank, 4, port, "k", TIMEOUT_MS);
    if (lc_comm_init(NULL, &c))
        return 1;
    if (vote_once(c, 1000))
        return 1;
    if (rank == 3) {
        pthread_t t;
        pthread_create(&t, NULL, die_later, NULL);
    }
    t_death = lc_now() + 0.2;
    for (int i = 0; i < 1000; i++) {
        rc = vote_once(c, 8 << 20);
        if (rc) {
            double late = lc_now() - t_death;
            fprintf(stderr, "rank %d: error %.2f s after the kill: %s\n", rank, late,
                    lc_last_error());
            /* the communicator is unusable afterwards, and says so at once */
            if (vote_once(c, 10) == 0)
                return 6;
            lc_comm_destroy(c);
            return late < TIMEOUT_MS / 1000.0 + 2.0 ? 0 : 5;
        }
        if (lc_now() - t_death > 30)
            break;
    }
    lc_comm_destroy(c);
    return 4;
}

static void test_rank_dies(void **state)
{
    int st[4];

    run_children(4, death_child, st);
    assert_true(WIFEXITED(st[3]));
    assert_int_equal(WEXITSTATUS(st[3]), 42);
    for (int r = 0; r < 3; r++) {
        assert_true(WIFEXITED(st[r]));
        assert_int_equal(WEXITSTATUS(st[r]), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_job_key),
        cmocka_unit_test(test_rank_dies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
