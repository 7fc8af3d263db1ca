/*
 * vote.c - lc_vote: the two-phase vote AllReduce of design.md.
 *
 * The vector is cut into segments (LC_SEGMENT elements); segment s is cut into
 * p chunks of C elements (C a multiple of 64, so chunks are whole words of the
 * packed stream). Phase 1 sends chunk j of this rank's packed votes (1 bit, or
 * b-bit levels for LC_VOTE_L1) to rank j; rank r counts the p contributions to
 * its chunk and decodes it. Phase 2 sends the decoded chunk (1 bit, the w
 * count planes for LC_VOTE_AVERAGE, or for LC_VOTE_L1 into values two planes:
 * the decoded bits and the ties, which abstain) to every rank. Up to LC_VOTE_DEPTH
 * segments are in flight, so packing, the network and counting overlap.
 *
 * Messages on a connection must be posted in the same order on both sides, so
 * every peer's sends and receives follow one canonical event order:
 *   P1(0) .. P1(D-1), then for s = 0, 1, ...: P2(s), P1(s + D).
 * Each event of segment s only depends on events of segments <= s, so the
 * order cannot deadlock. Empty chunks send no message (both sides know).
 * D is LC_VOTE_DEPTH: every slot in flight adds (p-1) chunks that all peers
 * send toward one rank at once, so a deep pipeline overflows shallow switch
 * buffers (TCP incast) and a shallow one leaves the link idle.
 *
 * Small votes, whose whole packed vector sent to every other rank comes to at
 * most LC_VOTE_DIRECT bytes per rank, run in one round instead ("direct"):
 * every rank sends its packed votes to every other and decodes all elements
 * with the same kernels and tie rule, so the result is the same bit for bit
 * and the latency is one exchange instead of two.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/vote.h"

#define LC_VOTE_DEFAULT_LEVEL_BITS 4

enum { LC_SLOT_FREE = 0, LC_SLOT_PHASE1 = 1, LC_SLOT_PHASE2 = 2 };

struct lc_vote_slot {
    int seg;          /* segment in this slot */
    int stage;
    uint64_t *send1;  /* this rank's packed votes of the segment */
    uint64_t *recv1;  /* p contributions to this rank's chunk, stride w1 words */
    uint64_t *count;  /* count planes of this rank's chunk (average), or sums and then
                         the two phase-2 planes (L1) */
    uint64_t *bits2;  /* decoded segment bits (majority/L1 when out is not LC_BITS) */
    uint64_t *recv2;  /* p chunks of phase-2 planes (average, L1 into values) */
    lc_xfer_t *x;     /* [0,p) P1 sends, [p,2p) P1 recvs, [2p,3p) P2 sends, [3p,4p) P2 recvs */
};

struct lc_vote {
    struct lc_request req; /* first: the engine's header */
    struct lc_comm *c;
    lc_vote_args_t a;   /* b1: phase-1 bits; p2planes: bits per element in phase 2 */
    unsigned planes;    /* count planes, w = ceil(log2(p+1)) */
    const int8_t *levels; /* LC_VOTE_L1: quantized levels of the whole vector */
    int8_t *levels_owned; /* the same when this call quantized them (kept for reuse) */
    size_t levels_cap;

    size_t seg;         /* elements per segment */
    size_t chunk;       /* C: elements per chunk */
    int nseg;
    int depth;
    size_t w1;          /* words of one phase-1 chunk */
    size_t wc;          /* words of one chunk of bits */
    struct lc_vote_slot slot[LC_VOTE_MAX_DEPTH];
    int *events;        /* canonical order: seg * 2 + phase (0: P1, 1: P2) */
    size_t events_cap;
    int *send_ev;       /* per peer: next event to post a send for */
    int *recv_ev;
    int next;           /* next segment to start */
    int finished;       /* segments written to the output */

    int direct;         /* one round: rows of every rank's whole packed vector */
    uint64_t *rows;     /* direct: p rows of w1 words, this rank's at its rank */
    uint64_t *dtmp;     /* direct: decode space (count planes, or bits and ties, then sums) */
    lc_xfer_t *dx;      /* direct: [0, p) sends, [p, 2p) receives; allocated once */
    int derr;           /* direct: the first error (a mismatch first), reported at the end */
    double derr_t0;     /* when it happened */
    char dmsg[512];     /* its message */
};

