/* sock.h - small blocking-with-deadline TCP helpers for the bootstrap. */
#ifndef LC_SOCK_H
#define LC_SOCK_H

#include <stddef.h>

#include "internal.h"

/* Split "host:port" ("[v6]:port" too) into host and port; 0 or -EINVAL. */
LC_HIDDEN int lc_sock_split(const char *hostport, char *host, size_t hostlen, char *port,
                            size_t portlen);
/* Listen on host:port (port "0": ephemeral); returns the fd and the bound port. */
LC_HIDDEN int lc_sock_listen(const char *host, const char *port, int *bound_port);
/* Connect to host:port, retrying refused connections until the deadline. */
LC_HIDDEN int lc_sock_connect(const char *host, const char *port, double deadline);
/* 1 when every address host resolves to is a loopback one, 0 if not; or an error. */
LC_HIDDEN int lc_sock_is_loopback(const char *host);
/* Send or receive exactly len bytes before the deadline (lc_now() seconds). */
LC_HIDDEN int lc_sock_send(int fd, const void *buf, size_t len, double deadline);
LC_HIDDEN int lc_sock_recv(int fd, void *buf, size_t len, double deadline);

#endif
