/*
 * lcofi_auth.c - the proofs of the ofi provider's connection set-up: fresh
 * nonces, and lc_prov_derive over the handshake and the reply (up to its
 * proof) under the job's provider key, one label per direction.
 */
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include "lcofi.h"

int lcofi_nonce(uint8_t nonce[LCOFI_NONCE_LEN])
{
    if (getrandom(nonce, LCOFI_NONCE_LEN, 0) != LCOFI_NONCE_LEN)
        return lc_seterr(-EIO, LCOFI_SUBSYS, "getrandom: no random bytes for a nonce");
    return 0;
}

int lcofi_proof(const lcofi_ctx_t *ctx, const char *label, const lcofi_hs_t *hs,
                const lcofi_ack_t *ack, uint8_t proof[LCOFI_PROOF_LEN])
{
    uint8_t msg[sizeof(*hs) + offsetof(lcofi_ack_t, proof)];

    memcpy(msg, hs, sizeof(*hs));
    memcpy(msg + sizeof(*hs), ack, offsetof(lcofi_ack_t, proof));
    return lc_prov_derive(ctx->key, label, msg, sizeof(msg), proof, LCOFI_PROOF_LEN);
}

int lcofi_proof_ok(const lcofi_ctx_t *ctx, const char *label, const lcofi_hs_t *hs,
                   const lcofi_ack_t *ack, const uint8_t proof[LCOFI_PROOF_LEN])
{
    uint8_t want[LCOFI_PROOF_LEN], diff = 0;

    if (lcofi_proof(ctx, label, hs, ack, want))
        return 0;
    for (int i = 0; i < LCOFI_PROOF_LEN; i++)
        diff |= (uint8_t)(want[i] ^ proof[i]);
    return diff == 0;
}
