/*
 * lcofi_listen.c - the receiving side of connection setup: a listen comm
 * keeps one handshake receive posted; each handshake that arrives (during
 * any progress of the context) creates a pending recv comm with a fresh tag
 * id and nonce, answers the connector with both and the listener's proof,
 * and posts a receive for the connector's confirm. Only a confirm whose
 * proof shows the job's key for this exchange queues the comm for accept();
 * bad confirms, and comms without a valid one within LCOFI_CONFIRM_S or
 * beyond LCOFI_MAX_PENDING, are dropped and counted (ctx->refused).
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

/* Post the reply and the confirm receive of a pending comm where not yet done. */
static void lcofi_recv_post(lcofi_recv_comm_t *rc)
{
    lcofi_ctx_t *ctx = rc->ctx;
    ssize_t ret;

    if (rc->need_confirm_post) {
        ret = fi_trecv(ctx->ep, &rc->confirm, sizeof(rc->confirm),
                       rc->confirm_mr ? rc->confirm_mr->desc : NULL,
                       ctx->directed ? rc->peer : FI_ADDR_UNSPEC,
                       LCOFI_TAG_CTRL | LCOFI_TAG_CONFIRM | rc->id, 0, &rc->confirm_op);
        if (ret && ret != -FI_EAGAIN)
            rc->ack_state = lcofi_fierr((int)ret, "fi_trecv(confirm)");
        rc->need_confirm_post = ret != 0;
        rc->confirm_op.posted = !ret;
    }
    if (rc->ack_state == 0) /* 1 once posted, an error, or still 0: post later */
        rc->ack_state = lcofi_ctrl_post(ctx, &rc->ack, sizeof(rc->ack), rc->ack_mr, rc->peer,
                                        LCOFI_TAG_CTRL | LCOFI_TAG_ACK | rc->hs.cookie,
                                        "fi_tsend(reply)", &rc->ack_op);
}

static void lcofi_recv_free(lcofi_recv_comm_t *rc)
{
    rc->lc = NULL; /* a late confirm completion finds no listener */
    if (rc->confirm_op.posted) {
        rc->confirm_op.cancel = 1;
        fi_cancel(&rc->ctx->ep->fid, &rc->confirm_op);
        if (lcofi_wait_op(rc->ctx, &rc->confirm_op))
            return; /* the confirm may still land here: keep the memory */
    }
    if (rc->ack_op.posted && lcofi_wait_op(rc->ctx, &rc->ack_op))
        return;
    lcofi_mr_release(rc->ctx, rc->ack_mr);
    lcofi_mr_release(rc->ctx, rc->confirm_mr);
    free(rc);
}

/* Drop pending comm *pp (unlinked and freed), counted as refused. */
static void lcofi_pending_drop(lcofi_listen_comm_t *lc, lcofi_recv_comm_t **pp, const char *why)
{
    lcofi_recv_comm_t *rc = *pp;

    lc->ctx->refused++;
    LC_WARN(LCOFI_SUBSYS, "listen: dropped connection %u: %s", rc->id, why);
    *pp = rc->next;
    lc->npending--;
    lcofi_recv_free(rc);
}

