/*
 * drv_xfer.c - the plugin driver's traffic: a schedule both processes build
 * identically (single messages from 0 bytes to 64 MiB, grouped receives of
 * 1..8 buffers whose sends go out in a different order than the tags, many
 * same-tag messages in flight), the sender and receiver engines that run it
 * through NCCL's request model (NULL request = retry, test loops), byte
 * checks against a seeded pattern, and the streaming benchmark.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drv.h"

#define DRV_WINDOW 32 /* requests in flight per side (NCCL's per-comm limit) */
#define DRV_PAD    64 /* receive buffers are this much larger than messages */
#define DRV_FILL   0x5a

static uint64_t drv_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void pat_fill(unsigned char *p, size_t len, uint64_t seed)
{
    for (size_t o = 0; o < len; o += 8) {
        uint64_t w = drv_mix(seed * 0x100000001b3ull + o / 8);
        memcpy(p + o, &w, len - o < 8 ? len - o : 8);
    }
}

/* Offset of the first byte that differs from the pattern, or len. */
static size_t pat_check(const unsigned char *p, size_t len, uint64_t seed)
{
    for (size_t o = 0; o < len; o += 8) {
        uint64_t w = drv_mix(seed * 0x100000001b3ull + o / 8);
        size_t k = len - o < 8 ? len - o : 8;
        if (memcmp(p + o, &w, k)) {
            for (size_t j = 0; j < k; j++)
                if (p[o + j] != ((unsigned char *)&w)[j])
                    return o + j;
        }
    }
    return len;
}

static void drv_op(struct drv_op *op, int n)
{
    memset(op, 0, sizeof(*op));
    op->n = n;
}

int drv_schedule(int quick, struct drv_op *ops, int max)
{
    static const size_t singles[] = {0,    1,     7,     1023,           1024,      1025,
                                     4096, 65535, 65536, (1u << 20) + 3, 16u << 20, 64u << 20};
    int nops = 0;

    for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]) && nops < max; i++) {
        if (quick && singles[i] > (1u << 20) + 3)
            continue;
        drv_op(&ops[nops], 1);
        ops[nops].len[0] = singles[i];
        ops[nops].tag[0] = 1 + (int)i;
        nops++;
    }
    for (int n = 1; n <= LCN_MAX_RECVS_DRV && nops < max; n++) {
        struct drv_op *op = &ops[nops++];

        drv_op(op, n);
        for (int k = 0; k < n; k++) {
            op->len[k] = k % 3 == 0 ? (size_t)k * 100 : (size_t)k * 300000 + (size_t)n * 1000;
            op->tag[k] = 100 * n + k;
            /* send order: reversed for odd n, rotated by half for even n */
            op->order[k] = n % 2 ? n - 1 - k : (k + n / 2) % n;
        }
    }
    for (int i = 0; i < 64 && nops < max; i++) {
        drv_op(&ops[nops], 1);
        ops[nops].len[0] = (256u << 10) + (size_t)i * 13;
        ops[nops].tag[0] = 7000 + i % 4; /* same tags repeat: they match in send order */
        nops++;
    }
    return nops;
}

static uint64_t drv_seed(int op, int k)
{
    return ((uint64_t)op << 8) | (uint64_t)k;
}

struct drv_rslot {
    void *req;
    int op;
    void *buf[LCN_MAX_RECVS_DRV], *mh[LCN_MAX_RECVS_DRV];
};

static void drv_rslot_free(const struct drv *d, void *rc, struct drv_rslot *s, int n)
{
    for (int k = 0; k < n; k++) {
        if (s->mh[k])
            drv_dereg_mr(d, rc, s->mh[k]);
        free(s->buf[k]);
        s->buf[k] = s->mh[k] = NULL;
    }
    s->req = NULL;
}

/* Verify one completed receive. */
static int drv_verify(const struct drv_op *op, int opi, struct drv_rslot *s, const int *sizes)
{
    for (int k = 0; k < op->n; k++) {
        const unsigned char *b = s->buf[k];
        size_t bad;

        CHECK(sizes[k] == (int)op->len[k], "op %d buffer %d (tag %d): size %d, expected %zu", opi,
              k, op->tag[k], sizes[k], op->len[k]);
        bad = pat_check(b, op->len[k], drv_seed(opi, k));
        CHECK(bad == op->len[k], "op %d buffer %d: wrong byte at offset %zu of %zu", opi, k, bad,
              op->len[k]);
        for (size_t o = op->len[k]; o < op->len[k] + DRV_PAD; o++)
            CHECK(b[o] == DRV_FILL, "op %d buffer %d: byte %zu past the message was written", opi,
                  k, o);
    }
    return 0;
}

