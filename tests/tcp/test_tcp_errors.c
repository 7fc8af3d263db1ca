/*
 * test_tcp_errors.c - failure paths of the tcp provider through its ops
 * table: bad arguments and parameters, foreign handles, stray connections,
 * peers that close (requests fail within a bounded wait instead of hanging),
 * closing comms with requests in flight; also device selection and props.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_test_util.h"

#define BIG (64u * 1024 * 1024)

static void test_params_and_props(void **state)
{
    lc_prov_props_t p1 = {.size = sizeof(p1)}, p2 = {.size = sizeof(p2)};
    const char *owner;
    const lc_param_t *prm;
    int ndev = 0, found = 0;
    lc_prov_ctx_t *ctx;

    for (int i = 0; (prm = lc_param_at(i, &owner)); i++)
        if (!strncmp(prm->name, "LC_TCP_", 7)) {
            assert_string_equal(owner, "tcp");
            assert_true(prm->help && strlen(prm->help) > 10);
            found++;
        }
    assert_true(found >= 4);
    /* default device: loopback when LC_ROOT is unset or loopback */
    tt_env(0);
    unsetenv("LC_TCP_IFNAME");
    for (int k = 0; k < 2; k++) {
        if (k == 1)
            setenv("LC_ROOT", "127.0.0.1:29500", 1);
        ctx = tt_ctx();
        assert_int_equal(TT->devices(ctx, &ndev), 0);
        assert_int_equal(ndev, 1);
        assert_int_equal(TT->get_props(ctx, 0, k ? &p2 : &p1), 0);
        TT->fini(ctx);
    }
    unsetenv("LC_ROOT");
    assert_string_equal(p1.name, "lo");
    assert_int_equal(p1.guid, p2.guid); /* stable across contexts */
    assert_true(p1.guid != 0);
    assert_int_equal(p1.max_recvs, 1);
    assert_int_equal(p1.reg_is_global, 1);
    assert_int_equal(p1.port, 1);
    assert_true(p1.max_msg_size >= BIG);
    assert_int_equal(p1.size, sizeof(p1));
    /* excluding lo never yields lo */
    setenv("LC_TCP_IFNAME", "^lo", 1);
    ctx = NULL;
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    if (TT->init(&opts, &ctx) == 0) {
        assert_int_equal(TT->devices(ctx, &ndev), 0);
        for (int d = 0; d < ndev; d++) {
            assert_int_equal(TT->get_props(ctx, d, &p1), 0);
            assert_string_not_equal(p1.name, "lo");
        }
        TT->fini(ctx);
    }
    tt_env(0);
}

static void test_bad_config(void **state)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    lc_prov_ctx_t *ctx = (void *)1;

    tt_env(0);
    setenv("LC_TCP_NSOCKS", "0", 1);
    assert_int_equal(TT->init(&opts, &ctx), LC_ERR_CONFIG);
    assert_null(ctx);
    setenv("LC_TCP_NSOCKS", "many", 1);
    assert_int_equal(TT->init(&opts, &ctx), LC_ERR_CONFIG);
    setenv("LC_TCP_NSOCKS", "17", 1);
    assert_int_equal(TT->init(&opts, &ctx), LC_ERR_CONFIG);
    tt_env(0);
    setenv("LC_TCP_CHUNK", "100", 1);
    assert_int_equal(TT->init(&opts, &ctx), LC_ERR_CONFIG);
    unsetenv("LC_TCP_CHUNK");
    setenv("LC_TCP_FAMILY", "AF_UNIX", 1);
    assert_int_equal(TT->init(&opts, &ctx), LC_ERR_CONFIG);
    unsetenv("LC_TCP_FAMILY");
    setenv("LC_TCP_IFNAME", "=no_such_if0", 1);
    assert_int_equal(TT->init(&opts, &ctx), -ENODEV);
    assert_true(strstr(lc_last_error(), "no_such_if0") != NULL);
    tt_env(0);
    assert_int_equal(TT->init(&opts, NULL), -EINVAL);
    opts.size = 4;
    assert_int_equal(TT->init(&opts, &ctx), -EINVAL);
}

