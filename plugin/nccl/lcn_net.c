/*
 * lcn_net.c - the NCCL plugin's process-wide state: provider contexts and
 * the device list, logging into NCCL's logger, device properties,
 * listen/connect/accept and memory registration.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lcn.h"

static struct {
    int ready;
    int nprov;
    lc_prov_ctx_t *ctx[LCN_MAX_PROVS];
    const lc_provider_t *prov[LCN_MAX_PROVS];
    int ndev;
    struct lcn_dev dev[LCN_MAX_DEVS];
} lcn_g;
static pthread_mutex_t lcn_lock = PTHREAD_MUTEX_INITIALIZER;
static lcn_logger_t lcn_logger;

struct lcn_listen {
    struct lcn_comm base;
};

/* Forward lioncub's log lines (ours and the providers') to NCCL's logger,
 * tagged INIT|NET so that NCCL_DEBUG=INFO shows them with NCCL's default
 * NCCL_DEBUG_SUBSYS (the plugin itself logs at setup and on errors only). */
static void lcn_sink(lc_log_level_t level, const char *subsys, const char *msg)
{
    int lvl = level <= LC_LOG_WARN   ? LCN_LOG_WARN
              : level == LC_LOG_INFO ? LCN_LOG_INFO
                                     : LCN_LOG_TRACE;
    lcn_logger_t log = __atomic_load_n(&lcn_logger, __ATOMIC_ACQUIRE);

    if (log)
        log(lvl, LCN_SUBSYS_INIT | LCN_SUBSYS_NET, __FILE__, __LINE__, "NET/" LCN_NAME " %s: %s",
            subsys, msg);
}

lcn_res_t lcn_res(int rc)
{
    switch (rc) {
    case 0:
        return LCN_OK;
    case -EINVAL:
        return LCN_ERR_ARG;
    case LC_ERR_CONFIG:
    case LC_ERR_NO_PROVIDER:
        return LCN_ERR_USAGE;
    case -ENOSYS:
    case -EMSGSIZE:
    case LC_ERR_PROTO:
        return LCN_ERR_INTERNAL;
    case -ECONNRESET:
    case -ECONNREFUSED:
    case -EPIPE:
    case -ETIMEDOUT:
    case LC_ERR_PEER:
        return LCN_ERR_REMOTE;
    default:
        return LCN_ERR_SYSTEM;
    }
}

static void lcn_close_all(void)
{
    for (int i = 0; i < lcn_g.nprov; i++)
        lcn_g.prov[i]->fini(lcn_g.ctx[i]);
    memset(&lcn_g, 0, sizeof(lcn_g));
}

/* Open one provider context and append its devices. */
static void lcn_open_provider(const lc_provider_t *prov)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .job_id = 0, .rank = -1};
    lc_prov_ctx_t *ctx = NULL;
    int ndev = 0, rc;

    rc = prov->init(&opts, &ctx);
    if (rc < 0) {
        LC_INFO("nccl", "provider %s unusable: %s", prov->name, lc_strerror(rc));
        return;
    }
    rc = prov->devices(ctx, &ndev);
    if (rc < 0 || ndev <= 0) {
        LC_INFO("nccl", "provider %s has no device (%s)", prov->name,
                rc < 0 ? lc_strerror(rc) : "0 devices");
        prov->fini(ctx);
        return;
    }
    lcn_g.prov[lcn_g.nprov] = prov;
    lcn_g.ctx[lcn_g.nprov++] = ctx;
    for (int d = 0; d < ndev && lcn_g.ndev < LCN_MAX_DEVS; d++) {
        struct lcn_dev *dev = &lcn_g.dev[lcn_g.ndev];

        memset(&dev->props, 0, sizeof(dev->props));
        dev->props.size = sizeof(dev->props);
        rc = prov->get_props(ctx, d, &dev->props);
        if (rc < 0) {
            LC_WARN("nccl", "provider %s device %d: no properties (%s), skipped", prov->name, d,
                    lc_strerror(rc));
            continue;
        }
        dev->props.name[sizeof(dev->props.name) - 1] = 0;
        dev->props.pci_path[sizeof(dev->props.pci_path) - 1] = 0;
        dev->prov = prov;
        dev->ctx = ctx;
        dev->local = d;
        LC_INFO("nccl", "device %d: %s/%s, %d Mbps", lcn_g.ndev, prov->name, dev->props.name,
                dev->props.speed_mbps);
        lcn_g.ndev++;
    }
}

