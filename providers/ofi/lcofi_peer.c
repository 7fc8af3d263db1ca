/*
 * lcofi_peer.c - noticing a peer that is gone. libfabric 1.17's rxm reports
 * nothing to an RDM endpoint when a connection drops: the msg endpoint's
 * FI_SHUTDOWN stays inside rxm, receives (also directed ones) stay posted,
 * and only sends then in flight end in error; later sends to that peer are
 * refused with -FI_EAGAIN while rxm tries to connect again. So a peer some
 * request waits on, with no completion from it for LCOFI_PROBE_S, gets a
 * zero-length probe (swallowed by a receive every context keeps posted). The
 * peer is gone when a probe or a data send ends in a connection error, or
 * when libfabric refuses to post a probe for LCOFI_PROBE_DEAD_S while no send
 * of ours to that peer is in flight and the endpoint has send credits left
 * (so the refusal is not back-pressure). Every request with it then fails
 * with -ECONNRESET, and so does every later one, except a receive that
 * matches a message which arrived before the peer left.
 */
#include <stdio.h>

#include "lcofi.h"

static void lcofi_probe_rx_post(lcofi_ctx_t *ctx)
{
    ssize_t ret;

    if (!ctx->probe_rx_need)
        return;
    ret = fi_trecv(ctx->ep, NULL, 0, NULL, FI_ADDR_UNSPEC, LCOFI_TAG_CTRL | LCOFI_TAG_PROBE, 0,
                   &ctx->probe_rx_op);
    if (ret == -FI_EAGAIN)
        return;
    ctx->probe_rx_need = 0;
    if (ret)
        LC_WARN(LCOFI_SUBSYS, "peers' probes are not swallowed: %s (%zd)", fi_strerror((int)-ret),
                ret);
    else
        ctx->probe_rx_op.posted = 1;
}

int lcofi_peer_init(lcofi_ctx_t *ctx)
{
    ctx->probe_rx_op = (lcofi_op_t){.kind = LCOFI_OP_PROBE_RECV};
    ctx->probe_rx_need = 1;
    lcofi_probe_rx_post(ctx);
    return 0;
}

void lcofi_peer_lost(lcofi_ctx_t *ctx, lcofi_peer_t *pe, const char *why)
{
    char msg[300];

    if (pe->dead)
        return;
    pe->dead = 1;
    snprintf(msg, sizeof(msg), "the connection to the peer is gone: %s", why);
    LC_WARN(LCOFI_SUBSYS, "%s", msg);
    lcofi_req_peer_lost(ctx, pe, msg);
}

void lcofi_peer_on_probe(lcofi_ctx_t *ctx, lcofi_op_t *op, int err, const char *msg)
{
    lcofi_peer_t *pe = op->owner;

    if (op->kind == LCOFI_OP_PROBE_RECV) {
        ctx->probe_rx_need = !op->cancel;
        return;
    }
    ctx->tx_inflight--;
    if (op->cancel)
        return;
    if (err == -ECONNRESET)
        lcofi_peer_lost(ctx, pe, msg);
    else
        lcofi_peer_heard(pe);
}

/* Probe pe if it is due; a refusal that lasts LCOFI_PROBE_DEAD_S loses it. */
static void lcofi_probe(lcofi_ctx_t *ctx, lcofi_peer_t *pe, double now)
{
    ssize_t ret;

    if (ctx->tx_inflight + 1 >= ctx->info->tx_attr->size / 2) {
        pe->eagain_since = 0; /* a refusal would not tell */
        return;
    }
    ret = fi_tsend(ctx->ep, NULL, 0, NULL, pe->fa, LCOFI_TAG_CTRL | LCOFI_TAG_PROBE,
                   &pe->probe_op);
    if (ret == 0) {
        pe->probe_op.posted = 1;
        pe->probe_op.cancel = 0;
        ctx->tx_inflight++;
        pe->eagain_since = 0;
        pe->last_seen = now;
    } else if (ret != -FI_EAGAIN) {
        lcofi_peer_lost(ctx, pe, fi_strerror((int)-ret));
    } else if (pe->eagain_since == 0 || !pe->reached) {
        /* refusals before any completion with the peer: its connection may still be
         * forming (a loaded host); LC_TIMEOUT covers a peer that never answers */
        pe->eagain_since = now;
    } else if (now - pe->eagain_since >= LCOFI_PROBE_DEAD_S) {
        lcofi_peer_lost(ctx, pe, "libfabric has no connection to it and cannot make one");
    }
}

void lcofi_peer_progress(lcofi_ctx_t *ctx)
{
    double now;

    lcofi_probe_rx_post(ctx);
    if (!ctx->reqs)
        return;
    for (lcofi_peer_t *pe = ctx->peers; pe; pe = pe->next)
        pe->want = 0;
    for (lcofi_req_t *req = ctx->reqs; req; req = req->next)
        if (!req->zombie)
            req->pe->want = 1;
    now = lc_now();
    for (lcofi_peer_t *pe = ctx->peers; pe; pe = pe->next)
        if (pe->want && pe->dead) /* receives posted since, that matched nothing that came */
            lcofi_req_peer_lost(ctx, pe, "the connection to the peer is gone");
        else if (pe->want && !pe->probe_op.posted && now - pe->last_seen >= LCOFI_PROBE_S)
            lcofi_probe(ctx, pe, now);
}
