/*
 * lcn_recv.c - the receiving side of a plugin connection: tag matching and
 * grouped receives on top of a provider stream that only knows ordered,
 * untagged messages.
 *
 * Protocol. For every NCCL isend the sender emits, in order on the
 * one-directional provider connection:
 *   1. a header message: u32 magic "LCN1", i32 tag, u64 size (host byte
 *      order, the magic catches a foreign one); payloads of at most
 *      LCN_EAGER_MAX bytes follow inside this same message;
 *   2. for larger payloads, the payload as its own message, sent from the
 *      caller's (registered) buffer without a copy.
 * The receiver keeps exactly one provider receive for the next header
 * posted. When a header arrives it picks the destination, posts the payload
 * receive there, and only then posts the next header receive, so the
 * provider's in-order delivery lines every message up with the right buffer
 * while many payloads stay in flight at once.
 *
 * Matching. A header with tag t goes to the oldest posted NCCL receive that
 * still has an unfilled buffer tagged t (NCCL gives the buffers of one
 * grouped receive distinct tags; their sends may come in any order). So
 * large payloads land directly in NCCL's buffer: zero copy. A header with no
 * such buffer (the sender ran ahead of the receiver) becomes an unexpected
 * message whose payload is received into a bounce buffer; the next irecv
 * with that tag takes it over and copies it. Per tag, messages match in
 * send order. Headers are read only while some posted buffer is still
 * open, so a sender far ahead of the receiver is held back by the
 * provider's flow control instead of filling bounce buffers; NCCL's own
 * credits bound the unexpected messages to a few per channel. A message
 * larger than its buffer fails that receive with -EMSGSIZE (its bytes are
 * drained, so the stream stays usable).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lcn.h"

enum { LCN_SLOT_OPEN, LCN_SLOT_FILLING, LCN_SLOT_DONE };

struct lcn_slot {
    void *buf;
    size_t cap;
    size_t got;
    lc_prov_mr_t *pmh;
    int tag;
    int state;
};

struct lcn_rreq {
    int kind;
    int used;
    struct lcn_recv *comm;
    struct lcn_rreq *next; /* in the posted list while buffers are open */
    int posted;
    int n;
    int left; /* buffers not yet filled */
    int err;
    struct lcn_slot slot[LCN_MAX_RECVS];
};

/* A message whose header has arrived and that is not fully placed yet. */
struct lcn_msg {
    struct lcn_msg *next;
    int tag;
    size_t size;
    lc_prov_req_t *preq;    /* payload receive in flight, or NULL */
    void *bounce;           /* unexpected or drained payload */
    struct lcn_rreq *owner; /* matched receive (NULL: unexpected) */
    struct lcn_slot *slot;
    int arrived;
    int discard;
};

struct lcn_recv {
    struct lcn_comm base;
    int err;                 /* sticky: the stream is broken */
    int open;                /* posted buffers still waiting for a header */
    lc_prov_req_t *hreq;     /* provider receive of the next header */
    struct lcn_msg *stalled; /* header seen, payload receive not accepted yet */
    struct lcn_rreq *posted, *posted_tail;
    struct lcn_msg *msgs, *msgs_tail;
    unsigned char hbuf[LCN_HDR_SIZE + LCN_EAGER_MAX];
    struct lcn_rreq reqs[LCN_MAX_REQS];
};

int lcn_recv_open(struct lcn_dev *dev, lc_prov_comm_t *pc, void **recv_comm)
{
    struct lcn_recv *c = calloc(1, sizeof(*c));

    if (!c)
        return lc_seterr(-ENOMEM, "nccl", "out of memory for a receive comm");
    c->base.kind = LCN_K_RECV;
    c->base.dev = dev;
    c->base.pc = pc;
    *recv_comm = c;
    return 0;
}

static void lcn_unpost(struct lcn_recv *c, struct lcn_rreq *r)
{
    struct lcn_rreq **pp = &c->posted, *prev = NULL;

    if (!r->posted)
        return;
    while (*pp && *pp != r) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp)
        *pp = r->next;
    if (c->posted_tail == r)
        c->posted_tail = prev;
    r->posted = 0;
}

