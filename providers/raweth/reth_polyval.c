/* reth_polyval.c - POLYVAL: dot(a, b) = a * b * x^-128 in GF(2^128) modulo
 * x^128 + x^127 + x^126 + x^121 + 1, a 256-bit carry-less product reduced by two
 * Montgomery steps of 64 bits. The carry-less paths sum the unreduced products
 * of 16 blocks with H^16 .. H^1 and reduce once; with VPCLMULQDQ four blocks
 * share an instruction. */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "reth_polyval.h"

/* x^57 + x^62 + x^63: the polynomial's terms below x^128, shifted for a 64-bit reduction step. */
#define RETH_POLYVAL_RED 0xc200000000000000ULL

static void reth_clmul64(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
    uint64_t l = 0, h = 0;

    for (int i = 0; i < 64; i++) {
        uint64_t m = 0 - ((b >> i) & 1); /* no branch on the key's bits */

        l ^= (a << i) & m;
        h ^= (i ? a >> (64 - i) : 0) & m;
    }
    *lo = l;
    *hi = h;
}

static reth_gf128_t reth_dot_sw(reth_gf128_t a, reth_gf128_t b)
{
    uint64_t t0, t1, t2, t3, ml, mh, l, h, c_lo, c_hi, d_lo, d_hi;
    reth_gf128_t r;

    reth_clmul64(a.lo, b.lo, &t0, &t1);
    reth_clmul64(a.hi, b.hi, &t2, &t3);
    reth_clmul64(a.lo, b.hi, &ml, &mh);
    reth_clmul64(a.hi, b.lo, &l, &h);
    t1 ^= ml ^ l;
    t2 ^= mh ^ h;
    /* (T + t0 P) / x^64, then the same for the next low word */
    reth_clmul64(t0, RETH_POLYVAL_RED, &c_lo, &c_hi);
    t1 ^= c_lo;
    t0 ^= c_hi;
    reth_clmul64(t1, RETH_POLYVAL_RED, &d_lo, &d_hi);
    r.lo = t0 ^ d_lo ^ t2;
    r.hi = t1 ^ d_hi ^ t3;
    return r;
}

static reth_gf128_t reth_gf_load(const uint8_t *p)
{
    reth_gf128_t x;
    uint64_t w[2];

    memcpy(w, p, sizeof(w));
    x.lo = le64toh(w[0]);
    x.hi = le64toh(w[1]);
    return x;
}

void reth_polyval_init(reth_polyval_key_t *k, const uint8_t h[RETH_POLYVAL_BLOCK])
{
    k->pow[0] = reth_gf_load(h);
    for (int i = 1; i < RETH_POLYVAL_POWERS; i++)
        k->pow[i] = reth_dot_sw(k->pow[i - 1], k->pow[0]);
}

static void reth_polyval_update_sw(const reth_polyval_key_t *k, reth_gf128_t *s, const void *data,
                                   size_t len)
{
    const uint8_t *p = data;
    uint8_t last[RETH_POLYVAL_BLOCK];

    for (; len; p += RETH_POLYVAL_BLOCK) {
        size_t n = len < RETH_POLYVAL_BLOCK ? len : RETH_POLYVAL_BLOCK;
        reth_gf128_t x;

        if (n < RETH_POLYVAL_BLOCK) {
            memset(last, 0, sizeof(last));
            memcpy(last, p, n);
            x = reth_gf_load(last);
        } else {
            x = reth_gf_load(p);
        }
        x.lo ^= s->lo;
        x.hi ^= s->hi;
        *s = reth_dot_sw(x, k->pow[0]);
        len -= n;
    }
}

#define RETH_POLYVAL_CHUNK (RETH_POLYVAL_POWERS * RETH_POLYVAL_BLOCK)

#if defined(__x86_64__) && __BYTE_ORDER == __LITTLE_ENDIAN
#include <immintrin.h>

#define RETH_CLMUL_TARGET __attribute__((target("pclmul,sse2")))
#define RETH_VCLMUL_TARGET __attribute__((target("avx512f,vpclmulqdq,pclmul")))

/* The Montgomery reduction of lo + mid x^64 + hi x^128. */
RETH_CLMUL_TARGET static __m128i reth_reduce_ni(__m128i lo, __m128i mid, __m128i hi)
{
    const __m128i red = _mm_set_epi64x((long long)RETH_POLYVAL_RED, 0);
    __m128i t;

    lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
    hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
    t = _mm_clmulepi64_si128(lo, red, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    t = _mm_clmulepi64_si128(lo, red, 0x10);
    lo = _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e), t);
    return _mm_xor_si128(lo, hi);
}

/* Adds x * h, unreduced, to lo, mid and hi. */
RETH_CLMUL_TARGET static void reth_mul_acc_ni(__m128i x, __m128i h, __m128i *lo, __m128i *mid,
                                              __m128i *hi)
{
    *lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(x, h, 0x00));
    *hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(x, h, 0x11));
    *mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(x, h, 0x01),
                                             _mm_clmulepi64_si128(x, h, 0x10)));
}

