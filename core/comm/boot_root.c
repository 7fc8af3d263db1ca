/*
 * boot_root.c - the rendezvous root: one thread multiplexes its listener and
 * every connection with poll(). Each new connection gets a fresh challenge
 * and LC_BOOT_HELLO_S to answer it; at most LC_BOOT_PENDING connections wait
 * for their hello at a time (a new one evicts the oldest), so idle or hostile
 * connections cannot stall a job. A hello without a valid proof of the job
 * key is refused alone; an authenticated one that conflicts with the job
 * (another size or provider, a rank out of range or taken) ends the job for
 * every rank with a message naming the difference, as does the timeout. Once
 * all ranks have joined, the listener closes before any rank gets the table.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot_proto.h"
#include "sock.h"

#define LC_BOOT_PENDING 64   /* connections waiting for their hello */
#define LC_BOOT_HELLO_S 2.0  /* s a connection has to send its hello */

/* A connection whose hello has not arrived (or a joined rank's, fd only). */
struct lc_boot_conn {
    int fd;
    double deadline;
    size_t off;
    uint8_t nonce[LC_NONCE_LEN];
    struct lc_boot_hello h;
};

struct lc_boot_root {
    int lfd;
    uint64_t job_id;
    uint8_t key[LC_SHA256_LEN];
    int timeout_ms;
    struct lc_boot_conn pend[LC_BOOT_PENDING];
    int npend;
    struct lc_boot_hello *hellos; /* by rank, once the first hello fixed the size */
    int *fds;                     /* joined ranks' connections, -1 if not joined */
    int first, nranks, joined;
    int refused;                  /* hellos without a valid proof, or malformed */
    int dropped;                  /* connections closed for silence or the cap */
};

static void lc_boot_send_reply(struct lc_boot_root *root, int fd, const uint8_t *nonce,
                               int status, const char *msg, const lc_boot_entry_t *table,
                               double deadline)
{
    struct lc_boot_reply r;
    size_t tlen = table ? (size_t)root->nranks * sizeof(lc_boot_entry_t) : 0;

    memset(&r, 0, sizeof(r));
    r.magic = LC_BOOT_MAGIC;
    r.status = status;
    r.nranks = table ? root->nranks : 0;
    snprintf(r.msg, sizeof(r.msg), "%s", msg);
    lc_boot_reply_tag(root->key, nonce, &r, (const uint8_t *)table, tlen, r.tag);
    if (!lc_sock_send(fd, &r, sizeof(r), deadline) && table)
        lc_sock_send(fd, table, tlen, deadline);
}

/* End the job for every joined rank with status and msg. */
static void lc_boot_fail_all(struct lc_boot_root *root, int status, const char *msg)
{
    double deadline = lc_now() + LC_BOOT_HELLO_S;

    LC_WARN("bootstrap", "root: %s", msg);
    for (int i = 0; i < root->nranks; i++)
        if (root->fds[i] >= 0)
            lc_boot_send_reply(root, root->fds[i], root->hellos[i].nonce, status, msg, NULL,
                               deadline);
}

/* The ranks that have not joined, as "1, 3 of 4" into buf. */
static void lc_boot_missing(const struct lc_boot_root *root, char *buf, size_t len)
{
    size_t o = 0;
    int n = 0;

    buf[0] = 0;
    for (int i = 0; i < root->nranks && o + 16 < len; i++)
        if (root->fds[i] < 0)
            o += (size_t)snprintf(buf + o, len - o, "%s%d", n++ ? ", " : "", i);
    snprintf(buf + o, len - o, " of %d", root->nranks);
}

/*
 * An authenticated hello: 0 when it joins; else a status, with what differs
 * in msg. Ranks of the job are checked against the first hello's.
 */
static int lc_boot_admit(struct lc_boot_root *root, const struct lc_boot_hello *h, char *msg,
                         size_t len)
{
    const struct lc_boot_hello *f = root->nranks ? &root->hellos[root->first] : NULL;

    if (h->nranks < 1 || h->rank < 0 || h->rank >= h->nranks) {
        snprintf(msg, len, "a process says it is rank %d of %d", h->rank, h->nranks);
        return -EINVAL;
    }
    if (f && h->nranks != f->nranks) {
        snprintf(msg, len, "size mismatch: rank %d says the job has %d ranks, rank %d said %d",
                 h->rank, h->nranks, f->rank, f->nranks);
        return LC_ERR_MISMATCH;
    }
    if (f && strncmp(h->provider, f->provider, LC_BOOT_PROV_NAME)) {
        snprintf(msg, len, "provider mismatch: rank %d uses %.32s, rank %d uses %.32s", h->rank,
                 h->provider, f->rank, f->provider);
        return LC_ERR_MISMATCH;
    }
    if (f && root->fds[h->rank] >= 0) {
        snprintf(msg, len, "two processes claim rank %d", h->rank);
        return -EADDRINUSE;
    }
    return 0;
}

