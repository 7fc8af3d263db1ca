/* reth_frame.c - encode, decode and verify raweth frames (little-endian fields, MAC and CRC32C trailers). */
#include <errno.h>
#include <string.h>

#include "reth_crc32c.h"
#include "reth_frame.h"
#include "reth_mac.h"

static void reth_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void reth_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void reth_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t reth_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t reth_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t reth_get64(const uint8_t *p)
{
    return (uint64_t)reth_get32(p) | ((uint64_t)reth_get32(p + 4) << 32);
}

size_t reth_frame_encode(uint8_t *buf, reth_hdr_t *h, const void *payload, size_t len,
                         const reth_mackey_t *key)
{
    uint8_t *q = buf + RETH_ETH_HLEN;
    size_t flen = RETH_ETH_HLEN + RETH_HDR_LEN + len;

    h->version = RETH_VERSION;
    h->len = (uint16_t)len;
    memcpy(buf, h->dst_mac, 6);
    memcpy(buf + 6, h->src_mac, 6);
    buf[12] = RETH_ETHERTYPE >> 8;
    buf[13] = RETH_ETHERTYPE & 0xFF;
    q[0] = h->version;
    q[1] = h->type;
    reth_put16(q + 2, h->flags);
    reth_put16(q + 4, h->len);
    reth_put16(q + 6, h->window);
    reth_put64(q + 8, h->job_id);
    reth_put32(q + 16, (uint32_t)h->src_rank);
    reth_put32(q + 20, h->src_ep);
    reth_put32(q + 24, h->dst_ep);
    reth_put32(q + 28, h->src_conn);
    reth_put32(q + 32, h->dst_conn);
    reth_put32(q + 36, h->seq);
    reth_put32(q + 40, h->ack);
    reth_put32(q + 44, h->msg_len);
    reth_put64(q + 48, h->sack);
    reth_put32(q + 56, h->frag_off);
    reth_put32(q + 60, h->echo);
    if (len)
        memcpy(q + RETH_HDR_LEN, payload, len);
    reth_mac_tag(key, buf, RETH_ETH_HLEN + RETH_HDR_LEN, q + RETH_HDR_LEN, len, buf + flen);
    flen += RETH_MAC_LEN;
    reth_put32(buf + flen, reth_crc32c(0, buf, flen));
    return flen + RETH_CRC_LEN;
}

int reth_frame_verify(const uint8_t *buf, const reth_hdr_t *h, const reth_mackey_t *key)
{
    size_t hdr = RETH_ETH_HLEN + RETH_HDR_LEN;
    uint8_t tag[RETH_MAC_TAG_LEN], d = 0;

    reth_mac_tag(key, buf, hdr, buf + hdr, h->len, tag);
    for (int i = 0; i < RETH_MAC_TAG_LEN; i++) /* in constant time */
        d |= tag[i] ^ buf[hdr + h->len + i];
    return d ? -EACCES : 0;
}

void reth_frame_reseal(uint8_t *buf, size_t frame_len)
{
    size_t body = frame_len - RETH_CRC_LEN;

    reth_put32(buf + body, reth_crc32c(0, buf, body));
}

int reth_frame_decode(const uint8_t *buf, size_t len, reth_hdr_t *h, const uint8_t **payload)
{
    const uint8_t *q = buf + RETH_ETH_HLEN;
    size_t body;

    if (len < RETH_OVERHEAD || buf[12] != (RETH_ETHERTYPE >> 8) ||
        buf[13] != (RETH_ETHERTYPE & 0xFF) || q[0] != RETH_VERSION)
        return -EPROTO;
    h->len = reth_get16(q + 4);
    body = RETH_ETH_HLEN + RETH_HDR_LEN + (size_t)h->len + RETH_MAC_LEN;
    if (body + RETH_CRC_LEN > len)
        return -EPROTO;
    if (reth_crc32c(0, buf, body) != reth_get32(buf + body))
        return -EBADMSG;
    memcpy(h->dst_mac, buf, 6);
    memcpy(h->src_mac, buf + 6, 6);
    h->version = q[0];
    h->type = q[1];
    h->flags = reth_get16(q + 2);
    h->window = reth_get16(q + 6);
    h->job_id = reth_get64(q + 8);
    h->src_rank = (int32_t)reth_get32(q + 16);
    h->src_ep = reth_get32(q + 20);
    h->dst_ep = reth_get32(q + 24);
    h->src_conn = reth_get32(q + 28);
    h->dst_conn = reth_get32(q + 32);
    h->seq = reth_get32(q + 36);
    h->ack = reth_get32(q + 40);
    h->msg_len = reth_get32(q + 44);
    h->sack = reth_get64(q + 48);
    h->frag_off = reth_get32(q + 56);
    h->echo = reth_get32(q + 60);
    if (h->type < RETH_T_DATA || h->type > RETH_T_CONFIRM)
        return -EPROTO;
    if (h->type == RETH_T_DATA &&
        ((uint64_t)h->frag_off + h->len > h->msg_len || (h->len == 0 && h->msg_len != 0)))
        return -EPROTO;
    *payload = q + RETH_HDR_LEN;
    return 0;
}
