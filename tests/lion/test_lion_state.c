/*
 * test_lion_state.c - the optimizer's state and per-group hyper-parameters:
 *  - the split step (lc_lion_step_begin, lc_lion_step_group with the groups
 *    given in reverse order as backward produces them, lc_lion_step_end)
 *    equals lc_lion_step bit for bit: the same 40 steps below, every mode;
 *  - checkpoint and resume: 3 ranks (threads) run 40 steps of every mode with
 *    momentum sync (EVERY and EXP), an lr that changes every step and a
 *    weight decay per group; a second run stops at step 20, copies out its
 *    parameters, momenta and step count, destroys optimizer and communicator,
 *    restores them into new ones and runs to step 40: parameters and momenta
 *    equal the uninterrupted run's bit for bit, on every rank;
 *  - per-group lr and weight decay at one rank against the reference step
 *    run group by group with each group's own values; an opts struct of the
 *    first, smaller size still works and applies its lr to every group;
 *  - argument errors of the state functions and of the per-group arrays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lioncub/provider.h"
#include "lion_ref.h"

#define P       3
#define NGROUPS 3
#define STEPS   40
#define SPLIT   20
static const size_t group_n[NGROUPS] = {777, 130, 64};
static const lc_dtype_t group_dt[NGROUPS] = {LC_FP32, LC_BF16, LC_FP32};
static const float group_wd[NGROUPS] = {0.1f, 0.0f, 0.3f};

/* One rank's state, as a checkpoint holds it. */
struct rank_state {
    void *params[NGROUPS];
    float *m[NGROUPS];
    uint64_t step;
};

struct run {
    lc_lion_mode_t mode;
    int split_step;     /* step with lc_lion_step_begin/_group/_end */
    lc_unique_id_t id[2];
    struct rank_state st[P];
    int rc[P];
    char err[P][256];
};

/* A new communicator and optimizer with the run's groups over st's parameters. */
static int open_rank(struct run *r, int rank, int which, lc_comm_t **comm, lc_lion_t **lion)
{
    lc_comm_config_t cc = {.size = sizeof(cc), .rank = rank, .nranks = P, .id = &r->id[which]};
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = r->mode, .lr = 0.01f, .level_bits = 3};
    const lc_msync_t ms[NGROUPS] = {
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EVERY, .every = 7, .dtype = LC_FP32},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_EXP, .every = 3, .k = 1.5, .dtype = LC_BF16},
        {.size = sizeof(lc_msync_t), .kind = LC_MSYNC_NEVER},
    };
    int rc;

    if ((rc = lc_comm_init(&cc, comm)) || (rc = lc_lion_create(*comm, &cfg, lion)))
        return rc;
    for (int k = 0; k < NGROUPS; k++)
        if ((rc = lc_lion_add_group(*lion, r->st[rank].params[k], group_n[k], group_dt[k], NULL,
                                    &ms[k])) < 0)
            return rc;
    return 0;
}

/* One step split: groups given last to first, as backward produces them. */
static int split_step(lc_lion_t *lion, void *const *g, const lc_lion_step_opts_t *o)
{
    int rc = lc_lion_step_begin(lion, o);

    for (int k = NGROUPS - 1; rc == 0 && k >= 0; k--)
        rc = lc_lion_step_group(lion, k, g[k]);
    return rc ? rc : lc_lion_step_end(lion, NULL);
}

