/* simple.c - lc_allgather, lc_bcast and lc_barrier: direct exchanges between all ranks. */
#include <stdlib.h>
#include <string.h>

#include "coll/request.h"

/* A collective that is a set of transfers posted at once. */
struct lc_xfers {
    struct lc_request req; /* first: the engine's header */
    lc_xfer_t *x;          /* 2 per peer at most, allocated once */
    int n;
    int left;              /* not yet complete */
};

static int lc_xfers_pass(struct lc_request *r, int *progress)
{
    struct lc_xfers *s = (struct lc_xfers *)r;

    for (int i = 0; i < s->n && s->left; i++) {
        int done = 0, rc;

        if (s->x[i].state == LC_XFER_DONE)
            continue;
        if ((rc = lc_req_post(r, &s->x[i])) || (rc = lc_xfer_test(r->c, &s->x[i], &done)))
            return rc;
        if (done) {
            s->left--;
            *progress = 1;
        }
    }
    return s->left == 0;
}

static int lc_xfers_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    const struct lc_xfers *s = (const struct lc_xfers *)r;

    for (int i = 0; i < s->n; i++)
        if (s->x[i].state == LC_XFER_IDLE && s->x[i].peer == peer && s->x[i].is_recv == is_recv)
            return 0;
    return 1;
}

static void lc_xfers_destroy(struct lc_request *r)
{
    free(((struct lc_xfers *)r)->x);
}

static const lc_req_kind_t lc_xfers_kind = {
    .id = LC_REQ_XFERS,
    .size = sizeof(struct lc_xfers),
    .pass = lc_xfers_pass,
    .posted_all = lc_xfers_posted_all,
    .destroy = lc_xfers_destroy,
};

/* Take a request for up to 2 transfers per peer, none added yet. */
static int lc_xfers_get(struct lc_comm *c, const char *name, const uint64_t *desc, int ndesc,
                        struct lc_xfers **out)
{
    struct lc_request *r;
    struct lc_xfers *s = NULL;
    int rc = lc_req_get(c, &lc_xfers_kind, name, desc, ndesc, &r);

    if (rc)
        return rc;
    s = (struct lc_xfers *)r;
    if (!s->x && !(s->x = calloc(2 * (size_t)c->nranks, sizeof(*s->x)))) {
        lc_req_put(r);
        return lc_seterr(-ENOMEM, "coll", "%s: cannot allocate a request", name);
    }
    s->n = s->left = 0;
    *out = s;
    return 0;
}

static void lc_xfers_add(struct lc_xfers *s, int peer, int is_recv, void *buf, size_t len)
{
    lc_xfer_init(&s->x[s->n++], peer, is_recv, buf, len);
    s->left++;
}

static int lc_allgather_issue(lc_comm_t *c, const void *in, void *out, size_t bytes,
                              struct lc_request **req)
{
    uint64_t desc[2] = {3, bytes};
    struct lc_xfers *s = NULL;
    int rc;

    if (bytes && (!in || !out))
        return LC_EINVAL("allgather", "lc_allgather: NULL buffer for %zu bytes", bytes);
    if (bytes > LC_MAX_BUFFER / (size_t)c->nranks)
        return LC_EINVAL("allgather", "lc_allgather: %d blocks of %zu bytes do not fit in memory",
                         c->nranks, bytes);
    if ((rc = lc_xfers_get(c, "lc_allgather", desc, 2, &s)))
        return rc;
    if (bytes)
        memmove((char *)out + (size_t)c->rank * bytes, in, bytes);
    for (int j = 0; j < c->nranks && bytes; j++) {
        if (j == c->rank)
            continue;
        lc_xfers_add(s, j, 0, (char *)out + (size_t)c->rank * bytes, bytes);
        lc_xfers_add(s, j, 1, (char *)out + (size_t)j * bytes, bytes);
    }
    lc_req_issue(&s->req);
    *req = &s->req;
    return 0;
}

