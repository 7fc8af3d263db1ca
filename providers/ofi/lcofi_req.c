/*
 * lcofi_req.c - messages of the ofi provider: isend/irecv/test. A message is
 * posted as tagged operations of at most the connection's chunk size (one
 * operation unless the provider's max_msg_size is smaller than the message);
 * each tag holds the connection id, the message's sequence number and the
 * chunk index, the last chunk is flagged, so the receiver learns the size.
 * Every receive can take a whole chunk: the part of a chunk beyond the
 * caller's buffer lands in the context's scratch buffer (a second iov), so
 * libfabric never truncates (a truncation closes the connection in the tcp
 * provider of libfabric 1.17). A message too large for the buffer ends with
 * -EMSGSIZE after its remaining chunks were swallowed into the scratch.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

static size_t lcofi_chunk_len(const lcofi_req_t *req, uint32_t i)
{
    size_t off = (size_t)i * req->chunk;

    if (off >= req->len)
        return 0;
    return req->len - off < req->chunk ? req->len - off : req->chunk;
}

/* Record the request's first error and its message. */
__attribute__((format(printf, 3, 4))) static void lcofi_req_fail(lcofi_req_t *req, int err,
                                                                 const char *fmt, ...)
{
    va_list ap;

    if (req->err)
        return;
    req->err = err;
    va_start(ap, fmt);
    vsnprintf(req->errmsg, sizeof(req->errmsg), fmt, ap);
    va_end(ap);
}

/* Cancel the posted chunk operations from index from on. */
static void lcofi_req_cancel_from(lcofi_req_t *req, uint32_t from)
{
    for (uint32_t i = from; i < req->nposted; i++)
        if (req->ops[i].posted && !req->ops[i].cancel) {
            req->ops[i].cancel = 1;
            fi_cancel(&req->ctx->ep->fid, &req->ops[i]);
        }
    if (req->nwant > from)
        req->nwant = from > req->nposted ? from : req->nposted;
}

static void lcofi_req_drain_post(lcofi_req_t *req)
{
    lcofi_ctx_t *ctx = req->ctx;
    ssize_t ret;

    ret =
        fi_trecv(ctx->ep, ctx->scratch, req->chunk, ctx->scratch_mr ? ctx->scratch_mr->desc : NULL,
                 ctx->directed ? req->peer : FI_ADDR_UNSPEC, req->tag | req->drain_op.idx,
                 LCOFI_TAG_LAST, &req->drain_op);
    if (ret == -FI_EAGAIN) {
        req->draining = 2;
    } else if (ret) {
        lcofi_fierr((int)ret, "fi_trecv(drain)");
        req->draining = 0;
    } else {
        req->drain_op.posted = 1;
        req->draining = 1;
    }
}

/* The message is larger than the buffer: swallow its chunks from index idx on. */
static void lcofi_req_drain_from(lcofi_req_t *req, uint32_t idx)
{
    if (idx >= LCOFI_CHUNK_MAX)
        return;
    req->drain_op.kind = LCOFI_OP_DRAIN;
    req->drain_op.owner = req;
    req->drain_op.idx = idx;
    lcofi_req_drain_post(req);
}

static void lcofi_req_on_drain(lcofi_req_t *req, uint64_t tag, int err)
{
    uint32_t idx = req->drain_op.idx;

    req->draining = 0;
    if (!err && !(tag & LCOFI_TAG_LAST))
        lcofi_req_drain_from(req, idx + 1);
}

void lcofi_req_on_op(lcofi_op_t *op, size_t len, uint64_t tag, int err, const char *msg)
{
    lcofi_req_t *req = op->owner;
    uint32_t idx = op->idx;
    size_t room = lcofi_chunk_len(req, idx);

    if (op->kind == LCOFI_OP_DRAIN) {
        lcofi_req_on_drain(req, tag, err);
        return;
    }
    req->ndone++;
    if (req->is_send) {
        req->ctx->tx_inflight--;
        req->pe->tx_inflight--;
    }
    if (err == -ECANCELED && op->cancel)
        return;
    if (err == -ECONNRESET) { /* flushed by the connection going down */
        lcofi_peer_lost(req->ctx, req->pe, msg);
        return;
    }
    if (err) {
        lcofi_req_fail(req, err, "%s failed: %s", req->is_send ? "send" : "receive", msg);
        if (!req->is_send)
            lcofi_req_cancel_from(req, 0);
        return;
    }
    lcofi_peer_heard(req->pe);
    if (req->is_send)
        return;
    if (len > room || (!(tag & LCOFI_TAG_LAST) && idx + 1 == req->nops)) {
        lcofi_req_fail(req, -EMSGSIZE,
                       "message of more than %zu bytes does not fit the %zu-byte receive buffer",
                       (size_t)idx * req->chunk + room, req->len);
        if (!(tag & LCOFI_TAG_LAST))
            lcofi_req_drain_from(req, idx + 1);
    } else if (tag & LCOFI_TAG_LAST) {
        req->size = (size_t)idx * req->chunk + len;
        lcofi_req_cancel_from(req, idx + 1);
    }
}

