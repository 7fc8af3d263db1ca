/*
 * drv_net.c - calls one exported plugin table of any version 6..10 through
 * a single interface, converting sizes and property structs the way NCCL's
 * own compatibility layer does for each version.
 */
#include <string.h>

#include "drv.h"

#define V6(d)  ((const lcn_net_v6_t *)(d)->tab)
#define V7(d)  ((const lcn_net_v7_t *)(d)->tab)
#define V8(d)  ((const lcn_net_v8_t *)(d)->tab)
#define V9(d)  ((const lcn_net_v9_t *)(d)->tab)
#define V10(d) ((const lcn_net_v10_t *)(d)->tab)

/* A member with the same signature in every version. */
#define DRV_SAME(d, f, ...)                                                                        \
    ((d)->ver == 10  ? V10(d)->f(__VA_ARGS__)                                                      \
     : (d)->ver == 9 ? V9(d)->f(__VA_ARGS__)                                                       \
     : (d)->ver == 8 ? V8(d)->f(__VA_ARGS__)                                                       \
     : (d)->ver == 7 ? V7(d)->f(__VA_ARGS__)                                                       \
                     : V6(d)->f(__VA_ARGS__))

const char *drv_name(const struct drv *d)
{
    /* name is the first member in every version */
    return V6(d)->name;
}

lcn_res_t drv_init(const struct drv *d, lcn_logger_t log)
{
    if (d->ver == 10)
        return V10(d)->init(log, NULL);
    return d->ver == 9   ? V9(d)->init(log)
           : d->ver == 8 ? V8(d)->init(log)
           : d->ver == 7 ? V7(d)->init(log)
                         : V6(d)->init(log);
}

lcn_res_t drv_devices(const struct drv *d, int *ndev)
{
    return DRV_SAME(d, devices, ndev);
}

lcn_res_t drv_props(const struct drv *d, int dev, struct drv_props *p)
{
    lcn_res_t res;

    memset(p, 0, sizeof(*p));
    p->vndevs = 1;
    p->vdev0 = dev;
    p->max_p2p = (size_t)-1;
    if (d->ver >= 9) {
        lcn_props_v9_t q;
        res = d->ver == 10 ? V10(d)->get_properties(dev, &q) : V9(d)->get_properties(dev, &q);
        *p = (struct drv_props){q.name,           q.pci_path,     q.guid,    q.ptr_support,
                                q.reg_is_global,  q.speed,        q.port,    q.max_comms,
                                q.max_recvs,      q.dev_type,     q.latency, q.vprops.ndevs,
                                q.vprops.devs[0], q.max_p2p_bytes};
    } else if (d->ver == 8) {
        lcn_props_v8_t q;
        res = V8(d)->get_properties(dev, &q);
        *p = (struct drv_props){q.name,    q.pci_path, q.guid,      q.ptr_support, q.reg_is_global,
                                q.speed,   q.port,     q.max_comms, q.max_recvs,   q.dev_type,
                                q.latency, 1,          dev,         (size_t)-1};
    } else if (d->ver == 7) {
        lcn_props_v7_t q;
        res = V7(d)->get_properties(dev, &q);
        *p = (struct drv_props){q.name,    q.pci_path, q.guid,      q.ptr_support, 0,
                                q.speed,   q.port,     q.max_comms, q.max_recvs,   q.dev_type,
                                q.latency, 1,          dev,         (size_t)-1};
    } else {
        lcn_props_v6_t q;
        res = V6(d)->get_properties(dev, &q);
        *p = (struct drv_props){q.name,    q.pci_path, q.guid,      q.ptr_support, 0,
                                q.speed,   q.port,     q.max_comms, q.max_recvs,   0,
                                q.latency, 1,          dev,         (size_t)-1};
    }
    return res;
}

lcn_res_t drv_listen(const struct drv *d, int dev, void *handle, void **lc)
{
    return DRV_SAME(d, listen, dev, handle, lc);
}

lcn_res_t drv_connect(const struct drv *d, int dev, void *handle, void **sc)
{
    lcn_comm_config_t cfg = {.traffic_class = -1};
    lcn_dev_handle_t *dc = NULL;

    switch (d->ver) {
    case 10:
        return V10(d)->connect(dev, &cfg, handle, sc, &dc);
    case 9:
        return V9(d)->connect(dev, handle, sc, &dc);
    case 8:
        return V8(d)->connect(dev, handle, sc, &dc);
    case 7:
        return V7(d)->connect(dev, handle, sc, &dc);
    default:
        return V6(d)->connect(dev, handle, sc);
    }
}

