/*
 * test_ofi_auth.c - the ofi provider's challenge-response connection set-up
 * and directed receives, between contexts in one process over loopback:
 * (a) two peers with the same key connect and a message moves, and a third
 *     endpoint sending with the connection's tag lands nothing in it;
 * (b) a connector with another key is refused (its confirm dropped and
 *     counted) while the real one is accepted;
 * (c) a captured handshake and confirm, replayed from the real connector's
 *     own endpoint, are refused and counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "coll/harness.h"
#include "lcofi.h"
#include "ofi_pair.h"

static const lc_provider_t *prov;

static void progress2(lcofi_ctx_t *a, lcofi_ctx_t *b)
{
    pthread_mutex_lock(&a->lock);
    assert_int_equal(lcofi_progress(a), 0);
    pthread_mutex_unlock(&a->lock);
    pthread_mutex_lock(&b->lock);
    assert_int_equal(lcofi_progress(b), 0);
    pthread_mutex_unlock(&b->lock);
}

/* Send len bytes raw from ctx's endpoint to the listener handle h of context to, with
 * tag; progress both until it is sent. */
static void raw_send(lc_prov_ctx_t *vctx, lc_prov_ctx_t *to, const lcofi_handle_t *h,
                     const void *buf, size_t len, uint64_t tag)
{
    lcofi_ctx_t *ctx = (lcofi_ctx_t *)vctx;
    lcofi_op_t op = {0}; /* kind 0: the provider only logs its completion */
    lcofi_peer_t *pe;
    double t0 = lc_now();
    ssize_t ret;

    pthread_mutex_lock(&ctx->lock);
    assert_int_equal(lcofi_av_insert(ctx, h->addr, h->addrlen, &pe), 0);
    while ((ret = fi_tsend(ctx->ep, buf, len, NULL, pe->fa, tag, &op)) == -FI_EAGAIN) {
        pthread_mutex_unlock(&ctx->lock);
        progress2(ctx, (lcofi_ctx_t *)to);
        pthread_mutex_lock(&ctx->lock);
        assert_true(lc_now() - t0 < 5.0);
    }
    pthread_mutex_unlock(&ctx->lock);
    assert_int_equal(ret, 0);
    for (op.posted = 1; op.posted;) {
        progress2(ctx, (lcofi_ctx_t *)to);
        assert_true(lc_now() - t0 < 5.0);
    }
}

/* Connect b to the listener until both ends are up; e (if any) keeps trying alongside. */
static void connect_both(lc_prov_ctx_t *b, lc_prov_comm_t *lcomm, const void *h,
                         lc_prov_comm_t **s, lc_prov_comm_t **r, lc_prov_ctx_t *e,
                         lc_prov_comm_t **es)
{
    double t0 = lc_now();

    *s = *r = NULL;
    while (!*s || !*r) {
        if (e && !*es)
            assert_int_equal(prov->connect(e, 0, h, es), 0);
        if (!*s)
            assert_int_equal(prov->connect(b, 0, h, s), 0);
        if (!*r)
            assert_int_equal(prov->accept(lcomm, r), 0);
        assert_true(lc_now() - t0 < 10.0);
    }
}

/* Keep the contexts progressing for secs; nothing more may be accepted. */
static void nothing_accepted(lc_prov_comm_t *lcomm, double secs)
{
    lc_prov_comm_t *extra = NULL;

    for (double t0 = lc_now(); lc_now() - t0 < secs;) {
        assert_int_equal(prov->accept(lcomm, &extra), 0);
        assert_null(extra);
    }
}

static void xfer_check(lc_prov_comm_t *s, lc_prov_comm_t *r, uint32_t seed)
{
    char sbuf[4096], rbuf[4096];
    lc_prov_req_t *sreq = NULL, *rreq = NULL;
    size_t got = 0;

    ofi_fill(sbuf, sizeof(sbuf), seed);
    memset(rbuf, 0, sizeof(rbuf));
    while (!rreq)
        assert_int_equal(prov->irecv(r, rbuf, sizeof(rbuf), NULL, &rreq), 0);
    while (!sreq)
        assert_int_equal(prov->isend(s, sbuf, sizeof(sbuf), NULL, &sreq), 0);
    assert_int_equal(ofi_wait(prov, sreq, NULL), 0);
    assert_int_equal(ofi_wait(prov, rreq, &got), 0);
    assert_int_equal(got, sizeof(sbuf));
    assert_true(ofi_check(rbuf, sizeof(rbuf), seed));
}

