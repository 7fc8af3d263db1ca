/*
 * reth_xdp.c - the "xdp" datapath: an AF_XDP socket on queue 0 of the
 * interface with a UMEM of 4 KiB frames (half for receiving, half for
 * sending), fed by the embedded XDP program (reth_xdp_kern.c) that
 * redirects EtherType 0x88B5 to the socket and passes everything else.
 * It binds in copy mode with the program attached in generic (skb) mode,
 * which is what veth offers: the kernel copies each frame between its
 * skb and the UMEM, so there is no zero-copy on veth; a NIC driver with
 * AF_XDP zero-copy support would avoid that copy.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "reth_dp.h"
#include "reth_frame.h"
#include "reth_xdp.h"

#define RETH_XDP_FRAME 4096u
#define RETH_XDP_NFRAMES 4096u /* 16 MiB of UMEM */
#define RETH_XDP_RING 2048u
#define RETH_XDP_KICKS 64      /* sendto calls per flush (copy mode sends 32 frames per call) */
#define RETH_XDP_BUSY_WAIT 5.0 /* seconds open retries while the queue or interface is busy */

struct reth_dp {
    void *area;
    struct xsk_umem *umem;
    struct xsk_socket *xsk;
    struct xsk_ring_prod fq, tx;
    struct xsk_ring_cons cq, rx;
    struct bpf_object *obj;
    int link_fd;       /* the XDP attachment: released when closed, or when the process dies */
    uint64_t *free_tx; /* UMEM frames free for sending */
    uint32_t nfree;
    uint64_t cur;      /* the frame handed out by tx_buf */
    int have_cur, tx_pending;
    size_t frame_max;
};

static void reth_xdp_close(reth_dp_t *d)
{
    if (!d)
        return;
    if (d->xsk)
        xsk_socket__delete(d->xsk);
    if (d->umem)
        xsk_umem__delete(d->umem);
    if (d->link_fd >= 0)
        close(d->link_fd);
    if (d->obj)
        bpf_object__close(d->obj);
    if (d->area)
        munmap(d->area, (size_t)RETH_XDP_FRAME * RETH_XDP_NFRAMES);
    free(d->free_tx);
    free(d);
}

/* libbpf's messages go to the lioncub log (debug level) instead of stderr. */
__attribute__((format(printf, 2, 0))) static int reth_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    if (!lc_log_enabled(LC_LOG_DEBUG))
        return 0;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[n - 1] = 0;
    lc_log(LC_LOG_DEBUG, "raweth", "libbpf: %s", line);
    return 0;
}

/*
 * Load the embedded program and attach it in skb mode through a BPF link,
 * so that a killed process leaves no program behind; returns the XSKMAP fd
 * or an error.
 */
static int reth_xdp_attach(reth_dp_t *d, const reth_iface_t *ifc)
{
    struct bpf_program *prog;
    struct bpf_map *map;
    int rc;

    libbpf_set_print(reth_libbpf_log);
    d->obj = bpf_object__open_mem(reth_xdp_obj, (size_t)(reth_xdp_obj_end - reth_xdp_obj), NULL);
    if (!d->obj) {
        rc = -errno;
        d->obj = NULL;
        return lc_seterr(rc, "raweth", "xdp: cannot open the embedded XDP program: %s",
                         strerror(-rc));
    }
    if ((rc = bpf_object__load(d->obj)))
        return lc_seterr(rc == -EPERM ? -EPERM : rc, "raweth",
                         "xdp: loading the XDP program failed (%s)%s", strerror(-rc),
                         rc == -EPERM ? ": needs CAP_BPF and CAP_NET_ADMIN (or root)" : "");
    prog = bpf_object__find_program_by_name(d->obj, "reth_xdp_redirect");
    map = bpf_object__find_map_by_name(d->obj, "reth_xsks");
    if (!prog || !map)
        return lc_seterr(-ENOENT, "raweth", "xdp: the embedded object lacks its program or map");
    LIBBPF_OPTS(bpf_link_create_opts, lopts, .flags = XDP_FLAGS_SKB_MODE);
    d->link_fd = bpf_link_create(bpf_program__fd(prog), ifc->ifindex, BPF_XDP, &lopts);
    if (d->link_fd < 0) {
        rc = -errno;
        return lc_seterr(rc, "raweth", "xdp: attaching the XDP program to %s in skb mode failed "
                         "(%s)%s", ifc->name, strerror(-rc),
                         rc == -EBUSY || rc == -EEXIST ? ": another XDP program (or raweth "
                         "context) holds the interface" : "");
    }
    return bpf_map__fd(map);
}