int drv_run_recv(const struct drv *d, void *rc, const struct drv_op *ops, int nops)
{
    struct drv_rslot win[DRV_WINDOW];
    int next = 0, done_ops = 0, rc_ = 0;

    memset(win, 0, sizeof(win));
    while (done_ops < nops && rc_ == 0) {
        int progress = 0;
        for (int w = 0; w < DRV_WINDOW && next < nops; w++) {
            const struct drv_op *op = &ops[next];
            size_t caps[LCN_MAX_RECVS_DRV];
            struct drv_rslot *s = &win[w];

            if (s->req)
                continue;
            for (int k = 0; k < op->n; k++) {
                caps[k] = op->len[k] + DRV_PAD;
                s->buf[k] = malloc(caps[k]);
                CHECK(s->buf[k], "out of memory");
                memset(s->buf[k], DRV_FILL, caps[k]);
                CHECK(drv_reg_mr(d, rc, s->buf[k], caps[k], LCN_PTR_HOST, &s->mh[k]) == LCN_OK,
                      "regMr");
            }
            CHECK(drv_irecv(d, rc, op->n, s->buf, caps, op->tag, s->mh, &s->req) == LCN_OK,
                  "irecv op %d", next);
            if (!s->req) { /* plugin busy: retry after testing */
                drv_rslot_free(d, rc, s, op->n);
                break;
            }
            s->op = next++;
        }
        for (int w = 0; w < DRV_WINDOW; w++) {
            struct drv_rslot *s = &win[w];
            int done = 0, sizes[LCN_MAX_RECVS_DRV];

            if (!s->req)
                continue;
            memset(sizes, 0xff, sizeof(sizes));
            CHECK(drv_test(d, s->req, &done, sizes) == LCN_OK, "test of receive op %d", s->op);
            if (!done)
                continue;
            rc_ = drv_verify(&ops[s->op], s->op, s, sizes);
            drv_rslot_free(d, rc, s, ops[s->op].n);
            done_ops++;
            progress = 1;
        }
        if (!progress)
            sched_yield();
    }
    for (int w = 0; w < DRV_WINDOW; w++)
        if (win[w].req)
            drv_rslot_free(d, rc, &win[w], ops[win[w].op].n);
    return rc_;
}

struct drv_sslot {
    void *req, *buf, *mh;
    size_t len;
};

int drv_run_send(const struct drv *d, void *sc, const struct drv_op *ops, int nops)
{
    struct drv_sslot win[DRV_WINDOW], stage = {0};
    int opi = 0, k = 0, inflight = 0;

    memset(win, 0, sizeof(win));
    while (opi < nops || inflight) {
        int progress = 0;
        while (opi < nops && inflight < DRV_WINDOW) {
            const struct drv_op *op = &ops[opi];
            int idx = op->order[k], w = 0;

            if (!stage.buf) {
                stage.len = op->len[idx];
                stage.buf = malloc(stage.len ? stage.len : 1);
                CHECK(stage.buf, "out of memory");
                pat_fill(stage.buf, stage.len, drv_seed(opi, idx));
                if (stage.len) /* NCCL never registers empty ranges */
                    CHECK(drv_reg_mr(d, sc, stage.buf, stage.len, LCN_PTR_HOST, &stage.mh) ==
                              LCN_OK,
                          "regMr");
            }
            CHECK(drv_isend(d, sc, stage.buf, stage.len, op->tag[idx], stage.mh, &stage.req) ==
                      LCN_OK,
                  "isend op %d buffer %d", opi, idx);
            if (!stage.req)
                break; /* busy: retry with the same buffer after testing */
            while (win[w].req)
                w++;
            win[w] = stage;
            memset(&stage, 0, sizeof(stage));
            inflight++;
            if (++k == op->n) {
                k = 0;
                opi++;
            }
        }
        for (int w = 0; w < DRV_WINDOW; w++) {
            struct drv_sslot *s = &win[w];
            int done = 0, size = -1;

            if (!s->req)
                continue;
            CHECK(drv_test(d, s->req, &done, &size) == LCN_OK, "test of a send");
            if (!done)
                continue;
            CHECK(size == (int)s->len, "send reported %d bytes, posted %zu", size, s->len);
            if (s->mh)
                drv_dereg_mr(d, sc, s->mh);
            free(s->buf);
            memset(s, 0, sizeof(*s));
            inflight--;
            progress = 1;
        }
        if (!progress)
            sched_yield();
    }
    return 0;
}

