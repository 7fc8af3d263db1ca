/*
 * lcofi_ctx.c - the ofi provider context: opens the fabric, domain,
 * completion queue, address vector and the one RDM endpoint that all comms
 * of the context share, and describes it as the context's single device.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

int lcofi_fierr(int ret, const char *what)
{
    if (ret >= 0)
        return 0;
    return lc_seterr(ret == -FI_ENOMEM ? -ENOMEM : -EIO, LCOFI_SUBSYS, "%s: %s (%d)", what,
                     fi_strerror(-ret), ret);
}

/* Open every libfabric object of the context from ctx->info. */
static int lcofi_open(lcofi_ctx_t *ctx)
{
    struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_TAGGED};
    struct fi_av_attr av_attr = {.type = FI_AV_UNSPEC};
    struct fi_info *info = ctx->info;
    int ret;

    if ((ret = fi_fabric(info->fabric_attr, &ctx->fabric, NULL)))
        return lcofi_fierr(ret, "fi_fabric");
    if ((ret = fi_domain(ctx->fabric, info, &ctx->domain, NULL)))
        return lcofi_fierr(ret, "fi_domain");
    cq_attr.size = info->tx_attr->size + info->rx_attr->size;
    /* A completion queue with a wait fd lets idle ranks sleep (lcofi_wait);
     * providers without one get a plain queue and the wait op only yields. */
    cq_attr.wait_obj = FI_WAIT_FD;
    ctx->wait_fd = -1;
    if (fi_cq_open(ctx->domain, &cq_attr, &ctx->cq, NULL) == 0) {
        if (fi_control(&ctx->cq->fid, FI_GETWAIT, &ctx->wait_fd))
            ctx->wait_fd = -1;
    } else {
        cq_attr.wait_obj = FI_WAIT_NONE;
        if ((ret = fi_cq_open(ctx->domain, &cq_attr, &ctx->cq, NULL)))
            return lcofi_fierr(ret, "fi_cq_open");
    }
    if ((ret = fi_av_open(ctx->domain, &av_attr, &ctx->av, NULL)))
        return lcofi_fierr(ret, "fi_av_open");
    if ((ret = fi_endpoint(ctx->domain, info, &ctx->ep, NULL)))
        return lcofi_fierr(ret, "fi_endpoint");
    if ((ret = fi_ep_bind(ctx->ep, &ctx->av->fid, 0)))
        return lcofi_fierr(ret, "fi_ep_bind(av)");
    if ((ret = fi_ep_bind(ctx->ep, &ctx->cq->fid, FI_TRANSMIT | FI_RECV)))
        return lcofi_fierr(ret, "fi_ep_bind(cq)");
    if ((ret = fi_enable(ctx->ep)))
        return lcofi_fierr(ret, "fi_enable");
    ctx->addrlen = sizeof(ctx->addr);
    if ((ret = fi_getname(&ctx->ep->fid, ctx->addr, &ctx->addrlen)))
        return lcofi_fierr(ret, "fi_getname");
    return 0;
}

/* Close what ctx opened; 1 when its endpoint had to be left open (ctx is then kept). */
static int lcofi_close(lcofi_ctx_t *ctx)
{
    if (ctx->ep) {
        /* receives may still be posted into the scratch and callers' buffers:
         * cancel them, then close the endpoint before any memory is freed */
        lcofi_req_abandon(ctx, -1, 0, FI_ADDR_UNSPEC);
        if (ctx->probe_rx_op.posted) {
            ctx->probe_rx_op.cancel = 1;
            fi_cancel(&ctx->ep->fid, &ctx->probe_rx_op);
            lcofi_wait_op(ctx, &ctx->probe_rx_op);
        }
        if (ctx->reqs) {
            /* Operations that never ended (sends to a peer that is gone):
             * libfabric 1.17's rxm crashes closing an endpoint with unfinished
             * rendezvous sends (ofiwg/libfabric#11828, #12846), so the endpoint,
             * what it uses and the requests it may still touch are left as they
             * are, with ctx, for the process's life. */
            LC_WARN(LCOFI_SUBSYS, "operations to a lost peer never ended: the endpoint is "
                                  "left open (libfabric cannot close it safely)");
            return 1;
        }
        fi_close(&ctx->ep->fid);
        ctx->ep = NULL;
    }
    lcofi_mr_release(ctx, ctx->scratch_mr);
    free(ctx->scratch);
    while (ctx->mrs) {
        lcofi_mr_t *mr = ctx->mrs;

        LC_WARN(LCOFI_SUBSYS, "registration [%p, +%zu) still held at fini", (void *)mr->start,
                (size_t)(mr->end - mr->start));
        mr->refs = 1;
        lcofi_mr_release(ctx, mr);
    }
    if (ctx->av)
        fi_close(&ctx->av->fid);
    if (ctx->cq)
        fi_close(&ctx->cq->fid);
    if (ctx->domain)
        fi_close(&ctx->domain->fid);
    if (ctx->fabric)
        fi_close(&ctx->fabric->fid);
    while (ctx->peers) {
        lcofi_peer_t *p = ctx->peers;

        ctx->peers = p->next;
        free(p);
    }
    fi_freeinfo(ctx->info);
    return 0;
}

