/*
 * test_tcp_xfer.c - data transfer through the tcp provider's ops table:
 * message sizes from 0 B to 64 MiB with 1, 2, 3 and 4 sockets per connection,
 * many requests in flight in both directions (ordering across sockets),
 * receive buffers larger and smaller than the message, accept of
 * interleaved connections, and a context shared by two threads.
 * Each side runs in its own thread with its own context, like two processes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_test_util.h"

#define MiB (1024 * 1024)

/* ---- sizes: every size in flight at once, one thread per side ---- */

static const size_t tt_sizes[] = {0,           1,       3,         4095,       4096,
                                  4097,        65537,   512 * 1024 - 1, 512 * 1024, 512 * 1024 + 1,
                                  MiB + 7,     3 * MiB, 64 * MiB,   0,          2};
#define NSIZES (sizeof(tt_sizes) / sizeof(tt_sizes[0]))

static void *tt_sizes_sender(void *arg)
{
    lc_prov_comm_t *scomm = arg;
    void *bufs[NSIZES];
    lc_prov_req_t *reqs[NSIZES];

    for (size_t i = 0; i < NSIZES; i++) {
        bufs[i] = malloc(tt_sizes[i] + 1);
        tt_fill(bufs[i], tt_sizes[i], 1000 + i);
        reqs[i] = tt_isend(scomm, bufs[i], tt_sizes[i]);
    }
    for (size_t i = 0; i < NSIZES; i++) {
        size_t size = 12345;
        assert_int_equal(tt_wait(reqs[i], &size, 20.0), 0);
        assert_int_equal(size, tt_sizes[i]);
        free(bufs[i]);
    }
    return NULL;
}

static void tt_sizes_run(int nsocks)
{
    tt_conn_t c;
    void *bufs[NSIZES];
    lc_prov_req_t *reqs[NSIZES];
    pthread_t th;
    lc_prov_ctx_t *sctx, *rctx;

    tt_env(nsocks);
    sctx = tt_ctx();
    rctx = tt_ctx();
    tt_connect(&c, sctx, rctx);
    assert_int_equal(pthread_create(&th, NULL, tt_sizes_sender, c.scomm), 0);
    for (size_t i = 0; i < NSIZES; i++) {
        bufs[i] = malloc(tt_sizes[i] + 1);
        reqs[i] = tt_irecv(c.rcomm, bufs[i], tt_sizes[i]);
    }
    for (size_t i = 0; i < NSIZES; i++) {
        size_t size = 12345;
        assert_int_equal(tt_wait(reqs[i], &size, 20.0), 0);
        assert_int_equal(size, tt_sizes[i]);
        assert_int_equal(tt_check(bufs[i], tt_sizes[i], 1000 + i), -1);
        free(bufs[i]);
    }
    pthread_join(th, NULL);
    tt_close(&c);
    TT->fini(sctx);
    TT->fini(rctx);
}

static void test_sizes_1sock(void **state)
{
    tt_sizes_run(1);
}

static void test_sizes_default(void **state)
{
    tt_sizes_run(0);
}

static void test_sizes_2socks(void **state)
{
    tt_sizes_run(2);
}

static void test_sizes_4socks(void **state)
{
    tt_sizes_run(4);
}

/* 3 sockets and the smallest chunk: thousands of chunks per message. */
static void test_sizes_small_chunks(void **state)
{
    setenv("LC_TCP_CHUNK", "4K", 1);
    tt_sizes_run(3);
    unsetenv("LC_TCP_CHUNK");
}

/* ---- many requests in flight, both directions ---- */

#define NMSG 400 /* more than a comm holds in flight: posting must retry */

static size_t tt_msg_size(int i)
{
    if (i % 37 == 5)
        return (size_t)(MiB + 4096 * (i % 7) + 3); /* striped */
    return (size_t)((i * 7919) % 20000);
}

typedef struct tt_side {
    lc_prov_comm_t *scomm, *rcomm;
    uint64_t sseed, rseed;
} tt_side_t;

