/* reth_polyval.h - POLYVAL (RFC 8452 section 3): the universal hash of the frame MAC,
 * in portable C and with carry-less multiplies (PCLMULQDQ, and VPCLMULQDQ on AVX-512). */
#ifndef RETH_POLYVAL_H
#define RETH_POLYVAL_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"

#define RETH_POLYVAL_BLOCK 16
/* Blocks hashed per reduction by the carry-less paths: H^1 .. H^RETH_POLYVAL_POWERS are kept. */
#define RETH_POLYVAL_POWERS 16

/* A field element as two little-endian 64-bit words (lo holds bytes 0-7). */
typedef struct reth_gf128 {
    uint64_t lo, hi;
} reth_gf128_t;

/* The hash key H and its powers under POLYVAL's product: pow[i] = H^(i+1). */
typedef struct reth_polyval_key {
    reth_gf128_t pow[RETH_POLYVAL_POWERS];
} reth_polyval_key_t;

LC_HIDDEN void reth_polyval_init(reth_polyval_key_t *k, const uint8_t h[RETH_POLYVAL_BLOCK]);

/*
 * Hash len bytes into *s: for each 16-byte block X (the last one zero-padded),
 * s = dot(s ^ X, H). Returns with *s updated; len 0 leaves it alone. The
 * fastest path the CPU has.
 */
LC_HIDDEN void reth_polyval_update(const reth_polyval_key_t *k, reth_gf128_t *s, const void *data,
                                   size_t len);

/* Each path alone, for tests to compare them; a path the CPU lacks returns -ENOTSUP. */
enum reth_polyval_path { RETH_POLYVAL_SW, RETH_POLYVAL_CLMUL, RETH_POLYVAL_VCLMUL };
LC_HIDDEN int reth_polyval_update_path(enum reth_polyval_path path, const reth_polyval_key_t *k,
                                       reth_gf128_t *s, const void *data, size_t len);

#endif
