/*
 * ktest.h - shared helpers of the kernel tests: a seeded generator (the seed
 * is printed; LC_TEST_SEED=N repeats a run), buffers at odd byte offsets with
 * guard bytes, and random floating-point values rich in special cases.
 */
#ifndef LC_KTEST_H
#define LC_KTEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t kt_state;

static inline uint64_t kt_rand(void)
{
    uint64_t z = (kt_state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void kt_seed(const char *test)
{
    const char *s = getenv("LC_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 20);

    kt_state = seed;
    printf("%s: seed %llu (LC_TEST_SEED=%llu repeats it)\n", test, (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
}

/* A buffer of `bytes` at byte offset `off` (0..7) of a malloc'd block, with
 * 64 guard bytes of 0xA5 after it. */
typedef struct kt_buf {
    unsigned char *base;
    void *p;
    size_t bytes;
} kt_buf_t;

static inline void kt_alloc(kt_buf_t *b, size_t bytes, unsigned off)
{
    b->base = malloc(bytes + 64 + 8);
    if (!b->base)
        abort();
    b->p = b->base + off;
    b->bytes = bytes;
    memset(b->p, 0xA5, bytes + 64);
}

/* An input buffer that ends exactly where its malloc'd block ends, so that
 * AddressSanitizer catches any read past it. */
static inline void kt_alloc_in(kt_buf_t *b, size_t bytes, unsigned off)
{
    b->base = malloc(off + bytes + !(off + bytes));
    if (!b->base)
        abort();
    b->p = b->base + off;
    b->bytes = bytes;
}

static inline int kt_guard_ok(const kt_buf_t *b)
{
    const unsigned char *g = (const unsigned char *)b->p + b->bytes;

    for (int i = 0; i < 64; i++)
        if (g[i] != 0xA5)
            return 0;
    return 1;
}

static inline void kt_free(kt_buf_t *b)
{
    free(b->base);
    b->base = NULL;
}

static inline void kt_fill_random(void *p, size_t bytes)
{
    unsigned char *c = p;

    for (size_t i = 0; i < bytes; i++)
        c[i] = (unsigned char)kt_rand();
}

/* Random fp32 bits: mostly ordinary values, often +-0, +-Inf, NaNs of both
 * signs, subnormals. */
static inline uint32_t kt_rand_f32bits(void)
{
    uint64_t r = kt_rand();
    uint32_t sign = (uint32_t)(r >> 63) << 31;

    switch (r % 16) {
    case 0:
        return sign; /* +-0 */
    case 1:
        return sign | 0x7f800000u; /* +-Inf */
    case 2:
        return sign | 0x7fc00000u | (uint32_t)(r >> 8 & 0x3fffff); /* quiet NaN */
    case 3:
        return sign | 0x7f800001u | (uint32_t)(r >> 8 & 0x1fffff); /* signalling NaN */
    case 4:
        return sign | (uint32_t)(r >> 8 & 0x7fffff); /* subnormal */
    case 5:
        return sign | 0x3f800000u; /* +-1 */
    default: {
        float f = (float)((double)(int64_t)(r >> 11) / (double)(1ull << 52) - 1.0) * 4.0f;
        uint32_t u;

        memcpy(&u, &f, sizeof(u));
        return u;
    }
    }
}

/* Random 16-bit float bits (bf16 or fp16 alike: sign in bit 15). */
static inline uint16_t kt_rand_h16bits(void)
{
    return (uint16_t)(kt_rand_f32bits() >> 16) ^ (uint16_t)(kt_rand() & 0x3);
}

/* n random values into each of two fp32 arrays and one 16-bit array, drawn
 * element by element (a, b, h), special values included. */
static inline void kt_fill_values(void *f32a, void *f32b, void *h16, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t a = kt_rand_f32bits(), b = kt_rand_f32bits();
        uint16_t h = kt_rand_h16bits();

        memcpy((char *)f32a + 4 * i, &a, 4);
        memcpy((char *)f32b + 4 * i, &b, 4);
        memcpy((char *)h16 + 2 * i, &h, 2);
    }
}

static inline float kt_f(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof(f));
    return f;
}

static inline uint32_t kt_u(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof(u));
    return u;
}

static inline uint64_t kt_ld64(const void *p, size_t i)
{
    uint64_t v;

    memcpy(&v, (const unsigned char *)p + 8 * i, sizeof(v));
    return v;
}

static inline int kt_bit(const void *vec, size_t i)
{
    return (int)((kt_ld64(vec, i / 64) >> (i % 64)) & 1);
}

#endif