/* Post NMSG sends and NMSG receives, test them all round-robin, check the data. */
static void *tt_flight(void *arg)
{
    tt_side_t *sd = arg;
    lc_prov_req_t **sreq = calloc(NMSG, sizeof(*sreq)), **rreq = calloc(NMSG, sizeof(*rreq));
    char **sbuf = calloc(NMSG, sizeof(char *)), **rbuf = calloc(NMSG, sizeof(char *));
    int nspost = 0, nrpost = 0, ndone = 0;
    char *sdone = calloc(NMSG, 1), *rdone = calloc(NMSG, 1);
    double t0 = lc_now();

    for (int i = 0; i < NMSG; i++) {
        sbuf[i] = malloc(tt_msg_size(i) + 1);
        tt_fill(sbuf[i], tt_msg_size(i), sd->sseed + (uint64_t)i);
        rbuf[i] = malloc(tt_msg_size(i) + 64);
    }
    while (ndone < 2 * NMSG) {
        while (nspost < NMSG) {
            assert_int_equal(TT->isend(sd->scomm, sbuf[nspost], tt_msg_size(nspost), NULL,
                                       &sreq[nspost]), 0);
            if (!sreq[nspost])
                break;
            nspost++;
        }
        while (nrpost < NMSG) { /* every third receive buffer is larger than the message */
            size_t cap = tt_msg_size(nrpost) + (nrpost % 3 == 0 ? 64 : 0);
            assert_int_equal(TT->irecv(sd->rcomm, rbuf[nrpost], cap, NULL, &rreq[nrpost]), 0);
            if (!rreq[nrpost])
                break;
            nrpost++;
        }
        for (int i = 0; i < nspost; i++) {
            int done = 0;
            size_t size = 0;
            if (sdone[i])
                continue;
            assert_int_equal(TT->test(sreq[i], &done, &size), 0);
            if (done) {
                assert_int_equal(size, tt_msg_size(i));
                sdone[i] = 1;
                ndone++;
            }
        }
        for (int i = 0; i < nrpost; i++) {
            int done = 0;
            size_t size = 0;
            if (rdone[i])
                continue;
            assert_int_equal(TT->test(rreq[i], &done, &size), 0);
            if (done) {
                assert_int_equal(size, tt_msg_size(i));
                assert_int_equal(tt_check(rbuf[i], size, sd->rseed + (uint64_t)i), -1);
                rdone[i] = 1;
                ndone++;
            }
        }
        assert_true(lc_now() - t0 < 20.0);
    }
    for (int i = 0; i < NMSG; i++) {
        free(sbuf[i]);
        free(rbuf[i]);
    }
    free(sreq), free(rreq), free(sbuf), free(rbuf), free(sdone), free(rdone);
    return NULL;
}

static void test_inflight_bidir(void **state)
{
    tt_conn_t ab, ba;
    tt_side_t a, b;
    pthread_t th;
    lc_prov_ctx_t *actx, *bctx;

    tt_env(3);
    actx = tt_ctx();
    bctx = tt_ctx();
    tt_connect(&ab, actx, bctx);
    tt_connect(&ba, bctx, actx);
    a = (tt_side_t){.scomm = ab.scomm, .rcomm = ba.rcomm, .sseed = 1u << 20, .rseed = 2u << 20};
    b = (tt_side_t){.scomm = ba.scomm, .rcomm = ab.rcomm, .sseed = 2u << 20, .rseed = 1u << 20};
    assert_int_equal(pthread_create(&th, NULL, tt_flight, &b), 0);
    tt_flight(&a);
    pthread_join(th, NULL);
    tt_close(&ab);
    tt_close(&ba);
    TT->fini(actx);
    TT->fini(bctx);
}

/* ---- receive buffers of the wrong size; one shared context, one thread ---- */

