/*
 * test_collectives.c - lc_allreduce, lc_allgather, lc_bcast and lc_barrier over
 * real connections (threads as ranks), p = 1..16 and ranks on several hosts,
 * against references from all ranks' inputs (the sums of random values in
 * lc_allreduce's documented order, bit for bit); mismatched arguments give LC_ERR_MISMATCH on every rank and
 * then fail the communicator (LC_ERR_PEER); bad arguments give -EINVAL; a second thread's
 * collective on a busy communicator gives -EBUSY and leaves the first intact.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "reference.h"

#define MAXP 16
static const size_t ar_sizes[] = {0, 1, 7, 1000, 65537, 300001};
#define NAR (sizeof(ar_sizes) / sizeof(ar_sizes[0]))
#define NRND 4 /* fp32 sum, fp32 average, bf16 sum, bf16 average */
#define RND_N 200003

struct ar_state {
    /* [case][rank] */
    void *in[4 * NAR][MAXP];
    void *out[4 * NAR][MAXP];
    int rc[4 * NAR][MAXP];
    void *rnd_in[NRND][MAXP]; /* random values: sums that depend on the order */
    void *rnd_out[NRND][MAXP];
    int rnd_rc[NRND][MAXP];
};

static lc_dtype_t ar_dtype(int k)
{
    return (k / (int)NAR) % 2 ? LC_BF16 : LC_FP32;
}

static lc_op_t ar_op(int k)
{
    return (k / (int)NAR) / 2 ? LC_AVG : LC_SUM;
}

/* Small integers: exact sums in fp32 and bf16 whatever the order. */
static float ar_value(int k, int r, size_t i)
{
    uint64_t s = (uint64_t)k * 131 + (uint64_t)r * 7 + i * 3;
    return (float)((int)(lc_test_rand(&s) % 9) - 4);
}

static void ar_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct ar_state *st = arg;

    for (int k = 0; k < 4 * (int)NAR; k++) {
        /* every other case runs in place */
        void *out = k % 2 ? st->in[k][r] : st->out[k][r];
        st->rc[k][r] = lc_allreduce(c, st->in[k][r], out, ar_sizes[k % NAR], ar_dtype(k),
                                    ar_op(k));
        if (k % 2)
            memcpy(st->out[k][r], st->in[k][r], ar_sizes[k % NAR] * lc_dtype_size(ar_dtype(k)));
    }
    for (int k = 0; k < NRND; k++)
        st->rnd_rc[k][r] = lc_allreduce(c, st->rnd_in[k][r], st->rnd_out[k][r], RND_N,
                                        k / 2 ? LC_BF16 : LC_FP32, k % 2 ? LC_AVG : LC_SUM);
}

/* Random inputs of every rank for the order-dependent cases. */
static void rnd_setup(struct ar_state *st, int p)
{
    for (int k = 0; k < NRND; k++)
        for (int r = 0; r < p; r++) {
            lc_dtype_t dt = k / 2 ? LC_BF16 : LC_FP32;
            st->rnd_in[k][r] = malloc(RND_N * lc_dtype_size(dt));
            st->rnd_out[k][r] = malloc(RND_N * lc_dtype_size(dt));
            ref_fill(st->rnd_in[k][r], dt, RND_N, 77 + (uint64_t)(k * MAXP + r), 0);
        }
}

/* Whether the ranks add as a tree: p a power of two, and every host an aligned
 * block of L >= 2 ranks, L the most ranks on a host (host NULL: one host). */
static int ar_tree(int p, const int *host)
{
    int l = host ? 0 : p;

    for (int r = 0; host && r < p; r++) {
        int n = 0;
        for (int j = 0; j < p; j++)
            n += host[j] == host[r];
        l = n > l ? n : l;
    }
    if (p < 2 || (p & (p - 1)) || l < 2 || p % l)
        return 0;
    for (int r = 0; host && r < p; r++)
        if (host[r] != host[r - r % l])
            return 0;
    return 1;
}

