/*
 * vote_hier.c - the two-level vote: inside each host, then across hosts.
 *
 * With H hosts of L_h ranks, a segment is cut into S = (most ranks on one
 * host) stripes, and each stripe into H cells (a multiple of 64 elements;
 * the segment is padded with zero votes to S * H cells). On host h, stripe s
 * belongs to local rank s * L_h / S, so every local rank owns a contiguous
 * run of stripes and carries 1/L_h of the host's network traffic.
 *
 *   E1 (inside the host)  every rank sends the owner of each stripe its votes
 *                         of it; the owner counts its host's L_h votes per
 *                         element into w_h = ceil(log2(L_h + 1)) bit planes
 *                         (L1: the sum of the levels, repacked in the bits
 *                         that hold L_h levels).
 *   E2 (across hosts)     the owners of stripe s on the H hosts form its rail;
 *                         each sends cell k of its counts to host k's owner.
 *   E3 (across hosts)     host k's owner adds the H counts of cell k into the
 *                         count of all p votes, decodes it with the flat
 *                         vote's kernels and tie rule (element index, salt),
 *                         and sends the decoded cell to the rail.
 *   E4 (inside the host)  every owner sends its decoded stripes to the ranks
 *                         of its host.
 *
 * A host's network link thus carries about (w + 1) (H - 1) / H bits per
 * element instead of 2 L (H - 1) / H, and the result is the flat vote's bit
 * for bit. Every pair of ranks is either on one host (E1, E4) or not (E2,
 * E3), so each pair has an early and a late event per segment and follows
 * the flat vote's canonical order (vote.c): early(0 .. D-1), then for every
 * segment s: late(s), early(s + D); within one event the messages go stripe
 * by stripe in ascending order.
 */
#include <stdlib.h>
#include <string.h>

#include "coll/vote.h"
#include "comm/shm.h"

/* A slot's stages; a send of event E may be posted once the slot reached stage E. */
enum { LC_HS_FREE = 0, LC_HS_E1 = 1, LC_HS_E2 = 2, LC_HS_E3 = 3, LC_HS_E4 = 4 };

struct lc_hier_slot {
    int seg;
    int stage;
    uint64_t *send1;   /* this rank's packed votes of the padded segment */
    uint64_t *rows;    /* own stripes: [stripe][local rank] votes of the stripe */
    uint64_t *hostcnt; /* own stripes: [stripe][host] this host's count of the cell */
    uint64_t *railrecv; /* own stripes: [stripe][host] that host's count of this host's cell */
    uint64_t *cellres; /* all stripes: [stripe][host] decoded cell, p2planes planes */
    lc_xfer_t *x;
    unsigned char *xev; /* event (LC_HS_E1..E4) of each transfer */
    int nx;
    int *range;        /* per (peer, phase, direction): first transfer and count */
    int recv_left[5];  /* receives not done, per event */
    int sends_left;
    uint64_t tag;      /* shared memory: the segment's tag (shm.h) */
    uint64_t e1_done;  /* shared memory: local ranks whose votes (E1) were read, a bit each */
    uint64_t e4_done;  /* ... whose decoded stripes (E4) were read */
    int published;     /* shared memory: this rank's decoded stripes are in its region */
};

struct lc_hier_vote {
    struct lc_request req; /* first: the engine's header */
    struct lc_comm *c;
    lc_vote_args_t a;
    const int8_t *levels;
    int8_t *levels_owned;
    size_t levels_cap;

    /* layout: hosts, their ranks (by host, in rank order), stripes, cells */
    int nhosts, myhost, lrank, lsize, nstripe;
    int *hoff;          /* host h's ranks are hranks[hoff[h] .. hoff[h + 1]) */
    int *hranks;
    int *lidx;          /* every rank's local rank on its host */
    unsigned *eb;       /* per host: bits per element of its counts on the rail */
    unsigned ebmax, planes;
    int s0, s1;         /* this rank's stripes */
    size_t cell, stripe, seglen;
    int nseg, depth, next, finished;
    struct lc_hier_slot slot[LC_VOTE_MAX_DEPTH];
    int *events;        /* canonical order: seg * 2 + phase (0: early, 1: late) */
    size_t events_cap;
    int *cur;           /* per (peer, direction): event index, and transfer within it */
    uint64_t *acc;      /* count planes of all p votes of one cell */
    int32_t *sums;      /* L1 sums of one cell */
    size_t cell_cap;    /* elements acc, sums and sums8 hold */
    int8_t *sums8;      /* the same as levels, for packing */
    struct lc_shm *shm; /* E1 and E4 through shared memory, or NULL: through the provider */
    int all_own;        /* one host over shared memory: this rank decodes every stripe */
};