static void test_recv_sizes(void **state)
{
    static const struct {
        size_t len, cap;
        int rc;
    } cases[] = {
        {1000, MiB, 0},                    /* larger buffer: size reported */
        {3 * MiB + 1, 8 * MiB, 0},         /* striped, larger buffer */
        {1000, 100, -EMSGSIZE},            /* smaller buffer */
        {2 * MiB + 5, MiB, -EMSGSIZE},     /* striped, smaller buffer */
        {0, 0, 0},
        {777, 777, 0},                     /* the stream is still in step */
        {5, 0, -EMSGSIZE},
        {MiB + 1, MiB + 1, 0},
    };
    enum { N = sizeof(cases) / sizeof(cases[0]) };
    lc_prov_req_t *sreq[N], *rreq[N];
    char *sbuf[N], *rbuf[N];
    tt_conn_t c;
    lc_prov_ctx_t *ctx;

    tt_env(4);
    ctx = tt_ctx();
    tt_connect(&c, ctx, ctx);
    for (int i = 0; i < N; i++) {
        sbuf[i] = malloc(cases[i].len + 1);
        rbuf[i] = malloc(cases[i].cap + 1);
        tt_fill(sbuf[i], cases[i].len, 77 + (uint64_t)i);
        sreq[i] = tt_isend(c.scomm, sbuf[i], cases[i].len);
        rreq[i] = tt_irecv(c.rcomm, rbuf[i], cases[i].cap);
    }
    /* testing the last receive alone moves every request of the context */
    assert_int_equal(tt_wait(rreq[N - 1], NULL, 10.0), 0);
    for (int i = 0; i < N; i++) {
        int done = 0;
        size_t size = 0;

        assert_int_equal(TT->test(sreq[i], &done, &size), 0);
        assert_int_equal(done, 1);
        assert_int_equal(size, cases[i].len);
        if (i == N - 1)
            continue;
        assert_int_equal(TT->test(rreq[i], &done, &size), cases[i].rc);
        assert_int_equal(done, 1);
        assert_int_equal(size, cases[i].len);
        if (cases[i].rc == 0)
            assert_int_equal(tt_check(rbuf[i], size, 77 + (uint64_t)i), -1);
    }
    assert_int_equal(tt_check(rbuf[N - 1], cases[N - 1].len, 77 + N - 1), -1);
    for (int i = 0; i < N; i++)
        free(sbuf[i]), free(rbuf[i]);
    tt_close(&c);
    TT->fini(ctx);
}

/* ---- accept with the sockets of several connections interleaved ---- */

static void test_accept_interleaved(void **state)
{
    enum { NC = 3 };
    static const int nsocks[NC] = {4, 1, 2};
    char handle[LC_PROV_HANDLE_MAX];
    lc_prov_ctx_t *sctx[NC], *rctx;
    lc_prov_comm_t *scomm[NC] = {0}, *rcomm[NC] = {0}, *lcomm;
    int nconn = 0, seen[NC] = {0};
    double t0 = lc_now();

    tt_env(1);
    rctx = tt_ctx();
    for (int i = 0; i < NC; i++) {
        tt_env(nsocks[i]);
        sctx[i] = tt_ctx();
    }
    assert_int_equal(TT->listen(rctx, 0, handle, &lcomm), 0);
    /* start every connect before the first accept, then alternate */
    for (int i = 0; i < NC; i++)
        assert_int_equal(TT->connect(sctx[i], 0, handle, &scomm[i]), 0);
    while (nconn < NC || !scomm[0] || !scomm[1] || !scomm[2]) {
        for (int i = NC - 1; i >= 0; i--)
            if (!scomm[i])
                assert_int_equal(TT->connect(sctx[i], 0, handle, &scomm[i]), 0);
        if (nconn < NC) {
            assert_int_equal(TT->accept(lcomm, &rcomm[nconn]), 0);
            nconn += rcomm[nconn] != NULL;
        }
        assert_true(lc_now() - t0 < 5.0);
    }
    /* each connection carries its own data: find out which is which */
    for (int i = 0; i < NC; i++) {
        char sb[3000];

        tt_fill(sb, sizeof(sb), 500 + (uint64_t)i);
        assert_int_equal(tt_wait(tt_isend(scomm[i], sb, sizeof(sb)), NULL, 5.0), 0);
    }
    for (int j = 0; j < NC; j++) {
        char rb[3000];
        size_t size = 0;
        int who = -1;

        assert_int_equal(tt_wait(tt_irecv(rcomm[j], rb, sizeof(rb)), &size, 5.0), 0);
        assert_int_equal(size, sizeof(rb));
        for (int i = 0; i < NC; i++)
            if (tt_check(rb, sizeof(rb), 500 + (uint64_t)i) == -1)
                who = i;
        assert_true(who >= 0);
        assert_int_equal(seen[who], 0);
        seen[who] = 1;
    }
    for (int i = 0; i < NC; i++) {
        assert_int_equal(TT->close_send(scomm[i]), 0);
        assert_int_equal(TT->close_recv(rcomm[i]), 0);
        TT->fini(sctx[i]);
    }
    assert_int_equal(TT->close_listen(lcomm), 0);
    TT->fini(rctx);
}