int lc_allgather(lc_comm_t *c, const void *in, void *out, size_t bytes)
{
    struct lc_request *r = NULL;
    int rc = lc_coll_call_begin(c, "lc_allgather");

    if (rc)
        return rc;
    rc = lc_allgather_issue(c, in, out, bytes, &r);
    return lc_coll_call_end(c, rc, r, NULL);
}

int lc_iallgather(lc_comm_t *c, const void *in, void *out, size_t bytes, lc_request_t **req)
{
    struct lc_request *r = NULL;
    int rc;

    if (!req)
        return LC_EINVAL("allgather", "lc_iallgather: NULL request pointer");
    *req = NULL;
    if ((rc = lc_coll_call_begin(c, "lc_iallgather")))
        return rc;
    rc = lc_allgather_issue(c, in, out, bytes, &r);
    return lc_coll_call_end(c, rc, r, req);
}

static int lc_bcast_issue(lc_comm_t *c, void *buf, size_t bytes, int root,
                          struct lc_request **req)
{
    uint64_t desc[3] = {4, bytes, (uint64_t)root};
    struct lc_xfers *s = NULL;
    int rc;

    if (bytes && !buf)
        return LC_EINVAL("bcast", "lc_bcast: NULL buffer for %zu bytes", bytes);
    if (bytes > LC_MAX_BUFFER)
        return LC_EINVAL("bcast", "lc_bcast: %zu bytes do not fit in memory", bytes);
    if (root < 0 || root >= c->nranks)
        return LC_EINVAL("bcast", "lc_bcast: root %d is not in [0, %d)", root, c->nranks);
    if ((rc = lc_xfers_get(c, "lc_bcast", desc, 3, &s)))
        return rc;
    for (int j = 0; j < c->nranks && bytes; j++)
        if (c->rank == root && j != root)
            lc_xfers_add(s, j, 0, buf, bytes);
    if (c->rank != root && bytes)
        lc_xfers_add(s, root, 1, buf, bytes);
    lc_req_issue(&s->req);
    *req = &s->req;
    return 0;
}

int lc_bcast(lc_comm_t *c, void *buf, size_t bytes, int root)
{
    struct lc_request *r = NULL;
    int rc = lc_coll_call_begin(c, "lc_bcast");

    if (rc)
        return rc;
    rc = lc_bcast_issue(c, buf, bytes, root, &r);
    return lc_coll_call_end(c, rc, r, NULL);
}

int lc_ibcast(lc_comm_t *c, void *buf, size_t bytes, int root, lc_request_t **req)
{
    struct lc_request *r = NULL;
    int rc;

    if (!req)
        return LC_EINVAL("bcast", "lc_ibcast: NULL request pointer");
    *req = NULL;
    if ((rc = lc_coll_call_begin(c, "lc_ibcast")))
        return rc;
    rc = lc_bcast_issue(c, buf, bytes, root, &r);
    return lc_coll_call_end(c, rc, r, req);
}

/*
 * Barrier: with the argument check on, the descriptors every rank sends to
 * every other are the barrier; without it, one byte to and from every peer.
 */
int lc_barrier(lc_comm_t *c)
{
    static const uint64_t desc[1] = {5};
    struct lc_request *r = NULL;
    struct lc_xfers *s = NULL;
    char token = 0, sink; /* the bytes carry nothing: every receive may land in sink */
    int rc = lc_coll_call_begin(c, "lc_barrier");

    if (rc)
        return rc;
    rc = lc_xfers_get(c, "lc_barrier", desc, 1, &s);
    if (!rc) {
        for (int j = 0; j < c->nranks && !s->req.desc_x; j++) {
            if (j == c->rank)
                continue;
            lc_xfers_add(s, j, 0, &token, 1);
            lc_xfers_add(s, j, 1, &sink, 1);
        }
        lc_req_issue(&s->req);
        r = &s->req;
    }
    return lc_coll_call_end(c, rc, r, NULL);
}