/* Steps from..to of one rank: gradients from (rank, step, group), lr from the step. */
static int run_steps(lc_lion_t *lion, int rank, uint64_t from, uint64_t to, int split)
{
    void *g[NGROUPS];
    int rc = 0;

    for (int k = 0; k < NGROUPS; k++)
        g[k] = calloc(group_n[k], 4);
    for (uint64_t s = from; rc == 0 && s <= to; s++) {
        float lr = 0.02f / (float)s, glr[NGROUPS] = {-1.0f, 2.0f * lr, -1.0f};
        lc_lion_step_opts_t o = {.size = sizeof(o),
                                 .lr = lr,
                                 .weight_decay = -1.0f,
                                 .group_lr = glr,
                                 .group_weight_decay = group_wd};

        for (int k = 0; k < NGROUPS; k++)
            ref_fill(g[k], group_n[k], group_dt[k], 500 + (uint64_t)rank, s, (uint64_t)k);
        rc = split ? split_step(lion, g, &o) : lc_lion_step(lion, (const void *const *)g, &o, NULL);
    }
    for (int k = 0; k < NGROUPS; k++)
        free(g[k]);
    return rc;
}

struct rank_arg {
    struct run *r;
    int rank, split;
};

static void *rank_thread(void *arg)
{
    struct rank_arg *a = arg;
    struct rank_state *st = &a->r->st[a->rank];
    lc_comm_t *comm = NULL;
    lc_lion_t *lion = NULL;
    int rc;

    for (int k = 0; k < NGROUPS; k++) {
        st->params[k] = calloc(group_n[k], 4);
        st->m[k] = calloc(group_n[k], sizeof(float));
        ref_fill(st->params[k], group_n[k], group_dt[k], 7, 0, (uint64_t)k);
    }
    rc = open_rank(a->r, a->rank, 0, &comm, &lion);
    if (!rc)
        rc = run_steps(lion, a->rank, 1, a->split ? SPLIT : STEPS, a->r->split_step);
    if (!rc && a->split) {
        /* checkpoint, then everything anew */
        for (int k = 0; !rc && k < NGROUPS; k++)
            rc = lc_lion_get_momentum(lion, k, st->m[k], group_n[k]);
        if (!rc)
            rc = lc_lion_get_step(lion, &st->step);
        lc_lion_destroy(lion);
        lc_comm_destroy(comm);
        lion = NULL;
        comm = NULL;
        if (!rc && st->step != SPLIT)
            rc = lc_seterr(-EPROTO, "test", "step %llu after %d steps",
                           (unsigned long long)st->step, SPLIT);
        if (!rc)
            rc = open_rank(a->r, a->rank, 1, &comm, &lion);
        for (int k = 0; !rc && k < NGROUPS; k++)
            rc = lc_lion_set_momentum(lion, k, st->m[k], group_n[k]);
        if (!rc)
            rc = lc_lion_set_step(lion, st->step);
        if (!rc)
            rc = run_steps(lion, a->rank, SPLIT + 1, STEPS, a->r->split_step);
    }
    for (int k = 0; !rc && k < NGROUPS; k++)
        rc = lc_lion_get_momentum(lion, k, st->m[k], group_n[k]);
    if (!rc)
        rc = lc_lion_get_step(lion, &st->step);
    if (rc)
        snprintf(a->r->err[a->rank], sizeof(a->r->err[a->rank]), "%s", lc_last_error());
    a->r->rc[a->rank] = rc;
    lc_lion_destroy(lion);
    lc_comm_destroy(comm);
    return NULL;
}

static struct run *run_all(lc_lion_mode_t mode, int split, int split_step)
{
    struct run *r = calloc(1, sizeof(*r));
    struct rank_arg args[P];
    pthread_t th[P];

    r->mode = mode;
    r->split_step = split_step;
    assert_int_equal(lc_get_unique_id(&r->id[0]), 0);
    if (split)
        assert_int_equal(lc_get_unique_id(&r->id[1]), 0);
    for (int i = 0; i < P; i++) {
        args[i] = (struct rank_arg){r, i, split};
        assert_int_equal(pthread_create(&th[i], NULL, rank_thread, &args[i]), 0);
    }
    for (int i = 0; i < P; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < P; i++)
        if (r->rc[i])
            fail_msg("%s split=%d rank %d: %s (%s)", lc_lion_mode_name(mode), split, i,
                     lc_strerror(r->rc[i]), r->err[i]);
    return r;
}