/* ---- one context shared by two threads (sender and receiver) ---- */

static void *tt_shared_recv(void *arg)
{
    lc_prov_comm_t *rcomm = arg;

    for (int i = 0; i < 200; i++) {
        char buf[70000];
        size_t size = 0, len = (size_t)(i * 331) % sizeof(buf);

        assert_int_equal(tt_wait(tt_irecv(rcomm, buf, sizeof(buf)), &size, 10.0), 0);
        assert_int_equal(size, len);
        assert_int_equal(tt_check(buf, size, 9000 + (uint64_t)i), -1);
    }
    return NULL;
}

static void test_shared_ctx_threads(void **state)
{
    tt_conn_t c;
    pthread_t th;
    lc_prov_ctx_t *ctx;
    static char buf[70000];

    tt_env(2);
    ctx = tt_ctx();
    tt_connect(&c, ctx, ctx);
    assert_int_equal(pthread_create(&th, NULL, tt_shared_recv, c.rcomm), 0);
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t)(i * 331) % sizeof(buf);
        tt_fill(buf, len, 9000 + (uint64_t)i);
        assert_int_equal(tt_wait(tt_isend(c.scomm, buf, len), NULL, 10.0), 0);
    }
    pthread_join(th, NULL);
    tt_close(&c);
    TT->fini(ctx);
}

/* ---- IPv6 loopback (skipped where ::1 is missing) ---- */

static void test_ipv6(void **state)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    lc_prov_props_t props = {.size = sizeof(props)};
    size_t len = 3 * MiB + 11, size = 0;
    char *sb = malloc(len), *rb = malloc(len);
    lc_prov_ctx_t *ctx = NULL;
    lc_prov_req_t *sreq, *rreq;
    tt_conn_t c;
    int rc;

    tt_env(3);
    setenv("LC_TCP_FAMILY", "AF_INET6", 1);
    rc = TT->init(&opts, &ctx);
    unsetenv("LC_TCP_FAMILY");
    if (rc == -ENODEV) {
        free(sb), free(rb);
        skip();
    }
    assert_int_equal(rc, 0);
    assert_int_equal(TT->get_props(ctx, 0, &props), 0);
    assert_string_equal(props.name, "lo");
    tt_connect(&c, ctx, ctx); /* one context: testing one request moves both */
    tt_fill(sb, len, 66);
    sreq = tt_isend(c.scomm, sb, len);
    rreq = tt_irecv(c.rcomm, rb, len);
    assert_int_equal(tt_wait(rreq, &size, 10.0), 0);
    assert_int_equal(tt_wait(sreq, NULL, 10.0), 0);
    assert_int_equal(size, len);
    assert_int_equal(tt_check(rb, len, 66), -1);
    tt_close(&c);
    TT->fini(ctx);
    free(sb), free(rb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_1sock),
        cmocka_unit_test(test_sizes_default),
        cmocka_unit_test(test_sizes_2socks),
        cmocka_unit_test(test_sizes_4socks),
        cmocka_unit_test(test_sizes_small_chunks),
        cmocka_unit_test(test_inflight_bidir),
        cmocka_unit_test(test_recv_sizes),
        cmocka_unit_test(test_accept_interleaved),
        cmocka_unit_test(test_shared_ctx_threads),
        cmocka_unit_test(test_ipv6),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
