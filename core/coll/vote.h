/*
 * vote.h - what the flat vote (vote.c) and the two-level vote (vote_hier.c)
 * share: the decoders of L1's two planes and the quantization into levels.
 */
#ifndef LC_VOTE_H
#define LC_VOTE_H

#include "coll/request.h"

/*
 * The canonical order of a pipelined vote's events on every connection, D =
 * depth segments in flight: early(0 .. D-1), then for s: late(s), early(s + D);
 * entries are seg * 2 + phase (0: early, 1: late), into *events (grown).
 */
LC_HIDDEN int lc_vote_events(int nseg, int depth, int **events, size_t *cap);

/* Bit i of ties: whether sums[i] is 0 (an L1 tie, which abstains in values). */
LC_HIDDEN void lc_tie_plane(const int32_t *sums, size_t n, uint64_t *ties);

/* Values from an L1 chunk's two planes (bits, then ties 1 word-rounded plane
 * later): 0 for a tie, else -1 (bit set) or +1. */
LC_HIDDEN int lc_decode_ternary(const uint64_t *planes, size_t n, void *out, lc_dtype_t dtype);

/*
 * LC_VOTE_L1: quantize n inputs of in_type to levels in [-nlevels, nlevels]
 * into *owned (grown to n, kept for reuse), or check LC_INT8 input levels;
 * *levels points at the levels to vote.
 */
LC_HIDDEN int lc_vote_levels(const void *in, lc_dtype_t in_type, size_t n, unsigned nlevels,
                             int8_t **owned, size_t *cap, const int8_t **levels);

/* What a vote request needs besides its buffers: the caller's arguments, decoded. */
typedef struct lc_vote_args {
    const void *in;
    lc_dtype_t in_type;
    void *out;
    lc_dtype_t out_type;
    size_t n;
    lc_vote_mode_t mode;
    unsigned b1;       /* bits per element a rank sends: 1, or the level bits of L1 */
    unsigned nlevels;  /* LC_VOTE_L1: levels per side */
    unsigned p2planes; /* planes of a decoded element: 1, lc_count_planes(p) (average), 2 (L1 ties) */
    uint64_t salt;
    uint64_t base;     /* index of element 0 in the tie rule */
} lc_vote_args_t;

/* Whether a vote of these arguments runs in two levels on c (LC_HIER, the layout). */
LC_HIDDEN int lc_vote_hier_chosen(const struct lc_comm *c, const lc_vote_args_t *a, int direct);

/* Issue the two-level vote; desc as lc_vote's. Caller holds c->lock. */
LC_HIDDEN int lc_vote_hier_issue(struct lc_comm *c, const lc_vote_args_t *a, const uint64_t *desc,
                                 int ndesc, struct lc_request **out_req);

#endif