/* Whether none of req's operations is still posted. */
static int lcofi_req_idle(const lcofi_req_t *req)
{
    for (uint32_t i = 0; i < req->nposted; i++)
        if (req->ops[i].posted)
            return 0;
    return !req->drain_op.posted;
}

/* Whether every chunk of req was posted and completed. */
static int lcofi_req_complete(const lcofi_req_t *req)
{
    return !req->draining && req->ndone >= req->nposted && req->nposted >= req->nwant;
}

void lcofi_req_peer_lost(lcofi_ctx_t *ctx, lcofi_peer_t *pe, const char *msg)
{
    for (lcofi_req_t *req = ctx->reqs; req; req = req->next) {
        if (req->pe != pe || req->zombie || req->err == -ECONNRESET || lcofi_req_complete(req))
            continue;
        lcofi_req_fail(req, -ECONNRESET, "%s", msg);
        lcofi_req_cancel_from(req, 0);
        if (req->draining && req->drain_op.posted && !req->drain_op.cancel) {
            req->drain_op.cancel = 1;
            fi_cancel(&ctx->ep->fid, &req->drain_op);
        }
        req->draining = 0;
    }
}

/* Post receive chunk i: the caller's part of the buffer, then the scratch. */
static ssize_t lcofi_req_post_recv(lcofi_req_t *req, uint32_t i)
{
    lcofi_ctx_t *ctx = req->ctx;
    size_t n = lcofi_chunk_len(req, i);
    struct iovec iov[2];
    void *desc[2];
    size_t k = 0;

    if (n) {
        iov[k].iov_base = req->buf + (size_t)i * req->chunk;
        iov[k].iov_len = n;
        desc[k++] = req->desc;
    }
    if (n < req->chunk) {
        iov[k].iov_base = ctx->scratch;
        iov[k].iov_len = req->chunk - n;
        desc[k++] = ctx->scratch_mr ? ctx->scratch_mr->desc : NULL;
    }
    return fi_trecvv(ctx->ep, iov, desc, k, ctx->directed ? req->peer : FI_ADDR_UNSPEC,
                     req->tag | i, LCOFI_TAG_LAST, &req->ops[i]);
}

/* Post the chunks not yet posted; stops at the first that finds no room. */
static void lcofi_req_post_more(lcofi_req_t *req)
{
    lcofi_ctx_t *ctx = req->ctx;

    if (req->draining == 2)
        lcofi_req_drain_post(req);
    while (req->nposted < req->nwant) {
        uint32_t i = req->nposted;
        ssize_t ret;

        if (req->is_send)
            ret = fi_tsend(ctx->ep, req->buf ? req->buf + (size_t)i * req->chunk : NULL,
                           lcofi_chunk_len(req, i), req->desc, req->peer,
                           req->tag | i | (i + 1 == req->nops ? LCOFI_TAG_LAST : 0), &req->ops[i]);
        else
            ret = lcofi_req_post_recv(req, i);
        if (ret == -FI_EAGAIN)
            return;
        if (ret) {
            lcofi_req_fail(req, lcofi_fierr((int)ret, req->is_send ? "fi_tsend" : "fi_trecv"), "%s",
                           lc_last_error());
            lcofi_req_cancel_from(req, 0);
            return;
        }
        req->ops[i].posted = 1;
        req->nposted++;
        if (req->is_send) {
            ctx->tx_inflight++;
            req->pe->tx_inflight++;
        }
    }
}

static void lcofi_req_free(lcofi_req_t *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else if (req->ctx->reqs == req)
        req->ctx->reqs = req->next;
    if (req->next)
        req->next->prev = req->prev;
    lcofi_mr_release(req->ctx, req->tmp_mr);
    free(req);
}

/* Whether every operation of req has completed or was cancelled, within LCOFI_QUIET_S each. */
static int lcofi_req_quiet(lcofi_req_t *req)
{
    for (uint32_t i = 0; i < req->nposted; i++)
        if (req->ops[i].posted && lcofi_wait_op(req->ctx, &req->ops[i]))
            return 0;
    return !req->draining || !req->drain_op.posted || !lcofi_wait_op(req->ctx, &req->drain_op);
}

