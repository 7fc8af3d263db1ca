/*
 * nccl_abi.h - lioncub's own declarations of the binary interface NCCL uses
 * to load a network plugin (the "ext-net" ABI, versions 6 to 10): result
 * codes, the logger callback, the device property structs and the function
 * tables a plugin exports as ncclNetPlugin_vN. Names are ours; layouts,
 * member order and signatures follow NCCL's published ABI exactly, and the
 * static assertions at the end pin the x86_64/aarch64 (LP64) offsets.
 *
 * Version history, as far as it matters here:
 *  v6: base table; int sizes everywhere; connect/accept without device comms.
 *  v7: props gain netDeviceType/netDeviceVersion; connect/accept gain a
 *      device-comm out argument; getDeviceMr and irecvConsumed appended.
 *  v8: props gain regIsGlobal (after ptrSupport); regMr takes a size_t.
 *  v9: props gain forceFlush (after regIsGlobal), vProps, maxP2pBytes and
 *      maxCollBytes; isend/irecv sizes become size_t (test and iflush keep
 *      int); makeVDevice appended.
 *  v10: init gains a profiler callback, connect a comm config (traffic
 *      class), isend/irecv a profiler handle per message.
 */
#ifndef LCN_NCCL_ABI_H
#define LCN_NCCL_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Result codes (ncclResult_t). */
typedef enum {
    LCN_OK = 0,
    LCN_ERR_CUDA = 1,
    LCN_ERR_SYSTEM = 2,
    LCN_ERR_INTERNAL = 3,
    LCN_ERR_ARG = 4,
    LCN_ERR_USAGE = 5,
    LCN_ERR_REMOTE = 6,
} lcn_res_t;

/* Logger levels and subsystem flags (ncclDebugLogLevel, ncclDebugLogSubSys). */
enum {
    LCN_LOG_NONE = 0,
    LCN_LOG_VERSION = 1,
    LCN_LOG_WARN = 2,
    LCN_LOG_INFO = 3,
    LCN_LOG_ABORT = 4,
    LCN_LOG_TRACE = 5
};
#define LCN_SUBSYS_INIT 0x1UL
#define LCN_SUBSYS_NET  0x10UL

typedef void (*lcn_logger_t)(int level, unsigned long flags, const char *file, int line,
                             const char *fmt, ...);
typedef lcn_res_t (*lcn_prof_cb_t)(void **ev, int type, void *phandle, int64_t plugin_id,
                                   void *ext);

#define LCN_HANDLE_MAX       128 /* NCCL_NET_HANDLE_MAXSIZE */
#define LCN_PTR_HOST         0x1
#define LCN_PTR_CUDA         0x2
#define LCN_PTR_DMABUF       0x4
#define LCN_DEV_HOST         0 /* netDeviceType: no device offload */
#define LCN_DEV_VERSION_NONE 0 /* netDeviceVersion with no offload */
#define LCN_VDEV_MAX         4 /* devices per virtual NIC in v9/v10 */

/* Device offload handle (only passed through; this plugin never offloads). */
typedef struct {
    int type;
    int version;
    void *handle;
    size_t size;
    int needs_proxy_progress;
} lcn_dev_handle_t;

typedef struct {
    char *name;
    char *pci_path;
    uint64_t guid;
    int ptr_support;
    int speed;
    int port;
    float latency;
    int max_comms;
    int max_recvs;
} lcn_props_v6_t;

typedef struct {
    char *name;
    char *pci_path;
    uint64_t guid;
    int ptr_support;
    int speed;
    int port;
    float latency;
    int max_comms;
    int max_recvs;
    int dev_type;
    int dev_version;
} lcn_props_v7_t;

typedef struct {
    char *name;
    char *pci_path;
    uint64_t guid;
    int ptr_support;
    int reg_is_global;
    int speed;
    int port;
    float latency;
    int max_comms;
    int max_recvs;
    int dev_type;
    int dev_version;
} lcn_props_v8_t;

typedef struct {
    int ndevs;
    int devs[LCN_VDEV_MAX];
} lcn_vprops_t;

/* v9 and v10 share this layout. */
typedef struct {
    char *name;
    char *pci_path;
    uint64_t guid;
    int ptr_support;
    int reg_is_global;
    int force_flush;
    int speed;
    int port;
    float latency;
    int max_comms;
    int max_recvs;
    int dev_type;
    int dev_version;
    lcn_vprops_t vprops;
    size_t max_p2p_bytes;
    size_t max_coll_bytes;
} lcn_props_v9_t;
typedef lcn_props_v9_t lcn_props_v10_t;

typedef struct {
    int traffic_class;
} lcn_comm_config_t;