/* Local rank owning stripe s on host h, and its rank. */
static int lc_hier_owner(const struct lc_hier_vote *v, int h, int s)
{
    int lh = v->hoff[h + 1] - v->hoff[h];

    return v->hranks[v->hoff[h] + (int)((long)s * lh / v->nstripe)];
}

static size_t lc_hier_cell_words(const struct lc_hier_vote *v, unsigned bits)
{
    return v->cell * bits / 64;
}

static uint64_t *lc_hier_row(const struct lc_hier_vote *v, const struct lc_hier_slot *sl, int s,
                             int l)
{
    size_t sw = v->stripe * v->a.b1 / 64;

    return sl->rows + ((size_t)(s - v->s0) * (size_t)v->lsize + (size_t)l) * sw;
}

static uint64_t *lc_hier_hostcnt(const struct lc_hier_vote *v, const struct lc_hier_slot *sl,
                                 int s, int h)
{
    size_t cw = lc_hier_cell_words(v, v->eb[v->myhost]);

    return sl->hostcnt + ((size_t)(s - v->s0) * (size_t)v->nhosts + (size_t)h) * cw;
}

static uint64_t *lc_hier_railrecv(const struct lc_hier_vote *v, const struct lc_hier_slot *sl,
                                  int s, int h)
{
    size_t cw = lc_hier_cell_words(v, v->ebmax);

    return sl->railrecv + ((size_t)(s - v->s0) * (size_t)v->nhosts + (size_t)h) * cw;
}

static uint64_t *lc_hier_cellres(const struct lc_hier_vote *v, const struct lc_hier_slot *sl,
                                 int s, int h)
{
    size_t cw = lc_hier_cell_words(v, v->a.p2planes);

    return sl->cellres + ((size_t)s * (size_t)v->nhosts + (size_t)h) * cw;
}

/* First transfer and count of (peer, phase, direction) in the slot. */
static int *lc_hier_range(const struct lc_hier_slot *sl, int peer, int phase, int is_recv)
{
    return &sl->range[((peer * 2 + phase) * 2 + is_recv) * 2];
}

static void lc_hier_add(struct lc_hier_slot *sl, int ev, int peer, int is_recv, void *buf,
                        size_t len)
{
    lc_xfer_init(&sl->x[sl->nx], peer, is_recv, buf, len);
    sl->xev[sl->nx++] = (unsigned char)ev;
    if (is_recv)
        sl->recv_left[ev]++;
    else
        sl->sends_left++;
}

/* The transfers of segment s's slot, per (peer, phase, direction) by ascending stripe. */
static void lc_hier_transfers(struct lc_hier_vote *v, struct lc_hier_slot *sl)
{
    struct lc_comm *c = v->c;
    size_t sbytes = v->stripe * v->a.b1 / 8, cres = lc_hier_cell_words(v, v->a.p2planes) * 8;

    sl->nx = sl->sends_left = 0;
    memset(sl->recv_left, 0, sizeof(sl->recv_left));
    for (int j = 0; j < c->nranks; j++) {
        int hj = c->host_of[j];

        for (int phase = 0; phase < 2; phase++)
            for (int dir = 0; dir < 2; dir++) {
                int *rg = lc_hier_range(sl, j, phase, dir);

                rg[0] = sl->nx;
                if (j == c->rank) {
                    rg[1] = 0;
                    continue;
                }
                for (int s = 0; s < v->nstripe; s++) {
                    int mine = s >= v->s0 && s < v->s1;

                    if (hj == v->myhost && v->shm) {
                        continue; /* E1 and E4 go through shared memory */
                    } else if (hj == v->myhost) {
                        int theirs = lc_hier_owner(v, hj, s) == j, lj = v->lidx[j];

                        if (phase == 0 && !dir && theirs) /* E1: my votes of their stripe */
                            lc_hier_add(sl, LC_HS_E1, j, 0,
                                        sl->send1 + (size_t)s * v->stripe * v->a.b1 / 64, sbytes);
                        if (phase == 0 && dir && mine)
                            lc_hier_add(sl, LC_HS_E1, j, 1, lc_hier_row(v, sl, s, lj), sbytes);
                        if (phase == 1 && ((!dir && mine) || (dir && theirs))) /* E4 */
                            lc_hier_add(sl, LC_HS_E4, j, dir, lc_hier_cellres(v, sl, s, 0),
                                        cres * (size_t)v->nhosts);
                    } else if (mine && lc_hier_owner(v, hj, s) == j) {
                        if (phase == 0 && !dir) /* E2: my host's count of their cell */
                            lc_hier_add(sl, LC_HS_E2, j, 0, lc_hier_hostcnt(v, sl, s, hj),
                                        lc_hier_cell_words(v, v->eb[v->myhost]) * 8);
                        if (phase == 0 && dir)
                            lc_hier_add(sl, LC_HS_E2, j, 1, lc_hier_railrecv(v, sl, s, hj),
                                        lc_hier_cell_words(v, v->eb[hj]) * 8);
                        if (phase == 1) /* E3: the decoded cell of the sender's host */
                            lc_hier_add(sl, LC_HS_E3, j, dir,
                                        lc_hier_cellres(v, sl, s, dir ? hj : v->myhost), cres);
                    }
                }
                rg[1] = sl->nx - rg[0];
            }
    }
}

