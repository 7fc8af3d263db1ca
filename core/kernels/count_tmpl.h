/*
 * count_tmpl.h - the vote counter and the majority decoder, written once over
 * an abstract bit vector and included by count_scalar.c (uint64_t),
 * count_avx2.c (__m256i) and count_avx512.c (__m512i).
 *
 * Counting is vertical: each bit position has its own counter, kept as bit
 * planes (bit-sliced). Inputs go through Harley-Seal carry-save adder trees:
 * 16 inputs become one carry of weight 16 (15 CSAs); the running counter's
 * low planes (weights 1, 2, 4, 8) are the trees' own accumulators and the
 * weight-16 carries ripple into the higher planes, which live in the output
 * (planes 4 and up change once per 16 inputs). No plane can overflow because
 * the counter has lc_kern_nplanes(p) planes.
 *
 * The includer defines:
 *   LC_V            the vector type
 *   LC_V_WORDS      64-bit words per vector
 *   LC_V_LOAD(p)    unaligned load from const uint64_t *p
 *   LC_V_STORE(p,v) unaligned store
 *   LC_V_AND, LC_V_OR, LC_V_XOR(a, b), LC_V_ANDNOT(a, b) = ~a & b
 *   LC_V_ZERO, LC_V_ONES, LC_V_SET1(u64)
 *   LC_V_CSA(h, l, a, b, c)  carry-save add: h = maj(a, b, c), l = a ^ b ^ c
 *                            (a is the running accumulator; optional)
 *   LC_V_GROUP      vector columns the counter takes together when the rows
 *                   are a multiple of 4 KiB apart (optional, default 1)
 *   LC_V_PREFETCH(p), LC_V_AHEAD  prefetch of the input rows (optional)
 * The functions work on whole vectors of words; the includer does the tails.
 */
#ifndef LC_V_CSA
#define LC_V_CSA(h, l, a, b, c)                                                                    \
    do {                                                                                           \
        LC_V b_ = (b), c_ = (c), u_ = LC_V_XOR(b_, c_);                                            \
        h = LC_V_OR(LC_V_AND(b_, c_), LC_V_AND(a, u_));                                            \
        l = LC_V_XOR(a, u_);                                                                       \
    } while (0)
#endif

/* Half add of x into plane acc; x becomes the carry. */
#define LC_V_HALF(acc, x)                                                                          \
    do {                                                                                           \
        LC_V t_ = LC_V_AND(acc, x);                                                                \
        acc = LC_V_XOR(acc, x);                                                                    \
        x = t_;                                                                                    \
    } while (0)

/* One input row x into planes 1..8 of column g; x becomes the carry of weight 16. */
#define LC_V_ADD1(g, x)                                                                            \
    do {                                                                                           \
        LC_V_HALF(ones[g], x);                                                                     \
        LC_V_HALF(twos[g], x);                                                                     \
        LC_V_HALF(fours[g], x);                                                                    \
        LC_V_HALF(eights[g], x);                                                                   \
    } while (0)

#ifndef LC_V_GROUP
#define LC_V_GROUP 1
#endif
#ifndef LC_V_PREFETCH
#define LC_V_PREFETCH(p) ((void)0)
#endif

/* Add carry x, of the weight of plane 4, into planes 4..w-1 kept in the output. */
static inline void lc_kern_ripple(uint64_t *o, size_t pstride, int nhi, LC_V x)
{
    for (int k = 0; k < nhi; k++) {
        uint64_t *h = o + (size_t)(4 + k) * pstride;
        LC_V old = LC_V_LOAD(h);

        LC_V_STORE(h, LC_V_XOR(old, x));
        x = LC_V_AND(old, x);
    }
}

/* Load one input row (at r_) into d and move r_ on to the next row. With pf,
 * column 0 prefetches each row LC_V_AHEAD words on: the p rows are p streams,
 * more than hardware prefetchers follow once the input is out of cache. */
#define LC_V_ROW(d, g)                                                                             \
    do {                                                                                           \
        d = LC_V_LOAD(r_);                                                                         \
        if ((g) == 0 && pf)                                                                        \
            LC_V_PREFETCH(r_ + LC_V_AHEAD);                                                        \
        r_ += stride;                                                                              \
    } while (0)

/* Eight inputs (rows from v on, column g of the group) into ones[g], twos[g],
 * fours[g]; the carry of weight 8 lands in e8. Named loads, not an array:
 * compilers keep them in registers. */
