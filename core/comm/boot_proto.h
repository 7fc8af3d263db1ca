/*
 * boot_proto.h - the rendezvous' messages, between bootstrap.c (a rank) and
 * boot_root.c (the root). On each connection:
 *   root -> rank   challenge: a fresh nonce of the root's
 *   rank -> root   hello: arguments, handle, a fresh nonce of the rank's, and
 *                  HMAC(bootstrap key, "hello", root nonce, hello)
 *   root -> rank   reply: status and what happened in words, then (status 0)
 *                  the table of handles and host keys; HMAC(key, "reply", rank nonce, reply,
 *                  table) proves it comes from the job's root and is fresh.
 * Nothing on the wire lets a listener answer another challenge: the nonces
 * come from getrandom() for every connection.
 */
#ifndef LC_BOOT_PROTO_H
#define LC_BOOT_PROTO_H

#include "bootstrap.h"

#define LC_BOOT_MAGIC 0x4c43424fu /* "LCBO" */
#define LC_BOOT_VERSION 3u
#define LC_BOOT_MSG 128

struct lc_boot_challenge {
    uint32_t magic;
    uint32_t version;
    uint8_t nonce[LC_NONCE_LEN];
};

struct lc_boot_hello {
    uint32_t magic;
    uint32_t version;
    uint64_t job_id;
    int32_t rank;
    int32_t nranks;
    char provider[LC_BOOT_PROV_NAME];
    uint8_t handle[LC_PROV_HANDLE_MAX];
    uint64_t host;
    int32_t shm_pid, shm_fd;
    uint8_t nonce[LC_NONCE_LEN];
    uint8_t tag[LC_SHA256_LEN]; /* last */
};

struct lc_boot_reply {
    uint32_t magic;
    int32_t status;
    int32_t nranks;             /* entries of the table that follows (status 0) */
    uint32_t pad;
    char msg[LC_BOOT_MSG];      /* what happened, for the rank's error message */
    uint8_t tag[LC_SHA256_LEN]; /* last */
};

/* The hello's proof: over the root's nonce and the hello up to its tag. */
LC_HIDDEN void lc_boot_hello_tag(const uint8_t key[LC_SHA256_LEN],
                                 const uint8_t root_nonce[LC_NONCE_LEN],
                                 const struct lc_boot_hello *h, uint8_t tag[LC_SHA256_LEN]);

/* The reply's proof: over the rank's nonce, the reply up to its tag and the table. */
LC_HIDDEN void lc_boot_reply_tag(const uint8_t key[LC_SHA256_LEN],
                                 const uint8_t rank_nonce[LC_NONCE_LEN],
                                 const struct lc_boot_reply *r, const uint8_t *table,
                                 size_t tlen, uint8_t tag[LC_SHA256_LEN]);

#endif