static void free_run(struct run *r)
{
    for (int i = 0; i < P; i++)
        for (int k = 0; k < NGROUPS; k++) {
            free(r->st[i].params[k]);
            free(r->st[i].m[k]);
        }
    free(r);
}

/* Runs a and b ended with the same parameters and momenta on every rank, which agree. */
static void assert_runs_equal(const struct run *a, const struct run *b, const char *what)
{
    for (int i = 0; i < P; i++) {
        assert_int_equal(b->st[i].step, STEPS);
        for (int k = 0; k < NGROUPS; k++) {
            size_t n = group_n[k];

            if (memcmp(a->st[i].params[k], b->st[i].params[k], n * lc_dtype_size(group_dt[k])) ||
                memcmp(a->st[i].m[k], b->st[i].m[k], n * sizeof(float)))
                fail_msg("%s rank %d group %d: the %s run differs", lc_lion_mode_name(a->mode), i,
                         k, what);
            /* the replicas agree */
            assert_memory_equal(a->st[i].params[k], a->st[0].params[k],
                                n * lc_dtype_size(group_dt[k]));
        }
    }
}

static void test_resume(void **state)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++) {
        struct run *whole = run_all((lc_lion_mode_t)m, 0, 0);
        struct run *resumed = run_all((lc_lion_mode_t)m, 1, 0);

        assert_runs_equal(whole, resumed, "resumed");
        free_run(whole);
        free_run(resumed);
    }
}

static void test_split_step(void **state)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++) {
        struct run *whole = run_all((lc_lion_mode_t)m, 0, 0);
        struct run *split = run_all((lc_lion_mode_t)m, 0, 1);

        assert_runs_equal(whole, split, "split-step");
        free_run(whole);
        free_run(split);
    }
}

/* One rank, every mode: group k with its own lr and weight decay equals the reference. */
static void test_group_hparams(void **state)
{
    static const float glr[NGROUPS] = {0.03f, -1.0f, 0.001f}, gwd[NGROUPS] = {0.0f, 0.25f, -1.0f};
    const float lr = 0.01f, wd = 0.5f;

    for (int mode = 0; mode < LC_LION_MODE_COUNT; mode++) {
        lc_lion_config_t cfg = {
            .size = sizeof(cfg), .mode = (lc_lion_mode_t)mode, .lr = 1.0f, .weight_decay = 1.0f};
        void *p[NGROUPS], *want[NGROUPS], *g[NGROUPS];
        float *m[NGROUPS];
        lc_lion_t *lion;

        assert_int_equal(lc_lion_create(*state, &cfg, &lion), 0);
        for (int k = 0; k < NGROUPS; k++) {
            p[k] = calloc(group_n[k], 4);
            want[k] = calloc(group_n[k], 4);
            g[k] = calloc(group_n[k], 4);
            m[k] = calloc(group_n[k], sizeof(float));
            ref_fill(p[k], group_n[k], group_dt[k], 3, 0, (uint64_t)k);
            memcpy(want[k], p[k], group_n[k] * 4);
            assert_int_equal(lc_lion_add_group(lion, p[k], group_n[k], group_dt[k], NULL, NULL), k);
        }
        for (uint64_t s = 1; s <= 5; s++) {
            lc_lion_step_opts_t o = {.size = sizeof(o),
                                     .lr = lr,
                                     .weight_decay = wd,
                                     .group_lr = glr,
                                     .group_weight_decay = gwd};

            for (int k = 0; k < NGROUPS; k++) {
                ref_cfg_t rc = {.mode = (lc_lion_mode_t)mode,
                                .lr = glr[k] >= 0 ? glr[k] : lr,
                                .wd = gwd[k] >= 0 ? gwd[k] : wd,
                                .beta1 = 0.9f,
                                .beta2 = 0.99f,
                                .level_bits = 4};
                float *mk[1] = {m[k]};
                const void *gk[1] = {g[k]};

                ref_fill(g[k], group_n[k], group_dt[k], 11, s, (uint64_t)k);
                ref_step(&rc, 1, group_n[k], group_dt[k], want[k], mk, gk, s);
            }
            assert_int_equal(lc_lion_step(lion, (const void *const *)g, &o, NULL), 0);
        }
        for (int k = 0; k < NGROUPS; k++) {
            if (memcmp(p[k], want[k], group_n[k] * lc_dtype_size(group_dt[k])))
                fail_msg("%s group %d differs from the reference with its own lr and wd",
                         lc_lion_mode_name((lc_lion_mode_t)mode), k);
            free(p[k]);
            free(want[k]);
            free(g[k]);
            free(m[k]);
        }
        lc_lion_destroy(lion);
    }
}