static size_t lc_seg_len(const struct lc_vote *v, int s)
{
    size_t start = (size_t)s * v->seg;
    return v->a.n - start < v->seg ? v->a.n - start : v->seg;
}

static size_t lc_chunk_len(const struct lc_vote *v, int s, int j)
{
    size_t len = lc_seg_len(v, s), start = (size_t)j * v->chunk;
    if (start >= len)
        return 0;
    return len - start < v->chunk ? len - start : v->chunk;
}

/* Words of the phase-2 message of chunk j of segment s. */
static size_t lc_p2_words(const struct lc_vote *v, int s, int j)
{
    return LC_BITS_WORDS(lc_chunk_len(v, s, j)) * v->a.p2planes;
}

/* Words of the L1 sums of one chunk, before its phase-2 planes in the count buffer. */
static size_t lc_sums_words(const struct lc_vote *v)
{
    return (v->chunk * 4 + 7) / 8;
}

/* Whether phase 2 carries planes (average counts, L1 bits and ties), not decoded bits. */
static int lc_p2_has_planes(const struct lc_vote *v)
{
    return v->a.mode == LC_VOTE_AVERAGE || v->a.p2planes == 2;
}

/* This rank's phase-2 planes when phase 2 carries planes. */
static uint64_t *lc_p2_mine(const struct lc_vote *v, const struct lc_vote_slot *sl)
{
    return v->a.mode == LC_VOTE_L1 ? sl->count + lc_sums_words(v) : sl->count;
}

/* Where decoded segment bits go: the caller's bit vector, or the slot's. */
static uint64_t *lc_bits_dest(struct lc_vote *v, struct lc_vote_slot *sl)
{
    if (v->a.out_type == LC_BITS)
        return (uint64_t *)v->a.out + (size_t)sl->seg * v->seg / 64;
    return sl->bits2;
}

/* Pack the segment's votes and set up its transfers. */
static int lc_vote_start(struct lc_vote *v, struct lc_vote_slot *sl, int s)
{
    struct lc_comm *c = v->c;
    int p = c->nranks, r = c->rank, rc = 0;
    size_t start = (size_t)s * v->seg, len = lc_seg_len(v, s), esz = lc_dtype_size(v->a.in_type);
    const uint64_t *src;
    uint64_t *dest;

    sl->seg = s;
    if (v->a.mode == LC_VOTE_L1) {
        rc = lc_levels_pack(v->levels + start, len, v->a.b1, sl->send1);
        src = sl->send1;
    } else if (v->a.in_type == LC_BITS) {
        src = (const uint64_t *)v->a.in + start / 64;
    } else {
        rc = lc_pack_signs((const char *)v->a.in + start * esz, v->a.in_type, len, sl->send1);
        src = sl->send1;
    }
    if (rc)
        return rc;
    dest = lc_bits_dest(v, sl);
    for (int j = 0; j < p; j++) {
        size_t cj = lc_chunk_len(v, s, j), cr = lc_chunk_len(v, s, r);
        size_t m1 = LC_BITS_WORDS(cj * v->a.b1) * 8, r1 = LC_BITS_WORDS(cr * v->a.b1) * 8;
        size_t m2 = lc_p2_words(v, s, r) * 8, q2 = lc_p2_words(v, s, j) * 8;
        uint64_t *chunk_src = (uint64_t *)src + (size_t)j * v->chunk * v->a.b1 / 64;
        void *p2_src, *p2_dst;

        if (lc_p2_has_planes(v)) {
            p2_src = lc_p2_mine(v, sl);
            p2_dst = sl->recv2 + (size_t)j * v->wc * v->a.p2planes;
        } else {
            p2_src = dest + (size_t)r * v->chunk / 64;
            p2_dst = dest + (size_t)j * v->chunk / 64;
        }
        lc_xfer_init(&sl->x[j], j, 0, chunk_src, m1);
        lc_xfer_init(&sl->x[p + j], j, 1, sl->recv1 + (size_t)j * v->w1, r1);
        lc_xfer_init(&sl->x[2 * p + j], j, 0, p2_src, m2);
        lc_xfer_init(&sl->x[3 * p + j], j, 1, p2_dst, q2);
        for (int k = 0; k < 4; k++)
            if (j == r || !sl->x[k * p + j].len)
                sl->x[k * p + j].state = LC_XFER_DONE;
        if (j == r)
            memcpy(sl->recv1 + (size_t)r * v->w1, chunk_src, r1);
    }
    sl->stage = LC_SLOT_PHASE1;
    return 0;
}