void lcofi_req_abandon(lcofi_ctx_t *ctx, int64_t comm_id, int is_send, fi_addr_t peer)
{
    lcofi_req_t *req = ctx->reqs, *next;

    for (; req; req = next) {
        uint64_t id = req->tag >> LCOFI_COMM_SHIFT & LCOFI_COMM_MASK;

        next = req->next;
        if (comm_id >= 0 && (req->is_send != is_send || id != (uint64_t)comm_id ||
                             (is_send && req->peer != peer)))
            continue;
        lcofi_req_cancel_from(req, 0);
        if (req->draining && req->drain_op.posted && !req->drain_op.cancel) {
            req->drain_op.cancel = 1;
            fi_cancel(&ctx->ep->fid, &req->drain_op);
        }
        /* a request whose operations did not end in time keeps its memory (leaks)
         * rather than let the provider write into freed memory */
        if (lcofi_req_quiet(req))
            lcofi_req_free(req);
    }
}

/* The context's overflow scratch, made at the first receive. */
static int lcofi_scratch(lcofi_ctx_t *ctx)
{
    void *p;
    int ret;

    if (ctx->scratch)
        return 0;
    if (posix_memalign(&p, 4096, ctx->chunk))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "no memory for a %zu-byte receive scratch",
                         ctx->chunk);
    if (ctx->need_local && (ret = lcofi_mr_acquire(ctx, p, ctx->chunk, &ctx->scratch_mr))) {
        free(p);
        return ret;
    }
    ctx->scratch = p;
    return 0;
}

/* Create and start a request; *out NULL (and 0) when nothing could be posted yet. */
static int lcofi_req_start(lcofi_ctx_t *ctx, int is_send, const void *buf, size_t len, size_t chunk,
                           uint64_t tag, lcofi_peer_t *pe, lcofi_mr_t *mh, lcofi_req_t **out)
{
    size_t nops = len ? (len - 1) / chunk + 1 : 1;
    lcofi_req_t *req;
    int ret;

    *out = NULL;
    /* a receive may still match a message that arrived before the peer left
     * (the progress pass after it fails it otherwise) */
    if (pe->dead && is_send)
        return lc_seterr(-ECONNRESET, LCOFI_SUBSYS, "isend: the connection to the peer is gone");
    if (!is_send && (ret = lcofi_scratch(ctx)))
        return ret;
    if (nops > LCOFI_CHUNK_MAX) {
        if (is_send)
            return lc_seterr(-EMSGSIZE, LCOFI_SUBSYS, "isend: %zu bytes exceed %u chunks of %zu",
                             len, LCOFI_CHUNK_MAX, chunk);
        nops = LCOFI_CHUNK_MAX;
        len = nops * chunk; /* a receive may offer more than any message needs */
    }
    if (!(req = calloc(1, sizeof(*req) + nops * sizeof(req->ops[0]))))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "out of memory for a request");
    lc_prov_obj_init(&req->base.obj, &lc_prov_ofi, LC_PROV_REQ);
    req->ctx = ctx;
    req->is_send = is_send;
    req->buf = (char *)buf;
    req->len = len;
    req->chunk = chunk;
    req->size = is_send ? len : 0;
    req->tag = tag;
    req->peer = pe->fa;
    req->pe = pe;
    req->nops = req->nwant = (uint32_t)nops;
    for (uint32_t i = 0; i < nops; i++) {
        req->ops[i].kind = LCOFI_OP_DATA;
        req->ops[i].owner = req;
        req->ops[i].idx = i;
    }
    if (mh)
        req->desc = mh->desc;
    else if ((ret = lcofi_mr_local(ctx, buf, len, &req->tmp_mr, &req->desc)))
        goto fail;
    lcofi_req_post_more(req);
    if (req->err && req->nposted == 0) {
        ret = lc_seterr(req->err, LCOFI_SUBSYS, "%s", req->errmsg);
        goto fail;
    }
    if (req->nposted == 0) { /* no room: the caller retries */
        lcofi_req_free(req);
        return lcofi_progress(ctx);
    }
    req->next = ctx->reqs;
    if (ctx->reqs)
        ctx->reqs->prev = req;
    ctx->reqs = req;
    pe->last_seen = lc_now(); /* probed once it waits LCOFI_PROBE_S */
    *out = req;
    return 0;
fail:
    lcofi_req_free(req);
    return ret;
}

static uint64_t lcofi_tag(uint32_t comm_id, uint32_t seq)
{
    return ((uint64_t)(comm_id & LCOFI_COMM_MASK) << LCOFI_COMM_SHIFT) |
           ((uint64_t)(seq & LCOFI_SEQ_MASK) << LCOFI_SEQ_SHIFT);
}

