/*
 * allreduce.c - lc_allreduce: sum or average of fp32/bf16 vectors, as a
 * schedule of steps that each send one range to a peer and receive another.
 *
 * With p a power of two on hosts that are aligned blocks of L >= 2 ranks
 * (one host, 2 x 4, 4 x 8, ...) the schedule is recursive halving
 * (reduce-scatter with the partner at distance 1, 2, 4, ... then all-gather
 * back): every element is summed in the tree order ((x0 + x1) + (x2 + x3)) +
 * ..., the first log2 L steps stay inside hosts and the steps across hosts
 * move 1/L of the vector per local rank: the two-level schedule, and the
 * only one such a layout runs, so LC_HIER does not change its bits. Other
 * layouts (one rank per host, mixed or interleaved hosts) and other p run a
 * ring (p - 1 reduce-scatter steps, then p - 1 all-gather steps), which
 * streams better where every step crosses the network.
 *
 * A step's range is cut into blocks that stream: a block is sent as soon as
 * the blocks of the step before that it depends on arrived and were reduced,
 * so the network and the additions overlap. Each element's final value is
 * computed on one rank and then copied byte for byte, so every rank gets the
 * same bits. bf16 partial sums are computed in fp32 and rounded to bf16 at
 * every step (half the traffic of fp32, deterministic).
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

/* out[i] = out[i] + in[i] (own_left) or in[i] + out[i], in the dtype's arithmetic. */
static void lc_reduce_add(void *out, const void *in, size_t n, lc_dtype_t dt, int own_left)
{
    if (dt == LC_FP32) {
        float *o = out;
        const float *a = in;
        if (own_left)
            for (size_t i = 0; i < n; i++)
                o[i] = o[i] + a[i];
        else
            for (size_t i = 0; i < n; i++)
                o[i] = a[i] + o[i];
    } else {
        uint16_t *o = out;
        const uint16_t *a = in;
        if (own_left)
            for (size_t i = 0; i < n; i++)
                o[i] = lc_f32_to_bf16(lc_bf16_to_f32(o[i]) + lc_bf16_to_f32(a[i]));
        else
            for (size_t i = 0; i < n; i++)
                o[i] = lc_f32_to_bf16(lc_bf16_to_f32(a[i]) + lc_bf16_to_f32(o[i]));
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

/* A cursor over (step, block) pairs in schedule order, skipping empty steps. */
struct lc_cursor {
    int t, b, idx;
};

/*
 * Elements [lo, hi) that a step sends or receives, in two halves split at
 * mid: the upper half [mid, hi) goes first when `up` is set. Both ends of a
 * transfer agree on the order, chosen so that what the receiver needs first
 * for its next step arrives first.
 */
struct lc_span {
    size_t lo, mid, hi;
    int up;
};

/*
 * One step of the schedule: send a span to `to`, receive one from `from`;
 * reduce-scatter steps add what arrives, the last of them also divides for
 * LC_AVG; `lower` says this rank's partial is the left operand of the sum.
 */
struct lc_step {
    int to, from;
    struct lc_span snd, rcv;
    int reduce, last, lower;
};

struct lc_ar {
    struct lc_request req; /* first: the engine's header */
    struct lc_comm *c;
    char *out;
    size_t n, esz, piece, block;
    lc_dtype_t dt;
    lc_op_t op;
    int p, r, steps, halving, log2p;
    char *tmp;        /* LC_RING_WINDOW blocks for reduce-scatter receives */
    struct lc_cursor snd, post, proc; /* next send, next receive to post, next to process */
    int sdone;        /* sends completed, in order */
    lc_xfer_t sx[LC_RING_WINDOW], rx[LC_RING_WINDOW];
};

static int lc_mod(int a, int p)
{
    return ((a % p) + p) % p;
}

/* The span of pieces [lo, hi) (each `piece` elements), halves split in the middle. */
static struct lc_span lc_ar_span(const struct lc_ar *g, size_t lo, size_t hi, int up)
{
    size_t mid = lo + (hi - lo) / 2;
    struct lc_span sp = {
        .lo = lo * g->piece < g->n ? lo * g->piece : g->n,
        .mid = mid * g->piece < g->n ? mid * g->piece : g->n,
        .hi = hi * g->piece < g->n ? hi * g->piece : g->n,
        .up = up,
    };
    return sp;
}

/* Ring step t: chunk r - t goes right while chunk r - t - 1 comes from the left. */
static void lc_ring_step(const struct lc_ar *g, int t, struct lc_step *st)
{
    int u = t < g->p - 1 ? t : t - (g->p - 1);
    int k = lc_mod((t < g->p - 1 ? g->r : g->r + 1) - u, g->p), kr = lc_mod(k - 1, g->p);

    st->to = (g->r + 1) % g->p;
    st->from = (g->r + g->p - 1) % g->p;
    st->snd = lc_ar_span(g, (size_t)k, (size_t)k + 1, 0);
    st->rcv = lc_ar_span(g, (size_t)kr, (size_t)kr + 1, 0);
    st->reduce = t < g->p - 1;
    st->last = t == g->p - 2;
    st->lower = 1;
}

/*
 * Recursive halving step t (p = 2^m). Reduce-scatter step s < m pairs rank r
 * with r ^ 2^s: of the pieces r still holds, the half chosen by bit s of r is
 * kept and the other half goes to the partner, so after step s rank r holds
 * the sum over the 2^(s+1) ranks that agree with it above bit s. All-gather
 * steps undo this from s = m - 1 down to 0, each sending what it holds.
 *
 * Order inside a span: in reduce-scatter the half that its receiver gives
 * away at step s + 1 goes first, so that step can start while this one ends;
 * in all-gather the half its sender held before goes first (the other one is
 * still arriving). Bit s + 1 of r is the partner's too, so both ends agree.
 */
static void lc_halving_step(const struct lc_ar *g, int t, struct lc_step *st)
{
    int m = g->log2p, s = t < m ? t : 2 * m - 1 - t, up = (g->r >> s) & 1;
    int next = (g->r >> (s + 1)) & 1;
    size_t lo = 0, hi = (size_t)g->p, mid;

    for (int b = 0; b < s; b++) { /* the pieces held before step s */
        mid = lo + (hi - lo) / 2;
        if ((g->r >> b) & 1)
            lo = mid;
        else
            hi = mid;
    }
    mid = lo + (hi - lo) / 2;
    st->to = st->from = g->r ^ (1 << s);
    st->reduce = t < m;
    st->last = t == m - 1;
    st->lower = !up;
    /* reduce-scatter: give the partner's half, receive into ours; all-gather: the reverse */
    struct lc_span keep = lc_ar_span(g, up ? mid : lo, up ? hi : mid, st->reduce ? !next : next);
    struct lc_span give = lc_ar_span(g, up ? lo : mid, up ? mid : hi, st->reduce ? !next : next);
    st->snd = st->reduce ? give : keep;
    st->rcv = st->reduce ? keep : give;
}

static void lc_ar_step(const struct lc_ar *g, int t, struct lc_step *st)
{
    if (g->halving)
        lc_halving_step(g, t, st);
    else
        lc_ring_step(g, t, st);
}

/* The span's half that goes first (second), and the blocks of the first. */
static void lc_span_halves(const struct lc_span *sp, size_t block, size_t h[4], int *nb1)
{
    h[0] = sp->up ? sp->mid : sp->lo;
    h[1] = sp->up ? sp->hi : sp->mid;
    h[2] = sp->up ? sp->lo : sp->mid;
    h[3] = sp->up ? sp->mid : sp->hi;
    *nb1 = (int)((h[1] - h[0] + block - 1) / block);
}

/* Block b of the span in its order: its elements, *off where it starts (0 past the end). */
static size_t lc_span_block(const struct lc_span *sp, size_t block, int b, size_t *off)
{
    size_t h[4], lo, hi;
    int nb1;

    lc_span_halves(sp, block, h, &nb1);
    lo = b < nb1 ? h[0] : h[2];
    hi = b < nb1 ? h[1] : h[3];
    *off = lo + (size_t)(b < nb1 ? b : b - nb1) * block;
    if (*off >= hi)
        return 0;
    return hi - *off < block ? hi - *off : block;
}

/* Whether the first nb blocks of sp in its order cover sp's part of [a, e). */
static int lc_span_covers(const struct lc_span *sp, size_t block, int nb, size_t a, size_t e)
{
    size_t h[4];
    int nb1;

    lc_span_halves(sp, block, h, &nb1);
    for (int i = 0; i < 2; i++) {
        size_t lo = a > h[2 * i] ? a : h[2 * i], hi = e < h[2 * i + 1] ? e : h[2 * i + 1];
        long got = i == 0 ? (nb < nb1 ? nb : nb1) : (nb > nb1 ? nb - nb1 : 0);

        if (lo < hi && h[2 * i] + (size_t)got * block < hi)
            return 0;
    }
    return 1;
}

/* Block b of step t's send (recv) span: its elements, *addr its place in out. */
static size_t lc_ar_block(const struct lc_ar *g, int t, int b, int recv, char **addr)
{
    struct lc_step st;
    size_t off, len;

    lc_ar_step(g, t, &st);
    len = lc_span_block(recv ? &st.rcv : &st.snd, g->block, b, &off);
    *addr = g->out + off * g->esz;
    return len;
}

static void lc_cursor_skip(const struct lc_ar *g, struct lc_cursor *cur, int recv)
{
    char *addr;

    while (cur->t < g->steps && !lc_ar_block(g, cur->t, cur->b, recv, &addr)) {
        cur->t++;
        cur->b = 0;
    }
}

static void lc_cursor_next(const struct lc_ar *g, struct lc_cursor *cur, int recv)
{
    cur->b++;
    cur->idx++;
    lc_cursor_skip(g, cur, recv);
}

/*
 * Whether the send block [addr, addr + len) of step t holds final data: every
 * element of it that step t - 1 received has been processed (steps before
 * t - 1 are then done too, as blocks are processed in order).
 */
static int lc_ar_send_ready(const struct lc_ar *g, int t, const char *addr, size_t len)
{
    struct lc_step prev;
    size_t a = (size_t)(addr - g->out) / g->esz;

    if (t == 0 || g->proc.t > t - 1)
        return 1;
    if (g->proc.t < t - 1)
        return 0;
    lc_ar_step(g, t - 1, &prev);
    return lc_span_covers(&prev.rcv, g->block, g->proc.b, a, a + len);
}

/* out[i] = own + in or in + own: the lower half of the ranks is the left operand. */
static void lc_ar_reduce(const struct lc_ar *g, const struct lc_step *st, char *addr,
                         const char *in, size_t len)
{
    lc_reduce_add(addr, in, len, g->dt, st->lower);
    if (st->last && g->op == LC_AVG)
        lc_reduce_div(addr, len, g->dt, g->p);
}

/* One pass of the engine over the schedule: 1 when every block is reduced and sent. */
static int lc_ar_pass(struct lc_request *r, int *progress)
{
    struct lc_ar *g = (struct lc_ar *)r;
    struct lc_comm *c = g->c;
    struct lc_cursor *snd = &g->snd, *post = &g->post, *proc = &g->proc;
    lc_xfer_t *sx = g->sx, *rx = g->rx;
    struct lc_step st;
    char *addr;
    size_t len;
    int rc;

    /* Post receives in order within the window. */
    while (post->t < g->steps && post->idx - proc->idx < LC_RING_WINDOW) {
        lc_xfer_t *x = &rx[post->idx % LC_RING_WINDOW];

        lc_ar_step(g, post->t, &st);
        len = lc_ar_block(g, post->t, post->b, 1, &addr);
        if (st.reduce)
            addr = g->tmp + (size_t)(post->idx % LC_RING_WINDOW) * g->block * g->esz;
        if (x->state == LC_XFER_IDLE)
            lc_xfer_init(x, st.from, 1, addr, len * g->esz);
        if ((rc = lc_req_post(r, x)))
            return rc;
        if (x->state == LC_XFER_IDLE)
            break;
        lc_cursor_next(g, post, 1);
    }
    /* Process received blocks in order. */
    while (proc->idx < post->idx) {
        lc_xfer_t *x = &rx[proc->idx % LC_RING_WINDOW];

        if ((rc = lc_xfer_test(c, x, progress)))
            return rc;
        if (x->state != LC_XFER_DONE)
            break;
        lc_ar_step(g, proc->t, &st);
        len = lc_ar_block(g, proc->t, proc->b, 1, &addr);
        if (st.reduce)
            lc_ar_reduce(g, &st, addr, x->buf, len);
        x->state = LC_XFER_IDLE;
        lc_cursor_next(g, proc, 1);
    }
    /* Post sends in order once their block is final. */
    while (snd->t < g->steps && snd->idx - g->sdone < LC_RING_WINDOW) {
        lc_xfer_t *x = &sx[snd->idx % LC_RING_WINDOW];

        lc_ar_step(g, snd->t, &st);
        len = lc_ar_block(g, snd->t, snd->b, 0, &addr);
        if (!lc_ar_send_ready(g, snd->t, addr, len))
            break;
        if (x->state == LC_XFER_IDLE)
            lc_xfer_init(x, st.to, 0, addr, len * g->esz);
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

/* The last step that sends to (receives from) peer, -1 when none does. */
static int lc_ar_last_step(const struct lc_ar *g, int peer)
{
    if (!g->steps)
        return -1;
    if (!g->halving) /* the ring's neighbours take part in every step */
        return peer == (g->r + 1) % g->p || peer == (g->r + g->p - 1) % g->p ? g->steps - 1 : -1;
    for (int s = 0; s < g->log2p; s++)
        if (peer == (g->r ^ (1 << s)))
            return 2 * g->log2p - 1 - s; /* its all-gather step */
    return -1;
}

static int lc_ar_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    const struct lc_ar *g = (const struct lc_ar *)r;
    const struct lc_cursor *cur = is_recv ? &g->post : &g->snd;

    return cur->t > lc_ar_last_step(g, peer);
}

static const lc_req_kind_t lc_ar_kind = {
    .id = LC_REQ_RING,
    .size = sizeof(struct lc_ar),
    .pass = lc_ar_pass,
    .posted_all = lc_ar_posted_all,
};

/*
 * Whether c runs recursive halving: p a power of two and every host an
 * aligned block of the same number L >= 2 of ranks (rank r on host r / L),
 * so that its first steps stay inside hosts. One rank per host, or hosts of
 * mixed sizes or interleaved ranks, run the ring, which streams better where
 * every step would cross the network anyway.
 */
static int lc_ar_halving(const struct lc_comm *c)
{
    int p = c->nranks, l = c->max_local;

    if (p < 2 || (p & (p - 1)) || l < 2 || p % l)
        return 0;
    for (int r = 0; r < p; r++)
        if (c->host_of[r] != r / l)
            return 0;
    return 1;
}

/* Set up an allreduce and queue it; caller holds c->lock. */
static int lc_allreduce_issue(lc_comm_t *c, const void *in, void *out, size_t count,
                              lc_dtype_t dtype, lc_op_t op, struct lc_request **out_req)
{
    uint64_t desc[4] = {2, count, (uint64_t)dtype, (uint64_t)op};
    struct lc_request *r;
    struct lc_ar *g;
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
    rc = lc_req_get(c, &lc_ar_kind, "lc_allreduce", desc, 4, &r);
    if (rc)
        return rc;
    g = (struct lc_ar *)r;
    g->c = c;
    g->out = out;
    g->n = count;
    g->dt = dtype;
    g->op = op;
    g->p = c->nranks;
    g->r = c->rank;
    g->esz = lc_dtype_size(dtype);
    g->piece = (count + (size_t)g->p - 1) / (size_t)g->p;
    g->halving = lc_ar_halving(c);
    for (g->log2p = 0; (1 << g->log2p) < g->p; g->log2p++)
        ;
    g->steps = !count || g->p == 1 ? 0 : g->halving ? 2 * g->log2p : 2 * (g->p - 1);
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