typedef struct {
    const char *name;
    lcn_res_t (*init)(lcn_logger_t log);
    lcn_res_t (*devices)(int *ndev);
    lcn_res_t (*get_properties)(int dev, lcn_props_v6_t *props);
    lcn_res_t (*listen)(int dev, void *handle, void **listen_comm);
    lcn_res_t (*connect)(int dev, void *handle, void **send_comm);
    lcn_res_t (*accept)(void *listen_comm, void **recv_comm);
    lcn_res_t (*reg_mr)(void *comm, void *data, int size, int type, void **mh);
    lcn_res_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset,
                               int fd, void **mh);
    lcn_res_t (*dereg_mr)(void *comm, void *mh);
    lcn_res_t (*isend)(void *send_comm, void *data, int size, int tag, void *mh, void **req);
    lcn_res_t (*irecv)(void *recv_comm, int n, void **data, int *sizes, int *tags, void **mhs,
                       void **req);
    lcn_res_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
    lcn_res_t (*test)(void *req, int *done, int *sizes);
    lcn_res_t (*close_send)(void *send_comm);
    lcn_res_t (*close_recv)(void *recv_comm);
    lcn_res_t (*close_listen)(void *listen_comm);
} lcn_net_v6_t;

typedef struct {
    const char *name;
    lcn_res_t (*init)(lcn_logger_t log);
    lcn_res_t (*devices)(int *ndev);
    lcn_res_t (*get_properties)(int dev, lcn_props_v7_t *props);
    lcn_res_t (*listen)(int dev, void *handle, void **listen_comm);
    lcn_res_t (*connect)(int dev, void *handle, void **send_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*accept)(void *listen_comm, void **recv_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*reg_mr)(void *comm, void *data, int size, int type, void **mh);
    lcn_res_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset,
                               int fd, void **mh);
    lcn_res_t (*dereg_mr)(void *comm, void *mh);
    lcn_res_t (*isend)(void *send_comm, void *data, int size, int tag, void *mh, void **req);
    lcn_res_t (*irecv)(void *recv_comm, int n, void **data, int *sizes, int *tags, void **mhs,
                       void **req);
    lcn_res_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
    lcn_res_t (*test)(void *req, int *done, int *sizes);
    lcn_res_t (*close_send)(void *send_comm);
    lcn_res_t (*close_recv)(void *recv_comm);
    lcn_res_t (*close_listen)(void *listen_comm);
    lcn_res_t (*get_device_mr)(void *comm, void *mh, void **dptr_mh);
    lcn_res_t (*irecv_consumed)(void *recv_comm, int n, void *req);
} lcn_net_v7_t;

typedef struct {
    const char *name;
    lcn_res_t (*init)(lcn_logger_t log);
    lcn_res_t (*devices)(int *ndev);
    lcn_res_t (*get_properties)(int dev, lcn_props_v8_t *props);
    lcn_res_t (*listen)(int dev, void *handle, void **listen_comm);
    lcn_res_t (*connect)(int dev, void *handle, void **send_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*accept)(void *listen_comm, void **recv_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*reg_mr)(void *comm, void *data, size_t size, int type, void **mh);
    lcn_res_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset,
                               int fd, void **mh);
    lcn_res_t (*dereg_mr)(void *comm, void *mh);
    lcn_res_t (*isend)(void *send_comm, void *data, int size, int tag, void *mh, void **req);
    lcn_res_t (*irecv)(void *recv_comm, int n, void **data, int *sizes, int *tags, void **mhs,
                       void **req);
    lcn_res_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
    lcn_res_t (*test)(void *req, int *done, int *sizes);
    lcn_res_t (*close_send)(void *send_comm);
    lcn_res_t (*close_recv)(void *recv_comm);
    lcn_res_t (*close_listen)(void *listen_comm);
    lcn_res_t (*get_device_mr)(void *comm, void *mh, void **dptr_mh);
    lcn_res_t (*irecv_consumed)(void *recv_comm, int n, void *req);
} lcn_net_v8_t;

typedef struct {
    const char *name;
    lcn_res_t (*init)(lcn_logger_t log);
    lcn_res_t (*devices)(int *ndev);
    lcn_res_t (*get_properties)(int dev, lcn_props_v9_t *props);
    lcn_res_t (*listen)(int dev, void *handle, void **listen_comm);
    lcn_res_t (*connect)(int dev, void *handle, void **send_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*accept)(void *listen_comm, void **recv_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*reg_mr)(void *comm, void *data, size_t size, int type, void **mh);
    lcn_res_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset,
                               int fd, void **mh);
    lcn_res_t (*dereg_mr)(void *comm, void *mh);
    lcn_res_t (*isend)(void *send_comm, void *data, size_t size, int tag, void *mh, void **req);
    lcn_res_t (*irecv)(void *recv_comm, int n, void **data, size_t *sizes, int *tags, void **mhs,
                       void **req);
    lcn_res_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
    lcn_res_t (*test)(void *req, int *done, int *sizes);
    lcn_res_t (*close_send)(void *send_comm);
    lcn_res_t (*close_recv)(void *recv_comm);
    lcn_res_t (*close_listen)(void *listen_comm);
    lcn_res_t (*get_device_mr)(void *comm, void *mh, void **dptr_mh);
    lcn_res_t (*irecv_consumed)(void *recv_comm, int n, void *req);
    lcn_res_t (*make_vdevice)(int *dev, lcn_vprops_t *props);
} lcn_net_v9_t;

