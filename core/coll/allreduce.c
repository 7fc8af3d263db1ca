/*
 * allreduce.c - lc_allreduce: sum or average of fp32/bf16 vectors on a ring.
 *
 * Reduce-scatter (p-1 steps) then all-gather (p-1 steps). Each chunk is cut
 * into blocks that stream around the ring: block b of step t is forwarded as
 * soon as block b of step t-1 arrived and was reduced, so the network and the
 * additions overlap. Each chunk's final value is computed on one rank and then
 * copied byte for byte, so every rank gets the same bits. bf16 partial sums
 * are computed in fp32 and rounded to bf16 at every hop (half the traffic of
 * fp32, deterministic).
 */
#include <stdlib.h>
#include <string.h>

#include "coll/request.h"
#include "kernels/kern.h"

#define LC_RING_BLOCK_BYTES (256 * 1024)
#define LC_RING_WINDOW 16

static inline float lc_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* fp32 to bf16 with the kernels' rounding (nearest even, NaN kept). */
static inline uint16_t lc_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return lc_kern_bf16_round(u);
}

/* out[i] = out[i] + in[i], in the dtype's arithmetic. */
static void lc_reduce_add(void *out, const void *in, size_t n, lc_dtype_t dt)
{
    if (dt == LC_FP32) {
        float *o = out;
        const float *a = in;
        for (size_t i = 0; i < n; i++)
            o[i] = o[i] + a[i];
    } else {
        uint16_t *o = out;
        const uint16_t *a = in;
        for (size_t i = 0; i < n; i++)
            o[i] = lc_f32_to_bf16(lc_bf16_to_f32(o[i]) + lc_bf16_to_f32(a[i]));
    }
}

static void lc_reduce_div(void *buf, size_t n, lc_dtype_t dt, int p)
{
    if (dt == LC_FP32) {
        float *o = buf;
        for (size_t i = 0; i < n; i++)
            o[i] = o[i] / (float)p;
    } else {
        uint16_t *o = buf;
        for (size_t i = 0; i < n; i++)
            o[i] = lc_f32_to_bf16(lc_bf16_to_f32(o[i]) / (float)p);
    }
}

/* A cursor over (step, block) pairs in ring order, skipping empty chunks. */
struct lc_cursor {
    int t, b, idx;
};

struct lc_ring {
    struct lc_request req; /* first: the engine's header */
    struct lc_comm *c;
    char *out;
    size_t n, esz, chunk, block;
    lc_dtype_t dt;
    lc_op_t op;
    int p, r, steps;
    char *tmp;        /* LC_RING_WINDOW blocks for reduce-scatter receives */
    struct lc_cursor snd, post, proc; /* next send, next receive to post, next to process */
    int sdone;        /* sends completed, in order */
    lc_xfer_t sx[LC_RING_WINDOW], rx[LC_RING_WINDOW];
};

static int lc_mod(int a, int p)
{
    return ((a % p) + p) % p;
}

/* Chunk sent (or received) at step t. */
static int lc_ring_chunk(const struct lc_ring *g, int t, int recv)
{
    int u = t < g->p - 1 ? t : t - (g->p - 1);
    int base = t < g->p - 1 ? g->r - u : g->r + 1 - u;
    return lc_mod(base - (recv ? 1 : 0), g->p);
}

static size_t lc_ring_chunk_len(const struct lc_ring *g, int k)
{
    size_t start = (size_t)k * g->chunk;
    if (start >= g->n)
        return 0;
    return g->n - start < g->chunk ? g->n - start : g->chunk;
}

static int lc_ring_nblk(const struct lc_ring *g, int k)
{
    return (int)((lc_ring_chunk_len(g, k) + g->block - 1) / g->block);
}

/* Elements of block b of chunk k, and its address in out. */
static size_t lc_ring_block(const struct lc_ring *g, int k, int b, char **addr)
{
    size_t off = (size_t)b * g->block, len = lc_ring_chunk_len(g, k) - off;
    *addr = g->out + ((size_t)k * g->chunk + off) * g->esz;
    return len < g->block ? len : g->block;
}

