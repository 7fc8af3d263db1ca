/*
 * tcp_progress.c - the progress engine of the tcp provider: moves the bytes
 * of posted messages between user buffers and sockets (wire format in tcp.h).
 *
 * Every socket of a context sits in one edge-triggered epoll set. A socket's
 * "ready" flag is cleared when an I/O call hits EAGAIN and set again when
 * epoll reports an edge, so tcp_progress() makes one epoll_wait call and
 * then only touches sockets that have work and may not block. It is called
 * by test() (on any request) and moves every comm of the context.
 */
#include <endian.h>
#include <time.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tcp.h"

#define TCP_EPOLL_BATCH 64
#define TCP_MAX_PASSES 8
#ifndef TCP_POLL_GAP_NS
#define TCP_POLL_GAP_NS 1000
#endif

static uint64_t tcp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/**
 * @brief Mark a request complete (status already set) and drop it from its
 *        comm's ring; the request no longer refers to the comm.
 */
void tcp_req_complete(tcp_req_t *req)
{
    tcp_comm_t *comm = req->comm;

    req->done = 1;
    req->comm = NULL;
    comm->ring[req->seq % TCP_MAX_REQS] = NULL;
    if (req->base.user) { /* progress() reports it */
        tcp_ctx_t *ctx = req->ctx;

        req->next_free = NULL;
        if (ctx->cq_tail)
            ctx->cq_tail->next_free = req;
        else
            ctx->cq_head = req;
        ctx->cq_tail = req;
    }
    while (comm->head < comm->tail && !comm->ring[comm->head % TCP_MAX_REQS])
        comm->head++;
}

/* Move socket s on to message seq: its first chunk there, nothing done. */
static void tcp_sock_next(tcp_sock_t *s, uint64_t seq)
{
    uint64_t n = (uint64_t)s->comm->nsocks;

    s->seq = seq;
    s->chunk = ((uint64_t)s->idx + n - seq % n) % n;
    s->off = 0;
    s->hdr_off = 0;
}

static int tcp_sock_is_lead(const tcp_sock_t *s)
{
    return s->seq % (uint64_t)s->comm->nsocks == (uint64_t)s->idx;
}

/* Length of chunk k of a message. */
static size_t tcp_chunk_len(const tcp_comm_t *c, const tcp_req_t *r, uint64_t k)
{
    size_t rest = r->len - (size_t)k * c->chunk;

    return rest < c->chunk ? rest : c->chunk;
}

/* An I/O call failed with errno e (or hit end of file when eof): 0 to stop for now, or fail. */
static int tcp_io_error(tcp_sock_t *s, int eof, int e)
{
    tcp_comm_t *c = s->comm;
    int err;

    if (!eof && (e == EAGAIN || e == EWOULDBLOCK)) {
        s->ready = 0;
        return 0;
    }
    if (eof)
        err = lc_seterr(-ECONNRESET, TCP_SUBSYS, "connection from %s closed by the peer",
                        c->peer);
    else
        err = lc_seterr(tcp_errno_to_err(e), TCP_SUBSYS, "%s %s (socket %d): %s",
                        c->is_send ? "send to" : "receive from", c->peer, s->idx, strerror(e));
    tcp_comm_fail(c, err);
    return err;
}

/*
 * Read up to want bytes of socket s's stream into dst, like recv(). Small
 * reads go through the socket's read-ahead buffer, so that a header and a
 * small payload (or several small messages) cost one system call.
 */
static ssize_t tcp_sock_read(tcp_sock_t *s, void *dst, size_t want)
{
    size_t n = s->stage_end - s->stage_pos;
    ssize_t got;

    if (n == 0 && want >= TCP_STAGE_SIZE / 2)
        return recv(s->fd, dst, want, MSG_DONTWAIT);
    if (n == 0) {
        got = recv(s->fd, s->stage, TCP_STAGE_SIZE, MSG_DONTWAIT);
        if (got <= 0)
            return got;
        s->stage_pos = 0;
        s->stage_end = (size_t)got;
        n = (size_t)got;
    }
    n = n < want ? n : want;
    memcpy(dst, s->stage + s->stage_pos, n);
    s->stage_pos += n;
    return (ssize_t)n;
}