/* Every rank's result equals the reference order bit for bit. */
static void rnd_check(struct ar_state *st, int p, const int *host)
{
    for (int k = 0; k < NRND; k++) {
        lc_dtype_t dt = k / 2 ? LC_BF16 : LC_FP32;
        size_t bytes = RND_N * lc_dtype_size(dt);
        void *want = malloc(bytes);

        ref_allreduce((const void *const *)st->rnd_in[k], dt, k % 2 ? LC_AVG : LC_SUM, p, RND_N,
                      ar_tree(p, host), want);
        for (int r = 0; r < p; r++) {
            assert_int_equal(st->rnd_rc[k][r], 0);
            if (memcmp(want, st->rnd_out[k][r], bytes))
                fail_msg("p=%d: rank %d's %s %s differs from the reference order", p, r,
                         lc_dtype_name(dt), k % 2 ? "average" : "sum");
        }
        for (int r = 0; r < p; r++) {
            free(st->rnd_in[k][r]);
            free(st->rnd_out[k][r]);
        }
        free(want);
    }
}

static void test_allreduce(void **state)
{
    struct ar_state *st = calloc(1, sizeof(*st));

    for (int p = 1; p <= MAXP; p++) {
        for (int k = 0; k < 4 * (int)NAR; k++)
            for (int r = 0; r < p; r++) {
                size_t n = ar_sizes[k % NAR], esz = lc_dtype_size(ar_dtype(k));
                st->in[k][r] = malloc(n * esz + 1);
                st->out[k][r] = malloc(n * esz + 1);
                for (size_t i = 0; i < n; i++) {
                    float f = ar_value(k, r, i);
                    if (esz == 4)
                        ((float *)st->in[k][r])[i] = f;
                    else
                        ((uint16_t *)st->in[k][r])[i] = ref_f32_to_bf16(f);
                }
            }
        rnd_setup(st, p);
        assert_int_equal(lc_test_ranks(p, ar_rank, st), 0);
        for (int k = 0; k < 4 * (int)NAR; k++) {
            size_t n = ar_sizes[k % NAR];
            for (int r = 0; r < p; r++) {
                assert_int_equal(st->rc[k][r], 0);
                for (size_t i = 0; i < n; i++) {
                    float want = 0, got;
                    for (int j = 0; j < p; j++)
                        want += ar_value(k, j, i);
                    if (ar_op(k) == LC_AVG)
                        want = want / (float)p;
                    if (ar_dtype(k) == LC_BF16) {
                        want = ref_bf16_to_f32(ref_f32_to_bf16(want));
                        got = ref_bf16_to_f32(((uint16_t *)st->out[k][r])[i]);
                    } else {
                        got = ((float *)st->out[k][r])[i];
                    }
                    if (got != want)
                        fail_msg("p=%d case %d (n=%zu %s %s) rank %d elem %zu: %g want %g", p,
                                 k, n, lc_dtype_name(ar_dtype(k)),
                                 ar_op(k) == LC_AVG ? "avg" : "sum", r, i, (double)got,
                                 (double)want);
                }
                free(st->in[k][r]);
                free(st->out[k][r]);
            }
        }
        rnd_check(st, p, NULL);
    }
    free(st);
}

/* Ranks on several hosts: aligned hosts of several ranks add as the tree, others on the ring. */
static void rnd_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct ar_state *st = arg;

    (void)p;
    for (int k = 0; k < NRND; k++)
        st->rnd_rc[k][r] = lc_allreduce(c, st->rnd_in[k][r], st->rnd_out[k][r], RND_N,
                                        k / 2 ? LC_BF16 : LC_FP32, k % 2 ? LC_AVG : LC_SUM);
}

static void test_allreduce_hosts(void **state)
{
    static const int layouts[][MAXP + 1] = {
        /* p, then each rank's host */
        {8, 0, 0, 0, 0, 1, 1, 1, 1},
        {8, 0, 0, 1, 1, 2, 2, 3, 3},
        {6, 0, 1, 0, 1, 0, 1},
        {7, 0, 1, 1, 2, 2, 2, 2},
        {16, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1},
        {4, 0, 1, 2, 3},
        {4, 0, 1, 0, 1},
    };
    struct ar_state *st = calloc(1, sizeof(*st));

    for (size_t t = 0; t < sizeof(layouts) / sizeof(layouts[0]); t++) {
        int p = layouts[t][0];

        rnd_setup(st, p);
        assert_int_equal(lc_test_ranks_on_hosts(p, layouts[t] + 1, rnd_rank, st), 0);
        rnd_check(st, p, layouts[t] + 1);
    }
    free(st);
}

