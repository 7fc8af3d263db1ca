/*
 * lcofi_connect.c - the sending side of connection setup: connect() inserts
 * the listener's address, posts a receive for the reply and sends a handshake
 * carrying our address; the connection is ready once the reply (with the tag
 * id the listener chose) arrives. Until then the attempt waits in the
 * context's pending list, keyed by the handle's bytes, and connect() with the
 * same handle reports progress.
 */
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

static int lcofi_hs_post(lcofi_send_comm_t *sc)
{
    ssize_t ret;

    sc->hs_op.kind = LCOFI_OP_HS_SEND;
    sc->hs_op.owner = sc;
    ret = fi_tsend(sc->ctx->ep, &sc->hs, sizeof(sc->hs), sc->hs_mr ? sc->hs_mr->desc : NULL,
                   sc->peer, LCOFI_TAG_CTRL | sc->handle.listen_id, &sc->hs_op);
    if (ret == -FI_EAGAIN)
        return 0;
    if (ret)
        return sc->state = lcofi_fierr((int)ret, "fi_tsend(handshake)");
    sc->hs_op.posted = 1;
    sc->hs_posted = 1;
    return 0;
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
    if (sc->hs_op.posted && lcofi_wait_op(ctx, &sc->hs_op))
        return;
    lcofi_mr_release(ctx, sc->hs_mr);
    lcofi_mr_release(ctx, sc->ack_mr);
    free(sc);
}

/* Start a connection attempt; *out stays NULL when the provider had no room to post. */
static int lcofi_connect_start(lcofi_ctx_t *ctx, const lcofi_handle_t *h, lcofi_send_comm_t **out)
{
    lcofi_send_comm_t *sc = calloc(1, sizeof(*sc));

    if (sc)
        lc_prov_obj_init(&sc->base.obj, &lc_prov_ofi, LC_PROV_SEND);
    void *desc;
    ssize_t ret;

    *out = NULL;
    if (!sc)
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "connect: out of memory");
    sc->ctx = ctx;
    memcpy(&sc->handle, h, sizeof(*h));
    sc->cookie = ctx->next_id++;
    if ((ret = lcofi_av_insert(ctx, h->addr, h->addrlen, &sc->peer)) ||
        (ret = lcofi_mr_local(ctx, &sc->hs, sizeof(sc->hs), &sc->hs_mr, &desc)) ||
        (ret = lcofi_mr_local(ctx, &sc->ack, sizeof(sc->ack), &sc->ack_mr, &desc)))
        goto fail;
    sc->ack_op.kind = LCOFI_OP_ACK_RECV;
    sc->ack_op.owner = sc;
    ret = fi_trecv(ctx->ep, &sc->ack, sizeof(sc->ack), desc, FI_ADDR_UNSPEC,
                   LCOFI_TAG_CTRL | LCOFI_TAG_ACK | sc->cookie, 0, &sc->ack_op);
    if (ret) {
        ret = ret == -FI_EAGAIN ? 0 : lcofi_fierr((int)ret, "fi_trecv(reply)");
        goto fail;
    }
    sc->ack_op.posted = 1;
    sc->hs.magic = LCOFI_MAGIC;
    sc->hs.cookie = sc->cookie;
    sc->hs.chunk = ctx->chunk;
    sc->hs.addrlen = (uint16_t)ctx->addrlen;
    memcpy(sc->hs.addr, ctx->addr, ctx->addrlen);
    lcofi_hs_post(sc);
    sc->next = ctx->connecting;
    ctx->connecting = sc;
    *out = sc;
    return 0;
fail:
    lcofi_send_free(sc);
    return (int)ret;
}

void lcofi_connect_on_ack(lcofi_send_comm_t *sc, int err)
{
    if (err == -ECANCELED || sc->state != 0)
        return;
    if (err)
        sc->state = lc_seterr(err, LCOFI_SUBSYS, "connect: reply failed: %s", lc_strerror(err));
    else if (sc->ack.magic != LCOFI_MAGIC || sc->ack.chunk == 0)
        sc->state = lc_seterr(LC_ERR_PROTO, LCOFI_SUBSYS, "connect: malformed reply");
    else {
        sc->remote_id = sc->ack.comm_id & LCOFI_COMM_MASK;
        sc->chunk = sc->ack.chunk;
        sc->state = 1;
    }
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
        ret = lcofi_connect_start(ctx, h, &sc);
        if (!sc) { /* failed, or no room to post yet */
            pthread_mutex_unlock(&ctx->lock);
            return ret;
        }
        pp = &ctx->connecting; /* new attempts go first */
    } else {
        ret = (*pp)->hs_posted ? 0 : lcofi_hs_post(*pp);
    }
    if (!ret)
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