static void test_bad_args(void **state)
{
    char handle[LC_PROV_HANDLE_MAX], buf[64];
    lc_prov_props_t props = {.size = sizeof(props)};
    lc_prov_ctx_t *ctx;
    lc_prov_comm_t *lcomm, *comm = NULL;
    lc_prov_req_t *req = NULL;
    lc_prov_mr_t *mr = NULL;
    tt_conn_t c;
    int done, ndev;

    tt_env(2);
    ctx = tt_ctx();
    assert_int_equal(TT->devices(NULL, &ndev), -EINVAL);
    assert_int_equal(TT->wait(NULL, 10), -EINVAL);
    assert_int_equal(TT->wait(ctx, -1), -EINVAL);
    assert_int_equal(TT->wait(ctx, 100), 0); /* idle: returns after the timeout */
    assert_int_equal(TT->get_props(ctx, 1, &props), -EINVAL);
    assert_int_equal(TT->get_props(ctx, -1, &props), -EINVAL);
    assert_int_equal(TT->listen(ctx, 5, handle, &lcomm), -EINVAL);
    assert_int_equal(TT->listen(ctx, 0, NULL, &lcomm), -EINVAL);
    assert_int_equal(TT->accept(NULL, &comm), -EINVAL);
    assert_int_equal(TT->connect(ctx, 0, NULL, &comm), -EINVAL);
    /* a handle that is not ours, and one of another protocol version */
    memset(handle, 0x5a, sizeof(handle));
    assert_int_equal(TT->connect(ctx, 0, handle, &comm), LC_ERR_PROTO);
    assert_null(comm);
    assert_int_equal(TT->listen(ctx, 0, handle, &lcomm), 0);
    handle[4] ^= 0x40; /* version field */
    assert_int_equal(TT->connect(ctx, 0, handle, &comm), LC_ERR_PROTO);
    assert_int_equal(TT->close_listen(lcomm), 0);
    /* the listener is gone: connect fails instead of waiting forever */
    handle[4] ^= 0x40;
    {
        double t0 = lc_now();
        int rc = 0;
        comm = NULL;
        while (rc == 0 && !comm && lc_now() - t0 < 5.0)
            rc = TT->connect(ctx, 0, handle, &comm);
        assert_int_equal(rc, -ECONNREFUSED);
        assert_null(comm);
    }
    /* a short props struct is filled only up to its size */
    memset(&props, 0x7f, sizeof(props));
    props.size = offsetof(lc_prov_props_t, guid);
    assert_int_equal(TT->get_props(ctx, 0, &props), 0);
    assert_string_equal(props.name, "lo");
    assert_int_equal(props.speed_mbps, 0x7f7f7f7f);
    props.size = sizeof(props);

    tt_connect(&c, ctx, ctx);
    assert_int_equal(TT->isend(c.rcomm, buf, 1, NULL, &req), -EINVAL); /* wrong direction */
    assert_int_equal(TT->irecv(c.scomm, buf, 1, NULL, &req), -EINVAL);
    assert_int_equal(TT->isend(c.scomm, NULL, 10, NULL, &req), -EINVAL);
    assert_int_equal(TT->isend(c.scomm, buf, 1, NULL, NULL), -EINVAL);
    assert_int_equal(TT->isend(NULL, buf, 1, NULL, &req), -EINVAL);
    assert_int_equal(TT->test(NULL, &done, NULL), -EINVAL);
    assert_int_equal(TT->close_send(c.rcomm), -EINVAL);
    assert_int_equal(TT->close_recv(c.scomm), -EINVAL);
    /* registrations: global, checked against the buffer */
    assert_int_equal(TT->reg_mr(c.scomm, buf, 32, &mr), 0);
    assert_int_equal(TT->isend(c.scomm, buf + 16, 32, mr, &req), -EINVAL);
    assert_int_equal(TT->isend(c.scomm, buf + 8, 16, mr, &req), 0);
    assert_non_null(req);
    assert_int_equal(TT->irecv(c.rcomm, buf + 32, 32, mr, &req), -EINVAL);
    assert_int_equal(TT->irecv(c.rcomm, buf, 32, mr, &req), 0); /* another comm: global */
    assert_int_equal(tt_wait(req, NULL, 5.0), 0);
    /* a request is gone once reported done */
    done = 0;
    assert_int_equal(TT->test(req, &done, NULL), -EINVAL);
    assert_int_equal(TT->dereg_mr(c.scomm, mr), 0);
    assert_int_equal(TT->reg_mr(c.scomm, NULL, 8, &mr), -EINVAL);
    tt_close(&c);
    TT->fini(ctx);
}

/* A raw socket sends a foreign hello: accept drops it and still takes the real peer. */
static void test_stray_connection(void **state)
{
    char handle[LC_PROV_HANDLE_MAX], junk[40];
    struct sockaddr_in sa = {.sin_family = AF_INET};
    lc_prov_ctx_t *ctx;
    lc_prov_comm_t *lcomm, *scomm = NULL, *rcomm = NULL;
    double t0 = lc_now();
    int fd;

    tt_env(2);
    ctx = tt_ctx();
    assert_int_equal(TT->listen(ctx, 0, handle, &lcomm), 0);
    memcpy(&sa.sin_port, handle + 8, 2); /* tcp_handle_t: port after magic, version, family */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    memset(junk, 0x33, sizeof(junk));
    assert_int_equal(send(fd, junk, sizeof(junk), 0), sizeof(junk));
    while (!scomm || !rcomm) {
        if (!scomm)
            assert_int_equal(TT->connect(ctx, 0, handle, &scomm), 0);
        if (!rcomm)
            assert_int_equal(TT->accept(lcomm, &rcomm), 0);
        assert_true(lc_now() - t0 < 5.0);
    }
    close(fd);
    assert_int_equal(TT->close_send(scomm), 0);
    assert_int_equal(TT->close_recv(rcomm), 0);
    assert_int_equal(TT->close_listen(lcomm), 0);
    TT->fini(ctx);
}

