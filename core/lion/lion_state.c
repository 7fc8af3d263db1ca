/* lion_state.c - the optimizer's state for checkpoints: step count, momenta, parameter buffers. */
#include "lion_internal.h"

/* Group `group` of lion, or NULL with an -EINVAL recorded. */
static struct lion_group *lion_group_at(const lc_lion_t *lion, int group, const char *fn)
{
    if (!lion) {
        LC_EINVAL("lion", "%s: lion is NULL", fn);
        return NULL;
    }
    if (group < 0 || (size_t)group >= lion->ngroups) {
        LC_EINVAL("lion", "%s: group %d is not in [0, %zu)", fn, group, lion->ngroups);
        return NULL;
    }
    return &lion->groups[group];
}

/* Check a momentum copy's buffer and count against group g. */
static int lion_momentum_check(const struct lion_group *g, const void *m, size_t count,
                               const char *fn)
{
    if (count != g->count)
        return LC_EINVAL("lion", "%s: count %zu is not group '%s''s %zu elements", fn, count,
                         g->name, g->count);
    if (!m && count)
        return LC_EINVAL("lion", "%s: momentum buffer is NULL", fn);
    return 0;
}

int lc_lion_get_step(const lc_lion_t *lion, uint64_t *step)
{
    if (!lion || !step)
        return LC_EINVAL("lion", "lc_lion_get_step: %s is NULL", lion ? "step" : "lion");
    *step = lion->step;
    return 0;
}

int lc_lion_set_step(lc_lion_t *lion, uint64_t step)
{
    if (!lion)
        return LC_EINVAL("lion", "lc_lion_set_step: lion is NULL");
    if (step == UINT64_MAX)
        return LC_EINVAL("lion", "lc_lion_set_step: step %llu leaves no next step",
                         (unsigned long long)step);
    lion->step = step;
    /* The EXP cursors only move forward: restart them, the next step advances them. */
    for (size_t i = 0; i < lion->ngroups; i++) {
        lion->groups[i].exp_j = 0;
        lion->groups[i].exp_t = lion->groups[i].msync.every;
    }
    return 0;
}

int lc_lion_get_momentum(const lc_lion_t *lion, int group, float *m, size_t count)
{
    const struct lion_group *g = lion_group_at(lion, group, "lc_lion_get_momentum");
    int rc;

    if (!g)
        return -EINVAL;
    if ((rc = lion_momentum_check(g, m, count, "lc_lion_get_momentum")))
        return rc;
    if (count)
        memcpy(m, g->m, count * sizeof(float));
    return 0;
}

int lc_lion_set_momentum(lc_lion_t *lion, int group, const float *m, size_t count)
{
    struct lion_group *g = lion_group_at(lion, group, "lc_lion_set_momentum");
    int rc;

    if (!g)
        return -EINVAL;
    if ((rc = lion_momentum_check(g, m, count, "lc_lion_set_momentum")))
        return rc;
    if (count)
        memcpy(g->m, m, count * sizeof(float));
    return 0;
}

int lc_lion_set_params(lc_lion_t *lion, int group, void *params)
{
    struct lion_group *g = lion_group_at(lion, group, "lc_lion_set_params");

    if (!g)
        return -EINVAL;
    if (!params && g->count)
        return LC_EINVAL("lion",
                         "lc_lion_set_params: params is NULL for group '%s' of %zu "
                         "elements",
                         g->name, g->count);
    g->params = params;
    return 0;
}
