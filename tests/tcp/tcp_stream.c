/*
 * tcp_stream.c - rough loopback streaming throughput of the tcp provider:
 * one thread sends COUNT messages of SIZE bytes with WINDOW in flight, another
 * thread (own context, like another process) receives and checks sizes.
 * Prints GB/s (10^9 bytes/s) and messages/s. Numbers are indicative only: both ends and the
 * kernel share the same CPUs.
 *
 * usage: tcp_stream [SIZE [COUNT [WINDOW]]]   (defaults 4M 256 8; K/M/G allowed)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

extern const lc_provider_t lc_prov_tcp;
#define P (&lc_prov_tcp)

typedef struct {
    lc_prov_comm_t *comm;
    int is_send;
    char *buf;
    size_t size;
    long count;
    int window;
    int rc;
} stream_t;

/* Keep window messages in flight until count are done; 0 or the first error. */
static void *stream_run(void *arg)
{
    stream_t *st = arg;
    lc_prov_req_t **reqs = calloc((size_t)st->window, sizeof(*reqs));
    long posted = 0, done = 0;

    while (done < st->count && st->rc == 0) {
        for (int w = 0; w < st->window && st->rc == 0; w++) {
            int d = 0;
            size_t sz = 0;

            if (!reqs[w] && posted < st->count) {
                char *b = st->buf + (size_t)w * st->size;
                st->rc = st->is_send ? P->isend(st->comm, b, st->size, NULL, &reqs[w])
                                     : P->irecv(st->comm, b, st->size, NULL, &reqs[w]);
                posted += reqs[w] != NULL;
            }
            if (!reqs[w] || st->rc)
                continue;
            st->rc = P->test(reqs[w], &d, &sz);
            if (d && !st->rc) {
                if (sz != st->size)
                    st->rc = -EPROTO;
                reqs[w] = NULL;
                done++;
            }
        }
    }
    free(reqs);
    return NULL;
}

static size_t stream_arg(int argc, char **argv, int i, const char *def)
{
    int64_t v;

    if (lc_parse_size(i < argc ? argv[i] : def, &v) || v <= 0) {
        fprintf(stderr, "usage: %s [SIZE [COUNT [WINDOW]]]\n", argv[0]);
        exit(2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    size_t size = stream_arg(argc, argv, 1, "4M");
    long count = (long)stream_arg(argc, argv, 2, "256");
    int window = (int)stream_arg(argc, argv, 3, "8");
    char handle[LC_PROV_HANDLE_MAX];
    lc_prov_ctx_t *sctx, *rctx;
    lc_prov_comm_t *lcomm, *scomm = NULL, *rcomm = NULL;
    stream_t s, r;
    pthread_t th;
    double t0, t;
    int rc;

    if ((rc = P->init(&opts, &sctx)) || (rc = P->init(&opts, &rctx)) ||
        (rc = P->listen(rctx, 0, handle, &lcomm))) {
        fprintf(stderr, "setup: %s\n", lc_last_error());
        return 1;
    }
    while (!scomm || !rcomm) {
        if ((!scomm && (rc = P->connect(sctx, 0, handle, &scomm))) ||
            (!rcomm && (rc = P->accept(lcomm, &rcomm)))) {
            fprintf(stderr, "connect: %s\n", lc_last_error());
            return 1;
        }
    }
    s = (stream_t){scomm, 1, calloc((size_t)window, size), size, count, window, 0};
    r = (stream_t){rcomm, 0, calloc((size_t)window, size), size, count, window, 0};
    if (!s.buf || !r.buf) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    t0 = lc_now();
    pthread_create(&th, NULL, stream_run, &s);
    stream_run(&r);
    pthread_join(th, NULL);
    t = lc_now() - t0;
    if (s.rc || r.rc) {
        fprintf(stderr, "transfer failed: %s / %s\n", lc_strerror(s.rc), lc_strerror(r.rc));
        return 1;
    }
    printf("tcp loopback stream: %ld x %zu B, window %d, nsocks %s: %.3f s, %.3f GB/s, %.0f msg/s\n",
           count, size, window, lc_param_str("LC_TCP_NSOCKS"), t,
           (double)size * (double)count / t / 1e9, (double)count / t);
    P->close_send(scomm);
    P->close_recv(rcomm);
    P->close_listen(lcomm);
    P->fini(sctx);
    P->fini(rctx);
    free(s.buf);
    free(r.buf);
    return 0;
}
