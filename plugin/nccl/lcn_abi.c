/*
 * lcn_abi.c - the symbols NCCL looks up in libnccl-net-lioncub.so:
 * ncclNetPlugin_v10 down to ncclNetPlugin_v6, each a function table of
 * thin adapters that convert the version's argument types and property
 * struct and call the one implementation in lcn_net.c, lcn_send.c and
 * lcn_recv.c. These tables are the only symbols the plugin exports.
 */
#include <string.h>

#include "lcn.h"

#define LCN_EXPORT __attribute__((visibility("default")))

/* ---- argument conversions shared by several versions ---- */

static lcn_res_t lcn_init_v6(lcn_logger_t log)
{
    return lcn_init(log);
}

static lcn_res_t lcn_init_v10(lcn_logger_t log, lcn_prof_cb_t prof)
{
    return lcn_init(log);
}

static lcn_res_t lcn_connect_v7(int dev, void *handle, void **send_comm,
                                lcn_dev_handle_t **dev_comm)
{
    return lcn_connect(dev, handle, send_comm);
}

static lcn_res_t lcn_connect_v10(int dev, lcn_comm_config_t *config, void *handle, void **send_comm,
                                 lcn_dev_handle_t **dev_comm)
{
    return lcn_connect(dev, handle, send_comm);
}

static lcn_res_t lcn_accept_v7(void *listen_comm, void **recv_comm, lcn_dev_handle_t **dev_comm)
{
    return lcn_accept(listen_comm, recv_comm);
}

static lcn_res_t lcn_reg_mr_int(void *comm, void *data, int size, int type, void **mh)
{
    if (size < 0)
        return LCN_ERR_ARG;
    return lcn_reg_mr(comm, data, (size_t)size, type, mh);
}

static lcn_res_t lcn_isend_int(void *send_comm, void *data, int size, int tag, void *mh, void **req)
{
    *req = NULL;
    if (size < 0)
        return LCN_ERR_ARG;
    return lcn_isend(send_comm, data, (size_t)size, tag, mh, req);
}

static lcn_res_t lcn_isend_v9(void *send_comm, void *data, size_t size, int tag, void *mh,
                              void **req)
{
    return lcn_isend(send_comm, data, size, tag, mh, req);
}

static lcn_res_t lcn_isend_v10(void *send_comm, void *data, size_t size, int tag, void *mh,
                               void *phandle, void **req)
{
    return lcn_isend(send_comm, data, size, tag, mh, req);
}

static lcn_res_t lcn_irecv_int(void *recv_comm, int n, void **data, int *sizes, int *tags,
                               void **mhs, void **req)
{
    size_t zs[LCN_MAX_RECVS];

    *req = NULL;
    if (n < 1 || n > LCN_MAX_RECVS)
        return LCN_ERR_ARG;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return LCN_ERR_ARG;
        zs[i] = (size_t)sizes[i];
    }
    return lcn_irecv(recv_comm, n, data, zs, tags, mhs, req);
}

static lcn_res_t lcn_irecv_v9(void *recv_comm, int n, void **data, size_t *sizes, int *tags,
                              void **mhs, void **req)
{
    return lcn_irecv(recv_comm, n, data, sizes, tags, mhs, req);
}

static lcn_res_t lcn_irecv_v10(void *recv_comm, int n, void **data, size_t *sizes, int *tags,
                               void **mhs, void **phandles, void **req)
{
    return lcn_irecv(recv_comm, n, data, sizes, tags, mhs, req);
}

/* ---- property structs, each a subset of the v10 one ---- */

static lcn_res_t lcn_props_v6(int dev, lcn_props_v6_t *p)
{
    lcn_props_v10_t q;
    lcn_res_t res = lcn_get_props(dev, &q);

    if (res != LCN_OK)
        return res;
    memset(p, 0, sizeof(*p));
    p->name = q.name;
    p->pci_path = q.pci_path;
    p->guid = q.guid;
    p->ptr_support = q.ptr_support;
    p->speed = q.speed;
    p->port = q.port;
    p->latency = q.latency;
    p->max_comms = q.max_comms;
    p->max_recvs = q.max_recvs;
    return LCN_OK;
}

static lcn_res_t lcn_props_v7(int dev, lcn_props_v7_t *p)
{
    lcn_props_v10_t q;
    lcn_res_t res = lcn_get_props(dev, &q);

    if (res != LCN_OK)
        return res;
    memset(p, 0, sizeof(*p));
    p->name = q.name;
    p->pci_path = q.pci_path;
    p->guid = q.guid;
    p->ptr_support = q.ptr_support;
    p->speed = q.speed;
    p->port = q.port;
    p->latency = q.latency;
    p->max_comms = q.max_comms;
    p->max_recvs = q.max_recvs;
    p->dev_type = q.dev_type;
    p->dev_version = q.dev_version;
    return LCN_OK;
}

