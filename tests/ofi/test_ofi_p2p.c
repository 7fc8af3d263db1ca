/*
 * test_ofi_p2p.c - point-to-point through the ofi provider's ops table over
 * tcp;ofi_rxm on loopback: sizes from 0 B to 64 MiB, larger and smaller
 * receive buffers, many messages in flight, ordering, connections kept
 * apart, messages split when LC_OFI_MAX_MSG is below their size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ofi_pair.h"

static int setup(void **state)
{
    ofi_pair_t *p = calloc(1, sizeof(*p));

    if (!p || ofi_pair_open(p)) {
        free(p);
        return -1;
    }
    *state = p;
    return 0;
}

static int teardown(void **state)
{
    ofi_pair_close(*state);
    free(*state);
    return 0;
}

/* Exact-size messages from 0 B to 64 MiB, registered and not. */
static void test_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 7, 4096, 65539, 1 << 20, 64u << 20};
    ofi_pair_t *p = *state;
    size_t max = 64u << 20, got;
    char *s = malloc(max), *r = malloc(max);
    lc_prov_mr_t *smh, *rmh;

    assert_non_null(s);
    assert_non_null(r);
    assert_int_equal(p->prov->reg_mr(p->send, s, max, &smh), 0);
    assert_int_equal(p->prov->reg_mr(p->recv, r, max, &rmh), 0);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int reg = 0; reg < 2; reg++) {
            ofi_fill(s, sizes[i], (uint32_t)(i * 2 + reg));
            memset(r, 0xee, sizes[i] + 1 < max ? sizes[i] + 1 : max);
            got = 12345;
            assert_int_equal(
                ofi_xfer(p, s, sizes[i], reg ? smh : NULL, r, sizes[i], reg ? rmh : NULL, &got), 0);
            assert_int_equal(got, sizes[i]);
            assert_true(ofi_check(r, sizes[i], (uint32_t)(i * 2 + reg)));
            if (sizes[i] + 1 < max)
                assert_int_equal((unsigned char)r[sizes[i]], 0xee); /* nothing beyond */
        }
    }
    assert_int_equal(p->prov->dereg_mr(p->send, smh), 0);
    assert_int_equal(p->prov->dereg_mr(p->recv, rmh), 0);
    free(s);
    free(r);
}

/* A larger buffer reports the message's size; a smaller one -EMSGSIZE, and the
 * connection goes on with the next message. */
static void test_buffer_sizes(void **state)
{
    ofi_pair_t *p = *state;
    char s[3000], r[8192];
    size_t got = 0;

    ofi_fill(s, 1000, 5);
    assert_int_equal(ofi_xfer(p, s, 1000, NULL, r, sizeof(r), NULL, &got), 0);
    assert_int_equal(got, 1000);
    assert_true(ofi_check(r, 1000, 5));

    ofi_fill(s, sizeof(s), 6);
    assert_int_equal(ofi_xfer(p, s, sizeof(s), NULL, r, 100, NULL, &got), -EMSGSIZE);
    assert_non_null(strstr(lc_last_error(), "does not fit"));

    ofi_fill(s, 2000, 7);
    assert_int_equal(ofi_xfer(p, s, 2000, NULL, r, sizeof(r), NULL, &got), 0);
    assert_int_equal(got, 2000);
    assert_true(ofi_check(r, 2000, 7));
}

/* 64 messages of different sizes in flight; receives posted first, tested in
 * reverse order; each lands in its own buffer, in order. */
static void test_in_flight(void **state)
{
    enum { N = 64 };
    ofi_pair_t *p = *state;
    char *s[N], *r[N];
    lc_prov_req_t *sreq[N], *rreq[N];
    size_t got;

    for (int i = 0; i < N; i++) {
        size_t len = (size_t)i * 1531 + 3;

        s[i] = malloc(len);
        r[i] = malloc(len + 64);
        assert_true(s[i] && r[i]);
        ofi_fill(s[i], len, 100 + (uint32_t)i);
        rreq[i] = sreq[i] = NULL;
        while (!rreq[i])
            assert_int_equal(p->prov->irecv(p->recv, r[i], len + 64, NULL, &rreq[i]), 0);
    }
    for (int i = 0; i < N; i++)
        while (!sreq[i])
            assert_int_equal(p->prov->isend(p->send, s[i], (size_t)i * 1531 + 3, NULL, &sreq[i]),
                             0);
    for (int i = N - 1; i >= 0; i--) {
        int sdone = 0, rdone = 0;

        while (!rdone) {
            for (int k = 0; k < N; k++) /* keep every sender moving */
                if (sreq[k]) {
                    assert_int_equal(p->prov->test(sreq[k], &sdone, NULL), 0);
                    if (sdone)
                        sreq[k] = NULL;
                }
            assert_int_equal(p->prov->test(rreq[i], &rdone, &got), 0);
        }
        assert_int_equal(got, (size_t)i * 1531 + 3);
        assert_true(ofi_check(r[i], got, 100 + (uint32_t)i));
        free(s[i]);
        free(r[i]);
    }
}