int lc_vote_events(int nseg, int depth, int **events, size_t *cap)
{
    int e = 0;

    if (2 * (size_t)nseg > *cap) {
        int *ev = realloc(*events, 2 * (size_t)nseg * sizeof(int));

        if (!ev)
            return -ENOMEM;
        *events = ev;
        *cap = 2 * (size_t)nseg;
    }
    for (int s = 0; s < depth; s++)
        (*events)[e++] = 2 * s;
    for (int s = 0; s < nseg; s++) {
        (*events)[e++] = 2 * s + 1;
        if (s + depth < nseg)
            (*events)[e++] = 2 * (s + depth);
    }
    return 0;
}

void lc_tie_plane(const int32_t *sums, size_t n, uint64_t *ties)
{
    memset(ties, 0, LC_BITS_WORDS(n) * 8);
    for (size_t i = 0; i < n; i++)
        ties[i / 64] |= (uint64_t)(sums[i] == 0) << (i % 64);
}

int lc_decode_ternary(const uint64_t *planes, size_t n, void *out, lc_dtype_t dtype)
{
    const uint64_t *ties = planes + LC_BITS_WORDS(n);
    int rc = lc_unpack_signs(planes, n, out, dtype);
    size_t esz = lc_dtype_size(dtype);

    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ties[i / 64] >> (i % 64) & 1)
            memset((char *)out + i * esz, 0, esz);
    return rc;
}

/* Count this rank's chunk and decode it (phase 1 complete). */
static int lc_vote_reduce(struct lc_vote *v, struct lc_vote_slot *sl)
{
    struct lc_comm *c = v->c;
    int p = c->nranks, r = c->rank, s = sl->seg;
    size_t len = lc_chunk_len(v, s, r);
    uint64_t first = v->a.base + (size_t)s * v->seg + (size_t)r * v->chunk;
    int rc = 0;

    if (!len)
        return 0;
    if (v->a.mode == LC_VOTE_L1) {
        int32_t *sums = (int32_t *)sl->count;
        uint64_t *dest = lc_p2_has_planes(v) ? lc_p2_mine(v, sl)
                                         : lc_bits_dest(v, sl) + (size_t)r * v->chunk / 64;

        memset(sums, 0, len * sizeof(*sums));
        for (int j = 0; j < p && !rc; j++)
            rc = lc_levels_accumulate(sl->recv1 + (size_t)j * v->w1, len, v->a.b1, sums);
        if (!rc)
            rc = lc_decode_sum_sign(sums, len, first, v->a.salt, dest);
        if (!rc && lc_p2_has_planes(v))
            lc_tie_plane(sums, len, dest + LC_BITS_WORDS(len));
        return rc;
    }
    if (v->a.mode == LC_VOTE_AVERAGE) /* phase 2 sends the count planes */
        return lc_count_votes(sl->recv1, v->w1, (size_t)p, len, sl->count);
    return lc_vote_majority(sl->recv1, v->w1, (size_t)p, len, first, v->a.salt,
                            lc_bits_dest(v, sl) + (size_t)r * v->chunk / 64);
}

/* Write the segment's result into the caller's output (phase 2 complete). */
static int lc_vote_finish(struct lc_vote *v, struct lc_vote_slot *sl)
{
    struct lc_comm *c = v->c;
    int s = sl->seg, rc = 0;
    size_t start = (size_t)s * v->seg, osz = lc_dtype_size(v->a.out_type);

    if (lc_p2_has_planes(v)) {
        for (int j = 0; j < c->nranks && !rc; j++) {
            size_t len = lc_chunk_len(v, s, j);
            const uint64_t *planes = j == c->rank ? lc_p2_mine(v, sl)
                                                  : sl->recv2 + (size_t)j * v->wc * v->a.p2planes;
            void *dst = (char *)v->a.out + (start + (size_t)j * v->chunk) * osz;

            if (len && v->a.mode == LC_VOTE_AVERAGE)
                rc = lc_decode_average(planes, (size_t)c->nranks, len, dst, v->a.out_type);
            else if (len)
                rc = lc_decode_ternary(planes, len, dst, v->a.out_type);
        }
    } else if (v->a.out_type != LC_BITS) {
        rc = lc_unpack_signs(sl->bits2, lc_seg_len(v, s), (char *)v->a.out + start * osz,
                             v->a.out_type);
    }
    sl->stage = LC_SLOT_FREE;
    return rc;
}

