/*
 * test_lion_ranks.c - the Lion step on p = 2, 3, 4 and 8 ranks (threads, each
 * with its own communicator from one lc_get_unique_id token): after 50 steps
 * of every mode, with and without momentum sync, the replicas' parameters are
 * bit-identical (a hash all-gathered across ranks). Without momentum sync the
 * vote modes are also checked bit for bit against the reference run over all
 * ranks' gradients, and the global modes against a double-precision average
 * on at least 90% of the parameters (the ring sums in another order, and bf16
 * rounds at every hop, so where c is near 0 its sign can differ; a rank
 * that used its own gradient instead of the mean would differ almost everywhere).
 * Ranks with different groups must get LC_ERR_MISMATCH.
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

#include "lioncub/provider.h"
#include "lion_ref.h"

#define MAXP 8
#define NGROUPS 2
#define STEPS 50
static const size_t group_n[NGROUPS] = {1037, 333};
static const lc_dtype_t group_dt[NGROUPS] = {LC_FP32, LC_BF16};

struct lion_run {
    int p;
    lc_lion_mode_t mode;
    int msync;
    lc_unique_id_t id;
    int rc[MAXP];
    char err[MAXP][256];
    int hashes_match[MAXP];
    void *params[MAXP][NGROUPS];
};

static lc_lion_config_t run_cfg(const struct lion_run *r)
{
    return (lc_lion_config_t){.size = sizeof(lc_lion_config_t), .mode = r->mode, .lr = 0.01f,
                              .weight_decay = 0.1f, .level_bits = 3};
}

/* Rank body: gradients depend on (rank, step, group) only, never on the parameters. */
static int rank_body(struct lion_run *r, int rank)
{
    lc_comm_config_t cc = {.size = sizeof(cc), .rank = rank, .nranks = r->p, .id = &r->id};
    lc_msync_t ms[NGROUPS] = {
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EVERY, .every = 7, .dtype = LC_FP32},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EXP, .every = 1, .k = 1.5,
         .dtype = LC_BF16},
    };
    lc_lion_config_t cfg = run_cfg(r);
    uint64_t h = 14695981039346656037ull, all[MAXP];
    void *g[NGROUPS] = {0};
    lc_comm_t *comm = NULL;
    lc_lion_t *lion = NULL;
    int rc;

    if ((rc = lc_comm_init(&cc, &comm)) || (rc = lc_lion_create(comm, &cfg, &lion)))
        goto out;
    for (int k = 0; k < NGROUPS; k++) {
        r->params[rank][k] = calloc(group_n[k], 4);
        g[k] = calloc(group_n[k], 4);
        ref_fill(r->params[rank][k], group_n[k], group_dt[k], 99, 0, (uint64_t)k);
        rc = lc_lion_add_group(lion, r->params[rank][k], group_n[k], group_dt[k], NULL,
                               r->msync ? &ms[k] : NULL);
        if (rc < 0)
            goto out;
    }
    for (uint64_t s = 1; s <= STEPS; s++) {
        lc_lion_step_info_t info = {.size = sizeof(info)};

        for (int k = 0; k < NGROUPS; k++)
            ref_fill(g[k], group_n[k], group_dt[k], 1000 + (uint64_t)rank, s, (uint64_t)k);
        if ((rc = lc_lion_step(lion, (const void *const *)g, NULL, &info)))
            goto out;
        if (info.bytes_sent == 0) {
            rc = lc_seterr(-EPROTO, "test", "step %llu sent no bytes", (unsigned long long)s);
            goto out;
        }
    }
    for (int k = 0; k < NGROUPS; k++)
        h = ref_hash(h, r->params[rank][k], group_n[k] * lc_dtype_size(group_dt[k]));
    if ((rc = lc_allgather(comm, &h, all, sizeof(h))))
        goto out;
    r->hashes_match[rank] = 1;
    for (int j = 0; j < r->p; j++)
        r->hashes_match[rank] &= all[j] == h;
out:
    if (rc)
        snprintf(r->err[rank], sizeof(r->err[rank]), "%s", lc_last_error());
    for (int k = 0; k < NGROUPS; k++)
        free(g[k]);
    lc_lion_destroy(lion);
    lc_comm_destroy(comm);
    return rc;
}

struct rank_arg {
    struct lion_run *r;
    int rank;
};

static void *rank_thread(void *arg)
{
    struct rank_arg *a = arg;

    a->r->rc[a->rank] = rank_body(a->r, a->rank);
    return NULL;
}

/* The reference run over all ranks (no momentum sync); returns elements that differ. */
static size_t reference_diff(const struct lion_run *r)
{
    ref_cfg_t rc = {.mode = r->mode, .lr = 0.01f, .wd = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f,
                    .level_bits = 3};
    size_t diff = 0;

    for (int k = 0; k < NGROUPS; k++) {
        size_t n = group_n[k];
        void *p = calloc(n, 4), *g[MAXP];
        float *m[MAXP];

        ref_fill(p, n, group_dt[k], 99, 0, (uint64_t)k);
        for (int j = 0; j < r->p; j++) {
            g[j] = calloc(n, 4);
            m[j] = calloc(n, sizeof(float));
        }
        for (uint64_t s = 1; s <= STEPS; s++) {
            for (int j = 0; j < r->p; j++)
                ref_fill(g[j], n, group_dt[k], 1000 + (uint64_t)j, s, (uint64_t)k);
            ref_step(&rc, r->p, n, group_dt[k], p, m, (const void *const *)g, s);
        }
        for (size_t i = 0; i < n; i++) {
            size_t sz = lc_dtype_size(group_dt[k]);

            diff += memcmp((char *)p + i * sz, (char *)r->params[0][k] + i * sz, sz) != 0;
        }
        for (int j = 0; j < r->p; j++) {
            free(g[j]);
            free(m[j]);
        }
        free(p);
    }
    return diff;
}

