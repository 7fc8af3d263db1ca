/*
 * reth_conn.c - raweth connection set-up and teardown: listen handles,
 * the SYN / SYNACK / CONFIRM exchange behind non-blocking connect and
 * accept, FIN on close, and failing a connection's requests.
 *
 * Set-up authenticates both ends with fresh nonces: the SYN carries the
 * connector's nonce under the context's control key; the listener answers
 * with its own nonce in a SYNACK under the session key, derived from the
 * job's key, both nonces and both ends' ids; the connector's CONFIRM (or any
 * frame) under that key proves it, and only then does accept() return the
 * connection. A replayed SYN yields a connection nobody can prove, which
 * expires after the timeout; frames of other sessions fail the MAC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "reth.h"

int reth_listen(lc_prov_ctx_t *p, int dev, void *handle, lc_prov_comm_t **listen_comm)
{
    reth_ctx_t *ctx = (reth_ctx_t *)p;
    reth_handle_t h;
    reth_conn_t *c;
    int rc;

    if (!ctx || !handle || !listen_comm || dev != 0)
        return LC_EINVAL("raweth", "listen: bad context, device %d or output", dev);
    if ((rc = reth_conn_new(ctx, RETH_K_LISTEN, &c)))
        return rc;
    c->state = RETH_S_OPEN;
    memset(&h, 0, sizeof(h));
    h.magic = RETH_HANDLE_MAGIC;
    h.version = RETH_VERSION;
    h.queue = 0;
    memcpy(h.mac, ctx->ifc.mac, 6);
    h.ep = ctx->ep;
    h.listen_id = c->id;
    h.job_id = ctx->job_id;
    memcpy(handle, &h, sizeof(h));
    *listen_comm = &c->base;
    return 0;
}

static int reth_send_syn(reth_conn_t *c, double now)
{
    reth_hdr_t h = {.type = RETH_T_SYN};

    h.window = (uint16_t)c->ctx->window;
    h.frag_off = c->maxpay;
    c->t_syn = now;
    c->syn_tries++;
    return reth_send_frame(c->ctx, c, &h, c->nonce_c, RETH_NONCE_LEN);
}

static int reth_nonce(uint8_t nonce[RETH_NONCE_LEN])
{
    if (getrandom(nonce, RETH_NONCE_LEN, 0) != RETH_NONCE_LEN)
        return lc_seterr(-EIO, "raweth", "getrandom: %s", strerror(errno));
    return 0;
}

static void reth_put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int reth_conn_key(reth_conn_t *c)
{
    int is_send = c->kind == RETH_K_SEND;
    uint8_t ctx[2 * RETH_NONCE_LEN + 16], k[RETH_MAC_KEY_LEN];
    int rc;

    memcpy(ctx, c->nonce_c, RETH_NONCE_LEN);
    memcpy(ctx + RETH_NONCE_LEN, c->nonce_s, RETH_NONCE_LEN);
    /* connector's endpoint and connection, then the listener's */
    reth_put32le(ctx + 32, is_send ? c->ctx->ep : c->peer_ep);
    reth_put32le(ctx + 36, is_send ? c->id : c->peer_conn);
    reth_put32le(ctx + 40, is_send ? c->peer_ep : c->ctx->ep);
    reth_put32le(ctx + 44, is_send ? c->peer_conn : c->id);
    if ((rc = lc_prov_derive(c->ctx->key, "lioncub raweth session", ctx, sizeof(ctx), k,
                             sizeof(k))))
        return rc;
    reth_mackey_load(&c->key, k);
    c->keyed = 1;
    return 0;
}

