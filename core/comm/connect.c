/*
 * connect.c - build the full mesh of one-directional provider connections:
 * rank r connects to every peer's listen handle and accepts one connection
 * from every peer; the first message on each connection names its sender.
 */
#include <stdlib.h>
#include <string.h>

#include "comm.h"

struct lc_hello_msg {
    int32_t rank;
    uint32_t pad;
    uint64_t job_id;
};

/* Post, then test until done, one small message; 0 or a negative code. */
static int lc_small_wait(struct lc_comm *c, lc_prov_req_t **reqs, int n, double deadline)
{
    int left = n;

    while (left) {
        for (int i = 0; i < n; i++) {
            int done = 0, rc;

            if (!reqs[i])
                continue;
            rc = c->prov->test(reqs[i], &done, NULL);
            if (rc)
                return rc;
            if (done) {
                reqs[i] = NULL;
                left--;
            }
        }
        if (left && lc_now() > deadline)
            return -ETIMEDOUT;
    }
    return 0;
}

int lc_comm_connect_all(struct lc_comm *c, const uint8_t *handles)
{
    double deadline = lc_now() + c->timeout_ms / 1000.0;
    int p = c->nranks, r = c->rank, nacc = 0, nconn = 0, rc = 0;
    lc_prov_comm_t **acc = calloc((size_t)p, sizeof(*acc));
    lc_prov_req_t **reqs = calloc(2 * (size_t)p, sizeof(*reqs));
    struct lc_hello_msg *msgs = calloc((size_t)p, sizeof(*msgs));
    struct lc_hello_msg mine = {.rank = r, .job_id = c->job_id};

    if (!acc || !reqs || !msgs) {
        rc = -ENOMEM;
        goto out;
    }
    while (nconn < p - 1 || nacc < p - 1) {
        for (int j = 0; j < p; j++) {
            if (j == r || c->send[j])
                continue;
            rc = c->prov->connect(c->ctx, c->dev, handles + (size_t)j * LC_PROV_HANDLE_MAX,
                                  &c->send[j]);
            if (rc) {
                rc = lc_seterr(rc, "comm", "rank %d: connecting to rank %d failed: %s", r, j,
                               lc_strerror(rc));
                goto out;
            }
            if (c->send[j])
                nconn++;
        }
        if (nacc < p - 1) {
            rc = c->prov->accept(c->listen, &acc[nacc]);
            if (rc) {
                rc = lc_seterr(rc, "comm", "rank %d: accept failed: %s", r, lc_strerror(rc));
                goto out;
            }
            if (acc[nacc])
                nacc++;
        }
        if (lc_now() > deadline) {
            rc = lc_seterr(-ETIMEDOUT, "comm",
                           "rank %d: only %d of %d peers connected within %d ms", r,
                           nconn < nacc ? nconn : nacc, p - 1, c->timeout_ms);
            goto out;
        }
    }

    /* Name ourselves on every send connection; learn who is behind each accepted one. */
    for (int j = 0, k = 0; j < p; j++) {
        if (j == r)
            continue;
        while (!reqs[k]) {
            rc = c->prov->isend(c->send[j], &mine, sizeof(mine), NULL, &reqs[k]);
            if (rc)
                goto fail_msg;
        }
        k++;
    }
    for (int k = 0; k < nacc; k++) {
        while (!reqs[p - 1 + k]) {
            rc = c->prov->irecv(acc[k], &msgs[k], sizeof(msgs[k]), NULL, &reqs[p - 1 + k]);
            if (rc)
                goto fail_msg;
        }
    }
    rc = lc_small_wait(c, reqs, 2 * (p - 1), deadline);
    if (rc)
        goto fail_msg;
    for (int k = 0; k < nacc; k++) {
        int j = msgs[k].rank;

        if (j < 0 || j >= p || j == r || c->recv[j] || msgs[k].job_id != c->job_id) {
            rc = lc_seterr(LC_ERR_PROTO, "comm", "rank %d: unexpected hello from rank %d", r,
                           j);
            goto out;
        }
        c->recv[j] = acc[k];
        acc[k] = NULL;
    }
    goto out;
fail_msg:
    rc = lc_seterr(rc, "comm", "rank %d: exchanging ranks over new connections failed: %s", r,
                   lc_strerror(rc));
out:
    for (int k = 0; acc && k < nacc; k++)
        if (acc[k])
            c->prov->close_recv(acc[k]);
    free(acc);
    free(reqs);
    free(msgs);
    return rc;
}

void lc_comm_close_all(struct lc_comm *c)
{
    if (c->send && c->recv)
        lc_comm_scratch_dereg_all(c);
    for (int j = 0; j < c->nranks; j++) {
        if (c->send && c->send[j]) {
            c->prov->close_send(c->send[j]);
            c->send[j] = NULL;
        }
        if (c->recv && c->recv[j]) {
            c->prov->close_recv(c->recv[j]);
            c->recv[j] = NULL;
        }
    }
    if (c->listen) {
        c->prov->close_listen(c->listen);
        c->listen = NULL;
    }
}