/* A buffer leaves the open state: its message has been identified. */
static void lcn_slot_claim(struct lcn_rreq *r, struct lcn_slot *s)
{
    if (s->state == LCN_SLOT_OPEN)
        r->comm->open--;
    s->state = LCN_SLOT_FILLING;
}

static void lcn_slot_done(struct lcn_rreq *r, struct lcn_slot *s, size_t got, int err)
{
    lcn_slot_claim(r, s);
    s->state = LCN_SLOT_DONE;
    s->got = got;
    if (err && !r->err)
        r->err = err;
    if (--r->left == 0)
        lcn_unpost(r->comm, r);
}

static int lcn_too_big(struct lcn_slot *s, size_t size)
{
    return lc_seterr(-EMSGSIZE, "nccl",
                     "message of %zu bytes with tag %d exceeds its receive buffer of %zu bytes",
                     size, s->tag, s->cap);
}

static void lcn_msg_append(struct lcn_recv *c, struct lcn_msg *m)
{
    if (c->msgs_tail)
        c->msgs_tail->next = m;
    else
        c->msgs = m;
    c->msgs_tail = m;
}

static void lcn_msg_free(struct lcn_recv *c, struct lcn_msg *m)
{
    struct lcn_msg **pp = &c->msgs, *prev = NULL;

    while (*pp && *pp != m) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp)
        *pp = m->next;
    if (c->msgs_tail == m)
        c->msgs_tail = prev;
    free(m->bounce);
    free(m);
}

/* The oldest open buffer tagged tag. */
static struct lcn_slot *lcn_match(struct lcn_recv *c, int tag, struct lcn_rreq **owner)
{
    for (struct lcn_rreq *r = c->posted; r; r = r->next)
        for (int i = 0; i < r->n; i++)
            if (r->slot[i].state == LCN_SLOT_OPEN && r->slot[i].tag == tag) {
                *owner = r;
                return &r->slot[i];
            }
    return NULL;
}

/* A payload has landed (in the slot or in the bounce buffer). */
static void lcn_msg_arrived(struct lcn_recv *c, struct lcn_msg *m)
{
    m->arrived = 1;
    if (m->discard) {
        lcn_msg_free(c, m);
    } else if (m->owner) {
        if (m->bounce && m->size)
            memcpy(m->slot->buf, m->bounce, m->size);
        lcn_slot_done(m->owner, m->slot, m->size, 0);
        lcn_msg_free(c, m);
    }
}

static int lcn_post_payload(struct lcn_recv *c, struct lcn_msg *m)
{
    void *buf = m->owner && !m->bounce ? m->slot->buf : m->bounce;
    lc_prov_mr_t *pmh = m->owner && !m->bounce ? m->slot->pmh : NULL;
    int rc = c->base.dev->prov->irecv(c->base.pc, buf, m->size, pmh, &m->preq);

    if (rc < 0)
        return rc;
    c->stalled = m->preq ? NULL : m;
    return 0;
}

