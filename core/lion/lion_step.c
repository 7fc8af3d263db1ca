/*
 * lion_step.c - one Lion step over all groups (lc_lion_step): each group's local
 * math, the mode's collective over the fused buffers, each group's update; and
 * those pieces for the split step of lion_split.c.
 */
#include <math.h>
#include <stddef.h>

#include "lion_internal.h"

/* Group j's lr and weight decay at this step (lc_lion_step_opts_t's rule) into k. */
static void lion_coef_group(const lc_lion_t *lion, const lc_lion_step_opts_t *opts, size_t j,
                            struct lion_coef *k)
{
    k->lr = opts && opts->lr >= 0.0f ? opts->lr : lion->lr;
    k->wd = opts && opts->weight_decay >= 0.0f ? opts->weight_decay : lion->wd;
    if (opts && opts->group_lr && opts->group_lr[j] >= 0.0f)
        k->lr = opts->group_lr[j];
    if (opts && opts->group_weight_decay && opts->group_weight_decay[j] >= 0.0f)
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

int lion_is_global(const lc_lion_t *lion)
{
    return lion->mode == LC_LION_GLOBAL_FP32 || lion->mode == LC_LION_GLOBAL_BF16;
}

/* Global modes: group g's gradient into the fused buffer of the average's dtype. */
static void lion_global_local(lc_lion_t *lion, const struct lion_group *g, const void *grad)
{
    lc_dtype_t wdt = lion->mode == LC_LION_GLOBAL_FP32 ? LC_FP32 : LC_BF16;

    if (g->dtype == wdt)
        memcpy(wdt == LC_FP32 ? (void *)(lion->work + g->off) : (void *)(lion->wire + g->off), grad,
               g->count * lc_dtype_size(wdt));
    else if (wdt == LC_FP32)
        for (size_t i = 0; i < g->count; i++)
            lion->work[g->off + i] = lion_bf16_to_f32(((const uint16_t *)grad)[i]);
    else
        for (size_t i = 0; i < g->count; i++)
            lion->wire[g->off + i] = lion_f32_to_bf16(((const float *)grad)[i]);
}

int lion_group_local(lc_lion_t *lion, size_t j, const void *grad)
{
    struct lion_group *g = &lion->groups[j];

    if (g->count == 0)
        return 0;
    if (lion_is_global(lion)) {
        lion_global_local(lion, g, grad);
        return 0;
    }
    return lion_vote_local(lion, g, grad, &lion->st.k);
}

int lion_allreduce_args(lc_lion_t *lion, void **buf, lc_dtype_t *dt)
{
    *dt = lion->mode == LC_LION_GLOBAL_FP32 ? LC_FP32 : LC_BF16;
    *buf = *dt == LC_FP32 ? (void *)lion->work : (void *)lion->wire;
    return 0;
}

void lion_vote_args(lc_lion_t *lion, size_t off, size_t count, const void **in,
                    lc_dtype_t *in_type, void **out, lc_dtype_t *out_type, lc_vote_opts_t *vo)
{
    *vo = (lc_vote_opts_t){.size = sizeof(*vo), .tie_salt = lion->st.step, .first_index = off};
    switch (lion->mode) {
    case LC_LION_VOTE:
        vo->mode = LC_VOTE_MAJORITY;
        *in = lion->bits + off / 64, *in_type = LC_BITS;
        *out = lion->bits + LC_BITS_WORDS(lion->total) + off / 64, *out_type = LC_BITS;
        break;
    case LC_LION_VOTE_AVG:
        vo->mode = LC_VOTE_AVERAGE;
        *in = lion->bits + off / 64, *in_type = LC_BITS;
        *out = lion->work + off, *out_type = LC_FP32;
        break;
    default: /* into values: a tie is 0 and abstains */
        vo->mode = LC_VOTE_L1;
        vo->levels = lion->levels;
        *in = lion->levels_q + off, *in_type = LC_INT8;
        *out = lion->work + off, *out_type = LC_FP32;
        break;
    }
}

int lion_group_apply(lc_lion_t *lion, size_t j)
{
    struct lion_group *g = &lion->groups[j];
    struct lion_coef *k = &lion->st.k;

    if (g->count == 0)
        return 0;
    lion_coef_group(lion, &lion->st.opts, j, k);
    if (lion->mode == LC_LION_GLOBAL_FP32)
        lion_global_update(g, lion->work + g->off, LC_FP32, k);
    else if (lion->mode == LC_LION_GLOBAL_BF16)
        lion_global_update(g, lion->wire + g->off, LC_BF16, k);
    else if (lion->mode != LC_LION_VOTE)
        return lc_apply_update(g->params, g->dtype, lion->work + g->off, g->count, k->lr, k->wd);
    else
        return lc_apply_signs(g->params, g->dtype,
                              lion->bits + LC_BITS_WORDS(lion->total) + g->off / 64, g->count,
                              k->lr, k->wd);
    return 0;
}

/* Check the step's options before touching any state. */
static int lion_step_check(const lc_lion_t *lion, const lc_lion_step_opts_t *opts)
{
    if (lion->ngroups == 0)
        return LC_EINVAL("lion", "no parameter groups registered");
    if (lion->st.open)
        return LC_EINVAL("lion", "step %llu is open: lc_lion_step_end it first",
                         (unsigned long long)lion->st.step);
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
    return 0;
}

int lion_step_open(lc_lion_t *lion, const lc_lion_step_opts_t *opts)
{
    struct lion_step *st = &lion->st;
    lc_lion_step_opts_t o; /* the caller's opts at this build's size */
    double t;
    int rc;

    if (opts && (rc = lc_struct_in(opts, &o, sizeof(o), "lc_lion_step_opts_t")))
        return rc;
    opts = opts ? &o : NULL;
    if ((rc = lion_step_check(lion, opts)))
        return rc;
    st->t0 = lc_now();
    st->s0 = (lc_comm_stats_t){.size = sizeof(st->s0)};
    if ((rc = lc_comm_get_stats(lion->comm, &st->s0)))
        return rc;
    t = lc_now();
    rc = lion_check_layout(lion);
    st->comm_s = lc_now() - t;
    if (rc)
        return rc;
    st->opts = opts ? o
                    : (lc_lion_step_opts_t){.size = sizeof(o), .lr = -1.0f, .weight_decay = -1.0f};
    st->step = lion->step + 1;
    st->k.bt.b1 = lion->beta1;
    st->k.bt.a1 = 1.0f - lion->beta1;
    st->k.bt.b2 = lion->beta2;
    st->k.bt.a2 = 1.0f - lion->beta2;
    st->k.bt.zpat = LC_KERN_TIEPAT(0, st->step + (uint64_t)lc_comm_rank(lion->comm));
    st->given = 0;
    st->global_req = NULL;
    for (size_t j = 0; j < lion->ngroups; j++) {
        lion->groups[j].given = 0;
        lion->groups[j].req = NULL;
    }
    st->open = 1;
    return 0;
}

int lion_step_close(lc_lion_t *lion, lc_lion_step_info_t *info)
{
    struct lion_step *st = &lion->st;
    lc_comm_stats_t s1 = {.size = sizeof(s1)};
    lc_lion_step_info_t inf = {.size = sizeof(inf)};
    int synced = 0, rc = 0;

    st->open = 0;
    for (size_t i = 0; rc == 0 && !lion_is_global(lion) && i < lion->ngroups; i++) {
        struct lion_group *g = &lion->groups[i];

        if (g->count && lion_msync_due_group(g, st->step)) {
            double t = lc_now();

            rc = lion_msync_run(lion, g);
            st->comm_s += lc_now() - t;
            synced++;
        }
    }
    if (rc)
        return rc;
    lion->step = st->step;
    if (info) {
        if ((rc = lc_comm_get_stats(lion->comm, &s1)))
            return rc;
        inf.step = st->step;
        inf.bytes_sent = s1.bytes_sent - st->s0.bytes_sent;
        inf.comm_seconds = st->comm_s;
        inf.total_seconds = lc_now() - st->t0;
        inf.momentum_synced = synced;
        return lc_struct_out(info, &inf, sizeof(inf), "lc_lion_step_info_t");
    }
    return 0;
}

/* The collective of the whole step over the fused buffers (every group given). */
static int lion_step_collective(lc_lion_t *lion)
{
    double t = lc_now();
    int rc;

    if (lion_is_global(lion)) {
        lc_dtype_t dt;
        void *buf;

        lion_allreduce_args(lion, &buf, &dt);
        rc = lc_allreduce(lion->comm, buf, buf, lion->total, dt, LC_AVG);
    } else {
        const void *in;
        void *out;
        lc_dtype_t it, ot;
        lc_vote_opts_t vo;

        lion_vote_args(lion, 0, lion->total, &in, &it, &out, &ot, &vo);
        rc = lc_vote(lion->comm, in, it, out, ot, lion->total, &vo);
    }
    lion->st.comm_s += lc_now() - t;
    return rc;
}

int lc_lion_step(lc_lion_t *lion, const void *const *grads, const lc_lion_step_opts_t *opts,
                 lc_lion_step_info_t *info)
{
    int rc;

    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    if (!grads)
        return LC_EINVAL("lion", "grads is NULL");
    for (size_t i = 0; i < lion->ngroups; i++)
        if (!grads[i] && lion->groups[i].count)
            return LC_EINVAL("lion", "gradient of group %zu ('%s') is NULL", i,
                             lion->groups[i].name);
    if (info && info->size < sizeof(size_t))
        return LC_EINVAL("lion", "lc_lion_step_info_t: size %zu is not set", info->size);
    if ((rc = lion_step_open(lion, opts)))
        return rc;
    for (size_t j = 0; rc == 0 && j < lion->ngroups; j++)
        rc = lion_group_local(lion, j, grads[j]);
    if (rc == 0 && lion->total) /* only empty groups: nothing to do on any rank */
        rc = lion_step_collective(lion);
    for (size_t j = 0; rc == 0 && lion->total && j < lion->ngroups; j++)
        rc = lion_group_apply(lion, j);
    if (rc) {
        lion->st.open = 0;
        return rc;
    }
    return lion_step_close(lion, info);
}