static void lc_boot_drop(struct lc_boot_root *root, int i)
{
    close(root->pend[i].fd);
    root->pend[i] = root->pend[--root->npend];
}

/* A complete hello from pending connection i. 1: the job cannot form. */
static int lc_boot_on_hello(struct lc_boot_root *root, int i)
{
    struct lc_boot_conn *pc = &root->pend[i];
    struct lc_boot_hello *h = &pc->h;
    uint8_t tag[LC_SHA256_LEN];
    char msg[LC_BOOT_MSG];
    int rc;

    lc_boot_hello_tag(root->key, pc->nonce, h, tag);
    if (h->magic != LC_BOOT_MAGIC || h->version != LC_BOOT_VERSION) {
        rc = LC_ERR_PROTO;
        snprintf(msg, sizeof(msg), "not a lioncub hello of protocol version %u",
                 LC_BOOT_VERSION);
    } else if (h->job_id != root->job_id || lc_ct_diff(tag, h->tag, sizeof(tag))) {
        rc = LC_ERR_JOB_KEY;
        snprintf(msg, sizeof(msg), "no valid proof of the job key");
    } else {
        rc = lc_boot_admit(root, h, msg, sizeof(msg));
        if (rc) {
            lc_boot_send_reply(root, pc->fd, h->nonce, rc, msg, NULL, pc->deadline);
            lc_boot_drop(root, i);
            if (root->nranks)
                lc_boot_fail_all(root, rc, msg);
            return 1;
        }
        if (!root->nranks) {
            root->hellos = calloc((size_t)h->nranks, sizeof(*root->hellos));
            root->fds = malloc((size_t)h->nranks * sizeof(*root->fds));
            if (!root->hellos || !root->fds) {
                lc_boot_send_reply(root, pc->fd, h->nonce, -ENOMEM, "the root is out of memory",
                                   NULL, pc->deadline);
                lc_boot_drop(root, i);
                return 1;
            }
            for (int j = 0; j < h->nranks; j++)
                root->fds[j] = -1;
            root->nranks = h->nranks;
            root->first = h->rank;
        }
        root->hellos[h->rank] = *h;
        root->fds[h->rank] = pc->fd;
        root->joined++;
        root->pend[i] = root->pend[--root->npend];
        return 0;
    }
    root->refused++;
    LC_WARN("bootstrap", "root refused a hello claiming rank %d: %s", h->rank, msg);
    lc_boot_send_reply(root, pc->fd, h->nonce, rc, msg, NULL, pc->deadline);
    lc_boot_drop(root, i);
    return 0;
}