int reth_connect(lc_prov_ctx_t *p, int dev, const void *handle, lc_prov_comm_t **send_comm)
{
    reth_ctx_t *ctx = (reth_ctx_t *)p;
    reth_conn_t *c = NULL;
    reth_handle_t h;
    int rc;

    if (!ctx || !handle || !send_comm || dev != 0)
        return LC_EINVAL("raweth", "connect: bad context, device %d, handle or output", dev);
    *send_comm = NULL;
    memcpy(&h, handle, sizeof(h));
    if (h.magic != RETH_HANDLE_MAGIC || h.version != RETH_VERSION)
        return lc_seterr(LC_ERR_PROTO, "raweth", "connect: not a raweth handle of version %d",
                         RETH_VERSION);
    if (h.job_id != ctx->job_id)
        return lc_seterr(LC_ERR_JOB_KEY, "raweth", "connect: the handle belongs to another job");
    reth_progress(ctx);
    for (uint32_t i = 0; i < ctx->nconns && !c; i++) {
        reth_conn_t *x = ctx->conns[i];
        if (x && x->kind == RETH_K_SEND && !x->handed_out && x->peer_ep == h.ep &&
            x->listen_id == h.listen_id && !memcmp(x->peer_mac, h.mac, 6))
            c = x;
    }
    if (!c) {
        if ((rc = reth_conn_new(ctx, RETH_K_SEND, &c)))
            return rc;
        c->state = RETH_S_CONNECTING;
        memcpy(c->peer_mac, h.mac, 6);
        c->peer_ep = h.ep;
        c->peer_conn = h.listen_id;
        c->listen_id = h.listen_id;
        if ((rc = reth_nonce(c->nonce_c))) {
            reth_conn_free(c);
            return rc;
        }
        reth_send_syn(c, lc_now());
        ctx->dpo->tx_flush(ctx->dp);
        return 0;
    }
    if (c->state == RETH_S_FAILED) {
        rc = c->err;
        reth_conn_free(c);
        return rc;
    }
    if (c->state == RETH_S_OPEN) {
        c->handed_out = 1;
        *send_comm = &c->base;
    }
    return 0;
}

int reth_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm)
{
    reth_conn_t *l = (reth_conn_t *)listen_comm, *c;

    if (!l || !recv_comm || l->kind != RETH_K_LISTEN)
        return LC_EINVAL("raweth", "accept: bad listen comm or output");
    *recv_comm = NULL;
    reth_progress(l->ctx);
    c = l->acc_head;
    if (c) {
        l->acc_head = c->acc_next;
        if (!l->acc_head)
            l->acc_tail = NULL;
        c->acc_next = NULL;
        c->handed_out = 1;
        *recv_comm = &c->base;
    }
    return 0;
}

static void reth_send_synack(reth_conn_t *c, double now)
{
    reth_hdr_t h = {.type = RETH_T_SYNACK};

    h.window = (uint16_t)c->ctx->window;
    h.frag_off = c->maxpay;
    c->t_syn = now;
    c->syn_tries++;
    /* a lost SYNACK is resent on the next SYN or by reth_conn_tick */
    (void)reth_send_frame(c->ctx, c, &h, c->nonce_s, RETH_NONCE_LEN);
}

/* A SYN for listen comm l: create (or find again) the receive connection. */
static void reth_on_syn(reth_ctx_t *ctx, reth_conn_t *l, const reth_hdr_t *h,
                        const uint8_t *payload)
{
    reth_conn_t *c;

    for (uint32_t i = 0; i < ctx->nconns; i++) {
        c = ctx->conns[i];
        if (c && c->kind == RETH_K_RECV && c->peer_ep == h->src_ep &&
            c->peer_conn == h->src_conn && !memcmp(c->peer_mac, h->src_mac, 6)) {
            if (!memcmp(c->nonce_c, payload, RETH_NONCE_LEN))
                reth_send_synack(c, lc_now()); /* our SYNACK was lost */
            return;
        }
    }
    if (reth_conn_new(ctx, RETH_K_RECV, &c))
        return; /* the peer retries; the error was logged */
    c->state = RETH_S_OPEN;
    memcpy(c->peer_mac, h->src_mac, 6);
    c->peer_ep = h->src_ep;
    c->peer_conn = h->src_conn;
    c->peer_rank = h->src_rank;
    c->listen_id = l->id;
    c->t_heard = lc_now();
    if (h->frag_off && h->frag_off < c->maxpay)
        c->maxpay = h->frag_off;
    memcpy(c->nonce_c, payload, RETH_NONCE_LEN);
    if (reth_nonce(c->nonce_s) || reth_conn_key(c)) {
        reth_conn_free(c);
        return;
    }
    reth_send_synack(c, c->t_heard);
}

