/*
 * tcp_conn.c - connections of the tcp provider: creating and freeing comms,
 * the non-blocking connect, failing a comm, and closing send/recv comms.
 *
 * connect() is called again with the same handle until it yields the comm;
 * the context remembers the connection being set up by its handle and device.
 *
 * Closing a comm with requests in flight fails those requests with
 * -ECANCELED: their handles stay valid, test() reports the error and frees
 * them (or fini does). Data already handed to the kernel is still sent; a
 * message cut short makes the peer's receive fail with -ECONNRESET.
 */
#include <endian.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tcp.h"

/**
 * @brief A new comm with nsocks closed sockets, not yet in any context list.
 * @return the comm, or NULL (out of memory, message set).
 */
tcp_comm_t *tcp_comm_new(tcp_ctx_t *ctx, int is_send, int nsocks, size_t chunk)
{
    tcp_comm_t *comm = calloc(1, sizeof(*comm));

    if (!comm) {
        lc_seterr(-ENOMEM, TCP_SUBSYS, "out of memory for a comm");
        return NULL;
    }
    lc_prov_obj_init(&comm->base.obj, &lc_prov_tcp, is_send ? LC_PROV_SEND : LC_PROV_RECV);
    comm->ctx = ctx;
    comm->is_send = is_send;
    comm->nsocks = nsocks;
    comm->chunk = chunk;
    for (int i = 0; i < TCP_MAX_SOCKS; i++) {
        tcp_sock_t *s = &comm->socks[i];
        s->fd = -1;
        s->idx = i;
        s->comm = comm;
        s->ready = 1;
    }
    return comm;
}

/* Unlink comm from a context list; 1 if it was there. */
static int tcp_comm_unlink(tcp_comm_t **list, tcp_comm_t *comm)
{
    for (tcp_comm_t **p = list; *p; p = &(*p)->next)
        if (*p == comm) {
            *p = comm->next;
            comm->next = NULL;
            return 1;
        }
    return 0;
}

/**
 * @brief Put a connected comm's sockets into the context's epoll set and the
 *        comm into its list of connected comms.
 * @return 0 or a negative errno.
 */