/* Post, in canonical order, every transfer to or from peer j that is ready. */
static int lc_vote_post_peer(struct lc_vote *v, int j, int is_recv)
{
    struct lc_comm *c = v->c;
    int p = c->nranks, *ev = is_recv ? &v->recv_ev[j] : &v->send_ev[j];

    while (*ev < 2 * v->nseg) {
        int s = v->events[*ev] / 2, phase = v->events[*ev] % 2, rc;
        struct lc_vote_slot *sl = &v->slot[s % v->depth];
        lc_xfer_t *x = &sl->x[(2 * phase + is_recv) * p + j];

        if (sl->seg != s || sl->stage == LC_SLOT_FREE)
            return 0; /* segment not started yet */
        if (phase == 1 && !is_recv && sl->stage < LC_SLOT_PHASE2)
            return 0; /* decoded chunk not ready yet */
        rc = lc_req_post(&v->req, x);
        if (rc)
            return rc;
        if (x->state == LC_XFER_IDLE)
            return 0; /* provider busy, or an earlier collective still posting: retry later */
        (*ev)++;
    }
    return 0;
}

static int lc_slot_phase_done(struct lc_comm *c, struct lc_vote_slot *sl, int from, int to,
                              int *progress)
{
    int all = 1;

    for (int i = from * c->nranks; i < to * c->nranks; i++) {
        int rc = lc_xfer_test(c, &sl->x[i], progress);
        if (rc)
            return rc;
        if (sl->x[i].state != LC_XFER_DONE)
            all = 0;
    }
    return all;
}

/*
 * Direct: lay out the rows and the decode space, pack this rank's row, set up
 * the transfers. A row is the packed votes followed by the argument check's
 * descriptor, so that the check travels in the vote's only message.
 */
static int lc_vote_direct_setup(struct lc_vote *v)
{
    struct lc_comm *c = v->c;
    struct lc_request *r = &v->req;
    size_t p = (size_t)c->nranks, wn = LC_BITS_WORDS(v->a.n), tmp;
    size_t words = LC_BITS_WORDS(v->a.n * v->a.b1), len = (words + 2) * 8;
    uint64_t *own;
    int rc;

    v->w1 = lc_vote_row_words(words + 2);
    tmp = wn * (v->planes > 2 ? v->planes : 2) + (v->a.n * 4 + 7) / 8;
    rc = lc_req_scratch(r, 8 * (p * v->w1 + tmp), (void **)&v->rows);
    if (rc)
        return rc;
    v->dtmp = v->rows + p * v->w1;
    if (!v->dx && !(v->dx = calloc(2 * p, sizeof(*v->dx))))
        return -ENOMEM;
    own = v->rows + (size_t)c->rank * v->w1;
    if (v->a.mode == LC_VOTE_L1)
        rc = lc_levels_pack(v->levels, v->a.n, v->a.b1, own);
    else if (v->a.in_type == LC_BITS)
        memcpy(own, v->a.in, wn * 8);
    else
        rc = lc_pack_signs(v->a.in, v->a.in_type, v->a.n, own);
    own[words] = r->desc_x ? r->desc[0] : 0;
    own[words + 1] = r->desc_x ? r->desc[1] : 0;
    for (int j = 0; j < c->nranks; j++) {
        lc_xfer_init(&v->dx[j], j, 0, own, len);
        lc_xfer_init(&v->dx[p + (size_t)j], j, 1, v->rows + (size_t)j * v->w1, len);
        if (j == c->rank)
            v->dx[j].state = v->dx[p + (size_t)j].state = LC_XFER_DONE;
        if (r->desc_x) /* the descriptor goes in the row */
            r->desc_x[2 * j].state = r->desc_x[2 * j + 1].state = LC_XFER_DONE;
    }
    r->desc_left = 0;
    v->finished = c->nranks - 1; /* rows to come */
    v->derr = 0;
    return rc;
}

