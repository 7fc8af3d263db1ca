/*
 * tcp_listen.c - the listening side of the tcp provider: listen() makes the
 * handle, accept() collects incoming sockets, reads their hellos and groups
 * them by connection id into receive comms. Every accepted socket first gets
 * a fresh challenge, and its hello must carry the proof for it (tcp.h).
 * Sockets of several connections may arrive in any interleaving; a
 * connection is handed out once all its sockets are there. Sockets without
 * the listener's nonce or a valid proof, silent ones and those beyond the
 * cap are dropped with a warning and counted; they never fail accept().
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tcp.h"

/* An accepted socket whose hello is not complete yet. */
typedef struct tcp_pending {
    int fd;
    size_t off;
    double deadline;
    uint8_t nonce[TCP_NONCE_LEN]; /* the challenge sent on it */
    tcp_hello_t hello;
    char peer[64];
    struct tcp_pending *next;
} tcp_pending_t;

/* Sockets of one incoming connection, by index. */
typedef struct tcp_group {
    uint64_t conn_id;
    int nsocks;
    uint32_t chunk;
    int have;
    int fds[TCP_MAX_SOCKS];
    char peer[64];
    struct tcp_group *next;
} tcp_group_t;

typedef struct tcp_listen_comm {
    lc_prov_comm_t base; /* kind LC_PROV_LISTEN */
    tcp_ctx_t *ctx;
    int fd;
    uint64_t nonce;
    tcp_pending_t *pending;
    int npending;
    tcp_group_t *groups;
} tcp_listen_comm_t;

/**
 * @brief Listen on device dev on an ephemeral port; fill the handle.
 * @return 0 or a negative errno.
 */
int tcp_listen(lc_prov_ctx_t *vctx, int dev, void *handle, lc_prov_comm_t **listen_comm)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;
    tcp_listen_comm_t *lc;
    tcp_handle_t h = {0};
    struct sockaddr_storage sa;
    socklen_t salen;
    int rc;

    if (!ctx || !handle || !listen_comm)
        return LC_EINVAL(TCP_SUBSYS, "listen: NULL argument");
    *listen_comm = NULL;
    if (dev < 0 || dev >= ctx->ndev)
        return LC_EINVAL(TCP_SUBSYS, "listen: device %d out of range [0, %d)", dev, ctx->ndev);
    lc = calloc(1, sizeof(*lc));
    if (!lc)
        return lc_seterr(-ENOMEM, TCP_SUBSYS, "listen: out of memory");
    lc_prov_obj_init(&lc->base.obj, &lc_prov_tcp, LC_PROV_LISTEN);
    lc->ctx = ctx;
    lc->nonce = tcp_random64();
    sa = ctx->devs[dev].addr;
    salen = ctx->devs[dev].addrlen;
    lc->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lc->fd < 0) {
        rc = lc_seterr(-errno, TCP_SUBSYS, "socket: %s", strerror(errno));
        goto err_free;
    }
    if ((rc = tcp_sock_setup(lc->fd, ctx)))
        goto err_close;
    if (bind(lc->fd, (struct sockaddr *)&sa, salen) < 0 || listen(lc->fd, 1024) < 0 ||
        getsockname(lc->fd, (struct sockaddr *)&sa, &salen) < 0) {
        char a[64];
        tcp_sockaddr_str((struct sockaddr *)&sa, a, sizeof(a));
        rc = lc_seterr(-errno, TCP_SUBSYS, "listen on %s (%s): %s", a, ctx->devs[dev].ifname,
                       strerror(errno));
        goto err_close;
    }
    h.magic = htole32(TCP_MAGIC);
    h.version = htole16(TCP_VERSION);
    h.family = htole16(sa.ss_family);
    if (sa.ss_family == AF_INET) {
        h.port = ((struct sockaddr_in *)&sa)->sin_port;
        memcpy(h.addr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
    } else {
        h.port = ((struct sockaddr_in6 *)&sa)->sin6_port;
        h.scope_id = htole32(((struct sockaddr_in6 *)&sa)->sin6_scope_id);
        memcpy(h.addr, &((struct sockaddr_in6 *)&sa)->sin6_addr, 16);
    }
    h.nonce = htole64(lc->nonce);
    memcpy(handle, &h, sizeof(h));
    *listen_comm = &lc->base;
    return 0;

err_close:
    close(lc->fd);
err_free:
    free(lc);
    return rc;
}

