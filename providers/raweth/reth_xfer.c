/*
 * reth_xfer.c - raweth messages: isend/irecv/test, cutting messages into
 * frames within the window, retransmission, acks and keepalives, and
 * in-order reassembly straight into posted receive buffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reth.h"

#define RETH_RETX_BATCH 64

static reth_req_t *reth_req_new(reth_conn_t *c, void *buf, size_t len)
{
    reth_req_t *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    lc_prov_obj_init(&r->base.obj, &lc_prov_raweth, LC_PROV_REQ);
    r->conn = c;
    r->ctx = c->ctx;
    r->buf = buf;
    r->len = len;
    if (c->q_tail)
        c->q_tail->next = r;
    else
        c->q_head = r;
    c->q_tail = r;
    return r;
}

void reth_req_done(reth_conn_t *c, reth_req_t *r, int err)
{
    reth_ctx_t *ctx = c->ctx;

    r->done = 1;
    r->err = err;
    r->size = c->kind == RETH_K_RECV ? r->msg_len : r->len;
    r->next = NULL;
    r->prev = ctx->done_tail;
    if (ctx->done_tail)
        ctx->done_tail->next = r;
    else
        ctx->done_head = r;
    ctx->done_tail = r;
}

/* Take r off the done list and free it; its result first, when asked. */
static int reth_req_release(reth_req_t *r, size_t *size)
{
    reth_ctx_t *ctx = r->ctx;
    int err = r->err;

    if (r->prev)
        r->prev->next = r->next;
    else
        ctx->done_head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        ctx->done_tail = r->prev;
    if (size)
        *size = r->size;
    free(r);
    return err;
}

/* The head request finished: take it off the queue (test() or progress() frees it). */
static void reth_req_finish_head(reth_conn_t *c)
{
    reth_req_t *r = c->q_head;

    c->q_head = r->next;
    if (!c->q_head)
        c->q_tail = NULL;
    reth_req_done(c, r, r->err);
}

static int reth_send_data(reth_conn_t *c, reth_req_t *r, uint32_t seq, uint32_t off, uint32_t len)
{
    reth_hdr_t h = {.type = RETH_T_DATA};

    h.seq = seq;
    h.msg_len = (uint32_t)r->len;
    h.frag_off = off;
    return reth_send_frame(c->ctx, c, &h, r->buf + off, len);
}

/* Frame as much of the queued messages as the window allows. */
static void reth_pump(reth_conn_t *c, double now)
{
    while (c->q_frame && reth_txwin_room(&c->tx)) {
        reth_req_t *r = c->q_frame;
        uint32_t len = (uint32_t)(r->len - r->off < c->maxpay ? r->len - r->off : c->maxpay);
        reth_txent_t *e;
        uint32_t seq;

        if (reth_send_data(c, r, c->tx.nxt, (uint32_t)r->off, len))
            return; /* ring full: continue at the next progress call */
        e = reth_txwin_push(&c->tx, now, &seq);
        e->req = r;
        e->off = (uint32_t)r->off;
        e->len = len;
        r->off += len;
        r->frames++;
        if (r->off == r->len) {
            r->started = 1; /* every frame of this message exists */
            c->q_frame = r->next;
        }
    }
}

static int reth_send_ctl(reth_conn_t *c, int type)
{
    reth_hdr_t h = {.type = (uint8_t)type};

    if (type == RETH_T_ACK) {
        uint32_t window;
        reth_rxwin_ackinfo(&c->rx, &h.ack, &h.sack, &window);
        h.echo = c->last_seq;
        h.window = (uint16_t)(window > 65535 ? 65535 : window);
    }
    return reth_send_frame(c->ctx, c, &h, NULL, 0);
}

int reth_isend(lc_prov_comm_t *send_comm, const void *buf, size_t len, lc_prov_mr_t *mh,
               lc_prov_req_t **req)
{
    reth_conn_t *c = (reth_conn_t *)send_comm;
    reth_req_t *r;

    if (!c || !req || c->kind != RETH_K_SEND || (!buf && len))
        return LC_EINVAL("raweth", "isend: bad comm, buffer or request pointer");
    *req = NULL;
    if (c->state == RETH_S_FAILED)
        return c->err;
    if (len > UINT32_MAX)
        return lc_seterr(-EMSGSIZE, "raweth", "isend: %zu bytes exceed the 4 GiB message limit",
                         len);
    r = reth_req_new(c, (void *)(uintptr_t)buf, len);
    if (!r)
        return 0; /* no memory now: the caller retries */
    if (!c->q_frame)
        c->q_frame = r;
    reth_pump(c, lc_now());
    c->ctx->dpo->tx_flush(c->ctx->dp);
    *req = &r->base;
    return 0;
}