/* Direct: every row is here; decode all n elements into the output. */
static int lc_vote_direct_decode(struct lc_vote *v)
{
    size_t p = (size_t)v->c->nranks, wn = LC_BITS_WORDS(v->a.n);
    uint64_t *t = v->dtmp;
    int rc;

    if (v->a.mode == LC_VOTE_AVERAGE) {
        rc = lc_count_votes(v->rows, v->w1, p, v->a.n, t);
        return rc ? rc : lc_decode_average(t, p, v->a.n, v->a.out, v->a.out_type);
    }
    if (v->a.mode == LC_VOTE_L1) {
        int32_t *sums = (int32_t *)(t + 2 * wn);
        uint64_t *bits = v->a.out_type == LC_BITS ? v->a.out : t;

        memset(sums, 0, v->a.n * sizeof(*sums));
        for (size_t j = 0; j < p; j++)
            if ((rc = lc_levels_accumulate(v->rows + j * v->w1, v->a.n, v->a.b1, sums)))
                return rc;
        rc = lc_decode_sum_sign(sums, v->a.n, v->a.base, v->a.salt, bits);
        if (rc || v->a.out_type == LC_BITS)
            return rc;
        lc_tie_plane(sums, v->a.n, t + wn);
        return lc_decode_ternary(t, v->a.n, v->a.out, v->a.out_type);
    }
    rc = lc_vote_majority(v->rows, v->w1, p, v->a.n, v->a.base, v->a.salt,
                          v->a.out_type == LC_BITS ? v->a.out : t);
    if (rc || v->a.out_type == LC_BITS)
        return rc;
    return lc_unpack_signs(t, v->a.n, v->a.out, v->a.out_type);
}

/* Direct: record err, a mismatch before any other error (its message kept). */
static void lc_vote_direct_error(struct lc_vote *v, int err)
{
    if (v->derr && (v->derr == LC_ERR_MISMATCH || err != LC_ERR_MISMATCH))
        return;
    if (!v->derr)
        v->derr_t0 = lc_now();
    v->derr = err;
    snprintf(v->dmsg, sizeof(v->dmsg), "%s", lc_last_error());
}

/*
 * Direct: one pass; 1 when decoded. A failed transfer does not end the vote
 * at once: the rows still on their way are read and this rank's own go out
 * (or fail) first, for lc_req_linger at most, so that a rank whose arguments
 * differ is reported as such on every rank rather than as the connection its
 * peers closed.
 */
static int lc_vote_direct_pass(struct lc_vote *v, int *progress)
{
    struct lc_comm *c = v->c;
    size_t words = LC_BITS_WORDS(v->a.n * v->a.b1);
    int p = c->nranks, rc;

    for (int i = 0; i < 2 * p; i++) {
        lc_xfer_t *x = &v->dx[i];
        const uint64_t *row = v->rows + (size_t)x->peer * v->w1;
        int got = 0;

        if (x->state == LC_XFER_DONE)
            continue;
        if ((rc = lc_req_post(&v->req, x)) || (rc = lc_xfer_test(c, x, &got))) {
            x->state = LC_XFER_DONE;
            v->finished -= i >= p;
            lc_vote_direct_error(v, rc);
            continue;
        }
        if (!got)
            continue;
        *progress = 1;
        if (i < p)
            continue;
        v->finished--;
        if (v->req.desc_x && (row[words] != v->req.desc[0] || row[words + 1] != v->req.desc[1]))
            lc_vote_direct_error(
                v, lc_seterr(LC_ERR_MISMATCH, "coll",
                             "rank %d: lc_vote #%llu: rank %d called %s with different arguments "
                             "(or a different collective)",
                             c->rank, (unsigned long long)v->req.seq, x->peer,
                             row[words] != v->req.desc[0] ? "a different sequence" : "it"));
    }
    if (!v->derr || lc_now() - v->derr_t0 < lc_req_linger(c)) {
        for (int i = 0; i < p; i++)
            if (v->dx[i].state != LC_XFER_DONE)
                return 0; /* a send still going out */
        if (v->finished)
            return 0;
    }
    v->finished = -1;
    if (v->derr) {
        lc_restore_error(v->dmsg);
        return v->derr;
    }
    return (rc = lc_vote_direct_decode(v)) ? rc : 1;
}

