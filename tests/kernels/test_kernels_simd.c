/*
 * test_kernels_simd.c - every SIMD level against the scalar level, bit for
 * bit, through the public entry points (lc_simd_set picks the level): fresh
 * seeded random inputs rich in special values, all tails (n = 0, 1, 63, 64,
 * 65, 1000, 2^20+17), voter counts 1..4096, buffers at odd byte offsets,
 * guard bytes after every output. A level the CPU lacks is skipped. The Lion
 * momentum kernel has no public entry: it goes through lc_kern_momentum(),
 * which also dispatches on the level lc_simd_set picked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kernels/kern.h"
#include "kref.h"
#include "lioncub/lioncub.h"

static const size_t ns[] = {0, 1, 63, 64, 65, 1000, (1u << 20) + 17};
static const size_t ps[] = {1, 2, 3, 7, 8, 15, 16, 31, 64, 127, 128, 1000, 4096};
#define NN (sizeof(ns) / sizeof(ns[0]))
#define NP (sizeof(ps) / sizeof(ps[0]))

static lc_simd_t lv_avx2 = LC_SIMD_AVX2, lv_avx512 = LC_SIMD_AVX512;

static lc_simd_t level_or_skip(void **state)
{
    lc_simd_t l = *(lc_simd_t *)*state;

    if (lc_simd_supported(l) != 1) {
        print_message("%s: not supported by this CPU, skipped\n", lc_simd_name(l));
        skip();
    }
    return l;
}

static unsigned rand_off(void)
{
    return (unsigned)(kt_rand() % 8);
}

static void use(lc_simd_t l)
{
    assert_int_equal(lc_simd_set(l), 0);
    assert_int_equal(lc_simd_active(), (int)l);
}

/* Two outputs of the same bytes must match and keep their guards. */
static void same(const kt_buf_t *a, const kt_buf_t *b, const char *what, size_t n, size_t p)
{
    if (memcmp(a->p, b->p, a->bytes)) {
        print_error("%s differs from scalar at n=%zu p=%zu\n", what, n, p);
        fail();
    }
    assert_true(kt_guard_ok(a) && kt_guard_ok(b));
}

static void test_pack(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        kt_buf_t x32, x16, b0, b1, o0, o1;

        kt_alloc_in(&x32, n * 4, rand_off());
        kt_alloc_in(&x16, n * 2, rand_off());
        kt_alloc(&b0, nw * 8, rand_off());
        kt_alloc(&b1, nw * 8, rand_off());
        kt_alloc(&o0, n * 4, rand_off());
        kt_alloc(&o1, n * 4, rand_off());
        for (size_t i = 0; i < n; i++) {
            uint32_t u = kt_rand_f32bits();
            uint16_t h = kt_rand_h16bits();

            memcpy((char *)x32.p + 4 * i, &u, 4);
            memcpy((char *)x16.p + 2 * i, &h, 2);
        }
        for (lc_dtype_t dt = LC_FP32; dt <= LC_FP16; dt++) {
            const void *x = dt == LC_FP32 ? x32.p : x16.p;

            kt_fill_random(b0.p, nw * 8);
            kt_fill_random(b1.p, nw * 8);
            use(LC_SIMD_SCALAR);
            assert_int_equal(lc_pack_signs(x, dt, n, b0.p), 0);
            use(l);
            assert_int_equal(lc_pack_signs(x, dt, n, b1.p), 0);
            same(&b0, &b1, "pack", n, 0);

            o0.bytes = o1.bytes = n * lc_dtype_size(dt);
            memset((char *)o0.p + o0.bytes, 0xA5, 64);
            memset((char *)o1.p + o1.bytes, 0xA5, 64);
            use(LC_SIMD_SCALAR);
            assert_int_equal(lc_unpack_signs(b0.p, n, o0.p, dt), 0);
            use(l);
            assert_int_equal(lc_unpack_signs(b0.p, n, o1.p, dt), 0);
            same(&o0, &o1, "unpack", n, 0);
        }
        kt_free(&x32), kt_free(&x16), kt_free(&b0), kt_free(&b1), kt_free(&o0), kt_free(&o1);
    }
}