struct misc_state {
    uint8_t *ag_out[MAXP];
    uint8_t *bc[MAXP];
    int rc[MAXP][8];
};

#define AG_BYTES 10007
#define BC_BYTES 3000017

static void misc_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct misc_state *st = arg;
    uint8_t *in = malloc(AG_BYTES);
    float x[100] = {0};
    uint64_t bits[2];

    for (int i = 0; i < AG_BYTES; i++)
        in[i] = (uint8_t)(r * 31 + i);
    st->rc[r][0] = lc_allgather(c, in, st->ag_out[r], AG_BYTES);
    for (size_t i = 0; i < BC_BYTES; i++)
        st->bc[r][i] = r == p - 1 ? (uint8_t)(i * 7) : 0;
    st->rc[r][1] = lc_bcast(c, st->bc[r], BC_BYTES, p - 1);
    st->rc[r][2] = lc_barrier(c);
    /* mismatched count on the last rank: every rank must see LC_ERR_MISMATCH */
    st->rc[r][3] = lc_vote(c, x, LC_FP32, bits, LC_BITS, r == p - 1 ? 100 : 99, NULL);
    /* and the communicator is failed: its messages may be in flight */
    st->rc[r][4] = lc_vote(c, x, LC_FP32, bits, LC_BITS, 100, NULL);
    free(in);
}

/* A mismatched collective: allreduce on rank 0, vote elsewhere. */
static void other_coll_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct misc_state *st = arg;
    float x[100] = {0};
    uint64_t bits[2];

    (void)p;
    if (r == 0)
        st->rc[r][5] = lc_allreduce(c, x, x, 100, LC_FP32, LC_SUM);
    else
        st->rc[r][5] = lc_vote(c, x, LC_FP32, bits, LC_BITS, 100, NULL);
    st->rc[r][6] = lc_barrier(c);
}

static void test_gather_bcast_mismatch(void **state)
{
    static const int ps[] = {2, 3, 5, 8, 16};
    struct misc_state *st = calloc(1, sizeof(*st));

    for (size_t t = 0; t < sizeof(ps) / sizeof(ps[0]); t++) {
        int p = ps[t];
        for (int r = 0; r < p; r++) {
            st->ag_out[r] = malloc((size_t)p * AG_BYTES);
            st->bc[r] = malloc(BC_BYTES);
        }
        assert_int_equal(lc_test_ranks(p, misc_rank, st), 0);
        assert_int_equal(lc_test_ranks(p, other_coll_rank, st), 0);
        for (int r = 0; r < p; r++) {
            assert_int_equal(st->rc[r][0], 0);
            for (int j = 0; j < p; j++)
                for (int i = 0; i < AG_BYTES; i++)
                    assert_int_equal(st->ag_out[r][(size_t)j * AG_BYTES + (size_t)i],
                                     (uint8_t)(j * 31 + i));
            assert_int_equal(st->rc[r][1], 0);
            for (size_t i = 0; i < BC_BYTES; i += 997)
                assert_int_equal(st->bc[r][i], (uint8_t)(i * 7));
            assert_int_equal(st->rc[r][2], 0);
            assert_int_equal(st->rc[r][3], LC_ERR_MISMATCH);
            assert_int_equal(st->rc[r][4], LC_ERR_PEER);
            assert_int_equal(st->rc[r][5], LC_ERR_MISMATCH);
            assert_int_equal(st->rc[r][6], LC_ERR_PEER);
            free(st->ag_out[r]);
            free(st->bc[r]);
        }
    }
    free(st);
}

