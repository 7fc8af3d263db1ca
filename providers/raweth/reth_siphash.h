/* reth_siphash.h - SipHash-2-4 (Aumasson and Bernstein), the MAC of raweth frames. */
#ifndef RETH_SIPHASH_H
#define RETH_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"

#define RETH_MAC_KEY_LEN 16

/* A 128-bit SipHash key, as two little-endian words. */
typedef struct reth_mackey {
    uint64_t k0, k1;
} reth_mackey_t;

/* Load a key from 16 bytes (the reference implementation's byte order). */
LC_HIDDEN void reth_mackey_load(reth_mackey_t *k, const uint8_t bytes[RETH_MAC_KEY_LEN]);

/* SipHash-2-4 of len bytes under k: the 64-bit tag. */
LC_HIDDEN uint64_t reth_siphash(const reth_mackey_t *k, const void *data, size_t len);

#endif