/* A caller of the first lc_lion_step_opts_t (no per-group arrays) keeps working. */
static void test_old_opts_size(void **state)
{
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = LC_LION_VOTE, .lr = 1.0f};
    float p[2][4] = {{1, 1, 1, 1}, {1, 1, 1, 1}}, g[2][4] = {{-1, -1, -1, -1}, {1, 1, 1, 1}};
    const void *grads[2] = {g[0], g[1]};
    lc_lion_step_opts_t o = {
        .size = offsetof(lc_lion_step_opts_t, group_lr), .lr = 0.25f, .weight_decay = 0.0f};
    lc_lion_t *lion;

    /* fields past the declared size are garbage and must not be read */
    memset(&o.group_lr, 0xff, sizeof(o) - offsetof(lc_lion_step_opts_t, group_lr));
    assert_int_equal(lc_lion_create(*state, &cfg, &lion), 0);
    assert_int_equal(lc_lion_add_group(lion, p[0], 4, LC_FP32, NULL, NULL), 0);
    assert_int_equal(lc_lion_add_group(lion, p[1], 4, LC_FP32, NULL, NULL), 1);
    assert_int_equal(lc_lion_step(lion, grads, &o, NULL), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(p[0][i] == 1.25f);
        assert_true(p[1][i] == 0.75f);
    }
    o.size = 4; /* not set */
    assert_int_equal(lc_lion_step(lion, grads, &o, NULL), -EINVAL);
    lc_lion_destroy(lion);
}