/* One pass of the engine over the vote: 1 when every segment is written out. */
static int lc_vote_pass(struct lc_request *r, int *progress)
{
    struct lc_vote *v = (struct lc_vote *)r;
    struct lc_comm *c = v->c;
    int p = c->nranks, rc;

    if (v->direct)
        return v->finished < 0 ? 1 : lc_vote_direct_pass(v, progress);
    if (v->nseg == 0)
        return 1; /* no element: nothing to send */
    while (v->next < v->nseg && v->slot[v->next % v->depth].stage == LC_SLOT_FREE) {
        if ((rc = lc_vote_start(v, &v->slot[v->next % v->depth], v->next)))
            return rc;
        v->next++;
        *progress = 1;
    }
    for (int j = 0; j < p; j++) {
        if (j == c->rank)
            continue;
        if ((rc = lc_vote_post_peer(v, j, 1)) || (rc = lc_vote_post_peer(v, j, 0)))
            return rc;
    }
    for (int k = 0; k < v->depth; k++) {
        struct lc_vote_slot *sl = &v->slot[k];

        if (sl->stage == LC_SLOT_PHASE1) {
            rc = lc_slot_phase_done(c, sl, 1, 2, progress);
            if (rc < 0)
                return rc;
            if (rc) {
                if ((rc = lc_vote_reduce(v, sl)))
                    return rc;
                sl->stage = LC_SLOT_PHASE2;
                *progress = 1;
            }
        }
        if (sl->stage == LC_SLOT_PHASE2) {
            rc = lc_slot_phase_done(c, sl, 0, 4, progress);
            if (rc < 0)
                return rc;
            if (rc) {
                if ((rc = lc_vote_finish(v, sl)))
                    return rc;
                v->finished++;
                *progress = 1;
            }
        }
    }
    return v->finished == v->nseg;
}

static int lc_vote_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    const struct lc_vote *v = (const struct lc_vote *)r;

    if (v->direct) {
        for (int j = 0; j < v->c->nranks; j++) {
            const lc_xfer_t *x = &v->dx[is_recv ? v->c->nranks + j : j];

            if (x->peer == peer && x->state == LC_XFER_IDLE)
                return 0;
        }
        return 1;
    }
    return v->nseg == 0 || (is_recv ? v->recv_ev : v->send_ev)[peer] >= 2 * v->nseg;
}

static void lc_vote_destroy(struct lc_request *r)
{
    struct lc_vote *v = (struct lc_vote *)r;

    for (int k = 0; k < LC_VOTE_MAX_DEPTH; k++)
        free(v->slot[k].x);
    free(v->events);
    free(v->send_ev);
    free(v->recv_ev);
    free(v->levels_owned);
    free(v->dx);
}

static const lc_req_kind_t lc_vote_kind = {
    .id = LC_REQ_VOTE,
    .size = sizeof(struct lc_vote),
    .pass = lc_vote_pass,
    .posted_all = lc_vote_posted_all,
    .destroy = lc_vote_destroy,
};

/* Lay out segments, chunks and the slots' buffers in the comm's scratch. */
static int lc_vote_setup(struct lc_vote *v)
{
    struct lc_comm *c = v->c;
    size_t p = (size_t)c->nranks, words_seg, w_count, per_slot, total, wide;
    char *base;
    int rc;

    /* LC_SEGMENT counts 1-bit elements: when a phase carries b bits per
     * element (L1 levels, average count planes) segments are b times shorter,
     * so every segment puts the same burst on the wire. */
    wide = v->a.mode == LC_VOTE_AVERAGE ? v->planes : v->a.b1;
    v->seg = (c->segment / wide) & ~(size_t)63;
    if (v->seg < 64)
        v->seg = 64;
    if (v->a.n < v->seg)
        v->seg = (v->a.n + 63) & ~(size_t)63;
    v->nseg = (int)((v->a.n + v->seg - 1) / v->seg);
    v->depth = v->nseg < c->vote_depth ? v->nseg : c->vote_depth;
    v->chunk = ((v->seg + p - 1) / p + 63) & ~(size_t)63;
    v->wc = LC_BITS_WORDS(v->chunk);
    v->w1 = lc_vote_row_words(LC_BITS_WORDS(v->chunk * v->a.b1));
    words_seg = LC_BITS_WORDS(p * v->chunk * v->a.b1);
    w_count = v->a.mode == LC_VOTE_L1 ? lc_sums_words(v) + 2 * v->wc : v->wc * v->planes;
    per_slot = 8 * (words_seg + p * v->w1 + w_count + LC_BITS_WORDS(p * v->chunk) +
                    (lc_p2_has_planes(v) ? p * v->wc * v->a.p2planes : 0));
    total = per_slot * (size_t)v->depth;
    rc = lc_req_scratch(&v->req, total, (void **)&base);
    if (rc)
        return rc;
    for (int k = 0; k < v->depth; k++) {
        struct lc_vote_slot *sl = &v->slot[k];
        uint64_t *w = (uint64_t *)(base + per_slot * (size_t)k);

        sl->send1 = w, w += words_seg;
        sl->recv1 = w, w += p * v->w1;
        sl->count = w, w += w_count;
        sl->bits2 = w, w += LC_BITS_WORDS(p * v->chunk);
        sl->recv2 = w;
        sl->stage = LC_SLOT_FREE;
        sl->seg = -1;
        if (!sl->x && !(sl->x = calloc(4 * p, sizeof(lc_xfer_t))))
            return -ENOMEM;
    }
    if (!v->send_ev && !(v->send_ev = calloc(p, sizeof(int))))
        return -ENOMEM;
    if (!v->recv_ev && !(v->recv_ev = calloc(p, sizeof(int))))
        return -ENOMEM;
    memset(v->send_ev, 0, p * sizeof(int));
    memset(v->recv_ev, 0, p * sizeof(int));
    v->next = v->finished = 0;
    return lc_vote_events(v->nseg, v->depth, &v->events, &v->events_cap);
}