static void check_count(lc_simd_t l, size_t n, size_t p, size_t extra)
{
    size_t nw = LC_BITS_WORDS(n), stride = nw + extra;
    int w = lc_count_planes(p);
    uint64_t first = 64 * (kt_rand() % 1000), salt = kt_rand();
    kt_buf_t v, pl[2], maj[2], fused[2], a32[2], a16[2];

    kt_alloc_in(&v, p * stride * 8, rand_off());
    ref_gen_votes(v.p, p, stride, nw);
    for (int r = 0; r < 2; r++) {
        kt_alloc(&pl[r], (size_t)w * nw * 8, rand_off());
        kt_alloc(&maj[r], nw * 8, rand_off());
        kt_alloc(&a32[r], n * 4, rand_off());
        kt_alloc(&a16[r], n * 2, rand_off());
        kt_alloc(&fused[r], nw * 8, rand_off());
        kt_fill_random(pl[r].p, pl[r].bytes);
        kt_fill_random(maj[r].p, maj[r].bytes);
        use(r ? l : LC_SIMD_SCALAR);
        assert_int_equal(lc_count_votes(v.p, stride, p, n, pl[r].p), 0);
        assert_int_equal(lc_decode_majority(pl[r].p, p, n, first, salt, maj[r].p), 0);
        assert_int_equal(lc_vote_majority(v.p, stride, p, n, first, salt, fused[r].p), 0);
        assert_int_equal(lc_decode_average(pl[r].p, p, n, a32[r].p, LC_FP32), 0);
        assert_int_equal(lc_decode_average(pl[r].p, p, n, a16[r].p, LC_BF16), 0);
    }
    same(&pl[0], &pl[1], "count planes", n, p);
    same(&maj[0], &maj[1], "majority", n, p);
    same(&fused[0], &fused[1], "count+majority fused", n, p);
    same(&fused[1], &maj[1], "fused against count, decode", n, p);
    same(&a32[0], &a32[1], "average fp32", n, p);
    same(&a16[0], &a16[1], "average bf16", n, p);
    kt_free(&v);
    for (int r = 0; r < 2; r++)
        kt_free(&pl[r]), kt_free(&maj[r]), kt_free(&a32[r]), kt_free(&a16[r]), kt_free(&fused[r]);
}

static void test_count(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t pi = 0; pi < NP; pi++)
        for (size_t ni = 0; ni + 1 < NN; ni++)
            check_count(l, ns[ni], ps[pi], kt_rand() % 3);
    /* 2^20+17 elements with p up to 31, and one n crossing many vectors with p = 4096 */
    for (size_t pi = 0; pi < 8; pi++)
        check_count(l, ns[NN - 1], ps[pi], kt_rand() % 3);
    check_count(l, 4096 + 17, 4096, 1);
    /* every p < 32 (count+majority is built for each), rows packed or padded,
     * and rows a multiple of 4 KiB apart, where the counters take several
     * columns at once */
    for (size_t p = 1; p < 32; p++) {
        size_t n = 70001, nw = LC_BITS_WORDS(n);

        check_count(l, 1000 + kt_rand() % 1000, p, kt_rand() % 3);
        check_count(l, n, p, (512 - nw % 512) % 512);
    }
    for (size_t pi = 0; pi < NP; pi++) {
        size_t n = 70001, nw = LC_BITS_WORDS(n);

        if (ps[pi] >= 32 && ps[pi] <= 128)
            check_count(l, n, ps[pi], (512 - nw % 512) % 512);
    }
}

static void test_apply(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        float lr = (float)(kt_rand() % 1000 + 1) * 1e-5f, wd = (float)(kt_rand() % 100) * 1e-3f;

        if (ni % 2 == 0)
            lr = 0x1p-9f, wd = 0.0f; /* +-1 - 2^-9 is a bf16 rounding tie */
        kt_buf_t bits, u, init32, init16, p32[2], p16[2];

        kt_alloc_in(&bits, nw * 8, rand_off());
        kt_alloc_in(&u, n * 4, rand_off());
        kt_alloc(&init32, n * 4, 0);
        kt_alloc(&init16, n * 2, 0);
        kt_fill_random(bits.p, nw * 8);
        kt_fill_values(init32.p, u.p, init16.p, n);
        for (int mode = 0; mode < 2; mode++) {
            for (int r = 0; r < 2; r++) {
                kt_alloc(&p32[r], n * 4, rand_off());
                kt_alloc(&p16[r], n * 2, rand_off());
                memcpy(p32[r].p, init32.p, n * 4);
                memcpy(p16[r].p, init16.p, n * 2);
                use(r ? l : LC_SIMD_SCALAR);
                if (mode == 0) {
                    assert_int_equal(lc_apply_signs(p32[r].p, LC_FP32, bits.p, n, lr, wd), 0);
                    assert_int_equal(lc_apply_signs(p16[r].p, LC_BF16, bits.p, n, lr, wd), 0);
                } else {
                    assert_int_equal(lc_apply_update(p32[r].p, LC_FP32, u.p, n, lr, wd), 0);
                    assert_int_equal(lc_apply_update(p16[r].p, LC_BF16, u.p, n, lr, wd), 0);
                }
            }
            same(&p32[0], &p32[1], mode ? "apply_update fp32" : "apply_signs fp32", n, 0);
            same(&p16[0], &p16[1], mode ? "apply_update bf16" : "apply_signs bf16", n, 0);
            for (int r = 0; r < 2; r++)
                kt_free(&p32[r]), kt_free(&p16[r]);
        }
        kt_free(&bits), kt_free(&u), kt_free(&init32), kt_free(&init16);
    }
}

