/*
 * fault_forge.c - the campaign's frame forger: a host on lc_run's emulated
 * segment (a process in the switch namespace, with an AF_PACKET socket on
 * every port) that copies one raweth DATA frame in four it sees, and sends
 * it on through the bridge with its payload changed: half of them the same
 * frame with its payload inverted and its CRC fixed up (the MAC stays), half
 * the next frame of the stream (sequence number + 1) with new payload, framed
 * and MACed under a guessed key. A rank that accepts either returns a wrong
 * result with rc 0, which the campaign counts.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault.h"
#include "netns_check.h"
#include "reth_frame.h"

#define FC_FORGE_MAX 100000 /* frames per case */
#define FC_FORGE_S   60.0   /* seconds at most; the campaign kills it before */

/* Turn the frame of len bytes in f into a forgery in out; its length. */
static size_t fc_forge(uint8_t *f, const reth_hdr_t *h, const uint8_t *payload, uint8_t *out,
                       int variant)
{
    size_t len = RETH_OVERHEAD + h->len;
    reth_hdr_t nh = *h;
    static const uint8_t zero[RETH_MAC_KEY_LEN];
    reth_mackey_t guess;

    if (variant == 0) {
        for (size_t i = 0; i < h->len; i++)
            f[(size_t)(payload - f) + i] ^= 0xff;
        reth_frame_reseal(f, len);
        memcpy(out, f, len);
        return len;
    }
    reth_mackey_load(&guess, zero);
    nh.seq++;
    if (nh.frag_off + 2 * (size_t)h->len <= nh.msg_len)
        nh.frag_off += h->len;
    for (size_t i = 0; i < h->len; i++)
        f[(size_t)(payload - f) + i] ^= 0x5a;
    return reth_frame_encode(out, &nh, payload, h->len, &guess);
}

static void fc_forger(const fc_net_t *net)
{
    static uint8_t in[65536], out[65536 + RETH_OVERHEAD];
    struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(RETH_ETHERTYPE)};
    int fd, seen = 0;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (lc_test_enter_netns(net->sw))
        _exit(1);
    fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)); /* taps see a bridge port's frames */
    to.sll_ifindex = (int)if_nametoindex("br0"); /* lc_run's bridge: it forwards by address */
    if (fd < 0 || !to.sll_ifindex)
        _exit(1);
    for (double end = lc_now() + FC_FORGE_S; lc_now() < end && fc_sh->forged < FC_FORGE_MAX;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        struct sockaddr_ll from;
        socklen_t fl = sizeof(from);
        const uint8_t *payload;
        reth_hdr_t h;
        ssize_t n;
        size_t len;

        if (poll(&pfd, 1, 100) != 1)
            continue;
        n = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
        /* a frame as it enters the switch from a host: not our own, nor its copy out */
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING || from.sll_ifindex == to.sll_ifindex ||
            reth_frame_decode(in, (size_t)n, &h, &payload) || h.type != RETH_T_DATA || h.len == 0 ||
            seen++ % 4)
            continue;
        len = fc_forge(in, &h, payload, out, fc_sh->forged % 2);
        memcpy(to.sll_addr, out, 6);
        to.sll_halen = 6;
        if (sendto(fd, out, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
            fc_sh->forged++;
    }
    _exit(0);
}

pid_t fc_forger_start(const fc_net_t *net)
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == 0)
        fc_forger(net);
    return pid;
}
