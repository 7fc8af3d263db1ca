/*
 * drv.h - the plugin driver's version-independent view of one exported
 * ncclNetPlugin_vN table (drv_net.c), used by plugin_driver.c.
 */
#ifndef LCN_DRV_H
#define LCN_DRV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "nccl_abi.h"

#define LCN_MAX_RECVS_DRV 8 /* buffers one grouped receive may carry */

/* In a function returning int: on a failed condition, say where and return -1. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "[%d] %s:%d: check failed: %s: ", (int)getpid(), __FILE__, __LINE__,   \
                    #cond);                                                                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

struct drv {
    int ver;         /* 6..10 */
    const void *tab; /* the dlsym'ed table */
};

/* Properties of every version, widened. */
struct drv_props {
    const char *name;
    const char *pci_path;
    uint64_t guid;
    int ptr_support, reg_is_global, speed, port, max_comms, max_recvs, dev_type;
    float latency;
    int vndevs, vdev0;
    size_t max_p2p;
};

const char *drv_name(const struct drv *d);
lcn_res_t drv_init(const struct drv *d, lcn_logger_t log);
lcn_res_t drv_devices(const struct drv *d, int *ndev);
lcn_res_t drv_props(const struct drv *d, int dev, struct drv_props *p);
lcn_res_t drv_listen(const struct drv *d, int dev, void *handle, void **lc);
lcn_res_t drv_connect(const struct drv *d, int dev, void *handle, void **sc);
lcn_res_t drv_accept(const struct drv *d, void *lc, void **rc);
lcn_res_t drv_reg_mr(const struct drv *d, void *comm, void *buf, size_t len, int type, void **mh);
lcn_res_t drv_reg_mr_dmabuf(const struct drv *d, void *comm, void *buf, size_t len, void **mh);
lcn_res_t drv_dereg_mr(const struct drv *d, void *comm, void *mh);
lcn_res_t drv_isend(const struct drv *d, void *sc, void *buf, size_t len, int tag, void *mh,
                    void **req);
lcn_res_t drv_irecv(const struct drv *d, void *rc, int n, void **bufs, const size_t *caps,
                    const int *tags, void **mhs, void **req);
lcn_res_t drv_iflush(const struct drv *d, void *rc, int n, void **bufs, int *sizes, void **mhs,
                     void **req);
lcn_res_t drv_test(const struct drv *d, void *req, int *done, int *sizes);
lcn_res_t drv_close_send(const struct drv *d, void *sc);
lcn_res_t drv_close_recv(const struct drv *d, void *rc);
lcn_res_t drv_close_listen(const struct drv *d, void *lc);

/* One receive (n buffers) and the n sends that fill it. */
struct drv_op {
    int n;
    size_t len[LCN_MAX_RECVS_DRV];
    int tag[LCN_MAX_RECVS_DRV];
    int order[LCN_MAX_RECVS_DRV]; /* the order the sender posts the buffers in */
};

/* drv_xfer.c */
int drv_schedule(int quick, struct drv_op *ops, int max);
int drv_run_recv(const struct drv *d, void *rc, const struct drv_op *ops, int nops);
int drv_run_send(const struct drv *d, void *sc, const struct drv_op *ops, int nops);
int drv_bench_send(const struct drv *d, void *sc, size_t size, int window, double secs,
                   double *mbps);
int drv_bench_recv(const struct drv *d, void *rc, size_t size, int window, double *mbps,
                   long *count);

#endif
