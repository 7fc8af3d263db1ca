/*
 * reth_packet.c - the "packet" datapath: one AF_PACKET socket bound to the
 * interface and the lioncub EtherType, with TPACKET_V2 receive and transmit
 * rings of fixed frame slots, both mmapped. V2 hands every received frame
 * to user space at once; V3's blocks are handed over only when full or
 * after the retire timer (at least 1 ms), which made every small message
 * wait about a millisecond. PACKET_QDISC_BYPASS stays off so that tc
 * shaping on the interface still applies. Transmit slots carry a
 * virtio_net_hdr (PACKET_VNET_HDR) so that each skb is a linear copy; the
 * option also puts one before each received frame, which the receive path
 * skips by reading at tp_mac (rxslot's 64 spare bytes hold it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "reth_dp.h"
#include "reth_frame.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define RETH_TX_DATA_OFF TPACKET_ALIGN(sizeof(struct tpacket2_hdr))

struct reth_dp {
    int fd;
    uint8_t *map;
    size_t map_len;
    struct tpacket_req rx, tx;
    uint8_t *tx_base;
    unsigned rx_cur; /* next receive frame slot */
    unsigned tx_cur; /* next transmit slot */
    int tx_pending;  /* slots marked for sending since the last flush */
    size_t vnet;     /* bytes of virtio_net_hdr before each transmitted frame (0: none) */
    size_t frame_max;
};

static size_t reth_pow2_at_least(size_t v)
{
    size_t p = 4096;

    while (p < v)
        p <<= 1;
    return p;
}

/* 1 when the running kernel is major.minor or later (older kernels accept
 * PACKET_VNET_HDR but send the header as the start of the frame). */
static int reth_kernel_at_least(int major, int minor)
{
    struct utsname u;
    int ma = 0, mi = 0;

    if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return 0;
    return ma > major || (ma == major && mi >= minor);
}

static int reth_packet_rings(reth_dp_t *d, const reth_iface_t *ifc, size_t ring_bytes)
{
    size_t frame = (size_t)ifc->mtu + RETH_ETH_HLEN;
    size_t rxslot = reth_pow2_at_least(frame + TPACKET2_HDRLEN + 64);
    size_t rxblk = rxslot > 65536 ? rxslot : 65536;
    size_t txslot = reth_pow2_at_least(frame + RETH_TX_DATA_OFF + d->vnet);
    size_t txblk = txslot > 65536 ? txslot : 65536;
    int v = TPACKET_V2;

    if (setsockopt(d->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)))
        return lc_seterr(-errno, "raweth", "PACKET_VERSION TPACKET_V2: %s", strerror(errno));
    d->rx.tp_block_size = (unsigned)rxblk;
    d->rx.tp_block_nr = (unsigned)(ring_bytes / rxblk < 8 ? 8 : ring_bytes / rxblk);
    d->rx.tp_frame_size = (unsigned)rxslot;
    d->rx.tp_frame_nr = d->rx.tp_block_nr * (unsigned)(rxblk / rxslot);
    if (setsockopt(d->fd, SOL_PACKET, PACKET_RX_RING, &d->rx, sizeof(d->rx)))
        return lc_seterr(-errno, "raweth", "PACKET_RX_RING (%u slots of %u B): %s",
                         d->rx.tp_frame_nr, d->rx.tp_frame_size, strerror(errno));
    d->tx.tp_block_size = (unsigned)txblk;
    d->tx.tp_block_nr = (unsigned)(ring_bytes / 2 / txblk < 4 ? 4 : ring_bytes / 2 / txblk);
    d->tx.tp_frame_size = (unsigned)txslot;
    d->tx.tp_frame_nr = d->tx.tp_block_nr * (unsigned)(txblk / txslot);
    if (setsockopt(d->fd, SOL_PACKET, PACKET_TX_RING, &d->tx, sizeof(d->tx)))
        return lc_seterr(-errno, "raweth", "PACKET_TX_RING (%u slots of %u B): %s",
                         d->tx.tp_frame_nr, d->tx.tp_frame_size, strerror(errno));
    d->map_len = (size_t)d->rx.tp_block_size * d->rx.tp_block_nr +
                 (size_t)d->tx.tp_block_size * d->tx.tp_block_nr;
    d->map = mmap(NULL, d->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, d->fd, 0);
    if (d->map == MAP_FAILED) {
        d->map = NULL;
        return lc_seterr(-errno, "raweth", "mmap of the packet rings (%zu B): %s", d->map_len,
                         strerror(errno));
    }
    d->tx_base = d->map + (size_t)d->rx.tp_block_size * d->rx.tp_block_nr;
    d->frame_max = frame;
    return 0;
}

static void reth_packet_close(reth_dp_t *d)
{
    if (!d)
        return;
    if (d->map)
        munmap(d->map, d->map_len);
    if (d->fd >= 0)
        close(d->fd);
    free(d);
}

