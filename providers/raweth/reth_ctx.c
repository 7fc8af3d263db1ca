/* reth_ctx.c - raweth context: set-up, the connection table, frame dispatch and progress. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>

#include "reth.h"

/* Largest receive batch one progress call handles. */
#define RETH_RX_BUDGET 512
/* Longest sleep in reth_wait: the finest timer (fault delays, RTO) is a millisecond or more. */
#define RETH_WAIT_MAX_US 1000

static const reth_dp_ops_t *reth_pick_mode(const char *mode)
{
    if (!mode || !*mode || !strcmp(mode, "packet"))
        return &reth_dp_packet;
#ifdef RETH_HAVE_XDP
    if (!strcmp(mode, "xdp"))
        return &reth_dp_xdp;
#endif
    return NULL;
}

static int reth_ctx_params(reth_ctx_t *ctx, reth_dp_conf_t *conf)
{
    int64_t window = 1024, ring = 8 << 20, timeout = 60000;
    int rc;

    if ((rc = lc_param_int("LC_RAWETH_WINDOW", &window)) && rc != -ENOENT)
        return rc;
    if ((rc = lc_param_int("LC_RAWETH_RING", &ring)) && rc != -ENOENT)
        return rc;
    if ((rc = lc_param_int("LC_TIMEOUT", &timeout)) && rc != -ENOENT)
        return rc;
    if (window < 16 || window > 32768)
        return lc_seterr(LC_ERR_CONFIG, "raweth", "LC_RAWETH_WINDOW=%" PRId64
                         " is outside 16..32768 frames", window);
    if (ring < (1 << 20) || ring > ((int64_t)1 << 32))
        return lc_seterr(LC_ERR_CONFIG, "raweth", "LC_RAWETH_RING=%" PRId64
                         " is outside 1M..4G bytes", ring);
    ctx->window = 16;
    while (ctx->window < window)
        ctx->window <<= 1;
    ctx->timeout = timeout > 0 ? (double)timeout / 1000 : 60;
    conf->ring_bytes = (size_t)ring;
    conf->queue = 0;
    return 0;
}

int reth_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **out)
{
    const char *mode = lc_param_str("LC_RAWETH_MODE");
    reth_dp_conf_t conf;
    reth_ctx_t *ctx;
    size_t fmax;
    int rc;

    if (!out)
        return LC_EINVAL("raweth", "init: NULL context pointer");
    *out = NULL;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return lc_seterr(-ENOMEM, "raweth", "out of memory");
    lc_prov_obj_init(&ctx->base.obj, &lc_prov_raweth, LC_PROV_CTX);
    lc_prov_obj_init(&ctx->mr.obj, &lc_prov_raweth, LC_PROV_MR);
    ctx->job_id = opts ? opts->job_id : 0;
    if (opts && opts->size >= offsetof(lc_prov_init_opts_t, key) + sizeof(opts->key))
        memcpy(ctx->key, opts->key, sizeof(ctx->key));
    {
        uint8_t k[RETH_MAC_KEY_LEN];
        if ((rc = lc_prov_derive(ctx->key, "lioncub raweth control", NULL, 0, k, sizeof(k))))
            goto fail;
        reth_mackey_load(&ctx->ctl, k);
    }
    ctx->rank = opts ? opts->rank : -1;
    ctx->dpo = reth_pick_mode(mode);
    if (!ctx->dpo) {
        rc = lc_seterr(LC_ERR_CONFIG, "raweth",
                       "LC_RAWETH_MODE='%s': use 'packet' or 'xdp'%s", mode,
#ifdef RETH_HAVE_XDP
                       ""
#else
                       " (xdp is not built in: libxdp/libbpf were not found)"
#endif
        );
        goto fail;
    }
    if ((rc = reth_ctx_params(ctx, &conf)))
        goto fail;
    if ((rc = reth_fault_parse(lc_param_str("LC_RAWETH_FAULT"), &ctx->fault)))
        goto fail;
    if ((rc = reth_iface_find(lc_param_str("LC_RAWETH_IFNAME"), &ctx->ifc)))
        goto fail;
    if ((rc = ctx->dpo->open(&ctx->ifc, &conf, &ctx->dp)))
        goto fail;
    fmax = ctx->dpo->frame_max(ctx->dp);
    ctx->maxpay = (uint32_t)(fmax - RETH_OVERHEAD > 65535 ? 65535 : fmax - RETH_OVERHEAD);
    while (getrandom(&ctx->ep, sizeof(ctx->ep), 0) != sizeof(ctx->ep) || ctx->ep == 0)
        ;
    LC_INFO("raweth", "%s mode on %s (mtu %d, %02x:%02x:%02x:%02x:%02x:%02x), %u B per frame, "
            "window %u frames%s", ctx->dpo->name, ctx->ifc.name, ctx->ifc.mtu, ctx->ifc.mac[0],
            ctx->ifc.mac[1], ctx->ifc.mac[2], ctx->ifc.mac[3], ctx->ifc.mac[4], ctx->ifc.mac[5],
            ctx->maxpay, ctx->window, ctx->fault ? ", LC_RAWETH_FAULT impairments on" : "");
    *out = &ctx->base;
    return 0;
fail:
    reth_fault_free(ctx->fault);
    free(ctx);
    return rc;
}

