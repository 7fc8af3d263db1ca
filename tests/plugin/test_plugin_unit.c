/*
 * test_plugin_unit.c - unit tests of the NCCL plugin's implementation over
 * the in-memory mock provider: properties of each ABI version, init failure,
 * tag matching (expected and unexpected messages, eager and large
 * payloads), grouped receives with sends in any order, buffers too small,
 * registration and close bookkeeping. The plugin's tables are called the
 * way NCCL calls them; every received byte is checked against the pattern
 * the sender wrote.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcn.h"
#include "mock_prov.h"

extern const lcn_net_v10_t ncclNetPlugin_v10;
extern const lcn_net_v8_t ncclNetPlugin_v8;
extern const lcn_net_v6_t ncclNetPlugin_v6;

static const lcn_net_v10_t *net = &ncclNetPlugin_v10;
static int log_warns, log_lines;

static void test_logger(int level, unsigned long flags, const char *file, int line, const char *fmt,
                        ...)
{
    log_lines++;
    if (level == LCN_LOG_WARN)
        log_warns++;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;

    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)x;
    }
}

static void check(const unsigned char *p, size_t n, unsigned seed)
{
    unsigned char *want = malloc(n ? n : 1);

    assert_non_null(want);
    fill(want, n, seed);
    assert_memory_equal(p, want, n);
    free(want);
}

static int setup(void **state)
{
    const lc_provider_t *provs[1] = {&mock_prov};

    memset(&mock_count, 0, sizeof(mock_count));
    mock_count.busy_mode = 1;
    return lcn_init_providers(provs, 1, test_logger) == LCN_OK ? 0 : -1;
}

static int teardown(void **state)
{
    assert_int_equal(mock_count.comms, 0);
    assert_int_equal(mock_count.regs, 0);
    lcn_fini();
    return 0;
}

/* A connected pair through the v10 table, with NCCL's retry loops. */
static void pair(void **lc, void **sc, void **rc)
{
    char handle[LCN_HANDLE_MAX];
    int tries = 0;

    assert_int_equal(net->listen(0, handle, lc), LCN_OK);
    *sc = *rc = NULL;
    while ((!*sc || !*rc) && tries++ < 100) {
        if (!*sc)
            assert_int_equal(net->connect(0, NULL, handle, sc, NULL), LCN_OK);
        if (!*rc)
            assert_int_equal(net->accept(*lc, rc, NULL), LCN_OK);
    }
    assert_non_null(*sc);
    assert_non_null(*rc);
}

static void unpair(void *lc, void *sc, void *rc)
{
    assert_int_equal(net->close_send(sc), LCN_OK);
    assert_int_equal(net->close_recv(rc), LCN_OK);
    assert_int_equal(net->close_listen(lc), LCN_OK);
}

static void *post_send(void *sc, void *buf, size_t size, int tag, void *mh)
{
    void *req = NULL;

    for (int i = 0; i < 100 && !req; i++)
        assert_int_equal(net->isend(sc, buf, size, tag, mh, NULL, &req), LCN_OK);
    assert_non_null(req);
    return req;
}

static void *post_recv(void *rc, int n, void **bufs, size_t *sizes, int *tags, void **mhs)
{
    void *req = NULL;

    for (int i = 0; i < 100 && !req; i++)
        assert_int_equal(net->irecv(rc, n, bufs, sizes, tags, mhs, NULL, &req), LCN_OK);
    assert_non_null(req);
    return req;
}

/* Test until done; returns the result of the completing test(). */
static lcn_res_t wait_req(void *req, int *sizes)
{
    int done = 0;
    lcn_res_t res = LCN_OK;

    for (int i = 0; i < 1000 && !done; i++) {
        res = net->test(req, &done, sizes);
        if (res != LCN_OK)
            return res;
    }
    assert_true(done);
    return res;
}

/* A receive on a tag nobody sends yet: testing it makes the receiver read
 * the headers that arrived, so later messages become "unexpected". */
static unsigned char sentinel_buf[1];

static void *sentinel_open(void *rc)
{
    void *bufs[1] = {sentinel_buf};
    size_t cap[1] = {1};
    int tag = -7;

    return post_recv(rc, 1, bufs, cap, &tag, NULL);
}