/* The sender closes: a pending receive fails with -ECONNRESET, naming the peer. */
static void test_sender_closes(void **state)
{
    tt_conn_t c;
    char small[16];
    char *big = malloc(BIG);
    lc_prov_ctx_t *sctx, *rctx;
    lc_prov_req_t *req, *sreq;
    double t0;
    int done = 0;

    tt_env(2);
    sctx = tt_ctx();
    rctx = tt_ctx();
    /* closed before sending anything */
    tt_connect(&c, sctx, rctx);
    req = tt_irecv(c.rcomm, small, sizeof(small));
    assert_int_equal(TT->close_send(c.scomm), 0);
    c.scomm = NULL;
    t0 = lc_now();
    assert_int_equal(tt_wait(req, NULL, 5.0), -ECONNRESET);
    assert_true(lc_now() - t0 < 5.0);
    assert_true(strstr(lc_last_error(), "127.0.0.1") != NULL);
    /* later posts fail at once */
    assert_int_equal(TT->irecv(c.rcomm, small, sizeof(small), NULL, &req), -ECONNRESET);
    tt_close(&c);

    /* closed in the middle of a 64 MiB message */
    tt_connect(&c, sctx, rctx);
    tt_fill(big, BIG, 3);
    sreq = tt_isend(c.scomm, big, BIG);
    req = tt_irecv(c.rcomm, big, BIG); /* same buffer: the content does not matter here */
    for (int i = 0; i < 20; i++)
        assert_int_equal(TT->test(sreq, &done, NULL), 0);
    assert_int_equal(done, 0);
    assert_int_equal(TT->close_send(c.scomm), 0);
    c.scomm = NULL;
    /* the request in flight was failed by the close, its handle is still valid */
    assert_int_equal(TT->test(sreq, &done, NULL), -ECANCELED);
    assert_int_equal(done, 1);
    assert_int_equal(tt_wait(req, NULL, 5.0), -ECONNRESET);
    tt_close(&c);
    TT->fini(sctx);
    TT->fini(rctx);
    free(big);
}

/* The receiver closes: a large send fails with -ECONNRESET instead of hanging. */
static void test_receiver_closes(void **state)
{
    tt_conn_t c;
    char *big = calloc(1, BIG);
    lc_prov_ctx_t *sctx, *rctx;
    lc_prov_req_t *req;
    int rc;

    tt_env(4);
    sctx = tt_ctx();
    rctx = tt_ctx();
    tt_connect(&c, sctx, rctx);
    assert_int_equal(TT->close_recv(c.rcomm), 0);
    c.rcomm = NULL;
    /* the first send may still fit into the socket buffers; keep sending */
    rc = 0;
    for (int i = 0; i < 8 && rc == 0; i++) {
        req = NULL;
        rc = TT->isend(c.scomm, big, BIG, NULL, &req);
        if (rc == 0 && req)
            rc = tt_wait(req, NULL, 5.0);
    }
    assert_int_equal(rc, -ECONNRESET);
    tt_close(&c);
    TT->fini(sctx);
    TT->fini(rctx);
    free(big);
}

/* Closing a receive comm with receives posted fails them with -ECANCELED. */
static void test_close_in_flight(void **state)
{
    tt_conn_t c;
    char buf[4][100];
    lc_prov_ctx_t *ctx;
    lc_prov_req_t *req[4];
    int done;

    tt_env(2);
    ctx = tt_ctx();
    tt_connect(&c, ctx, ctx);
    for (int i = 0; i < 4; i++)
        req[i] = tt_irecv(c.rcomm, buf[i], sizeof(buf[i]));
    assert_int_equal(tt_wait(tt_isend(c.scomm, buf[0], 10), NULL, 5.0), 0);
    assert_int_equal(tt_wait(req[0], NULL, 5.0), 0);
    assert_int_equal(TT->close_recv(c.rcomm), 0);
    c.rcomm = NULL;
    for (int i = 1; i < 4; i++) {
        done = 0;
        assert_int_equal(TT->test(req[i], &done, NULL), -ECANCELED);
        assert_int_equal(done, 1);
    }
    /* a request never tested is freed by fini */
    assert_non_null(tt_isend(c.scomm, buf[0], 10));
    tt_close(&c);
    TT->fini(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_and_props),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_stray_connection),
        cmocka_unit_test(test_sender_closes),
        cmocka_unit_test(test_receiver_closes),
        cmocka_unit_test(test_close_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
