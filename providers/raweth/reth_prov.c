/* reth_prov.c - the raweth ops table, its parameters, and the device and registration ops. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reth.h"

static int reth_devices(lc_prov_ctx_t *ctx, int *ndev)
{
    if (!ctx || !ndev)
        return LC_EINVAL("raweth", "devices: NULL argument");
    *ndev = 1;
    return 0;
}

static int reth_get_props(lc_prov_ctx_t *p, int dev, lc_prov_props_t *out)
{
    reth_ctx_t *ctx = (reth_ctx_t *)p;
    char link[128], path[PATH_MAX];
    lc_prov_props_t pr = {.size = sizeof(pr)}, *props = &pr;

    if (!ctx || !out || dev != 0)
        return LC_EINVAL("raweth", "get_props: bad context, device %d or props", dev);
    snprintf(props->name, sizeof(props->name), "%s", ctx->ifc.name);
    snprintf(link, sizeof(link), "/sys/class/net/%s/device", ctx->ifc.name);
    if (realpath(link, path) && strlen(path) < sizeof(props->pci_path))
        memcpy(props->pci_path, path, strlen(path) + 1);
    for (int i = 0; i < 6; i++)
        props->guid = (props->guid << 8) | ctx->ifc.mac[i];
    props->speed_mbps = ctx->ifc.speed_mbps;
    props->port = 1;
    props->max_comms = RETH_MAX_CONNS;
    props->max_recvs = 1;
    props->reg_is_global = 1;
    props->max_msg_size = UINT32_MAX;
    return lc_struct_out(out, &pr, sizeof(pr), "lc_prov_props_t");
}

static int reth_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mh)
{
    if (!comm || !mh || (!buf && len))
        return LC_EINVAL("raweth", "reg_mr: bad arguments");
    /* Both datapaths copy each payload once into their ring or UMEM: nothing to pin. */
    *mh = &((reth_conn_t *)comm)->ctx->mr;
    return 0;
}

static int reth_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mh)
{
    return comm ? 0 : LC_EINVAL("raweth", "dereg_mr: NULL comm");
}

static const lc_param_t reth_params[] = {
    {"LC_RAWETH_IFNAME", LC_PARAM_STR, NULL,
     "Ethernet interface for raweth (unset: the only UP non-loopback interface, and only "
     "outside the initial network namespace)"},
    {"LC_RAWETH_MODE", LC_PARAM_STR, "packet",
     "raweth datapath: packet (AF_PACKET, TPACKET_V2 rings) or xdp (AF_XDP socket)"},
    {"LC_RAWETH_WINDOW", LC_PARAM_INT, "1024",
     "raweth frames in flight per connection (rounded up to a power of two, 16..32768)"},
    {"LC_RAWETH_RING", LC_PARAM_INT, "8M", "raweth receive ring bytes (transmit ring: half)"},
    {"LC_RAWETH_FAULT", LC_PARAM_STR, NULL,
     "raweth test impairments on sent frames, e.g. loss=0.01,dup=0.01,reorder=0.1,delay=5,"
     "corrupt=0.001,seed=1"},
    {NULL, 0, NULL, NULL},
};

const lc_provider_t lc_prov_raweth = {
    .size = sizeof(lc_provider_t),
    .name = "raweth",
    .params = reth_params,
    .init = reth_init,
    .fini = reth_fini,
    .devices = reth_devices,
    .get_props = reth_get_props,
    .listen = reth_listen,
    .connect = reth_connect,
    .accept = reth_accept,
    .reg_mr = reth_reg_mr,
    .dereg_mr = reth_dereg_mr,
    .isend = reth_isend,
    .irecv = reth_irecv,
    .test = reth_test,
    .close_send = reth_close_send,
    .close_recv = reth_close_recv,
    .close_listen = reth_close_listen,
    .wait = reth_wait,
    .progress = reth_progress_op,
};