static void test_state_args(void **state)
{
    lc_lion_config_t cfg = {.size = sizeof(cfg), .mode = LC_LION_VOTE_L1, .lr = 0.1f};
    float p[5] = {0}, g[5] = {0}, m[5] = {1, 2, 3, 4, 5}, out[5];
    const void *grads[2] = {g, NULL};
    float bad_lr[2] = {NAN, 0.1f}, bad_wd[2] = {0.0f, INFINITY};
    lc_lion_step_opts_t o = {.size = sizeof(o), .lr = -1.0f, .weight_decay = -1.0f};
    uint64_t step = 99;
    lc_lion_t *lion;

    assert_int_equal(lc_lion_create(*state, &cfg, &lion), 0);
    assert_int_equal(lc_lion_add_group(lion, p, 5, LC_FP32, "p", NULL), 0);
    assert_int_equal(lc_lion_add_group(lion, NULL, 0, LC_FP32, "empty", NULL), 1);

    assert_int_equal(lc_lion_get_step(NULL, &step), -EINVAL);
    assert_int_equal(lc_lion_get_step(lion, NULL), -EINVAL);
    assert_int_equal(lc_lion_get_step(lion, &step), 0);
    assert_int_equal(step, 0);
    assert_int_equal(lc_lion_set_step(NULL, 3), -EINVAL);
    assert_int_equal(lc_lion_set_step(lion, UINT64_MAX), -EINVAL);

    assert_int_equal(lc_lion_get_momentum(NULL, 0, out, 5), -EINVAL);
    assert_int_equal(lc_lion_get_momentum(lion, -1, out, 5), -EINVAL);
    assert_int_equal(lc_lion_get_momentum(lion, 2, out, 5), -EINVAL);
    assert_int_equal(lc_lion_get_momentum(lion, 0, out, 4), -EINVAL);
    assert_int_equal(lc_lion_get_momentum(lion, 0, NULL, 5), -EINVAL);
    assert_int_equal(lc_lion_set_momentum(lion, 0, m, 6), -EINVAL);
    assert_int_equal(lc_lion_set_momentum(lion, 0, NULL, 5), -EINVAL);
    assert_int_equal(lc_lion_get_momentum(lion, 1, NULL, 0), 0);
    assert_int_equal(lc_lion_set_momentum(lion, 1, NULL, 0), 0);
    assert_int_equal(lc_lion_set_params(lion, 0, NULL), -EINVAL);
    assert_int_equal(lc_lion_set_params(lion, 5, p), -EINVAL);
    assert_int_equal(lc_lion_set_params(lion, 1, NULL), 0);

    o.group_lr = bad_lr;
    assert_int_equal(lc_lion_step(lion, grads, &o, NULL), -EINVAL);
    assert_int_equal(lc_lion_step_begin(lion, &o), -EINVAL);
    o.group_lr = NULL;
    o.group_weight_decay = bad_wd;
    assert_int_equal(lc_lion_step(lion, grads, &o, NULL), -EINVAL);
    o.group_weight_decay = NULL;

    /* the split step's order of calls */
    assert_int_equal(lc_lion_step_group(lion, 0, g), -EINVAL); /* no step open */
    assert_int_equal(lc_lion_step_end(lion, NULL), -EINVAL);
    assert_int_equal(lc_lion_step_begin(NULL, NULL), -EINVAL);
    assert_int_equal(lc_lion_step_begin(lion, NULL), 0);
    assert_int_equal(lc_lion_step_begin(lion, NULL), -EINVAL);  /* already open */
    assert_int_equal(lc_lion_step(lion, grads, NULL, NULL), -EINVAL);
    assert_int_equal(lc_lion_step_group(lion, 2, g), -EINVAL);  /* no such group */
    assert_int_equal(lc_lion_step_group(lion, 0, NULL), -EINVAL);
    assert_int_equal(lc_lion_step_group(lion, 0, g), 0);
    assert_int_equal(lc_lion_step_group(lion, 0, g), -EINVAL);  /* given twice */
    assert_int_equal(lc_lion_step_end(lion, NULL), -EINVAL);    /* group 1 not given */
    assert_int_equal(lc_lion_step_group(lion, 1, NULL), 0);     /* empty: NULL is fine */
    assert_int_equal(lc_lion_step_end(lion, NULL), 0);
    assert_int_equal(lc_lion_get_step(lion, &step), 0);
    assert_int_equal(step, 1);
    assert_int_equal(lc_lion_set_step(lion, 0), 0);

    /* the failed calls changed nothing; set and get round-trip */
    assert_int_equal(lc_lion_get_momentum(lion, 0, out, 5), 0);
    for (int i = 0; i < 5; i++)
        assert_true(out[i] == 0.0f);
    assert_int_equal(lc_lion_set_momentum(lion, 0, m, 5), 0);
    assert_int_equal(lc_lion_get_momentum(lion, 0, out, 5), 0);
    assert_memory_equal(out, m, sizeof(m));
    assert_int_equal(lc_lion_set_step(lion, 41), 0);
    assert_int_equal(lc_lion_step(lion, grads, NULL, NULL), 0);
    assert_int_equal(lc_lion_get_step(lion, &step), 0);
    assert_int_equal(step, 42);
    lc_lion_destroy(lion);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_split_step),
        cmocka_unit_test_setup_teardown(test_group_hparams, ref_one_rank_setup, ref_one_rank_teardown),
        cmocka_unit_test_setup_teardown(test_old_opts_size, ref_one_rank_setup, ref_one_rank_teardown),
        cmocka_unit_test_setup_teardown(test_state_args, ref_one_rank_setup, ref_one_rank_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