#define LC_V_CSA8(g, v, e8)                                                                        \
    do {                                                                                           \
        const uint64_t *r_ = (v) + (g)*LC_V_WORDS;                                                 \
        LC_V d0_, d1_, tA, tB, fA, fB;                                                             \
        LC_V_ROW(d0_, g);                                                                          \
        LC_V_ROW(d1_, g);                                                                          \
        LC_V_CSA(tA, ones[g], ones[g], d0_, d1_);                                                  \
        LC_V_ROW(d0_, g);                                                                          \
        LC_V_ROW(d1_, g);                                                                          \
        LC_V_CSA(tB, ones[g], ones[g], d0_, d1_);                                                  \
        LC_V_CSA(fA, twos[g], twos[g], tA, tB);                                                    \
        LC_V_ROW(d0_, g);                                                                          \
        LC_V_ROW(d1_, g);                                                                          \
        LC_V_CSA(tA, ones[g], ones[g], d0_, d1_);                                                  \
        LC_V_ROW(d0_, g);                                                                          \
        LC_V_ROW(d1_, g);                                                                          \
        LC_V_CSA(tB, ones[g], ones[g], d0_, d1_);                                                  \
        LC_V_CSA(fB, twos[g], twos[g], tA, tB);                                                    \
        LC_V_CSA(e8, fours[g], fours[g], fA, fB);                                                  \
    } while (0)

/* Rows a multiple of 4 KiB apart all fall in one L1 set. */
static inline int lc_kern_rows_one_set(size_t stride)
{
    return (stride * sizeof(uint64_t)) % 4096 == 0;
}

/*
 * Add p rows (from v on, stride words apart) to ng adjacent vector columns of
 * the counters ones..eights: trees of 16 rows, then one of 8, then single
 * rows. Each carry of weight 16 goes to sixteens[g] (p < 32: there is at most
 * one per bit) or, with sixteens NULL, ripples into planes 4.. at o.
 */
static inline __attribute__((always_inline)) void
lc_kern_add_rows(const uint64_t *v, size_t stride, size_t p, const int ng, const int pf, LC_V *ones,
                 LC_V *twos, LC_V *fours, LC_V *eights, LC_V *sixteens, uint64_t *o, size_t pstride,
                 int nhi)
{
    size_t j = 0;

#define LC_V_CARRY16(g, x)                                                                         \
    do {                                                                                           \
        if (sixteens)                                                                              \
            sixteens[g] = LC_V_XOR(sixteens[g], x);                                                \
        else                                                                                       \
            lc_kern_ripple(o + (g)*LC_V_WORDS, pstride, nhi, x);                                   \
    } while (0)
    for (; j + 16 <= p; j += 16, v += 16 * stride) {
        LC_V eA[LC_V_GROUP], eB[LC_V_GROUP], x;

        /* all columns of 8 rows before the next 8 rows: at most 8 input lines
         * are live, so rows 4 KiB apart (one L1 set) do not evict each other */
        for (int g = 0; g < ng; g++)
            LC_V_CSA8(g, v, eA[g]);
        for (int g = 0; g < ng; g++)
            LC_V_CSA8(g, v + 8 * stride, eB[g]);
        for (int g = 0; g < ng; g++) {
            LC_V_CSA(x, eights[g], eights[g], eA[g], eB[g]);
            LC_V_CARRY16(g, x);
        }
    }
    if (j + 8 <= p) {
        for (int g = 0; g < ng; g++) {
            LC_V eA;

            LC_V_CSA8(g, v, eA);
            LC_V_HALF(eights[g], eA);
            LC_V_CARRY16(g, eA);
        }
        j += 8;
        v += 8 * stride;
    }
    for (; j < p; j++, v += stride)
        for (int g = 0; g < ng; g++) {
            LC_V x = LC_V_LOAD(v + g * LC_V_WORDS);

            LC_V_ADD1(g, x);
            LC_V_CARRY16(g, x);
        }
#undef LC_V_CARRY16
}

/*
 * Count p vectors over ngroups groups of ng adjacent vector columns into w
 * planes. The columns of a group go through the same rows one after the
 * other, so with ng > 1 each row's cache line is used whole while it is in L1.
 */
static inline __attribute__((always_inline)) void
lc_kern_count_cols_impl(const uint64_t *vecs, size_t stride, size_t p, size_t ngroups,
                        uint64_t *planes, size_t pstride, int w, const int pf, const int ng)
{
    const size_t gw = (size_t)ng * LC_V_WORDS;
    int nhi = w > 4 ? w - 4 : 0;

    for (size_t c = 0; c < ngroups; c++) {
        uint64_t *o = planes + c * gw;
        LC_V ones[LC_V_GROUP], twos[LC_V_GROUP], fours[LC_V_GROUP], eights[LC_V_GROUP];

        for (int g = 0; g < ng; g++) {
            ones[g] = twos[g] = fours[g] = eights[g] = LC_V_ZERO;
            for (int k = 0; k < nhi; k++)
                LC_V_STORE(o + (size_t)(4 + k) * pstride + g * LC_V_WORDS, LC_V_ZERO);
        }
        lc_kern_add_rows(vecs + c * gw, stride, p, ng, pf, ones, twos, fours, eights, NULL, o,
                         pstride, nhi);
        for (int g = 0; g < ng; g++) {
            uint64_t *og = o + g * LC_V_WORDS;

            LC_V_STORE(og, ones[g]);
            if (w > 1)
                LC_V_STORE(og + pstride, twos[g]);
            if (w > 2)
                LC_V_STORE(og + 2 * pstride, fours[g]);
            if (w > 3)
                LC_V_STORE(og + 3 * pstride, eights[g]);
        }
    }
}