typedef struct {
    const char *name;
    lcn_res_t (*init)(lcn_logger_t log, lcn_prof_cb_t prof);
    lcn_res_t (*devices)(int *ndev);
    lcn_res_t (*get_properties)(int dev, lcn_props_v10_t *props);
    lcn_res_t (*listen)(int dev, void *handle, void **listen_comm);
    lcn_res_t (*connect)(int dev, lcn_comm_config_t *config, void *handle, void **send_comm,
                         lcn_dev_handle_t **dev_comm);
    lcn_res_t (*accept)(void *listen_comm, void **recv_comm, lcn_dev_handle_t **dev_comm);
    lcn_res_t (*reg_mr)(void *comm, void *data, size_t size, int type, void **mh);
    lcn_res_t (*reg_mr_dmabuf)(void *comm, void *data, size_t size, int type, uint64_t offset,
                               int fd, void **mh);
    lcn_res_t (*dereg_mr)(void *comm, void *mh);
    lcn_res_t (*isend)(void *send_comm, void *data, size_t size, int tag, void *mh, void *phandle,
                       void **req);
    lcn_res_t (*irecv)(void *recv_comm, int n, void **data, size_t *sizes, int *tags, void **mhs,
                       void **phandles, void **req);
    lcn_res_t (*iflush)(void *recv_comm, int n, void **data, int *sizes, void **mhs, void **req);
    lcn_res_t (*test)(void *req, int *done, int *sizes);
    lcn_res_t (*close_send)(void *send_comm);
    lcn_res_t (*close_recv)(void *recv_comm);
    lcn_res_t (*close_listen)(void *listen_comm);
    lcn_res_t (*get_device_mr)(void *comm, void *mh, void **dptr_mh);
    lcn_res_t (*irecv_consumed)(void *recv_comm, int n, void *req);
    lcn_res_t (*make_vdevice)(int *dev, lcn_vprops_t *props);
} lcn_net_v10_t;

/* Layout checks against the ABI's LP64 offsets (worked out by hand from the
 * member lists; a mismatch here means NCCL would read garbage). */
#if defined(__LP64__)
_Static_assert(sizeof(lcn_props_v6_t) == 48, "v6 props size");
_Static_assert(offsetof(lcn_props_v6_t, max_recvs) == 44, "v6 maxRecvs");
_Static_assert(sizeof(lcn_props_v7_t) == 56, "v7 props size");
_Static_assert(offsetof(lcn_props_v7_t, dev_version) == 52, "v7 netDeviceVersion");
_Static_assert(sizeof(lcn_props_v8_t) == 64, "v8 props size");
_Static_assert(offsetof(lcn_props_v8_t, speed) == 32, "v8 speed");
_Static_assert(offsetof(lcn_props_v8_t, dev_version) == 56, "v8 netDeviceVersion");
_Static_assert(offsetof(lcn_props_v9_t, speed) == 36, "v9 speed");
_Static_assert(offsetof(lcn_props_v9_t, vprops) == 64, "v9 vProps");
_Static_assert(offsetof(lcn_props_v9_t, max_p2p_bytes) == 88, "v9 maxP2pBytes");
_Static_assert(sizeof(lcn_props_v9_t) == 104, "v9 props size");
_Static_assert(sizeof(lcn_dev_handle_t) == 32, "device handle size");
_Static_assert(sizeof(lcn_net_v6_t) == 17 * 8, "v6 table size");
_Static_assert(sizeof(lcn_net_v7_t) == 19 * 8, "v7 table size");
_Static_assert(sizeof(lcn_net_v8_t) == 19 * 8, "v8 table size");
_Static_assert(sizeof(lcn_net_v9_t) == 20 * 8, "v9 table size");
_Static_assert(sizeof(lcn_net_v10_t) == 20 * 8, "v10 table size");
_Static_assert(offsetof(lcn_net_v10_t, test) == 13 * 8, "v10 test slot");
#endif

#endif /* LCN_NCCL_ABI_H */
