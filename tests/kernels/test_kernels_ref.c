/*
 * test_kernels_ref.c - the scalar kernels against plain per-element
 * references (kref.h), plus the argument checks of every kernel. The other
 * SIMD levels are compared with the scalar one in test_kernels_simd.c.
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

static int setup(void **state)
{
    (void)state;
    return lc_simd_set(LC_SIMD_SCALAR);
}

static void test_pack_unpack(void **state)
{
    (void)state;
    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        unsigned off = (unsigned)(ni % 8);
        kt_buf_t x32, x16, bits, o32, o16;

        kt_alloc(&x32, n * 4, off);
        kt_alloc(&x16, n * 2, (off + 3) % 8);
        kt_alloc(&bits, nw * 8, (off + 5) % 8);
        kt_alloc(&o32, n * 4, (off + 1) % 8);
        kt_alloc(&o16, n * 2, (off + 7) % 8);
        for (size_t i = 0; i < n; i++) {
            uint32_t u = kt_rand_f32bits();
            uint16_t h = kt_rand_h16bits();

            memcpy((char *)x32.p + 4 * i, &u, 4);
            memcpy((char *)x16.p + 2 * i, &h, 2);
        }
        assert_int_equal(lc_pack_signs(x32.p, LC_FP32, n, bits.p), 0);
        for (size_t i = 0; i < n; i++) {
            float f;

            memcpy(&f, (char *)x32.p + 4 * i, 4);
            assert_int_equal(kt_bit(bits.p, i), signbit(f) ? 1 : 0);
        }
        if (n % 64)
            assert_true((kt_ld64(bits.p, nw - 1) >> (n % 64)) == 0);
        assert_true(kt_guard_ok(&bits));
        for (lc_dtype_t dt = LC_BF16; dt <= LC_FP16; dt++) {
            assert_int_equal(lc_pack_signs(x16.p, dt, n, bits.p), 0);
            for (size_t i = 0; i < n; i++) {
                uint16_t h;

                memcpy(&h, (char *)x16.p + 2 * i, 2);
                assert_int_equal(kt_bit(bits.p, i), h >= 0x8000);
            }
            if (n % 64)
                assert_true((kt_ld64(bits.p, nw - 1) >> (n % 64)) == 0);
        }
        kt_fill_random(bits.p, nw * 8);
        assert_int_equal(lc_unpack_signs(bits.p, n, o32.p, LC_FP32), 0);
        for (size_t i = 0; i < n; i++) {
            float f;

            memcpy(&f, (char *)o32.p + 4 * i, 4);
            assert_true(f == (kt_bit(bits.p, i) ? -1.0f : 1.0f));
        }
        assert_true(kt_guard_ok(&o32));
        for (lc_dtype_t dt = LC_BF16; dt <= LC_FP16; dt++) {
            uint16_t one = dt == LC_BF16 ? 0x3f80 : 0x3c00;

            assert_int_equal(lc_unpack_signs(bits.p, n, o16.p, dt), 0);
            for (size_t i = 0; i < n; i++) {
                uint16_t h;

                memcpy(&h, (char *)o16.p + 2 * i, 2);
                assert_int_equal(h, kt_bit(bits.p, i) ? (one | 0x8000) : one);
            }
            assert_true(kt_guard_ok(&o16));
        }
        kt_free(&x32), kt_free(&x16), kt_free(&bits), kt_free(&o32), kt_free(&o16);
    }
}

/* count, majority and average decodes for one (n, p). */
static void check_count(size_t n, size_t p, size_t extra, unsigned off)
{
    size_t nw = LC_BITS_WORDS(n), stride = nw + extra;
    int w = lc_count_planes(p);
    uint64_t first = 64 * (kt_rand() % 1000), salt = kt_rand();
    kt_buf_t v, pl, maj, fused, a32, a16;

    assert_true(w >= 1);
    kt_alloc(&v, p * stride * 8, off);
    kt_alloc(&pl, (size_t)w * nw * 8, (off + 1) % 8);
    kt_alloc(&maj, nw * 8, (off + 2) % 8);
    kt_alloc(&a32, n * 4, (off + 3) % 8);
    kt_alloc(&a16, n * 2, (off + 4) % 8);
    kt_alloc(&fused, nw * 8, (off + 5) % 8);
    ref_gen_votes(v.p, p, stride, nw);
    assert_int_equal(lc_vote_majority(v.p, stride, p, n, first, salt, fused.p), 0);
    assert_int_equal(lc_count_votes(v.p, stride, p, n, pl.p), 0);
    assert_int_equal(lc_decode_majority(pl.p, p, n, first, salt, maj.p), 0);
    assert_int_equal(lc_decode_average(pl.p, p, n, a32.p, LC_FP32), 0);
    assert_int_equal(lc_decode_average(pl.p, p, n, a16.p, LC_BF16), 0);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = ref_count(v.p, stride, p, i), got = 0;
        float f;
        uint16_t h;

        for (int k = 0; k < w; k++)
            got |= (uint32_t)kt_bit((uint64_t *)pl.p + (size_t)k * nw, i) << k;
        assert_int_equal(got, c);
        assert_int_equal(kt_bit(maj.p, i), ref_majority(c, p, first, salt, i));
        assert_int_equal(kt_bit(fused.p, i), ref_majority(c, p, first, salt, i));
        memcpy(&f, (char *)a32.p + 4 * i, 4);
        assert_true(kt_u(f) == kt_u(ref_average(c, p)));
        memcpy(&h, (char *)a16.p + 2 * i, 2);
        assert_int_equal(h, ref_bf16(ref_average(c, p)));
    }
    if (n % 64) {
        for (int k = 0; k < w; k++)
            assert_true((kt_ld64((uint64_t *)pl.p + (size_t)k * nw, nw - 1) >> (n % 64)) == 0);
        assert_true((kt_ld64(maj.p, nw - 1) >> (n % 64)) == 0);
        assert_true((kt_ld64(fused.p, nw - 1) >> (n % 64)) == 0);
    }
    assert_true(kt_guard_ok(&pl) && kt_guard_ok(&maj) && kt_guard_ok(&a32) && kt_guard_ok(&a16) &&
                kt_guard_ok(&fused));
    kt_free(&v), kt_free(&pl), kt_free(&maj), kt_free(&a32), kt_free(&a16), kt_free(&fused);
}

