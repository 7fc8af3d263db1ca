/*
 * reth_xdp_kern.c - the XDP program of raweth's "xdp" mode (built with
 * clang -target bpf and embedded in the library): frames with the lioncub
 * EtherType 0x88B5 go to the AF_XDP socket of their receive queue, every
 * other frame continues up the normal stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} reth_xsks SEC(".maps");

SEC("xdp")
int reth_xdp_redirect(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;

    if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(0x88B5))
        return XDP_PASS;
    /* XDP_PASS as well when no socket is bound to this queue. */
    return bpf_redirect_map(&reth_xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