/* Pack the segment's votes (zero padded to whole stripes) and set up its transfers. */
static int lc_hier_start(struct lc_hier_vote *v, struct lc_hier_slot *sl, int s)
{
    const lc_vote_args_t *a = &v->a;
    size_t start = (size_t)s * v->seglen, len = a->n - start < v->seglen ? a->n - start : v->seglen;
    size_t words = v->seglen * a->b1 / 64, used = LC_BITS_WORDS(len * a->b1);
    int k = (int)(sl - v->slot), rc = 0;

    if (v->shm) { /* the votes go into the region: once its readers finished its last segment */
        for (int l = 0; l < v->lsize; l++)
            if (l != v->lrank &&
                lc_shm_load(&v->shm->mine->slot[k].done[l]) != v->shm->last[k]) {
                v->shm->waiting = 1;
                rc = lc_shm_check_alive(v->c);
                return rc ? rc : 1;
            }
        sl->send1 = lc_shm_votes(v->shm, v->lrank, k);
        sl->tag = lc_shm_tag(v->req.seq, s);
        sl->e1_done = sl->e4_done = 1ull << v->lrank;
        sl->published = 0;
    }
    sl->seg = s;
    if (a->mode == LC_VOTE_L1)
        rc = lc_levels_pack(v->levels + start, len, a->b1, sl->send1);
    else if (a->in_type == LC_BITS)
        lc_shm_put(v->shm, sl->send1, (const uint64_t *)a->in + start / 64, used * 8);
    else
        rc = lc_pack_signs((const char *)a->in + start * lc_dtype_size(a->in_type), a->in_type,
                           len, sl->send1);
    if (rc)
        return rc;
    memset(sl->send1 + used, 0, (words - used) * 8);
    for (int st = v->s0; st < v->s1 && !v->shm; st++)
        memcpy(lc_hier_row(v, sl, st, v->lrank), sl->send1 + (size_t)st * v->stripe * a->b1 / 64,
               v->stripe * a->b1 / 8);
    if (v->shm) {
        v->shm->last[k] = sl->tag;
        lc_shm_store(&v->shm->mine->slot[k].votes, sl->tag);
    }
    lc_hier_transfers(v, sl);
    sl->stage = LC_HS_E1;
    return 0;
}

/*
 * Shared memory: note the local ranks whose region holds the segment's votes
 * (E1) and, once this rank's decoded stripes are in its own region, those
 * whose decoded stripes are there (E4); both are read in place. Sets *progress;
 * fails when a local rank waited on is gone.
 */
static int lc_hier_shm_poll(struct lc_hier_vote *v, struct lc_hier_slot *sl, int *progress)
{
    struct lc_shm *shm = v->shm;
    int k = (int)(sl - v->slot), e4 = sl->stage == LC_HS_E4;
    size_t cres = lc_hier_cell_words(v, v->a.p2planes);
    uint64_t full = v->lsize == 64 ? ~0ull : (1ull << v->lsize) - 1;

    if (v->all_own)
        sl->e4_done = full, sl->published = 1; /* nobody reads the stripes */
    if (e4 && !sl->published) {
        size_t off = (size_t)v->s0 * v->nhosts * cres;

        lc_shm_put(shm, lc_shm_stripes(shm, v->lrank, k) + off, sl->cellres + off,
               (size_t)(v->s1 - v->s0) * v->nhosts * cres * 8);
        lc_shm_store(&shm->mine->slot[k].stripes, sl->tag);
        sl->published = 1;
    }
    for (int l = 0; l < v->lsize; l++) {
        lc_shm_hdr_t *h = shm->peer[l];

        if (!(sl->e1_done >> l & 1) && lc_shm_load(&h->slot[k].votes) == sl->tag) {
            sl->e1_done |= 1ull << l;
            *progress = 1;
        }
        if (e4 && !(sl->e4_done >> l & 1) && lc_shm_load(&h->slot[k].stripes) == sl->tag) {
            sl->e4_done |= 1ull << l;
            *progress = 1;
        }
    }
    if (sl->e1_done == full && (!e4 || sl->e4_done == full))
        return 0;
    shm->waiting = 1;
    return lc_shm_check_alive(v->c);
}