static void test_count_decode(void **state)
{
    (void)state;
    for (size_t pi = 0; pi < NP; pi++)
        for (size_t ni = 0; ni + 1 < NN; ni++)
            check_count(ns[ni], ps[pi], pi % 3, (unsigned)((pi + ni) % 8));
    for (size_t pi = 0; pi < 5; pi++)
        check_count(ns[NN - 1], ps[pi], pi % 2, (unsigned)pi + 1);
}

static void test_apply(void **state)
{
    (void)state;
    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        unsigned off = (unsigned)(ni + 2) % 8;
        float lr = (float)(kt_rand() % 1000 + 1) * 1e-5f, wd = (float)(kt_rand() % 100) * 1e-3f;

        if (ni % 2 == 0)
            lr = 0x1p-9f, wd = 0.0f; /* +-1 - 2^-9 is a bf16 rounding tie */
        float decay = 1.0f - lr * wd;
        kt_buf_t p32, p16, bits, u, r32, r16;

        kt_alloc(&p32, n * 4, off);
        kt_alloc(&p16, n * 2, (off + 1) % 8);
        kt_alloc(&bits, nw * 8, (off + 2) % 8);
        kt_alloc(&u, n * 4, (off + 3) % 8);
        kt_alloc(&r32, n * 4, 0);
        kt_alloc(&r16, n * 2, 0);
        kt_fill_random(bits.p, nw * 8);
        for (int mode = 0; mode < 2; mode++) {
            kt_fill_values(p32.p, u.p, p16.p, n);
            memcpy(r32.p, p32.p, n * 4);
            memcpy(r16.p, p16.p, n * 2);
            if (mode == 0) {
                assert_int_equal(lc_apply_signs(p32.p, LC_FP32, bits.p, n, lr, wd), 0);
                assert_int_equal(lc_apply_signs(p16.p, LC_BF16, bits.p, n, lr, wd), 0);
            } else {
                assert_int_equal(lc_apply_update(p32.p, LC_FP32, u.p, n, lr, wd), 0);
                assert_int_equal(lc_apply_update(p16.p, LC_BF16, u.p, n, lr, wd), 0);
            }
            for (size_t i = 0; i < n; i++) {
                float x, d, got, t, step;
                uint16_t h, goth;

                memcpy(&d, (char *)u.p + 4 * i, 4);
                step = mode == 0 ? lr * (kt_bit(bits.p, i) ? -1.0f : 1.0f) : lr * d;
                memcpy(&x, (char *)r32.p + 4 * i, 4);
                memcpy(&got, (char *)p32.p + 4 * i, 4);
                t = x * decay;
                assert_true(kt_u(got) == kt_u(t - step));
                memcpy(&h, (char *)r16.p + 2 * i, 2);
                memcpy(&goth, (char *)p16.p + 2 * i, 2);
                t = kt_f((uint32_t)h << 16) * decay;
                assert_int_equal(goth, ref_bf16(t - step));
            }
            assert_true(kt_guard_ok(&p32) && kt_guard_ok(&p16));
        }
        kt_free(&p32), kt_free(&p16), kt_free(&bits), kt_free(&u), kt_free(&r32), kt_free(&r16);
    }
}