/* Place the message announced by the header in hbuf (len bytes received). */
static int lcn_on_header(struct lcn_recv *c, size_t len)
{
    uint32_t magic;
    int32_t tag;
    uint64_t size;
    int inl, drain = 0;
    struct lcn_rreq *owner = NULL;
    struct lcn_slot *s;
    struct lcn_msg *m;

    if (len < LCN_HDR_SIZE)
        return lc_seterr(LC_ERR_PROTO, "nccl", "short header (%zu bytes)", len);
    memcpy(&magic, c->hbuf, 4);
    memcpy(&tag, c->hbuf + 4, 4);
    memcpy(&size, c->hbuf + 8, 8);
    inl = size <= LCN_EAGER_MAX;
    if (magic != LCN_MAGIC || len != LCN_HDR_SIZE + (inl ? size : 0))
        return lc_seterr(LC_ERR_PROTO, "nccl", "bad header (magic %#x, %zu bytes)", magic, len);
    s = lcn_match(c, tag, &owner);
    if (s && size > s->cap) {
        lcn_slot_done(owner, s, 0, lcn_too_big(s, size));
        if (inl)
            return 0;
        s = NULL; /* drain the payload into a bounce buffer and drop it */
        owner = NULL;
        drain = 1;
    } else if (s && inl) {
        if (size) /* a 0-byte receive may come with a NULL buffer */
            memcpy(s->buf, c->hbuf + LCN_HDR_SIZE, size);
        lcn_slot_done(owner, s, size, 0);
        return 0;
    } else if (s) {
        lcn_slot_claim(owner, s);
    }
    m = calloc(1, sizeof(*m));
    if (!m)
        return lc_seterr(-ENOMEM, "nccl", "out of memory for a message");
    m->tag = tag;
    m->size = size;
    m->owner = owner;
    m->slot = s;
    m->discard = drain;
    lcn_msg_append(c, m);
    if (!s) {
        m->bounce = malloc(size ? size : 1);
        if (!m->bounce)
            return lc_seterr(-ENOMEM, "nccl", "out of memory for %zu unexpected bytes",
                             (size_t)size);
        if (inl) {
            memcpy(m->bounce, c->hbuf + LCN_HDR_SIZE, size);
            m->arrived = 1;
            return 0;
        }
    }
    return lcn_post_payload(c, m);
}

/* Read and place the headers that have arrived; *moved set if any did. */
static int lcn_recv_headers(struct lcn_recv *c, int *moved)
{
    const lc_provider_t *prov = c->base.dev->prov;
    size_t got = 0;
    int done, rc;

    for (int iter = 0; iter < 2 * LCN_MAX_REQS; iter++) {
        if (c->stalled && (rc = lcn_post_payload(c, c->stalled)) < 0)
            return rc;
        if (c->stalled)
            return 0;
        /* Read ahead only while a posted buffer waits: the provider's flow
         * control then holds back a sender that runs ahead of NCCL. */
        if (!c->hreq && c->open == 0)
            return 0;
        if (!c->hreq) {
            rc = prov->irecv(c->base.pc, c->hbuf, sizeof(c->hbuf), NULL, &c->hreq);
            if (rc < 0 || !c->hreq)
                return rc;
        }
        done = 0;
        rc = prov->test(c->hreq, &done, &got);
        if (rc < 0 || done)
            c->hreq = NULL;
        if (rc < 0 || !done)
            return rc;
        if ((rc = lcn_on_header(c, got)) < 0)
            return rc;
        *moved = 1;
    }
    return 0;
}

/* Complete landed payloads, in stream order; *moved set if any did. */
static int lcn_recv_payloads(struct lcn_recv *c, int *moved)
{
    const lc_provider_t *prov = c->base.dev->prov;
    struct lcn_msg *m, *next;
    size_t got = 0;
    int done, rc;

    for (m = c->msgs; m; m = next) {
        next = m->next;
        if (!m->preq)
            continue;
        done = 0;
        rc = prov->test(m->preq, &done, &got);
        if (rc < 0 || done)
            m->preq = NULL;
        if (rc < 0)
            return rc;
        if (!done)
            return 0; /* later payloads are behind this one in the stream */
        lcn_msg_arrived(c, m);
        *moved = 1;
    }
    return 0;
}

/*
 * Advance the header chain and complete landed payloads, repeating while
 * either moves: the header that follows a payload in the stream is placed
 * (and the next payload receive posted) in the same call that sees the
 * payload land, so the provider is rarely left without a posted receive.
 */
static int lcn_recv_progress(struct lcn_recv *c)
{
    int moved = 1, rc;

    for (int round = 0; moved && round < 4; round++) {
        moved = 0;
        if ((rc = lcn_recv_headers(c, &moved)) < 0 || (rc = lcn_recv_payloads(c, &moved)) < 0)
            return rc;
    }
    return 0;
}

