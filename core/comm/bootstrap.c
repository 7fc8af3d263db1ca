/*
 * bootstrap.c - a rank's side of the rendezvous over TCP (boot_proto.h): it
 * answers the root's challenge with its hello and proof, and accepts a reply
 * only with the root's proof over its own nonce. A root that closes the
 * connection before replying (it drops connections beyond its cap of pending
 * ones, or ones too slow to answer) is tried again until the timeout.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "boot_proto.h"
#include "sock.h"

void lc_boot_hello_tag(const uint8_t key[LC_SHA256_LEN], const uint8_t root_nonce[LC_NONCE_LEN],
                       const struct lc_boot_hello *h, uint8_t tag[LC_SHA256_LEN])
{
    const lc_iov_c_t parts[] = {{"hello", 6},
                                {root_nonce, LC_NONCE_LEN},
                                {h, offsetof(struct lc_boot_hello, tag)}};

    lc_hmac_sha256(key, LC_SHA256_LEN, parts, 3, tag);
}

void lc_boot_reply_tag(const uint8_t key[LC_SHA256_LEN], const uint8_t rank_nonce[LC_NONCE_LEN],
                       const struct lc_boot_reply *r, const uint8_t *table, size_t tlen,
                       uint8_t tag[LC_SHA256_LEN])
{
    const lc_iov_c_t parts[] = {{"reply", 6},
                                {rank_nonce, LC_NONCE_LEN},
                                {r, offsetof(struct lc_boot_reply, tag)},
                                {table, tlen}};

    lc_hmac_sha256(key, LC_SHA256_LEN, parts, table ? 4 : 3, tag);
}

/* One attempt. 1: the root closed before replying (try again); 0 or a negative code. */
static int lc_boot_try(int fd, const char *where, const lc_boot_info_t *self, double deadline,
                       lc_boot_entry_t *table)
{
    size_t tlen = (size_t)self->nranks * sizeof(*table);
    struct lc_boot_challenge ch;
    struct lc_boot_hello h;
    struct lc_boot_reply r;
    uint8_t tag[LC_SHA256_LEN];
    int rc;

    rc = lc_sock_recv(fd, &ch, sizeof(ch), deadline);
    if (rc)
        return rc == -ETIMEDOUT ? rc : 1;
    if (ch.magic != LC_BOOT_MAGIC || ch.version != LC_BOOT_VERSION)
        return lc_seterr(LC_ERR_PROTO, "bootstrap",
                         "%s is not a lioncub root of protocol version %u", where,
                         LC_BOOT_VERSION);
    memset(&h, 0, sizeof(h));
    h.magic = LC_BOOT_MAGIC;
    h.version = LC_BOOT_VERSION;
    h.job_id = self->job_id;
    h.rank = self->rank;
    h.nranks = self->nranks;
    memcpy(h.provider, self->provider, LC_BOOT_PROV_NAME);
    memcpy(h.handle, self->handle, LC_PROV_HANDLE_MAX);
    h.host = self->host;
    h.shm_pid = self->shm_pid;
    h.shm_fd = self->shm_fd;
    if ((rc = lc_random(h.nonce, sizeof(h.nonce))))
        return rc;
    lc_boot_hello_tag(self->key, ch.nonce, &h, h.tag);
    rc = lc_sock_send(fd, &h, sizeof(h), deadline);
    if (!rc)
        rc = lc_sock_recv(fd, &r, sizeof(r), deadline);
    if (rc)
        return rc == -ETIMEDOUT ? rc : 1;
    if (r.magic != LC_BOOT_MAGIC)
        return lc_seterr(LC_ERR_PROTO, "bootstrap", "%s is not a lioncub root", where);
    r.msg[LC_BOOT_MSG - 1] = 0;
    if (r.status == 0 && r.nranks == self->nranks) {
        rc = lc_sock_recv(fd, table, tlen, deadline);
        if (rc)
            return lc_seterr(rc, "bootstrap", "rank %d: lost the root %s while reading the table",
                             self->rank, where);
    }
    lc_boot_reply_tag(self->key, h.nonce, &r, r.status ? NULL : (const uint8_t *)table, tlen, tag);
    if (lc_ct_diff(tag, r.tag, sizeof(tag))) {
        if (r.status)
            return lc_seterr(r.status, "bootstrap",
                             "rank %d refused by the root %s: %s (%s; the reply is not proven: "
                             "the root holds another job key)",
                             self->rank, where, r.msg, lc_strerror(r.status));
        return lc_seterr(LC_ERR_JOB_KEY, "bootstrap",
                         "rank %d: the root %s's reply carries no valid proof of the job key: "
                         "not this job's root",
                         self->rank, where);
    }
    if (r.status)
        return lc_seterr(r.status, "bootstrap", "rank %d: the root %s refused the job: %s",
                         self->rank, where, r.msg);
    return 0;
}

int lc_boot_exchange(const char *host, const char *port, const lc_boot_info_t *self,
                     int timeout_ms, lc_boot_entry_t *table)
{
    double start = lc_now(), deadline = start + timeout_ms / 1000.0;
    char where[160];
    int closed = 0, rc;

    snprintf(where, sizeof(where), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
    for (;;) {
        int fd = lc_sock_connect(host, port, deadline);

        if (fd < 0)
            return fd; /* the message names the root and the reason */
        rc = lc_boot_try(fd, where, self, deadline, table);
        close(fd);
        if (rc != 1)
            break;
        closed++;
        if (lc_now() + 0.05 > deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        usleep(50000);
    }
    if (rc == -ETIMEDOUT)
        rc = lc_seterr(rc, "bootstrap",
                       "rank %d: no answer from the root %s within %d ms (it closed %d "
                       "connection%s before answering)",
                       self->rank, where, timeout_ms, closed, closed == 1 ? "" : "s");
    return rc;
}