static int reth_packet_open(const reth_iface_t *ifc, const reth_dp_conf_t *conf, reth_dp_t **out)
{
    struct sockaddr_ll sll;
    reth_dp_t *d = calloc(1, sizeof(*d));
    int one = 1, rc;

    if (!d)
        return lc_seterr(-ENOMEM, "raweth", "out of memory");
    d->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(RETH_ETHERTYPE));
    if (d->fd < 0) {
        rc = errno == EPERM || errno == EACCES
                 ? lc_seterr(-EPERM, "raweth",
                             "opening an AF_PACKET socket needs CAP_NET_RAW (run as root, in "
                             "lc_run --net, or give the program cap_net_raw)")
                 : lc_seterr(-errno, "raweth", "AF_PACKET socket: %s", strerror(errno));
        goto fail;
    }
    /* Our own transmitted frames would otherwise show up in the receive ring. */
    (void)setsockopt(d->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    /*
     * A virtio_net_hdr before each transmitted frame lets hdr_len say "copy
     * the whole frame into the skb": without it the skb points at the ring
     * pages, and the first veth (or any forwarding) must copy them into
     * freshly allocated pages anyway (skb_copy_ubufs), at a higher cost.
     */
    if (reth_kernel_at_least(4, 11) && /* tpacket_snd reads the header since 4.11 */
        !setsockopt(d->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
        d->vnet = sizeof(struct virtio_net_hdr);
    LC_INFO("raweth", "packet: transmit %s",
            d->vnet ? "with a virtio_net_hdr (linear skbs)" : "without a virtio_net_hdr");
    if ((rc = reth_packet_rings(d, ifc, conf->ring_bytes)))
        goto fail;
    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(RETH_ETHERTYPE);
    sll.sll_ifindex = ifc->ifindex;
    if (bind(d->fd, (struct sockaddr *)&sll, sizeof(sll))) {
        rc = lc_seterr(-errno, "raweth", "bind AF_PACKET socket to %s: %s", ifc->name,
                       strerror(errno));
        goto fail;
    }
    *out = d;
    return 0;
fail:
    reth_packet_close(d);
    return rc;
}

static size_t reth_packet_frame_max(const reth_dp_t *d)
{
    return d->frame_max;
}

static struct tpacket2_hdr *reth_tx_slot(reth_dp_t *d, unsigned i)
{
    return (struct tpacket2_hdr *)(d->tx_base + (size_t)i * d->tx.tp_frame_size);
}

static uint8_t *reth_packet_tx_buf(reth_dp_t *d)
{
    struct tpacket2_hdr *h = reth_tx_slot(d, d->tx_cur);
    uint32_t st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

    if (st & (TP_STATUS_SEND_REQUEST | TP_STATUS_SENDING))
        return NULL;
    return (uint8_t *)h + RETH_TX_DATA_OFF + d->vnet;
}

static void reth_packet_tx_commit(reth_dp_t *d, size_t len)
{
    struct tpacket2_hdr *h = reth_tx_slot(d, d->tx_cur);

    if (d->vnet) {
        struct virtio_net_hdr *v = (struct virtio_net_hdr *)((uint8_t *)h + RETH_TX_DATA_OFF);
        memset(v, 0, sizeof(*v));
        /* host order: af_packet reads it as legacy virtio. A frame over 64 KiB
         * (MTU 65535 and up) would be copied only in part, and still sent whole. */
        v->hdr_len = (__virtio16)len;
    }
    h->tp_len = (uint32_t)(len + d->vnet);
    __atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
    d->tx_cur = (d->tx_cur + 1) % d->tx.tp_frame_nr;
    d->tx_pending = 1;
}

static void reth_packet_tx_flush(reth_dp_t *d)
{
    /* Errors (a full qdisc or socket buffer) leave frames queued for the next flush. */
    if (d->tx_pending && send(d->fd, NULL, 0, MSG_DONTWAIT) >= 0)
        d->tx_pending = 0;
}

static int reth_packet_rx_poll(reth_dp_t *d, reth_rx_fn fn, void *arg, int budget)
{
    int n = 0;

    /* frame slots fill blocks exactly (block size is a multiple of the slot) */
    while (n < budget) {
        uint8_t *p = d->map + (size_t)d->rx_cur * d->rx.tp_frame_size;
        struct tpacket2_hdr *h = (struct tpacket2_hdr *)p;
        const struct sockaddr_ll *sll = (const struct sockaddr_ll *)(p + TPACKET_ALIGN(sizeof(*h)));

        if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
            break;
        if (sll->sll_pkttype != PACKET_OUTGOING)
            fn(arg, p + h->tp_mac, h->tp_snaplen);
        n++;
        __atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        d->rx_cur = (d->rx_cur + 1) % d->rx.tp_frame_nr;
    }
    return n;
}

static int reth_packet_poll_fd(reth_dp_t *d, short *events)
{
    *events = POLLIN;
    if (d->tx_pending || !reth_packet_tx_buf(d))
        *events |= POLLOUT;
    return d->fd;
}

const reth_dp_ops_t reth_dp_packet = {
    .name = "packet",
    .open = reth_packet_open,
    .close = reth_packet_close,
    .frame_max = reth_packet_frame_max,
    .tx_buf = reth_packet_tx_buf,
    .tx_commit = reth_packet_tx_commit,
    .tx_flush = reth_packet_tx_flush,
    .rx_poll = reth_packet_rx_poll,
    .poll_fd = reth_packet_poll_fd,
};
