/*
 * lcofi_listen.c - the receiving side of connection setup: a listen comm
 * keeps one handshake receive posted; each handshake that arrives (during
 * any progress of the context) creates a recv comm with a fresh tag id,
 * answers the connector with that id, and queues the comm for accept().
 */
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

/* Post (or re-post) the handshake receive; -EAGAIN-like results leave need_post set. */
static int lcofi_listen_post(lcofi_listen_comm_t *lc)
{
    lcofi_ctx_t *ctx = lc->ctx;
    ssize_t ret;

    lc->need_post = 1;
    lc->hs_op.kind = LCOFI_OP_HS_RECV;
    lc->hs_op.owner = lc;
    ret = fi_trecv(ctx->ep, &lc->hs, sizeof(lc->hs), lc->hs_mr ? lc->hs_mr->desc : NULL,
                   FI_ADDR_UNSPEC, LCOFI_TAG_CTRL | lc->id, 0, &lc->hs_op);
    if (ret == -FI_EAGAIN)
        return 0;
    if (ret)
        return lcofi_fierr((int)ret, "fi_trecv(handshake)");
    lc->need_post = 0;
    lc->hs_op.posted = 1;
    return 0;
}

/* Send the reply that tells the connector its comm id. */
static int lcofi_recv_ack_post(lcofi_recv_comm_t *rc)
{
    lcofi_ctx_t *ctx = rc->ctx;
    ssize_t ret;

    rc->ack_op.kind = LCOFI_OP_ACK_SEND;
    rc->ack_op.owner = rc;
    ret = fi_tsend(ctx->ep, &rc->ack, sizeof(rc->ack), rc->ack_mr ? rc->ack_mr->desc : NULL,
                   rc->peer, LCOFI_TAG_CTRL | LCOFI_TAG_ACK | rc->cookie, &rc->ack_op);
    if (ret == -FI_EAGAIN)
        return 0;
    if (ret)
        return rc->ack_state = lcofi_fierr((int)ret, "fi_tsend(reply)");
    rc->ack_op.posted = 1;
    rc->ack_state = 1;
    return 0;
}

static void lcofi_recv_free(lcofi_recv_comm_t *rc)
{
    if (rc->ack_op.posted)
        lcofi_wait_op(rc->ctx, &rc->ack_op);
    lcofi_mr_release(rc->ctx, rc->ack_mr);
    free(rc);
}

/* A handshake arrived (or its receive failed): make the recv comm. */
void lcofi_listen_on_hs(lcofi_listen_comm_t *lc, int err)
{
    lcofi_ctx_t *ctx = lc->ctx;
    lcofi_recv_comm_t *rc = NULL;
    void *desc;
    int ret;

    if (lc->hs_op.cancel)
        return;
    if (err || lc->hs.magic != LCOFI_MAGIC || lc->hs.addrlen > LCOFI_ADDR_MAX) {
        LC_WARN(LCOFI_SUBSYS, "listen: dropped a bad handshake (%s)",
                err ? lc_strerror(err) : "bad magic or address");
        goto repost;
    }
    if (!(rc = calloc(1, sizeof(*rc))))
        goto repost;
    lc_prov_obj_init(&rc->base.obj, &lc_prov_ofi, LC_PROV_RECV);
    rc->ctx = ctx;
    rc->id = ctx->next_id++ & LCOFI_COMM_MASK;
    rc->cookie = lc->hs.cookie;
    rc->chunk = lc->hs.chunk < ctx->chunk ? lc->hs.chunk : ctx->chunk;
    if (rc->chunk == 0 || (ret = lcofi_av_insert(ctx, lc->hs.addr, lc->hs.addrlen, &rc->peer)) ||
        (ret = lcofi_mr_local(ctx, &rc->ack, sizeof(rc->ack), &rc->ack_mr, &desc))) {
        LC_WARN(LCOFI_SUBSYS, "listen: could not set up a connection: %s", lc_last_error());
        free(rc);
        goto repost;
    }
    rc->ack.magic = LCOFI_MAGIC;
    rc->ack.comm_id = rc->id;
    rc->ack.chunk = rc->chunk;
    lcofi_recv_ack_post(rc);
    *lc->ready_tail = rc;
    lc->ready_tail = &rc->next;
repost:
    lcofi_listen_post(lc);
}

void lcofi_listen_retry(lcofi_ctx_t *ctx)
{
    for (lcofi_listen_comm_t *lc = ctx->listens; lc; lc = lc->next) {
        if (lc->need_post)
            lcofi_listen_post(lc);
        for (lcofi_recv_comm_t *rc = lc->ready; rc; rc = rc->next)
            if (rc->ack_state == 0)
                lcofi_recv_ack_post(rc);
    }
}