#define LC_KERN_COUNT_COLS_FN(name, pf, ng)                                                        \
    static void name(const uint64_t *vecs, size_t stride, size_t p, size_t ngroups,                \
                     uint64_t *planes, size_t pstride, int w)                                      \
    {                                                                                              \
        lc_kern_count_cols_impl(vecs, stride, p, ngroups, planes, pstride, w, pf, ng);             \
    }
LC_KERN_COUNT_COLS_FN(lc_kern_count_cols_pf, 1, 1)
LC_KERN_COUNT_COLS_FN(lc_kern_count_cols_nopf, 0, 1)
#if LC_V_GROUP > 1
LC_KERN_COUNT_COLS_FN(lc_kern_count_cols_pf_grp, 1, LC_V_GROUP)
LC_KERN_COUNT_COLS_FN(lc_kern_count_cols_nopf_grp, 0, LC_V_GROUP)
#endif

/*
 * Count nvec vector columns. Prefetching pays only when the input does not
 * fit in L2 (it costs in cache). Rows a multiple of 4 KiB apart all fall in
 * one L1 set, so a row's line is evicted before its next column is read:
 * there LC_V_GROUP columns are taken together. Otherwise one column at a time
 * keeps more in registers, which is faster (lc_vote pads its rows).
 */
static void lc_kern_count_cols(const uint64_t *vecs, size_t stride, size_t p, size_t nvec,
                               uint64_t *planes, size_t pstride, int w)
{
    const int pf = p * stride > (1u << 20) / 8;
    size_t done = 0;

#if LC_V_GROUP > 1
    if (lc_kern_rows_one_set(stride)) {
        size_t ngroups = nvec / LC_V_GROUP;

        if (pf)
            lc_kern_count_cols_pf_grp(vecs, stride, p, ngroups, planes, pstride, w);
        else
            lc_kern_count_cols_nopf_grp(vecs, stride, p, ngroups, planes, pstride, w);
        done = ngroups * LC_V_GROUP * LC_V_WORDS;
        nvec -= ngroups * LC_V_GROUP;
    }
#endif
    if (pf)
        lc_kern_count_cols_pf(vecs + done, stride, p, nvec, planes + done, pstride, w);
    else
        lc_kern_count_cols_nopf(vecs + done, stride, p, nvec, planes + done, pstride, w);
}

/*
 * Majority of p voters over nvec vector columns of w planes: a bit-sliced
 * comparison of each count with t = floor(p/2), from the top plane down.
 * count > t is a majority of set bits (2*count > p); count == t is a tie
 * only when p is even.
 */
static void lc_kern_majority_cols(const uint64_t *planes, size_t pstride, size_t p, size_t nvec,
                                  uint64_t tiepat, uint64_t *bits, int w)
{
    size_t t = p / 2;
    LC_V tie = (p & 1) ? LC_V_ZERO : LC_V_SET1(tiepat);

    for (size_t c = 0; c < nvec; c++) {
        LC_V gt = LC_V_ZERO, eq = LC_V_ONES;

        for (int k = w - 1; k >= 0; k--) {
            LC_V x = LC_V_LOAD(planes + (size_t)k * pstride + c * LC_V_WORDS);

            if ((t >> k) & 1) {
                eq = LC_V_AND(eq, x);
            } else {
                gt = LC_V_OR(gt, LC_V_AND(eq, x));
                eq = LC_V_ANDNOT(x, eq);
            }
        }
        LC_V_STORE(bits + c * LC_V_WORDS, LC_V_OR(gt, LC_V_AND(eq, tie)));
    }
}

/* Majority of counts held in registers (planes k = 0..w-1, w <= 5), as in
 * lc_kern_majority_cols. */
static inline LC_V lc_kern_majority_regs(const LC_V pl[5], int w, size_t t, LC_V tie)
{
    LC_V gt = LC_V_ZERO, eq = LC_V_ONES;

    for (int k = w - 1; k >= 0; k--) {
        if ((t >> k) & 1) {
            eq = LC_V_AND(eq, pl[k]);
        } else {
            gt = LC_V_OR(gt, LC_V_AND(eq, pl[k]));
            eq = LC_V_ANDNOT(pl[k], eq);
        }
    }
    return LC_V_OR(gt, LC_V_AND(eq, tie));
}