static int ref_level(const void *packed, size_t i, unsigned b)
{
    int v = 0;

    for (unsigned t = 0; t < b; t++)
        v |= kt_bit(packed, i * b + t) << t;
    return v >= (1 << (b - 1)) ? v - (1 << b) : v;
}

static void test_levels(void **state)
{
    (void)state;
    for (size_t ni = 0; ni < NN; ni++)
        for (unsigned b = 1; b <= 8; b++) {
            size_t n = ns[ni], nw = LC_BITS_WORDS(n * b);
            int s = b == 1 ? 1 : (1 << (b - 1)) - 1;
            uint64_t first = 64 * (kt_rand() % 100), salt = kt_rand();
            kt_buf_t q, pk, sums, ref, bits;

            if (ni == NN - 1 && b % 3)
                continue; /* the large n only for some b, to keep the run short */
            kt_alloc(&q, n, (b + ni) % 8);
            kt_alloc(&pk, nw * 8, (b + ni + 1) % 8);
            kt_alloc(&sums, n * 4, (b + ni + 2) % 8);
            kt_alloc(&ref, n * 4, 0);
            kt_alloc(&bits, LC_BITS_WORDS(n) * 8, (b + ni + 3) % 8);
            for (size_t i = 0; i < n; i++) {
                int8_t l = b == 1 ? -(int8_t)(kt_rand() & 1)
                                  : (int8_t)((int)(kt_rand() % (2 * s + 1)) - s);
                int32_t z = (int32_t)(kt_rand() % 7) - 3;

                ((int8_t *)q.p)[i] = l;
                memcpy((char *)sums.p + 4 * i, &z, 4);
            }
            memcpy(ref.p, sums.p, n * 4);
            assert_int_equal(lc_levels_pack(q.p, n, b, pk.p), 0);
            assert_true(kt_guard_ok(&pk));
            if ((n * b) % 64)
                assert_true((kt_ld64(pk.p, nw - 1) >> ((n * b) % 64)) == 0);
            assert_int_equal(lc_levels_accumulate(pk.p, n, b, sums.p), 0);
            assert_int_equal(lc_decode_sum_sign(sums.p, n, first, salt, bits.p), 0);
            for (size_t i = 0; i < n; i++) {
                int32_t r, got;

                assert_int_equal(ref_level(pk.p, i, b), ((int8_t *)q.p)[i]);
                memcpy(&r, (char *)ref.p + 4 * i, 4);
                memcpy(&got, (char *)sums.p + 4 * i, 4);
                assert_int_equal(got, r + ((int8_t *)q.p)[i]);
                assert_int_equal(kt_bit(bits.p, i), got < 0   ? 1
                                                    : got > 0 ? 0
                                                              : (int)((first + i + salt) & 1));
            }
            if (n % 64)
                assert_true((kt_ld64(bits.p, LC_BITS_WORDS(n) - 1) >> (n % 64)) == 0);
            if (n && b > 1) {
                ((int8_t *)q.p)[n / 2] = (int8_t)(s + 1);
                assert_int_equal(lc_levels_pack(q.p, n, b, pk.p), -ERANGE);
            }
            kt_free(&q), kt_free(&pk), kt_free(&sums), kt_free(&ref), kt_free(&bits);
        }
}