static lcn_res_t lcn_props_v8(int dev, lcn_props_v8_t *p)
{
    lcn_props_v10_t q;
    lcn_res_t res = lcn_get_props(dev, &q);

    if (res != LCN_OK)
        return res;
    memset(p, 0, sizeof(*p));
    p->name = q.name;
    p->pci_path = q.pci_path;
    p->guid = q.guid;
    p->ptr_support = q.ptr_support;
    p->reg_is_global = q.reg_is_global;
    p->speed = q.speed;
    p->port = q.port;
    p->latency = q.latency;
    p->max_comms = q.max_comms;
    p->max_recvs = q.max_recvs;
    p->dev_type = q.dev_type;
    p->dev_version = q.dev_version;
    return LCN_OK;
}

/* ---- the exported tables ---- */

LCN_EXPORT const lcn_net_v10_t ncclNetPlugin_v10 = {
    .name = LCN_NAME,
    .init = lcn_init_v10,
    .devices = lcn_devices,
    .get_properties = lcn_get_props,
    .listen = lcn_listen,
    .connect = lcn_connect_v10,
    .accept = lcn_accept_v7,
    .reg_mr = lcn_reg_mr,
    .reg_mr_dmabuf = lcn_reg_mr_dmabuf,
    .dereg_mr = lcn_dereg_mr,
    .isend = lcn_isend_v10,
    .irecv = lcn_irecv_v10,
    .iflush = lcn_iflush,
    .test = lcn_test,
    .close_send = lcn_close_send,
    .close_recv = lcn_close_recv,
    .close_listen = lcn_close_listen,
    .get_device_mr = NULL,
    .irecv_consumed = NULL,
    .make_vdevice = NULL,
};

LCN_EXPORT const lcn_net_v9_t ncclNetPlugin_v9 = {
    .name = LCN_NAME,
    .init = lcn_init_v6,
    .devices = lcn_devices,
    .get_properties = lcn_get_props,
    .listen = lcn_listen,
    .connect = lcn_connect_v7,
    .accept = lcn_accept_v7,
    .reg_mr = lcn_reg_mr,
    .reg_mr_dmabuf = lcn_reg_mr_dmabuf,
    .dereg_mr = lcn_dereg_mr,
    .isend = lcn_isend_v9,
    .irecv = lcn_irecv_v9,
    .iflush = lcn_iflush,
    .test = lcn_test,
    .close_send = lcn_close_send,
    .close_recv = lcn_close_recv,
    .close_listen = lcn_close_listen,
    .get_device_mr = NULL,
    .irecv_consumed = NULL,
    .make_vdevice = NULL,
};

LCN_EXPORT const lcn_net_v8_t ncclNetPlugin_v8 = {
    .name = LCN_NAME,
    .init = lcn_init_v6,
    .devices = lcn_devices,
    .get_properties = lcn_props_v8,
    .listen = lcn_listen,
    .connect = lcn_connect_v7,
    .accept = lcn_accept_v7,
    .reg_mr = lcn_reg_mr,
    .reg_mr_dmabuf = lcn_reg_mr_dmabuf,
    .dereg_mr = lcn_dereg_mr,
    .isend = lcn_isend_int,
    .irecv = lcn_irecv_int,
    .iflush = lcn_iflush,
    .test = lcn_test,
    .close_send = lcn_close_send,
    .close_recv = lcn_close_recv,
    .close_listen = lcn_close_listen,
    .get_device_mr = NULL,
    .irecv_consumed = NULL,
};

LCN_EXPORT const lcn_net_v7_t ncclNetPlugin_v7 = {
    .name = LCN_NAME,
    .init = lcn_init_v6,
    .devices = lcn_devices,
    .get_properties = lcn_props_v7,
    .listen = lcn_listen,
    .connect = lcn_connect_v7,
    .accept = lcn_accept_v7,
    .reg_mr = lcn_reg_mr_int,
    .reg_mr_dmabuf = lcn_reg_mr_dmabuf,
    .dereg_mr = lcn_dereg_mr,
    .isend = lcn_isend_int,
    .irecv = lcn_irecv_int,
    .iflush = lcn_iflush,
    .test = lcn_test,
    .close_send = lcn_close_send,
    .close_recv = lcn_close_recv,
    .close_listen = lcn_close_listen,
    .get_device_mr = NULL,
    .irecv_consumed = NULL,
};

LCN_EXPORT const lcn_net_v6_t ncclNetPlugin_v6 = {
    .name = LCN_NAME,
    .init = lcn_init_v6,
    .devices = lcn_devices,
    .get_properties = lcn_props_v6,
    .listen = lcn_listen,
    .connect = lcn_connect,
    .accept = lcn_accept,
    .reg_mr = lcn_reg_mr_int,
    .reg_mr_dmabuf = lcn_reg_mr_dmabuf,
    .dereg_mr = lcn_dereg_mr,
    .isend = lcn_isend_int,
    .irecv = lcn_irecv_int,
    .iflush = lcn_iflush,
    .test = lcn_test,
    .close_send = lcn_close_send,
    .close_recv = lcn_close_recv,
    .close_listen = lcn_close_listen,
};
