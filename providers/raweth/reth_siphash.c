/* reth_siphash.c - SipHash-2-4 with 64-bit output; tested against the reference vectors. */
#include <endian.h>
#include <string.h>

#include "reth_siphash.h"

static inline uint64_t reth_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static inline uint64_t reth_le64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v)); /* one load */
    return le64toh(v);
}

#define RETH_SIPROUND                                                                            \
    do {                                                                                         \
        v0 += v1, v1 = reth_rotl(v1, 13), v1 ^= v0, v0 = reth_rotl(v0, 32);                      \
        v2 += v3, v3 = reth_rotl(v3, 16), v3 ^= v2;                                              \
        v0 += v3, v3 = reth_rotl(v3, 21), v3 ^= v0;                                              \
        v2 += v1, v1 = reth_rotl(v1, 17), v1 ^= v2, v2 = reth_rotl(v2, 32);                      \
    } while (0)

void reth_mackey_load(reth_mackey_t *k, const uint8_t bytes[RETH_MAC_KEY_LEN])
{
    k->k0 = reth_le64(bytes);
    k->k1 = reth_le64(bytes + 8);
}

uint64_t reth_siphash(const reth_mackey_t *k, const void *data, size_t len)
{
    const uint8_t *p = data, *end = p + (len & ~(size_t)7);
    uint64_t v0 = k->k0 ^ 0x736f6d6570736575ULL, v1 = k->k1 ^ 0x646f72616e646f6dULL;
    uint64_t v2 = k->k0 ^ 0x6c7967656e657261ULL, v3 = k->k1 ^ 0x7465646279746573ULL;
    uint64_t m, b = (uint64_t)len << 56;

    for (; p != end; p += 8) {
        m = reth_le64(p);
        v3 ^= m;
        RETH_SIPROUND;
        RETH_SIPROUND;
        v0 ^= m;
    }
    for (size_t i = 0; i < (len & 7); i++)
        b |= (uint64_t)p[i] << (8 * i);
    v3 ^= b;
    RETH_SIPROUND;
    RETH_SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    RETH_SIPROUND;
    RETH_SIPROUND;
    RETH_SIPROUND;
    RETH_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
