/*
 * lcofi_progress.c - drives the context: reads the completion queue and hands
 * each completion (or error completion) to the object that posted it.
 */
#include <poll.h>
#include <sched.h>
#include <stdio.h>

#include "lcofi.h"

static void lcofi_dispatch(lcofi_ctx_t *ctx, lcofi_op_t *op, size_t len, uint64_t tag, int err,
                           const char *msg)
{
    op->posted = 0;
    switch (op->kind) {
    case LCOFI_OP_DATA:
    case LCOFI_OP_DRAIN:
        lcofi_req_on_op(op, len, tag, err, msg);
        break;
    case LCOFI_OP_HS_RECV:
        lcofi_listen_on_hs(op->owner, len, err);
        break;
    case LCOFI_OP_HS_SEND:
    case LCOFI_OP_CONFIRM_SEND:
        lcofi_connect_on_sent(op->owner, op, err, msg);
        break;
    case LCOFI_OP_ACK_RECV:
        lcofi_connect_on_ack(op->owner, len, op->cancel ? -ECANCELED : err);
        break;
    case LCOFI_OP_ACK_SEND: {
        lcofi_recv_comm_t *rc = op->owner;

        rc->ack_state = err ? lc_seterr(err, LCOFI_SUBSYS, "accept: reply failed: %s", msg) : 2;
        break;
    }
    case LCOFI_OP_CONFIRM_RECV:
        lcofi_listen_on_confirm(op->owner, len, op->cancel ? -ECANCELED : err);
        break;
    case LCOFI_OP_PROBE_SEND:
    case LCOFI_OP_PROBE_RECV:
        lcofi_peer_on_probe(ctx, op, err, msg);
        break;
    default:
        LC_WARN(LCOFI_SUBSYS, "completion for an unknown operation kind %d", op->kind);
    }
}

/* Read one error completion and dispatch it; 0, or -EAGAIN when there was none. */
static int lcofi_progress_err(lcofi_ctx_t *ctx)
{
    struct fi_cq_err_entry e = {0};
    char msg[256], prov[160];
    ssize_t n = fi_cq_readerr(ctx->cq, &e, 0);
    int err;

    if (n == -FI_EAGAIN)
        return -EAGAIN;
    if (n != 1)
        return lcofi_fierr(n < 0 ? (int)n : -FI_EOTHER, "fi_cq_readerr");
    /* an operation we did not cancel that ends cancelled was flushed by a
     * connection that went down */
    if (e.err == FI_ETRUNC)
        err = -EMSGSIZE;
    else if (e.err == FI_ECANCELED && e.op_context && ((lcofi_op_t *)e.op_context)->cancel)
        err = -ECANCELED;
    else if (e.err == FI_ECANCELED || e.err == FI_ENOTCONN || e.err == FI_ECONNRESET ||
             e.err == FI_ECONNABORTED)
        err = -ECONNRESET;
    else
        err = e.err == FI_ETIMEDOUT ? -ETIMEDOUT : -EIO;
    snprintf(msg, sizeof(msg), "%s (provider: %s)", fi_strerror(e.err),
             fi_cq_strerror(ctx->cq, e.prov_errno, e.err_data, prov, sizeof(prov)));
    if (!e.op_context)
        return lc_seterr(err, LCOFI_SUBSYS, "completion error without context: %s", msg);
    lcofi_dispatch(ctx, e.op_context, e.len, e.tag, err, msg);
    return 0;
}

int lcofi_progress(lcofi_ctx_t *ctx)
{
    struct fi_cq_tagged_entry ent[16];
    ssize_t n;
    int ret;

    for (;;) {
        n = fi_cq_read(ctx->cq, ent, 16);
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                lcofi_dispatch(ctx, ent[i].op_context, ent[i].len, ent[i].tag, 0, "");
            continue;
        }
        if (n == -FI_EAGAIN)
            break;
        if (n != -FI_EAVAIL)
            return lcofi_fierr((int)n, "fi_cq_read");
        ret = lcofi_progress_err(ctx);
        if (ret == -EAGAIN)
            break;
        if (ret)
            return ret;
    }
    lcofi_listen_retry(ctx);
    lcofi_peer_progress(ctx);
    return 0;
}

/*
 * ctx->stuck stays set for the context's life, even after a wait that ends in
 * time: in the teardown after a lost peer, cancelled receives complete at once
 * between the sends that never will, and clearing it on each of them would make
 * every stuck request wait LCOFI_QUIET_S again (a link-down error then reaches
 * the caller seconds late).
 */
int lcofi_wait_op(lcofi_ctx_t *ctx, lcofi_op_t *op)
{
    double t0 = lc_now();
    int ret;

    while (op->posted) {
        if ((ret = lcofi_progress(ctx)))
            return ret;
        if (op->posted && (ctx->stuck || lc_now() - t0 > LCOFI_QUIET_S)) {
            ctx->stuck = 1;
            return lc_seterr(-ETIMEDOUT, LCOFI_SUBSYS, "an operation did not complete in %g s",
                             LCOFI_QUIET_S);
        }
    }
    return 0;
}

/**
 * @brief The provider's wait op: sleep on the completion queue's wait fd
 *        until libfabric has something to report or timeout_us passes.
 *        fi_trywait() says when progress is still pending (then it returns at
 *        once); a queue without a wait fd only yields the CPU.
 */
int lcofi_wait(lc_prov_ctx_t *vctx, int timeout_us)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)vctx;
    struct fid *fids[1];
    struct pollfd pfd;

    if (!ctx || timeout_us < 0)
        return LC_EINVAL(LCOFI_SUBSYS, "wait: NULL context or negative timeout");
    if (ctx->wait_fd < 0) {
        sched_yield();
        return 0;
    }
    pthread_mutex_lock(&ctx->lock);
    fids[0] = &ctx->cq->fid;
    if (fi_trywait(ctx->fabric, fids, 1) == FI_SUCCESS) {
        pfd.fd = ctx->wait_fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        poll(&pfd, 1, (timeout_us + 999) / 1000);
    }
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}