static double drv_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int drv_bench_send(const struct drv *d, void *sc, size_t size, int window, double secs,
                   double *mbps)
{
    unsigned char *arena = malloc(size * (size_t)window);
    void *mh = NULL, *req[64] = {0}, *end = NULL;
    double t0, t1;
    long sent = 0;
    int inflight = 0, done, n;

    CHECK(arena && window <= 64, "bench setup");
    pat_fill(arena, size * (size_t)window, 1);
    CHECK(drv_reg_mr(d, sc, arena, size * (size_t)window, LCN_PTR_HOST, &mh) == LCN_OK, "regMr");
    t0 = drv_now();
    for (;;) {
        int more = drv_now() - t0 < secs, progress = 0;
        for (int w = 0; w < window; w++) {
            if (!req[w] && more) {
                CHECK(drv_isend(d, sc, arena + (size_t)w * size, size, 1, mh, &req[w]) == LCN_OK,
                      "isend");
                inflight += req[w] != NULL;
            }
            if (req[w]) {
                CHECK(drv_test(d, req[w], &done, &n) == LCN_OK, "test");
                if (done) {
                    req[w] = NULL;
                    inflight--;
                    sent++;
                    progress = 1;
                }
            }
        }
        if (!more && !inflight)
            break;
        if (!progress) /* like lioncub's own transfers: let the network stack run */
            sched_yield();
    }
    t1 = drv_now();
    if (getenv("DRV_BENCH_TRACE"))
        fprintf(stderr, "sender: %ld messages from %.3f to %.3f (monotonic s)\n", sent, t0, t1);
    while (!end)
        CHECK(drv_isend(d, sc, arena, 0, 1, mh, &end) == LCN_OK, "isend of the end marker");
    for (done = 0; !done;)
        CHECK(drv_test(d, end, &done, &n) == LCN_OK, "test of the end marker");
    drv_dereg_mr(d, sc, mh);
    free(arena);
    *mbps = (double)sent * (double)size / (t1 - t0) / 1e6;
    return 0;
}

int drv_bench_recv(const struct drv *d, void *rc, size_t size, int window, double *mbps,
                   long *count)
{
    unsigned char *arena = malloc(size * (size_t)window);
    void *mh = NULL, *req[64] = {0};
    double first = 0, last = 0, t0 = drv_now();
    long got = 0;
    int fin = 0, tag = 1;

    CHECK(arena && window <= 64, "bench setup");
    CHECK(drv_reg_mr(d, rc, arena, size * (size_t)window, LCN_PTR_HOST, &mh) == LCN_OK, "regMr");
    while (!fin) {
        int progress = 0;
        for (int w = 0; w < window && !fin; w++) {
            void *buf = arena + (size_t)w * size;
            int done = 0, n = -1;

            if (!req[w]) {
                CHECK(drv_irecv(d, rc, 1, &buf, &size, &tag, &mh, &req[w]) == LCN_OK, "irecv");
                continue;
            }
            CHECK(drv_test(d, req[w], &done, &n) == LCN_OK, "test");
            if (!done)
                continue;
            req[w] = NULL;
            progress = 1;
            if (n == 0) {
                fin = 1;
            } else {
                CHECK(n == (int)size, "received %d bytes, expected %zu", n, size);
                last = drv_now();
                if (got++ == 0)
                    first = last;
            }
        }
        if (!progress)
            sched_yield();
    }
    if (getenv("DRV_BENCH_TRACE"))
        fprintf(stderr, "receiver: started %.3f, first message %.3f, last %.3f (monotonic s)\n", t0,
                first, last);
    /* Receives still posted are dropped with the comm. */
    *count = got;
    *mbps = got > 1 ? (double)(got - 1) * (double)size / (last - first) / 1e6 : 0;
    drv_dereg_mr(d, rc, mh);
    free(arena);
    return 0;
}