static void sentinel_poke(void *req)
{
    for (int i = 0; i < 20; i++) {
        int done = 1;
        assert_int_equal(net->test(req, &done, NULL), LCN_OK);
        assert_false(done);
    }
}

static void sentinel_close(void *sc, void *req)
{
    int got = -1;

    assert_int_equal(wait_req(post_send(sc, sentinel_buf, 0, -7, NULL), NULL), LCN_OK);
    assert_int_equal(wait_req(req, &got), LCN_OK);
    assert_int_equal(got, 0);
}

static void test_props(void **state)
{
    lcn_props_v10_t p;
    lcn_props_v8_t p8;
    lcn_props_v6_t p6;
    int ndev = 0;

    assert_int_equal(net->devices(&ndev), LCN_OK);
    assert_int_equal(ndev, 1);
    assert_int_equal(net->get_properties(0, &p), LCN_OK);
    assert_string_equal(p.name, "mock0");
    assert_null(p.pci_path);
    assert_int_equal(p.guid, 0x1234);
    assert_int_equal(p.ptr_support, LCN_PTR_HOST);
    assert_int_equal(p.reg_is_global, 1);
    assert_int_equal(p.speed, 1000);
    assert_int_equal(p.port, 1);
    assert_int_equal(p.max_comms, 128);
    assert_true(p.max_recvs >= 8);
    assert_int_equal(p.dev_type, LCN_DEV_HOST);
    assert_int_equal(p.vprops.ndevs, 1);
    assert_int_equal(p.vprops.devs[0], 0);
    assert_int_equal(p.max_p2p_bytes, INT_MAX);
    assert_true(p.latency > 4.9f && p.latency < 5.1f);
    assert_int_equal(ncclNetPlugin_v8.get_properties(0, &p8), LCN_OK);
    assert_int_equal(p8.speed, 1000);
    assert_int_equal(p8.reg_is_global, 1);
    assert_true(p8.max_recvs >= 8);
    assert_int_equal(ncclNetPlugin_v6.get_properties(0, &p6), LCN_OK);
    assert_int_equal(p6.speed, 1000);
    assert_int_equal(p6.max_comms, 128);
    assert_int_not_equal(net->get_properties(1, &p), LCN_OK);
    assert_string_equal(net->name, "lioncub");
}

static void test_init_fails(void **state)
{
    const lc_provider_t *provs[1] = {&mock_prov};
    int ndev = -1, warns = log_warns;

    lcn_fini();
    mock_count.fail_init = 1;
    assert_int_not_equal(lcn_init_providers(provs, 1, test_logger), LCN_OK);
    assert_true(log_warns > warns); /* the reason went to NCCL's logger */
    assert_int_equal(net->devices(&ndev), LCN_OK);
    assert_int_equal(ndev, 0);
    mock_count.fail_init = 0;
    assert_int_equal(lcn_init_providers(provs, 1, test_logger), LCN_OK);
}

static void test_single(void **state)
{
    static const size_t sizes[] = {0, 1, 1023, 1024, 1025, 4096, 100000, 3 << 20};
    void *lc, *sc, *rc, *smh, *rmh;
    size_t cap = (3 << 20) + 64;
    unsigned char *sbuf = malloc(cap), *rbuf = malloc(cap);

    assert_non_null(sbuf);
    assert_non_null(rbuf);
    pair(&lc, &sc, &rc);
    assert_int_equal(net->reg_mr(sc, sbuf, cap, LCN_PTR_HOST, &smh), LCN_OK);
    assert_int_equal(net->reg_mr(rc, rbuf, cap, LCN_PTR_HOST, &rmh), LCN_OK);
    for (int order = 0; order < 2; order++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            int tag = (int)i + 7, got = -1;
            void *bufs[1] = {rbuf}, *mhs[1] = {rmh}, *sreq, *rreq;
            size_t capv[1] = {cap};

            fill(sbuf, sizes[i], (unsigned)i);
            memset(rbuf, 0xee, sizes[i] + 1);
            if (order == 0) { /* receive posted first: the zero-copy path */
                rreq = post_recv(rc, 1, bufs, capv, &tag, mhs);
                sreq = post_send(sc, sbuf, sizes[i], tag, smh);
            } else { /* sender ahead: an unexpected message */
                void *sent = sentinel_open(rc);
                sreq = post_send(sc, sbuf, sizes[i], tag, smh);
                assert_int_equal(wait_req(sreq, NULL), LCN_OK);
                sreq = NULL;
                sentinel_poke(sent);
                rreq = post_recv(rc, 1, bufs, capv, &tag, mhs);
                sentinel_close(sc, sent);
            }
            if (sreq) {
                int ssize = -1;
                assert_int_equal(wait_req(sreq, &ssize), LCN_OK);
                assert_int_equal(ssize, (int)sizes[i]);
            }
            assert_int_equal(wait_req(rreq, &got), LCN_OK);
            assert_int_equal(got, (int)sizes[i]);
            check(rbuf, sizes[i], (unsigned)i);
            assert_int_equal(rbuf[sizes[i]], 0xee); /* nothing written past the message */
        }
    }
    assert_int_equal(net->dereg_mr(sc, smh), LCN_OK);
    assert_int_equal(net->dereg_mr(rc, rmh), LCN_OK);
    unpair(lc, sc, rc);
    free(sbuf);
    free(rbuf);
}

