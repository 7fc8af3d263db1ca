/* reth_mac.h - the frame MAC: the tag of AEAD_AES_128_GCM_SIV (RFC 8452), computed
 * over the frame's headers as associated data and its payload as the message,
 * which travels unencrypted. */
#ifndef RETH_MAC_H
#define RETH_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"
#include "reth_aes.h"
#include "reth_polyval.h"

#define RETH_MAC_KEY_LEN 16
#define RETH_MAC_NONCE_LEN 12
#define RETH_MAC_TAG_LEN 16

/* A key-generating key expanded for one nonce: the record authentication key (as
 * POLYVAL powers) and the record encryption key (as AES round keys). */
typedef struct reth_mackey {
    reth_polyval_key_t auth;
    reth_aes128_t enc;
    uint8_t nonce[RETH_MAC_NONCE_LEN];
} reth_mackey_t;

/* Derive the record keys of key under nonce (RFC 8452 section 4). */
LC_HIDDEN void reth_mackey_init(reth_mackey_t *k, const uint8_t key[RETH_MAC_KEY_LEN],
                                const uint8_t nonce[RETH_MAC_NONCE_LEN]);

/* The key of a session's frames: key under the all-zero nonce. Every frame of a
 * session shares it; AES-GCM-SIV's tag stays a PRF of its input under a repeated
 * nonce, so equal frames get equal tags and nothing else leaks. */
LC_HIDDEN void reth_mackey_load(reth_mackey_t *k, const uint8_t key[RETH_MAC_KEY_LEN]);

/* The tag of (associated data ad, message msg) under k. */
LC_HIDDEN void reth_mac_tag(const reth_mackey_t *k, const void *ad, size_t ad_len, const void *msg,
                            size_t msg_len, uint8_t tag[RETH_MAC_TAG_LEN]);

#endif
