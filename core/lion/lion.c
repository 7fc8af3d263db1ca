/* lion.c - the Lion optimizer object: creation, parameter groups, destruction, mode names. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lion_internal.h"

static const char *const lion_mode_names[LC_LION_MODE_COUNT] = {
    [LC_LION_GLOBAL_FP32] = "global-fp32", [LC_LION_GLOBAL_BF16] = "global-bf16",
    [LC_LION_VOTE] = "vote",               [LC_LION_VOTE_AVG] = "vote-avg",
    [LC_LION_VOTE_L1] = "vote-l1",
};

const char *lc_lion_mode_name(lc_lion_mode_t mode)
{
    if ((unsigned)mode >= LC_LION_MODE_COUNT)
        return "invalid";
    return lion_mode_names[mode];
}

int lc_lion_mode_parse(const char *name)
{
    if (!name)
        return LC_EINVAL("lion", "mode name is NULL");
    for (int i = 0; i < LC_LION_MODE_COUNT; i++)
        if (!strcmp(name, lion_mode_names[i]))
            return i;
    return LC_EINVAL("lion", "unknown Lion mode '%s' (global-fp32, global-bf16, vote, "
                             "vote-avg, vote-l1)", name);
}

/* A hyper-parameter in [lo, hi], finite. */
static int lion_check_range(const char *what, float v, float lo, float hi)
{
    if (!isfinite(v) || v < lo || v > hi)
        return LC_EINVAL("lion", "%s = %g is outside [%g, %g]", what, (double)v, (double)lo,
                         (double)hi);
    return 0;
}

int lc_lion_create(lc_comm_t *comm, const lc_lion_config_t *cfg, lc_lion_t **lion)
{
    lc_lion_config_t cfg_full; /* the caller's cfg at this build's size */
    unsigned levels, exact;
    lc_lion_t *l;
    int rc;

    if (!lion)
        return LC_EINVAL("lion", "lion (output) is NULL");
    *lion = NULL;
    if (!comm || !cfg)
        return LC_EINVAL("lion", "%s is NULL", comm ? "cfg" : "comm");
    if ((rc = lc_struct_in(cfg, &cfg_full, sizeof(cfg_full), "lc_lion_config_t")))
        return rc;
    cfg = &cfg_full;
    if ((unsigned)cfg->mode >= LC_LION_MODE_COUNT)
        return LC_EINVAL("lion", "unknown mode %d", (int)cfg->mode);
    if (cfg->level_bits != 0 && (cfg->level_bits < 2 || cfg->level_bits > 8))
        return LC_EINVAL("lion", "level_bits %u is not 2..8 (or 0)", cfg->level_bits);
    levels = cfg->levels;
    if (levels > LC_MAX_LEVELS)
        return LC_EINVAL("lion", "levels %u is not 1..%d (or 0)", levels, LC_MAX_LEVELS);
    if (cfg->flags & ~LC_LION_EXACT_BETAS)
        return LC_EINVAL("lion", "unknown flags 0x%x", cfg->flags);
    exact = cfg->flags & LC_LION_EXACT_BETAS;
    l = calloc(1, sizeof(*l));
    if (!l)
        return lc_seterr(-ENOMEM, "lion", "out of memory");
    l->comm = comm;
    l->mode = cfg->mode;
    l->lr = cfg->lr;
    l->wd = cfg->weight_decay;
    l->beta1 = cfg->beta1 == 0.0f && !exact ? 0.9f : cfg->beta1;
    l->beta2 = cfg->beta2 == 0.0f && !exact ? 0.99f : cfg->beta2;
    l->levels = levels ? levels : (1u << ((cfg->level_bits ? cfg->level_bits : 4) - 1)) - 1;
    if ((rc = lion_check_range("lr", l->lr, 0.0f, INFINITY)) ||
        (rc = lion_check_range("weight_decay", l->wd, 0.0f, INFINITY)) ||
        (rc = lion_check_range("beta1", l->beta1, 0.0f, 1.0f)) ||
        (rc = lion_check_range("beta2", l->beta2, 0.0f, 1.0f))) {
        free(l);
        return rc;
    }
    *lion = l;
    return 0;
}

static void lion_group_free(struct lion_group *g)
{
    free(g->name);
    free(g->m);
    free(g->mwire);
}

/* Allocate group g's own buffers in lion's mode. */
static int lion_group_alloc(const lc_lion_t *lion, struct lion_group *g)
{
    size_t n = g->count ? g->count : 1;
    int global = lion->mode == LC_LION_GLOBAL_FP32 || lion->mode == LC_LION_GLOBAL_BF16;
    int need_wire = !global && g->msync.kind != LC_MSYNC_NEVER && g->msync.dtype == LC_BF16;

    g->m = calloc(n, sizeof(float));
    if (need_wire)
        g->mwire = malloc(n * sizeof(uint16_t));
    if (!g->m || (need_wire && !g->mwire))
        return lc_seterr(-ENOMEM, "lion", "out of memory for group '%s' (%zu elements)",
                         g->name, g->count);
    return 0;
}

