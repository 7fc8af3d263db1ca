/*
 * test_vote.c - lc_vote over real connections (threads as ranks, loopback):
 * majority, average and L1 modes, every input and output type, p = 1..16,
 * sizes from 0 to tens of millions, against references computed from all
 * ranks' inputs; and every rank gets the same bits. L1 runs with level_bits
 * and with the levels given directly (the authors' s = floor(127 / p)), and
 * its ties are 0 in value outputs. The same cases run in two levels (LC_HIER)
 * on emulated hosts of uneven sizes, against the same references.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "reference.h"

struct vote_case {
    lc_vote_mode_t mode;
    lc_dtype_t in_type, out_type;
    unsigned level_bits, levels;
    size_t n;
    uint64_t salt, seed;
    void **in;       /* per rank */
    void **out;      /* per rank */
    int *rc;         /* per rank */
};

static size_t bytes_of(lc_dtype_t dt, size_t n)
{
    return dt == LC_BITS ? LC_BITS_WORDS(n) * 8 : n * lc_dtype_size(dt);
}

struct vote_batch {
    struct vote_case *cases;
    int ncases;
    uint64_t *two_level; /* per rank: votes that ran in two levels */
};

static void vote_rank(lc_comm_t *comm, int rank, int p, void *arg)
{
    struct vote_batch *b = arg;

    for (int k = 0; k < b->ncases; k++) {
        struct vote_case *vc = &b->cases[k];
        lc_vote_opts_t o = {.size = sizeof(o), .mode = vc->mode, .level_bits = vc->level_bits,
                            .tie_salt = vc->salt, .levels = vc->levels};
        vc->rc[rank] = lc_vote(comm, vc->in[rank], vc->in_type, vc->out[rank], vc->out_type,
                               vc->n, &o);
        if (vc->rc[rank])
            fprintf(stderr, "rank %d/%d: lc_vote n=%zu: %s (%s)\n", rank, p, vc->n,
                    lc_strerror(vc->rc[rank]), lc_last_error());
    }
    if (b->two_level) {
        lc_comm_stats_t st = {.size = sizeof(st)};

        b->two_level[rank] = lc_comm_get_stats(comm, &st) ? UINT64_MAX : st.votes_two_level;
    }
}

static void case_alloc(struct vote_case *vc, int p)
{
    vc->in = calloc((size_t)p, sizeof(void *));
    vc->out = calloc((size_t)p, sizeof(void *));
    vc->rc = calloc((size_t)p, sizeof(int));
    for (int r = 0; r < p; r++) {
        vc->in[r] = malloc(bytes_of(vc->in_type, vc->n) + 8);
        vc->out[r] = malloc(bytes_of(vc->out_type, vc->n) + 8);
        memset(vc->out[r], 0xa5, bytes_of(vc->out_type, vc->n) + 8);
        ref_fill(vc->in[r], vc->in_type, vc->n, vc->seed * 1000 + (uint64_t)r,
                 vc->mode != LC_VOTE_L1);
    }
}

static void case_free(struct vote_case *vc, int p)
{
    for (int r = 0; r < p; r++) {
        free(vc->in[r]);
        free(vc->out[r]);
    }
    free(vc->in);
    free(vc->out);
    free(vc->rc);
}