lcn_res_t lcn_init_providers(const lc_provider_t *const *provs, int nprov, lcn_logger_t log)
{
    lcn_res_t res = LCN_OK;

    pthread_mutex_lock(&lcn_lock);
    __atomic_store_n(&lcn_logger, log, __ATOMIC_RELEASE);
    lc_log_set_sink(lcn_sink);
    if (lcn_g.ready)
        goto out;
    for (int i = 0; i < nprov && i < LCN_MAX_PROVS; i++)
        lcn_open_provider(provs[i]);
    if (lcn_g.ndev == 0) {
        LC_WARN("nccl", "no usable device in any selected provider (LC_PROVIDER); "
                        "NCCL falls back to its own transports");
        lcn_close_all();
        res = LCN_ERR_SYSTEM;
        lc_log_set_sink(NULL); /* NCCL may unload us now; liblioncub may stay */
        goto out;
    }
    lcn_g.ready = 1;
out:
    pthread_mutex_unlock(&lcn_lock);
    return res;
}

lcn_res_t lcn_init(lcn_logger_t log)
{
    const lc_provider_t *provs[LCN_MAX_PROVS];
    int n;

    /* Route the selection's own error message to NCCL as well. */
    __atomic_store_n(&lcn_logger, log, __ATOMIC_RELEASE);
    lc_log_set_sink(lcn_sink);
    n = lc_provider_select(NULL, provs, LCN_MAX_PROVS);
    if (n < 0) {
        LC_WARN("nccl", "LC_PROVIDER selects no provider: %s", lc_strerror(n));
        lc_log_set_sink(NULL);
        return lcn_res(n);
    }
    return lcn_init_providers(provs, n, log);
}

/* NCCL may dlclose the plugin while the application keeps liblioncub
 * loaded (it calls the vote API): never leave it a sink in unmapped code.
 * Provider contexts are left alone, comms may still be in use at exit. */
__attribute__((destructor)) static void lcn_unload(void)
{
    if (__atomic_load_n(&lcn_logger, __ATOMIC_ACQUIRE))
        lc_log_set_sink(NULL);
}

void lcn_fini(void)
{
    pthread_mutex_lock(&lcn_lock);
    lcn_close_all();
    pthread_mutex_unlock(&lcn_lock);
}

lcn_res_t lcn_devices(int *ndev)
{
    *ndev = lcn_g.ndev;
    return LCN_OK;
}

static struct lcn_dev *lcn_dev(int dev)
{
    if (dev < 0 || dev >= lcn_g.ndev) {
        LC_WARN("nccl", "device %d does not exist (%d devices)", dev, lcn_g.ndev);
        return NULL;
    }
    return &lcn_g.dev[dev];
}

lcn_res_t lcn_get_props(int dev, lcn_props_v10_t *p)
{
    struct lcn_dev *d = lcn_dev(dev);
    const lc_prov_props_t *pp;

    if (!d)
        return LCN_ERR_ARG;
    pp = &d->props;
    memset(p, 0, sizeof(*p));
    p->name = d->props.name;
    p->pci_path = pp->pci_path[0] ? d->props.pci_path : NULL;
    p->guid = pp->guid;
    p->ptr_support = LCN_PTR_HOST;
    p->reg_is_global = pp->reg_is_global;
    p->force_flush = 0;
    /* NCCL's topology needs a rate; 10 Gbps is what NCCL's own socket
     * transport assumes when a link does not report its speed. */
    p->speed = pp->speed_mbps > 0 ? pp->speed_mbps : 10000;
    p->port = pp->port;
    p->latency = pp->latency_us;
    p->max_comms = pp->max_comms > 0 ? pp->max_comms : 65536;
    p->max_recvs = LCN_MAX_RECVS;
    p->dev_type = LCN_DEV_HOST;
    p->dev_version = LCN_DEV_VERSION_NONE;
    p->vprops.ndevs = 1;
    p->vprops.devs[0] = dev;
    /* test() reports sizes as int: one message never exceeds INT_MAX. */
    p->max_p2p_bytes = pp->max_msg_size && pp->max_msg_size < INT_MAX ? pp->max_msg_size : INT_MAX;
    p->max_coll_bytes = p->max_p2p_bytes;
    return LCN_OK;
}