static int reth_xdp_try_open(const reth_iface_t *ifc, const reth_dp_conf_t *conf, reth_dp_t **out)
{
    struct xsk_umem_config ucfg = {
        .fill_size = RETH_XDP_RING,
        .comp_size = RETH_XDP_RING,
        .frame_size = RETH_XDP_FRAME,
        .frame_headroom = 0,
    };
    struct xsk_socket_config scfg = {
        .rx_size = RETH_XDP_RING,
        .tx_size = RETH_XDP_RING,
        .libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = XDP_FLAGS_SKB_MODE,
        .bind_flags = XDP_COPY,
    };
    size_t len = (size_t)RETH_XDP_FRAME * RETH_XDP_NFRAMES;
    reth_dp_t *d = calloc(1, sizeof(*d));
    uint32_t idx = 0;
    int rc, mapfd;

    if (!d)
        return lc_seterr(-ENOMEM, "raweth", "out of memory");
    d->link_fd = -1;
    d->area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    d->free_tx = calloc(RETH_XDP_NFRAMES / 2, sizeof(uint64_t));
    if (d->area == MAP_FAILED || !d->free_tx) {
        d->area = d->area == MAP_FAILED ? NULL : d->area;
        rc = lc_seterr(-ENOMEM, "raweth", "xdp: no memory for a %zu-byte UMEM", len);
        goto fail;
    }
    if ((rc = xsk_umem__create(&d->umem, d->area, len, &d->fq, &d->cq, &ucfg))) {
        d->umem = NULL;
        rc = lc_seterr(rc == -EPERM ? -EPERM : rc, "raweth", "xdp: UMEM registration failed (%s)%s",
                       strerror(-rc), rc == -EPERM ? ": AF_XDP needs CAP_NET_RAW (or root)" : "");
        goto fail;
    }
    if ((mapfd = reth_xdp_attach(d, ifc)) < 0) {
        rc = mapfd;
        goto fail;
    }
    if ((rc = xsk_socket__create(&d->xsk, ifc->name, (uint32_t)conf->queue, d->umem, &d->rx,
                                 &d->tx, &scfg))) {
        d->xsk = NULL;
        rc = lc_seterr(rc, "raweth", "xdp: AF_XDP socket on %s queue %d (copy mode) failed: %s",
                       ifc->name, conf->queue, strerror(-rc));
        goto fail;
    }
    if ((rc = xsk_socket__update_xskmap(d->xsk, mapfd))) {
        rc = lc_seterr(rc, "raweth", "xdp: adding the socket to the XSKMAP failed: %s",
                       strerror(-rc));
        goto fail;
    }
    /* First half of the UMEM: receive buffers in the fill ring; second half: send buffers. */
    if (xsk_ring_prod__reserve(&d->fq, RETH_XDP_NFRAMES / 2, &idx) != RETH_XDP_NFRAMES / 2) {
        rc = lc_seterr(-ENOMEM, "raweth", "xdp: the fill ring is smaller than expected");
        goto fail;
    }
    for (uint32_t i = 0; i < RETH_XDP_NFRAMES / 2; i++)
        *xsk_ring_prod__fill_addr(&d->fq, idx + i) = (uint64_t)i * RETH_XDP_FRAME;
    xsk_ring_prod__submit(&d->fq, RETH_XDP_NFRAMES / 2);
    for (uint32_t i = 0; i < RETH_XDP_NFRAMES / 2; i++)
        d->free_tx[d->nfree++] = (uint64_t)(RETH_XDP_NFRAMES / 2 + i) * RETH_XDP_FRAME;
    d->frame_max = (size_t)ifc->mtu + RETH_ETH_HLEN;
    if (d->frame_max > RETH_XDP_FRAME - XDP_PACKET_HEADROOM)
        d->frame_max = RETH_XDP_FRAME - XDP_PACKET_HEADROOM;
    *out = d;
    return 0;
fail:
    reth_xdp_close(d);
    return rc;
}

/*
 * A process that just died (or closed its context) may still hold the queue:
 * the kernel releases an AF_XDP socket's UMEM and its XDP link from a work
 * queue, under the RTNL lock, so binding again gives EBUSY for a moment
 * (longer when namespaces are being torn down). Retry for a few seconds
 * before reporting it, so that a restarted job does not fail.
 */
