/*
 * lcofi_connect.c - the sending side of connection setup: connect() inserts
 * the listener's address, posts a receive for the reply and sends a handshake
 * carrying our address and a fresh nonce. A reply whose proof does not show
 * the job's key for this handshake is dropped (and counted), and the reply
 * receive posted again; a valid one is answered with the confirm carrying our
 * proof, and the connection is ready once the confirm is sent. Until then the
 * attempt waits in the context's pending list, keyed by the handle's bytes,
 * and connect() with the same handle reports progress. The send of every
 * control message, the listener's reply included, is lcofi_ctrl_post().
 */
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

int lcofi_ctrl_post(lcofi_ctx_t *ctx, const void *msg, size_t len, const lcofi_mr_t *mr,
                    fi_addr_t peer, uint64_t tag, const char *what, lcofi_op_t *op)
{
    ssize_t ret = fi_tsend(ctx->ep, msg, len, mr ? mr->desc : NULL, peer, tag, op);

    op->posted = !ret;
    if (ret == -FI_EAGAIN)
        return 0;
    return ret ? lcofi_fierr((int)ret, what) : 1;
}

/* Post the set-up operations that found no room before; errors end the attempt. */
static void lcofi_connect_post(lcofi_send_comm_t *sc)
{
    lcofi_ctx_t *ctx = sc->ctx;
    ssize_t ret;

    if (sc->need_ack) {
        ret = fi_trecv(ctx->ep, &sc->ack, sizeof(sc->ack), sc->ack_mr ? sc->ack_mr->desc : NULL,
                       ctx->directed ? sc->peer : FI_ADDR_UNSPEC,
                       LCOFI_TAG_CTRL | LCOFI_TAG_ACK | sc->cookie, 0, &sc->ack_op);
        if (ret && ret != -FI_EAGAIN)
            sc->state = lcofi_fierr((int)ret, "fi_trecv(reply)");
        sc->need_ack = ret != 0;
        sc->ack_op.posted = !ret;
    }
    if (sc->need_hs && sc->state == 0) {
        ret = lcofi_ctrl_post(ctx, &sc->hs, sizeof(sc->hs), sc->hs_mr, sc->peer,
                              LCOFI_TAG_CTRL | sc->handle.listen_id, "fi_tsend(handshake)",
                              &sc->hs_op);
        if (ret < 0)
            sc->state = (int)ret;
        sc->need_hs = ret != 1;
    }
    if (sc->need_confirm && sc->state == 0) {
        ret = lcofi_ctrl_post(ctx, &sc->confirm, sizeof(sc->confirm), sc->confirm_mr, sc->peer,
                              LCOFI_TAG_CTRL | LCOFI_TAG_CONFIRM | sc->remote_id,
                              "fi_tsend(confirm)", &sc->confirm_op);
        if (ret < 0)
            sc->state = (int)ret;
        sc->need_confirm = ret != 1;
    }
}

/* Free a send comm once none of its control operations can still complete. */
static void lcofi_send_free(lcofi_send_comm_t *sc)
{
    lcofi_ctx_t *ctx = sc->ctx;

    if (sc->ack_op.posted) {
        sc->ack_op.cancel = 1;
        fi_cancel(&ctx->ep->fid, &sc->ack_op);
        if (lcofi_wait_op(ctx, &sc->ack_op))
            return; /* the reply may still land here: keep the memory */
    }
    if ((sc->hs_op.posted && lcofi_wait_op(ctx, &sc->hs_op)) ||
        (sc->confirm_op.posted && lcofi_wait_op(ctx, &sc->confirm_op)))
        return;
    lcofi_mr_release(ctx, sc->hs_mr);
    lcofi_mr_release(ctx, sc->ack_mr);
    lcofi_mr_release(ctx, sc->confirm_mr);
    free(sc);
}

/* Start a connection attempt. */
static int lcofi_connect_start(lcofi_ctx_t *ctx, const lcofi_handle_t *h, lcofi_send_comm_t **out)
{
    lcofi_send_comm_t *sc = calloc(1, sizeof(*sc));
    void *desc;
    int ret;

    *out = NULL;
    if (!sc)
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "connect: out of memory");
    lc_prov_obj_init(&sc->base.obj, &lc_prov_ofi, LC_PROV_SEND);
    sc->ctx = ctx;
    memcpy(&sc->handle, h, sizeof(*h));
    sc->cookie = ctx->next_id++;
    if ((ret = lcofi_av_insert(ctx, h->addr, h->addrlen, &sc->pe)) ||
        (ret = lcofi_mr_local(ctx, &sc->hs, sizeof(sc->hs), &sc->hs_mr, &desc)) ||
        (ret = lcofi_mr_local(ctx, &sc->ack, sizeof(sc->ack), &sc->ack_mr, &desc)) ||
        (ret = lcofi_mr_local(ctx, &sc->confirm, sizeof(sc->confirm), &sc->confirm_mr, &desc)) ||
        (ret = lcofi_nonce(sc->hs.nonce)))
        goto fail;
    sc->peer = sc->pe->fa;
    sc->hs_op = (lcofi_op_t){.kind = LCOFI_OP_HS_SEND, .owner = sc};
    sc->ack_op = (lcofi_op_t){.kind = LCOFI_OP_ACK_RECV, .owner = sc};
    sc->confirm_op = (lcofi_op_t){.kind = LCOFI_OP_CONFIRM_SEND, .owner = sc};
    sc->hs.magic = LCOFI_MAGIC;
    sc->hs.cookie = sc->cookie;
    sc->hs.chunk = ctx->chunk;
    sc->hs.addrlen = (uint16_t)ctx->addrlen;
    memcpy(sc->hs.addr, ctx->addr, ctx->addrlen);
    sc->need_ack = sc->need_hs = 1;
    lcofi_connect_post(sc);
    if (sc->state < 0) {
        ret = sc->state;
        goto fail;
    }
    sc->next = ctx->connecting;
    ctx->connecting = sc;
    *out = sc;
    return 0;