static void test_quantize(void **state)
{
    (void)state;
    for (size_t ni = 0; ni + 1 < NN; ni++)
        for (unsigned b = 2; b <= 8; b++)
            for (int dt = 0; dt < 2; dt++) {
                size_t n = ns[ni];
                double s = (double)((1 << (b - 1)) - 1), part[8] = {0}, sum, mean, scale;
                kt_buf_t c, q;

                kt_alloc(&c, n * 4, (unsigned)(b % 8));
                kt_alloc(&q, n, (unsigned)((b + 1) % 8));
                for (size_t i = 0; i < n; i++) {
                    float f = (float)((double)(int64_t)(kt_rand() >> 11) / 9e15 - 0.5);

                    if (kt_rand() % 8 == 0)
                        f = 0.0f; /* exact zeros and exact halves are common in c */
                    if (dt == 0)
                        memcpy((char *)c.p + 4 * i, &f, 4);
                    else {
                        uint16_t h = (uint16_t)(kt_u(f) >> 16);

                        memcpy((char *)c.p + 2 * i, &h, 2);
                    }
                }
                assert_int_equal(lc_quantize_l1(c.p, dt ? LC_BF16 : LC_FP32, n, b, q.p), 0);
                for (size_t i = 0; i < n; i++) {
                    float f;
                    uint16_t h;

                    if (dt == 0)
                        memcpy(&f, (char *)c.p + 4 * i, 4);
                    else
                        memcpy(&h, (char *)c.p + 2 * i, 2), f = kt_f((uint32_t)h << 16);
                    part[i % 8] += fabs((double)f);
                }
                sum = part[0];
                for (int k = 1; k < 8; k++)
                    sum += part[k];
                mean = n ? sum / (double)n : 0;
                scale = mean > 0 ? s / 2 / mean : 0;
                for (size_t i = 0; i < n; i++) {
                    float f;
                    uint16_t h;
                    double x;

                    if (dt == 0)
                        memcpy(&f, (char *)c.p + 4 * i, 4);
                    else
                        memcpy(&h, (char *)c.p + 2 * i, 2), f = kt_f((uint32_t)h << 16);
                    x = rint((double)f * scale); /* half-even mode */
                    x = x != x ? 0 : x > s ? s : x < -s ? -s : x;
                    assert_int_equal(((int8_t *)q.p)[i], (int)x);
                }
                kt_free(&c), kt_free(&q);
            }
}

/* Non-finite or all-zero c: every level 0 (the header's "all zeros" rule, and
 * NaN quotients from an Inf or NaN mean abstain). */
