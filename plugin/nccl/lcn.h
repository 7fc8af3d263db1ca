/*
 * lcn.h - internals of the NCCL net plugin (prefix lcn_): the one
 * implementation that every exported ABI version (lcn_abi.c) adapts to.
 *
 * The plugin maps NCCL devices onto the devices of the providers selected by
 * LC_PROVIDER and adds what the providers lack: tags, grouped receives and
 * the NCCL request model. The wire protocol (lcn_send.c, lcn_recv.c) is
 * described at the top of lcn_recv.c.
 */
#ifndef LCN_H
#define LCN_H

#include <stddef.h>

#include "lioncub/provider.h"
#include "nccl_abi.h"

#define LCN_NAME      "lioncub" /* the plugin's name as NCCL prints it (NCCL_NET) */
#define LCN_MAX_PROVS 4
#define LCN_MAX_DEVS  64
#define LCN_MAX_RECVS 8           /* receives one irecv may group (maxRecvs) */
#define LCN_MAX_REQS  64          /* requests in flight per comm (NCCL uses <= 32) */
#define LCN_HDR_SIZE  16          /* the per-message header: magic, tag, size */
#define LCN_EAGER_MAX 1024        /* payloads up to this size travel inside the header */
#define LCN_MAGIC     0x4c434e31u /* "LCN1" */

/* One NCCL device: a device of one provider context. */
struct lcn_dev {
    const lc_provider_t *prov;
    lc_prov_ctx_t *ctx;
    int local; /* the device index inside the provider */
    lc_prov_props_t props;
};

/* Kinds of the objects handed to NCCL, first member of each. */
enum { LCN_K_LISTEN = 0x4c31, LCN_K_SEND, LCN_K_RECV, LCN_K_SREQ, LCN_K_RREQ };

struct lcn_comm {
    int kind;
    struct lcn_dev *dev;
    lc_prov_comm_t *pc; /* the provider's comm */
};

/* A registration handed to NCCL as mhandle. */
struct lcn_mr {
    lc_prov_mr_t *pmh; /* the provider's handle, NULL if it has none */
};

/* lcn_net.c: setup, devices, connections, registration. */
lcn_res_t lcn_init(lcn_logger_t log);
lcn_res_t lcn_init_providers(const lc_provider_t *const *provs, int nprov, lcn_logger_t log);
void lcn_fini(void);
lcn_res_t lcn_devices(int *ndev);
lcn_res_t lcn_get_props(int dev, lcn_props_v10_t *props);
lcn_res_t lcn_listen(int dev, void *handle, void **listen_comm);
lcn_res_t lcn_connect(int dev, void *handle, void **send_comm);
lcn_res_t lcn_accept(void *listen_comm, void **recv_comm);
lcn_res_t lcn_close_listen(void *listen_comm);
lcn_res_t lcn_reg_mr(void *comm, void *data, size_t size, int type, void **mh);
lcn_res_t lcn_reg_mr_dmabuf(void *comm, void *data, size_t size, int type, uint64_t offset, int fd,
                            void **mh);
lcn_res_t lcn_dereg_mr(void *comm, void *mh);
lcn_res_t lcn_test(void *req, int *done, int *sizes);
lcn_res_t lcn_iflush(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
/* Map a negative errno / lc_error code to an NCCL result. */
lcn_res_t lcn_res(int rc);

/* lcn_send.c: send comms. */
int lcn_send_open(struct lcn_dev *dev, lc_prov_comm_t *pc, void **send_comm);
lcn_res_t lcn_isend(void *send_comm, void *data, size_t size, int tag, void *mh, void **req);
lcn_res_t lcn_send_test(void *req, int *done, int *sizes);
lcn_res_t lcn_close_send(void *send_comm);

/* lcn_recv.c: receive comms, tag matching, grouped receives. */
int lcn_recv_open(struct lcn_dev *dev, lc_prov_comm_t *pc, void **recv_comm);
lcn_res_t lcn_irecv(void *recv_comm, int n, void **data, const size_t *sizes, const int *tags,
                    void **mhs, void **req);
lcn_res_t lcn_recv_test(void *req, int *done, int *sizes);
lcn_res_t lcn_close_recv(void *recv_comm);

#endif /* LCN_H */
