/*
 * tcp_req.c - requests of the tcp provider: posting sends and receives, and
 * test(), which drives the context's progress engine.
 *
 * Requests come from a per-context pool and stay valid until test() reports
 * them done (or failed) or the context is destroyed. A comm holds at most
 * TCP_MAX_REQS incomplete requests; beyond that isend/irecv return 0 with a
 * NULL request ("retry"). Requests that completed but were not tested yet
 * do not count.
 */
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

#define TCP_REQ_BLOCK 64

/* Take a request from the pool (grown by blocks); NULL when out of memory. */
static tcp_req_t *tcp_req_get(tcp_ctx_t *ctx)
{
    tcp_req_t *r;

    if (!ctx->free_reqs) {
        tcp_req_t *blk = calloc(TCP_REQ_BLOCK, sizeof(*blk));
        void **blocks = realloc(ctx->req_blocks, sizeof(void *) * (size_t)(ctx->nreq_blocks + 1));

        if (!blk || !blocks) {
            free(blk);
            if (blocks)
                ctx->req_blocks = blocks;
            lc_seterr(-ENOMEM, TCP_SUBSYS, "out of memory for requests");
            return NULL;
        }
        ctx->req_blocks = blocks;
        ctx->req_blocks[ctx->nreq_blocks++] = blk;
        for (int i = 0; i < TCP_REQ_BLOCK; i++) {
            blk[i].next_free = ctx->free_reqs;
            ctx->free_reqs = &blk[i];
        }
    }
    r = ctx->free_reqs;
    ctx->free_reqs = r->next_free;
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    lc_prov_obj_init(&r->base.obj, &lc_prov_tcp, LC_PROV_REQ);
    return r;
}

static void tcp_req_put(tcp_req_t *r)
{
    tcp_ctx_t *ctx = r->ctx;

    lc_prov_obj_kill(&r->base.obj);
    r->next_free = ctx->free_reqs;
    ctx->free_reqs = r;
}

/** @brief Free every request of the context (fini). */
void tcp_req_pool_free(tcp_ctx_t *ctx)
{
    for (int i = 0; i < ctx->nreq_blocks; i++)
        free(ctx->req_blocks[i]);
    free(ctx->req_blocks);
    ctx->req_blocks = NULL;
    ctx->nreq_blocks = 0;
    ctx->free_reqs = NULL;
}

/* Check and post a request on comm; *req NULL when the comm's ring is full. */
static int tcp_post(lc_prov_comm_t *h, int is_send, void *buf, size_t len, lc_prov_mr_t *mhandle,
                    lc_prov_req_t **req)
{
    const char *op = is_send ? "isend" : "irecv";
    tcp_comm_t *comm = (tcp_comm_t *)h;
    tcp_ctx_t *ctx;
    tcp_req_t *r;
    int rc;

    if (!req)
        return LC_EINVAL(TCP_SUBSYS, "%s: NULL argument", op);
    *req = NULL;
    if ((rc = lc_prov_check(h, is_send ? LC_PROV_SEND : LC_PROV_RECV, &lc_prov_tcp,
                            is_send ? "tcp isend" : "tcp irecv")))
        return rc;
    if (!buf && len > 0)
        return LC_EINVAL(TCP_SUBSYS, "%s: NULL buffer of %zu bytes", op, len);
    if (is_send && len > TCP_MAX_MSG)
        return LC_EINVAL(TCP_SUBSYS, "isend: %zu bytes exceed max_msg_size", len);
    if (mhandle && (rc = tcp_mr_check((tcp_mr_t *)mhandle, buf, len)))
        return rc;
    ctx = comm->ctx;
    pthread_mutex_lock(&ctx->lock);
    if (comm->err) {
        rc = comm->err;
        goto out;
    }
    if (comm->tail - comm->head >= TCP_MAX_REQS)
        goto out;
    r = tcp_req_get(ctx);
    if (!r) {
        rc = -ENOMEM;
        goto out;
    }
    r->comm = comm;
    r->seq = comm->tail;
    r->buf = buf;
    r->cap = len;
    if (is_send) {
        r->len = len;
        r->chunks_left = len ? (len + comm->chunk - 1) / comm->chunk : 1;
    }
    comm->ring[comm->tail % TCP_MAX_REQS] = r;
    comm->tail++;
    *req = &r->base;
out:
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}

/** @brief Post a send of len bytes (see provider.h). */
int tcp_isend(lc_prov_comm_t *send_comm, const void *buf, size_t len, lc_prov_mr_t *mhandle,
              lc_prov_req_t **req)
{
    return tcp_post(send_comm, 1, (void *)buf, len, mhandle, req);
}

/** @brief Post a receive of at most len bytes (see provider.h). */
int tcp_irecv(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mhandle,
              lc_prov_req_t **req)
{
    return tcp_post(recv_comm, 0, buf, len, mhandle, req);
}

/**
 * @brief The provider's progress op: one pass over the context, then the
 *        completed requests that carry a user field, oldest first.
 */
int tcp_progress_op(lc_prov_ctx_t *vctx, lc_prov_cqe_t *cqe, int max)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;
    int n = 0, rc = lc_prov_check(vctx, LC_PROV_CTX, &lc_prov_tcp, "tcp progress");

    if (rc)
        return rc;
    if (!cqe || max < 0)
        return LC_EINVAL(TCP_SUBSYS, "progress: NULL completions or negative max");
    pthread_mutex_lock(&ctx->lock);
    tcp_progress(ctx);
    while (n < max && ctx->cq_head) {
        tcp_req_t *r = ctx->cq_head;

        ctx->cq_head = r->next_free;
        if (!ctx->cq_head)
            ctx->cq_tail = NULL;
        cqe[n++] = (lc_prov_cqe_t){.user = r->base.user, .status = r->status, .size = r->len};
        tcp_req_put(r);
    }
    pthread_mutex_unlock(&ctx->lock);
    return n;
}

/**
 * @brief Progress the request's context and test the request; a finished
 *        request (done or failed) is freed.
 * @return 0, or the error the request failed with (*done is then 1 too).
 */
int tcp_test(lc_prov_req_t *vreq, int *done, size_t *size)
{
    tcp_req_t *r = (tcp_req_t *)vreq;
    tcp_ctx_t *ctx;
    int rc = lc_prov_check(vreq, LC_PROV_REQ, &lc_prov_tcp, "tcp test");

    if (rc)
        return rc;
    if (!done)
        return LC_EINVAL(TCP_SUBSYS, "test: NULL argument");
    ctx = r->ctx;
    pthread_mutex_lock(&ctx->lock);
    if (!r->done)
        tcp_progress(ctx);
    *done = r->done;
    if (r->done) {
        if (size)
            *size = r->len;
        rc = r->status;
        tcp_req_put(r);
    }
    pthread_mutex_unlock(&ctx->lock);
    return rc;
}
