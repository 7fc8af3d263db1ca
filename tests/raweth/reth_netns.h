/*
 * reth_netns.h - a private two-host network for the raweth tests: two new
 * network namespaces joined by a veth pair (link-local addresses), with
 * optional netem impairments; removed at exit, also after a failure or a
 * signal. Nothing is created in or sent to the initial namespace.
 */
#ifndef RETH_NETNS_H
#define RETH_NETNS_H

typedef struct reth_net {
    char ns[2][32];  /* namespace names */
    char dev[2][16]; /* veth ends, dev[i] lives in ns[i] */
} reth_net_t;

/* Create the network; 77 when not permitted (prints why), 0 or -1. */
int reth_net_up(reth_net_t *net);
/* Remove it (idempotent; also runs at exit and on SIGINT/SIGTERM). */
void reth_net_down(void);
/* Apply "tc qdisc ... netem ARGS" on both ends; -1 when netem is unavailable. */
int reth_net_netem(const reth_net_t *net, const char *args);
/* Set the MTU of both ends; -1 on failure. */
int reth_net_mtu(const reth_net_t *net, int mtu);
/* Apply rate shaping (tbf) on both ends; -1 on failure. */
int reth_net_shape(const reth_net_t *net, const char *rate);
/* Set the MTU of the first veth end; bring it down or up (from any namespace). */
int reth_sh_mtu(const reth_net_t *net, int mtu);
int reth_sh_down(const reth_net_t *net);
int reth_sh_up(const reth_net_t *net);
/* Move the calling process into namespace i; 0 or -1. */
int reth_net_enter(const reth_net_t *net, int i);

#endif
