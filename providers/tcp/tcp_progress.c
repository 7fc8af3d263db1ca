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

/* Length of the chunk at offset off of a len-byte message (off < len, or both 0). */
static uint64_t tcp_chunk_len(const tcp_comm_t *c, uint64_t len, uint64_t off)
{
    return len - off < c->chunk ? len - off : c->chunk;
}

/* Hand socket s the next chunk of the comm's messages; 0 when every chunk is handed out. */
static int tcp_sock_take(tcp_sock_t *s)
{
    tcp_comm_t *c = s->comm;
    tcp_req_t *r;
    uint64_t clen;

    if (c->next_seq >= c->tail)
        return 0;
    r = c->ring[c->next_seq % TCP_MAX_REQS];
    clen = tcp_chunk_len(c, r->len, c->next_off);
    s->req = r;
    s->hdr = (tcp_chunk_hdr_t){.seq = htole32((uint32_t)r->seq),
                               .len = htole32((uint32_t)clen),
                               .msg_len = htole64(r->len),
                               .off = htole64(c->next_off)};
    s->hdr_off = 0;
    s->off = 0;
    c->next_off += clen;
    if (c->next_off >= r->len) {
        c->next_seq++;
        c->next_off = 0;
    }
    return 1;
}

/* Send the rest of socket s's chunk, header and payload together. >0 progress, 0 blocked, <0 failed. */
static int tcp_sock_send_chunk(tcp_sock_t *s)
{
    tcp_req_t *r = s->req;
    size_t clen = le32toh(s->hdr.len);
    int progress = 0;

    while (s->hdr_off < sizeof(s->hdr) || s->off < clen) {
        size_t hlen = sizeof(s->hdr) - s->hdr_off, n;
        struct iovec iov[2] = {
            {.iov_base = (char *)&s->hdr + s->hdr_off, .iov_len = hlen},
            {.iov_base = r->buf + le64toh(s->hdr.off) + s->off, .iov_len = clen - s->off},
        };
        struct msghdr msg = {.msg_iov = hlen ? iov : iov + 1, .msg_iovlen = hlen ? 2 : 1};
        ssize_t rc = sendmsg(s->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return (rc = tcp_io_error(s, 0, errno)) < 0 ? (int)rc : progress;
        progress = 1;
        n = (size_t)rc;
        if (n < hlen) {
            s->hdr_off += n;
            continue;
        }
        s->hdr_off += hlen;
        s->off += n - hlen;
    }
    s->req = NULL;
    if (--r->chunks_left == 0)
        tcp_req_complete(r);
    return 1;
}

/*
 * Send a comm's chunks until its sockets would block or every chunk is out:
 * in sweeps over the sockets, each socket that is not blocked finishes its
 * chunk or takes the next one, so chunks go round the sockets while all
 * have room and to the others while one is full.
 */
static void tcp_comm_send(tcp_comm_t *c)
{
    int moved;

    do {
        moved = 0;
        for (int i = 0; i < c->nsocks; i++) {
            tcp_sock_t *s = &c->socks[i];
            int rc;

            if (!s->ready || (!s->req && !tcp_sock_take(s)))
                continue;
            if ((rc = tcp_sock_send_chunk(s)) < 0)
                return;
            moved |= rc;
        }
    } while (moved);
}

/* A protocol violation in socket s's chunk header: fail the comm. */
static int tcp_bad_chunk(tcp_sock_t *s, const char *why)
{
    tcp_comm_t *c = s->comm;
    int err = lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                        "bad chunk from %s (socket %d, message %u, offset %llu, %u of %llu bytes): %s",
                        c->peer, s->idx, le32toh(s->hdr.seq),
                        (unsigned long long)le64toh(s->hdr.off), le32toh(s->hdr.len),
                        (unsigned long long)le64toh(s->hdr.msg_len), why);

    tcp_comm_fail(c, err);
    return err;
}