/* acc (w planes of `words` words) += src (ws planes): bit-sliced addition. */
static void lc_planes_add(uint64_t *acc, unsigned w, const uint64_t *src, unsigned ws,
                          size_t words)
{
    for (size_t i = 0; i < words; i++) {
        uint64_t carry = 0;

        for (unsigned k = 0; k < w && (k < ws || carry); k++) {
            uint64_t x = acc[k * words + i], y = k < ws ? src[k * words + i] : 0;

            acc[k * words + i] = x ^ y ^ carry;
            carry = (x & y) | (carry & (x ^ y));
        }
    }
}

/* E1 done: count this host's votes of every cell of this rank's stripes. */
/* Index of element 0 of cell (s, h) of the slot's segment, for the tie rule. */
static uint64_t lc_hier_first(const struct lc_hier_vote *v, const struct lc_hier_slot *sl, int s,
                              int h)
{
    return v->a.base + (size_t)sl->seg * v->seglen + (size_t)s * v->stripe + (size_t)h * v->cell;
}

/* Where cell (s, h) is decoded straight into the caller's bit vector: when
 * this rank decodes every stripe itself (one host over shared memory) and the
 * cell lies whole in the vector; NULL otherwise. */
static uint64_t *lc_hier_out_bits(const struct lc_hier_vote *v, const struct lc_hier_slot *sl,
                                  int s, int h)
{
    size_t e0 = lc_hier_first(v, sl, s, h) - v->a.base;

    if (!v->all_own || v->a.out_type != LC_BITS || e0 + v->cell > v->a.n)
        return NULL;
    return (uint64_t *)v->a.out + e0 / 64;
}

/* L1: decode a cell's sums of all p votes into dst (bits, then ties when values). */
static int lc_hier_decode_sums(struct lc_hier_vote *v, uint64_t first, uint64_t *dst)
{
    int rc = lc_decode_sum_sign(v->sums, v->cell, first, v->a.salt, dst);

    if (!rc && v->a.p2planes == 2)
        lc_tie_plane(v->sums, v->cell, dst + v->cell / 64);
    return rc;
}

/*
 * E1 done: count this host's votes of every cell of this rank's stripes. With
 * one host that count is the whole vote's: the cell is decoded at once.
 */
static int lc_hier_count(struct lc_hier_vote *v, struct lc_hier_slot *sl)
{
    const lc_vote_args_t *a = &v->a;
    size_t stride = v->stripe * a->b1 / 64, cw1 = v->cell * a->b1 / 64, L = (size_t)v->lsize;
    unsigned eb = v->eb[v->myhost];
    int rc = 0, one = v->nhosts == 1;

    if (v->shm) /* the host's votes side by side in the regions, read in place */
        stride = v->shm->size / 8;
    for (int s = v->s0; s < v->s1 && !rc; s++)
        for (int h = 0; h < v->nhosts && !rc; h++) {
            const uint64_t *rows =
                (v->shm ? lc_shm_votes(v->shm, 0, (int)(sl - v->slot)) + (size_t)s * v->stripe *
                                                                          a->b1 / 64
                        : lc_hier_row(v, sl, s, 0)) +
                (size_t)h * cw1;
            uint64_t *dst = one ? lc_hier_out_bits(v, sl, s, h) : lc_hier_hostcnt(v, sl, s, h);

            if (!dst)
                dst = lc_hier_cellres(v, sl, s, h);
            if (a->mode == LC_VOTE_MAJORITY && one) {
                rc = lc_vote_majority(rows, stride, L, v->cell, lc_hier_first(v, sl, s, h),
                                      a->salt, dst);
                continue;
            }
            if (a->mode != LC_VOTE_L1) { /* the count planes (average: the result's) */
                rc = lc_count_votes(rows, stride, L, v->cell, dst);
                continue;
            }
            memset(v->sums, 0, v->cell * sizeof(*v->sums));
            for (size_t l = 0; l < L && !rc; l++)
                rc = lc_levels_accumulate(rows + l * stride, v->cell, a->b1, v->sums);
            if (rc || one) {
                rc = rc ? rc : lc_hier_decode_sums(v, lc_hier_first(v, sl, s, h), dst);
                continue;
            }
            for (size_t i = 0; i < v->cell; i++)
                v->sums8[i] = (int8_t)v->sums[i];
            rc = lc_levels_pack(v->sums8, v->cell, eb, dst);
        }
    return rc;
}

