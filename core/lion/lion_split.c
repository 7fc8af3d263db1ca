/*
 * lion_split.c - the Lion step split for overlap with backward:
 * lc_lion_step_begin opens a step, lc_lion_step_group takes one group's
 * gradient as soon as it is ready (its local math, and in the vote modes its
 * vote, issued at once and left in flight), lc_lion_step_end completes the
 * collectives and applies every update. Each group's vote covers its part of
 * the fused buffers with the tie rule of the whole (first_index), so the step
 * equals lc_lion_step bit for bit. The global modes average all gradients in
 * one allreduce, issued when the last group is given, as lc_lion_step does.
 */
#include "lion_internal.h"

int lc_lion_step_begin(lc_lion_t *lion, const lc_lion_step_opts_t *opts)
{
    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    return lion_step_open(lion, opts);
}

/* Issue the collective that group j (just given) makes ready, if any. */
static int lion_split_issue(lc_lion_t *lion, size_t j)
{
    struct lion_step *st = &lion->st;
    struct lion_group *g = &lion->groups[j];
    double t = lc_now();
    int rc = 0;

    if (lion_is_global(lion) && st->given == lion->ngroups && lion->total) {
        lc_dtype_t dt;
        void *buf;

        lion_allreduce_args(lion, &buf, &dt);
        rc = lc_iallreduce(lion->comm, buf, buf, lion->total, dt, LC_AVG, &st->global_req);
    } else if (!lion_is_global(lion) && g->count) {
        const void *in;
        void *out;
        lc_dtype_t it, ot;
        lc_vote_opts_t vo;

        lion_vote_args(lion, g->off, g->count, &in, &it, &out, &ot, &vo);
        rc = lc_ivote(lion->comm, in, it, out, ot, g->count, &vo, &g->req);
    }
    st->comm_s += lc_now() - t;
    return rc;
}

int lc_lion_step_group(lc_lion_t *lion, int group, const void *grad)
{
    struct lion_group *g;
    int rc;

    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    if (!lion->st.open)
        return LC_EINVAL("lion", "lc_lion_step_group outside a step: call lc_lion_step_begin");
    if (group < 0 || (size_t)group >= lion->ngroups)
        return LC_EINVAL("lion", "group %d is not in [0, %zu)", group, lion->ngroups);
    g = &lion->groups[group];
    if (g->given)
        return LC_EINVAL("lion", "group %d ('%s') was already given in step %llu", group, g->name,
                         (unsigned long long)lion->st.step);
    if (!grad && g->count)
        return LC_EINVAL("lion", "gradient of group %d ('%s') is NULL", group, g->name);
    if ((rc = lion_group_local(lion, (size_t)group, grad)))
        return rc;
    g->given = 1;
    lion->st.given++;
    return lion_split_issue(lion, (size_t)group);
}

/* Complete every collective of the step still in flight; the first error. */
static int lion_split_wait(lc_lion_t *lion)
{
    double t = lc_now();
    int rc = lc_wait(&lion->st.global_req);

    for (size_t j = 0; j < lion->ngroups; j++) {
        int grc = lc_wait(&lion->groups[j].req);

        rc = rc ? rc : grc;
    }
    lion->st.comm_s += lc_now() - t;
    return rc;
}

int lc_lion_step_end(lc_lion_t *lion, lc_lion_step_info_t *info)
{
    int rc;

    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    if (!lion->st.open)
        return LC_EINVAL("lion", "lc_lion_step_end without lc_lion_step_begin");
    if (info && info->size < sizeof(size_t))
        return LC_EINVAL("lion", "lc_lion_step_info_t: size %zu is not set", info->size);
    for (size_t j = 0; j < lion->ngroups; j++)
        if (!lion->groups[j].given)
            return LC_EINVAL("lion", "step %llu: group %zu ('%s') was not given",
                             (unsigned long long)lion->st.step, j, lion->groups[j].name);
    rc = lion_split_wait(lion);
    for (size_t j = 0; rc == 0 && j < lion->ngroups; j++)
        rc = lion_group_apply(lion, j);
    if (rc) {
        lion->st.open = 0;
        return rc;
    }
    return lion_step_close(lion, info);
}
