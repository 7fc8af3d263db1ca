/*
 * kdf.c - HMAC-SHA-256 (RFC 2104), HKDF-SHA-256 (RFC 5869), the job's key
 * schedule (a master key extracted from the job's secret, from which the
 * bootstrap's and the providers' keys are expanded), lc_prov_derive for
 * providers, fresh nonces and a constant-time compare.
 */
#include <string.h>
#include <sys/random.h>

#include "sec.h"

#define LC_JOB_SALT "lioncub job key v1"

void lc_hmac_sha256(const void *key, size_t keylen, const lc_iov_c_t *parts, int n,
                    uint8_t out[LC_SHA256_LEN])
{
    uint8_t k[64] = {0}, pad[64], inner[LC_SHA256_LEN];
    lc_sha256_t s;

    if (keylen > 64) {
        lc_sha256_init(&s);
        lc_sha256_update(&s, key, keylen);
        lc_sha256_final(&s, k);
    } else if (keylen) {
        memcpy(k, key, keylen);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    lc_sha256_init(&s);
    lc_sha256_update(&s, pad, 64);
    for (int i = 0; i < n; i++)
        lc_sha256_update(&s, parts[i].p, parts[i].len);
    lc_sha256_final(&s, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    lc_sha256_init(&s);
    lc_sha256_update(&s, pad, 64);
    lc_sha256_update(&s, inner, sizeof(inner));
    lc_sha256_final(&s, out);
}

void lc_hkdf_extract(const void *salt, size_t saltlen, const void *ikm, size_t ikmlen,
                     uint8_t prk[LC_SHA256_LEN])
{
    lc_iov_c_t part = {ikm, ikmlen};

    lc_hmac_sha256(salt, saltlen, &part, 1, prk);
}

/* T(i) = HMAC(prk, T(i-1) | info... | i), with info given in parts. */
static int lc_hkdf_expand_parts(const uint8_t prk[LC_SHA256_LEN], const lc_iov_c_t *info,
                                int ninfo, void *out, size_t outlen)
{
    uint8_t t[LC_SHA256_LEN], *o = out;
    lc_iov_c_t parts[4];
    size_t done = 0;

    if (outlen > 255 * LC_SHA256_LEN || ninfo > 2)
        return -EINVAL;
    for (uint8_t i = 1; done < outlen; i++) {
        size_t take = outlen - done < LC_SHA256_LEN ? outlen - done : LC_SHA256_LEN;
        int n = 0;

        if (i > 1)
            parts[n++] = (lc_iov_c_t){t, sizeof(t)};
        for (int j = 0; j < ninfo; j++)
            parts[n++] = info[j];
        parts[n++] = (lc_iov_c_t){&i, 1};
        lc_hmac_sha256(prk, LC_SHA256_LEN, parts, n, t);
        memcpy(o + done, t, take);
        done += take;
    }
    return 0;
}

int lc_hkdf_expand(const uint8_t prk[LC_SHA256_LEN], const void *info, size_t infolen,
                   void *out, size_t outlen)
{
    lc_iov_c_t part = {info, infolen};

    return lc_hkdf_expand_parts(prk, &part, 1, out, outlen);
}

void lc_job_keys(const void *secret, size_t len, lc_job_keys_t *keys)
{
    uint8_t master[LC_SHA256_LEN];

    lc_hkdf_extract(LC_JOB_SALT, sizeof(LC_JOB_SALT) - 1, secret ? secret : "",
                    secret ? len : 0, master);
    lc_hkdf_expand(master, "lioncub job id", 14, &keys->job_id, sizeof(keys->job_id));
    if (!secret)
        keys->job_id = 0;
    lc_hkdf_expand(master, "lioncub bootstrap", 17, keys->boot, sizeof(keys->boot));
    lc_hkdf_expand(master, "lioncub provider", 16, keys->prov, sizeof(keys->prov));
    memset(master, 0, sizeof(master));
}

int lc_prov_derive(const uint8_t key[LC_PROV_KEY_LEN], const char *label, const void *ctx,
                   size_t ctxlen, void *out, size_t outlen)
{
    lc_iov_c_t info[2];

    if (!key || !label || (!ctx && ctxlen) || !out || !outlen || outlen > 64)
        return LC_EINVAL("sec", "lc_prov_derive: NULL argument or output of %zu bytes", outlen);
    /* the label's NUL ends it, so that no label/context pair reads as another */
    info[0] = (lc_iov_c_t){label, strlen(label) + 1};
    info[1] = (lc_iov_c_t){ctx ? ctx : "", ctxlen};
    return lc_hkdf_expand_parts(key, info, 2, out, outlen);
}

int lc_random(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = getrandom(p, len, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return lc_seterr(-errno, "sec", "getrandom: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int lc_ct_diff(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;

    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d != 0;
}
