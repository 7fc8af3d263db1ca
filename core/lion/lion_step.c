/* lion_step.c - one Lion step over all groups: local math, the mode's collective, the update. */
#include <math.h>
#include <stddef.h>

#include "kernels/kern.h"
#include "lion_internal.h"

/* Per-step scalars shared by the loops; lr, wd and decay are per group. */
struct lion_coef {
    lc_kern_betas_t bt; /* the momentum kernel's b1, a1, b2, a2 (a = 1 - b) */
    float lr, wd, decay; /* decay = 1 - lr*wd */
};

/* Group j's lr and weight decay at this step (lc_lion_step_opts_t's rule) into k. */
static void lion_coef_group(const lc_lion_t *lion, const lc_lion_step_opts_t *opts, size_t j,
                            struct lion_coef *k)
{
    k->lr = opts && opts->lr >= 0.0f ? opts->lr : lion->lr;
    k->wd = opts && opts->weight_decay >= 0.0f ? opts->weight_decay : lion->wd;
    if (opts && opts->group_lr && opts->group_lr[j] >= 0.0f)
        k->lr = opts->group_lr[j];
    if (opts && opts->group_weight_decay &&
        opts->group_weight_decay[j] >= 0.0f)
        k->wd = opts->group_weight_decay[j];
    k->decay = 1.0f - k->lr * k->wd;
}

static inline float lion_ld(const void *x, lc_dtype_t dt, size_t i)
{
    return dt == LC_FP32 ? ((const float *)x)[i] : lion_bf16_to_f32(((const uint16_t *)x)[i]);
}

/*
 * Global modes, after the gradient average g (fp32 or bf16 in gbuf): one pass
 * that forms c, updates the parameter with sign(c) (sign(0) = 0) and the
 * momentum. Inlined with constant dtypes, so each combination gets its own
 * branch-free loop.
 */
static inline __attribute__((always_inline)) void
lion_global_loop(void *params, lc_dtype_t pdt, float *restrict m, const void *gbuf,
                 lc_dtype_t gdt, size_t n, struct lion_coef k)
{
    for (size_t i = 0; i < n; i++) {
        float gi = lion_ld(gbuf, gdt, i);
        float c = k.bt.b1 * m[i] + k.bt.a1 * gi;
        float s = (float)((c > 0.0f) - (c < 0.0f));
        float pi = lion_ld(params, pdt, i);

        pi = pi * k.decay - k.lr * s;
        if (pdt == LC_FP32)
            ((float *)params)[i] = pi;
        else
            ((uint16_t *)params)[i] = lion_f32_to_bf16(pi);
        m[i] = k.bt.b2 * m[i] + k.bt.a2 * gi;
    }
}

static void lion_global_update(struct lion_group *g, const void *gbuf, lc_dtype_t gdt,
                               const struct lion_coef *k)
{
    if (gdt == LC_FP32 && g->dtype == LC_FP32)
        lion_global_loop(g->params, LC_FP32, g->m, gbuf, LC_FP32, g->count, *k);
    else if (gdt == LC_FP32)
        lion_global_loop(g->params, LC_BF16, g->m, gbuf, LC_FP32, g->count, *k);
    else if (g->dtype == LC_FP32)
        lion_global_loop(g->params, LC_FP32, g->m, gbuf, LC_BF16, g->count, *k);
    else
        lion_global_loop(g->params, LC_BF16, g->m, gbuf, LC_BF16, g->count, *k);
}