/*
 * Give one in-order fragment to the oldest posted receive. Returns 0 when
 * no receive is posted (the fragment stays buffered), 1 when taken.
 */
static int reth_rx_take(reth_conn_t *c, uint32_t msg_len, uint32_t off, const uint8_t *data,
                        uint32_t len)
{
    reth_req_t *r = c->q_head;

    if (!r)
        return 0;
    if (!r->started) {
        if (off != 0)
            goto proto;
        r->started = 1;
        r->msg_len = msg_len;
        if (msg_len > r->len)
            r->err = lc_seterr(-EMSGSIZE, "raweth", "irecv: a %u-byte message arrived for a "
                               "%zu-byte buffer", msg_len, r->len);
    } else if (off != r->off || msg_len != r->msg_len) {
        goto proto;
    }
    if (!r->err && len)
        memcpy(r->buf + off, data, len);
    r->off += len;
    if (r->off == r->msg_len)
        reth_req_finish_head(c);
    return 1;
proto:
    reth_conn_fail(c, lc_seterr(LC_ERR_PROTO, "raweth", "fragment at offset %u of a %u-byte "
                                "message does not continue the message being received", off,
                                msg_len));
    return 1;
}

/* Hand buffered in-order fragments to posted receives. */
static void reth_rx_drain(reth_conn_t *c)
{
    const reth_rxslot_t *s;
    const uint8_t *data;
    int n = 0;

    while (c->q_head && (s = reth_rxwin_peek(&c->rx, &data))) {
        reth_rx_take(c, s->msg_len, s->frag_off, data, s->len);
        reth_rxwin_pop(&c->rx);
        n++;
    }
    if (n)
        c->ack_due++; /* the window opened */
}

int reth_irecv(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mh,
               lc_prov_req_t **req)
{
    reth_conn_t *c = (reth_conn_t *)recv_comm;
    reth_req_t *r;

    if (!c || !req || c->kind != RETH_K_RECV || (!buf && len))
        return LC_EINVAL("raweth", "irecv: bad comm, buffer or request pointer");
    *req = NULL;
    if (c->state == RETH_S_FAILED)
        return c->err;
    r = reth_req_new(c, buf, len);
    if (!r)
        return 0;
    reth_rx_drain(c);
    *req = &r->base;
    return 0;
}

int reth_test(lc_prov_req_t *req, int *done, size_t *size)
{
    reth_req_t *r = (reth_req_t *)req;

    if (!r || !done)
        return LC_EINVAL("raweth", "test: NULL request or done pointer");
    if (!r->done)
        reth_progress(r->ctx);
    *done = r->done;
    if (!r->done)
        return 0;
    return reth_req_release(r, size);
}

/**
 * @brief The provider's progress op: one pass over the context, then the
 *        finished requests that carry a user field, oldest first.
 */
int reth_progress_op(lc_prov_ctx_t *vctx, lc_prov_cqe_t *cqe, int max)
{
    reth_ctx_t *ctx = (reth_ctx_t *)vctx;
    int n = 0, rc = lc_prov_check(vctx, LC_PROV_CTX, &lc_prov_raweth, "raweth progress");

    if (rc)
        return rc;
    if (!cqe || max < 0)
        return LC_EINVAL("raweth", "progress: NULL completions or negative max");
    reth_progress(ctx);
    for (reth_req_t *r = ctx->done_head, *next; r && n < max; r = next) {
        next = r->next;
        if (!r->base.user)
            continue; /* test() reports it */
        cqe[n] = (lc_prov_cqe_t){.user = r->base.user, .status = r->err};
        reth_req_release(r, &cqe[n++].size);
    }
    return n;
}

static void reth_on_acked(void *arg, reth_txent_t *e)
{
    ((reth_req_t *)e->req)->frames--;
}