/* A handshake arrived (or its receive failed): make a pending recv comm and answer. */
void lcofi_listen_on_hs(lcofi_listen_comm_t *lc, size_t len, int err)
{
    lcofi_ctx_t *ctx = lc->ctx;
    lcofi_recv_comm_t *rc = NULL, **pp;
    void *desc;
    int ret;

    if (lc->hs_op.cancel)
        return;
    if (err || len != sizeof(lc->hs) || lc->hs.magic != LCOFI_MAGIC ||
        lc->hs.addrlen > LCOFI_ADDR_MAX || lc->hs.chunk == 0) {
        ctx->refused++;
        LC_WARN(LCOFI_SUBSYS, "listen: dropped a bad handshake (%s)",
                err ? lc_strerror(err) : "bad size, magic, chunk or address");
        goto repost;
    }
    if (lc->npending >= LCOFI_MAX_PENDING) { /* the oldest is last */
        for (pp = &lc->pending; (*pp)->next; pp = &(*pp)->next)
            ;
        lcofi_pending_drop(lc, pp, "too many connections wait for their confirm");
    }
    if (!(rc = calloc(1, sizeof(*rc))))
        goto repost;
    lc_prov_obj_init(&rc->base.obj, &lc_prov_ofi, LC_PROV_RECV);
    rc->ctx = ctx;
    rc->lc = lc;
    rc->id = ctx->next_id++ & LCOFI_COMM_MASK;
    rc->hs = lc->hs;
    rc->chunk = rc->hs.chunk < ctx->chunk ? rc->hs.chunk : ctx->chunk;
    rc->deadline = lc_now() + LCOFI_CONFIRM_S;
    rc->ack_op = (lcofi_op_t){.kind = LCOFI_OP_ACK_SEND, .owner = rc};
    rc->confirm_op = (lcofi_op_t){.kind = LCOFI_OP_CONFIRM_RECV, .owner = rc};
    rc->ack.magic = LCOFI_MAGIC;
    rc->ack.comm_id = rc->id;
    rc->ack.chunk = rc->chunk;
    if ((ret = lcofi_av_insert(ctx, rc->hs.addr, rc->hs.addrlen, &rc->pe)) ||
        (ret = lcofi_mr_local(ctx, &rc->ack, sizeof(rc->ack), &rc->ack_mr, &desc)) ||
        (ret = lcofi_mr_local(ctx, &rc->confirm, sizeof(rc->confirm), &rc->confirm_mr, &desc)) ||
        (ret = lcofi_nonce(rc->ack.nonce)) ||
        (ret = lcofi_proof(ctx, LCOFI_ACCEPT_LABEL, &rc->hs, &rc->ack, rc->ack.proof))) {
        LC_WARN(LCOFI_SUBSYS, "listen: could not set up a connection: %s", lc_last_error());
        lcofi_recv_free(rc);
        goto repost;
    }
    rc->peer = rc->pe->fa;
    rc->need_confirm_post = 1;
    lcofi_recv_post(rc);
    rc->next = lc->pending;
    lc->pending = rc;
    lc->npending++;
repost:
    lcofi_listen_post(lc);
}

/* The confirm of a pending comm arrived: queue the comm for accept() if its proof holds. */
void lcofi_listen_on_confirm(lcofi_recv_comm_t *rc, size_t len, int err)
{
    lcofi_listen_comm_t *lc = rc->lc;
    lcofi_recv_comm_t **pp;

    if (err == -ECANCELED || !lc)
        return;
    for (pp = &lc->pending; *pp && *pp != rc; pp = &(*pp)->next)
        ;
    if (!*pp)
        return;
    if (err) {
        lcofi_pending_drop(lc, pp, lc_strerror(err));
        return;
    }
    if (len != sizeof(rc->confirm) || rc->confirm.magic != LCOFI_MAGIC ||
        rc->confirm.comm_id != rc->id ||
        !lcofi_proof_ok(rc->ctx, LCOFI_CONFIRM_LABEL, &rc->hs, &rc->ack, rc->confirm.proof)) {
        /* not the connector's proof for this exchange: wait for the real one */
        rc->ctx->refused++;
        LC_WARN(LCOFI_SUBSYS, "listen: dropped a confirm without a valid proof (connection %u)",
                rc->id);
        rc->need_confirm_post = 1;
        lcofi_recv_post(rc);
        return;
    }
    *pp = rc->next;
    lc->npending--;
    rc->lc = NULL;
    rc->next = NULL;
    *lc->ready_tail = rc;
    lc->ready_tail = &rc->next;
}

void lcofi_listen_retry(lcofi_ctx_t *ctx)
{
    double now = lc_now();

    for (lcofi_listen_comm_t *lc = ctx->listens; lc; lc = lc->next) {
        lcofi_recv_comm_t **pp = &lc->pending;

        if (lc->need_post)
            lcofi_listen_post(lc);
        while (*pp) {
            lcofi_recv_post(*pp);
            if ((*pp)->ack_state < 0)
                lcofi_pending_drop(lc, pp, "its reply could not be sent");
            else if (now > (*pp)->deadline)
                lcofi_pending_drop(lc, pp, "no valid confirm in time");
            else
                pp = &(*pp)->next;
        }
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
    if (!ret && rc) {
        if (!(lc->ready = rc->next))
            lc->ready_tail = &lc->ready;
        rc->next = NULL;
        *recv_comm = &rc->base;
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
    while (lc->pending) {
        lcofi_recv_comm_t *rc = lc->pending;

        lc->pending = rc->next;
        lcofi_recv_free(rc);
    }
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