/* Two connections to one listener: each message reaches its own recv comm. */
static void test_two_connections(void **state)
{
    ofi_pair_t *p = *state, q = *p;
    char a[100], b[100], r[100];
    size_t got;

    assert_int_equal(ofi_pair_connect(p, &q.send, &q.recv), 0);
    ofi_fill(a, sizeof(a), 1);
    ofi_fill(b, sizeof(b), 2);
    /* second connection first: its message must not reach the first's receive */
    assert_int_equal(ofi_xfer(&q, b, sizeof(b), NULL, r, sizeof(r), NULL, &got), 0);
    assert_true(ofi_check(r, sizeof(r), 2));
    assert_int_equal(ofi_xfer(p, a, sizeof(a), NULL, r, sizeof(r), NULL, &got), 0);
    assert_true(ofi_check(r, sizeof(r), 1));
    assert_int_equal(p->prov->close_send(q.send), 0);
    assert_int_equal(p->prov->close_recv(q.recv), 0);
}

/* connect() never blocks: with the listener's context idle it returns no
 * comm yet; the connection completes once both sides make progress. */
static void test_nonblocking_connect(void **state)
{
    ofi_pair_t *p = *state, q = *p;
    lc_prov_comm_t *comm = (void *)1;
    char s[10] = "123456789", r[10];
    size_t got = 0;

    assert_int_equal(p->prov->init(NULL, &q.a), 0);
    assert_int_equal(p->prov->connect(q.a, 0, q.handle, &comm), 0);
    assert_null(comm);
    assert_int_equal(p->prov->connect(q.a, 0, q.handle, &comm), 0);
    assert_null(comm); /* b has not run: no reply can have come */
    assert_int_equal(ofi_pair_connect(&q, &q.send, &q.recv), 0);
    assert_int_equal(ofi_xfer(&q, s, sizeof(s), NULL, r, sizeof(r), NULL, &got), 0);
    assert_int_equal(got, sizeof(s));
    assert_memory_equal(r, s, sizeof(s));
    assert_int_equal(p->prov->close_send(q.send), 0);
    assert_int_equal(p->prov->close_recv(q.recv), 0);
    p->prov->fini(q.a);
}

static void test_props(void **state)
{
    ofi_pair_t *p = *state;
    lc_prov_props_t props = {.size = sizeof(props)};
    int ndev = 0;

    assert_int_equal(p->prov->devices(p->a, &ndev), 0);
    assert_int_equal(ndev, 1);
    assert_int_equal(p->prov->get_props(p->a, 0, &props), 0);
    assert_non_null(strstr(props.name, ":lo"));
    assert_int_equal(props.max_recvs, 1);
    assert_int_equal(props.reg_is_global, 1);
    assert_true(props.max_msg_size >= (64u << 20));
}

/* With LC_OFI_MAX_MSG=64K messages travel in chunks: exact multiples, tails,
 * zero bytes, and an oversized message whose tail is swallowed. */
static void test_split(void **state)
{
    ofi_pair_t q;
    size_t big = 4u << 20, got;
    char *s = malloc(big), *r = malloc(big);
    static const size_t sizes[] = {0, 65536, 65537, 256 << 10, (1 << 20) + 5};

    (void)state;
    setenv("LC_OFI_MAX_MSG", "64K", 1);
    assert_int_equal(ofi_pair_open(&q), 0);
    unsetenv("LC_OFI_MAX_MSG");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        ofi_fill(s, sizes[i], 300 + (uint32_t)i);
        assert_int_equal(ofi_xfer(&q, s, sizes[i], NULL, r, big, NULL, &got), 0);
        assert_int_equal(got, sizes[i]);
        assert_true(ofi_check(r, got, 300 + (uint32_t)i));
    }
    /* too small by several chunks, then by part of one */
    assert_int_equal(ofi_xfer(&q, s, 1 << 20, NULL, r, 100000, NULL, &got), -EMSGSIZE);
    assert_int_equal(ofi_xfer(&q, s, 70000, NULL, r, 69999, NULL, &got), -EMSGSIZE);
    ofi_fill(s, 200000, 9);
    assert_int_equal(ofi_xfer(&q, s, 200000, NULL, r, big, NULL, &got), 0);
    assert_int_equal(got, 200000);
    assert_true(ofi_check(r, got, 9));
    ofi_pair_close(&q);
    free(s);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_buffer_sizes),
        cmocka_unit_test(test_in_flight),
        cmocka_unit_test(test_two_connections),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_nonblocking_connect),
    };

    ofi_env_or_skip();
    return cmocka_run_group_tests(tests, setup, teardown);
}