/* Send header (lead socket) and chunk 0 together. >0 progress, 0 blocked, <0 failed. */
static int tcp_send_hdr(tcp_sock_t *s, tcp_req_t *r)
{
    struct iovec iov[2];
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 1};
    size_t hlen = sizeof(r->hdr) - s->hdr_off, n;
    ssize_t rc;

    iov[0].iov_base = (char *)&r->hdr + s->hdr_off;
    iov[0].iov_len = hlen;
    if (r->nchunks > 0) { /* the lead socket carries chunk 0 */
        iov[1].iov_base = r->buf + s->off;
        iov[1].iov_len = tcp_chunk_len(s->comm, r, 0) - s->off;
        msg.msg_iovlen = 2;
    }
    do
        rc = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return tcp_io_error(s, 0, errno);
    n = (size_t)rc;
    if (n >= hlen) {
        s->hdr_off += hlen;
        r->hdr_done = 1;
        n -= hlen;
        s->off += n;
        r->left -= n;
        if (r->nchunks > 0 && s->off == tcp_chunk_len(s->comm, r, 0)) {
            s->chunk += (uint64_t)s->comm->nsocks;
            s->off = 0;
        }
    } else {
        s->hdr_off += n;
    }
    return 1;
}

/* Send this socket's share of messages. >0 progress, 0 blocked or idle, <0 failed. */
static int tcp_sock_send(tcp_sock_t *s)
{
    tcp_comm_t *c = s->comm;
    int progress = 0, rc;

    if (s->seq < c->head)
        tcp_sock_next(s, c->head);
    while (s->seq < c->tail) {
        tcp_req_t *r = c->ring[s->seq % TCP_MAX_REQS];

        if (r) {
            while (tcp_sock_is_lead(s) && !r->hdr_done) {
                if ((rc = tcp_send_hdr(s, r)) <= 0)
                    return rc < 0 ? rc : progress;
                progress = 1;
            }
            while (s->chunk < r->nchunks) {
                size_t clen = tcp_chunk_len(c, r, s->chunk);
                ssize_t n = send(s->fd, r->buf + s->chunk * c->chunk + s->off, clen - s->off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0)
                    return (rc = tcp_io_error(s, 0, errno)) < 0 ? rc : progress;
                progress = 1;
                s->off += (size_t)n;
                r->left -= (size_t)n;
                if (s->off == clen) {
                    s->chunk += (uint64_t)c->nsocks;
                    s->off = 0;
                }
            }
            if (r->hdr_done && r->left == 0)
                tcp_req_complete(r);
        }
        tcp_sock_next(s, s->seq + 1);
    }
    return progress;
}

/* A complete header arrived for r: check it and size the message. 0 or a failure. */
static int tcp_recv_hdr_done(tcp_sock_t *s, tcp_req_t *r)
{
    tcp_comm_t *c = s->comm;
    uint64_t len = le64toh(r->hdr.len);

    if (le32toh(r->hdr.seq) != (uint32_t)r->seq || len > TCP_MAX_MSG) {
        int err = lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                            "bad message header from %s (seq %u, expected %u, len %llu)",
                            c->peer, le32toh(r->hdr.seq), (uint32_t)r->seq,
                            (unsigned long long)len);
        tcp_comm_fail(c, err);
        return err;
    }
    r->len = (size_t)len;
    r->left = r->len;
    r->nchunks = (r->len + c->chunk - 1) / c->chunk;
    r->hdr_done = 1;
    if (r->len > r->cap)
        r->status = lc_seterr(-EMSGSIZE, TCP_SUBSYS,
                              "message of %zu bytes from %s exceeds the %zu-byte receive buffer",
                              r->len, c->peer, r->cap);
    return 0;
}