int lcofi_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **out)
{
    lcofi_ctx_t *ctx;
    int64_t cap = 0, force_local = 0;
    int ret;

    if (!out)
        return LC_EINVAL(LCOFI_SUBSYS, "init: NULL ctx pointer");
    *out = NULL;
    if (opts && opts->size < offsetof(lc_prov_init_opts_t, rank) + sizeof(int))
        return LC_EINVAL(LCOFI_SUBSYS, "init: opts->size %zu is too small", opts->size);
    if ((ret = lc_param_int("LC_OFI_MAX_MSG", &cap)) && ret != -ENOENT)
        return ret;
    if ((ret = lc_param_int("LC_OFI_MR_LOCAL", &force_local)) && ret != -ENOENT)
        return ret;
    if (cap <= 0)
        return lc_seterr(LC_ERR_CONFIG, LCOFI_SUBSYS, "LC_OFI_MAX_MSG must be positive");
    if (!(ctx = calloc(1, sizeof(*ctx))))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "init: out of memory");
    lc_prov_obj_init(&ctx->base.obj, &lc_prov_ofi, LC_PROV_CTX);
    pthread_mutex_init(&ctx->lock, NULL);
    if (opts && opts->size >= offsetof(lc_prov_init_opts_t, key) + sizeof(opts->key))
        memcpy(ctx->key, opts->key, sizeof(ctx->key));
    if ((ret = lcofi_info_select(&ctx->info)) || (ret = lcofi_open(ctx)) ||
        (ret = lcofi_peer_init(ctx)))
        goto fail;
    ctx->directed = !!(ctx->info->caps & FI_DIRECTED_RECV);
    ctx->chunk = ctx->info->ep_attr->max_msg_size;
    if ((uint64_t)cap < ctx->chunk)
        ctx->chunk = (size_t)cap;
    ctx->need_local = (ctx->info->domain_attr->mr_mode & FI_MR_LOCAL) || force_local;
    ctx->mr_key = 1;
    ctx->next_id = 1;
    LC_INFO(LCOFI_SUBSYS, "opened %s domain %s fabric %s, mr_mode 0x%x, chunk %zu",
            ctx->info->fabric_attr->prov_name, ctx->info->domain_attr->name,
            ctx->info->fabric_attr->name, ctx->info->domain_attr->mr_mode, ctx->chunk);
    if (!ctx->directed)
        LC_WARN(LCOFI_SUBSYS, "%s has no directed receives (FI_DIRECTED_RECV): any endpoint "
                "that learns a connection's tags can land data in its receives",
                ctx->info->fabric_attr->prov_name);
    *out = &ctx->base;
    return 0;
fail:
    lcofi_close(ctx);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
    return ret;
}

void lcofi_fini(lc_prov_ctx_t *arg)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)arg;

    if (!ctx)
        return;
    if (ctx->listens)
        LC_WARN(LCOFI_SUBSYS, "fini with listen comms still open");
    lcofi_connect_abandon(ctx);
    if (lcofi_close(ctx))
        return;
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

int lcofi_devices(lc_prov_ctx_t *ctx, int *ndev)
{
    if (!ctx || !ndev)
        return LC_EINVAL(LCOFI_SUBSYS, "devices: NULL argument");
    *ndev = 1;
    return 0;
}

/* FNV-1a over a string, for a stable device id. */
static uint64_t lcofi_hash(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int lcofi_get_props(lc_prov_ctx_t *arg, int dev, lc_prov_props_t *props)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)arg;
    struct fi_info *info;
    struct fid_nic *nic;

    if (!ctx || !props || props->size < sizeof(*props))
        return LC_EINVAL(LCOFI_SUBSYS, "get_props: NULL or too small argument");
    if (dev != 0)
        return LC_EINVAL(LCOFI_SUBSYS, "get_props: device %d does not exist (1 device)", dev);
    info = ctx->info;
    nic = info->nic;
    memset(props, 0, sizeof(*props));
    props->size = sizeof(*props);
    snprintf(props->name, sizeof(props->name), "%s:%s", info->fabric_attr->prov_name,
             info->domain_attr->name);
    if (nic && nic->bus_attr && nic->bus_attr->bus_type == FI_BUS_PCI) {
        struct fi_pci_attr *pci = &nic->bus_attr->attr.pci;

        snprintf(props->pci_path, sizeof(props->pci_path), "/sys/bus/pci/devices/%04x:%02x:%02x.%x",
                 pci->domain_id, pci->bus_id, pci->device_id, pci->function_id);
    }
    if (nic && nic->link_attr && nic->link_attr->speed)
        props->speed_mbps = (int)(nic->link_attr->speed / 1000000);
    props->guid = lcofi_hash(lcofi_hash(14695981039346656037ULL, info->fabric_attr->name),
                             info->domain_attr->name);
    props->port = 1;
    props->max_comms = (int)LCOFI_COMM_MASK;
    props->max_recvs = 1;
    props->reg_is_global = 1; /* one domain and one endpoint per context */
    props->max_msg_size =
        ctx->chunk > SIZE_MAX / LCOFI_CHUNK_MAX ? SIZE_MAX : ctx->chunk * LCOFI_CHUNK_MAX;
    return 0;
}
