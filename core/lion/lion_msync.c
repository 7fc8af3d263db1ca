/* lion_msync.c - momentum sync schedules (lc_msync_due) and the momentum average itself. */
#include <math.h>

#include "lion_internal.h"

int lion_msync_check(const lc_msync_t *in, lc_msync_t *msync)
{
    int rc;

    if (!in)
        return LC_EINVAL("lion", "msync is NULL");
    if ((rc = lc_struct_in(in, msync, sizeof(*msync), "lc_msync_t")))
        return rc;
    switch (msync->kind) {
    case LC_MSYNC_NEVER:
        return 0;
    case LC_MSYNC_EVERY:
    case LC_MSYNC_EVERY_FROM_1:
        break;
    case LC_MSYNC_EXP:
        if (!(msync->k > 0.0) || !isfinite(msync->k))
            return LC_EINVAL("lion", "msync EXP needs a finite k > 0 (got %g)", msync->k);
        break;
    default:
        return LC_EINVAL("lion", "unknown msync kind %d", (int)msync->kind);
    }
    if (msync->every == 0)
        return LC_EINVAL("lion", "msync every must be >= 1");
    if (msync->dtype != LC_FP32 && msync->dtype != LC_BF16)
        return LC_EINVAL("lion", "msync dtype must be fp32 or bf16 (got %s)",
                         lc_dtype_name(msync->dtype));
    return 0;
}

/*
 * Advance an EXP schedule cursor (j, t = T(j)) until t >= step. t becomes 0
 * when the schedule's next step would not fit in 64 bits.
 */
static void lion_exp_advance(double k, uint64_t *j, uint64_t *t, uint64_t step)
{
    while (*t != 0 && *t < step) {
        double inc = floor(pow(2.0, (double)*j / k));

        if (inc >= 18446744073709551616.0 || (uint64_t)inc > UINT64_MAX - *t) {
            *t = 0;
            return;
        }
        *t += (uint64_t)inc;
        (*j)++;
    }
}

/* Whether a checked policy is due at step, given the EXP cursor (ignored for other kinds). */
static int lion_due(const lc_msync_t *ms, uint64_t *j, uint64_t *t, uint64_t step)
{
    if (ms->until != 0 && step > ms->until)
        return 0;
    switch (ms->kind) {
    case LC_MSYNC_EVERY:
        return step % ms->every == 0;
    case LC_MSYNC_EVERY_FROM_1:
        return (step - 1) % ms->every == 0;
    case LC_MSYNC_EXP:
        lion_exp_advance(ms->k, j, t, step);
        return *t == step;
    default:
        return 0;
    }
}

int lc_msync_due(const lc_msync_t *in, uint64_t step)
{
    uint64_t j = 0, t;
    lc_msync_t msync;
    int rc = lion_msync_check(in, &msync);

    if (rc)
        return rc;
    if (step == 0)
        return LC_EINVAL("lion", "steps are numbered from 1");
    t = msync.every;
    return lion_due(&msync, &j, &t, step);
}

int lion_msync_due_group(struct lion_group *g, uint64_t step)
{
    return lion_due(&g->msync, &g->exp_j, &g->exp_t, step);
}

int lion_msync_run(lc_lion_t *lion, struct lion_group *g)
{
    int rc;

    if (g->msync.dtype == LC_FP32)
        return lc_allreduce(lion->comm, g->m, g->m, g->count, LC_FP32, LC_AVG);
    for (size_t i = 0; i < g->count; i++)
        g->mwire[i] = lion_f32_to_bf16(g->m[i]);
    rc = lc_allreduce(lion->comm, g->mwire, g->mwire, g->count, LC_BF16, LC_AVG);
    if (rc)
        return rc;
    for (size_t i = 0; i < g->count; i++)
        g->m[i] = lion_bf16_to_f32(g->mwire[i]);
    return 0;
}
