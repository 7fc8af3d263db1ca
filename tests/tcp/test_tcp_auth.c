/*
 * test_tcp_auth.c - the tcp provider's challenge-response: a hello captured
 * by a fake listener (valid for the challenge it sent) and replayed to the
 * real listener, and a connector holding another job key, are dropped and
 * counted; the real peer is still accepted and its messages arrive.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coll/harness.h"
#include "tcp.h"
#include "tcp_test_util.h"

static void read_all(int fd, void *buf, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = recv(fd, (char *)buf + off, len - off, 0);
        assert_true(n > 0);
        off += (size_t)n;
    }
}

/* A hello that B sends to a fake listener (which sent challenge nonce 0x11...). */
static void capture_hello(lc_prov_ctx_t *bctx, const tcp_handle_t *real, tcp_hello_t *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    tcp_challenge_t ch = {.magic = htole32(TCP_MAGIC), .version = htole16(TCP_VERSION)};
    tcp_handle_t fake = *real;
    lc_prov_comm_t *scomm = NULL;
    double t0 = lc_now();
    int lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    fake.port = sa.sin_port;
    assert_int_equal(TT->connect(bctx, 0, &fake, &scomm), 0);
    fd = accept(lfd, NULL, NULL);
    assert_true(fd >= 0);
    memset(ch.nonce, 0x11, sizeof(ch.nonce));
    assert_int_equal(send(fd, &ch, sizeof(ch), 0), (ssize_t)sizeof(ch));
    while (!scomm) {
        assert_int_equal(TT->connect(bctx, 0, &fake, &scomm), 0);
        assert_true(lc_now() - t0 < 5.0);
    }
    read_all(fd, out, sizeof(*out) * (size_t)1);
    assert_int_equal(TT->close_send(scomm), 0);
    close(fd);
    close(lfd);
}

static void test_replay_and_wrong_key(void **state)
{
    lc_prov_ctx_t *actx, *bctx, *ectx;
    lc_prov_comm_t *lcomm, *bcomm = NULL, *ecomm = NULL, *rcomm = NULL, *extra = NULL;
    tcp_handle_t h;
    tcp_hello_t captured;
    tcp_challenge_t ch;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char msg[32] = "from the real peer", got[32] = {0};
    double t0;
    int fd;

    tt_env(1);
    actx = lc_test_prov_ctx_with_key(TT, 0xa5);
    bctx = lc_test_prov_ctx_with_key(TT, 0xa5);
    ectx = lc_test_prov_ctx_with_key(TT, 0x5a);
    assert_int_equal(TT->listen(actx, 0, &h, &lcomm), 0);
    capture_hello(bctx, &h, &captured);

    /* the replay: the real listener's challenge is another, so the proof fails */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = h.port;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    t0 = lc_now();
    while (!rcomm && lc_now() - t0 < 5.0) { /* accept() sends the challenge */
        assert_int_equal(TT->accept(lcomm, &rcomm), 0);
        if (recv(fd, &ch, sizeof(ch), MSG_DONTWAIT | MSG_PEEK) == (ssize_t)sizeof(ch))
            break;
    }
    read_all(fd, &ch, sizeof(ch));
    assert_int_equal(send(fd, &captured, sizeof(captured), 0), (ssize_t)sizeof(captured));

    /* a peer with another key, and the real one */
    t0 = lc_now();
    while (!bcomm || !rcomm) {
        if (!ecomm)
            assert_int_equal(TT->connect(ectx, 0, &h, &ecomm), 0);
        if (!bcomm)
            assert_int_equal(TT->connect(bctx, 0, &h, &bcomm), 0);
        if (!rcomm)
            assert_int_equal(TT->accept(lcomm, &rcomm), 0);
        assert_true(lc_now() - t0 < 5.0);
    }
    /* nothing else is accepted, and both impostors were counted */
    t0 = lc_now();
    while (lc_now() - t0 < 0.5 || ((tcp_ctx_t *)actx)->refused < 2) {
        assert_int_equal(TT->accept(lcomm, &extra), 0);
        assert_null(extra);
        assert_true(lc_now() - t0 < 5.0);
    }
    assert_int_equal(((tcp_ctx_t *)actx)->refused, 2);
    /* the accepted comm is the real peer's */
    {
        lc_prov_req_t *sreq = tt_isend(bcomm, msg, sizeof(msg));
        lc_prov_req_t *rreq = tt_irecv(rcomm, got, sizeof(got));
        assert_int_equal(tt_wait(sreq, NULL, 5.0), 0);
        assert_int_equal(tt_wait(rreq, NULL, 5.0), 0);
        assert_memory_equal(got, msg, sizeof(msg));
    }
    close(fd);
    assert_int_equal(TT->close_send(bcomm), 0);
    assert_int_equal(TT->close_send(ecomm), 0);
    assert_int_equal(TT->close_recv(rcomm), 0);
    assert_int_equal(TT->close_listen(lcomm), 0);
    TT->fini(actx);
    TT->fini(bctx);
    TT->fini(ectx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_and_wrong_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