/* Global modes: gather the gradients, one average over all groups, then each group's update. */
static int lion_step_global(lc_lion_t *lion, const void *const *grads,
                            const lc_lion_step_opts_t *opts, struct lion_coef *k, double *comm_s)
{
    lc_dtype_t wdt = lion->mode == LC_LION_GLOBAL_FP32 ? LC_FP32 : LC_BF16;
    double t;
    int rc;

    for (size_t j = 0; j < lion->ngroups; j++) {
        const struct lion_group *g = &lion->groups[j];
        const void *grad = grads[j];

        if (g->count == 0)
            continue;
        if (g->dtype == wdt)
            memcpy(wdt == LC_FP32 ? (void *)(lion->work + g->off) : (void *)(lion->wire + g->off),
                   grad, g->count * lc_dtype_size(wdt));
        else if (wdt == LC_FP32)
            for (size_t i = 0; i < g->count; i++)
                lion->work[g->off + i] = lion_bf16_to_f32(((const uint16_t *)grad)[i]);
        else
            for (size_t i = 0; i < g->count; i++)
                lion->wire[g->off + i] = lion_f32_to_bf16(((const float *)grad)[i]);
    }
    t = lc_now();
    if (wdt == LC_FP32)
        rc = lc_allreduce(lion->comm, lion->work, lion->work, lion->total, LC_FP32, LC_AVG);
    else
        rc = lc_allreduce(lion->comm, lion->wire, lion->wire, lion->total, LC_BF16, LC_AVG);
    *comm_s += lc_now() - t;
    if (rc)
        return rc;
    for (size_t j = 0; j < lion->ngroups; j++) {
        struct lion_group *g = &lion->groups[j];

        if (g->count == 0)
            continue;
        lion_coef_group(lion, opts, j, k);
        if (wdt == LC_FP32)
            lion_global_update(g, lion->work + g->off, LC_FP32, k);
        else
            lion_global_update(g, lion->wire + g->off, LC_BF16, k);
    }
    return 0;
}

/*
 * The local part of one group, by the momentum kernel (kern.h): c from the
 * local gradient and the momentum update, with c's sign bits into the fused
 * bits, or (vote-l1) c into work and its levels into the fused levels.
 */
static int lion_vote_local(lc_lion_t *lion, struct lion_group *g, const void *grad,
                           const struct lion_coef *k)
{
    float *cbuf;
    int rc;

    if (lion->mode != LC_LION_VOTE_L1)
        return lc_kern_momentum(g->m, grad, g->dtype, g->count, &k->bt, lion->bits + g->off / 64,
                                NULL);
    cbuf = lion->work + g->off;
    rc = lc_kern_momentum(g->m, grad, g->dtype, g->count, &k->bt, NULL, cbuf);
    return rc ? rc
              : lc_quantize_l1_levels(cbuf, LC_FP32, g->count, lion->levels,
                                      lion->levels_q + g->off);
}

/* Vote modes: every group's local votes, one vote over all groups, then each group's update. */
static int lion_step_vote(lc_lion_t *lion, const void *const *grads,
                          const lc_lion_step_opts_t *opts, struct lion_coef *k, uint64_t step,
                          double *comm_s)
{
    uint64_t *decoded = lion->bits + LC_BITS_WORDS(lion->total);
    lc_vote_opts_t vo = {.size = sizeof(vo), .tie_salt = step};
    double t;
    int rc;

    for (size_t j = 0; j < lion->ngroups; j++)
        if (lion->groups[j].count && (rc = lion_vote_local(lion, &lion->groups[j], grads[j], k)))
            return rc;
    t = lc_now();
    switch (lion->mode) {
    case LC_LION_VOTE:
        vo.mode = LC_VOTE_MAJORITY;
        rc = lc_vote(lion->comm, lion->bits, LC_BITS, decoded, LC_BITS, lion->total, &vo);
        break;
    case LC_LION_VOTE_AVG:
        vo.mode = LC_VOTE_AVERAGE;
        rc = lc_vote(lion->comm, lion->bits, LC_BITS, lion->work, LC_FP32, lion->total, &vo);
        break;
    default: /* into values: a tie is 0 and abstains */
        vo.mode = LC_VOTE_L1;
        vo.levels = lion->levels;
        rc = lc_vote(lion->comm, lion->levels_q, LC_INT8, lion->work, LC_FP32, lion->total, &vo);
        break;
    }
    *comm_s += lc_now() - t;
    for (size_t j = 0; rc == 0 && j < lion->ngroups; j++) {
        struct lion_group *g = &lion->groups[j];

        if (g->count == 0)
            continue;
        lion_coef_group(lion, opts, j, k);
        if (lion->mode != LC_LION_VOTE)
            rc = lc_apply_update(g->params, g->dtype, lion->work + g->off, g->count, k->lr, k->wd);
        else
            rc = lc_apply_signs(g->params, g->dtype, decoded + g->off / 64, g->count, k->lr,
                                k->wd);
    }
    return rc;
}