/* Grouped receives of n = 1..8 buffers, sends posted in reverse tag order,
 * half of them before the receive (unexpected) and half after. */
static void test_grouped(void **state)
{
    void *lc, *sc, *rc;

    pair(&lc, &sc, &rc);
    for (int n = 1; n <= LCN_MAX_RECVS; n++) {
        unsigned char *sb[LCN_MAX_RECVS], *rb[LCN_MAX_RECVS];
        void *bufs[LCN_MAX_RECVS], *sreq[LCN_MAX_RECVS], *rreq;
        size_t caps[LCN_MAX_RECVS], len[LCN_MAX_RECVS];
        int tags[LCN_MAX_RECVS], got[LCN_MAX_RECVS];

        for (int k = 0; k < n; k++) {
            len[k] = (size_t)(k * 40000 + (k % 2 ? 500 : 0)); /* eager and large, 0 too */
            caps[k] = len[k] + 100;
            tags[k] = 1000 * n + k;
            sb[k] = malloc(len[k] + 1);
            rb[k] = malloc(caps[k]);
            bufs[k] = rb[k];
            fill(sb[k], len[k], (unsigned)tags[k]);
        }
        void *sent = sentinel_open(rc);
        for (int k = n - 1; k >= n / 2; k--)
            sreq[k] = post_send(sc, sb[k], len[k], tags[k], NULL);
        sentinel_poke(sent);
        rreq = post_recv(rc, n, bufs, caps, tags, NULL);
        sentinel_close(sc, sent);
        for (int k = n / 2 - 1; k >= 0; k--)
            sreq[k] = post_send(sc, sb[k], len[k], tags[k], NULL);
        for (int k = 0; k < n; k++)
            assert_int_equal(wait_req(sreq[k], NULL), LCN_OK);
        assert_int_equal(wait_req(rreq, got), LCN_OK);
        for (int k = 0; k < n; k++) {
            assert_int_equal(got[k], (int)len[k]);
            check(rb[k], len[k], (unsigned)tags[k]);
            free(sb[k]);
            free(rb[k]);
        }
    }
    unpair(lc, sc, rc);
}

/* Two groups posted, sends for both interleaved per tag (1,1,2,2): each tag
 * matches in send order across groups. */