static void lc_cursor_skip(const struct lc_ring *g, struct lc_cursor *cur, int recv)
{
    while (cur->t < g->steps && cur->b >= lc_ring_nblk(g, lc_ring_chunk(g, cur->t, recv))) {
        cur->t++;
        cur->b = 0;
    }
}

static void lc_cursor_next(const struct lc_ring *g, struct lc_cursor *cur, int recv)
{
    cur->b++;
    cur->idx++;
    lc_cursor_skip(g, cur, recv);
}

/* One pass of the engine over the ring: 1 when every block is reduced and sent. */
static int lc_ring_pass(struct lc_request *r, int *progress)
{
    struct lc_ring *g = (struct lc_ring *)r;
    struct lc_comm *c = g->c;
    int right = (g->r + 1) % g->p, left = (g->r + g->p - 1) % g->p, rc;
    struct lc_cursor *snd = &g->snd, *post = &g->post, *proc = &g->proc;
    lc_xfer_t *sx = g->sx, *rx = g->rx;

    /* Post receives in order within the window. */
    while (post->t < g->steps && post->idx - proc->idx < LC_RING_WINDOW) {
        lc_xfer_t *x = &rx[post->idx % LC_RING_WINDOW];
        int k = lc_ring_chunk(g, post->t, 1);
        char *addr;
        size_t len = lc_ring_block(g, k, post->b, &addr);

        if (post->t < g->p - 1)
            addr = g->tmp + (size_t)(post->idx % LC_RING_WINDOW) * g->block * g->esz;
        if (x->state == LC_XFER_IDLE)
            lc_xfer_init(x, left, 1, addr, len * g->esz);
        if ((rc = lc_req_post(r, x)))
            return rc;
        if (x->state == LC_XFER_IDLE)
            break;
        lc_cursor_next(g, post, 1);
    }
    /* Process received blocks in order. */
    while (proc->idx < post->idx) {
        lc_xfer_t *x = &rx[proc->idx % LC_RING_WINDOW];
        int k = lc_ring_chunk(g, proc->t, 1);
        char *addr;
        size_t len = lc_ring_block(g, k, proc->b, &addr);

        if ((rc = lc_xfer_test(c, x, progress)))
            return rc;
        if (x->state != LC_XFER_DONE)
            break;
        if (proc->t < g->p - 1) {
            lc_reduce_add(addr, x->buf, len, g->dt);
            if (proc->t == g->p - 2 && g->op == LC_AVG)
                lc_reduce_div(addr, len, g->dt, g->p);
        }
        x->state = LC_XFER_IDLE;
        lc_cursor_next(g, proc, 1);
    }
    /* Post sends in order once their block is final. */
    while (snd->t < g->steps && snd->idx - g->sdone < LC_RING_WINDOW) {
        lc_xfer_t *x = &sx[snd->idx % LC_RING_WINDOW];
        int k = lc_ring_chunk(g, snd->t, 0);
        char *addr;
        size_t len = lc_ring_block(g, k, snd->b, &addr);

        /* block b of step t is what step t-1 received as block b */
        if (snd->t > 0 && (proc->t < snd->t - 1 || (proc->t == snd->t - 1 && proc->b <= snd->b)))
            break;
        if (x->state == LC_XFER_IDLE)
            lc_xfer_init(x, right, 0, addr, len * g->esz);
        if ((rc = lc_req_post(r, x)))
            return rc;
        if (x->state == LC_XFER_IDLE)
            break;
        lc_cursor_next(g, snd, 0);
    }
    /* Retire completed sends in order. */
    while (g->sdone < snd->idx) {
        lc_xfer_t *x = &sx[g->sdone % LC_RING_WINDOW];

        if ((rc = lc_xfer_test(c, x, progress)))
            return rc;
        if (x->state != LC_XFER_DONE)
            break;
        x->state = LC_XFER_IDLE;
        g->sdone++;
    }
    return !(proc->t < g->steps || g->sdone < snd->idx || snd->t < g->steps);
}