static void test_quantize_special(void **state)
{
    float c[5] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f};
    int8_t q[5];

    (void)state;
    c[2] = kt_f(0x7f800000u); /* +Inf */
    assert_int_equal(lc_quantize_l1(c, LC_FP32, 5, 4, q), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(q[i], 0);
    c[2] = kt_f(0xffc00000u); /* NaN */
    assert_int_equal(lc_quantize_l1(c, LC_FP32, 5, 4, q), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(q[i], 0);
    memset(c, 0, sizeof(c));
    c[1] = -0.0f;
    assert_int_equal(lc_quantize_l1(c, LC_FP32, 5, 8, q), 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(q[i], 0);
    /* hand-worked cases: {c}, b, expected levels */
    static const struct {
        float c[4];
        unsigned b;
        int8_t q[4];
    } cases[] = {
        {{1, -1, 2, 0}, 4, {4, -4, 7, 0}}, /* mean 1, s/2 = 3.5: +-3.5 -> +-4, 7 */
        {{5, -1, 1, 1}, 4, {7, -2, 2, 2}}, /* mean 2: 8.75 clipped to 7, +-1.75 */
        {{1, -1, 1, -1}, 2, {0, 0, 0, 0}}, /* +-0.5: half to even is 0 */
        {{3, -1, 0, 0}, 2, {1, 0, 0, 0}},  /* 1.5 -> 2 clipped to 1, -0.5 -> 0 */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        assert_int_equal(lc_quantize_l1(cases[k].c, LC_FP32, 4, cases[k].b, q), 0);
        for (int i = 0; i < 4; i++)
            assert_int_equal(q[i], cases[k].q[i]);
    }
}

/* b*x + a*y as kern.h documents lc_kern_momentum: two products, then their
 * sum, the first product's NaN where both are NaN. */
static float ref_momentum_sum(float b, float x, float a, float y)
{
    float p = b * x, q = a * y;

    return isnan(p) ? p : p + q;
}

/* The Lion momentum kernel against the per-element formula (scalar level),
 * both outputs, fp32 and bf16 gradients. */
static void test_momentum(void **state)
{
    (void)state;
    for (size_t ni = 0; ni < NN; ni++) {
        size_t n = ns[ni], nw = LC_BITS_WORDS(n);
        unsigned off = (unsigned)(ni + 5) % 8;
        float b1 = ni % 2 ? 0.9f : (float)(kt_rand() % 1000) / 1000.0f;
        float b2 = ni % 2 ? 0.99f : (float)(kt_rand() % 1000) / 1000.0f;
        const lc_kern_betas_t k = {.b1 = b1, .a1 = 1.0f - b1, .b2 = b2, .a2 = 1.0f - b2,
                                   .zpat = kt_rand()};
        kt_buf_t m, m0, g, out;

        kt_alloc(&m, n * 4, off);
        kt_alloc(&m0, n * 4, 0);
        kt_alloc(&g, n * 4, (off + 1) % 8);
        kt_alloc(&out, n * 4 + 8, (off + 2) % 8); /* c, or the bits */
        for (int dt = 0; dt < 2; dt++)
            for (int keep_c = 0; keep_c < 2; keep_c++) {
                for (size_t i = 0; i < n; i++) {
                    uint32_t a = kt_rand_f32bits(), b = kt_rand_f32bits();
                    uint16_t h = kt_rand_h16bits();

                    memcpy((char *)m0.p + 4 * i, &a, 4);
                    if (dt)
                        memcpy((char *)g.p + 2 * i, &h, 2);
                    else
                        memcpy((char *)g.p + 4 * i, &b, 4);
                }
                memcpy(m.p, m0.p, n * 4);
                out.bytes = keep_c ? n * 4 : nw * 8;
                kt_fill_random(out.p, out.bytes);
                memset((char *)out.p + out.bytes, 0xA5, 64);
                assert_int_equal(lc_kern_momentum(m.p, g.p, dt ? LC_BF16 : LC_FP32, n, &k,
                                                  keep_c ? NULL : out.p, keep_c ? out.p : NULL),
                                 0);
                for (size_t i = 0; i < n; i++) {
                    float mi, gi, c, got;
                    uint16_t h;

                    memcpy(&mi, (char *)m0.p + 4 * i, 4);
                    if (dt)
                        memcpy(&h, (char *)g.p + 2 * i, 2), gi = kt_f((uint32_t)h << 16);
                    else
                        memcpy(&gi, (char *)g.p + 4 * i, 4);
                    c = ref_momentum_sum(k.b1, mi, k.a1, gi);
                    if (keep_c) {
                        memcpy(&got, (char *)out.p + 4 * i, 4);
                        assert_true(kt_u(got) == kt_u(c));
                    } else {
                        assert_int_equal(kt_bit(out.p, i),
                                         c == 0.0f ? k.zpat >> i % 64 & 1 : kt_u(c) >> 31);
                    }
                    memcpy(&got, (char *)m.p + 4 * i, 4);
                    assert_true(kt_u(got) == kt_u(ref_momentum_sum(k.b2, mi, k.a2, gi)));
                }
                if (!keep_c && n % 64)
                    assert_true((kt_ld64(out.p, nw - 1) >> (n % 64)) == 0);
                assert_true(kt_guard_ok(&m) && kt_guard_ok(&out));
            }
        kt_free(&m), kt_free(&m0), kt_free(&g), kt_free(&out);
    }
}

/* Hand-worked signs of c = 0.5*m + 0.5*g: the raw sign bit, NaNs included;
 * +0 and -0 take their bit of zpat (here: set at odd elements). */
static void test_momentum_special(void **state)
{
    const lc_kern_betas_t k = {.b1 = 0.5f, .a1 = 0.5f, .b2 = 0.5f, .a2 = 0.5f,
                               .zpat = 0xAAAAAAAAAAAAAAAAull};
    static const struct {
        uint32_t m, g;
        int bit;
    } cases[] = {
        {0x00000000u, 0x80000000u, 0}, /* +0 + -0 = +0, element 0: zpat bit 0 */
        {0x80000000u, 0x80000000u, 1}, /* -0 + -0 = -0, element 1: zpat bit 1 */
        {0x7fc00001u, 0xffc00002u, 0}, /* both NaN: m's NaN */
        {0xffc00001u, 0x7fc00002u, 1},
        {0x3f800000u, 0xff800001u, 1}, /* 1 + a negative signalling NaN: that NaN */
        {0x00000001u, 0x80000003u, 1}, /* subnormals: 0.5 * -3 tiny rounds to -2 tiny */
        {0x7f800000u, 0xbf800000u, 0}, /* Inf - 1 = Inf */
    };
    size_t nc = sizeof(cases) / sizeof(cases[0]);
    float m[8], g[8], c[8];
    uint64_t bits;

    (void)state;
    for (size_t i = 0; i < nc; i++)
        m[i] = kt_f(cases[i].m), g[i] = kt_f(cases[i].g);
    assert_int_equal(lc_kern_momentum(m, g, LC_FP32, nc, &k, &bits, NULL), 0);
    for (size_t i = 0; i < nc; i++)
        assert_int_equal((int)(bits >> i) & 1, cases[i].bit);
    assert_true(bits >> nc == 0);
    for (size_t i = 0; i < nc; i++)
        m[i] = kt_f(cases[i].m);
    assert_int_equal(lc_kern_momentum(m, g, LC_FP32, nc, &k, NULL, c), 0);
    assert_true(kt_u(c[2]) == 0x7fc00001u && kt_u(c[3]) == 0xffc00001u);
    assert_true(kt_u(c[4]) == 0xffc00001u); /* quieted */
    assert_true(kt_u(m[2]) == 0x7fc00001u && kt_u(c[1]) == 0x80000000u);
}

static void test_args(void **state)
{
    uint64_t w[4] = {0}, pl[64] = {0};
    float f[4] = {0};
    int8_t q[4] = {0};
    int32_t s[4] = {0};

    (void)state;
    assert_int_equal(lc_count_planes(0), -EINVAL);
    assert_int_equal(lc_count_planes(1), 1);
    assert_int_equal(lc_count_planes(2), 2);
    assert_int_equal(lc_count_planes(7), 3);
    assert_int_equal(lc_count_planes(8), 4);
    assert_int_equal(lc_count_planes(LC_MAX_VOTERS), 21);
    assert_int_equal(lc_count_planes(LC_MAX_VOTERS + 1), -EINVAL);
    assert_int_equal(lc_pack_signs(NULL, LC_FP32, 4, w), -EINVAL);
    assert_true(strlen(lc_last_error()) > 0);
    assert_int_equal(lc_pack_signs(f, LC_FP32, 4, NULL), -EINVAL);
    assert_int_equal(lc_pack_signs(f, LC_INT8, 4, w), -EINVAL);
    assert_int_equal(lc_pack_signs(f, (lc_dtype_t)99, 4, w), -EINVAL);
    assert_int_equal(lc_pack_signs(NULL, LC_FP32, 0, NULL), 0);
    assert_int_equal(lc_count_votes(w, 1, 0, 4, pl), -EINVAL);
    assert_int_equal(lc_count_votes(w, 1, LC_MAX_VOTERS + 1, 4, pl), -EINVAL);
    assert_int_equal(lc_count_votes(w, 1, 2, 65, pl), -EINVAL); /* stride < 2 words */
    assert_int_equal(lc_count_votes(NULL, 1, 2, 4, pl), -EINVAL);
    assert_int_equal(lc_count_votes(w, 1, 2, 4, NULL), -EINVAL);
    assert_int_equal(lc_count_votes(w, SIZE_MAX / 4, 3, 4, pl), -EINVAL);
    assert_int_equal(lc_decode_majority(pl, 0, 4, 0, 0, w), -EINVAL);
    assert_int_equal(lc_vote_majority(w, 1, 0, 4, 0, 0, pl), -EINVAL);
    assert_int_equal(lc_vote_majority(w, 1, LC_MAX_VOTERS + 1, 4, 0, 0, pl), -EINVAL);
    assert_int_equal(lc_vote_majority(w, 1, 2, 65, 0, 0, pl), -EINVAL); /* stride < 2 words */
    assert_int_equal(lc_vote_majority(NULL, 1, 2, 4, 0, 0, pl), -EINVAL);
    assert_int_equal(lc_vote_majority(w, 1, 2, 4, 0, 0, NULL), -EINVAL);
    assert_int_equal(lc_vote_majority(w, SIZE_MAX / 4, 3, 4, 0, 0, pl), -EINVAL);
    assert_int_equal(lc_vote_majority(NULL, 1, 2, 0, 0, 0, NULL), 0);
    assert_int_equal(lc_decode_majority(NULL, 2, 4, 0, 0, w), -EINVAL);
    assert_int_equal(lc_decode_average(pl, 2, 4, f, LC_FP16), -EINVAL);
    assert_int_equal(lc_decode_average(pl, 2, 4, NULL, LC_FP32), -EINVAL);
    assert_int_equal(lc_unpack_signs(w, 4, f, LC_INT32), -EINVAL);
    assert_int_equal(lc_unpack_signs(NULL, 4, f, LC_FP32), -EINVAL);
    assert_int_equal(lc_apply_signs(f, LC_FP16, w, 4, 0.1f, 0.0f), -EINVAL);
    assert_int_equal(lc_apply_signs(f, LC_FP32, NULL, 4, 0.1f, 0.0f), -EINVAL);
    assert_int_equal(lc_apply_update(f, LC_INT8, f, 4, 0.1f, 0.0f), -EINVAL);
    assert_int_equal(lc_apply_update(NULL, LC_FP32, f, 4, 0.1f, 0.0f), -EINVAL);
    assert_int_equal(lc_levels_pack(q, 4, 0, w), -EINVAL);
    assert_int_equal(lc_levels_pack(q, 4, 9, w), -EINVAL);
    assert_int_equal(lc_levels_pack(NULL, 4, 4, w), -EINVAL);
    q[1] = 1; /* b = 1 levels are 0 and -1 only */
    assert_int_equal(lc_levels_pack(q, 4, 1, w), -ERANGE);
    q[1] = -8; /* b = 4 levels lie in -7..7 */
    assert_int_equal(lc_levels_pack(q, 4, 4, w), -ERANGE);
    assert_true(strstr(lc_last_error(), "lc_levels_pack") != NULL);
    assert_int_equal(lc_levels_accumulate(w, 4, 9, s), -EINVAL);
    assert_int_equal(lc_levels_accumulate(w, 4, 4, NULL), -EINVAL);
    assert_int_equal(lc_decode_sum_sign(NULL, 4, 0, 0, w), -EINVAL);
    assert_int_equal(lc_quantize_l1(f, LC_FP32, 4, 1, q), -EINVAL);
    assert_int_equal(lc_quantize_l1(f, LC_FP16, 4, 4, q), -EINVAL);
    assert_int_equal(lc_quantize_l1(f, LC_FP32, 4, 4, NULL), -EINVAL);
    assert_int_equal(lc_quantize_l1(NULL, LC_FP32, 0, 4, NULL), 0);
    assert_int_equal(lc_simd_supported((lc_simd_t)7), -EINVAL);
    assert_int_equal(lc_simd_set((lc_simd_t)-1), -EINVAL);
    assert_string_equal(lc_simd_name(LC_SIMD_AVX2), "avx2");
    assert_string_equal(lc_simd_name((lc_simd_t)9), "invalid");
    assert_int_equal(lc_simd_supported(LC_SIMD_SCALAR), 1);
    /* the hidden per-level tables (for tests and benchmarks) */
    for (int l = 0; l < LC_SIMD_COUNT; l++) {
        assert_non_null(lc_kern_table((lc_simd_t)l));
        assert_int_equal(lc_kern_table((lc_simd_t)l)->level, l);
    }
    assert_null(lc_kern_table(LC_SIMD_COUNT));
    f[0] = -1.0f, f[1] = 2.0f, f[2] = -0.0f;
    lc_kern_table(LC_SIMD_SCALAR)->pack_fp32(f, 3, w);
    assert_true(w[0] == 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_unpack), cmocka_unit_test(test_count_decode),
        cmocka_unit_test(test_apply),       cmocka_unit_test(test_levels),
        cmocka_unit_test(test_quantize),    cmocka_unit_test(test_quantize_special),
        cmocka_unit_test(test_momentum),    cmocka_unit_test(test_momentum_special),
        cmocka_unit_test(test_args),
    };

    kt_seed("test_kernels_ref");
    return cmocka_run_group_tests(tests, setup, NULL);
}
