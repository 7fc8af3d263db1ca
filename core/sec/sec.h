/*
 * sec.h - the keyed primitives behind lioncub's authentication: SHA-256
 * (FIPS 180-4), HMAC-SHA-256 (RFC 2104), HKDF-SHA-256 (RFC 5869), the job's
 * key schedule, fresh nonces, and a constant-time compare.
 */
#ifndef LC_SEC_H
#define LC_SEC_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define LC_SHA256_LEN 32
#define LC_NONCE_LEN 16

typedef struct lc_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} lc_sha256_t;

LC_HIDDEN void lc_sha256_init(lc_sha256_t *s);
LC_HIDDEN void lc_sha256_update(lc_sha256_t *s, const void *data, size_t len);
LC_HIDDEN void lc_sha256_final(lc_sha256_t *s, uint8_t out[LC_SHA256_LEN]);

/* HMAC-SHA-256 over the concatenation of n (data, len) parts. */
typedef struct lc_iov_c {
    const void *p;
    size_t len;
} lc_iov_c_t;
LC_HIDDEN void lc_hmac_sha256(const void *key, size_t keylen, const lc_iov_c_t *parts, int n,
                              uint8_t out[LC_SHA256_LEN]);

/* HKDF-SHA-256 (RFC 5869): extract a pseudorandom key, expand it into outlen
 * bytes (at most 255 * 32) for info. */
LC_HIDDEN void lc_hkdf_extract(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                               uint8_t prk[LC_SHA256_LEN]);
LC_HIDDEN int lc_hkdf_expand(const uint8_t prk[LC_SHA256_LEN], const void *info, size_t infolen,
                             void *out, size_t outlen);

/* The job's keys, expanded from a master key that HKDF-Extract makes of its
 * secret (LC_JOB_KEY, or a unique id's random bytes). A NULL secret gives
 * public keys (a job without a key: they authenticate nothing, but keep one
 * code path) and job id 0. */
typedef struct lc_job_keys {
    uint64_t job_id;                /* public: tells jobs apart, proves nothing */
    uint8_t boot[LC_SHA256_LEN];    /* the rendezvous' HMAC key */
    uint8_t prov[LC_PROV_KEY_LEN];  /* the providers' key (lc_prov_init_opts_t.key) */
} lc_job_keys_t;
LC_HIDDEN void lc_job_keys(const void *secret, size_t len, lc_job_keys_t *keys);

/* len fresh random bytes from getrandom(); 0 or a negative errno (logged). */
LC_HIDDEN int lc_random(void *buf, size_t len);

/* 0 when the n bytes of a and b are equal, in time independent of their content. */
LC_HIDDEN int lc_ct_diff(const void *a, const void *b, size_t n);

#endif