static int lc_ring_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    const struct lc_ring *g = (const struct lc_ring *)r;

    if (is_recv)
        return peer != (g->r + g->p - 1) % g->p || g->post.t >= g->steps;
    return peer != (g->r + 1) % g->p || g->snd.t >= g->steps;
}

static const lc_req_kind_t lc_ring_kind = {
    .id = LC_REQ_RING,
    .size = sizeof(struct lc_ring),
    .pass = lc_ring_pass,
    .posted_all = lc_ring_posted_all,
};

/* Set up an allreduce and queue it; caller holds c->lock. */
static int lc_allreduce_issue(lc_comm_t *c, const void *in, void *out, size_t count,
                              lc_dtype_t dtype, lc_op_t op, struct lc_request **out_req)
{
    uint64_t desc[4] = {2, count, (uint64_t)dtype, (uint64_t)op};
    struct lc_request *r;
    struct lc_ring *g;
    int rc;

    if (count && (!in || !out))
        return LC_EINVAL("allreduce", "lc_allreduce: NULL buffer for %zu elements", count);
    if (dtype != LC_FP32 && dtype != LC_BF16)
        return LC_EINVAL("allreduce", "lc_allreduce: dtype %s is not fp32 or bf16",
                         lc_dtype_name(dtype));
    if (op != LC_SUM && op != LC_AVG)
        return LC_EINVAL("allreduce", "lc_allreduce: unknown op %d", (int)op);
    if (count > LC_MAX_BUFFER / lc_dtype_size(dtype))
        return LC_EINVAL("allreduce", "lc_allreduce: %zu elements do not fit in memory", count);
    rc = lc_req_get(c, &lc_ring_kind, "lc_allreduce", desc, 4, &r);
    if (rc)
        return rc;
    g = (struct lc_ring *)r;
    g->c = c;
    g->out = out;
    g->n = count;
    g->dt = dtype;
    g->op = op;
    g->p = c->nranks;
    g->r = c->rank;
    g->esz = lc_dtype_size(dtype);
    g->steps = count && g->p > 1 ? 2 * (g->p - 1) : 0;
    g->chunk = (count + (size_t)g->p - 1) / (size_t)g->p;
    g->block = LC_RING_BLOCK_BYTES / g->esz;
    memset(&g->snd, 0, sizeof(g->snd));
    memset(&g->post, 0, sizeof(g->post));
    memset(&g->proc, 0, sizeof(g->proc));
    memset(g->sx, 0, sizeof(g->sx));
    memset(g->rx, 0, sizeof(g->rx));
    g->sdone = 0;
    if (count && in != out)
        memmove(out, in, count * g->esz);
    if (g->steps &&
        (rc = lc_req_scratch(r, (size_t)LC_RING_WINDOW * LC_RING_BLOCK_BYTES, (void **)&g->tmp))) {
        lc_req_put(r);
        return rc;
    }
    lc_cursor_skip(g, &g->snd, 0);
    lc_cursor_skip(g, &g->post, 1);
    lc_cursor_skip(g, &g->proc, 1);
    lc_req_issue(r);
    *out_req = r;
    return 0;
}

int lc_allreduce(lc_comm_t *c, const void *in, void *out, size_t count, lc_dtype_t dtype,
                 lc_op_t op)
{
    struct lc_request *r = NULL;
    int rc = lc_coll_call_begin(c, "lc_allreduce");

    if (rc)
        return rc;
    rc = lc_allreduce_issue(c, in, out, count, dtype, op, &r);
    return lc_coll_call_end(c, rc, r, NULL);
}

int lc_iallreduce(lc_comm_t *c, const void *in, void *out, size_t count, lc_dtype_t dtype,
                  lc_op_t op, lc_request_t **req)
{
    struct lc_request *r = NULL;
    int rc;

    if (!req)
        return LC_EINVAL("allreduce", "lc_iallreduce: NULL request pointer");
    *req = NULL;
    if ((rc = lc_coll_call_begin(c, "lc_iallreduce")))
        return rc;
    rc = lc_allreduce_issue(c, in, out, count, dtype, op, &r);
    return lc_coll_call_end(c, rc, r, req);
}
