/*
 * lcn_send.c - the sending side of a plugin connection: each NCCL isend
 * becomes a header message (magic, tag, size; small payloads inline) and,
 * for payloads above LCN_EAGER_MAX, the payload as a second message sent
 * straight from the caller's buffer. See lcn_recv.c for the protocol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lcn.h"

struct lcn_sreq {
    int kind;
    int used;
    struct lcn_send *comm;
    lc_prov_req_t *hreq; /* provider request of the header */
    lc_prov_req_t *preq; /* provider request of the payload */
    int payload_due; /* payload still to be posted */
    const void *buf;
    size_t size;
    lc_prov_mr_t *pmh;
    unsigned char hdr[LCN_HDR_SIZE + LCN_EAGER_MAX];
};

struct lcn_send {
    struct lcn_comm base;
    int err;                  /* sticky: the stream is broken */
    struct lcn_sreq *pending; /* header sent, payload not yet accepted */
    struct lcn_sreq reqs[LCN_MAX_REQS];
};

int lcn_send_open(struct lcn_dev *dev, lc_prov_comm_t *pc, void **send_comm)
{
    struct lcn_send *c = calloc(1, sizeof(*c));

    if (!c)
        return lc_seterr(-ENOMEM, "nccl", "out of memory for a send comm");
    c->base.kind = LCN_K_SEND;
    c->base.dev = dev;
    c->base.pc = pc;
    *send_comm = c;
    return 0;
}

/* Post the payload of the pending request; it stays pending on "retry". */
static int lcn_send_flush(struct lcn_send *c)
{
    struct lcn_sreq *r = c->pending;
    int rc;

    rc = c->base.dev->prov->isend(c->base.pc, r->buf, r->size, r->pmh, &r->preq);
    if (rc < 0) {
        c->err = rc;
        c->pending = NULL;
        return rc;
    }
    if (r->preq) {
        r->payload_due = 0;
        c->pending = NULL;
    }
    return 0;
}

lcn_res_t lcn_isend(void *send_comm, void *data, size_t size, int tag, void *mh, void **req)
{
    struct lcn_send *c = send_comm;
    struct lcn_sreq *r = NULL;
    uint32_t magic = LCN_MAGIC;
    uint64_t size64 = size;
    int inl = size <= LCN_EAGER_MAX, rc;

    *req = NULL;
    if (c->err)
        return lcn_res(c->err);
    /* Messages leave in order: nothing new while a payload waits. */
    if (c->pending && (rc = lcn_send_flush(c)) < 0)
        return lcn_res(rc);
    if (c->pending)
        return LCN_OK;
    for (int i = 0; i < LCN_MAX_REQS && !r; i++)
        if (!c->reqs[i].used)
            r = &c->reqs[i];
    if (!r)
        return LCN_OK;
    memcpy(r->hdr, &magic, 4);
    memcpy(r->hdr + 4, &tag, 4);
    memcpy(r->hdr + 8, &size64, 8);
    if (inl && size)
        memcpy(r->hdr + LCN_HDR_SIZE, data, size);
    rc = c->base.dev->prov->isend(c->base.pc, r->hdr, LCN_HDR_SIZE + (inl ? size : 0), NULL,
                                  &r->hreq);
    if (rc < 0) {
        c->err = rc;
        return lcn_res(rc);
    }
    if (!r->hreq)
        return LCN_OK; /* provider busy: NCCL retries */
    r->kind = LCN_K_SREQ;
    r->used = 1;
    r->comm = c;
    r->preq = NULL;
    r->buf = data;
    r->size = size;
    r->pmh = mh ? ((struct lcn_mr *)mh)->pmh : NULL;
    r->payload_due = !inl;
    if (!inl) {
        c->pending = r;
        if ((rc = lcn_send_flush(c)) < 0)
            return lcn_res(rc);
    }
    *req = r;
    return LCN_OK;
}

/* Test one provider request; clears *preq when it completed. */
static int lcn_send_poll(const lc_provider_t *prov, lc_prov_req_t **preq)
{
    int done = 0, rc;

    if (!*preq)
        return 0;
    rc = prov->test(*preq, &done, NULL);
    if (rc < 0 || done)
        *preq = NULL;
    return rc;
}

lcn_res_t lcn_send_test(void *req, int *done, int *sizes)
{
    struct lcn_sreq *r = req;
    struct lcn_send *c = r->comm;
    const lc_provider_t *prov = c->base.dev->prov;
    int rc = 0;

    *done = 0;
    if (c->pending) /* whichever request NCCL tests, keep the stream moving */
        rc = lcn_send_flush(c);
    if (rc == 0)
        rc = lcn_send_poll(prov, &r->hreq);
    if (rc == 0)
        rc = lcn_send_poll(prov, &r->preq);
    if (rc < 0) {
        c->err = rc;
    } else if (c->err && (r->payload_due || r->hreq || r->preq)) {
        rc = c->err; /* an earlier failure broke the stream under this request */
    } else if (r->payload_due || r->hreq || r->preq) {
        return LCN_OK;
    }
    if (rc == 0 && sizes)
        sizes[0] = (int)r->size;
    r->used = 0;
    *done = 1;
    return lcn_res(rc);
}

lcn_res_t lcn_close_send(void *send_comm)
{
    struct lcn_send *c = send_comm;
    int rc;

    if (!c)
        return LCN_OK;
    rc = c->base.dev->prov->close_send(c->base.pc);
    free(c);
    return lcn_res(rc);
}
