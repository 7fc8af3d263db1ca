/*
 * tcp_sock.c - small socket helpers of the tcp provider: socket options,
 * address formatting, random identifiers, errno mapping.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "tcp.h"

/* The kernel's cap on SO_SNDBUF or SO_RCVBUF (0 if unknown). */
static long tcp_buf_max(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = 0;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

/**
 * @brief The socket buffer size to ask for: want when the kernel allows that
 *        size (net.core.wmem_max / rmem_max), else 0 (keep autotuning: a
 *        capped size would only switch it off).
 */
int tcp_sockbuf_fit(int want, int rcv)
{
    if (want <= 0)
        return 0;
    return want <= tcp_buf_max(rcv ? "/proc/sys/net/core/rmem_max" : "/proc/sys/net/core/wmem_max")
               ? want
               : 0;
}

/**
 * @brief Make fd non-blocking with TCP_NODELAY, the context's socket buffer
 *        sizes (0: autotuning) and keepalive probes, so that a peer host that
 *        vanished without a reset fails the connection after about
 *        LC_TIMEOUT instead of never (a live peer answers the probes however
 *        long it leaves the connection idle).
 * @return 0 or a negative errno.
 */
int tcp_sock_setup(int fd, const tcp_ctx_t *ctx)
{
    int one = 1;
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return lc_seterr(-errno, TCP_SUBSYS, "fcntl(O_NONBLOCK): %s", strerror(errno));
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        return lc_seterr(-errno, TCP_SUBSYS, "setsockopt(TCP_NODELAY): %s", strerror(errno));
    if (ctx->keepalive_s > 0) {
        int cnt = 4;
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &ctx->keepalive_s, sizeof(int));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &ctx->keepalive_s, sizeof(int));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    }
    if (ctx->nsocks > 1) { /* a socket has room for a chunk only once its last one is on the wire */
        int lowat = (int)ctx->chunk;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
    }
    if (ctx->sndbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &ctx->sndbuf, sizeof(ctx->sndbuf));
    if (ctx->rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ctx->rcvbuf, sizeof(ctx->rcvbuf));
    return 0;
}

/**
 * @brief Format an address as "a.b.c.d:port" or "[v6]:port".
 */
void tcp_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "<family %d>", sa->sa_family);
    }
}

/**
 * @brief 64 random bits (getrandom, else a time- and address-based mix).
 */
uint64_t tcp_random64(void)
{
    static uint64_t counter;
    uint64_t v;
    struct timespec ts;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^
        (uint64_t)(uintptr_t)&v ^ __atomic_add_fetch(&counter, 0x9e3779b97f4a7c15ULL,
                                                      __ATOMIC_RELAXED);
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    return v ^ (v >> 33);
}

/**
 * @brief The error a request fails with for a socket errno: a peer that went
 *        away reads as -ECONNRESET.
 */
int tcp_errno_to_err(int e)
{
    switch (e) {
    case EPIPE:
    case ECONNRESET:
    case ECONNABORTED:
    case ENOTCONN:
        return -ECONNRESET;
    default:
        return -e;
    }
}

/**
 * @brief The proof a hello carries for a listener's challenge nonce: bound to
 *        the job's provider key, the nonce and every field of the hello.
 * @return 0 or -EINVAL.
 */
int tcp_hello_proof(const tcp_ctx_t *ctx, const uint8_t nonce[TCP_NONCE_LEN],
                    const tcp_hello_t *h, uint8_t proof[TCP_PROOF_LEN])
{
    uint8_t msg[TCP_NONCE_LEN + offsetof(tcp_hello_t, proof)];

    memcpy(msg, nonce, TCP_NONCE_LEN);
    memcpy(msg + TCP_NONCE_LEN, h, offsetof(tcp_hello_t, proof));
    return lc_prov_derive(ctx->key, TCP_PROOF_LABEL, msg, sizeof(msg), proof, TCP_PROOF_LEN);
}