static int lc_vote_check(lc_comm_t *c, const void *in, lc_dtype_t in_type, void *out,
                         lc_dtype_t out_type, size_t count, const lc_vote_opts_t *opts)
{
    lc_vote_mode_t mode = opts ? opts->mode : LC_VOTE_MAJORITY;
    int in_ok, out_ok;

    if (!c)
        return LC_EINVAL("vote", "lc_vote: NULL communicator");
    if (count && (!in || !out))
        return LC_EINVAL("vote", "lc_vote: NULL buffer for %zu elements", count);
    if ((unsigned)mode > LC_VOTE_L1)
        return LC_EINVAL("vote", "lc_vote: unknown mode %d", (int)mode);
    if (mode == LC_VOTE_L1 && opts->level_bits &&
        (opts->level_bits < 2 || opts->level_bits > 8))
        return LC_EINVAL("vote", "lc_vote: level_bits %u not in 2..8", opts->level_bits);
    if (mode == LC_VOTE_L1 && opts->levels > LC_MAX_LEVELS)
        return LC_EINVAL("vote", "lc_vote: levels %u not in 1..%d", opts->levels, LC_MAX_LEVELS);
    in_ok = in_type == LC_FP32 || in_type == LC_BF16 ||
            (in_type == LC_FP16 && mode != LC_VOTE_L1) ||
            (in_type == LC_BITS && mode != LC_VOTE_L1) || (in_type == LC_INT8 && mode == LC_VOTE_L1);
    if (!in_ok)
        return LC_EINVAL("vote", "lc_vote: input type %s is not accepted in this mode",
                         lc_dtype_name(in_type));
    if (mode == LC_VOTE_AVERAGE)
        out_ok = out_type == LC_FP32 || out_type == LC_BF16;
    else
        out_ok = out_type == LC_BITS || out_type == LC_FP32 || out_type == LC_BF16 ||
                 out_type == LC_FP16;
    if (!out_ok)
        return LC_EINVAL("vote", "lc_vote: output type %s is not accepted in this mode",
                         lc_dtype_name(out_type));
    if (count > (size_t)1 << 40)
        return LC_EINVAL("vote", "lc_vote: count %zu is too large", count);
    return 0;
}

int lc_vote_levels(const void *in, lc_dtype_t in_type, size_t n, unsigned nlevels,
                   int8_t **owned, size_t *cap, const int8_t **levels)
{
    int lim = (int)nlevels;
    int8_t *q;

    if (in_type == LC_INT8) {
        const int8_t *l = in;

        for (size_t i = 0; i < n; i++)
            if (l[i] < -lim || l[i] > lim)
                return lc_seterr(-ERANGE, "vote", "lc_vote: level %d at %zu is not in [-%d, %d]",
                                 l[i], i, lim, lim);
        *levels = l;
        return 0;
    }
    if (n > *cap) {
        q = realloc(*owned, n);
        if (!q)
            return -ENOMEM;
        *owned = q;
        *cap = n;
    }
    *levels = *owned;
    return lc_quantize_l1_levels(in, in_type, n, nlevels, *owned);
}

/* Set up a vote and queue it; caller holds c->lock. */
static int lc_vote_issue(lc_comm_t *c, const void *in, lc_dtype_t in_type, void *out,
                         lc_dtype_t out_type, size_t count, const lc_vote_opts_t *opts,
                         struct lc_request **out_req)
{
    struct lc_request *r;
    struct lc_vote *v;
    lc_vote_opts_t o; /* the caller's opts at this build's size */
    lc_vote_args_t a;
    uint64_t desc[9];
    int rc, direct;