/* Close b's connection s -> r and a's listener lcomm (each must succeed), then the contexts. */
static void close_all(lc_prov_comm_t *s, lc_prov_comm_t *r, lc_prov_comm_t *lcomm,
                      lc_prov_ctx_t *a, lc_prov_ctx_t *b, lc_prov_ctx_t *e)
{
    ofi_pair_t p = {.prov = prov, .a = b, .b = a, .listen = lcomm, .send = s, .recv = r};

    assert_int_equal(ofi_pair_close(&p), 0);
    if (e)
        prov->fini(e);
}

/* (a) same key: connected, the message arrives; a third endpoint's message with the
 * connection's tag does not land in the receive (directed receives). */
static void test_same_key(void **state)
{
    lc_prov_ctx_t *a = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_ctx_t *b = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_ctx_t *e = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_comm_t *lcomm, *s, *r, *none = NULL;
    char h[LC_PROV_HANDLE_MAX], fake[4096], rbuf[4096], sbuf[4096];
    lc_prov_req_t *rreq = NULL, *sreq = NULL;
    lcofi_handle_t *lh = (lcofi_handle_t *)h;
    size_t got = 0;

    (void)state;
    assert_int_equal(prov->listen(a, 0, h, &lcomm), 0);
    connect_both(b, lcomm, h, &s, &r, NULL, NULL);
    assert_true(((lcofi_ctx_t *)a)->directed);
    xfer_check(s, r, 1);
    /* message 1 of the connection, sent first by another endpoint with its tag */
    while (!rreq)
        assert_int_equal(prov->irecv(r, rbuf, sizeof(rbuf), NULL, &rreq), 0);
    memset(fake, 0x66, sizeof(fake));
    raw_send(e, a, lh, fake, sizeof(fake),
             ((uint64_t)((lcofi_recv_comm_t *)r)->id << LCOFI_COMM_SHIFT) |
                 (1ULL << LCOFI_SEQ_SHIFT) | LCOFI_TAG_LAST);
    ofi_fill(sbuf, sizeof(sbuf), 2);
    while (!sreq)
        assert_int_equal(prov->isend(s, sbuf, sizeof(sbuf), NULL, &sreq), 0);
    assert_int_equal(ofi_wait(prov, sreq, NULL), 0);
    assert_int_equal(ofi_wait(prov, rreq, &got), 0);
    assert_int_equal(got, sizeof(sbuf));
    assert_true(ofi_check(rbuf, sizeof(rbuf), 2));
    assert_int_equal(prov->accept(lcomm, &none), 0);
    assert_null(none);
    assert_int_equal(((lcofi_ctx_t *)a)->refused, 0);
    close_all(s, r, lcomm, a, b, e);
}

/* (b) another key: the connector drops the listener's reply (its proof is for the
 * job's key); a confirm it makes with its own key is dropped and counted by the
 * listener; the real connector is accepted. */