/* Replace the fused buffers with zeroed ones of `total` elements. */
static int lion_fused_alloc(lc_lion_t *lion, size_t total)
{
    size_t n = total ? total : 1;
    lc_lion_mode_t mode = lion->mode;
    int need_work = mode == LC_LION_GLOBAL_FP32 || mode == LC_LION_VOTE_AVG ||
                    mode == LC_LION_VOTE_L1;
    float *work = need_work ? calloc(n, sizeof(float)) : NULL;
    uint16_t *wire = mode == LC_LION_GLOBAL_BF16 ? calloc(n, sizeof(uint16_t)) : NULL;
    int need_bits = mode == LC_LION_VOTE || mode == LC_LION_VOTE_AVG;
    uint64_t *bits = need_bits ? calloc(2 * LC_BITS_WORDS(n), sizeof(uint64_t)) : NULL;
    int8_t *levels_q = mode == LC_LION_VOTE_L1 ? calloc(n, 1) : NULL;

    if ((need_work && !work) || (mode == LC_LION_GLOBAL_BF16 && !wire) ||
        (need_bits && !bits) || (mode == LC_LION_VOTE_L1 && !levels_q)) {
        free(work);
        free(wire);
        free(bits);
        free(levels_q);
        return lc_seterr(-ENOMEM, "lion", "out of memory for %zu fused elements", total);
    }
    free(lion->work);
    free(lion->wire);
    free(lion->bits);
    free(lion->levels_q);
    lion->work = work;
    lion->wire = wire;
    lion->bits = bits;
    lion->levels_q = levels_q;
    lion->total = total;
    return 0;
}

int lc_lion_add_group(lc_lion_t *lion, void *params, size_t count, lc_dtype_t dtype,
                      const char *name, const lc_msync_t *msync)
{
    struct lion_group g = {0};
    char defname[32];
    int rc;

    if (!lion)
        return LC_EINVAL("lion", "lion is NULL");
    if (!params && count)
        return LC_EINVAL("lion", "params is NULL for a group of %zu elements", count);
    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL("lion", "group dtype must be fp32 or bf16 (got %s)",
                         lc_dtype_name(dtype));
    if (count > SIZE_MAX / 4 / sizeof(float) - lion->total - 64)
        return LC_EINVAL("lion", "group of %zu elements is too large", count);
    if (lion->ngroups >= (size_t)INT32_MAX)
        return LC_EINVAL("lion", "too many groups");
    if (msync && (rc = lion_msync_check(msync, &g.msync)))
        return rc;
    if (lion->ngroups == lion->cap) {
        size_t cap = lion->cap ? 2 * lion->cap : 8;
        struct lion_group *ng = realloc(lion->groups, cap * sizeof(*ng));

        if (!ng)
            return lc_seterr(-ENOMEM, "lion", "out of memory");
        lion->groups = ng;
        lion->cap = cap;
    }
    g.params = params;
    g.count = count;
    g.dtype = dtype;
    if (!msync)
        g.msync = (lc_msync_t){.size = sizeof(lc_msync_t), .kind = LC_MSYNC_NEVER};
    g.exp_t = g.msync.every;
    snprintf(defname, sizeof(defname), "group%zu", lion->ngroups);
    g.name = strdup(name ? name : defname);
    if (!g.name) {
        rc = lc_seterr(-ENOMEM, "lion", "out of memory");
        goto fail;
    }
    g.off = lion->total;
    rc = lion_group_alloc(lion, &g);
    if (rc)
        goto fail;
    rc = lion_fused_alloc(lion, lion->total + LC_BITS_WORDS(count) * 64);
    if (rc)
        goto fail;
    lion->groups[lion->ngroups] = g;
    lion->layout_checked = 0;
    return (int)lion->ngroups++;
fail:
    lion_group_free(&g);
    return rc;
}

static uint64_t lion_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;

    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int lion_check_layout(lc_lion_t *lion)
{
    uint64_t h = 14695981039346656037ull, *all;
    int n = lc_comm_size(lion->comm), rc, bad = -1;
    uint32_t v[4] = {(uint32_t)lion->mode, lion->levels, 0, 0};

    if (lion->layout_checked)
        return 0;
    if (n < 0)
        return n;
    memcpy(&v[2], &lion->beta1, sizeof(float));
    memcpy(&v[3], &lion->beta2, sizeof(float));
    h = lion_hash(h, v, sizeof(v));
    for (size_t i = 0; i < lion->ngroups; i++) {
        const struct lion_group *g = &lion->groups[i];
        uint64_t w[5] = {g->count, (uint64_t)g->dtype, (uint64_t)g->msync.kind, g->msync.every,
                         g->msync.until};

        if (g->msync.kind != LC_MSYNC_NEVER)
            w[1] |= (uint64_t)g->msync.dtype << 8;
        h = lion_hash(h, w, sizeof(w));
        if (g->msync.kind == LC_MSYNC_EXP)
            h = lion_hash(h, &g->msync.k, sizeof(g->msync.k));
    }
    all = malloc((size_t)n * sizeof(*all));
    if (!all)
        return lc_seterr(-ENOMEM, "lion", "out of memory");
    rc = lc_allgather(lion->comm, &h, all, sizeof(h));
    for (int r = 0; rc == 0 && r < n; r++)
        if (all[r] != all[0])
            bad = r;
    free(all);
    if (rc)
        return rc;
    if (bad >= 0)
        return lc_seterr(LC_ERR_MISMATCH, "lion",
                         "rank %d has another mode, betas, levels or list of groups (counts, "
                         "dtypes, momentum policies) than rank 0", bad);
    lion->layout_checked = 1;
    return 0;
}

void lc_lion_destroy(lc_lion_t *lion)
{
    if (!lion)
        return;
    for (size_t i = 0; i < lion->ngroups; i++)
        lion_group_free(&lion->groups[i]);
    free(lion->groups);
    free(lion->work);
    free(lion->wire);
    free(lion->bits);
    free(lion->levels_q);
    free(lion);
}