/* Check the step's arguments before touching any state. */
static int lion_step_check(const lc_lion_t *lion, const void *const *grads,
                           const lc_lion_step_opts_t *opts, const lc_lion_step_info_t *info)
{
    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    if (lion->ngroups == 0)
        return LC_EINVAL("lion", "no parameter groups registered");
    if (!grads)
        return LC_EINVAL("lion", "grads is NULL");
    for (size_t i = 0; i < lion->ngroups; i++)
        if (!grads[i] && lion->groups[i].count)
            return LC_EINVAL("lion", "gradient of group %zu ('%s') is NULL", i,
                             lion->groups[i].name);
    if (opts) {
        if (!isfinite(opts->lr) || !isfinite(opts->weight_decay))
            return LC_EINVAL("lion", "step lr/weight_decay must be finite");
        for (size_t i = 0; i < lion->ngroups; i++) {
            if (opts->group_lr && !isfinite(opts->group_lr[i]))
                return LC_EINVAL("lion", "group_lr[%zu] (group '%s') is not finite", i,
                                 lion->groups[i].name);
            if (opts->group_weight_decay && !isfinite(opts->group_weight_decay[i]))
                return LC_EINVAL("lion", "group_weight_decay[%zu] (group '%s') is not finite", i,
                                 lion->groups[i].name);
        }
    }
    if (info && info->size < sizeof(size_t))
        return LC_EINVAL("lion", "lc_lion_step_info_t: size %zu is not set", info->size);
    return 0;
}

int lc_lion_step(lc_lion_t *lion, const void *const *grads, const lc_lion_step_opts_t *opts,
                 lc_lion_step_info_t *info)
{
    lc_comm_stats_t s0 = {.size = sizeof(s0)}, s1 = {.size = sizeof(s1)};
    lc_lion_step_opts_t o; /* the caller's opts at this build's size */
    lc_lion_step_info_t inf = {.size = sizeof(inf)};
    int global, synced = 0, rc;
    double t0 = lc_now(), comm_s = 0.0, t;
    struct lion_coef k;
    uint64_t step;

    if (opts && (rc = lc_struct_in(opts, &o, sizeof(o), "lc_lion_step_opts_t")))
        return rc;
    opts = opts ? &o : NULL;
    rc = lion_step_check(lion, grads, opts, info);
    if (rc)
        return rc;
    if (info && (rc = lc_comm_get_stats(lion->comm, &s0)))
        return rc;
    t = lc_now();
    rc = lion_check_layout(lion);
    comm_s += lc_now() - t;
    if (rc)
        return rc;
    global = lion->mode == LC_LION_GLOBAL_FP32 || lion->mode == LC_LION_GLOBAL_BF16;
    step = lion->step + 1;
    k.bt.b1 = lion->beta1;
    k.bt.a1 = 1.0f - lion->beta1;
    k.bt.b2 = lion->beta2;
    k.bt.a2 = 1.0f - lion->beta2;
    k.bt.zpat = LC_KERN_TIEPAT(0, step + (uint64_t)lc_comm_rank(lion->comm));
    if (lion->total == 0)
        rc = 0; /* only empty groups: nothing to do on any rank */
    else if (global)
        rc = lion_step_global(lion, grads, opts, &k, &comm_s);
    else
        rc = lion_step_vote(lion, grads, opts, &k, step, &comm_s);
    for (size_t i = 0; rc == 0 && !global && i < lion->ngroups; i++) {
        struct lion_group *g = &lion->groups[i];

        if (g->count && lion_msync_due_group(g, step)) {
            t = lc_now();
            rc = lion_msync_run(lion, g);
            comm_s += lc_now() - t;
            synced++;
        }
    }
    if (rc)
        return rc;
    lion->step = step;
    if (info) {
        if ((rc = lc_comm_get_stats(lion->comm, &s1)))
            return rc;
        inf.step = step;
        inf.bytes_sent = s1.bytes_sent - s0.bytes_sent;
        inf.comm_seconds = comm_s;
        inf.total_seconds = lc_now() - t0;
        inf.momentum_synced = synced;
        return lc_struct_out(info, &inf, sizeof(inf), "lc_lion_step_info_t");
    }
    return 0;
}