/* E2 done: add the hosts' counts of this host's cell of every own stripe and decode it. */
static int lc_hier_reduce(struct lc_hier_vote *v, struct lc_hier_slot *sl)
{
    const lc_vote_args_t *a = &v->a;
    size_t wc = v->cell / 64, p = (size_t)v->c->nranks;
    int rc = 0;

    if (v->nhosts == 1) /* decoded when counted */
        return 0;
    for (int s = v->s0; s < v->s1 && !rc; s++) {
        uint64_t first = lc_hier_first(v, sl, s, v->myhost);
        uint64_t *dst = lc_hier_cellres(v, sl, s, v->myhost);

        if (a->mode != LC_VOTE_L1) {
            memset(v->acc, 0, v->planes * wc * 8);
            for (int h = 0; h < v->nhosts; h++)
                lc_planes_add(v->acc, v->planes,
                              h == v->myhost ? lc_hier_hostcnt(v, sl, s, h)
                                             : lc_hier_railrecv(v, sl, s, h),
                              v->eb[h], wc);
            if (a->mode == LC_VOTE_AVERAGE)
                memcpy(dst, v->acc, v->planes * wc * 8);
            else
                rc = lc_decode_majority(v->acc, p, v->cell, first, a->salt, dst);
            continue;
        }
        memset(v->sums, 0, v->cell * sizeof(*v->sums));
        for (int h = 0; h < v->nhosts && !rc; h++)
            rc = lc_levels_accumulate(h == v->myhost ? lc_hier_hostcnt(v, sl, s, h)
                                                     : lc_hier_railrecv(v, sl, s, h),
                                      v->cell, v->eb[h], v->sums);
        if (!rc)
            rc = lc_hier_decode_sums(v, first, dst);
    }
    return rc;
}

/* Every stripe decoded: write the segment into the caller's output. */
static int lc_hier_finish(struct lc_hier_vote *v, struct lc_hier_slot *sl)
{
    struct lc_comm *c = v->c;
    const lc_vote_args_t *a = &v->a;
    size_t osz = lc_dtype_size(a->out_type), wc = v->cell / 64;
    int rc = 0;

    for (int s = 0; s < v->nstripe && !rc; s++)
        for (int h = 0; h < v->nhosts && !rc; h++) {
            size_t e0 = (size_t)sl->seg * v->seglen + (size_t)s * v->stripe + (size_t)h * v->cell;
            size_t len, wl;
            uint64_t *planes = lc_hier_cellres(v, sl, s, h);
            int owner = lc_hier_owner(v, v->myhost, s);

            if (v->shm && !v->all_own && owner != c->rank) /* in place in the owner's region */
                planes = lc_shm_stripes(v->shm, v->lidx[owner], (int)(sl - v->slot)) +
                         (planes - sl->cellres);
            if (e0 >= a->n || lc_hier_out_bits(v, sl, s, h)) /* none, or written already */
                continue;
            len = a->n - e0 < v->cell ? a->n - e0 : v->cell;
            wl = LC_BITS_WORDS(len);
            if (a->out_type == LC_BITS) {
                uint64_t *o = (uint64_t *)a->out + e0 / 64;

                memcpy(o, planes, wl * 8);
                if (len % 64) /* the padding's bits are not the caller's */
                    o[wl - 1] &= ~0ull >> (64 - len % 64);
                continue;
            }
            if (wl < wc && a->p2planes > 1) { /* planes of a shorter cell, packed */
                for (unsigned k = 0; k < a->p2planes; k++)
                    memcpy(v->acc + k * wl, planes + k * wc, wl * 8);
                planes = v->acc;
            }
            if (a->mode == LC_VOTE_AVERAGE)
                rc = lc_decode_average(planes, (size_t)v->c->nranks, len,
                                       (char *)a->out + e0 * osz, a->out_type);
            else if (a->p2planes == 2)
                rc = lc_decode_ternary(planes, len, (char *)a->out + e0 * osz, a->out_type);
            else
                rc = lc_unpack_signs(planes, len, (char *)a->out + e0 * osz, a->out_type);
        }
    for (int l = 0; v->shm && l < v->lsize; l++) /* done with every local rank's slot */
        if (l != v->lrank)
            lc_shm_store(&v->shm->peer[l]->slot[sl - v->slot].done[v->lrank], sl->tag);
    sl->stage = LC_HS_FREE;
    return rc;
}