    if (opts && (rc = lc_struct_in(opts, &o, sizeof(o), "lc_vote_opts_t")))
        return rc;
    opts = opts ? &o : NULL;
    rc = lc_vote_check(c, in, in_type, out, out_type, count, opts);
    if (rc)
        return rc;
    a = (lc_vote_args_t){.in = in, .in_type = in_type, .out = out, .out_type = out_type,
                         .n = count, .mode = opts ? opts->mode : LC_VOTE_MAJORITY, .b1 = 1,
                         .salt = opts ? opts->tie_salt : 0, .base = opts ? opts->first_index : 0};
    if (a.mode == LC_VOTE_L1) {
        unsigned b = opts->level_bits ? opts->level_bits : LC_VOTE_DEFAULT_LEVEL_BITS;

        a.nlevels = opts->levels ? opts->levels : (1u << (b - 1)) - 1;
        a.b1 = (unsigned)lc_levels_bits(a.nlevels);
    }
    a.p2planes = a.mode == LC_VOTE_AVERAGE ? (unsigned)lc_count_planes((size_t)c->nranks)
                 : a.mode == LC_VOTE_L1 && out_type != LC_BITS ? 2
                                                                : 1;
    direct = count && c->nranks > 1 &&
             (size_t)(c->nranks - 1) * LC_BITS_WORDS(count * a.b1) * 8 <= c->vote_direct;
    desc[0] = 1; /* collective id: vote */
    desc[1] = count;
    desc[2] = a.mode | (uint64_t)a.p2planes << 8;
    desc[3] = a.b1 | (uint64_t)a.nlevels << 8;
    desc[4] = a.salt;
    desc[5] = c->segment * 16 + (uint64_t)c->vote_depth;
    desc[6] = a.base;
    desc[7] = c->vote_direct;
    desc[8] = (uint64_t)lc_vote_hier_chosen(c, &a, direct);
    if (desc[8])
        return lc_vote_hier_issue(c, &a, desc, 9, out_req);
    rc = lc_req_get(c, &lc_vote_kind, "lc_vote", desc, 9, &r);
    if (rc)
        return rc;
    v = (struct lc_vote *)r;
    v->c = c;
    v->a = a;
    v->planes = (unsigned)lc_count_planes((size_t)c->nranks);
    v->levels = NULL;
    v->nseg = v->depth = 0;
    v->next = v->finished = 0;
    v->direct = direct;

    /* A rank whose levels are bad fails; its peers learn of it from the descriptor
     * (which already went out without the error: theirs differ from it only then). */
    rc = a.mode == LC_VOTE_L1 && count ? lc_vote_levels(in, in_type, count, a.nlevels, &v->levels_owned,
                                                      &v->levels_cap, &v->levels)
                                     : 0;
    if (rc && r->desc_x) {
        r->desc[1] ^= (uint64_t)-rc; /* a different descriptor: the peers fail too */
        r->local_rc = rc;
    } else if (rc) {
        lc_req_put(r);
        return rc;
    } else if (count && (rc = v->direct ? lc_vote_direct_setup(v) : lc_vote_setup(v))) {
        lc_req_put(r);
        return rc;
    }
    lc_req_issue(r);
    *out_req = r;
    return 0;
}

int lc_vote(lc_comm_t *c, const void *in, lc_dtype_t in_type, void *out, lc_dtype_t out_type,
            size_t count, const lc_vote_opts_t *opts)
{
    struct lc_request *r = NULL;
    int rc = lc_coll_call_begin(c, "lc_vote");

    if (rc)
        return rc;
    rc = lc_vote_issue(c, in, in_type, out, out_type, count, opts, &r);
    return lc_coll_call_end(c, rc, r, NULL);
}

int lc_ivote(lc_comm_t *c, const void *in, lc_dtype_t in_type, void *out, lc_dtype_t out_type,
             size_t count, const lc_vote_opts_t *opts, lc_request_t **req)
{
    struct lc_request *r = NULL;
    int rc;

    if (!req)
        return LC_EINVAL("vote", "lc_ivote: NULL request pointer");
    *req = NULL;
    if ((rc = lc_coll_call_begin(c, "lc_ivote")))
        return rc;
    rc = lc_vote_issue(c, in, in_type, out, out_type, count, opts, &r);
    return lc_coll_call_end(c, rc, r, req);
}