static void reth_log_counters(const reth_ctx_t *ctx)
{
    const reth_counters_t *c = &ctx->cnt;

    LC_INFO("raweth", "counters %s: sent=%" PRIu64 " retransmitted=%" PRIu64 " received=%" PRIu64
            " dropped_crc=%" PRIu64 " dropped_job=%" PRIu64 " dropped_unknown=%" PRIu64
            " dropped_proto=%" PRIu64 " dropped_mac=%" PRIu64 " dups=%" PRIu64, ctx->ifc.name,
            c->sent, c->retransmitted, c->received, c->dropped_crc, c->dropped_job,
            c->dropped_unknown, c->dropped_proto, c->dropped_mac, c->dups);
}

void reth_fini(lc_prov_ctx_t *p)
{
    reth_ctx_t *ctx = (reth_ctx_t *)p;

    if (!ctx)
        return;
    for (double end = lc_now() + RETH_LINGER; lc_now() < end;) {
        int closing = 0;
        for (uint32_t i = 0; i < ctx->nconns; i++)
            closing |= ctx->conns[i] && ctx->conns[i]->closing;
        if (!closing)
            break;
        reth_progress(ctx);
    }
    reth_log_counters(ctx);
    while (ctx->done_head) { /* reported to nobody: their comms are closed */
        reth_req_t *r = ctx->done_head;

        ctx->done_head = r->next;
        free(r);
    }
    for (uint32_t i = 0; i < ctx->nconns; i++)
        if (ctx->conns[i])
            reth_conn_free(ctx->conns[i]);
    free(ctx->conns);
    ctx->dpo->close(ctx->dp);
    reth_fault_free(ctx->fault);
    free(ctx);
}

int reth_get_counters(void *p, reth_counters_t *out)
{
    if (!p || !out)
        return -EINVAL;
    *out = ((reth_ctx_t *)p)->cnt;
    return 0;
}

