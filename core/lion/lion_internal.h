/* lion_internal.h - the Lion optimizer's private state, shared by the files of core/lion. */
#ifndef LC_LION_INTERNAL_H
#define LC_LION_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "kernels/kern.h"

/* One parameter group and its own state. */
struct lion_group {
    void *params;
    size_t count;
    lc_dtype_t dtype;
    char *name;
    size_t off;         /* first element in the fused buffers, a multiple of 64 */
    lc_msync_t msync;   /* kind LC_MSYNC_NEVER when none was given */
    uint64_t exp_j;     /* LC_MSYNC_EXP cursor: the next sync is T(exp_j) = exp_t */
    uint64_t exp_t;     /* 0 once the schedule ran past UINT64_MAX */
    float *m;           /* momentum, fp32 */
    uint16_t *mwire;    /* bf16 momentum for a bf16 momentum sync (vote modes) */
    int given;          /* split step: its gradient was given this step */
    lc_request_t *req;  /* split step, vote modes: its vote in flight */
};

/* Per-step scalars shared by the loops; lr, wd and decay are per group. */
struct lion_coef {
    lc_kern_betas_t bt; /* the momentum kernel's b1, a1, b2, a2 (a = 1 - b) */
    float lr, wd, decay; /* decay = 1 - lr*wd */
};

/* The step being taken: by lc_lion_step, or from lc_lion_step_begin to _end. */
struct lion_step {
    int open;                 /* between begin and end */
    uint64_t step;            /* its number, 1-based */
    lc_lion_step_opts_t opts; /* the caller's options, or all "configured" */
    struct lion_coef k;
    size_t given;             /* groups whose gradient was given */
    lc_request_t *global_req; /* split step, global modes: the allreduce in flight */
    lc_comm_stats_t s0;       /* the comm's counters when the step began */
    double t0, comm_s;        /* its start, and the time in collectives so far */
};

/*
 * All groups are communicated together: one collective per step over fused
 * buffers of `total` elements, group g at [g.off, g.off + g.count), padding
 * zero. Reallocated (zeroed) at each add_group, never during a step.
 */
struct lc_lion {
    lc_comm_t *comm;
    lc_lion_mode_t mode;
    float lr, beta1, beta2, wd;
    unsigned levels;    /* vote-l1: levels per side s */
    uint64_t step;      /* steps completed */
    int layout_checked; /* the ranks agreed on the groups (reset by add_group) */
    struct lion_group *groups;
    size_t ngroups, cap;
    size_t total;
    float *work;        /* fp32: mean gradient (global-fp32), votes (vote-avg), c then the
                           voted values (vote-l1) */
    uint16_t *wire;     /* bf16 gradients (global-bf16) */
    uint64_t *bits;     /* vote modes: local signs, then decoded signs at LC_BITS_WORDS(total) */
    int8_t *levels_q;   /* vote-l1: the L1 levels */
    struct lion_step st;
};

/* bf16 <-> fp32: widening is exact, narrowing rounds to nearest even (NaN stays NaN). */
static inline float lion_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline uint16_t lion_f32_to_bf16(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Open a step: check opts, the layout (once), and set up lion->st. */
LC_HIDDEN int lion_step_open(lc_lion_t *lion, const lc_lion_step_opts_t *opts);

/* Group j's local part: the momentum kernel and its votes (vote modes), or its
 * gradient into the fused buffer the average is taken over (global modes). */
LC_HIDDEN int lion_group_local(lc_lion_t *lion, size_t j, const void *grad);

/* Group j's update from the collective's result. */
LC_HIDDEN int lion_group_apply(lc_lion_t *lion, size_t j);

/* Whether the mode averages gradients (global-fp32, global-bf16). */
LC_HIDDEN int lion_is_global(const lc_lion_t *lion);

/* The global modes' allreduce over the fused buffer, or a vote's arguments
 * for elements [off, off + count) of the fused buffers (tie rule as a whole). */
LC_HIDDEN int lion_allreduce_args(lc_lion_t *lion, void **buf, lc_dtype_t *dt);
LC_HIDDEN void lion_vote_args(lc_lion_t *lion, size_t off, size_t count, const void **in,
                              lc_dtype_t *in_type, void **out, lc_dtype_t *out_type,
                              lc_vote_opts_t *vo);

/* Close the step: momentum sync where due, the step count, info. */
LC_HIDDEN int lion_step_close(lc_lion_t *lion, lc_lion_step_info_t *info);

/* Check once (after each add_group) that every rank has the same configuration and groups. */
LC_HIDDEN int lion_check_layout(lc_lion_t *lion);

/* Check a caller's momentum policy `in` (any size, lc_struct_in) and copy it into
 * msync at this build's size; 0 or -EINVAL (with lc_seterr). */
LC_HIDDEN int lion_msync_check(const lc_msync_t *in, lc_msync_t *msync);

/* Whether group g's policy syncs at `step`, advancing its EXP cursor; steps must not decrease. */
LC_HIDDEN int lion_msync_due_group(struct lion_group *g, uint64_t step);

/* Average group g's momentum over the ranks (fp32 or bf16 on the wire). */
LC_HIDDEN int lion_msync_run(lc_lion_t *lion, struct lion_group *g);

#endif