/* Post, in canonical order, every transfer to or from peer j that may go. */
static int lc_hier_post_peer(struct lc_hier_vote *v, int j, int is_recv)
{
    int *ev = &v->cur[(j * 2 + is_recv) * 2], *sub = ev + 1;

    while (*ev < 2 * v->nseg) {
        int s = v->events[*ev] / 2, phase = v->events[*ev] % 2, rc;
        struct lc_hier_slot *sl = &v->slot[s % v->depth];
        const int *rg;

        if (sl->seg != s || sl->stage == LC_HS_FREE)
            return 0; /* segment not started yet */
        rg = lc_hier_range(sl, j, phase, is_recv);
        for (; *sub < rg[1]; (*sub)++) {
            int i = rg[0] + *sub;

            if (!is_recv && sl->stage < sl->xev[i])
                return 0; /* its data is not ready yet */
            if ((rc = lc_req_post(&v->req, &sl->x[i])))
                return rc;
            if (sl->x[i].state == LC_XFER_IDLE)
                return 0; /* provider busy, or an earlier collective still posting */
        }
        *sub = 0;
        (*ev)++;
    }
    return 0;
}

/* Test the slot's transfers in flight, counting those that completed. */
static int lc_hier_test(struct lc_hier_vote *v, struct lc_hier_slot *sl, int *progress)
{
    for (int i = 0; i < sl->nx; i++) {
        lc_xfer_t *x = &sl->x[i];
        int rc;

        if (x->state == LC_XFER_IDLE || x->state == LC_XFER_DONE)
            continue;
        if ((rc = lc_xfer_test(v->c, x, progress)))
            return rc;
        if (x->state != LC_XFER_DONE)
            continue;
        if (x->is_recv)
            sl->recv_left[sl->xev[i]]--;
        else
            sl->sends_left--;
    }
    return 0;
}

static const lc_req_kind_t lc_hier_kind;

/* Shared memory: whether an earlier two-level vote is still in flight (its
 * slots would be those this one fills: they run one after the other). */
static int lc_hier_shm_busy(const struct lc_hier_vote *v)
{
    for (const struct lc_request *q = v->c->reqs; q && q != &v->req; q = q->next)
        if (q->kind == &lc_hier_kind && q->state != LC_REQ_DONE &&
            ((const struct lc_hier_vote *)q)->shm)
            return 1;
    return 0;
}

static int lc_hier_pass(struct lc_request *r, int *progress)
{
    struct lc_hier_vote *v = (struct lc_hier_vote *)r;
    struct lc_comm *c = v->c;
    uint64_t full = v->lsize == 64 ? ~0ull : (1ull << v->lsize) - 1;
    int rc;

    if (!v->nseg)
        return 1;
    if (v->shm && v->next == 0 && lc_hier_shm_busy(v))
        return 0;
    while (v->next < v->nseg && v->slot[v->next % v->depth].stage == LC_HS_FREE) {
        if ((rc = lc_hier_start(v, &v->slot[v->next % v->depth], v->next)) < 0)
            return rc;
        if (rc)
            break; /* its region slot is still being read */
        v->next++;
        *progress = 1;
    }
    for (int j = 0; j < c->nranks; j++)
        if (j != c->rank &&
            ((rc = lc_hier_post_peer(v, j, 1)) || (rc = lc_hier_post_peer(v, j, 0))))
            return rc;
    for (int k = 0; k < v->depth; k++) {
        struct lc_hier_slot *sl = &v->slot[k];
        int moved = 1;

        if (sl->stage == LC_HS_FREE)
            continue;
        if ((rc = lc_hier_test(v, sl, progress)))
            return rc;
        while (moved && sl->stage != LC_HS_FREE) {
            int shm_e1 = 1, shm_e4 = 1;

            if (v->shm) {
                if ((rc = lc_hier_shm_poll(v, sl, progress)))
                    return rc;
                shm_e1 = sl->e1_done == full;
                shm_e4 = sl->e4_done == full;
            }
            moved = 0;
            if (sl->stage == LC_HS_E1 && shm_e1 && !sl->recv_left[LC_HS_E1]) {
                rc = lc_hier_count(v, sl);
                moved = 1;
            } else if (sl->stage == LC_HS_E2 && !sl->recv_left[LC_HS_E2]) {
                rc = lc_hier_reduce(v, sl);
                moved = 1;
            } else if (sl->stage == LC_HS_E3 && !sl->recv_left[LC_HS_E3]) {
                moved = 1;
            } else if (sl->stage == LC_HS_E4 && shm_e4 && !sl->recv_left[LC_HS_E4] &&
                       !sl->sends_left) {
                if ((rc = lc_hier_finish(v, sl)))
                    return rc;
                v->finished++;
                *progress = 1;
                break;
            }
            if (rc)
                return rc;
            if (moved) {
                sl->stage++;
                *progress = 1;
            }
        }
    }
    return v->finished == v->nseg;
}

static int lc_hier_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    const struct lc_hier_vote *v = (const struct lc_hier_vote *)r;

    if (!v->nseg) /* failed before it was laid out */
        return 1;
    return v->cur[(peer * 2 + is_recv) * 2] >= 2 * v->nseg;
}