RETH_CLMUL_TARGET static void reth_polyval_update_ni(const reth_polyval_key_t *k, reth_gf128_t *s,
                                                     const uint8_t *p, size_t len)
{
    __m128i acc = _mm_loadu_si128((const __m128i *)s);
    __m128i pw[RETH_POLYVAL_POWERS];

    for (int i = 0; i < RETH_POLYVAL_POWERS; i++)
        pw[i] = _mm_loadu_si128((const __m128i *)&k->pow[i]);
    for (; len >= RETH_POLYVAL_CHUNK; len -= RETH_POLYVAL_CHUNK) {
        __m128i lo = _mm_setzero_si128(), mid = lo, hi = lo;

        for (int i = 0; i < RETH_POLYVAL_POWERS; i++, p += RETH_POLYVAL_BLOCK) {
            __m128i x = _mm_loadu_si128((const __m128i *)p);

            if (i == 0)
                x = _mm_xor_si128(x, acc);
            reth_mul_acc_ni(x, pw[RETH_POLYVAL_POWERS - 1 - i], &lo, &mid, &hi);
        }
        acc = reth_reduce_ni(lo, mid, hi);
    }
    while (len) {
        __m128i x, lo = _mm_setzero_si128(), mid = lo, hi = lo;
        size_t n = len < RETH_POLYVAL_BLOCK ? len : RETH_POLYVAL_BLOCK;
        uint8_t last[RETH_POLYVAL_BLOCK] = {0};

        memcpy(last, p, n);
        x = _mm_loadu_si128((const __m128i *)last);
        reth_mul_acc_ni(_mm_xor_si128(x, acc), pw[0], &lo, &mid, &hi);
        acc = reth_reduce_ni(lo, mid, hi);
        p += n;
        len -= n;
    }
    _mm_storeu_si128((__m128i *)s, acc);
}

/* The XOR of a vector's four 128-bit lanes. */
RETH_VCLMUL_TARGET static __m128i reth_fold4(__m512i v)
{
    __m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));

    return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* Chunks of 16 blocks as four vectors of four, the rest by reth_polyval_update_ni. */
RETH_VCLMUL_TARGET static void reth_polyval_update_vni(const reth_polyval_key_t *k,
                                                       reth_gf128_t *s, const uint8_t *p,
                                                       size_t len)
{
    enum { LANES = 4, VECS = RETH_POLYVAL_POWERS / LANES };
    __m512i hz[VECS];
    __m128i acc;

    if (len < RETH_POLYVAL_CHUNK) {
        reth_polyval_update_ni(k, s, p, len);
        return;
    }
    for (int j = 0; j < VECS; j++) { /* lane l of vector j multiplies block LANES j + l */
        const reth_gf128_t *w = &k->pow[RETH_POLYVAL_POWERS - 1 - LANES * j];

        hz[j] = _mm512_set_epi64((long long)w[-3].hi, (long long)w[-3].lo, (long long)w[-2].hi,
                                 (long long)w[-2].lo, (long long)w[-1].hi, (long long)w[-1].lo,
                                 (long long)w[0].hi, (long long)w[0].lo);
    }
    acc = _mm_loadu_si128((const __m128i *)s);
    for (; len >= RETH_POLYVAL_CHUNK; len -= RETH_POLYVAL_CHUNK) {
        __m512i lo = _mm512_setzero_si512(), mid = lo, hi = lo;

        for (int j = 0; j < VECS; j++, p += LANES * RETH_POLYVAL_BLOCK) {
            __m512i x = _mm512_loadu_si512((const void *)p);

            if (j == 0)
                x = _mm512_xor_si512(x, _mm512_inserti32x4(_mm512_setzero_si512(), acc, 0));
            lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128(x, hz[j], 0x00));
            hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128(x, hz[j], 0x11));
            mid = _mm512_ternarylogic_epi64(mid, _mm512_clmulepi64_epi128(x, hz[j], 0x01),
                                            _mm512_clmulepi64_epi128(x, hz[j], 0x10), 0x96);
        }
        acc = reth_reduce_ni(reth_fold4(lo), reth_fold4(mid), reth_fold4(hi));
    }
    _mm_storeu_si128((__m128i *)s, acc);
    reth_polyval_update_ni(k, s, p, len);
}

static int reth_polyval_has(enum reth_polyval_path path)
{
    switch (path) {
    case RETH_POLYVAL_VCLMUL:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");
    case RETH_POLYVAL_CLMUL:
        return __builtin_cpu_supports("pclmul");
    default:
        return 1;
    }
}

static void reth_polyval_run(enum reth_polyval_path path, const reth_polyval_key_t *k,
                             reth_gf128_t *s, const void *data, size_t len)
{
    if (path == RETH_POLYVAL_VCLMUL)
        reth_polyval_update_vni(k, s, data, len);
    else if (path == RETH_POLYVAL_CLMUL)
        reth_polyval_update_ni(k, s, data, len);
    else
        reth_polyval_update_sw(k, s, data, len);
}
#else
static int reth_polyval_has(enum reth_polyval_path path)
{
    return path == RETH_POLYVAL_SW;
}

static void reth_polyval_run(enum reth_polyval_path path, const reth_polyval_key_t *k,
                             reth_gf128_t *s, const void *data, size_t len)
{
    (void)path;
    reth_polyval_update_sw(k, s, data, len);
}
#endif

int reth_polyval_update_path(enum reth_polyval_path path, const reth_polyval_key_t *k,
                             reth_gf128_t *s, const void *data, size_t len)
{
    if (!reth_polyval_has(path))
        return -ENOTSUP;
    reth_polyval_run(path, k, s, data, len);
    return 0;
}

void reth_polyval_update(const reth_polyval_key_t *k, reth_gf128_t *s, const void *data, size_t len)
{
    static const enum reth_polyval_path order[] = {RETH_POLYVAL_VCLMUL, RETH_POLYVAL_CLMUL};
    enum reth_polyval_path path = RETH_POLYVAL_SW;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (reth_polyval_has(order[i])) {
            path = order[i];
            break;
        }
    reth_polyval_run(path, k, s, data, len);
}
