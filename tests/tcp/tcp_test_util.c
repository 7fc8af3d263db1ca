/* tcp_test_util.c - helpers of the tcp provider tests (see tcp_test_util.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_test_util.h"

void tt_env(int nsocks)
{
    char v[16];

    unsetenv("LC_ROOT");
    unsetenv("LC_TCP_FAMILY");
    setenv("LC_TCP_IFNAME", "=lo", 1);
    if (nsocks > 0) {
        snprintf(v, sizeof(v), "%d", nsocks);
        setenv("LC_TCP_NSOCKS", v, 1);
    } else {
        unsetenv("LC_TCP_NSOCKS");
    }
}

lc_prov_ctx_t *tt_ctx(void)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .job_id = 1, .rank = -1};
    lc_prov_ctx_t *ctx = NULL;

    assert_int_equal(TT->init(&opts, &ctx), 0);
    assert_non_null(ctx);
    return ctx;
}

void tt_connect(tt_conn_t *c, lc_prov_ctx_t *sctx, lc_prov_ctx_t *rctx)
{
    char handle[LC_PROV_HANDLE_MAX];
    double t0 = lc_now();

    memset(c, 0, sizeof(*c));
    c->sctx = sctx;
    c->rctx = rctx;
    assert_int_equal(TT->listen(rctx, 0, handle, &c->lcomm), 0);
    while (!c->scomm || !c->rcomm) {
        if (!c->scomm)
            assert_int_equal(TT->connect(sctx, 0, handle, &c->scomm), 0);
        if (!c->rcomm)
            assert_int_equal(TT->accept(c->lcomm, &c->rcomm), 0);
        assert_true(lc_now() - t0 < 5.0);
    }
}

void tt_close(tt_conn_t *c)
{
    if (c->scomm)
        assert_int_equal(TT->close_send(c->scomm), 0);
    if (c->rcomm)
        assert_int_equal(TT->close_recv(c->rcomm), 0);
    if (c->lcomm)
        assert_int_equal(TT->close_listen(c->lcomm), 0);
    c->scomm = c->rcomm = c->lcomm = NULL;
}

int tt_wait(lc_prov_req_t *req, size_t *size, double timeout_s)
{
    double t0 = lc_now();
    unsigned spins = 0;

    for (;;) {
        int done = 0;
        int rc = TT->test(req, &done, size);

        if (rc || done)
            return rc;
        if (lc_now() - t0 > timeout_s)
            return -ETIMEDOUT;
        if (++spins % 64 == 0)
            sched_yield();
    }
}

static lc_prov_req_t *tt_post(lc_prov_comm_t *comm, void *buf, size_t len, int is_send)
{
    lc_prov_req_t *req = NULL;
    double t0 = lc_now();

    while (!req) {
        int rc = is_send ? TT->isend(comm, buf, len, NULL, &req) : TT->irecv(comm, buf, len, NULL, &req);
        assert_int_equal(rc, 0);
        assert_true(lc_now() - t0 < 10.0);
    }
    return req;
}

lc_prov_req_t *tt_isend(lc_prov_comm_t *comm, const void *buf, size_t len)
{
    return tt_post(comm, (void *)buf, len, 1);
}

lc_prov_req_t *tt_irecv(lc_prov_comm_t *comm, void *buf, size_t len)
{
    return tt_post(comm, buf, len, 0);
}

/* splitmix64 step. */
static uint64_t tt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

void tt_fill(void *buf, size_t len, uint64_t seed)
{
    unsigned char *b = buf;
    uint64_t s = tt_mix(seed);

    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            s = tt_mix(s + i);
        b[i] = (unsigned char)(s >> (8 * (i % 8)));
    }
}

long tt_check(const void *buf, size_t len, uint64_t seed)
{
    const unsigned char *b = buf;
    uint64_t s = tt_mix(seed);

    for (size_t i = 0; i < len; i++) {
        if (i % 8 == 0)
            s = tt_mix(s + i);
        if (b[i] != (unsigned char)(s >> (8 * (i % 8))))
            return (long)i;
    }
    return -1;
}