static void lc_hier_destroy(struct lc_request *r)
{
    struct lc_hier_vote *v = (struct lc_hier_vote *)r;

    for (int k = 0; k < LC_VOTE_MAX_DEPTH; k++) {
        free(v->slot[k].x);
        free(v->slot[k].xev);
        free(v->slot[k].range);
    }
    free(v->hoff);
    free(v->hranks);
    free(v->lidx);
    free(v->eb);
    free(v->events);
    free(v->cur);
    free(v->acc);
    free(v->sums);
    free(v->sums8);
    free(v->levels_owned);
}

static const lc_req_kind_t lc_hier_kind = {
    .id = LC_REQ_VOTE_HIER,
    .size = sizeof(struct lc_hier_vote),
    .pass = lc_hier_pass,
    .posted_all = lc_hier_posted_all,
    .destroy = lc_hier_destroy,
};

/* Hosts and their ranks, this rank's stripes, the rail widths (allocated once per request). */
static int lc_hier_layout(struct lc_hier_vote *v)
{
    struct lc_comm *c = v->c;
    int p = c->nranks, H = c->nhosts;

    if (!v->hoff) {
        v->hoff = calloc((size_t)H + 1, sizeof(int));
        v->hranks = calloc((size_t)p, sizeof(int));
        v->lidx = calloc((size_t)p, sizeof(int));
        v->eb = calloc((size_t)H, sizeof(unsigned));
        v->cur = calloc(4 * (size_t)p, sizeof(int));
        if (!v->hoff || !v->hranks || !v->lidx || !v->eb || !v->cur)
            return -ENOMEM;
        for (int r = 0; r < p; r++)
            v->hoff[c->host_of[r] + 1]++;
        for (int h = 0; h < H; h++)
            v->hoff[h + 1] += v->hoff[h];
        for (int r = 0; r < p; r++) { /* cur counts each host's ranks here; reset below */
            v->lidx[r] = v->cur[c->host_of[r]]++;
            v->hranks[v->hoff[c->host_of[r]] + v->lidx[r]] = r;
        }
    }
    v->nhosts = H;
    v->myhost = c->host_of[c->rank];
    v->lrank = c->local_rank;
    v->lsize = c->local_size;
    v->nstripe = c->max_local;
    v->shm = c->shm && c->shm->active && v->lsize > 1 ? c->shm : NULL;
    v->s0 = (v->lrank * v->nstripe + v->lsize - 1) / v->lsize;
    v->s1 = ((v->lrank + 1) * v->nstripe + v->lsize - 1) / v->lsize;
    /* one host, shared memory, unless LC_SHM_SPLIT: every rank reads all votes
     * in place and decodes every stripe itself, which saves the wait for the
     * owners' stripes at L times the counting */
    v->all_own = v->shm && H == 1 && !v->shm->split;
    if (v->all_own)
        v->s0 = 0, v->s1 = v->nstripe;
    v->planes = (unsigned)lc_count_planes((size_t)p);
    v->ebmax = 0;
    for (int h = 0; h < H; h++) {
        size_t lh = (size_t)(v->hoff[h + 1] - v->hoff[h]);

        v->eb[h] = v->a.mode == LC_VOTE_L1 ? (unsigned)lc_levels_bits((unsigned)lh * v->a.nlevels)
                                           : (unsigned)lc_count_planes(lh);
        if (v->eb[h] > v->ebmax)
            v->ebmax = v->eb[h];
    }
    memset(v->cur, 0, 4 * (size_t)p * sizeof(int));
    return 0;
}

