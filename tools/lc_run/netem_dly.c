/* netem_dly.c - the delay line of lc_run's netem emulation: a process in a
 * host namespace that takes the frames the classifier redirected to lcd0
 * (they arrive on its peer lcd1), holds each for a fixed time in a FIFO, and
 * sends it on lc0 with skb->mark LCR_NETEM_MARK_PASS so the classifier lets
 * it through to the tbf shaper. virtio-net headers carry a checksum the
 * stack has still to fill in (CHECKSUM_PARTIAL) across the trip. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#include "netem.h"
#include "bpf/netem_cfg.h"

#define LCR_DLY_MEM_MAX (64u << 20) /* bytes of queued frames at most */

typedef struct lcr_dly {
    int rx, tx;
    size_t slot, cap, head, count; /* ring of cap slots of slot bytes */
    unsigned char *buf;
    size_t *len;
    uint64_t *due;
} lcr_dly_t;

static uint64_t lcr_dly_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int lcr_dly_socket(const char *dev, int proto, int mark)
{
    struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons((uint16_t)proto)};
    int one = 1, big = 8 << 20, fd;

    a.sll_ifindex = (int)if_nametoindex(dev);
    if (!a.sll_ifindex)
        return -errno;
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
        (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) ||
        (proto && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0) ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    return fd;
}

/* Take every frame waiting on rx; each is due delay_ns from now. A full
 * queue drops, as netem does past its limit. */
static void lcr_dly_take(lcr_dly_t *d, uint64_t delay_ns)
{
    unsigned char spill[64];

    for (;;) {
        size_t i = (d->head + d->count) % d->cap;
        int full = d->count == d->cap;
        ssize_t n = full ? recv(d->rx, spill, sizeof(spill), MSG_DONTWAIT)
                         : recv(d->rx, d->buf + i * d->slot, d->slot, MSG_DONTWAIT | MSG_TRUNC);

        if (n < 0)
            return;
        /* Dropped: past the limit, or larger than a frame of the MTU. */
        if (full || n <= (ssize_t)sizeof(struct virtio_net_hdr) || (size_t)n > d->slot)
            continue;
        d->len[i] = (size_t)n;
        d->due[i] = lcr_dly_now() + delay_ns;
        d->count++;
    }
}

/* Send every frame that is due; @return ns until the next one, or -1. */
static int64_t lcr_dly_give(lcr_dly_t *d)
{
    while (d->count) {
        uint64_t now = lcr_dly_now();
        size_t i = d->head;

        if (d->due[i] > now)
            return (int64_t)(d->due[i] - now);
        /* A full shaper queue drops the frame, as it would drop netem's. */
        if (send(d->tx, d->buf + i * d->slot, d->len[i], 0) < 0 && errno == EINTR)
            continue;
        d->head = (d->head + 1) % d->cap;
        d->count--;
    }
    return -1;
}

int lcr_dly_run(const char *in, const char *out, uint64_t delay_ns, int limit, int mtu,
                int ready_fd)
{
    lcr_dly_t d = {.rx = -1, .tx = -1};
    int rc = 0;

    prctl(PR_SET_NAME, "lc_run-delay");
    d.slot = sizeof(struct virtio_net_hdr) + (size_t)mtu + ETH_HLEN + 4;
    d.cap = (size_t)limit;
    if (d.cap * d.slot > LCR_DLY_MEM_MAX)
        d.cap = LCR_DLY_MEM_MAX / d.slot;
    d.buf = malloc(d.cap * d.slot);
    d.len = calloc(d.cap, sizeof(*d.len));
    d.due = calloc(d.cap, sizeof(*d.due));
    if (!d.buf || !d.len || !d.due) {
        rc = -ENOMEM;
        goto out;
    }
    d.tx = lcr_dly_socket(out, 0, (int)LCR_NETEM_MARK_PASS);
    if (d.tx < 0) {
        rc = d.tx;
        goto out;
    }
    d.rx = lcr_dly_socket(in, ETH_P_ALL, 0);
    if (d.rx < 0) {
        rc = d.rx;
        goto out;
    }
    if (write(ready_fd, &rc, sizeof(rc)) != (ssize_t)sizeof(rc)) {
        rc = -EPIPE;
        goto out;
    }
    close(ready_fd);
    ready_fd = -1;
    for (;;) {
        int64_t wait = lcr_dly_give(&d);
        struct timespec ts = {.tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000};
        struct pollfd p = {.fd = d.rx, .events = POLLIN};

        if (ppoll(&p, 1, wait < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        lcr_dly_take(&d, delay_ns);
    }
out:
    if (d.rx >= 0)
        close(d.rx);
    if (d.tx >= 0)
        close(d.tx);
    free(d.buf);
    free(d.len);
    free(d.due);
    return rc;
}