static void test_levels(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t ni = 0; ni < NN; ni++)
        for (unsigned b = 1; b <= 8; b++) {
            size_t n = ns[ni], nw = LC_BITS_WORDS(n * b);
            int s = b == 1 ? 1 : (1 << (b - 1)) - 1;
            uint64_t first = 64 * (kt_rand() % 100), salt = kt_rand();
            kt_buf_t q, init, pk[2], sums[2], bits[2], cq[2];
            kt_buf_t c, tight;

            kt_alloc_in(&q, n, rand_off());
            kt_alloc(&init, n * 4, 0);
            kt_alloc_in(&c, n * 4, rand_off());
            for (size_t i = 0; i < n; i++) {
                int8_t v = b == 1 ? -(int8_t)(kt_rand() & 1)
                                  : (int8_t)((int)(kt_rand() % (2 * s + 1)) - s);
                int32_t z = (int32_t)(kt_rand() % 2001) - 1000;
                uint32_t f = kt_rand() % 4 ? kt_rand_f32bits() & 0xbfffffffu : 0; /* finite */

                if (kt_rand() % 4 == 0)
                    z = (int32_t)(kt_rand() % 3) - 1 - v; /* sums near zero: ties */
                ((int8_t *)q.p)[i] = v;
                memcpy((char *)init.p + 4 * i, &z, 4);
                memcpy((char *)c.p + 4 * i, &f, 4);
            }
            for (int r = 0; r < 2; r++) {
                kt_alloc(&pk[r], nw * 8, rand_off());
                kt_alloc(&sums[r], n * 4, rand_off());
                kt_alloc(&bits[r], LC_BITS_WORDS(n) * 8, rand_off());
                kt_alloc(&cq[r], n, rand_off());
                memcpy(sums[r].p, init.p, n * 4);
                use(r ? l : LC_SIMD_SCALAR);
                assert_int_equal(lc_levels_pack(q.p, n, b, pk[r].p), 0);
                kt_alloc_in(&tight, nw * 8, rand_off());
                memcpy(tight.p, pk[r].p, nw * 8);
                assert_int_equal(lc_levels_accumulate(tight.p, n, b, sums[r].p), 0);
                kt_free(&tight);
                assert_int_equal(lc_decode_sum_sign(sums[r].p, n, first, salt, bits[r].p), 0);
                if (b >= 2)
                    assert_int_equal(lc_quantize_l1(c.p, b & 1 ? LC_FP32 : LC_BF16, n, b, cq[r].p),
                                     0);
                else
                    memset(cq[r].p, 0, n);
            }
            same(&pk[0], &pk[1], "levels_pack", n, b);
            if (n) { /* one level out of range, anywhere: every level refuses it */
                size_t at = kt_rand() % n;
                int8_t *qq = q.p, keep = qq[at];

                qq[at] = (int8_t)(b == 1 ? 1 : b == 8 || (kt_rand() & 1) ? -s - 1 : s + 1);
                assert_int_equal(lc_levels_pack(q.p, n, b, pk[1].p), -ERANGE);
                qq[at] = keep;
            }
            same(&sums[0], &sums[1], "levels_accumulate", n, b);
            same(&bits[0], &bits[1], "decode_sum_sign", n, b);
            same(&cq[0], &cq[1], "quantize_l1", n, b);
            kt_free(&q), kt_free(&init), kt_free(&c);
            for (int r = 0; r < 2; r++)
                kt_free(&pk[r]), kt_free(&sums[r]), kt_free(&bits[r]), kt_free(&cq[r]);
        }
}

/*
 * The L1 quantizer on values of one scale, so that levels spread over the
 * whole range and rounding ties (exact multiples of half a step) occur;
 * zeros, -0, subnormals, and in some rounds one Inf or NaN.
 */