/*
 * Count and majority in one pass for p < 32 voters: the counter's five
 * planes (weights 1..16) stay in registers and only the result bits are
 * written. Same trees and the same comparison as the two functions above,
 * so the same bits. Inlined for each p (below), so the tree, the planes in
 * use and the comparison with floor(p/2) are constants; ng columns at a time,
 * as in lc_kern_count_cols_impl.
 */
static inline __attribute__((always_inline)) void
lc_kern_count_majority_p(const uint64_t *vecs, size_t stride, const size_t p, size_t ngroups,
                         uint64_t tiepat, uint64_t *bits, const int ng)
{
    const size_t gw = (size_t)ng * LC_V_WORDS;
    const int w = lc_kern_nplanes(p), pf = 0;
    const LC_V tie = (p & 1) ? LC_V_ZERO : LC_V_SET1(tiepat);

    for (size_t c = 0; c < ngroups; c++) {
        LC_V ones[LC_V_GROUP], twos[LC_V_GROUP], fours[LC_V_GROUP], eights[LC_V_GROUP];
        LC_V sixteens[LC_V_GROUP];

        for (int g = 0; g < ng; g++)
            ones[g] = twos[g] = fours[g] = eights[g] = sixteens[g] = LC_V_ZERO;
        lc_kern_add_rows(vecs + c * gw, stride, p, ng, pf, ones, twos, fours, eights, sixteens,
                         NULL, 0, 0);
        for (int g = 0; g < ng; g++) {
            const LC_V pl[5] = {ones[g], twos[g], fours[g], eights[g], sixteens[g]};

            LC_V_STORE(bits + c * gw + g * LC_V_WORDS, lc_kern_majority_regs(pl, w, p / 2, tie));
        }
    }
}

/* nvec vector columns of p voters: LC_V_GROUP columns at a time where 16 or
 * more rows are a multiple of 4 KiB apart (more lines of one L1 set than it
 * has ways, see lc_kern_count_cols), one at a time otherwise. */
static inline __attribute__((always_inline)) void
lc_kern_count_majority_n(const uint64_t *vecs, size_t stride, const size_t p, size_t nvec,
                         uint64_t tiepat, uint64_t *bits)
{
    size_t done = 0;

#if LC_V_GROUP > 1
    if (p >= 16 && lc_kern_rows_one_set(stride)) {
        size_t ngroups = nvec / LC_V_GROUP;

        lc_kern_count_majority_p(vecs, stride, p, ngroups, tiepat, bits, LC_V_GROUP);
        done = ngroups * LC_V_GROUP * LC_V_WORDS;
        nvec -= ngroups * LC_V_GROUP;
    }
#endif
    lc_kern_count_majority_p(vecs + done, stride, p, nvec, tiepat, bits + done, 1);
}

/* clang-format off */
#define LC_KERN_CM_CASE(n) \
    case n: lc_kern_count_majority_n(vecs, stride, n, nvec, tiepat, bits); break;

/* lc_kern_count_majority_n for nvec vector columns of 1 <= p < 32 voters
 * (lc_vote_majority counts more voters in blocks, with lc_kern_count_cols). */
static void lc_kern_count_majority_cols(const uint64_t *vecs, size_t stride, size_t p, size_t nvec,
                                        uint64_t tiepat, uint64_t *bits)
{
    switch (p) {
    LC_KERN_CM_CASE(1)  LC_KERN_CM_CASE(2)  LC_KERN_CM_CASE(3)  LC_KERN_CM_CASE(4)
    LC_KERN_CM_CASE(5)  LC_KERN_CM_CASE(6)  LC_KERN_CM_CASE(7)  LC_KERN_CM_CASE(8)
    LC_KERN_CM_CASE(9)  LC_KERN_CM_CASE(10) LC_KERN_CM_CASE(11) LC_KERN_CM_CASE(12)
    LC_KERN_CM_CASE(13) LC_KERN_CM_CASE(14) LC_KERN_CM_CASE(15) LC_KERN_CM_CASE(16)
    LC_KERN_CM_CASE(17) LC_KERN_CM_CASE(18) LC_KERN_CM_CASE(19) LC_KERN_CM_CASE(20)
    LC_KERN_CM_CASE(21) LC_KERN_CM_CASE(22) LC_KERN_CM_CASE(23) LC_KERN_CM_CASE(24)
    LC_KERN_CM_CASE(25) LC_KERN_CM_CASE(26) LC_KERN_CM_CASE(27) LC_KERN_CM_CASE(28)
    LC_KERN_CM_CASE(29) LC_KERN_CM_CASE(30) LC_KERN_CM_CASE(31)
    default: /* the callers never pass p = 0 or p >= 32 */
        break;
    }
}
/* clang-format on */