int reth_conn_new(reth_ctx_t *ctx, int kind, reth_conn_t **out)
{
    reth_conn_t *c;
    uint32_t idx;

    for (idx = 0; idx < ctx->nconns && ctx->conns[idx]; idx++)
        ;
    if (idx == ctx->nconns) {
        uint32_t n = ctx->nconns ? ctx->nconns * 2 : 16;
        reth_conn_t **t;
        if (idx >= RETH_MAX_CONNS)
            return lc_seterr(-ENOSPC, "raweth", "too many connections (%d)", RETH_MAX_CONNS);
        t = realloc(ctx->conns, n * sizeof(*t));
        if (!t)
            return lc_seterr(-ENOMEM, "raweth", "out of memory");
        memset(t + ctx->nconns, 0, (n - ctx->nconns) * sizeof(*t));
        ctx->conns = t;
        ctx->nconns = n;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return lc_seterr(-ENOMEM, "raweth", "out of memory");
    if (++ctx->gen == 0)
        ctx->gen = 1;
    lc_prov_obj_init(&c->base.obj, &lc_prov_raweth,
                     kind == RETH_K_LISTEN ? LC_PROV_LISTEN
                     : kind == RETH_K_SEND ? LC_PROV_SEND
                                           : LC_PROV_RECV);
    c->ctx = ctx;
    c->kind = kind;
    c->id = idx | ((uint32_t)ctx->gen << 16);
    c->maxpay = ctx->maxpay;
    c->t_heard = c->t_tx = lc_now();
    /* The window's byte floor is set from our MTU; a peer with a smaller one
     * (the SYNACK lowers maxpay) only makes it smaller in bytes. */
    if (kind == RETH_K_SEND &&
        reth_txwin_init(&c->tx, ctx->window, (uint32_t)ctx->ifc.mtu, c->t_heard))
        goto nomem;
    if (kind == RETH_K_RECV && reth_rxwin_init(&c->rx, ctx->window, ctx->maxpay))
        goto nomem;
    ctx->conns[idx] = c;
    *out = c;
    return 0;
nomem:
    free(c);
    return lc_seterr(-ENOMEM, "raweth", "out of memory for a connection window");
}

void reth_conn_free(reth_conn_t *c)
{
    reth_ctx_t *ctx = c->ctx;

    while (c->q_head) {
        reth_req_t *r = c->q_head;
        c->q_head = r->next;
        free(r);
    }
    ctx->conns[c->id & 0xFFFF] = NULL;
    reth_txwin_fini(&c->tx);
    reth_rxwin_fini(&c->rx);
    free(c);
}

reth_conn_t *reth_conn_lookup(reth_ctx_t *ctx, uint32_t id)
{
    uint32_t idx = id & 0xFFFF;
    reth_conn_t *c = idx < ctx->nconns ? ctx->conns[idx] : NULL;

    return c && c->id == id ? c : NULL;
}

int reth_send_frame(reth_ctx_t *ctx, reth_conn_t *c, reth_hdr_t *h, const void *payload,
                    size_t len)
{
    uint8_t *buf = ctx->dpo->tx_buf(ctx->dp);
    size_t flen;

    if (!buf) {
        ctx->dpo->tx_flush(ctx->dp);
        buf = ctx->dpo->tx_buf(ctx->dp);
        if (!buf)
            return -EAGAIN;
    }
    memcpy(h->dst_mac, c->peer_mac, 6);
    memcpy(h->src_mac, ctx->ifc.mac, 6);
    h->job_id = ctx->job_id;
    h->src_rank = ctx->rank;
    h->src_ep = ctx->ep;
    h->dst_ep = c->peer_ep;
    h->src_conn = c->id;
    h->dst_conn = c->peer_conn;
    flen = reth_frame_encode(buf, h, payload, len, h->type == RETH_T_SYN ? &ctx->ctl : &c->key);
    c->t_tx = lc_now();
    if (ctx->fault)
        reth_fault_commit(ctx->fault, ctx->dpo, ctx->dp, buf, flen, c->t_tx);
    else
        ctx->dpo->tx_commit(ctx->dp, flen);
    ctx->cnt.sent++;
    return 0;
}

static void reth_rx_frame(void *arg, const uint8_t *frame, size_t len)
{
    reth_ctx_t *ctx = arg;
    const uint8_t *payload;
    reth_conn_t *c;
    reth_hdr_t h;
    int rc;

    if (len >= 6 && memcmp(frame, ctx->ifc.mac, 6))
        return; /* addressed to another station (promiscuous interface) */
    rc = reth_frame_decode(frame, len, &h, &payload);
    if (rc == -EBADMSG) {
        ctx->cnt.dropped_crc++;
        return;
    }
    if (rc) {
        ctx->cnt.dropped_proto++;
        return;
    }
    if (h.job_id != ctx->job_id) {
        ctx->cnt.dropped_job++;
        return;
    }
    if (h.dst_ep != ctx->ep) {
        ctx->cnt.dropped_unknown++;
        return;
    }
    ctx->cnt.received++;
    if (h.type == RETH_T_SYN || h.type == RETH_T_SYNACK) {
        reth_conn_control(ctx, NULL, &h, frame, payload);
        return;
    }
    c = reth_conn_lookup(ctx, h.dst_conn);
    if (!c || c->kind == RETH_K_LISTEN || !c->keyed || h.src_ep != c->peer_ep ||
        h.src_conn != c->peer_conn || memcmp(h.src_mac, c->peer_mac, 6)) {
        ctx->cnt.dropped_unknown++;
        return;
    }
    if (reth_frame_verify(frame, &h, &c->key)) {
        ctx->cnt.dropped_mac++;
        return;
    }
    if (!c->proven)
        reth_conn_proven(c);
    if (h.type == RETH_T_FIN || h.type == RETH_T_CONFIRM)
        reth_conn_control(ctx, c, &h, frame, payload);
    else if (c->state == RETH_S_OPEN)
        reth_xfer_frame(c, &h, payload);
    else
        ctx->cnt.dropped_unknown++;
}

void reth_progress(reth_ctx_t *ctx)
{
    double now;

    ctx->dpo->rx_poll(ctx->dp, reth_rx_frame, ctx, RETH_RX_BUDGET);
    now = lc_now();
    for (uint32_t i = 0; i < ctx->nconns; i++) {
        reth_conn_t *c = ctx->conns[i];
        if (!c || c->kind == RETH_K_LISTEN)
            continue;
        if (c->state == RETH_S_CONNECTING || (c->kind == RETH_K_RECV && !c->proven))
            reth_conn_tick(c, now);
        else if (c->state == RETH_S_OPEN)
            reth_xfer_tick(c, now);
    }
    if (ctx->fault)
        reth_fault_release(ctx->fault, ctx->dpo, ctx->dp, now);
    ctx->dpo->tx_flush(ctx->dp);
}

int reth_wait(lc_prov_ctx_t *p, int timeout_us)
{
    reth_ctx_t *ctx = (reth_ctx_t *)p;
    struct timespec ts;
    struct pollfd pfd;

    if (!ctx || timeout_us < 0)
        return LC_EINVAL("raweth", "wait: NULL context or negative timeout");
    ctx->dpo->tx_flush(ctx->dp);
    if (timeout_us > RETH_WAIT_MAX_US)
        timeout_us = RETH_WAIT_MAX_US;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)timeout_us * 1000;
    pfd.fd = ctx->dpo->poll_fd(ctx->dp, &pfd.events);
    if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR)
        return lc_seterr(-errno, "raweth", "wait: poll on %s: %s", ctx->ifc.name,
                         strerror(errno));
    return 0;
}
