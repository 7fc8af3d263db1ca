/*
 * test_tcp_wire.c - the receiver of the tcp provider against a peer that
 * breaks the chunk protocol: chunk headers written straight into a
 * connection's socket (an offset past the message, a wrong chunk length, a
 * message length that changes, more chunks than the message has, also
 * while another socket holds a chunk of it, a chunk of a message already
 * complete, a message from the past) fail the receive comm with
 * LC_ERR_PROTO and a message, instead of writing outside the buffer or
 * waiting forever; and
 * well-formed chunks written the same way, on either socket and out of
 * order, land where their headers say.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp.h"
#include "tcp_test_util.h"

#define CHUNK 4096

/* Write a chunk header on socket idx of the send comm. */
static void raw_hdr(lc_prov_comm_t *scomm, int idx, uint32_t seq, uint32_t len, uint64_t msg_len,
                    uint64_t off)
{
    int fd = ((tcp_comm_t *)scomm)->socks[idx].fd;
    tcp_chunk_hdr_t h = {.seq = htole32(seq), .len = htole32(len), .msg_len = htole64(msg_len),
                         .off = htole64(off)};

    assert_int_equal(send(fd, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
}

/* A chunk header and its len payload bytes (value fill). */
static void raw_chunk(lc_prov_comm_t *scomm, int idx, uint32_t seq, uint32_t len, uint64_t msg_len,
                      uint64_t off, char fill)
{
    char payload[CHUNK];

    assert_true(len <= sizeof(payload));
    memset(payload, fill, len);
    raw_hdr(scomm, idx, seq, len, msg_len, off);
    if (len)
        assert_int_equal(send(((tcp_comm_t *)scomm)->socks[idx].fd, payload, len, MSG_NOSIGNAL),
                         (ssize_t)len);
}

/* Run the receiver's progress for a few ms (req stays incomplete). */
static void progress_a_while(lc_prov_req_t *req)
{
    double t0 = lc_now();
    int done = 0;

    while (lc_now() - t0 < 0.02) {
        assert_int_equal(TT->test(req, &done, NULL), 0);
        assert_int_equal(done, 0);
    }
}

/* A 2-socket connection with the smallest chunk, in its own contexts. */
static void wire_connect(tt_conn_t *c)
{
    tt_env(2);
    setenv("LC_TCP_CHUNK", "4096", 1);
    tt_connect(c, tt_ctx(), tt_ctx());
    unsetenv("LC_TCP_CHUNK");
}

static void wire_close(tt_conn_t *c)
{
    lc_prov_ctx_t *s = c->sctx, *r = c->rctx;

    tt_close(c);
    TT->fini(s);
    TT->fini(r);
}

/* The receive of rbuf fails with LC_ERR_PROTO and a message naming why. */
static void expect_proto(lc_prov_req_t *req, const char *why)
{
    assert_int_equal(tt_wait(req, NULL, 5.0), LC_ERR_PROTO);
    assert_non_null(strstr(lc_last_error(), "bad chunk"));
    assert_non_null(strstr(lc_last_error(), why));
}

static void test_bad_chunks(void **state)
{
    static char rbuf[3 * CHUNK], other[64];
    tt_conn_t c;
    lc_prov_req_t *req, *req2;
    size_t size = 0;

    /* a full chunk at an offset past the end of an 8-byte message */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_chunk(c.scomm, 0, 0, CHUNK, 8, CHUNK, 1);
    expect_proto(req, "not a chunk of the message");
    wire_close(&c);

    /* a chunk shorter than the chunk size although the message goes on */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_chunk(c.scomm, 1, 0, 100, 2 * CHUNK, 0, 1);
    expect_proto(req, "not a chunk of the message");
    wire_close(&c);

    /* the second chunk names another message length than the first */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_chunk(c.scomm, 0, 0, CHUNK, 2 * CHUNK, 0, 1);
    raw_chunk(c.scomm, 1, 0, CHUNK, 3 * CHUNK, CHUNK, 1);
    expect_proto(req, "another message length");
    wire_close(&c);

    /* the first chunk twice: more bytes than the message has left */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_chunk(c.scomm, 0, 0, CHUNK, CHUNK + 10, 0, 1);
    raw_chunk(c.scomm, 1, 0, CHUNK, CHUNK + 10, 0, 1);
    expect_proto(req, "more bytes than the message has left");
    wire_close(&c);

    /*
     * socket 0 holds the header of chunk 0, its payload not sent; socket 1
     * then sends chunks 2, 1 and 2 again, which would complete the message
     * (and free the receive that socket 0 still writes into) if headers
     * did not claim their bytes when matched
     */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_hdr(c.scomm, 0, 0, CHUNK, 3 * CHUNK, 0);
    progress_a_while(req);
    raw_chunk(c.scomm, 1, 0, CHUNK, 3 * CHUNK, 2 * CHUNK, 3);
    raw_chunk(c.scomm, 1, 0, CHUNK, 3 * CHUNK, CHUNK, 2);
    raw_chunk(c.scomm, 1, 0, CHUNK, 3 * CHUNK, 2 * CHUNK, 3);
    expect_proto(req, "more bytes than the message has left");
    wire_close(&c);

    /* a chunk of message 1, complete, while message 0 is still posted */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    req2 = tt_irecv(c.rcomm, other, sizeof(other));
    raw_chunk(c.scomm, 0, 1, 8, 8, 0, 2);
    assert_int_equal(tt_wait(req2, &size, 5.0), 0);
    assert_int_equal(size, 8);
    raw_chunk(c.scomm, 1, 1, 8, 8, 0, 2);
    expect_proto(req, "the message is complete");
    wire_close(&c);

    (void)state;
}

static void test_chunks_out_of_order(void **state)
{
    static char rbuf[3 * CHUNK + 10], empty[1];
    tt_conn_t c;
    lc_prov_req_t *req, *req2;
    size_t size = 0;

    wire_connect(&c);
    /* message 1 (empty) arrives before message 0, whose chunks come last first */
    raw_chunk(c.scomm, 1, 1, 0, 0, 0, 0);
    raw_chunk(c.scomm, 1, 0, 10, 3 * CHUNK + 10, 3 * CHUNK, 4);
    raw_chunk(c.scomm, 0, 0, CHUNK, 3 * CHUNK + 10, 2 * CHUNK, 3);
    raw_chunk(c.scomm, 1, 0, CHUNK, 3 * CHUNK + 10, CHUNK, 2);
    raw_chunk(c.scomm, 0, 0, CHUNK, 3 * CHUNK + 10, 0, 1);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    req2 = tt_irecv(c.rcomm, empty, sizeof(empty));
    assert_int_equal(tt_wait(req, &size, 5.0), 0);
    assert_int_equal(size, sizeof(rbuf));
    for (size_t i = 0; i < sizeof(rbuf); i++)
        assert_int_equal(rbuf[i], (char)(1 + i / CHUNK));
    assert_int_equal(tt_wait(req2, &size, 5.0), 0);
    assert_int_equal(size, 0);
    wire_close(&c);

    /* a message from the past (seq 2^32 - 1 with message 0 expected) */
    wire_connect(&c);
    req = tt_irecv(c.rcomm, rbuf, sizeof(rbuf));
    raw_chunk(c.scomm, 0, 0xffffffffu, 8, 8, 0, 1);
    expect_proto(req, "not a message in progress");
    wire_close(&c);

    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_chunks),
        cmocka_unit_test(test_chunks_out_of_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
