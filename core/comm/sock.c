/* sock.c - TCP helpers for the bootstrap: resolve, listen, connect with retry, exact I/O. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

int lc_sock_split(const char *hostport, char *host, size_t hostlen, char *port, size_t portlen)
{
    const char *colon, *h = hostport;
    size_t hl;

    if (!hostport)
        return -EINVAL;
    colon = strrchr(hostport, ':');
    if (!colon || !colon[1])
        return -EINVAL;
    hl = (size_t)(colon - hostport);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    strcpy(port, colon + 1);
    return 0;
}

static int lc_sock_poll(int fd, short ev, double deadline)
{
    struct pollfd pfd = {.fd = fd, .events = ev};

    for (;;) {
        double left = deadline - lc_now();
        int rc;

        if (left <= 0)
            return -ETIMEDOUT;
        rc = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

int lc_sock_listen(const char *host, const char *port, int *bound_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd, one = 1, rc;

    rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc)
        return lc_seterr(-EADDRNOTAVAIL, "bootstrap", "cannot resolve %s:%s: %s",
                         host ? host : "*", port, gai_strerror(rc));
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024)) {
        rc = lc_seterr(-errno, "bootstrap", "cannot listen on %s:%s: %s", host ? host : "*",
                       port, strerror(errno));
        close(fd);
        goto out;
    }
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (bound_port)
        *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    rc = fd;
out:
    freeaddrinfo(res);
    return rc;
}

int lc_sock_connect(const char *host, const char *port, double deadline)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc, one = 1;

    rc = getaddrinfo(host, port, &hints, &res);
    if (rc)
        return lc_seterr(-EHOSTUNREACH, "bootstrap", "cannot resolve %s:%s: %s", host, port,
                         gai_strerror(rc));
    for (;;) {
        int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -errno;
            break;
        }
        if (!connect(fd, res->ai_addr, res->ai_addrlen)) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            rc = fd;
            break;
        }
        rc = -errno;
        close(fd);
        if (rc != -ECONNREFUSED && rc != -ETIMEDOUT && rc != -ENETUNREACH &&
            rc != -EHOSTUNREACH && rc != -EADDRNOTAVAIL)
            break;
        if (lc_now() + 0.02 > deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        usleep(20000);
    }
    freeaddrinfo(res);
    if (rc < 0)
        lc_seterr(rc, "bootstrap", "cannot connect to the root %s:%s: %s", host, port,
                  lc_strerror(rc));
    return rc;
}

int lc_sock_is_loopback(const char *host)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res;
    int rc = 1;

    if (getaddrinfo(host, NULL, &hints, &res))
        return lc_seterr(-EHOSTUNREACH, "bootstrap", "cannot resolve %s", host);
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            uint32_t ip = ntohl(((struct sockaddr_in *)a->ai_addr)->sin_addr.s_addr);
            if ((ip >> 24) != 127)
                rc = 0;
        } else if (a->ai_family != AF_INET6 ||
                   !IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr)) {
            rc = 0;
        }
    }
    freeaddrinfo(res);
    return rc;
}

int lc_sock_send(int fd, const void *buf, size_t len, double deadline)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = lc_sock_poll(fd, POLLOUT, deadline);
            if (rc)
                return rc;
            continue;
        }
        return n < 0 ? -errno : -ECONNRESET;
    }
    return 0;
}

int lc_sock_recv(int fd, void *buf, size_t len, double deadline)
{
    char *p = buf;

    while (len) {
        int rc = lc_sock_poll(fd, POLLIN, deadline);
        ssize_t n;

        if (rc)
            return rc;
        n = recv(fd, p, len, MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        return n < 0 ? -errno : -ECONNRESET;
    }
    return 0;
}