lcn_res_t lcn_listen(int dev, void *handle, void **listen_comm)
{
    struct lcn_dev *d = lcn_dev(dev);
    struct lcn_listen *l;
    int rc;

    *listen_comm = NULL;
    if (!d)
        return LCN_ERR_ARG;
    l = calloc(1, sizeof(*l));
    if (!l)
        return LCN_ERR_SYSTEM;
    memset(handle, 0, LCN_HANDLE_MAX);
    rc = d->prov->listen(d->ctx, d->local, handle, &l->base.pc);
    if (rc < 0) {
        free(l);
        return lcn_res(rc);
    }
    l->base.kind = LCN_K_LISTEN;
    l->base.dev = d;
    *listen_comm = l;
    return LCN_OK;
}

lcn_res_t lcn_connect(int dev, void *handle, void **send_comm)
{
    struct lcn_dev *d = lcn_dev(dev);
    lc_prov_comm_t *pc = NULL;
    int rc;

    *send_comm = NULL;
    if (!d)
        return LCN_ERR_ARG;
    rc = d->prov->connect(d->ctx, d->local, handle, &pc);
    if (rc < 0)
        return lcn_res(rc);
    if (!pc)
        return LCN_OK; /* not connected yet: NCCL calls again */
    rc = lcn_send_open(d, pc, send_comm);
    if (rc < 0) {
        d->prov->close_send(pc);
        return lcn_res(rc);
    }
    return LCN_OK;
}

lcn_res_t lcn_accept(void *listen_comm, void **recv_comm)
{
    struct lcn_listen *l = listen_comm;
    struct lcn_dev *d = l->base.dev;
    lc_prov_comm_t *pc = NULL;
    int rc;

    *recv_comm = NULL;
    rc = d->prov->accept(l->base.pc, &pc);
    if (rc < 0)
        return lcn_res(rc);
    if (!pc)
        return LCN_OK; /* no peer yet: NCCL calls again */
    rc = lcn_recv_open(d, pc, recv_comm);
    if (rc < 0) {
        d->prov->close_recv(pc);
        return lcn_res(rc);
    }
    return LCN_OK;
}

lcn_res_t lcn_close_listen(void *listen_comm)
{
    struct lcn_listen *l = listen_comm;
    int rc;

    if (!l)
        return LCN_OK;
    rc = l->base.dev->prov->close_listen(l->base.pc);
    free(l);
    return lcn_res(rc);
}

lcn_res_t lcn_reg_mr(void *comm, void *data, size_t size, int type, void **mh)
{
    struct lcn_comm *c = comm;
    struct lcn_mr *mr;
    int rc;

    *mh = NULL;
    if (type != LCN_PTR_HOST) {
        LC_WARN("nccl", "regMr: only host memory is supported (type %d)", type);
        return LCN_ERR_INTERNAL;
    }
    mr = calloc(1, sizeof(*mr));
    if (!mr)
        return LCN_ERR_SYSTEM;
    rc = c->dev->prov->reg_mr(c->pc, data, size, &mr->pmh);
    if (rc == -ENOSYS) {
        mr->pmh = NULL; /* the provider needs no registration */
    } else if (rc < 0) {
        free(mr);
        return lcn_res(rc);
    }
    *mh = mr;
    return LCN_OK;
}

lcn_res_t lcn_reg_mr_dmabuf(void *comm, void *data, size_t size, int type, uint64_t offset, int fd,
                            void **mh)
{
    *mh = NULL;
    LC_WARN("nccl", "regMrDmaBuf: DMA-BUF registration is not supported (host memory only)");
    return LCN_ERR_INTERNAL;
}

lcn_res_t lcn_dereg_mr(void *comm, void *mh)
{
    struct lcn_comm *c = comm;
    struct lcn_mr *mr = mh;
    int rc = 0;

    if (!mr)
        return LCN_OK;
    if (mr->pmh)
        rc = c->dev->prov->dereg_mr(c->pc, mr->pmh);
    free(mr);
    return lcn_res(rc);
}

lcn_res_t lcn_test(void *req, int *done, int *sizes)
{
    int kind = *(const int *)req;

    if (kind == LCN_K_SREQ)
        return lcn_send_test(req, done, sizes);
    if (kind == LCN_K_RREQ)
        return lcn_recv_test(req, done, sizes);
    LC_WARN("nccl", "test: %p is not a request of this plugin", req);
    return LCN_ERR_ARG;
}

lcn_res_t lcn_iflush(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req)
{
    /* Host memory only: received data is already visible, nothing to flush. */
    *req = NULL;
    return LCN_OK;
}