void reth_conn_proven(reth_conn_t *c)
{
    reth_conn_t *l = reth_conn_lookup(c->ctx, c->listen_id);

    c->proven = 1;
    if (c->kind != RETH_K_RECV)
        return;
    if (!l || l->kind != RETH_K_LISTEN) { /* the listener closed meanwhile */
        c->closing = 1;
        return;
    }
    if (l->acc_tail)
        l->acc_tail->acc_next = c;
    else
        l->acc_head = c;
    l->acc_tail = c;
}

static void reth_send_confirm(reth_conn_t *c)
{
    reth_hdr_t h = {.type = RETH_T_CONFIRM};

    (void)reth_send_frame(c->ctx, c, &h, NULL, 0); /* lost: the listener resends its SYNACK */
}

/* A SYNACK for send comm c: check it under the session key its nonce gives. */
static void reth_on_synack(reth_ctx_t *ctx, reth_conn_t *c, const reth_hdr_t *h,
                           const uint8_t *frame, const uint8_t *payload)
{
    if (c->state == RETH_S_CONNECTING) {
        reth_conn_t probe = *c; /* keyed from this SYNACK, adopted only if it verifies */

        probe.peer_conn = h->src_conn;
        memcpy(probe.nonce_s, payload, RETH_NONCE_LEN);
        if (reth_conn_key(&probe) || reth_frame_verify(frame, h, &probe.key)) {
            ctx->cnt.dropped_mac++;
            return;
        }
        c->peer_conn = h->src_conn;
        memcpy(c->nonce_s, payload, RETH_NONCE_LEN);
        c->key = probe.key;
        c->keyed = c->proven = 1;
        c->peer_rank = h->src_rank;
        if (h->frag_off && h->frag_off < c->maxpay)
            c->maxpay = h->frag_off;
        c->tx.peer_end = h->window;
        c->state = RETH_S_OPEN;
        c->t_heard = lc_now();
    } else if (!c->keyed || c->peer_conn != h->src_conn ||
               reth_frame_verify(frame, h, &c->key)) {
        ctx->cnt.dropped_mac++;
        return;
    }
    reth_send_confirm(c); /* again for a resent SYNACK: our CONFIRM was lost */
}

void reth_conn_control(reth_ctx_t *ctx, reth_conn_t *c, const reth_hdr_t *h,
                       const uint8_t *frame, const uint8_t *payload)
{
    if (!c)
        c = reth_conn_lookup(ctx, h->dst_conn);
    if (c && h->type == RETH_T_SYN && c->kind == RETH_K_LISTEN) {
        if (h->len != RETH_NONCE_LEN || reth_frame_verify(frame, h, &ctx->ctl))
            ctx->cnt.dropped_mac++;
        else
            reth_on_syn(ctx, c, h, payload);
        return;
    }
    if (!c || c->peer_ep != h->src_ep || memcmp(c->peer_mac, h->src_mac, 6)) {
        ctx->cnt.dropped_unknown++;
        return;
    }
    if (h->type == RETH_T_SYNACK && c->kind == RETH_K_SEND && h->len == RETH_NONCE_LEN) {
        reth_on_synack(ctx, c, h, frame, payload);
    } else if (h->type == RETH_T_CONFIRM && c->kind == RETH_K_RECV) {
        c->t_heard = lc_now(); /* proven by its MAC already */
    } else if (h->type == RETH_T_FIN && c->kind == RETH_K_RECV && c->peer_conn == h->src_conn) {
        c->fin = 1;
        c->fin_seq = h->seq;
        c->t_heard = lc_now();
    } else {
        ctx->cnt.dropped_unknown++;
    }
}