/* Receive this socket's share of messages. >0 progress, 0 blocked or idle, <0 failed. */
static int tcp_sock_recv(tcp_sock_t *s)
{
    tcp_comm_t *c = s->comm;
    int progress = 0, rc;
    ssize_t n;

    if (s->seq < c->head)
        tcp_sock_next(s, c->head);
    while (s->seq < c->tail) {
        tcp_req_t *r = c->ring[s->seq % TCP_MAX_REQS];

        if (r) {
            while (!r->hdr_done) {
                if (!tcp_sock_is_lead(s))
                    return progress; /* the lead socket has to read the header first */
                n = tcp_sock_read(s, (char *)&r->hdr + s->hdr_off, sizeof(r->hdr) - s->hdr_off);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return (rc = tcp_io_error(s, n == 0, errno)) < 0 ? rc : progress;
                progress = 1;
                s->hdr_off += (size_t)n;
                if (s->hdr_off == sizeof(r->hdr) && (rc = tcp_recv_hdr_done(s, r)))
                    return rc;
            }
            while (s->chunk < r->nchunks) {
                size_t want = tcp_chunk_len(c, r, s->chunk) - s->off;
                char *dst = r->buf + s->chunk * c->chunk + s->off;

                if (r->status) { /* truncated: drain into the scratch buffer */
                    dst = c->ctx->scratch;
                    want = want < sizeof(c->ctx->scratch) ? want : sizeof(c->ctx->scratch);
                }
                n = tcp_sock_read(s, dst, want);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return (rc = tcp_io_error(s, n == 0, errno)) < 0 ? rc : progress;
                progress = 1;
                s->off += (size_t)n;
                r->left -= (size_t)n;
                if (s->off == tcp_chunk_len(c, r, s->chunk)) {
                    s->chunk += (uint64_t)c->nsocks;
                    s->off = 0;
                }
            }
            if (r->left == 0)
                tcp_req_complete(r);
        }
        tcp_sock_next(s, s->seq + 1);
    }
    return progress;
}

/**
 * @brief Move every comm of the context as far as the sockets allow without
 *        blocking. Caller holds ctx->lock.
 */
void tcp_progress(tcp_ctx_t *ctx)
{
    struct epoll_event ev[TCP_EPOLL_BATCH];
    uint64_t now = tcp_now_ns();

    /* an epoll_wait that found nothing is not repeated within TCP_POLL_GAP_NS */
    if (now - __atomic_load_n(&ctx->idle_poll_ns, __ATOMIC_RELAXED) >= TCP_POLL_GAP_NS) {
        int n = epoll_wait(ctx->epfd, ev, TCP_EPOLL_BATCH, 0);

        for (int i = 0; i < n; i++)
            ((tcp_sock_t *)ev[i].data.ptr)->ready = 1;
        __atomic_store_n(&ctx->idle_poll_ns, n > 0 ? 0 : now, __ATOMIC_RELAXED);
    }
    /* a header read on one socket can unblock the others: repeat while moving */
    for (int pass = 0; pass < TCP_MAX_PASSES; pass++) {
        int progress = 0;

        for (tcp_comm_t *c = ctx->comms; c; c = c->next) {
            for (int i = 0; i < c->nsocks && !c->err && c->head < c->tail; i++) {
                tcp_sock_t *s = &c->socks[i];
                if (s->ready && (c->is_send ? tcp_sock_send(s) : tcp_sock_recv(s)) > 0)
                    progress = 1;
            }
        }
        if (!progress)
            break;
    }
}

/**
 * @brief The provider's wait op: sleep until a socket of the context has an
 *        edge or timeout_us passes, so that ranks that outnumber the cores do
 *        not spin. It sleeps on wait_fd, which reports epfd readable without
 *        taking its events, and without the context's lock: other threads
 *        progress meanwhile, and the next tcp_progress() reads the events.
 */
int tcp_wait(lc_prov_ctx_t *vctx, int timeout_us)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;
    struct epoll_event ev;
    struct timespec ts;
    int n;

    if (!ctx || timeout_us < 0)
        return LC_EINVAL(TCP_SUBSYS, "wait: NULL context or negative timeout");
    ts.tv_sec = timeout_us / 1000000;
    ts.tv_nsec = (long)(timeout_us % 1000000) * 1000;
    n = epoll_pwait2(ctx->wait_fd, &ev, 1, &ts, NULL);
    if (n > 0)
        __atomic_store_n(&ctx->idle_poll_ns, 0, __ATOMIC_RELAXED);
    return n < 0 && errno != EINTR ? -errno : 0;
}
