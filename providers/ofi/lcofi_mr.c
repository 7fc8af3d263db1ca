/*
 * lcofi_mr.c - memory registration for the ofi provider: a refcounted cache
 * of fi_mr_reg registrations keyed by address range (page aligned), so that a
 * buffer registered once is looked up, not registered again. It honours the
 * provider's mr_mode: FI_MR_PROV_KEY (else unique requested keys),
 * FI_MR_ENDPOINT (fi_mr_bind to the endpoint + fi_mr_enable) and FI_MR_LOCAL
 * (descriptors for every local buffer, registered on the fly when the caller
 * has none). FI_MR_VIRT_ADDR only concerns remote access, which this provider
 * never grants; FI_MR_ALLOCATED holds because only caller memory is registered.
 */
#include <stdlib.h>
#include <unistd.h>

#include "lcofi.h"

static lcofi_mr_t *lcofi_mr_find(lcofi_ctx_t *ctx, uintptr_t start, uintptr_t end)
{
    for (lcofi_mr_t *e = ctx->mrs; e; e = e->next)
        if (e->start <= start && end <= e->end)
            return e;
    return NULL;
}

/* Register [start, end) with the domain (and the endpoint where asked). */
static int lcofi_mr_register(lcofi_ctx_t *ctx, lcofi_mr_t *e)
{
    int mode = ctx->info->domain_attr->mr_mode;
    uint64_t key = (mode & FI_MR_PROV_KEY) ? 0 : ctx->mr_key++;
    int ret;

    ret = fi_mr_reg(ctx->domain, (void *)e->start, e->end - e->start, FI_SEND | FI_RECV, 0, key, 0,
                    &e->mr, NULL);
    if (ret)
        return lcofi_fierr(ret, "fi_mr_reg");
    if (mode & FI_MR_ENDPOINT) {
        if ((ret = fi_mr_bind(e->mr, &ctx->ep->fid, 0)) || (ret = fi_mr_enable(e->mr))) {
            fi_close(&e->mr->fid);
            return lcofi_fierr(ret, "fi_mr_bind/fi_mr_enable");
        }
    }
    e->desc = fi_mr_desc(e->mr);
    ctx->stats.regs++;
    return 0;
}

int lcofi_mr_acquire(lcofi_ctx_t *ctx, const void *buf, size_t len, lcofi_mr_t **out)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)buf & ~(page - 1);
    uintptr_t end = ((uintptr_t)buf + (len ? len : 1) + page - 1) & ~(page - 1);
    lcofi_mr_t *e = lcofi_mr_find(ctx, start, end);
    int ret;

    if (e) {
        e->refs++;
        ctx->stats.hits++;
        *out = e;
        return 0;
    }
    ctx->stats.misses++;
    if (!(e = calloc(1, sizeof(*e))))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "reg_mr: out of memory");
    lc_prov_obj_init(&e->base.obj, &lc_prov_ofi, LC_PROV_MR);
    e->start = start;
    e->end = end;
    if ((ret = lcofi_mr_register(ctx, e))) {
        free(e);
        return ret;
    }
    e->refs = 1;
    e->next = ctx->mrs;
    ctx->mrs = e;
    *out = e;
    return 0;
}

void lcofi_mr_release(lcofi_ctx_t *ctx, lcofi_mr_t *mr)
{
    lcofi_mr_t **pp;

    if (!mr || --mr->refs > 0)
        return;
    for (pp = &ctx->mrs; *pp && *pp != mr; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = mr->next;
    fi_close(&mr->mr->fid);
    ctx->stats.deregs++;
    free(mr);
}

int lcofi_mr_local(lcofi_ctx_t *ctx, const void *buf, size_t len, lcofi_mr_t **tmp, void **desc)
{
    int ret;

    *tmp = NULL;
    *desc = NULL;
    if (!ctx->need_local || !buf || !len)
        return 0;
    if ((ret = lcofi_mr_acquire(ctx, buf, len, tmp)))
        return ret;
    *desc = (*tmp)->desc;
    return 0;
}

void lcofi_mr_stats(void *arg, lcofi_mr_stats_t *stats)
{
    lcofi_ctx_t *ctx = arg;

    pthread_mutex_lock(&ctx->lock);
    *stats = ctx->stats;
    pthread_mutex_unlock(&ctx->lock);
}

int lcofi_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mhandle)
{
    lcofi_ctx_t *ctx;
    lcofi_mr_t *e = NULL;
    int ret;

    if (!comm || !buf || !mhandle)
        return LC_EINVAL(LCOFI_SUBSYS, "reg_mr: NULL argument");
    ctx = ((lcofi_recv_comm_t *)comm)->ctx;
    pthread_mutex_lock(&ctx->lock);
    ret = lcofi_mr_acquire(ctx, buf, len, &e);
    pthread_mutex_unlock(&ctx->lock);
    *mhandle = ret ? NULL : &e->base;
    return ret;
}

int lcofi_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle)
{
    lcofi_ctx_t *ctx;

    if (!comm || !mhandle)
        return LC_EINVAL(LCOFI_SUBSYS, "dereg_mr: NULL argument");
    ctx = ((lcofi_recv_comm_t *)comm)->ctx;
    pthread_mutex_lock(&ctx->lock);
    lcofi_mr_release(ctx, (lcofi_mr_t *)mhandle);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}