fail:
    lcofi_send_free(sc);
    return ret;
}

void lcofi_connect_on_ack(lcofi_send_comm_t *sc, size_t len, int err)
{
    if (err == -ECANCELED || sc->state != 0)
        return;
    if (err) {
        sc->state = lc_seterr(err, LCOFI_SUBSYS, "connect: reply failed: %s", lc_strerror(err));
        return;
    }
    if (len != sizeof(sc->ack) || sc->ack.magic != LCOFI_MAGIC || sc->ack.chunk == 0 ||
        !lcofi_proof_ok(sc->ctx, LCOFI_ACCEPT_LABEL, &sc->hs, &sc->ack, sc->ack.proof)) {
        /* not from a listener holding the key for our handshake: wait for the real one */
        sc->ctx->refused++;
        LC_WARN(LCOFI_SUBSYS, "connect: dropped a reply without a valid proof");
        sc->need_ack = 1;
        lcofi_connect_post(sc);
        return;
    }
    sc->remote_id = sc->ack.comm_id & LCOFI_COMM_MASK;
    sc->chunk = sc->ack.chunk < sc->ctx->chunk ? sc->ack.chunk : sc->ctx->chunk;
    sc->confirm.magic = LCOFI_MAGIC;
    sc->confirm.comm_id = sc->ack.comm_id;
    if ((err = lcofi_proof(sc->ctx, LCOFI_CONFIRM_LABEL, &sc->hs, &sc->ack, sc->confirm.proof))) {
        sc->state = err;
        return;
    }
    sc->need_confirm = 1;
    lcofi_connect_post(sc);
}

void lcofi_connect_on_sent(lcofi_send_comm_t *sc, lcofi_op_t *op, int err, const char *msg)
{
    if (op->cancel || sc->state != 0)
        return;
    if (err)
        sc->state = lc_seterr(err, LCOFI_SUBSYS, "connect: %s send failed: %s",
                              op == &sc->hs_op ? "handshake" : "confirm", msg);
    else if (op == &sc->confirm_op)
        sc->state = 1;
}

int lcofi_connect(lc_prov_ctx_t *arg, int dev, const void *handle, lc_prov_comm_t **send_comm)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)arg;
    const lcofi_handle_t *h = handle;
    lcofi_send_comm_t *sc, **pp;
    int ret;

    if (!ctx || !handle || !send_comm)
        return LC_EINVAL(LCOFI_SUBSYS, "connect: NULL argument");
    *send_comm = NULL;
    if (dev != 0)
        return LC_EINVAL(LCOFI_SUBSYS, "connect: device %d does not exist (1 device)", dev);
    if (h->magic != LCOFI_MAGIC || h->addrlen == 0 || h->addrlen > LCOFI_ADDR_MAX)
        return lc_seterr(LC_ERR_PROTO, LCOFI_SUBSYS, "connect: not an ofi listen handle");
    pthread_mutex_lock(&ctx->lock);
    for (pp = &ctx->connecting; *pp; pp = &(*pp)->next)
        if (!memcmp(&(*pp)->handle, h, sizeof(*h)))
            break;
    if (!*pp) {
        if ((ret = lcofi_connect_start(ctx, h, &sc))) {
            pthread_mutex_unlock(&ctx->lock);
            return ret;
        }
        pp = &ctx->connecting; /* new attempts go first */
    } else {
        lcofi_connect_post(*pp);
    }
    ret = lcofi_progress(ctx);
    sc = *pp;
    if (sc->state != 0 || ret) {
        *pp = sc->next;
        sc->next = NULL;
        if (sc->state == 1 && !ret) {
            *send_comm = &sc->base;
        } else {
            ret = ret ? ret : sc->state;
            lcofi_send_free(sc);
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return ret;
}

void lcofi_connect_abandon(lcofi_ctx_t *ctx)
{
    while (ctx->connecting) {
        lcofi_send_comm_t *sc = ctx->connecting;

        ctx->connecting = sc->next;
        lcofi_send_free(sc);
    }
}

int lcofi_close_send(lc_prov_comm_t *arg)
{
    lcofi_send_comm_t *sc = (lcofi_send_comm_t *)arg;
    lcofi_ctx_t *ctx;

    if (!sc)
        return LC_EINVAL(LCOFI_SUBSYS, "close_send: NULL comm");
    ctx = sc->ctx;
    pthread_mutex_lock(&ctx->lock);
    lcofi_req_abandon(ctx, sc->remote_id, 1, sc->peer);
    lcofi_send_free(sc);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}