/* Expected output of rank 0's type from the reference. */
static void case_check(struct vote_case *vc, int p)
{
    size_t n = vc->n, wb = LC_BITS_WORDS(n);
    uint64_t *bits = calloc(wb + 1, 8), *ties = calloc(wb + 1, 8);
    float *avg = malloc((n + 1) * sizeof(float));

    for (int r = 0; r < p; r++)
        assert_int_equal(vc->rc[r], 0);
    if (vc->mode == LC_VOTE_MAJORITY) {
        ref_majority((const void *const *)vc->in, vc->in_type, p, n, vc->salt, bits);
    } else if (vc->mode == LC_VOTE_AVERAGE) {
        ref_average((const void *const *)vc->in, vc->in_type, p, n, avg);
    } else {
        int8_t **q = calloc((size_t)p, sizeof(*q));
        for (int r = 0; r < p; r++) {
            q[r] = malloc(n + 1);
            if (vc->in_type == LC_INT8)
                memcpy(q[r], vc->in[r], n);
            else
                ref_quantize(vc->in[r], vc->in_type, n,
                             vc->levels ? vc->levels
                                        : (1u << ((vc->level_bits ? vc->level_bits : 4) - 1)) - 1,
                             q[r]);
        }
        ref_l1((const int8_t *const *)q, p, n, vc->salt, bits, ties);
        for (int r = 0; r < p; r++)
            free(q[r]);
        free(q);
    }
    for (int r = 0; r < p; r++) {
        for (size_t i = 0; i < n; i++) {
            if (vc->mode == LC_VOTE_AVERAGE) {
                float got = vc->out_type == LC_FP32 ? ((float *)vc->out[r])[i]
                                                     : ref_bf16_to_f32(((uint16_t *)vc->out[r])[i]);
                float want = vc->out_type == LC_FP32 ? avg[i]
                                                      : ref_bf16_to_f32(ref_f32_to_bf16(avg[i]));
                if (memcmp(&got, &want, 4)) {
                    fail_msg("p=%d n=%zu rank %d elem %zu: average %g, want %g", p, n, r, i,
                             (double)got, (double)want);
                }
            } else if (vc->mode == LC_VOTE_L1 && vc->out_type != LC_BITS && ref_bit(ties, i)) {
                size_t esz = lc_dtype_size(vc->out_type);
                static const char zero[4];

                if (memcmp((char *)vc->out[r] + i * esz, zero, esz))
                    fail_msg("L1 p=%d n=%zu rank %d elem %zu: a tie is not +0", p, n, r, i);
            } else {
                int want = ref_bit(bits, i), got;
                if (vc->out_type == LC_BITS)
                    got = ref_bit(vc->out[r], i);
                else
                    got = ref_sign(vc->out[r], vc->out_type, i);
                if (got != want)
                    fail_msg("mode %d p=%d n=%zu rank %d elem %zu: got %d want %d", vc->mode, p,
                             n, r, i, got, want);
                if (vc->out_type == LC_FP32) {
                    float f = ((float *)vc->out[r])[i];
                    if (f != 1.0f && f != -1.0f)
                        fail_msg("p=%d elem %zu: %g is not +-1", p, i, (double)f);
                }
            }
        }
        if (vc->out_type == LC_BITS && n % 64)
            if (((uint64_t *)vc->out[r])[n / 64] >> (n % 64))
                fail_msg("p=%d n=%zu rank %d: tail bits are not 0", p, n, r);
    }
    free(bits);
    free(ties);
    free(avg);
}

/* Run the cases on ranks placed on hosts (NULL: one host); *two_level (when
 * not NULL) gets the votes every rank ran in two levels (all must agree). */
static void run_batch_on_hosts(int p, const int *host, struct vote_case *cases, int ncases,
                               uint64_t *two_level)
{
    struct vote_batch b = {.cases = cases, .ncases = ncases};

    if (two_level)
        b.two_level = calloc((size_t)p, sizeof(*b.two_level));
    for (int k = 0; k < ncases; k++)
        case_alloc(&cases[k], p);
    assert_int_equal(lc_test_ranks_on_hosts(p, host, vote_rank, &b), 0);
    if (two_level) {
        for (int r = 1; r < p; r++)
            assert_int_equal(b.two_level[r], b.two_level[0]);
        *two_level = b.two_level[0];
        free(b.two_level);
    }
    for (int k = 0; k < ncases; k++) {
        case_check(&cases[k], p);
        case_free(&cases[k], p);
    }
}

static void run_batch(int p, struct vote_case *cases, int ncases)
{
    run_batch_on_hosts(p, NULL, cases, ncases, NULL);
}

static const size_t sweep_sizes[] = {0, 1, 63, 64, 65, 1000, 4097, 100003};
#define NSIZES (sizeof(sweep_sizes) / sizeof(sweep_sizes[0]))

