/*
 * bootstrap.c - rendezvous over TCP. Each rank connects to the root and sends
 * a hello (magic, version, job key hash, rank, size, provider, listen handle).
 * The root refuses a wrong key, a duplicate or out-of-range rank and a size or
 * provider that differs from the others' with a status code, and once all ranks
 * have joined sends every rank the table of all handles.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bootstrap.h"
#include "sock.h"

#define LC_BOOT_MAGIC 0x4c43424fu /* "LCBO" */
#define LC_BOOT_VERSION 1u

struct lc_boot_hello {
    uint32_t magic;
    uint32_t version;
    uint64_t key_hash;
    int32_t rank;
    int32_t nranks;
    char provider[LC_BOOT_PROV_NAME];
    uint8_t handle[LC_PROV_HANDLE_MAX];
};

struct lc_boot_reply {
    uint32_t magic;
    int32_t status;
};

struct lc_boot_root {
    int lfd;
    uint64_t key_hash;
    int timeout_ms;
};

static void lc_boot_reply(int fd, int status, double deadline)
{
    struct lc_boot_reply r = {.magic = LC_BOOT_MAGIC, .status = status};
    lc_sock_send(fd, &r, sizeof(r), deadline);
}

/* Validate one hello against the job; 0 to accept it. */
static int lc_boot_check(const struct lc_boot_root *root, const struct lc_boot_hello *h,
                         const struct lc_boot_hello *first, const int *fds)
{
    if (h->magic != LC_BOOT_MAGIC || h->version != LC_BOOT_VERSION)
        return LC_ERR_PROTO;
    if (h->key_hash != root->key_hash)
        return LC_ERR_JOB_KEY;
    if (h->nranks < 1 || h->rank < 0 || h->rank >= h->nranks)
        return -EINVAL;
    if (first && (h->nranks != first->nranks ||
                  strncmp(h->provider, first->provider, LC_BOOT_PROV_NAME)))
        return LC_ERR_MISMATCH;
    if (fds && fds[h->rank] >= 0)
        return -EADDRINUSE;
    return 0;
}

static void *lc_boot_root_main(void *arg)
{
    struct lc_boot_root *root = arg;
    double deadline = lc_now() + root->timeout_ms / 1000.0;
    struct lc_boot_hello *hellos = NULL, first;
    int *fds = NULL, nranks = 0, joined = 0;

    while (!nranks || joined < nranks) {
        struct lc_boot_hello h;
        int fd, rc;
        double io_deadline;

        fd = -1;
        while (fd < 0 && lc_now() < deadline) {
            struct pollfd pfd = {.fd = root->lfd, .events = POLLIN};

            if (poll(&pfd, 1, 100) > 0)
                fd = accept4(root->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        }
        if (fd < 0)
            break; /* timed out: the clients see their sockets close */
        io_deadline = lc_now() + 5.0;
        if (io_deadline > deadline)
            io_deadline = deadline;
        if (lc_sock_recv(fd, &h, sizeof(h), io_deadline)) {
            close(fd);
            continue;
        }
        rc = lc_boot_check(root, &h, nranks ? &first : NULL, fds);
        if (rc) {
            LC_WARN("bootstrap", "root refused rank %d: %s", h.rank, lc_strerror(rc));
            lc_boot_reply(fd, rc, io_deadline);
            close(fd);
            continue;
        }
        if (!nranks) {
            first = h;
            nranks = h.nranks;
            hellos = calloc((size_t)nranks, sizeof(*hellos));
            fds = malloc((size_t)nranks * sizeof(*fds));
            if (!hellos || !fds) {
                close(fd);
                break;
            }
            for (int i = 0; i < nranks; i++)
                fds[i] = -1;
        }
        hellos[h.rank] = h;
        fds[h.rank] = fd;
        joined++;
    }

    if (nranks && joined == nranks) {
        size_t tlen = (size_t)nranks * LC_PROV_HANDLE_MAX;
        uint8_t *table = malloc(tlen);

        for (int i = 0; table && i < nranks; i++)
            memcpy(table + (size_t)i * LC_PROV_HANDLE_MAX, hellos[i].handle,
                   LC_PROV_HANDLE_MAX);
        for (int i = 0; i < nranks; i++) {
            lc_boot_reply(fds[i], table ? 0 : -ENOMEM, deadline);
            if (table)
                lc_sock_send(fds[i], table, tlen, deadline);
        }
        free(table);
    }
    for (int i = 0; fds && i < nranks; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    free(hellos);
    close(root->lfd);
    free(root);
    return NULL;
}

int lc_boot_root_start(const char *host, const char *port, uint64_t key_hash, int timeout_ms,
                       int *port_out)
{
    struct lc_boot_root *root;
    pthread_attr_t attr;
    pthread_t tid;
    int fd, rc;

    fd = lc_sock_listen(host, port, port_out);
    if (fd < 0)
        return fd;
    root = calloc(1, sizeof(*root));
    if (!root) {
        close(fd);
        return -ENOMEM;
    }
    root->lfd = fd;
    root->key_hash = key_hash;
    root->timeout_ms = timeout_ms;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&tid, &attr, lc_boot_root_main, root);
    pthread_attr_destroy(&attr);
    if (rc) {
        close(fd);
        free(root);
        return lc_seterr(-rc, "bootstrap", "cannot start the root thread");
    }
    return 0;
}

int lc_boot_exchange(const char *host, const char *port, const lc_boot_info_t *self,
                     int timeout_ms, uint8_t *handles)
{
    double deadline = lc_now() + timeout_ms / 1000.0;
    struct lc_boot_hello h = {.magic = LC_BOOT_MAGIC, .version = LC_BOOT_VERSION};
    struct lc_boot_reply r;
    int fd, rc;

    h.key_hash = self->key_hash;
    h.rank = self->rank;
    h.nranks = self->nranks;
    memcpy(h.provider, self->provider, LC_BOOT_PROV_NAME);
    memcpy(h.handle, self->handle, LC_PROV_HANDLE_MAX);

    fd = lc_sock_connect(host, port, deadline);
    if (fd < 0)
        return fd;
    rc = lc_sock_send(fd, &h, sizeof(h), deadline);
    if (!rc)
        rc = lc_sock_recv(fd, &r, sizeof(r), deadline);
    if (rc) {
        rc = lc_seterr(rc == -ECONNRESET ? -ETIMEDOUT : rc, "bootstrap",
                       "rank %d: no answer from the root %s:%s within %d ms (%s)", self->rank,
                       host, port, timeout_ms, lc_strerror(rc));
        goto out;
    }
    if (r.magic != LC_BOOT_MAGIC) {
        rc = lc_seterr(LC_ERR_PROTO, "bootstrap", "%s:%s is not a lioncub root", host, port);
        goto out;
    }
    if (r.status) {
        rc = lc_seterr(r.status, "bootstrap", "rank %d refused by the root %s:%s: %s",
                       self->rank, host, port, lc_strerror(r.status));
        goto out;
    }
    rc = lc_sock_recv(fd, handles, (size_t)self->nranks * LC_PROV_HANDLE_MAX, deadline);
    if (rc)
        rc = lc_seterr(rc, "bootstrap", "rank %d: lost the root while reading the table",
                       self->rank);
out:
    close(fd);
    return rc;
}
