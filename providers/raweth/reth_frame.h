/*
 * reth_frame.h - the raweth wire format: Ethernet header, lioncub header,
 * payload, MAC, CRC32C. The MAC is AES-GCM-SIV's 16-byte tag (reth_mac.h) with
 * the Ethernet and lioncub headers as associated data and the payload as the
 * message, keyed per connection (a session key both ends derive from the job's
 * key and their fresh nonces) or, for a SYN, with the context's control key;
 * the CRC covers everything before it and catches noise before the MAC is
 * computed.
 */
#ifndef RETH_FRAME_H
#define RETH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"
#include "reth_mac.h"

#define RETH_ETHERTYPE 0x88B5 /* IEEE 802 local experimental EtherType 1 */
#define RETH_VERSION 3
#define RETH_ETH_HLEN 14
#define RETH_HDR_LEN 64
#define RETH_MAC_LEN RETH_MAC_TAG_LEN
#define RETH_CRC_LEN 4
/* Bytes of a frame that are not payload (the MTU excludes the Ethernet header). */
#define RETH_OVERHEAD (RETH_ETH_HLEN + RETH_HDR_LEN + RETH_MAC_LEN + RETH_CRC_LEN)
/* Payload of SYN and SYNACK: the sender's nonce. */
#define RETH_NONCE_LEN 16

/* Frame types. */
enum reth_type {
    RETH_T_DATA = 1,   /* a fragment of a message */
    RETH_T_ACK = 2,    /* cumulative + selective ack and window update */
    RETH_T_SYN = 3,    /* connect request to a listen id */
    RETH_T_SYNACK = 4, /* accept reply: carries the receiver's connection id */
    RETH_T_FIN = 5,    /* sender closed after seq */
    RETH_T_PING = 6,   /* keepalive from an idle sender */
    RETH_T_CONFIRM = 7, /* connector, under the session key: proves it, completing accept */
};

/* The decoded lioncub header (host order). */
typedef struct reth_hdr {
    uint8_t dst_mac[6], src_mac[6];
    uint8_t version, type;
    uint16_t flags;
    uint16_t len;       /* payload bytes in this frame */
    uint16_t window;    /* receiver window in frames (ACK, SYN, SYNACK) */
    uint64_t job_id;
    int32_t src_rank;
    uint32_t src_ep, dst_ep;     /* endpoint (context) ids */
    uint32_t src_conn, dst_conn; /* connection ids at each end */
    uint32_t seq;       /* DATA: frame sequence number; FIN: the next seq */
    uint32_t ack;       /* ACK: every seq before this one arrived */
    uint32_t msg_len;   /* DATA: length of the whole message */
    uint64_t sack;      /* ACK: bit i set = seq ack+1+i arrived */
    uint32_t frag_off;  /* DATA: offset of this fragment in its message; SYN/SYNACK: max payload */
    uint32_t echo;      /* ACK: seq of the newest DATA frame that arrived (an RTT sample) */
} reth_hdr_t;

/*
 * Write the Ethernet and lioncub headers of h, copy len bytes of payload
 * (h->len is set to len) and append the MAC under key and the CRC32C. buf
 * must hold RETH_OVERHEAD + len bytes. Returns the frame length.
 */
LC_HIDDEN size_t reth_frame_encode(uint8_t *buf, reth_hdr_t *h, const void *payload, size_t len,
                                   const reth_mackey_t *key);

/* 0 when the MAC of a decoded frame (h from reth_frame_decode) is valid under key. */
LC_HIDDEN int reth_frame_verify(const uint8_t *buf, const reth_hdr_t *h, const reth_mackey_t *key);

/*
 * Parse a received frame of len bytes (trailing Ethernet padding allowed).
 * Returns 0 with *h and *payload set, -EPROTO for a frame that is not a
 * lioncub frame of this version (short, wrong EtherType, version, type or
 * length), -EBADMSG when the CRC does not match.
 */
LC_HIDDEN int reth_frame_decode(const uint8_t *buf, size_t len, reth_hdr_t *h,
                                const uint8_t **payload);

/* Recompute the trailing CRC of an encoded frame (after editing it: the MAC stays, so
 * an edited frame still fails reth_frame_verify). */
LC_HIDDEN void reth_frame_reseal(uint8_t *buf, size_t frame_len);

#endif