/* Cut the vector into segments, stripes and cells; lay out the slots in scratch. */
static int lc_hier_setup(struct lc_hier_vote *v)
{
    struct lc_comm *c = v->c;
    const lc_vote_args_t *a = &v->a;
    size_t p = (size_t)c->nranks, H, S, own, target, rows, per_slot, tmp, wide;
    int rc;
    char *base;

    if ((rc = lc_hier_layout(v)))
        return rc;
    H = (size_t)v->nhosts;
    S = (size_t)v->nstripe;
    own = (size_t)(v->s1 - v->s0);
    /* LC_SEGMENT counts 1-bit elements, as in the flat vote */
    wide = a->mode == LC_VOTE_AVERAGE ? v->planes : a->b1;
    target = c->segment / wide;
    if (target > a->n)
        target = a->n;
    v->cell = ((target + S * H - 1) / (S * H) + 63) & ~(size_t)63;
    v->stripe = H * v->cell;
    v->seglen = S * v->stripe;
    v->nseg = (int)((a->n + v->seglen - 1) / v->seglen);
    v->depth = v->nseg < c->vote_depth ? v->nseg : c->vote_depth;
    if (v->depth > LC_VOTE_MAX_DEPTH)
        v->depth = LC_VOTE_MAX_DEPTH;
    if (v->shm && (v->seglen * a->b1 / 8 > v->shm->mine->vote_bytes ||
                   v->seglen * a->p2planes / 8 > v->shm->mine->slot_bytes - v->shm->mine->vote_bytes ||
                   v->nseg >= 1 << 30))
        return lc_seterr(-EOVERFLOW, "vote", "rank %d: a segment does not fit a shared-memory slot",
                         c->rank); /* shm.c sizes slots for every segment LC_SEGMENT allows */
    /* with shared memory the votes are in the regions: no send1 or rows here */
    rows = v->shm ? 0 : v->seglen * a->b1 / 64 + own * (size_t)v->lsize * v->stripe * a->b1 / 64;
    per_slot = rows +
               own * H * lc_hier_cell_words(v, v->eb[v->myhost]) +
               own * H * lc_hier_cell_words(v, v->ebmax) +
               S * H * lc_hier_cell_words(v, a->p2planes);
    tmp = v->planes * v->cell / 64;
    rc = lc_req_scratch(&v->req, 8 * (per_slot * (size_t)v->depth + tmp), (void **)&base);
    if (rc)
        return rc;
    if (v->cell > v->cell_cap) { /* kept for the next vote, as the slots' transfers */
        free(v->acc);
        free(v->sums);
        free(v->sums8);
        v->acc = malloc(tmp * 8);
        v->sums = malloc(v->cell * sizeof(*v->sums));
        v->sums8 = malloc(v->cell);
        if (!v->acc || !v->sums || !v->sums8) {
            v->cell_cap = 0;
            return -ENOMEM;
        }
        v->cell_cap = v->cell;
    }
    for (int k = 0; k < v->depth; k++) {
        struct lc_hier_slot *sl = &v->slot[k];
        uint64_t *w = (uint64_t *)base + per_slot * (size_t)k;
        size_t maxx = 4 * p * S + 4;

        sl->send1 = v->shm ? NULL : w;
        sl->rows = v->shm ? NULL : w + v->seglen * a->b1 / 64;
        w += rows;
        sl->hostcnt = w, w += own * H * lc_hier_cell_words(v, v->eb[v->myhost]);
        sl->railrecv = w, w += own * H * lc_hier_cell_words(v, v->ebmax);
        sl->cellres = w;
        sl->stage = LC_HS_FREE;
        sl->seg = -1;
        if (!sl->x) /* sized by p and S, which the comm fixes */
            sl->x = calloc(maxx, sizeof(*sl->x));
        if (!sl->xev)
            sl->xev = calloc(maxx, 1);
        if (!sl->range)
            sl->range = calloc(8 * p, sizeof(int));
        if (!sl->x || !sl->xev || !sl->range)
            return -ENOMEM;
    }
    v->next = v->finished = 0;
    return lc_vote_events(v->nseg, v->depth, &v->events, &v->events_cap);
}

int lc_vote_hier_chosen(const struct lc_comm *c, const lc_vote_args_t *a, int direct)
{
    if (!a->n || !lc_topo_two_level(c) || (direct && c->hier != LC_HIER_ALWAYS))
        return 0;
    /* a host's sum of L1 levels travels as one level field */
    return a->mode != LC_VOTE_L1 || (size_t)c->max_local * a->nlevels <= LC_MAX_LEVELS;
}

int lc_vote_hier_issue(struct lc_comm *c, const lc_vote_args_t *a, const uint64_t *desc,
                       int ndesc, struct lc_request **out_req)
{
    struct lc_request *r;
    struct lc_hier_vote *v;
    int rc = lc_req_get(c, &lc_hier_kind, "lc_vote", desc, ndesc, &r);

    if (rc)
        return rc;
    v = (struct lc_hier_vote *)r;
    v->c = c;
    v->a = *a;
    v->levels = NULL;
    v->nseg = v->depth = v->next = v->finished = 0;
    rc = a->mode == LC_VOTE_L1 ? lc_vote_levels(a->in, a->in_type, a->n, a->nlevels,
                                                &v->levels_owned, &v->levels_cap, &v->levels)
                               : 0;
    if (rc && r->desc_x) {
        r->desc[1] ^= (uint64_t)-rc; /* a different descriptor: the peers fail too */
        r->local_rc = rc;
    } else if (rc || (rc = lc_hier_setup(v))) {
        lc_req_put(r);
        return rc;
    }
    c->stats.votes_two_level++;
    lc_req_issue(r);
    *out_req = r;
    return 0;
}