static void test_wrong_key(void **state)
{
    lc_prov_ctx_t *a = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_ctx_t *b = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_ctx_t *e = lc_test_prov_ctx_with_key(prov, 0x5a);
    lc_prov_comm_t *lcomm, *s, *r, *es = NULL;
    char h[LC_PROV_HANDLE_MAX];
    lcofi_ctx_t *ea = (lcofi_ctx_t *)e;
    lcofi_send_comm_t *pend;
    lcofi_confirm_t conf = {.magic = LCOFI_MAGIC};
    lcofi_handle_t *lh = (lcofi_handle_t *)h;
    double t0;

    (void)state;
    assert_int_equal(prov->listen(a, 0, h, &lcomm), 0);
    connect_both(b, lcomm, h, &s, &r, e, &es);
    for (t0 = lc_now(); ea->refused == 0; ) { /* e saw the reply and dropped it */
        assert_int_equal(prov->connect(e, 0, h, &es), 0);
        assert_int_equal(prov->accept(lcomm, &(lc_prov_comm_t *){NULL}), 0);
        assert_true(lc_now() - t0 < 5.0);
    }
    assert_null(es);
    /* a confirm for that reply under the other key, from e's own endpoint */
    pend = ea->connecting;
    assert_non_null(pend);
    conf.comm_id = pend->ack.comm_id;
    assert_int_equal(lcofi_proof(ea, LCOFI_CONFIRM_LABEL, &pend->hs, &pend->ack, conf.proof), 0);
    raw_send(e, a, lh, &conf, sizeof(conf),
             LCOFI_TAG_CTRL | LCOFI_TAG_CONFIRM | conf.comm_id);
    for (t0 = lc_now(); ((lcofi_ctx_t *)a)->refused == 0;) {
        lc_prov_comm_t *extra = NULL;

        assert_int_equal(prov->accept(lcomm, &extra), 0);
        assert_null(extra);
        assert_true(lc_now() - t0 < 5.0);
    }
    assert_int_equal(((lcofi_ctx_t *)a)->refused, 1);
    nothing_accepted(lcomm, 0.3);
    assert_int_equal(prov->connect(e, 0, h, &es), 0);
    assert_null(es);
    xfer_check(s, r, 3);
    close_all(s, r, lcomm, a, b, e);
}

/* (c) the real connector's handshake and confirm, captured, replayed from its own
 * endpoint (the strongest sender: the right address): the new connection's confirm
 * proof fails, it is dropped and counted, nothing is accepted. */
static void test_replay(void **state)
{
    lc_prov_ctx_t *a = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_ctx_t *b = lc_test_prov_ctx_with_key(prov, 0xa5);
    lc_prov_comm_t *lcomm, *s, *r;
    char h[LC_PROV_HANDLE_MAX];
    lcofi_handle_t *lh = (lcofi_handle_t *)h;
    lcofi_listen_comm_t *lc;
    lcofi_hs_t hs;
    lcofi_confirm_t conf;
    double t0;

    (void)state;
    assert_int_equal(prov->listen(a, 0, h, &lcomm), 0);
    lc = (lcofi_listen_comm_t *)lcomm;
    connect_both(b, lcomm, h, &s, &r, NULL, NULL);
    hs = ((lcofi_send_comm_t *)s)->hs;
    conf = ((lcofi_send_comm_t *)s)->confirm;
    raw_send(b, a, lh, &hs, sizeof(hs), LCOFI_TAG_CTRL | lh->listen_id);
    for (t0 = lc_now(); !lc->pending;) { /* a new pending connection, as for any handshake */
        lc_prov_comm_t *extra = NULL;

        assert_int_equal(prov->accept(lcomm, &extra), 0);
        assert_null(extra);
        assert_true(lc_now() - t0 < 5.0);
    }
    /* the captured confirm, retagged for the new connection id the reply announced */
    raw_send(b, a, lh, &conf, sizeof(conf),
             LCOFI_TAG_CTRL | LCOFI_TAG_CONFIRM | lc->pending->id);
    conf.comm_id = lc->pending->id;
    raw_send(b, a, lh, &conf, sizeof(conf),
             LCOFI_TAG_CTRL | LCOFI_TAG_CONFIRM | lc->pending->id);
    for (t0 = lc_now(); ((lcofi_ctx_t *)a)->refused < 2;) {
        lc_prov_comm_t *extra = NULL;

        assert_int_equal(prov->accept(lcomm, &extra), 0);
        assert_null(extra);
        assert_true(lc_now() - t0 < 5.0);
    }
    nothing_accepted(lcomm, 0.3);
    assert_int_equal(((lcofi_ctx_t *)a)->refused, 2);
    xfer_check(s, r, 4); /* the real connection is unharmed */
    close_all(s, r, lcomm, a, b, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_key),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_replay),
    };

    ofi_env_or_skip();
    prov = lc_provider_find("ofi");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
