/*
 * count_tmpl.h - the vote counter and the majority decoder, written once over
 * an abstract bit vector and included by count_scalar.c (uint64_t),
 * count_avx2.c (__m256i) and count_avx512.c (__m512i).
 *
 * Counting is vertical: each bit position has its own counter, kept as bit
 * planes (bit-sliced). Inputs go through Harley-Seal carry-save adder trees:
 * 16 inputs become one carry of weight 16 (15 CSAs); the running counter's
 * low planes (weights 1, 2, 4, 8) are the trees' own accumulators and the
 * weight-16 carries ripple into the higher planes. No plane can overflow
 * because the counter has lc_kern_nplanes(p) planes.
 *
 * The includer defines:
 *   LC_V            the vector type
 *   LC_V_WORDS      64-bit words per vector
 *   LC_V_LOAD(p)    unaligned load from const uint64_t *p
 *   LC_V_STORE(p,v) unaligned store
 *   LC_V_AND, LC_V_OR, LC_V_XOR(a, b), LC_V_ANDNOT(a, b) = ~a & b
 *   LC_V_ZERO, LC_V_ONES, LC_V_SET1(u64)
 *   LC_V_CSA(h, l, a, b, c)  carry-save add: h = maj(a, b, c), l = a ^ b ^ c
 *                            (a is the running accumulator)
 * Both functions work on whole vectors of words; the includer masks tails.
 */
#ifndef LC_V_CSA
#define LC_V_CSA(h, l, a, b, c)                                                                  \
    do {                                                                                         \
        LC_V u_ = LC_V_XOR(b, c);                                                                \
        h = LC_V_OR(LC_V_AND(b, c), LC_V_AND(a, u_));                                            \
        l = LC_V_XOR(a, u_);                                                                     \
    } while (0)
#endif

/* Add carry x of weight 2^k's plane into the planes hi[0..nhi), rippling. */
#define LC_V_RIPPLE(hi, nhi, x)                                                                  \
    do {                                                                                         \
        LC_V cy_ = (x);                                                                          \
        for (int k_ = 0; k_ < (nhi); k_++) {                                                     \
            LC_V t_ = LC_V_AND(hi[k_], cy_);                                                     \
            hi[k_] = LC_V_XOR(hi[k_], cy_);                                                      \
            cy_ = t_;                                                                            \
        }                                                                                        \
    } while (0)

/* Half add of x into plane acc; x becomes the carry. */
#define LC_V_HALF(acc, x)                                                                        \
    do {                                                                                         \
        LC_V t_ = LC_V_AND(acc, x);                                                              \
        acc = LC_V_XOR(acc, x);                                                                  \
        x = t_;                                                                                  \
    } while (0)

/* Count p vectors over nvec vector columns into w planes. */
static void lc_kern_count_cols(const uint64_t *vecs, size_t stride, size_t p, size_t nvec,
                               uint64_t *planes, size_t pstride, int w)
{
    int nhi = w > 4 ? w - 4 : 0;

    for (size_t c = 0; c < nvec; c++) {
        const uint64_t *v = vecs + c * LC_V_WORDS;
        LC_V ones = LC_V_ZERO, twos = LC_V_ZERO, fours = LC_V_ZERO, eights = LC_V_ZERO;
        LC_V twosA, twosB, foursA, foursB, eightsA, eightsB, sixteens, x;
        LC_V hi[LC_KERN_MAX_PLANES - 4];
        size_t j = 0;

        for (int k = 0; k < nhi; k++)
            hi[k] = LC_V_ZERO;
        for (; j + 16 <= p; j += 16, v += 16 * stride) {
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v), LC_V_LOAD(v + stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 2 * stride), LC_V_LOAD(v + 3 * stride));
            LC_V_CSA(foursA, twos, twos, twosA, twosB);
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v + 4 * stride), LC_V_LOAD(v + 5 * stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 6 * stride), LC_V_LOAD(v + 7 * stride));
            LC_V_CSA(foursB, twos, twos, twosA, twosB);
            LC_V_CSA(eightsA, fours, fours, foursA, foursB);
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v + 8 * stride), LC_V_LOAD(v + 9 * stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 10 * stride), LC_V_LOAD(v + 11 * stride));
            LC_V_CSA(foursA, twos, twos, twosA, twosB);
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v + 12 * stride), LC_V_LOAD(v + 13 * stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 14 * stride), LC_V_LOAD(v + 15 * stride));
            LC_V_CSA(foursB, twos, twos, twosA, twosB);
            LC_V_CSA(eightsB, fours, fours, foursA, foursB);
            LC_V_CSA(sixteens, eights, eights, eightsA, eightsB);
            LC_V_RIPPLE(hi, nhi, sixteens);
        }
        if (j + 8 <= p) {
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v), LC_V_LOAD(v + stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 2 * stride), LC_V_LOAD(v + 3 * stride));
            LC_V_CSA(foursA, twos, twos, twosA, twosB);
            LC_V_CSA(twosA, ones, ones, LC_V_LOAD(v + 4 * stride), LC_V_LOAD(v + 5 * stride));
            LC_V_CSA(twosB, ones, ones, LC_V_LOAD(v + 6 * stride), LC_V_LOAD(v + 7 * stride));
            LC_V_CSA(foursB, twos, twos, twosA, twosB);
            LC_V_CSA(eightsA, fours, fours, foursA, foursB);
            LC_V_HALF(eights, eightsA);
            LC_V_RIPPLE(hi, nhi, eightsA);
            j += 8;
            v += 8 * stride;
        }
        for (; j < p; j++, v += stride) {
            x = LC_V_LOAD(v);
            LC_V_HALF(ones, x);
            LC_V_HALF(twos, x);
            LC_V_HALF(fours, x);
            LC_V_HALF(eights, x);
            LC_V_RIPPLE(hi, nhi, x);
        }
        uint64_t *o = planes + c * LC_V_WORDS;
        LC_V_STORE(o, ones);
        if (w > 1)
            LC_V_STORE(o + pstride, twos);
        if (w > 2)
            LC_V_STORE(o + 2 * pstride, fours);
        if (w > 3)
            LC_V_STORE(o + 3 * pstride, eights);
        for (int k = 0; k < nhi; k++)
            LC_V_STORE(o + (size_t)(4 + k) * pstride, hi[k]);
    }
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