/* Drop pending socket *pp (unlinked and freed) for reason. */
static void tcp_pending_drop(tcp_listen_comm_t *lc, tcp_pending_t **pp, const char *reason)
{
    tcp_pending_t *p = *pp;

    if (reason) {
        lc->ctx->refused++;
        LC_WARN(TCP_SUBSYS, "accept: dropped a connection from %s: %s", p->peer, reason);
    }
    if (p->fd >= 0)
        close(p->fd);
    *pp = p->next;
    free(p);
    lc->npending--;
}

/* Send a new socket its challenge; 0, or -1 when it cannot take 24 bytes (dead). */
static int tcp_send_challenge(tcp_pending_t *p)
{
    tcp_challenge_t ch = {.magic = htole32(TCP_MAGIC), .version = htole16(TCP_VERSION)};

    if (getrandom(p->nonce, sizeof(p->nonce), 0) != (ssize_t)sizeof(p->nonce))
        return -1;
    memcpy(ch.nonce, p->nonce, sizeof(ch.nonce));
    return send(p->fd, &ch, sizeof(ch), MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof(ch)
               ? 0
               : -1;
}

/* Take new sockets from the kernel's accept queue; at the cap, the oldest pending goes. */
static int tcp_accept_new(tcp_listen_comm_t *lc)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t salen = sizeof(sa);
        tcp_pending_t *p;
        int rc, fd = accept4(lc->fd, (struct sockaddr *)&sa, &salen, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                errno == ECONNABORTED)
                return 0;
            return lc_seterr(-errno, TCP_SUBSYS, "accept: %s", strerror(errno));
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
            close(fd);
            return lc_seterr(-ENOMEM, TCP_SUBSYS, "accept: out of memory");
        }
        if ((rc = tcp_sock_setup(fd, lc->ctx))) {
            free(p);
            close(fd);
            return rc;
        }
        p->fd = fd;
        p->deadline = lc_now() + TCP_HELLO_S;
        tcp_sockaddr_str((struct sockaddr *)&sa, p->peer, sizeof(p->peer));
        p->next = lc->pending;
        lc->pending = p;
        lc->npending++;
        if (tcp_send_challenge(p)) {
            tcp_pending_drop(lc, &lc->pending, "it cannot take a challenge");
            continue;
        }
        if (lc->npending > TCP_MAX_PENDING) { /* the oldest is last */
            tcp_pending_t **pp = &lc->pending;
            while ((*pp)->next)
                pp = &(*pp)->next;
            tcp_pending_drop(lc, pp, "too many connections wait for their hello");
        }
    }
}

/*
 * File a socket whose hello is complete into its group. 0; 1 when it is not
 * a hello of this listener and version, 2 when its proof is not valid (the
 * caller drops it); or an error of an authenticated peer for the caller.
 */
static int tcp_group_add(tcp_listen_comm_t *lc, tcp_pending_t *p)
{
    const tcp_hello_t *hl = &p->hello;
    uint64_t conn_id = le64toh(hl->conn_id);
    int idx = le16toh(hl->sock_idx), nsocks = le16toh(hl->nsocks);
    uint32_t chunk = le32toh(hl->chunk);
    uint8_t proof[TCP_PROOF_LEN], diff = 0;
    tcp_group_t *g;

    if (le32toh(hl->magic) != TCP_MAGIC || le64toh(hl->nonce) != lc->nonce ||
        le16toh(hl->version) != TCP_VERSION)
        return 1;
    if (tcp_hello_proof(lc->ctx, p->nonce, hl, proof))
        return -EINVAL;
    for (int i = 0; i < TCP_PROOF_LEN; i++) /* in constant time */
        diff |= proof[i] ^ hl->proof[i];
    if (diff)
        return 2;
    if (nsocks < 1 || nsocks > TCP_MAX_SOCKS || idx >= nsocks || chunk < TCP_MIN_CHUNK)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                         "accept: bad hello from %s (socket %d of %d, chunk %u)", p->peer, idx,
                         nsocks, chunk);
    for (g = lc->groups; g; g = g->next)
        if (g->conn_id == conn_id)
            break;
    if (!g) {
        g = calloc(1, sizeof(*g));
        if (!g)
            return lc_seterr(-ENOMEM, TCP_SUBSYS, "accept: out of memory");
        g->conn_id = conn_id;
        g->nsocks = nsocks;
        g->chunk = chunk;
        for (int i = 0; i < TCP_MAX_SOCKS; i++)
            g->fds[i] = -1;
        memcpy(g->peer, p->peer, sizeof(g->peer));
        g->next = lc->groups;
        lc->groups = g;
    }
    if (g->nsocks != nsocks || g->chunk != chunk || g->fds[idx] >= 0)
        return lc_seterr(LC_ERR_PROTO, TCP_SUBSYS,
                         "accept: inconsistent hello from %s (socket %d of %d)", p->peer, idx,
                         nsocks);
    g->fds[idx] = p->fd;
    p->fd = -1;
    g->have++;
    return 0;
}