static void reth_on_data(reth_conn_t *c, const reth_hdr_t *h, const uint8_t *payload)
{
    reth_ctx_t *ctx = c->ctx;
    int rc;

    if (h->len > c->rx.maxpay) {
        ctx->cnt.dropped_proto++;
        return;
    }
    c->ack_due++;
    c->last_seq = h->seq;
    if (reth_rxwin_is_head(&c->rx, h->seq) && c->q_head) {
        reth_rx_take(c, h->msg_len, h->frag_off, payload, h->len);
        reth_rxwin_skip(&c->rx);
        reth_rx_drain(c); /* later fragments may be waiting */
    } else {
        rc = reth_rxwin_store(&c->rx, h->seq, h->msg_len, h->frag_off, payload, h->len);
        if (rc == RETH_RX_DUP)
            ctx->cnt.dups++;
        else if (rc == RETH_RX_NEW)
            reth_rx_drain(c);
        else if (rc < 0)
            reth_conn_fail(c, lc_seterr(rc, "raweth", "no memory for the receive window"));
    }
    if (c->ack_due >= ctx->window / 4 && reth_send_ctl(c, RETH_T_ACK) == 0)
        c->ack_due = 0;
}

void reth_xfer_frame(reth_conn_t *c, const reth_hdr_t *h, const uint8_t *payload)
{
    double now = lc_now();

    c->t_heard = now;
    if (c->kind == RETH_K_RECV && h->type == RETH_T_DATA) {
        reth_on_data(c, h, payload);
    } else if (c->kind == RETH_K_RECV && h->type == RETH_T_PING) {
        c->ack_due++;
    } else if (c->kind == RETH_K_SEND && h->type == RETH_T_ACK) {
        if (reth_txwin_ack(&c->tx, h->ack, h->sack, h->window, h->echo, now, reth_on_acked, c) < 0)
            return;
        while (c->q_head && c->q_head->started && c->q_head->frames == 0)
            reth_req_finish_head(c);
    } else {
        c->ctx->cnt.dropped_proto++;
    }
}

static void reth_send_tick(reth_conn_t *c, double now)
{
    reth_ctx_t *ctx = c->ctx;
    uint32_t seqs[RETH_RETX_BATCH];
    double idle = ctx->timeout / 4 < 1.0 ? ctx->timeout / 4 : 1.0;
    int n;

    if (c->q_head && now - c->t_heard > ctx->timeout) {
        reth_conn_fail(c, lc_seterr(-ETIMEDOUT, "raweth", "send to %s peer rank %d: no ack for "
                                    "%.1f s, giving up", ctx->ifc.name, c->peer_rank,
                                    ctx->timeout));
        return;
    }
    n = reth_txwin_due(&c->tx, now, seqs, RETH_RETX_BATCH);
    for (int i = 0; i < n; i++) {
        reth_txent_t *e = reth_txwin_get(&c->tx, seqs[i]);
        if (reth_send_data(c, e->req, seqs[i], e->off, e->len))
            break; /* ring full: the timer brings it back */
        ctx->cnt.retransmitted++;
    }
    reth_pump(c, now);
    /* Keepalive when idle; window probe when the receiver's window is shut. */
    if (now - c->t_tx > idle ||
        (c->q_frame && reth_txwin_inflight(&c->tx) == 0 && now - c->t_tx > c->tx.rto))
        (void)reth_send_ctl(c, RETH_T_PING);
}

static void reth_recv_tick(reth_conn_t *c, double now)
{
    reth_ctx_t *ctx = c->ctx;

    if (c->ack_due && reth_send_ctl(c, RETH_T_ACK) == 0)
        c->ack_due = 0;
    if (c->closing) {
        if (c->fin || now - c->t_heard > ctx->timeout)
            reth_conn_free(c);
        return;
    }
    if (!c->q_head)
        return;
    if (c->fin && c->rx.nxt == c->fin_seq && c->rx.cons == c->rx.nxt)
        reth_conn_fail(c, lc_seterr(LC_ERR_PEER, "raweth", "receive on %s: peer rank %d "
                                    "closed the connection", ctx->ifc.name, c->peer_rank));
    else if (now - c->t_heard > ctx->timeout)
        reth_conn_fail(c, lc_seterr(-ETIMEDOUT, "raweth", "receive on %s: nothing from peer "
                                    "rank %d for %.1f s, giving up", ctx->ifc.name,
                                    c->peer_rank, ctx->timeout));
}

void reth_xfer_tick(reth_conn_t *c, double now)
{
    if (c->kind == RETH_K_SEND)
        reth_send_tick(c, now);
    else
        reth_recv_tick(c, now);
}