/* Accept one connection and send its challenge; at the cap, the oldest pending goes. */
static void lc_boot_accept(struct lc_boot_root *root, double now)
{
    int fd = accept4(root->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    struct lc_boot_challenge ch = {.magic = LC_BOOT_MAGIC, .version = LC_BOOT_VERSION};
    struct lc_boot_conn *pc;

    if (fd < 0)
        return;
    if (root->npend == LC_BOOT_PENDING) {
        int old = 0;

        for (int i = 1; i < root->npend; i++)
            if (root->pend[i].deadline < root->pend[old].deadline)
                old = i;
        lc_boot_drop(root, old);
        root->dropped++;
    }
    pc = &root->pend[root->npend];
    memset(pc, 0, sizeof(*pc));
    pc->fd = fd;
    pc->deadline = now + LC_BOOT_HELLO_S;
    if (lc_random(pc->nonce, sizeof(pc->nonce))) {
        close(fd);
        return;
    }
    memcpy(ch.nonce, pc->nonce, sizeof(ch.nonce));
    /* a new socket's buffer holds the challenge: a short write means a dead peer */
    if (send(fd, &ch, sizeof(ch), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(ch)) {
        close(fd);
        return;
    }
    root->npend++;
}

/* Read what pending connection i has sent. 1: the job cannot form. */
static int lc_boot_read(struct lc_boot_root *root, int i)
{
    struct lc_boot_conn *pc = &root->pend[i];
    ssize_t n = recv(pc->fd, (char *)&pc->h + pc->off, sizeof(pc->h) - pc->off, MSG_DONTWAIT);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        lc_boot_drop(root, i);
        return 0;
    }
    pc->off += (size_t)n;
    return pc->off == sizeof(pc->h) ? lc_boot_on_hello(root, i) : 0;
}

/* A joined rank's connection became readable: it sends nothing more, so it closed. */
static void lc_boot_left(struct lc_boot_root *root, int rank)
{
    char c;
    ssize_t n = recv(root->fds[rank], &c, 1, MSG_DONTWAIT);

    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    LC_WARN("bootstrap", "root: rank %d %s before the job formed", rank,
            n > 0 ? "broke the protocol" : "left");
    close(root->fds[rank]);
    root->fds[rank] = -1;
    root->joined--;
}

/* Serve the job until it forms, fails or times out. 0 when every rank joined. */
static int lc_boot_serve(struct lc_boot_root *root)
{
    double deadline = lc_now() + root->timeout_ms / 1000.0;
    struct pollfd *pfd = NULL;
    size_t cap = 0;

    while (!root->nranks || root->joined < root->nranks) {
        double now = lc_now(), wake = deadline;
        size_t n = 0, need = 1 + LC_BOOT_PENDING + (size_t)root->nranks;
        int rc;

        if (now >= deadline)
            break;
        if (need > cap) {
            struct pollfd *p = realloc(pfd, need * sizeof(*pfd));
            if (!p)
                break;
            pfd = p;
            cap = need;
        }
        for (int i = 0; i < root->npend;) {
            if (root->pend[i].deadline <= now) {
                lc_boot_drop(root, i);
                root->dropped++;
                continue;
            }
            if (root->pend[i].deadline < wake)
                wake = root->pend[i].deadline;
            i++;
        }
        pfd[n++] = (struct pollfd){.fd = root->lfd, .events = POLLIN};
        for (int i = 0; i < root->npend; i++)
            pfd[n++] = (struct pollfd){.fd = root->pend[i].fd, .events = POLLIN};
        for (int i = 0; i < root->nranks; i++)
            pfd[n++] = (struct pollfd){.fd = root->fds[i], .events = POLLIN};
        rc = poll(pfd, n, (int)((wake - now) * 1000) + 1);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc <= 0)
            continue;
        /* joined ranks first (indices are stable), then pending from the end */
        for (int i = 0; i < root->nranks; i++)
            if (pfd[1 + root->npend + i].revents && root->fds[i] >= 0)
                lc_boot_left(root, i);
        for (int i = root->npend - 1; i >= 0; i--)
            if (pfd[1 + i].revents && lc_boot_read(root, i)) {
                free(pfd);
                return -1;
            }
        if (pfd[0].revents)
            lc_boot_accept(root, lc_now());
    }
    free(pfd);
    return root->nranks && root->joined == root->nranks ? 0 : 1;
}

static void *lc_boot_root_main(void *arg)
{
    struct lc_boot_root *root = arg;
    int rc = lc_boot_serve(root);

    /* no connection is served after this: the port is free when a rank returns */
    close(root->lfd);
    while (root->npend)
        lc_boot_drop(root, root->npend - 1);
    if (rc == 0) {
        lc_boot_entry_t *table = calloc((size_t)root->nranks, sizeof(*table));
        double deadline = lc_now() + root->timeout_ms / 1000.0;

        if (!table) {
            lc_boot_fail_all(root, -ENOMEM, "the root is out of memory");
        } else {
            for (int i = 0; i < root->nranks; i++) {
                memcpy(table[i].handle, root->hellos[i].handle, LC_PROV_HANDLE_MAX);
                table[i].host = root->hellos[i].host;
                table[i].shm_pid = root->hellos[i].shm_pid;
                table[i].shm_fd = root->hellos[i].shm_fd;
            }
            for (int i = 0; i < root->nranks; i++)
                lc_boot_send_reply(root, root->fds[i], root->hellos[i].nonce, 0, "", table,
                                   deadline);
        }
        free(table);
    } else if (rc == 1 && root->nranks) {
        char missing[64], msg[2 * LC_BOOT_MSG]; /* cut to LC_BOOT_MSG in the reply */

        lc_boot_missing(root, missing, sizeof(missing));
        snprintf(msg, sizeof(msg),
                 "rank(s) %s did not join within %d ms (%d hello(s) refused, %d silent "
                 "connection(s) closed)",
                 missing, root->timeout_ms, root->refused, root->dropped);
        lc_boot_fail_all(root, -ETIMEDOUT, msg);
    }
    for (int i = 0; root->fds && i < root->nranks; i++)
        if (root->fds[i] >= 0)
            close(root->fds[i]);
    free(root->fds);
    free(root->hellos);
    memset(root->key, 0, sizeof(root->key));
    free(root);
    return NULL;
}

int lc_boot_root_start(const char *host, const char *port, uint64_t job_id,
                       const uint8_t key[LC_SHA256_LEN], int timeout_ms, int *port_out)
{
    struct lc_boot_root *root;
    pthread_attr_t attr;
    pthread_t tid;
    int fd, rc;

    fd = lc_sock_listen(host, port, port_out);
    if (fd < 0)
        return fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    root = calloc(1, sizeof(*root));
    if (!root) {
        close(fd);
        return -ENOMEM;
    }
    root->lfd = fd;
    root->job_id = job_id;
    memcpy(root->key, key, sizeof(root->key));
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