/* Read pending hellos; sockets done (filed or dropped) leave the list. */
static int tcp_read_hellos(tcp_listen_comm_t *lc)
{
    double now = lc_now();
    int rc = 0;

    for (tcp_pending_t **pp = &lc->pending; *pp;) {
        tcp_pending_t *p = *pp;
        ssize_t n = 0;

        while (p->off < sizeof(p->hello)) {
            n = recv(p->fd, (char *)&p->hello + p->off, sizeof(p->hello) - p->off, MSG_DONTWAIT);
            if (n <= 0)
                break;
            p->off += (size_t)n;
        }
        if (p->off == sizeof(p->hello)) {
            int err = tcp_group_add(lc, p);
            if (err < 0 && !rc)
                rc = err;
            tcp_pending_drop(lc, pp,
                             err == 1   ? "not a hello for this listener of protocol version 2"
                             : err == 2 ? "no valid proof of the job key"
                                        : NULL);
        } else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                              errno != EINTR)) {
            tcp_pending_drop(lc, pp, "closed before its hello");
        } else if (now > p->deadline) {
            tcp_pending_drop(lc, pp, "no hello in time");
        } else {
            pp = &p->next;
        }
    }
    return rc;
}

/* Turn a complete group into a receive comm. */
static int tcp_group_comm(tcp_listen_comm_t *lc, tcp_group_t *g, tcp_comm_t **out)
{
    tcp_comm_t *comm = tcp_comm_new(lc->ctx, 0, g->nsocks, g->chunk);
    int rc;

    if (!comm)
        return -ENOMEM;
    for (int i = 0; i < g->nsocks; i++) {
        comm->socks[i].fd = g->fds[i];
        g->fds[i] = -1;
    }
    memcpy(comm->peer, g->peer, sizeof(comm->peer));
    if ((rc = tcp_comm_activate(comm))) {
        tcp_comm_free(comm);
        return rc;
    }
    LC_DEBUG(TCP_SUBSYS, "accepted %s with %d sockets", comm->peer, comm->nsocks);
    *out = comm;
    return 0;
}

static void tcp_group_free(tcp_group_t *g)
{
    for (int i = 0; i < TCP_MAX_SOCKS; i++)
        if (g->fds[i] >= 0)
            close(g->fds[i]);
    free(g);
}

/**
 * @brief Non-blocking accept; *recv_comm stays NULL until all sockets of
 *        some connection have arrived.
 * @return 0, or a negative code (the listener stays usable).
 */
int tcp_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm)
{
    tcp_listen_comm_t *lc = (tcp_listen_comm_t *)listen_comm;
    tcp_comm_t *comm = NULL;
    int rc = lc_prov_check(listen_comm, LC_PROV_LISTEN, &lc_prov_tcp, "tcp accept");

    if (rc)
        return rc;
    if (!recv_comm)
        return LC_EINVAL(TCP_SUBSYS, "accept: NULL argument");
    *recv_comm = NULL;
    pthread_mutex_lock(&lc->ctx->lock);
    rc = tcp_accept_new(lc);
    if (!rc)
        rc = tcp_read_hellos(lc);
    for (tcp_group_t **gp = &lc->groups; *gp && !rc; gp = &(*gp)->next) {
        tcp_group_t *g = *gp;
        if (g->have < g->nsocks)
            continue;
        *gp = g->next;
        rc = tcp_group_comm(lc, g, &comm);
        tcp_group_free(g);
        break;
    }
    pthread_mutex_unlock(&lc->ctx->lock);
    *recv_comm = comm ? &comm->base : NULL;
    return rc;
}

/** @brief Close a listener and the connections it has not handed out yet. */
int tcp_close_listen(lc_prov_comm_t *listen_comm)
{
    tcp_listen_comm_t *lc = (tcp_listen_comm_t *)listen_comm;
    int rc = lc_prov_check(listen_comm, LC_PROV_LISTEN, &lc_prov_tcp, "tcp close_listen");

    if (rc)
        return rc;
    close(lc->fd);
    while (lc->pending) {
        tcp_pending_t *p = lc->pending;
        lc->pending = p->next;
        close(p->fd);
        free(p);
    }
    while (lc->groups) {
        tcp_group_t *g = lc->groups;
        lc->groups = g->next;
        tcp_group_free(g);
    }
    lc_prov_obj_kill(&lc->base.obj);
    free(lc);
    return 0;
}