/*
 * Match socket s's chunk header to its posted receive and check it.
 * 1 matched (s->req set), 0 the receive is not posted yet, <0 failed.
 */
static int tcp_recv_match(tcp_sock_t *s)
{
    tcp_comm_t *c = s->comm;
    uint32_t ahead = le32toh(s->hdr.seq) - (uint32_t)c->head;
    uint64_t m = c->head + ahead;
    uint64_t len = le64toh(s->hdr.msg_len), off = le64toh(s->hdr.off);
    uint64_t clen = le32toh(s->hdr.len);
    tcp_req_t *r;

    if (ahead >= UINT32_C(1) << 31) /* no sender gets 2^31 messages ahead */
        return tcp_bad_chunk(s, "not a message in progress");
    if (m >= c->tail)
        return 0;
    if (!(r = c->ring[m % TCP_MAX_REQS]))
        return tcp_bad_chunk(s, "the message is complete");
    if (len > TCP_MAX_MSG || off % c->chunk || (off >= len && (off || len)) ||
        clen != tcp_chunk_len(c, len, off))
        return tcp_bad_chunk(s, "not a chunk of the message");
    if (!r->len_known) {
        r->len = (size_t)len;
        r->left = r->len;
        r->unclaimed = r->len;
        r->len_known = 1;
        if (r->len > r->cap)
            r->status = lc_seterr(-EMSGSIZE, TCP_SUBSYS,
                                  "message of %zu bytes from %s exceeds the %zu-byte receive buffer",
                                  r->len, c->peer, r->cap);
    } else if (len != r->len) {
        return tcp_bad_chunk(s, "another message length than its first chunk's");
    } else if (clen > r->unclaimed || !clen) {
        return tcp_bad_chunk(s, "more bytes than the message has left");
    }
    /* claimed now, so the message completes only once no socket holds a chunk of it */
    r->unclaimed -= (size_t)clen;
    s->req = r;
    return 1;
}

/* Receive chunks on socket s while it has data and receives are posted. 0, or <0 when the comm failed. */
static int tcp_sock_recv(tcp_sock_t *s)
{
    tcp_comm_t *c = s->comm;
    int rc;
    ssize_t n;

    for (;;) {
        tcp_req_t *r;
        size_t clen;

        if (s->hdr_off < sizeof(s->hdr)) {
            if (c->head == c->tail)
                return 0; /* every posted receive is complete: leave the socket for later */
            n = tcp_sock_read(s, (char *)&s->hdr + s->hdr_off, sizeof(s->hdr) - s->hdr_off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return tcp_io_error(s, n == 0, errno);
            s->hdr_off += (size_t)n;
            continue;
        }
        if (!s->req && (rc = tcp_recv_match(s)) <= 0)
            return rc;
        r = s->req;
        clen = le32toh(s->hdr.len);
        while (s->off < clen) {
            size_t want = clen - s->off;
            char *dst = r->buf + le64toh(s->hdr.off) + s->off;

            if (r->status) { /* truncated: drain into the scratch buffer */
                dst = c->ctx->scratch;
                want = want < sizeof(c->ctx->scratch) ? want : sizeof(c->ctx->scratch);
            }
            n = tcp_sock_read(s, dst, want);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return tcp_io_error(s, n == 0, errno);
            s->off += (size_t)n;
            r->left -= (size_t)n;
        }
        s->req = NULL;
        s->hdr_off = 0;
        s->off = 0;
        if (r->left == 0)
            tcp_req_complete(r);
    }
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
    for (tcp_comm_t *c = ctx->comms; c; c = c->next) {
        if (c->err || c->head == c->tail)
            continue;
        if (c->is_send) {
            tcp_comm_send(c);
            continue;
        }
        for (int i = 0; i < c->nsocks && !c->err; i++)
            if (c->socks[i].ready)
                tcp_sock_recv(&c->socks[i]);
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