void reth_conn_tick(reth_conn_t *c, double now)
{
    double rto = RETH_RTO_INIT;

    for (int i = 1; i < c->syn_tries && rto < RETH_RTO_MAX; i++)
        rto *= 2;
    if (c->kind == RETH_K_RECV) { /* not proven yet */
        if (now - c->t_heard > c->ctx->timeout)
            reth_conn_free(c); /* nobody proved the session (a replayed SYN) */
        else if (now - c->t_syn >= (rto < RETH_RTO_MAX ? rto : RETH_RTO_MAX))
            reth_send_synack(c, now);
        return;
    }
    if (now - c->t_heard > c->ctx->timeout) {
        c->state = RETH_S_FAILED;
        c->err = lc_seterr(-ETIMEDOUT, "raweth",
                           "connect: no answer from %02x:%02x:%02x:%02x:%02x:%02x on %s within "
                           "%.1f s", c->peer_mac[0], c->peer_mac[1], c->peer_mac[2],
                           c->peer_mac[3], c->peer_mac[4], c->peer_mac[5], c->ctx->ifc.name,
                           c->ctx->timeout);
    } else if (now - c->t_syn >= (rto < RETH_RTO_MAX ? rto : RETH_RTO_MAX)) {
        reth_send_syn(c, now);
    }
}

void reth_conn_fail(reth_conn_t *c, int err)
{
    c->state = RETH_S_FAILED;
    c->err = err;
    while (c->q_head) {
        reth_req_t *r = c->q_head;

        c->q_head = r->next;
        reth_req_done(c, r, err);
    }
    c->q_tail = c->q_frame = NULL;
}

/* Requests still queued at close are freed with their connection. */
int reth_close_send(lc_prov_comm_t *send_comm)
{
    reth_conn_t *c = (reth_conn_t *)send_comm;

    if (!c || c->kind != RETH_K_SEND)
        return LC_EINVAL("raweth", "close_send: not a send comm");
    if (c->state == RETH_S_OPEN) {
        reth_hdr_t h = {.type = RETH_T_FIN};
        h.seq = c->tx.nxt;
        (void)reth_send_frame(c->ctx, c, &h, NULL, 0);
        c->ctx->dpo->tx_flush(c->ctx->dp);
    }
    reth_conn_free(c);
    return 0;
}

/*
 * The sender's last frames may still wait for our ack (an ack can be lost):
 * until its FIN comes (or the timeout), the connection stays in the table
 * and keeps acknowledging, without requests.
 */
int reth_close_recv(lc_prov_comm_t *recv_comm)
{
    reth_conn_t *c = (reth_conn_t *)recv_comm;

    if (!c || c->kind != RETH_K_RECV || c->closing)
        return LC_EINVAL("raweth", "close_recv: not an open recv comm");
    if (c->state != RETH_S_OPEN || c->fin) {
        reth_conn_free(c);
        return 0;
    }
    while (c->q_head) {
        reth_req_t *r = c->q_head;
        c->q_head = r->next;
        free(r);
    }
    c->q_tail = NULL;
    c->closing = 1;
    return 0;
}

int reth_close_listen(lc_prov_comm_t *listen_comm)
{
    reth_conn_t *l = (reth_conn_t *)listen_comm;

    if (!l || l->kind != RETH_K_LISTEN)
        return LC_EINVAL("raweth", "close_listen: not a listen comm");
    while (l->acc_head) {
        reth_conn_t *c = l->acc_head;
        l->acc_head = c->acc_next;
        reth_conn_free(c);
    }
    reth_conn_free(l);
    return 0;
}