/* Every p from 1 to 16, every size, the types cycling through the cases. */
static void test_vote_sweep(void **state)
{
    static const lc_dtype_t ins[] = {LC_FP32, LC_BF16, LC_FP16, LC_BITS};
    static const lc_dtype_t outs[] = {LC_BITS, LC_FP32, LC_BF16, LC_FP16};

    for (int p = 1; p <= 16; p++) {
        struct vote_case cases[3 * NSIZES];
        int k = 0;

        memset(cases, 0, sizeof(cases));
        for (size_t s = 0; s < NSIZES; s++, k++) {
            cases[k].mode = LC_VOTE_MAJORITY;
            cases[k].in_type = ins[(s + (size_t)p) % 4];
            cases[k].out_type = outs[(s + 2 * (size_t)p) % 4];
            cases[k].n = sweep_sizes[s];
            cases[k].salt = s + (size_t)p;
            cases[k].seed = 1000u * (unsigned)p + s;
        }
        for (size_t s = 0; s < NSIZES; s++, k++) {
            cases[k].mode = LC_VOTE_AVERAGE;
            cases[k].in_type = ins[(s + (size_t)p) % 4];
            cases[k].out_type = (s + (size_t)p) % 2 ? LC_FP32 : LC_BF16;
            cases[k].n = sweep_sizes[s];
            cases[k].seed = 2000u * (unsigned)p + s;
        }
        for (size_t s = 0; s < NSIZES; s++, k++) {
            static const lc_dtype_t l1in[] = {LC_FP32, LC_BF16, LC_INT8};
            cases[k].mode = LC_VOTE_L1;
            cases[k].in_type = l1in[(s + (size_t)p) % 3];
            cases[k].out_type = (s % 2) ? LC_BITS : (s % 4) ? LC_FP32 : LC_BF16;
            cases[k].level_bits = cases[k].in_type == LC_INT8 ? 4 : (unsigned)(2 + (s + (size_t)p) % 7);
            if (s % 3 == 1)
                cases[k].levels = 127u / (unsigned)p; /* the authors' s; int8 input is +-7 */
            cases[k].n = sweep_sizes[s];
            cases[k].salt = 7 * s;
            cases[k].seed = 3000u * (unsigned)p + s;
        }
        run_batch(p, cases, k);
    }
}

/* Large vectors: many pipelined segments, odd sizes. */
static void test_vote_large(void **state)
{
    struct vote_case c1[1] = {{.mode = LC_VOTE_MAJORITY, .in_type = LC_FP32,
                               .out_type = LC_BITS, .n = 20000005, .salt = 3, .seed = 11}};
    struct vote_case c2[1] = {{.mode = LC_VOTE_AVERAGE, .in_type = LC_BF16,
                               .out_type = LC_FP32, .n = 6000001, .seed = 12}};
    struct vote_case c3[1] = {{.mode = LC_VOTE_L1, .in_type = LC_FP32, .out_type = LC_BITS,
                               .n = 4000003, .level_bits = 4, .salt = 1, .seed = 13}};

    run_batch(4, c1, 1);
    run_batch(3, c2, 1);
    run_batch(8, c3, 1);
}

/*
 * Two levels (LC_HIER=1) on emulated hosts: uneven and interleaved layouts up
 * to p = 16, every mode, sizes from one element to several segments; the
 * results against the references, and every vote that the layout allows ran
 * in two levels (L1 when the host's summed levels fit a level field). Then
 * one host with LC_SHM_SPLIT 0 and 1, each with LC_SHM_STREAM 0 and 1.
 */