static int reth_xdp_open(const reth_iface_t *ifc, const reth_dp_conf_t *conf, reth_dp_t **out)
{
    double end = lc_now() + RETH_XDP_BUSY_WAIT;
    int rc, tries = 0;

    while ((rc = reth_xdp_try_open(ifc, conf, out)) == -EBUSY && lc_now() < end) {
        tries++;
        usleep(20000);
    }
    if (tries)
        lc_log(rc ? LC_LOG_WARN : LC_LOG_INFO, "raweth",
               "xdp: %s was busy; %s after %d retries", ifc->name, rc ? "gave up" : "bound",
               tries);
    return rc;
}

static size_t reth_xdp_frame_max(const reth_dp_t *d)
{
    return d->frame_max;
}

/* Return frames the kernel finished sending to the free list. */
static void reth_xdp_reclaim(reth_dp_t *d)
{
    uint32_t idx = 0, n = xsk_ring_cons__peek(&d->cq, RETH_XDP_RING, &idx);

    for (uint32_t i = 0; i < n; i++)
        d->free_tx[d->nfree++] = *xsk_ring_cons__comp_addr(&d->cq, idx + i);
    if (n)
        xsk_ring_cons__release(&d->cq, n);
}

static uint8_t *reth_xdp_tx_buf(reth_dp_t *d)
{
    if (!d->have_cur) {
        if (d->nfree == 0)
            reth_xdp_reclaim(d);
        if (d->nfree == 0 || xsk_prod_nb_free(&d->tx, 1) < 1)
            return NULL;
        d->cur = d->free_tx[--d->nfree];
        d->have_cur = 1;
    }
    return (uint8_t *)xsk_umem__get_data(d->area, d->cur);
}

static void reth_xdp_tx_commit(reth_dp_t *d, size_t len)
{
    uint32_t idx = 0;

    /* tx_buf checked for room in the ring; nothing else produces into it. */
    xsk_ring_prod__reserve(&d->tx, 1, &idx);
    xsk_ring_prod__tx_desc(&d->tx, idx)->addr = d->cur;
    xsk_ring_prod__tx_desc(&d->tx, idx)->len = (uint32_t)len;
    xsk_ring_prod__submit(&d->tx, 1);
    d->have_cur = 0;
    d->tx_pending = 1;
}

static void reth_xdp_tx_flush(reth_dp_t *d)
{
    for (int i = 0; d->tx_pending && i < RETH_XDP_KICKS; i++) {
        if (sendto(xsk_socket__fd(d->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
            d->tx_pending = 0;
        else if (errno != EAGAIN && errno != EBUSY)
            break; /* e.g. ENOBUFS: frames stay queued for the next flush */
    }
    reth_xdp_reclaim(d);
}

static int reth_xdp_rx_poll(reth_dp_t *d, reth_rx_fn fn, void *arg, int budget)
{
    uint32_t idx = 0, fidx = 0, n = xsk_ring_cons__peek(&d->rx, (uint32_t)budget, &idx);

    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&d->rx, idx + i);
        fn(arg, xsk_umem__get_data(d->area, desc->addr), desc->len);
    }
    /* The fill ring has room for every frame the receive ring held. */
    xsk_ring_prod__reserve(&d->fq, n, &fidx);
    for (uint32_t i = 0; i < n; i++)
        *xsk_ring_prod__fill_addr(&d->fq, fidx + i) =
            xsk_umem__extract_addr(xsk_ring_cons__rx_desc(&d->rx, idx + i)->addr);
    xsk_ring_prod__submit(&d->fq, n);
    xsk_ring_cons__release(&d->rx, n);
    return (int)n;
}

static int reth_xdp_poll_fd(reth_dp_t *d, short *events)
{
    reth_xdp_reclaim(d);
    *events = POLLIN;
    if (d->tx_pending || d->nfree == 0)
        *events |= POLLOUT;
    return xsk_socket__fd(d->xsk);
}

const reth_dp_ops_t reth_dp_xdp = {
    .name = "xdp",
    .open = reth_xdp_open,
    .close = reth_xdp_close,
    .frame_max = reth_xdp_frame_max,
    .tx_buf = reth_xdp_tx_buf,
    .tx_commit = reth_xdp_tx_commit,
    .tx_flush = reth_xdp_tx_flush,
    .rx_poll = reth_xdp_rx_poll,
    .poll_fd = reth_xdp_poll_fd,
};