static void test_interleaved_groups(void **state)
{
    void *lc, *sc, *rc, *r1, *r2, *s[4];
    unsigned char src[4][3000], dst[4][3000];
    void *b1[2] = {dst[0], dst[1]}, *b2[2] = {dst[2], dst[3]};
    size_t caps[2] = {3000, 3000};
    int tags[2] = {1, 2}, g1[2], g2[2];

    pair(&lc, &sc, &rc);
    for (int i = 0; i < 4; i++)
        fill(src[i], sizeof(src[i]), 50u + (unsigned)i);
    r1 = post_recv(rc, 2, b1, caps, tags, NULL);
    s[0] = post_send(sc, src[0], 3000, 1, NULL); /* group 1, tag 1 */
    s[1] = post_send(sc, src[2], 2000, 1, NULL); /* group 2, tag 1 */
    r2 = post_recv(rc, 2, b2, caps, tags, NULL);
    s[2] = post_send(sc, src[1], 10, 2, NULL);   /* group 1, tag 2 */
    s[3] = post_send(sc, src[3], 2999, 2, NULL); /* group 2, tag 2 */
    for (int i = 0; i < 4; i++)
        assert_int_equal(wait_req(s[i], NULL), LCN_OK);
    assert_int_equal(wait_req(r2, g2), LCN_OK);
    assert_int_equal(wait_req(r1, g1), LCN_OK);
    assert_int_equal(g1[0], 3000);
    assert_int_equal(g1[1], 10);
    assert_int_equal(g2[0], 2000);
    assert_int_equal(g2[1], 2999);
    check(dst[0], 3000, 50);
    check(dst[1], 10, 51);
    check(dst[2], 2000, 52);
    check(dst[3], 2999, 53);
    unpair(lc, sc, rc);
}

/* A buffer smaller than the message fails that receive; the stream goes on. */
static void test_too_small(void **state)
{
    void *lc, *sc, *rc, *rq;
    unsigned char src[5000], dst[5000];
    void *bufs[1] = {dst};
    size_t small[1] = {100}, big[1] = {sizeof(dst)};
    int tag = 3, got;

    pair(&lc, &sc, &rc);
    fill(src, sizeof(src), 9);
    for (int unexpected = 0; unexpected < 2; unexpected++) {
        for (size_t len = 200; len <= 5000; len += 4800) { /* eager and large */
            void *sq;

            if (unexpected) {
                void *sent = sentinel_open(rc);
                sq = post_send(sc, src, len, tag, NULL);
                assert_int_equal(wait_req(sq, NULL), LCN_OK);
                sentinel_poke(sent);
                rq = post_recv(rc, 1, bufs, small, &tag, NULL);
                sentinel_close(sc, sent);
            } else {
                rq = post_recv(rc, 1, bufs, small, &tag, NULL);
                sq = post_send(sc, src, len, tag, NULL);
            }
            assert_int_equal(wait_req(sq, NULL), LCN_OK);
            assert_int_not_equal(wait_req(rq, &got), LCN_OK);
        }
    }
    rq = post_recv(rc, 1, bufs, big, &tag, NULL);
    wait_req(post_send(sc, src, 4321, tag, NULL), NULL);
    assert_int_equal(wait_req(rq, &got), LCN_OK);
    assert_int_equal(got, 4321);
    check(dst, 4321, 9);
    unpair(lc, sc, rc);
}

/* Many requests in flight; the v8 table (int sizes) on the same comms. */
static void test_many_v8(void **state)
{
    enum { N = 32, LEN = 70000 };
    const lcn_net_v8_t *n8 = &ncclNetPlugin_v8;
    void *lc, *sc, *rc, *sreq[N], *rreq[N];
    unsigned char *src = malloc((size_t)N * LEN), *dst = malloc((size_t)N * LEN);
    int left = 2 * N;

    assert_non_null(src);
    assert_non_null(dst);
    pair(&lc, &sc, &rc);
    for (int i = 0; i < N; i++) {
        void *b = dst + (size_t)i * LEN;
        int cap = LEN, tag = i % 4, len = LEN - i;

        fill(src + (size_t)i * LEN, (size_t)len, 700u + (unsigned)i);
        rreq[i] = sreq[i] = NULL;
        for (int t = 0; t < 100 && !rreq[i]; t++)
            assert_int_equal(n8->irecv(rc, 1, &b, &cap, &tag, NULL, &rreq[i]), LCN_OK);
        for (int t = 0; t < 100 && !sreq[i]; t++)
            assert_int_equal(n8->isend(sc, src + (size_t)i * LEN, len, tag, NULL, &sreq[i]),
                             LCN_OK);
        assert_non_null(rreq[i]);
        assert_non_null(sreq[i]);
    }
    for (int round = 0; round < 1000 && left; round++)
        for (int i = N - 1; i >= 0; i--) { /* test newest first, as a stress */
            int done = 0, sz = -1;
            if (rreq[i]) {
                assert_int_equal(n8->test(rreq[i], &done, &sz), LCN_OK);
                if (done) {
                    assert_int_equal(sz, LEN - i);
                    check(dst + (size_t)i * LEN, (size_t)(LEN - i), 700u + (unsigned)i);
                    rreq[i] = NULL;
                    left--;
                }
            }
            if (sreq[i]) {
                assert_int_equal(n8->test(sreq[i], &done, &sz), LCN_OK);
                if (done) {
                    sreq[i] = NULL;
                    left--;
                }
            }
        }
    assert_int_equal(left, 0);
    unpair(lc, sc, rc);
    free(src);
    free(dst);
}

