/* reth_aes.h - AES-128 encryption of single blocks (FIPS-197): the block cipher of the frame MAC. */
#ifndef RETH_AES_H
#define RETH_AES_H

#include <stdint.h>

#include "lioncub/provider_sdk.h"

#define RETH_AES_BLOCK 16
#define RETH_AES128_ROUNDS 10

/* The expanded key: the 11 round keys, in the byte order of the standard. */
typedef struct reth_aes128 {
    uint8_t rk[RETH_AES128_ROUNDS + 1][RETH_AES_BLOCK];
} reth_aes128_t;

LC_HIDDEN void reth_aes128_init(reth_aes128_t *a, const uint8_t key[RETH_AES_BLOCK]);

/* out = AES-128(in) under a; out may be in. AES-NI where the CPU has it, else a
 * table-driven software round (not constant-time: a fallback for other CPUs). */
LC_HIDDEN void reth_aes128_encrypt(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                                   uint8_t out[RETH_AES_BLOCK]);

/* The software rounds alone, for tests to compare the two paths. */
LC_HIDDEN void reth_aes128_encrypt_sw(const reth_aes128_t *a, const uint8_t in[RETH_AES_BLOCK],
                                      uint8_t out[RETH_AES_BLOCK]);

#endif