int tcp_comm_activate(tcp_comm_t *comm)
{
    tcp_ctx_t *ctx = comm->ctx;

    if (!comm->is_send) { /* one allocation, freed with the first socket's pointer */
        char *stage = malloc((size_t)comm->nsocks * TCP_STAGE_SIZE);
        if (!stage)
            return lc_seterr(-ENOMEM, TCP_SUBSYS, "out of memory for receive buffers");
        for (int i = 0; i < comm->nsocks; i++)
            comm->socks[i].stage = stage + (size_t)i * TCP_STAGE_SIZE;
    }
    for (int i = 0; i < comm->nsocks; i++) {
        struct epoll_event ev = {
            .events = (comm->is_send ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP | EPOLLET,
            .data.ptr = &comm->socks[i],
        };
        if (epoll_ctl(ctx->epfd, EPOLL_CTL_ADD, comm->socks[i].fd, &ev) < 0)
            return lc_seterr(-errno, TCP_SUBSYS, "epoll_ctl(ADD): %s", strerror(errno));
    }
    comm->next = ctx->comms;
    ctx->comms = comm;
    return 0;
}

/**
 * @brief Fail a comm: every request in flight completes with err, later
 *        posts return err. Only the first error counts.
 */
void tcp_comm_fail(tcp_comm_t *comm, int err)
{
    if (comm->err)
        return;
    comm->err = err;
    for (uint64_t m = comm->head; m < comm->tail; m++) {
        tcp_req_t *req = comm->ring[m % TCP_MAX_REQS];
        if (req) {
            req->status = err;
            tcp_req_complete(req);
        }
    }
    comm->head = comm->tail;
}

/**
 * @brief Free a comm (any state): requests in flight fail with -ECANCELED
 *        and are detached, sockets are closed, the comm leaves its list.
 */
void tcp_comm_free(tcp_comm_t *comm)
{
    tcp_ctx_t *ctx = comm->ctx;

    tcp_comm_fail(comm, -ECANCELED);
    if (!tcp_comm_unlink(&ctx->comms, comm))
        tcp_comm_unlink(&ctx->connecting, comm);
    for (int i = 0; i < comm->nsocks; i++)
        if (comm->socks[i].fd >= 0)
            close(comm->socks[i].fd); /* also leaves the epoll set */
    free(comm->socks[0].stage);
    lc_prov_obj_kill(&comm->base.obj);
    free(comm);
}

/* Start the TCP connects of a new send comm to the handle's address. */
static int tcp_connect_start(tcp_comm_t *comm, const tcp_handle_t *h)
{
    struct sockaddr_storage sa = {0};
    socklen_t salen;
    uint64_t conn_id = tcp_random64();

    if (h->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        in->sin_family = AF_INET;
        in->sin_port = h->port;
        memcpy(&in->sin_addr, h->addr, 4);
        salen = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = h->port;
        in6->sin6_scope_id = h->scope_id;
        memcpy(&in6->sin6_addr, h->addr, 16);
        salen = sizeof(*in6);
    }
    tcp_sockaddr_str((struct sockaddr *)&sa, comm->peer, sizeof(comm->peer));
    for (int i = 0; i < comm->nsocks; i++) {
        tcp_sock_t *s = &comm->socks[i];
        int rc;

        s->fd = socket(h->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
            return lc_seterr(-errno, TCP_SUBSYS, "socket: %s", strerror(errno));
        if ((rc = tcp_sock_setup(s->fd, comm->ctx)))
            return rc;
        s->hello.magic = htole32(TCP_MAGIC);
        s->hello.version = htole16(TCP_VERSION);
        s->hello.sock_idx = htole16((uint16_t)i);
        s->hello.nsocks = htole16((uint16_t)comm->nsocks);
        s->hello.chunk = htole32((uint32_t)comm->chunk);
        s->hello.nonce = htole64(h->nonce);
        s->hello.conn_id = htole64(conn_id);
        if (connect(s->fd, (struct sockaddr *)&sa, salen) == 0)
            s->connected = 1;
        else if (errno != EINPROGRESS)
            return lc_seterr(tcp_errno_to_err(errno), TCP_SUBSYS, "connect to %s: %s",
                             comm->peer, strerror(errno));
    }
    return 0;
}

/* Read the listener's challenge on s; 1 when complete (the hello's proof is then set). */
static int tcp_read_challenge(tcp_comm_t *comm, tcp_sock_t *s)
{
    tcp_challenge_t *ch = &s->challenge;

    while (s->challenge_off < sizeof(*ch)) {
        ssize_t n = recv(s->fd, (char *)ch + s->challenge_off, sizeof(*ch) - s->challenge_off,
                         MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return 0;
        if (n <= 0)
            return lc_seterr(n ? tcp_errno_to_err(errno) : -ECONNRESET, TCP_SUBSYS,
                             "connect to %s: the listener closed before its challenge",
                             comm->peer);
        s->challenge_off += (size_t)n;
    }
    if (le32toh(ch->magic) != TCP_MAGIC || le16toh(ch->version) != TCP_VERSION)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                         "connect to %s: not a lioncub tcp listener of protocol version %u",
                         comm->peer, TCP_VERSION);
    return s->hello_off || !tcp_hello_proof(comm->ctx, ch->nonce, &s->hello, s->hello.proof)
               ? 1
               : -EINVAL;
}

/* Advance the sockets of a connecting comm; 1 when all sent their hello. */
static int tcp_connect_step(tcp_comm_t *comm)
{
    int done = 0;

    for (int i = 0; i < comm->nsocks; i++) {
        tcp_sock_t *s = &comm->socks[i];
        ssize_t n;
        int rc;

        if (!s->connected) {
            struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
            int err = 0;
            socklen_t len = sizeof(err);

            if (poll(&pfd, 1, 0) <= 0)
                continue;
            if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
            if (err)
                return lc_seterr(tcp_errno_to_err(err), TCP_SUBSYS, "connect to %s: %s",
                                 comm->peer, strerror(err));
            s->connected = 1;
        }
        if (s->hello_off < sizeof(s->hello) && (rc = tcp_read_challenge(comm, s)) <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        while (s->hello_off < sizeof(s->hello)) {
            n = send(s->fd, (char *)&s->hello + s->hello_off, sizeof(s->hello) - s->hello_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            if (n < 0)
                return lc_seterr(tcp_errno_to_err(errno), TCP_SUBSYS, "connect to %s: %s",
                                 comm->peer, strerror(errno));
            s->hello_off += (size_t)n;
        }
        done += s->hello_off == sizeof(s->hello);
    }
    return done == comm->nsocks;
}

/* Check a handle received from a peer. */
static int tcp_handle_check(const tcp_handle_t *h)
{
    if (h->magic != TCP_MAGIC)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS, "connect: not a tcp provider handle");
    if (h->version != TCP_VERSION)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                         "connect: handle of protocol version %u, this library speaks %u",
                         h->version, TCP_VERSION);
    if (h->family != AF_INET && h->family != AF_INET6)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS, "connect: handle has address family %u",
                         h->family);
    return 0;
}

/**
 * @brief Non-blocking connect to the listener that made handle; *send_comm
 *        stays NULL until all sockets are connected and have sent their hello.
 * @return 0 or a negative code (the half-made connection is then dropped).
 */
int tcp_connect(lc_prov_ctx_t *vctx, int dev, const void *handle, lc_prov_comm_t **send_comm)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;
    tcp_handle_t h;
    tcp_comm_t *comm;
    int rc;

    if (!ctx || !handle || !send_comm)
        return LC_EINVAL(TCP_SUBSYS, "connect: NULL argument");
    *send_comm = NULL;
    if (dev < 0 || dev >= ctx->ndev)
        return LC_EINVAL(TCP_SUBSYS, "connect: device %d out of range [0, %d)", dev, ctx->ndev);
    memcpy(&h, handle, sizeof(h));
    h.magic = le32toh(h.magic);
    h.version = le16toh(h.version);
    h.family = le16toh(h.family);
    h.scope_id = le32toh(h.scope_id);
    h.nonce = le64toh(h.nonce);
    if ((rc = tcp_handle_check(&h)))
        return rc;
    pthread_mutex_lock(&ctx->lock);
    for (comm = ctx->connecting; comm; comm = comm->next)
        if (comm->dev == dev && !memcmp(&comm->handle, &h, sizeof(h)))
            break;
    if (!comm) {
        comm = tcp_comm_new(ctx, 1, ctx->nsocks, ctx->chunk);
        if (!comm) {
            rc = -ENOMEM;
            goto out;
        }
        comm->handle = h;
        comm->dev = dev;
        comm->next = ctx->connecting;
        ctx->connecting = comm;
        if ((rc = tcp_connect_start(comm, &h)))
            goto err_comm;
    }
    rc = tcp_connect_step(comm);
    if (rc < 0)
        goto err_comm;
    if (rc == 1) {
        tcp_comm_unlink(&ctx->connecting, comm);
        if ((rc = tcp_comm_activate(comm)))
            goto err_comm;
        LC_DEBUG(TCP_SUBSYS, "connected to %s with %d sockets", comm->peer, comm->nsocks);
        *send_comm = &comm->base;
    }
    rc = 0;
out:
    pthread_mutex_unlock(&ctx->lock);
    return rc;

err_comm:
    tcp_comm_free(comm);
    goto out;
}

/* Close a send or receive comm. */
static int tcp_close_comm(lc_prov_comm_t *h, int is_send)
{
    tcp_comm_t *comm = (tcp_comm_t *)h;
    tcp_ctx_t *ctx;
    int rc = lc_prov_check(h, is_send ? LC_PROV_SEND : LC_PROV_RECV, &lc_prov_tcp,
                           is_send ? "tcp close_send" : "tcp close_recv");

    if (rc)
        return rc;
    ctx = comm->ctx;
    pthread_mutex_lock(&ctx->lock);
    tcp_comm_free(comm);
    pthread_mutex_unlock(&ctx->lock);
    return 0;
}

/** @brief Close a send comm (requests in flight fail with -ECANCELED). */
int tcp_close_send(lc_prov_comm_t *send_comm)
{
    return tcp_close_comm(send_comm, 1);
}

/** @brief Close a receive comm (requests in flight fail with -ECANCELED). */
int tcp_close_recv(lc_prov_comm_t *recv_comm)
{
    return tcp_close_comm(recv_comm, 0);
}