/* With every posted buffer filled, the receiver reads no further header:
 * the rest stays with the provider (its flow control), none is bounced. */
static void test_flow_control(void **state)
{
    void *lc, *sc, *rc, *rq, *sq[5];
    unsigned char src[5][100], dst[5][100];
    size_t cap[1] = {100};
    int tag = 4, got;

    pair(&lc, &sc, &rc);
    mock_count.busy_mode = 0;
    {
        void *b[1] = {dst[0]};
        rq = post_recv(rc, 1, b, cap, &tag, NULL);
    }
    for (int i = 0; i < 5; i++) {
        fill(src[i], sizeof(src[i]), 300u + (unsigned)i);
        sq[i] = post_send(sc, src[i], 100, tag, NULL);
    }
    assert_int_equal(wait_req(rq, &got), LCN_OK);
    for (int i = 0; i < 20; i++) {
        int done;
        assert_int_equal(net->test(sq[4], &done, NULL), LCN_OK);
        if (done)
            break;
    }
    assert_int_equal(mock_count.delivered, 1); /* only the first header was taken */
    for (int i = 1; i < 5; i++) {
        void *b[1] = {dst[i]};
        rq = post_recv(rc, 1, b, cap, &tag, NULL);
        assert_int_equal(wait_req(rq, &got), LCN_OK);
        assert_int_equal(got, 100);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(wait_req(sq[i], NULL), LCN_OK);
    for (int i = 0; i < 5; i++)
        check(dst[i], 100, 300u + (unsigned)i);
    unpair(lc, sc, rc);
}

/*
 * Random traffic against a reference: groups of 1..8 distinct tags from a
 * pool of 6, sends posted in random order with groups overlapping (per tag
 * the order is kept), receives and sends interleaved in phases where one
 * side runs ahead, so that both the matched and the unexpected paths run
 * (with several unexpected messages per tag), mock busy mode on. The
 * reference rule is NCCL's: per tag, the j-th send fills the j-th posted
 * buffer with that tag.
 */
enum { RG = 300, RCAP = 70000, RTAGS = 6 };

struct rsend {
    int tag;
    size_t len;
};

static unsigned rnd_state = 12345;

static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

static void test_random(void **state)
{
    static int gn[RG], gtag[RG][LCN_MAX_RECVS], gseq[RG][LCN_MAX_RECVS];
    static struct rsend sends[RG * LCN_MAX_RECVS];
    static unsigned char *gbuf[RG][LCN_MAX_RECVS], src[RCAP];
    int nsend = 0, tagcount[RTAGS] = {0}, next_recv = 0, next_send = 0, done_recv = 0;
    void *lc, *sc, *rc, *rreq[RG] = {0}, *sreq[RG * LCN_MAX_RECVS] = {0};
    int sent_done = 0;

    pair(&lc, &sc, &rc);
    /* Groups, and per tag the order of the buffers that carry it. */
    for (int g = 0; g < RG; g++) {
        int used[RTAGS] = {0};
        gn[g] = 1 + (int)rnd(LCN_MAX_RECVS < RTAGS ? LCN_MAX_RECVS : RTAGS);
        for (int k = 0; k < gn[g]; k++) {
            int t;
            do
                t = (int)rnd(RTAGS);
            while (used[t]);
            used[t] = 1;
            gtag[g][k] = t;
            gseq[g][k] = tagcount[t]++; /* the j-th buffer of tag t */
        }
    }
    /* Sends: one per buffer, per tag in buffer order; across tags merged at
     * random, so a tag can run far ahead of the receive groups. */
    {
        int left[RTAGS], total = 0;
        for (int t = 0; t < RTAGS; t++)
            total += left[t] = tagcount[t];
        while (nsend < total) {
            int t = (int)rnd(RTAGS);
            if (!left[t])
                continue;
            left[t]--;
            sends[nsend].tag = t;
            sends[nsend].len = rnd(8) == 0 ? rnd(RCAP) : rnd(3000);
            nsend++;
        }
    }
    fill(src, sizeof(src), 77);
    for (unsigned step = 0; done_recv < RG || sent_done < nsend; step++) {
        /* alternate phases: sender far ahead (unexpected messages pile up
         * per tag), then receiver ahead (headers match posted buffers) */
        unsigned r = rnd(10), act = r < 3 ? 2 : (r < 8) == ((step / 200) % 2) ? 1 : 0;

        if (act == 0 && next_recv < RG && next_recv - done_recv < 24) {
            void *bufs[LCN_MAX_RECVS];
            size_t caps[LCN_MAX_RECVS];
            for (int k = 0; k < gn[next_recv]; k++) {
                gbuf[next_recv][k] = malloc(RCAP);
                bufs[k] = gbuf[next_recv][k];
                caps[k] = RCAP;
            }
            rreq[next_recv] = post_recv(rc, gn[next_recv], bufs, caps, gtag[next_recv], NULL);
            next_recv++;
        } else if (act == 1 && next_send < nsend) {
            /* payload: the pattern at an offset that depends on the send */
            size_t off = (size_t)next_send % 97;
            sreq[next_send] =
                post_send(sc, src + off,
                          sends[next_send].len > RCAP - off ? RCAP - off : sends[next_send].len,
                          sends[next_send].tag, NULL);
            if (sends[next_send].len > RCAP - off)
                sends[next_send].len = RCAP - off;
            next_send++;
        } else {
            for (int i = 0; i < next_send; i++) {
                int done = 0;
                if (!sreq[i])
                    continue;
                assert_int_equal(net->test(sreq[i], &done, NULL), LCN_OK);
                if (done) {
                    sreq[i] = NULL;
                    sent_done++;
                }
            }
            for (int g = done_recv; g < next_recv; g++) {
                int done = 0, sizes[LCN_MAX_RECVS];
                if (!rreq[g])
                    continue;
                assert_int_equal(net->test(rreq[g], &done, sizes), LCN_OK);
                if (!done)
                    continue;
                rreq[g] = NULL;
                for (int k = 0; k < gn[g]; k++) {
                    /* the gseq[g][k]-th send with tag gtag[g][k] */
                    int j = -1, i = 0;
                    for (; i < nsend; i++)
                        if (sends[i].tag == gtag[g][k] && ++j == gseq[g][k])
                            break;
                    assert_true(i < nsend);
                    assert_int_equal(sizes[k], (int)sends[i].len);
                    assert_memory_equal(gbuf[g][k], src + (size_t)i % 97, sends[i].len);
                    free(gbuf[g][k]);
                }
            }
            while (done_recv < next_recv && !rreq[done_recv])
                done_recv++;
        }
    }
    unpair(lc, sc, rc);
}

static void test_reg(void **state)
{
    void *lc, *sc, *rc, *mh = NULL, *req = (void *)1;
    char buf[64];
    int sizes[1] = {64};

    pair(&lc, &sc, &rc);
    assert_int_not_equal(net->reg_mr(sc, buf, sizeof(buf), LCN_PTR_CUDA, &mh), LCN_OK);
    assert_int_not_equal(net->reg_mr_dmabuf(sc, buf, sizeof(buf), LCN_PTR_CUDA, 0, 3, &mh), LCN_OK);
    assert_int_equal(net->reg_mr(rc, buf, sizeof(buf), LCN_PTR_HOST, &mh), LCN_OK);
    assert_int_equal(mock_count.regs, 1);
    void *data[1] = {buf};
    assert_int_equal(net->iflush(rc, 1, data, sizes, &mh, &req), LCN_OK);
    assert_null(req); /* host memory: nothing to flush */
    assert_int_equal(net->dereg_mr(rc, mh), LCN_OK);
    unpair(lc, sc, rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_props, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_v8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reg, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