static void one_rank_bad_args(lc_comm_t *c, int r, int p, void *arg)
{
    int *rc = arg;
    float x[4] = {0};
    uint64_t bits[1];
    lc_vote_opts_t bad = {.size = sizeof(bad), .mode = 9};

    rc[0] = lc_vote(NULL, x, LC_FP32, bits, LC_BITS, 4, NULL);
    rc[1] = lc_vote(c, NULL, LC_FP32, bits, LC_BITS, 4, NULL);
    rc[2] = lc_vote(c, x, LC_INT32, bits, LC_BITS, 4, NULL);
    rc[3] = lc_vote(c, x, LC_FP32, bits, LC_BITS, 4, &bad);
    rc[4] = lc_allreduce(c, x, x, 4, LC_INT8, LC_SUM);
    rc[5] = lc_bcast(c, x, 4, 5);
    rc[6] = lc_allgather(c, NULL, x, 4);
    rc[7] = lc_allreduce(c, x, x, SIZE_MAX / 2, LC_FP32, LC_SUM); /* sizes that overflow */
    rc[8] = lc_allgather(c, x, x, SIZE_MAX / 2);
    rc[9] = lc_bcast(c, x, SIZE_MAX - 7, 0);
    rc[10] = lc_vote(c, x, LC_FP32, bits, LC_BITS, 4, NULL); /* still fine */
}

static void test_bad_arguments(void **state)
{
    int rc[11];
    lc_comm_t *c = NULL;

    assert_int_equal(lc_test_ranks(1, one_rank_bad_args, rc), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rc[i], -EINVAL);
    assert_int_equal(rc[10], 0);
    assert_int_equal(lc_comm_init(NULL, NULL), -EINVAL);
    assert_int_equal(lc_comm_rank(NULL), -EINVAL);
    assert_int_equal(lc_comm_size(NULL), -EINVAL);
    assert_int_equal(lc_comm_destroy(NULL), 0);
    {
        lc_comm_config_t cfg = {.size = 4};
        assert_int_equal(lc_comm_init(&cfg, &c), -EINVAL);
    }
    {
        lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 3, .nranks = 2};
        assert_int_equal(lc_comm_init(&cfg, &c), -EINVAL);
    }
    assert_null(c);
}

/* Two threads on one communicator: the second collective is refused with -EBUSY
 * while the first waits for the other rank, and the first still completes. */
struct busy_state {
    lc_comm_t *c0;
    int vote_rc, busy_rc[3];
    float x[2][4096];
    uint64_t bits[64];
};

static void *busy_intruder(void *arg)
{
    struct busy_state *st = arg;
    float y[8] = {0};

    usleep(100 * 1000); /* rank 0's vote is waiting for rank 1 by now */
    st->busy_rc[0] = lc_allreduce(st->c0, y, y, 8, LC_FP32, LC_SUM);
    st->busy_rc[1] = lc_barrier(st->c0);
    st->busy_rc[2] = lc_vote(st->c0, y, LC_FP32, st->bits + 32, LC_BITS, 8, NULL);
    return NULL;
}

static void busy_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct busy_state *st = arg;
    pthread_t t;
    uint64_t bits[64];
    int rc;

    for (int i = 0; i < 4096; i++)
        st->x[r][i] = (i % 3 == 0) ? -1.0f : 1.0f;
    if (r == 1) {
        usleep(400 * 1000);
        lc_vote(c, st->x[1], LC_FP32, bits, LC_BITS, 4096, NULL);
        return;
    }
    st->c0 = c;
    pthread_create(&t, NULL, busy_intruder, st);
    rc = lc_vote(c, st->x[0], LC_FP32, st->bits, LC_BITS, 4096, NULL);
    pthread_join(t, NULL);
    st->vote_rc = rc;
}

static void test_two_threads_refused(void **state)
{
    struct busy_state *st = calloc(1, sizeof(*st));

    assert_int_equal(lc_test_ranks(2, busy_rank, st), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(st->busy_rc[i], -EBUSY);
    assert_int_equal(st->vote_rc, 0);
    for (int i = 0; i < 4096; i++) /* both ranks voted the same signs */
        assert_int_equal((int)(st->bits[i / 64] >> (i % 64) & 1), i % 3 == 0);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allreduce),
        cmocka_unit_test(test_allreduce_hosts),
        cmocka_unit_test(test_gather_bcast_mismatch),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_two_threads_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