static void run_one(int p, lc_lion_mode_t mode, int msync)
{
    struct lion_run *r = calloc(1, sizeof(*r));
    struct rank_arg args[MAXP];
    pthread_t th[MAXP];

    r->p = p;
    r->mode = mode;
    r->msync = msync;
    assert_int_equal(lc_get_unique_id(&r->id), 0);
    for (int i = 0; i < p; i++) {
        args[i] = (struct rank_arg){r, i};
        assert_int_equal(pthread_create(&th[i], NULL, rank_thread, &args[i]), 0);
    }
    for (int i = 0; i < p; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < p; i++) {
        if (r->rc[i])
            fail_msg("p=%d %s msync=%d rank %d: %s (%s)", p, lc_lion_mode_name(mode), msync, i,
                     lc_strerror(r->rc[i]), r->err[i]);
        if (!r->hashes_match[i])
            fail_msg("p=%d %s msync=%d: rank %d's parameters differ from another rank's", p,
                     lc_lion_mode_name(mode), msync, i);
    }
    if (!msync) {
        size_t diff = reference_diff(r), total = group_n[0] + group_n[1];
        int global = mode == LC_LION_GLOBAL_FP32 || mode == LC_LION_GLOBAL_BF16;

        if (global ? diff * 10 > total : diff != 0)
            fail_msg("p=%d %s: %zu of %zu parameters differ from the reference", p,
                     lc_lion_mode_name(mode), diff, total);
    }
    for (int i = 0; i < p; i++)
        for (int k = 0; k < NGROUPS; k++)
            free(r->params[i][k]);
    free(r);
}

/* Rank body of the mismatch test: rank 1 registers another group layout or policy. */
struct mismatch_arg {
    lc_unique_id_t *id;
    int rank, variant, rc;
};

static void *mismatch_thread(void *arg)
{
    struct mismatch_arg *a = arg;
    lc_comm_config_t cc = {.size = sizeof(cc), .rank = a->rank, .nranks = 2, .id = a->id};
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = LC_LION_VOTE, .lr = 0.01f};
    lc_msync_t ms = {.size = sizeof(ms), .kind = LC_MSYNC_EVERY, .every = 3};
    float p[2][100] = {{0}}, g[2][100] = {{0}};
    const void *grads[2] = {g[0], g[1]};
    size_t n0 = a->variant == 0 && a->rank == 1 ? 99 : 100;
    lc_comm_t *comm = NULL;
    lc_lion_t *lion = NULL;

    a->rc = lc_comm_init(&cc, &comm);
    if (!a->rc)
        a->rc = lc_lion_create(comm, &cfg, &lion);
    if (!a->rc && lc_lion_add_group(lion, p[0], n0, LC_FP32, "a", NULL) < 0)
        a->rc = -1;
    if (!a->rc && lc_lion_add_group(lion, p[1], 100, LC_FP32, "b",
                                    a->variant == 1 && a->rank == 1 ? &ms : NULL) < 0)
        a->rc = -1;
    if (!a->rc)
        a->rc = lc_lion_step(lion, grads, NULL, NULL);
    lc_lion_destroy(lion);
    lc_comm_destroy(comm);
    return NULL;
}

/* Ranks that registered different groups get LC_ERR_MISMATCH from the step, all of them. */
static void test_mismatch(void **state)
{
    for (int variant = 0; variant < 2; variant++) {
        lc_unique_id_t id;
        struct mismatch_arg a[2];
        pthread_t th[2];

        assert_int_equal(lc_get_unique_id(&id), 0);
        for (int r = 0; r < 2; r++) {
            a[r] = (struct mismatch_arg){.id = &id, .rank = r, .variant = variant};
            assert_int_equal(pthread_create(&th[r], NULL, mismatch_thread, &a[r]), 0);
        }
        for (int r = 0; r < 2; r++) {
            pthread_join(th[r], NULL);
            assert_int_equal(a[r].rc, LC_ERR_MISMATCH);
        }
    }
}

static void run_p(int p)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++) {
        run_one(p, (lc_lion_mode_t)m, 0);
        run_one(p, (lc_lion_mode_t)m, 1);
    }
}

static void test_p2(void **state)
{
    run_p(2);
}

static void test_p3(void **state)
{
    run_p(3);
}

static void test_p4(void **state)
{
    run_p(4);
}

static void test_p8(void **state)
{
    run_p(8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p2),
        cmocka_unit_test(test_p3),
        cmocka_unit_test(test_p4),
        cmocka_unit_test(test_p8),
        cmocka_unit_test(test_mismatch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
