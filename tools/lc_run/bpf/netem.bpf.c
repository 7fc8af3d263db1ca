/* netem.bpf.c - lc_run's stand-in for sch_netem on kernels without it: a tc
 * classifier in direct-action mode on the clsact egress hook of a host's lc0.
 * Per frame, in netem's order: loss (TC_ACT_STOLEN), duplicate (a clone sent
 * back through this hook), corrupt (one random bit past the Ethernet header),
 * then the delay decision (redirect to the user-space delay line, which sends
 * the frame again marked LCR_NETEM_MARK_PASS). Built with clang -target bpf
 * and embedded in lc_run; the configuration comes from lcr_netem_cfg. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "netem_cfg.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct lcr_netem_cfg);
} lcr_netem_cfg SEC(".maps");

static __always_inline int lcr_chance(__u64 threshold)
{
    return (__u64)bpf_get_prandom_u32() < threshold;
}

/* Offset of the TCP/UDP checksum field when the frame is the first (or only)
 * fragment of IPv4 TCP or UDP, with *l4 set to the L4 header; else 0. */
static __always_inline __u32 lcr_l4_check(struct __sk_buff *skb, __u32 *l4, int *udp)
{
    struct iphdr ip;
    __be16 proto;

    if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)) < 0 ||
        proto != bpf_htons(ETH_P_IP) ||
        bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.ihl < 5 ||
        (ip.frag_off & bpf_htons(0x1fff)))
        return 0;
    *l4 = ETH_HLEN + ip.ihl * 4u;
    *udp = ip.protocol == IPPROTO_UDP;
    if (ip.protocol == IPPROTO_TCP)
        return *l4 + 16;
    if (ip.protocol == IPPROTO_UDP)
        return *l4 + 6;
    return 0;
}

/* Flip one random bit past the Ethernet header and leave the checksums
 * stating the original contents, so the receiver sees a corrupted frame as
 * it would after a bit error on the wire. A TCP/UDP checksum that the stack
 * has yet to fill in (CHECKSUM_PARTIAL: the field holds the pseudo-header
 * seed) is computed over the frame after this hook; moving the seed by the
 * opposite of the change makes that sum the one of the original data. On a
 * finished checksum the same call moves it away from the data as well, so
 * it never matches. A UDP checksum of 0 (none) stays 0. */
static __always_inline void lcr_corrupt(struct __sk_buff *skb)
{
    __u32 len = skb->len, rnd = bpf_get_prandom_u32(), off, l4 = 0, check;
    __u16 before, after; /* the byte's share of the 16-bit sum, in memory order */
    __be16 proto;
    __u8 b, nb;
    int udp = 0;

    /* ARP is spared: a flipped bit in an answer could poison the neighbour
     * cache for tens of seconds, an outage rather than a corrupted frame. */
    if (len <= ETH_HLEN || len > 0xffff || bpf_skb_load_bytes(skb, 12, &proto, 2) < 0 ||
        proto == bpf_htons(ETH_P_ARP))
        return;
    off = ETH_HLEN + (rnd >> 3) % (len - ETH_HLEN);
    if (bpf_skb_load_bytes(skb, off, &b, 1) < 0)
        return;
    nb = b ^ (__u8)(1u << (rnd & 7));
    if (bpf_skb_store_bytes(skb, off, &nb, 1, 0) < 0)
        return;
    /* The frame starts word aligned, so an even offset is a high byte. */
    before = bpf_htons(off & 1 ? b : (__u16)(b << 8));
    after = bpf_htons(off & 1 ? nb : (__u16)(nb << 8));
    check = lcr_l4_check(skb, &l4, &udp);
    if (check && off >= l4 && (off & ~1u) != check)
        bpf_l4_csum_replace(skb, check, after, before,
                            BPF_F_PSEUDO_HDR | sizeof(__u16) | (udp ? BPF_F_MARK_MANGLED_0 : 0));
}

SEC("tc")
int lcr_netem(struct __sk_buff *skb)
{
    __u32 key = 0;
    struct lcr_netem_cfg *c = bpf_map_lookup_elem(&lcr_netem_cfg, &key);
    int delayed;

    if (!c || skb->mark == LCR_NETEM_MARK_PASS)
        return TC_ACT_OK;
    if (skb->mark != LCR_NETEM_MARK_DUP) {
        /* Lost silently, as sch_netem does: TC_ACT_SHOT would return
         * NET_XMIT_DROP to the sender, and an AF_PACKET transmit ring then
         * sends the frame again at once, so raw frames were never lost. */
        if (lcr_chance(c->loss))
            return TC_ACT_STOLEN;
        if (lcr_chance(c->duplicate)) {
            __u32 mark = skb->mark;

            skb->mark = LCR_NETEM_MARK_DUP;
            bpf_clone_redirect(skb, skb->ifindex, 0);
            skb->mark = mark;
        }
    } else {
        skb->mark = 0;
    }
    if (lcr_chance(c->corrupt))
        lcr_corrupt(skb);
    if (!c->delay_ifindex)
        return TC_ACT_OK;
    delayed = lcr_chance(c->reorder);
    if (c->delay_all)
        delayed = !delayed;
    return delayed ? bpf_redirect(c->delay_ifindex, 0) : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