static void test_vote_hier(void **state)
{
    static const int l124[] = {0, 1, 1, 2, 2, 2, 2}, l2x4[] = {0, 0, 0, 0, 1, 1, 1, 1};
    static const int l4x2[] = {0, 0, 1, 1, 2, 2, 3, 3}, lrr[] = {0, 1, 0, 1, 0, 1};
    static const int l31[] = {0, 0, 0, 1}, l2x8[] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     1, 1, 1, 1, 1, 1, 1, 1};
    static const struct {
        const int *host;
        int p, hosts_max; /* most ranks on one host */
    } layouts[] = {{l124, 7, 4}, {l2x4, 8, 4}, {l4x2, 8, 2}, {lrr, 6, 3}, {l31, 4, 3},
                   {l2x8, 16, 8}};
    static const size_t sizes[] = {1, 65, 4097, 100003, 1000037};
    static const lc_dtype_t ins[] = {LC_FP32, LC_BF16, LC_FP16, LC_BITS};
    static const lc_dtype_t outs[] = {LC_BITS, LC_FP32, LC_BF16, LC_FP16};
    const size_t ns = sizeof(sizes) / sizeof(sizes[0]);

    setenv("LC_HIER", "1", 1);
    setenv("LC_SEGMENT", "64K", 1); /* several segments in flight from 100003 on */
    for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
        int p = layouts[l].p;
        struct vote_case cases[3 * 5];
        uint64_t want = 0, got = 0;
        int k = 0;

        memset(cases, 0, sizeof(cases));
        for (size_t s = 0; s < ns; s++) {
            size_t i = s + l;

            cases[k++] = (struct vote_case){.mode = LC_VOTE_MAJORITY, .in_type = ins[i % 4],
                                            .out_type = outs[(i + 1) % 4], .n = sizes[s],
                                            .salt = i, .seed = 5000 + 10 * l + s};
            cases[k++] = (struct vote_case){.mode = LC_VOTE_AVERAGE, .in_type = ins[i % 4],
                                            .out_type = i % 2 ? LC_FP32 : LC_BF16,
                                            .n = sizes[s], .seed = 6000 + 10 * l + s};
            cases[k++] = (struct vote_case){.mode = LC_VOTE_L1,
                                            .in_type = i % 3 == 2 ? LC_INT8 : LC_FP32,
                                            .out_type = i % 2 ? LC_BITS : LC_FP32,
                                            .level_bits = i % 3 == 2 ? 4 : 3 + (unsigned)(i % 3),
                                            .levels = s == 2 ? 127u / (unsigned)p : 0,
                                            .n = sizes[s], .salt = 3 * i,
                                            .seed = 7000 + 10 * l + s};
        }
        for (int j = 0; j < k; j++) {
            unsigned lv = cases[j].levels ? cases[j].levels
                                          : (1u << ((cases[j].level_bits ? cases[j].level_bits
                                                                         : 4) - 1)) - 1;
            want += cases[j].mode != LC_VOTE_L1 || layouts[l].hosts_max * lv <= 127;
        }
        run_batch_on_hosts(p, layouts[l].host, cases, k, &got);
        assert_int_equal(got, want);
    }
    /* LC_HIER=0: the same layout votes flat */
    {
        struct vote_case c[1] = {{.mode = LC_VOTE_MAJORITY, .in_type = LC_FP32,
                                  .out_type = LC_BITS, .n = 100003, .salt = 1, .seed = 9}};
        uint64_t got = 1;

        setenv("LC_HIER", "0", 1);
        run_batch_on_hosts(8, l2x4, c, 1, &got);
        assert_int_equal(got, 0);
    }
    unsetenv("LC_HIER");
    /* One host through shared memory: every rank counting all of the vote, and each its
     * share; writing into the regions with plain stores, and with streaming ones (the
     * layouts above ran with LC_SHM_STREAM=auto, which takes both) */
    for (int run = 0; run < 4; run++) {
        int split = run & 1;
        static const int l1x4[] = {0, 0, 0, 0};
        struct vote_case c[3] = {
            {.mode = LC_VOTE_MAJORITY, .in_type = LC_BITS, .out_type = LC_BITS, .n = 100003,
             .salt = 2, .seed = 11 + split},
            {.mode = LC_VOTE_AVERAGE, .in_type = LC_FP32, .out_type = LC_BF16, .n = 4097,
             .seed = 13 + split},
            {.mode = LC_VOTE_L1, .in_type = LC_FP32, .out_type = LC_FP32, .level_bits = 3,
             .n = 1000037, .salt = 5, .seed = 15 + split}};

        setenv("LC_SHM_SPLIT", split ? "1" : "0", 1);
        setenv("LC_SHM_STREAM", run >> 1 ? "1" : "0", 1);
        run_batch_on_hosts(4, l1x4, c, 3, NULL);
    }
    unsetenv("LC_SHM_SPLIT");
    unsetenv("LC_SHM_STREAM");
    unsetenv("LC_SEGMENT");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_hier),
        cmocka_unit_test(test_vote_sweep),
        cmocka_unit_test(test_vote_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