static void test_quantize(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t ni = 0; ni < NN; ni++)
        for (unsigned b = 2; b <= 8; b++)
            for (int dt = 0; dt < 2; dt++) {
                size_t n = ns[ni], esz = dt ? 2 : 4;
                kt_buf_t c, cq[2];

                kt_alloc_in(&c, n * esz, rand_off());
                for (size_t i = 0; i < n; i++) {
                    unsigned k = (unsigned)(kt_rand() % 16);
                    float f = (float)((int)(kt_rand() % 65) - 32) / 8.0f; /* halves, quarters */
                    uint32_t u;

                    if (k == 0)
                        f = (float)((double)(int64_t)(kt_rand() >> 11) / 9e15 - 0.5);
                    memcpy(&u, &f, 4);
                    if (k == 1)
                        u = 0x80000000u; /* -0 */
                    if (k == 2)
                        u = (uint32_t)(kt_rand() & 0x807fffffu); /* subnormal */
                    if (dt)
                        memcpy((char *)c.p + 2 * i, &(uint16_t){(uint16_t)(u >> 16)}, 2);
                    else
                        memcpy((char *)c.p + 4 * i, &u, 4);
                }
                if (n && b % 3 == 0) { /* one non-finite value: every level becomes 0 */
                    uint32_t u = b == 3 ? 0x7f800000u : 0xffc00000u;
                    size_t at = kt_rand() % n;

                    if (dt)
                        memcpy((char *)c.p + 2 * at, &(uint16_t){(uint16_t)(u >> 16)}, 2);
                    else
                        memcpy((char *)c.p + 4 * at, &u, 4);
                }
                for (int r = 0; r < 2; r++) {
                    kt_alloc(&cq[r], n, rand_off());
                    use(r ? l : LC_SIMD_SCALAR);
                    assert_int_equal(lc_quantize_l1(c.p, dt ? LC_BF16 : LC_FP32, n, b, cq[r].p), 0);
                }
                same(&cq[0], &cq[1], dt ? "quantize_l1 bf16" : "quantize_l1 fp32", n, b);
                kt_free(&c), kt_free(&cq[0]), kt_free(&cq[1]);
            }
}

/* The momentum kernel: m and the sign bits, or m and c, for fp32 and bf16
 * gradients; the betas of Lion's defaults or random ones. */
static void test_momentum(void **state)
{
    lc_simd_t l = level_or_skip(state);

    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        float b1 = ni % 2 ? 0.9f : (float)(kt_rand() % 1000) / 1000.0f;
        float b2 = ni % 2 ? 0.99f : (float)(kt_rand() % 1000) / 1000.0f;
        const lc_kern_betas_t k = {.b1 = b1, .a1 = 1.0f - b1, .b2 = b2, .a2 = 1.0f - b2,
                                   .zpat = kt_rand()};
        kt_buf_t m0, g32, g16, m[2], out[2];
        static const char *const what[2][2] = {{"momentum bits, fp32 g", "momentum c, fp32 g"},
                                               {"momentum bits, bf16 g", "momentum c, bf16 g"}};

        kt_alloc(&m0, n * 4, 0);
        kt_alloc_in(&g32, n * 4, rand_off());
        kt_alloc_in(&g16, n * 2, rand_off());
        kt_fill_values(m0.p, g32.p, g16.p, n);
        for (int dt = 0; dt < 2; dt++)
            for (int keep_c = 0; keep_c < 2; keep_c++) {
                const void *g = dt ? g16.p : g32.p;

                for (int r = 0; r < 2; r++) {
                    kt_alloc(&m[r], n * 4, rand_off());
                    kt_alloc(&out[r], keep_c ? n * 4 : nw * 8, rand_off());
                    memcpy(m[r].p, m0.p, n * 4);
                    kt_fill_random(out[r].p, out[r].bytes);
                    use(r ? l : LC_SIMD_SCALAR);
                    assert_int_equal(lc_kern_momentum(m[r].p, g, dt ? LC_BF16 : LC_FP32, n, &k,
                                                      keep_c ? NULL : out[r].p,
                                                      keep_c ? out[r].p : NULL),
                                     0);
                }
                same(&m[0], &m[1], dt ? "momentum m, bf16 g" : "momentum m, fp32 g", n, 0);
                same(&out[0], &out[1], what[dt][keep_c], n, 0);
                for (int r = 0; r < 2; r++)
                    kt_free(&m[r]), kt_free(&out[r]);
            }
        kt_free(&m0), kt_free(&g32), kt_free(&g16);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_pack, &lv_avx2),
        cmocka_unit_test_prestate(test_count, &lv_avx2),
        cmocka_unit_test_prestate(test_apply, &lv_avx2),
        cmocka_unit_test_prestate(test_levels, &lv_avx2),
        cmocka_unit_test_prestate(test_quantize, &lv_avx2),
        cmocka_unit_test_prestate(test_momentum, &lv_avx2),
        cmocka_unit_test_prestate(test_pack, &lv_avx512),
        cmocka_unit_test_prestate(test_count, &lv_avx512),
        cmocka_unit_test_prestate(test_apply, &lv_avx512),
        cmocka_unit_test_prestate(test_levels, &lv_avx512),
        cmocka_unit_test_prestate(test_quantize, &lv_avx512),
        cmocka_unit_test_prestate(test_momentum, &lv_avx512),
    };

    kt_seed("test_kernels_simd");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
