/*
 * reth_dp.h - the datapath interface under the raweth protocol: an
 * interface description and an ops table that moves whole Ethernet frames.
 * Two implementations: AF_PACKET with TPACKET_V2 rings (reth_packet.c) and
 * AF_XDP (reth_xdp.c, built when libxdp is found).
 */
#ifndef RETH_DP_H
#define RETH_DP_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"

/* The Ethernet interface a context uses. */
typedef struct reth_iface {
    char name[IF_NAMESIZE];
    int ifindex;
    uint8_t mac[6];
    int mtu;
    int speed_mbps; /* 0 if unknown */
} reth_iface_t;

/* Datapath settings. */
typedef struct reth_dp_conf {
    size_t ring_bytes; /* receive ring size; the transmit ring gets half */
    int queue;         /* NIC queue (AF_XDP) */
} reth_dp_conf_t;

typedef struct reth_dp reth_dp_t;

/* Handles one received frame; frame stays valid only during the call. */
typedef void (*reth_rx_fn)(void *arg, const uint8_t *frame, size_t len);

typedef struct reth_dp_ops {
    const char *name;
    /* Open the datapath on ifc; logs and returns -EPERM, -ENOMEM, ... */
    int (*open)(const reth_iface_t *ifc, const reth_dp_conf_t *conf, reth_dp_t **dp);
    void (*close)(reth_dp_t *dp);
    /* Largest frame (Ethernet header included, FCS excluded) a slot holds. */
    size_t (*frame_max)(const reth_dp_t *dp);
    /* A slot for the next frame, or NULL while the transmit ring is full. */
    uint8_t *(*tx_buf)(reth_dp_t *dp);
    /* Queue the frame written into the slot from tx_buf. */
    void (*tx_commit)(reth_dp_t *dp, size_t len);
    /* Hand queued frames to the kernel. */
    void (*tx_flush)(reth_dp_t *dp);
    /* Call fn for received frames, up to about budget of them; returns how many. */
    int (*rx_poll)(reth_dp_t *dp, reth_rx_fn fn, void *arg, int budget);
    /* The fd to sleep on and its poll events: POLLIN, plus POLLOUT while frames wait for the ring. */
    int (*poll_fd)(reth_dp_t *dp, short *events);
} reth_dp_ops_t;

LC_HIDDEN extern const reth_dp_ops_t reth_dp_packet;
#ifdef RETH_HAVE_XDP
LC_HIDDEN extern const reth_dp_ops_t reth_dp_xdp;
#endif

/*
 * Find the interface: name, or (name NULL) the only non-loopback UP
 * interface, and only outside the initial network namespace. Checks that
 * it exists (-ENODEV), is up (-ENETDOWN) and has room for a frame
 * (-EMSGSIZE); each with its own message.
 */
LC_HIDDEN int reth_iface_find(const char *name, reth_iface_t *ifc);

#endif