int lcofi_listen(lc_prov_ctx_t *arg, int dev, void *handle, lc_prov_comm_t **listen_comm)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)arg;
    lcofi_listen_comm_t *lc;
    lcofi_handle_t *h = handle;
    void *desc;
    int ret;

    _Static_assert(sizeof(lcofi_handle_t) <= LC_PROV_HANDLE_MAX, "handle too large");
    if (!ctx || !handle || !listen_comm)
        return LC_EINVAL(LCOFI_SUBSYS, "listen: NULL argument");
    *listen_comm = NULL;
    if (dev != 0)
        return LC_EINVAL(LCOFI_SUBSYS, "listen: device %d does not exist (1 device)", dev);
    if (!(lc = calloc(1, sizeof(*lc))))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "listen: out of memory");
    lc_prov_obj_init(&lc->base.obj, &lc_prov_ofi, LC_PROV_LISTEN);
    pthread_mutex_lock(&ctx->lock);
    lc->ctx = ctx;
    lc->id = ctx->next_id++;
    lc->ready_tail = &lc->ready;
    if ((ret = lcofi_mr_local(ctx, &lc->hs, sizeof(lc->hs), &lc->hs_mr, &desc)) ||
        (ret = lcofi_listen_post(lc))) {
        lcofi_mr_release(ctx, lc->hs_mr);
        pthread_mutex_unlock(&ctx->lock);
        free(lc);
        return ret;
    }
    lc->next = ctx->listens;
    ctx->listens = lc;
    pthread_mutex_unlock(&ctx->lock);
    memset(handle, 0, LC_PROV_HANDLE_MAX);
    h->magic = LCOFI_MAGIC;
    h->listen_id = lc->id;
    h->addrlen = (uint16_t)ctx->addrlen;
    memcpy(h->addr, ctx->addr, ctx->addrlen);
    *listen_comm = &lc->base;
    return 0;
}

int lcofi_accept(lc_prov_comm_t *arg, lc_prov_comm_t **recv_comm)
{
    lcofi_listen_comm_t *lc = (lcofi_listen_comm_t *)arg;
    lcofi_recv_comm_t *rc;
    int ret;

    if (!lc || !recv_comm)
        return LC_EINVAL(LCOFI_SUBSYS, "accept: NULL argument");
    *recv_comm = NULL;
    pthread_mutex_lock(&lc->ctx->lock);
    ret = lcofi_progress(lc->ctx);
    rc = lc->ready;
    if (!ret && rc && rc->ack_state != 0) {
        if (!(lc->ready = rc->next))
            lc->ready_tail = &lc->ready;
        rc->next = NULL;
        if (rc->ack_state < 0) {
            ret = rc->ack_state;
            lcofi_recv_free(rc);
        } else {
            *recv_comm = &rc->base;
        }
    }
    pthread_mutex_unlock(&lc->ctx->lock);
    return ret;
}

int lcofi_close_recv(lc_prov_comm_t *arg)
{
    lcofi_recv_comm_t *rc = (lcofi_recv_comm_t *)arg;
    lcofi_ctx_t *ctx;

    if (!rc)
        return LC_EINVAL(LCOFI_SUBSYS, "close_recv: NULL comm");
    ctx = rc->ctx;
    pthread_mutex_lock(&ctx->lock);
    lcofi_req_abandon(ctx, rc->id, 0, FI_ADDR_UNSPEC);
    lcofi_recv_free(rc);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

int lcofi_close_listen(lc_prov_comm_t *arg)
{
    lcofi_listen_comm_t *lc = (lcofi_listen_comm_t *)arg, **pp;
    lcofi_ctx_t *ctx;
    int ret = 0;

    if (!lc)
        return LC_EINVAL(LCOFI_SUBSYS, "close_listen: NULL comm");
    ctx = lc->ctx;
    pthread_mutex_lock(&ctx->lock);
    lc->need_post = 0;
    if (lc->hs_op.posted) {
        lc->hs_op.cancel = 1;
        fi_cancel(&ctx->ep->fid, &lc->hs_op);
        ret = lcofi_wait_op(ctx, &lc->hs_op);
    }
    for (pp = &ctx->listens; *pp && *pp != lc; pp = &(*pp)->next)
        ;
    if (*pp)
        *pp = lc->next;
    while (lc->ready) {
        lcofi_recv_comm_t *rc = lc->ready;

        lc->ready = rc->next;
        lcofi_recv_free(rc);
    }
    if (ret) { /* the receive may still land in lc: keep the memory */
        pthread_mutex_unlock(&ctx->lock);
        return ret;
    }
    lcofi_mr_release(ctx, lc->hs_mr);
    pthread_mutex_unlock(&ctx->lock);
    free(lc);
    return 0;
}
