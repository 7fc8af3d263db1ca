/*
 * tcp_provider.c - the tcp provider's ops table and parameters: the default
 * transport of lioncub, plain sockets, no dependency beyond libc.
 */
#include "tcp.h"

static const lc_param_t tcp_params[] = {
    {"LC_TCP_IFNAME", LC_PARAM_STR, NULL,
     "Interfaces to use, as NCCL_SOCKET_IFNAME: name prefixes (eth,ib), '=' for exact names "
     "(=eth0), '^' to exclude (^docker,lo). Unset: lo when LC_ROOT is unset or loopback, else "
     "the interface on LC_ROOT's subnet, else the first UP non-loopback IPv4 interface"},
    {"LC_TCP_FAMILY", LC_PARAM_STR, NULL,
     "Address family of the listeners: AF_INET (ipv4) or AF_INET6 (ipv6); unset: an "
     "interface's IPv4 address is preferred"},
    {"LC_TCP_NSOCKS", LC_PARAM_INT, "1",
     "TCP sockets per connection (1-16); messages are cut into LC_TCP_CHUNK chunks and "
     "each chunk goes to a socket with room for it, so a slow flow carries less. One "
     "stream fills 1-10 GbE; more help on faster links but compete for shallow switch "
     "queues. Set by the connecting side"},
    {"LC_TCP_CHUNK", LC_PARAM_INT, "512K",
     "Chunk size (>= 4K): the unit handed to one socket; with several sockets, a socket "
     "takes another chunk once less than this is left unsent in it (TCP_NOTSENT_LOWAT). "
     "A message of at most one chunk uses one socket. Set by the connecting side"},
    {"LC_TCP_SOCKBUF", LC_PARAM_INT, "4M",
     "SO_SNDBUF/SO_RCVBUF per socket, applied only if net.core.wmem_max/rmem_max allow it; "
     "0 keeps the kernel's autotuning"},
    {NULL, 0, NULL, NULL},
};

const lc_provider_t lc_prov_tcp = {
    .size = sizeof(lc_provider_t),
    .name = "tcp",
    .params = tcp_params,
    .init = tcp_init,
    .fini = tcp_fini,
    .devices = tcp_devices,
    .get_props = tcp_get_props,
    .listen = tcp_listen,
    .connect = tcp_connect,
    .accept = tcp_accept,
    .reg_mr = tcp_reg_mr,
    .dereg_mr = tcp_dereg_mr,
    .isend = tcp_isend,
    .irecv = tcp_irecv,
    .test = tcp_test,
    .close_send = tcp_close_send,
    .close_recv = tcp_close_recv,
    .close_listen = tcp_close_listen,
    .wait = tcp_wait,
    .progress = tcp_progress_op,
};