int lcofi_isend(lc_prov_comm_t *comm, const void *buf, size_t len, lc_prov_mr_t *mhandle,
                lc_prov_req_t **out)
{
    lcofi_send_comm_t *sc = (lcofi_send_comm_t *)comm;
    lcofi_req_t *req;
    int ret;

    if (!sc || !out || (!buf && len))
        return LC_EINVAL(LCOFI_SUBSYS, "isend: NULL argument");
    *out = NULL;
    if (sc->state != 1)
        return LC_EINVAL(LCOFI_SUBSYS, "isend: not a connected send comm");
    pthread_mutex_lock(&sc->ctx->lock);
    ret = lcofi_req_start(sc->ctx, 1, buf, len, sc->chunk, lcofi_tag(sc->remote_id, sc->seq),
                          sc->pe, (lcofi_mr_t *)mhandle, &req);
    if (!ret && req) {
        sc->seq++;
        *out = &req->base;
    }
    pthread_mutex_unlock(&sc->ctx->lock);
    return ret;
}

int lcofi_irecv(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t *mhandle,
                lc_prov_req_t **out)
{
    lcofi_recv_comm_t *rc = (lcofi_recv_comm_t *)comm;
    lcofi_req_t *req;
    int ret;

    if (!rc || !out || (!buf && len))
        return LC_EINVAL(LCOFI_SUBSYS, "irecv: NULL argument");
    *out = NULL;
    pthread_mutex_lock(&rc->ctx->lock);
    ret = lcofi_req_start(rc->ctx, 0, buf, len, rc->chunk, lcofi_tag(rc->id, rc->seq), rc->pe,
                          (lcofi_mr_t *)mhandle, &req);
    if (!ret && req) {
        rc->seq++;
        *out = &req->base;
    }
    pthread_mutex_unlock(&rc->ctx->lock);
    return ret;
}

/* Whether req's result is final: every chunk posted and completed, or its peer is gone. */
static int lcofi_req_done(const lcofi_req_t *req)
{
    return (req->pe->dead && req->err) || lcofi_req_complete(req);
}

/* Free the requests reported done whose operations have all ended since. */
static void lcofi_req_sweep(lcofi_ctx_t *ctx)
{
    for (lcofi_req_t *req = ctx->reqs, *next; req; req = next) {
        next = req->next;
        if (req->zombie && lcofi_req_idle(req))
            lcofi_req_free(req);
    }
}

/* A request reported done: freed, or kept until its operations end (peer gone). */
static void lcofi_req_finish(lcofi_req_t *req)
{
    if (lcofi_req_idle(req)) {
        lcofi_req_free(req);
        return;
    }
    lc_prov_obj_kill(&req->base.obj);
    req->base.user = NULL;
    req->zombie = 1;
}

/**
 * @brief The provider's progress op: one pass over the completion queue, more
 *        chunks posted where there is room, then the finished requests that
 *        carry a user field.
 */
int lcofi_progress_op(lc_prov_ctx_t *vctx, lc_prov_cqe_t *cqe, int max)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)vctx;
    lcofi_req_t *req, *next;
    int n = 0, ret = lc_prov_check(vctx, LC_PROV_CTX, &lc_prov_ofi, "ofi progress");

    if (ret)
        return ret;
    if (!cqe || max < 0)
        return LC_EINVAL(LCOFI_SUBSYS, "progress: NULL completions or negative max");
    pthread_mutex_lock(&ctx->lock);
    ret = lcofi_progress(ctx);
    lcofi_req_sweep(ctx);
    for (req = ctx->reqs; !ret && req && n < max; req = next) {
        next = req->next;
        if (!req->base.user || req->zombie)
            continue; /* test() reports it, or it was reported */
        lcofi_req_post_more(req);
        if (!lcofi_req_done(req))
            continue;
        cqe[n++] = (lc_prov_cqe_t){
            .user = req->base.user,
            .status = req->err ? lc_seterr(req->err, LCOFI_SUBSYS, "%s", req->errmsg) : 0,
            .size = req->err ? 0 : req->size};
        lcofi_req_finish(req);
    }
    pthread_mutex_unlock(&ctx->lock);
    return ret ? ret : n;
}

int lcofi_test(lc_prov_req_t *arg, int *done, size_t *size)
{
    lcofi_req_t *req = (lcofi_req_t *)arg;
    lcofi_ctx_t *ctx;
    int ret;

    if (!req || !done)
        return LC_EINVAL(LCOFI_SUBSYS, "test: NULL argument");
    ctx = req->ctx;
    *done = 0;
    pthread_mutex_lock(&ctx->lock);
    if ((ret = lcofi_progress(ctx)))
        goto out;
    lcofi_req_sweep(ctx);
    lcofi_req_post_more(req);
    if (!lcofi_req_done(req))
        goto out;
    *done = 1;
    if (size)
        *size = req->err ? 0 : req->size;
    if (req->err)
        ret = lc_seterr(req->err, LCOFI_SUBSYS, "%s", req->errmsg);
    lcofi_req_finish(req);
out:
    pthread_mutex_unlock(&ctx->lock);
    return ret;
}