lcn_res_t drv_accept(const struct drv *d, void *lc, void **rc)
{
    lcn_dev_handle_t *dc = NULL;

    switch (d->ver) {
    case 10:
        return V10(d)->accept(lc, rc, &dc);
    case 9:
        return V9(d)->accept(lc, rc, &dc);
    case 8:
        return V8(d)->accept(lc, rc, &dc);
    case 7:
        return V7(d)->accept(lc, rc, &dc);
    default:
        return V6(d)->accept(lc, rc);
    }
}

lcn_res_t drv_reg_mr(const struct drv *d, void *comm, void *buf, size_t len, int type, void **mh)
{
    if (d->ver >= 8)
        return d->ver == 10  ? V10(d)->reg_mr(comm, buf, len, type, mh)
               : d->ver == 9 ? V9(d)->reg_mr(comm, buf, len, type, mh)
                             : V8(d)->reg_mr(comm, buf, len, type, mh);
    return d->ver == 7 ? V7(d)->reg_mr(comm, buf, (int)len, type, mh)
                       : V6(d)->reg_mr(comm, buf, (int)len, type, mh);
}

lcn_res_t drv_reg_mr_dmabuf(const struct drv *d, void *comm, void *buf, size_t len, void **mh)
{
    return DRV_SAME(d, reg_mr_dmabuf, comm, buf, len, LCN_PTR_CUDA, 0, -1, mh);
}

lcn_res_t drv_dereg_mr(const struct drv *d, void *comm, void *mh)
{
    return DRV_SAME(d, dereg_mr, comm, mh);
}

lcn_res_t drv_isend(const struct drv *d, void *sc, void *buf, size_t len, int tag, void *mh,
                    void **req)
{
    if (d->ver == 10)
        return V10(d)->isend(sc, buf, len, tag, mh, NULL, req);
    if (d->ver == 9)
        return V9(d)->isend(sc, buf, len, tag, mh, req);
    return d->ver == 8   ? V8(d)->isend(sc, buf, (int)len, tag, mh, req)
           : d->ver == 7 ? V7(d)->isend(sc, buf, (int)len, tag, mh, req)
                         : V6(d)->isend(sc, buf, (int)len, tag, mh, req);
}

lcn_res_t drv_irecv(const struct drv *d, void *rc, int n, void **bufs, const size_t *caps,
                    const int *tags, void **mhs, void **req)
{
    size_t zs[LCN_MAX_RECVS_DRV];
    int is[LCN_MAX_RECVS_DRV], tg[LCN_MAX_RECVS_DRV];
    void *ph[LCN_MAX_RECVS_DRV] = {0};

    for (int i = 0; i < n && i < LCN_MAX_RECVS_DRV; i++) {
        zs[i] = caps[i];
        is[i] = (int)caps[i];
        tg[i] = tags[i];
    }
    if (d->ver == 10)
        return V10(d)->irecv(rc, n, bufs, zs, tg, mhs, ph, req);
    if (d->ver == 9)
        return V9(d)->irecv(rc, n, bufs, zs, tg, mhs, req);
    return d->ver == 8   ? V8(d)->irecv(rc, n, bufs, is, tg, mhs, req)
           : d->ver == 7 ? V7(d)->irecv(rc, n, bufs, is, tg, mhs, req)
                         : V6(d)->irecv(rc, n, bufs, is, tg, mhs, req);
}

lcn_res_t drv_iflush(const struct drv *d, void *rc, int n, void **bufs, int *sizes, void **mhs,
                     void **req)
{
    return DRV_SAME(d, iflush, rc, n, bufs, sizes, mhs, req);
}

lcn_res_t drv_test(const struct drv *d, void *req, int *done, int *sizes)
{
    return DRV_SAME(d, test, req, done, sizes);
}

lcn_res_t drv_close_send(const struct drv *d, void *sc)
{
    return DRV_SAME(d, close_send, sc);
}

lcn_res_t drv_close_recv(const struct drv *d, void *rc)
{
    return DRV_SAME(d, close_recv, rc);
}

lcn_res_t drv_close_listen(const struct drv *d, void *lc)
{
    return DRV_SAME(d, close_listen, lc);
}
