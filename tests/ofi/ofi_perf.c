/*
 * ofi_perf.c - rough loopback figures for the ofi provider (not a test):
 * two ranks, each with its own context and a connection each way;
 * ping-pong latency of small messages, then one-way streaming bandwidth
 * (the first and last byte of every message are checked). The ranks are two
 * threads, or two processes when LC_RANK/LC_SIZE=2/LC_ROOT are set (lc_run
 * -n 2, also with --net), which swap listen handles over a TCP socket at LC_ROOT.
 * Usage: ofi_perf [stream message bytes (4M)] [messages (256)] [window (16)]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct peer {
    lc_prov_ctx_t *ctx;
    lc_prov_comm_t *listen, *send, *recv;
    char handle[LC_PROV_HANDLE_MAX];
} peer_t;

static const lc_provider_t *prov;
static peer_t peers[2];
static pthread_barrier_t bar;
static size_t sbytes = 4u << 20;
static int nmsg = 256, window = 16;
static int sock = -1; /* process mode: the socket to the other rank */

/* Wait for the other rank. */
static void sync_ranks(void)
{
    char c = 0;

    if (sock < 0)
        pthread_barrier_wait(&bar);
    else if (write(sock, &c, 1) != 1 || read(sock, &c, 1) != 1)
        exit(1);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check(int ret, const char *what)
{
    if (ret) {
        fprintf(stderr, "ofi_perf: %s: %s\n", what, lc_last_error());
        exit(1);
    }
}

static void wait_req(lc_prov_req_t *req, size_t *size)
{
    int done = 0;

    while (!done)
        check(prov->test(req, &done, size), "test");
}

static void xfer(lc_prov_comm_t *comm, int send, void *buf, size_t len, lc_prov_mr_t *mh)
{
    lc_prov_req_t *req = NULL;

    while (!req)
        check(send ? prov->isend(comm, buf, len, mh, &req) : prov->irecv(comm, buf, len, mh, &req),
              send ? "isend" : "irecv");
    wait_req(req, NULL);
}

static void *rank_main(void *arg)
{
    int me = (int)(intptr_t)arg, iters = 2000;
    peer_t *p = &peers[me];
    size_t slot = sbytes, got = 0, total = sbytes * (size_t)window;
    char *buf = malloc(total), small[8] = {0};
    lc_prov_mr_t *mh;
    lc_prov_req_t **reqs = calloc((size_t)window, sizeof(*reqs));
    double t0;

    check(prov->init(NULL, &p->ctx), "init");
    check(prov->listen(p->ctx, 0, p->handle, &p->listen), "listen");
    if (sock >= 0 &&
        (write(sock, p->handle, LC_PROV_HANDLE_MAX) != LC_PROV_HANDLE_MAX ||
         recv(sock, peers[1 - me].handle, LC_PROV_HANDLE_MAX, MSG_WAITALL) != LC_PROV_HANDLE_MAX))
        check(-EIO, "handle exchange");
    sync_ranks();
    while (!p->send || !p->recv) {
        if (!p->send)
            check(prov->connect(p->ctx, 0, peers[1 - me].handle, &p->send), "connect");
        if (!p->recv)
            check(prov->accept(p->listen, &p->recv), "accept");
    }
    check(prov->reg_mr(me ? p->recv : p->send, buf, total, &mh), "reg_mr");
    memset(buf, me, total);
    for (int warm = 1; warm >= 0; warm--) {
        sync_ranks();
        t0 = now();
        for (int i = 0; i < (warm ? 100 : iters); i++) {
            xfer(me ? p->recv : p->send, !me, small, sizeof(small), NULL);
            xfer(me ? p->send : p->recv, me, small, sizeof(small), NULL);
        }
        if (!warm && me == 0)
            printf("latency  %zu B: %.1f us one-way (half round trip, %d round trips)\n",
                   sizeof(small), (now() - t0) / iters / 2 * 1e6, iters);
    }
    sync_ranks();
    t0 = now();
    for (int head = 0, tail = 0; tail < nmsg;) {
        if (head < nmsg && head - tail < window) {
            lc_prov_req_t **r = &reqs[head % window];

            *r = NULL;
            if (!me)
                buf[(size_t)(head % window) * slot] =
                    buf[(size_t)(head % window) * slot + sbytes - 1] = (char)head;
            check(me ? prov->irecv(p->recv, buf + (size_t)(head % window) * slot, sbytes, mh, r)
                     : prov->isend(p->send, buf + (size_t)(head % window) * slot, sbytes, mh, r),
                  "post");
            head += *r != NULL;
            continue;
        }
        wait_req(reqs[tail % window], &got);
        if (me && (got != sbytes || buf[(size_t)(tail % window) * slot] != (char)tail ||
                   buf[(size_t)(tail % window) * slot + sbytes - 1] != (char)tail)) {
            fprintf(stderr, "ofi_perf: message %d arrived wrong\n", tail);
            exit(1);
        }
        tail++;
    }
    if (me == 1)
        printf("bandwidth %zu B x %d, window %d: %.2f GB/s (%.1f Gbit/s)\n", sbytes, nmsg, window,
               (double)sbytes * nmsg / (now() - t0) / 1e9,
               (double)sbytes * nmsg * 8 / (now() - t0) / 1e9);
    sync_ranks();
    check(prov->dereg_mr(me ? p->recv : p->send, mh), "dereg_mr");
    prov->close_send(p->send);
    prov->close_recv(p->recv);
    prov->close_listen(p->listen);
    sync_ranks();
    prov->fini(p->ctx);
    free(buf);
    free(reqs);
    return NULL;
}

/* Process mode: connect to the other rank through LC_ROOT ("a.b.c.d:port"); returns my rank. */
static int bootstrap(const char *root, int rank)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char host[64];
    const char *colon = strrchr(root, ':');
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    if (!colon || (size_t)(colon - root) >= sizeof(host) || fd < 0)
        return -1;
    memcpy(host, root, (size_t)(colon - root));
    host[colon - root] = 0;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    if (rank == 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1) ||
            (sock = accept(fd, NULL, NULL)) < 0)
            return -1;
        close(fd);
    } else {
        for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
            if (i == 100)
                return -1;
            usleep(100000);
        }
        sock = fd;
    }
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return rank;
}

int main(int argc, char **argv)
{
    const char *rank = getenv("LC_RANK"), *size = getenv("LC_SIZE"), *root = getenv("LC_ROOT");
    pthread_t t[2];

    int64_t v = 0;

    if (argc > 1 && !lc_parse_size(argv[1], &v))
        sbytes = (size_t)v;
    if (argc > 2)
        nmsg = atoi(argv[2]);
    if (argc > 3)
        window = atoi(argv[3]);
    if (!(prov = lc_provider_find("ofi")) || sbytes < 8 || nmsg < 1 || window < 1) {
        fprintf(stderr, "ofi_perf: no ofi provider, or bad arguments\n");
        return 1;
    }
    if (rank && size && root && atoi(size) == 2) {
        int me = bootstrap(root, atoi(rank));

        if (me < 0) {
            fprintf(stderr, "ofi_perf: cannot reach the other rank at LC_ROOT=%s\n", root);
            return 1;
        }
        rank_main((void *)(intptr_t)me);
        return 0;
    }
    pthread_barrier_init(&bar, NULL, 2);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, rank_main, (void *)(intptr_t)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return 0;
}