/* Fail every open receive after the stream broke. */
static int lcn_recv_fail(struct lcn_recv *c, int rc)
{
    if (!c->err)
        c->err = rc;
    return c->err;
}

/* Hand an unexpected message with this slot's tag (if any) to the slot. */
static void lcn_take_unexpected(struct lcn_recv *c, struct lcn_rreq *r, struct lcn_slot *s)
{
    for (struct lcn_msg *m = c->msgs; m; m = m->next) {
        if (m->owner || m->discard || m->tag != s->tag)
            continue;
        if (m->size > s->cap) {
            lcn_slot_done(r, s, 0, lcn_too_big(s, m->size));
            m->discard = 1;
        } else {
            m->owner = r;
            m->slot = s;
            lcn_slot_claim(r, s);
        }
        if (m->arrived)
            lcn_msg_arrived(c, m);
        return;
    }
}

lcn_res_t lcn_irecv(void *recv_comm, int n, void **data, const size_t *sizes, const int *tags,
                    void **mhs, void **req)
{
    struct lcn_recv *c = recv_comm;
    struct lcn_rreq *r = NULL;
    int rc;

    *req = NULL;
    if (c->err)
        return lcn_res(c->err);
    if (n < 1 || n > LCN_MAX_RECVS) {
        LC_WARN("nccl", "irecv: %d buffers (1..%d supported)", n, LCN_MAX_RECVS);
        return LCN_ERR_ARG;
    }
    for (int i = 0; i < LCN_MAX_REQS && !r; i++)
        if (!c->reqs[i].used)
            r = &c->reqs[i];
    if (!r)
        return LCN_OK; /* NCCL retries */
    memset(r, 0, sizeof(*r));
    r->kind = LCN_K_RREQ;
    r->used = 1;
    r->comm = c;
    r->n = n;
    r->left = n;
    /* Append first so that a completed group unposts itself cleanly. */
    r->posted = 1;
    if (c->posted_tail)
        c->posted_tail->next = r;
    else
        c->posted = r;
    c->posted_tail = r;
    for (int i = 0; i < n; i++) {
        r->slot[i].buf = data[i];
        r->slot[i].cap = sizes[i];
        r->slot[i].tag = tags[i];
        r->slot[i].pmh = mhs && mhs[i] ? ((struct lcn_mr *)mhs[i])->pmh : NULL;
        r->slot[i].state = LCN_SLOT_OPEN;
    }
    c->open += n;
    for (int i = 0; i < n; i++)
        if (r->slot[i].state == LCN_SLOT_OPEN)
            lcn_take_unexpected(c, r, &r->slot[i]);
    if ((rc = lcn_recv_progress(c)) < 0)
        lcn_recv_fail(c, rc);
    *req = r;
    return LCN_OK;
}

lcn_res_t lcn_recv_test(void *req, int *done, int *sizes)
{
    struct lcn_rreq *r = req;
    struct lcn_recv *c = r->comm;
    int rc;

    *done = 0;
    if (!c->err && r->left > 0 && (rc = lcn_recv_progress(c)) < 0)
        lcn_recv_fail(c, rc);
    if (r->left > 0 && !c->err)
        return LCN_OK;
    rc = r->left > 0 ? c->err : r->err;
    for (int i = 0; i < r->n; i++)
        if (r->slot[i].state == LCN_SLOT_OPEN)
            c->open--;
    if (sizes)
        for (int i = 0; i < r->n; i++)
            sizes[i] = (int)r->slot[i].got;
    lcn_unpost(c, r);
    r->used = 0;
    *done = 1;
    return lcn_res(rc);
}

lcn_res_t lcn_close_recv(void *recv_comm)
{
    struct lcn_recv *c = recv_comm;
    int rc;

    if (!c)
        return LCN_OK;
    rc = c->base.dev->prov->close_recv(c->base.pc);
    while (c->msgs)
        lcn_msg_free(c, c->msgs);
    free(c);
    return lcn_res(rc);
}
