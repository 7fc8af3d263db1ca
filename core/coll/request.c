/*
 * request.c - the engine under every collective: requests issued in order on
 * a communicator, one pass over them per progress call, the ordering rule and
 * the argument check of request.h, failure of a communicator, lc_test and
 * lc_wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/request.h"

/* Record rc's message in r, for the thread that waits on it. */
static void lc_req_set_failed(struct lc_request *r, int rc)
{
    r->state = LC_REQ_DONE;
    r->rc = rc;
    snprintf(r->msg, sizeof(r->msg), "%s", lc_last_error());
}

void lc_comm_fail_requests(struct lc_comm *c, int rc)
{
    const char *why = lc_last_error();
    char first[512];

    snprintf(first, sizeof(first), "%s", why);
    for (struct lc_request *q = c->reqs; q; q = q->next) {
        if (q->state == LC_REQ_DONE)
            continue;
        q->state = LC_REQ_DONE;
        q->rc = rc;
        snprintf(q->msg, sizeof(q->msg), "%s", first);
    }
}

static int lc_req_desc_sent(const struct lc_request *r);

/*
 * Before a failing rank closes its connections, let its descriptors leave
 * (bounded), so that the peers learn of a mismatch from them rather than from
 * the closed connections.
 */
static void lc_req_flush_desc(struct lc_request *r)
{
    double until = lc_now() + lc_req_linger(r->c);
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", lc_last_error());
    while (!lc_req_desc_sent(r) && lc_now() < until) {
        int progress = 0;

        if (lc_xfer_drain(r->c))
            break;
        for (int j = 0; j < r->c->nranks; j++) {
            lc_xfer_t *s = &r->desc_x[2 * j];

            if (lc_req_post(r, s) || lc_xfer_test(r->c, s, &progress))
                s->state = LC_XFER_DONE; /* that peer will not get it */
        }
        if (!progress)
            lc_idle(r->c, 1);
    }
    lc_restore_error(msg);
}

/* r failed with rc: once anything was posted the comm fails, and so does every request on it. */
static void lc_req_fail(struct lc_request *r, int rc);

void lc_comm_timeout(struct lc_comm *c, struct lc_request *r)
{
    for (struct lc_request *q = c->reqs; !r && q; q = q->next)
        if (q->state == LC_REQ_ACTIVE)
            r = q;
    if (!r)
        return;
    lc_seterr(-ETIMEDOUT, "coll", "rank %d: %s #%llu made no progress for %d ms", c->rank,
              r->name, (unsigned long long)r->seq, c->timeout_ms);
    lc_req_fail(r, -ETIMEDOUT);
    lc_comm_fail_requests(c, -ETIMEDOUT); /* a one-rank or already failed comm */
}

/* r failed with rc: once anything was posted the comm fails, and so does every request on it. */
static void lc_req_fail(struct lc_request *r, int rc)
{
    struct lc_comm *c = r->c;

    lc_req_set_failed(r, rc);
    if (c->failed || c->nranks == 1)
        return;
    c->failed = rc;
    if (r->desc_x && (rc == LC_ERR_MISMATCH || r->local_rc))
        lc_req_flush_desc(r); /* only its descriptor tells the peers why */
    lc_comm_close_all(c);
    lc_xfer_discard(c);
    for (struct lc_request *q = c->reqs; q; q = q->next)
        if (q->state != LC_REQ_DONE) {
            lc_seterr(LC_ERR_PEER, "coll", "rank %d: %s #%llu cancelled: %s #%llu failed: %s",
                      c->rank, q->name, (unsigned long long)q->seq, r->name,
                      (unsigned long long)r->seq, lc_strerror(rc));
            lc_req_set_failed(q, LC_ERR_PEER);
        }
}

int lc_req_get(struct lc_comm *c, const lc_req_kind_t *k, const char *name,
               const uint64_t *desc, int ndesc, struct lc_request **out)
{
    struct lc_request *r = c->req_free[k->id];
    int p = c->nranks;

    if (c->failed)
        return lc_seterr(LC_ERR_PEER, "coll",
                         "rank %d: %s on a communicator that failed earlier (%s)", c->rank, name,
                         lc_strerror(c->failed));
    if (r) {
        c->req_free[k->id] = r->next;
    } else {
        r = calloc(1, k->size);
        if (!r)
            return lc_seterr(-ENOMEM, "coll", "%s: cannot allocate a request", name);
        r->kind = k;
        r->c = c;
    }
    r->magic = LC_REQ_MAGIC;
    r->next = NULL;
    r->name = name;
    r->state = LC_REQ_ACTIVE;
    r->rc = 0;
    r->local_rc = 0;
    r->msg[0] = 0;
    r->scratch = NULL;
    r->seq = ++c->seq;
    r->desc_left = 0;
    if (c->check_args && p > 1) {
        if (!r->desc_x) {
            r->desc_x = calloc(2 * (size_t)p, sizeof(*r->desc_x));
            r->peer_desc = calloc(2 * (size_t)p, sizeof(*r->peer_desc));
            if (!r->desc_x || !r->peer_desc) {
                lc_req_put(r);
                return lc_seterr(-ENOMEM, "coll", "%s: cannot allocate a request", name);
            }
        }
        r->desc[0] = r->seq;
        r->desc[1] = lc_hash64(desc, (size_t)ndesc * sizeof(*desc), 0);
        for (int j = 0; j < p; j++) {
            lc_xfer_init(&r->desc_x[2 * j], j, 0, r->desc, sizeof(r->desc));
            lc_xfer_init(&r->desc_x[2 * j + 1], j, 1, &r->peer_desc[2 * j], sizeof(r->desc));
            if (j == c->rank)
                r->desc_x[2 * j].state = r->desc_x[2 * j + 1].state = LC_XFER_DONE;
        }
        r->desc_left = p - 1;
    }
    *out = r;
    return 0;
}

void lc_req_issue(struct lc_request *r)
{
    struct lc_request **tail = &r->c->reqs;

    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
}

void lc_req_put(struct lc_request *r)
{
    struct lc_comm *c = r->c;

    lc_comm_scratch_put(r->scratch);
    r->scratch = NULL;
    r->magic = 0;
    r->next = c->req_free[r->kind->id];
    c->req_free[r->kind->id] = r;
}

int lc_req_scratch(struct lc_request *r, size_t len, void **buf)
{
    int rc = lc_comm_scratch_get(r->c, len, &r->scratch);

    if (!rc)
        *buf = r->scratch->buf;
    return rc;
}

/* Whether r posted all it will post to (or from) peer, its descriptor included. */
static int lc_req_posted_all(const struct lc_request *r, int peer, int is_recv)
{
    if (r->state == LC_REQ_DONE)
        return 1;
    if (r->desc_x && r->desc_x[2 * peer + is_recv].state == LC_XFER_IDLE)
        return 0;
    return r->local_rc || r->kind->posted_all(r, peer, is_recv);
}

int lc_req_post(struct lc_request *r, lc_xfer_t *x)
{
    if (x->state != LC_XFER_IDLE)
        return 0;
    for (const struct lc_request *q = r->c->reqs; q && q != r; q = q->next)
        if (!lc_req_posted_all(q, x->peer, x->is_recv))
            return 0;
    if (r->desc_x && x != &r->desc_x[2 * x->peer + x->is_recv] &&
        r->desc_x[2 * x->peer + x->is_recv].state == LC_XFER_IDLE)
        return 0; /* the descriptor goes first */
    return lc_xfer_post(r->c, x);
}

/*
 * Post this rank's descriptors and compare the peers' as they arrive. With
 * tolerant set (the collective failed already), a descriptor transfer that
 * fails is given up and the others go on: only a mismatch is of interest.
 */
static int lc_req_check_pass(struct lc_request *r, int *progress, int tolerant)
{
    struct lc_comm *c = r->c;
    int rc;

    for (int j = 0; j < c->nranks; j++) {
        lc_xfer_t *s = &r->desc_x[2 * j], *x = &r->desc_x[2 * j + 1];
        int got = 0;

        if ((rc = lc_req_post(r, s)) || (rc = lc_xfer_test(c, s, progress))) {
            if (!tolerant)
                return rc;
            s->state = LC_XFER_DONE;
        }
        if (x->state == LC_XFER_DONE)
            continue;
        if ((rc = lc_req_post(r, x)) || (rc = lc_xfer_test(c, x, &got))) {
            if (!tolerant)
                return rc;
            x->state = LC_XFER_DONE;
            r->desc_left--;
            continue;
        }
        if (!got)
            continue;
        *progress = 1;
        r->desc_left--;
        if (!r->local_rc &&
            (r->peer_desc[2 * j] != r->desc[0] || r->peer_desc[2 * j + 1] != r->desc[1]))
            return lc_seterr(LC_ERR_MISMATCH, "coll",
                             "rank %d: %s #%llu: rank %d called %s with different arguments "
                             "(or a different collective)",
                             c->rank, r->name, (unsigned long long)r->seq, j,
                             r->peer_desc[2 * j] != r->desc[0] ? "a different sequence" : "it");
    }
    return 0;
}

/* Whether r's descriptor sends are done (its peers have it, or the connection failed). */
static int lc_req_desc_sent(const struct lc_request *r)
{
    for (int j = 0; j < r->c->nranks; j++)
        if (r->desc_x[2 * j].state != LC_XFER_DONE)
            return 0;
    return 1;
}

/* Whether a descriptor may still arrive: a receive of one neither arrived nor failed. */
static int lc_req_desc_awaited(const struct lc_request *r)
{
    for (int j = 0; j < r->c->nranks; j++)
        if (r->desc_x[2 * j + 1].state != LC_XFER_DONE)
            return 1;
    return 0;
}

/*
 * r failed with rc while descriptors were still on their way: a peer that
 * found a mismatch first has closed its connections, which is what failed
 * here. Read the descriptors that arrived (bounded) so that the mismatch,
 * not its echo, is what this rank reports. A receive that failed (its peer
 * is gone) is not waited for.
 */
static int lc_req_explain(struct lc_request *r, int rc)
{
    double until = lc_now() + lc_req_linger(r->c);
    char msg[512];

    snprintf(msg, sizeof(msg), "%s", lc_last_error());
    while (lc_req_desc_awaited(r) && lc_now() < until) {
        int progress = 0;

        if (lc_xfer_drain(r->c))
            break;
        if (lc_req_check_pass(r, &progress, 1) == LC_ERR_MISMATCH)
            return LC_ERR_MISMATCH;
        if (!progress)
            lc_idle(r->c, 1);
    }
    lc_restore_error(msg);
    return rc;
}

/* One pass of r: 1 done, 0 not yet, < 0 failed. */
static int lc_req_pass(struct lc_request *r, int *progress)
{
    int rc;

    if (r->desc_x && (r->desc_left || !lc_req_desc_sent(r)) &&
        (rc = lc_req_check_pass(r, progress, 0))) {
        if (r->local_rc) /* the peers' messages did not fit a descriptor: ours differs anyway */
            return r->local_rc;
        return rc == LC_ERR_MISMATCH || !r->desc_left ? rc : lc_req_explain(r, rc);
    }
    if (r->local_rc) /* the peers learn of it from the descriptor */
        return r->desc_x && (r->desc_left || !lc_req_desc_sent(r)) ? 0 : r->local_rc;
    rc = r->kind->pass(r, progress);
    if (rc < 0 && rc != -ETIMEDOUT && r->desc_x && r->desc_left)
        return lc_req_explain(r, rc);
    if (rc == 1 && r->desc_x && (r->desc_left || !lc_req_desc_sent(r)))
        return 0; /* the data is there, the check is not done */
    return rc;
}

int lc_comm_progress(struct lc_comm *c, int *progress)
{
    /* the provider's one pass reports completions for every request; when the
     * requests then posted new transfers, one more pass starts them moving */
    for (int round = 0; round < 2; round++) {
        uint64_t posted = c->xfers_posted;
        int drc = lc_xfer_drain(c);

        for (struct lc_request *r = c->reqs; r; r = r->next) {
            int rc;

            if (r->state != LC_REQ_ACTIVE)
                continue;
            rc = drc ? drc : lc_req_pass(r, progress);
            if (rc < 0) {
                lc_req_fail(r, rc);
                *progress = 1;
                return rc;
            }
            if (rc == 1) {
                r->state = LC_REQ_DONE;
                c->stats.collectives++;
                *progress = 1;
            }
        }
        if (!c->prov->progress || c->xfers_posted == posted)
            break;
    }
    return 0;
}

/* r is done: take it off the queue, give its result to this thread, keep it for reuse. */
static int lc_req_finish(struct lc_request *r)
{
    struct lc_request **pp = &r->c->reqs;
    int rc = r->rc;

    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    if (rc)
        lc_restore_error(r->msg);
    lc_req_put(r);
    return rc;
}

int lc_req_wait(struct lc_request *r)
{
    struct lc_comm *c = r->c;
    double t0 = lc_now(), last = t0;

    while (r->state != LC_REQ_DONE) {
        int progress = 0;
        double now;

        lc_comm_progress(c, &progress);
        if (r->state == LC_REQ_DONE)
            break;
        now = lc_now();
        if (progress) {
            last = now;
            continue;
        }
        if ((now - last) * 1000.0 > c->timeout_ms) {
            lc_comm_timeout(c, r);
            break;
        }
        /* nothing moved: yield for a short while, which keeps latency low, then
         * sleep in the provider rather than burn a core (the lock is free then) */
        pthread_mutex_unlock(&c->lock);
        lc_idle(c, now - last > LC_SPIN_SECONDS);
        pthread_mutex_lock(&c->lock);
    }
    c->stats.comm_seconds += lc_now() - t0;
    return lc_req_finish(r);
}

int lc_coll_call_begin(struct lc_comm *c, const char *name)
{
    int rc;

    if (!c)
        return LC_EINVAL("coll", "%s: NULL communicator", name);
    if ((rc = lc_comm_enter(c, name)))
        return rc;
    pthread_mutex_lock(&c->lock);
    return 0;
}

int lc_coll_call_end(struct lc_comm *c, int rc, struct lc_request *r, lc_request_t **req)
{
    if (!rc && r && req) {
        int progress = 0;
        double t0 = lc_now();

        *req = r;
        lc_comm_progress(c, &progress); /* start it moving now */
        c->stats.comm_seconds += lc_now() - t0;
        lc_progress_thread_kick(c);
    } else if (!rc && r) {
        rc = lc_req_wait(r);
    }
    pthread_mutex_unlock(&c->lock);
    lc_comm_leave(c);
    return rc;
}

/* A request handle from the caller: 0, or -EINVAL with a message. */
static int lc_req_check(lc_request_t *r, const char *fn)
{
    if (!r)
        return 0;
    if (r->magic != LC_REQ_MAGIC)
        return LC_EINVAL("coll", "%s: not a request in flight (freed, or not from lioncub)",
                         fn);
    return 0;
}

int lc_test(lc_request_t **req, int *done)
{
    struct lc_request *r;
    struct lc_comm *c;
    int rc, progress = 0;
    double t0;

    if (!req || !done)
        return LC_EINVAL("coll", "lc_test: NULL argument");
    if ((rc = lc_req_check(*req, "lc_test")))
        return rc;
    *done = 1;
    if (!(r = *req))
        return 0;
    c = r->c;
    if ((rc = lc_comm_enter(c, "lc_test")))
        return rc;
    pthread_mutex_lock(&c->lock);
    t0 = lc_now();
    if (r->state != LC_REQ_DONE)
        lc_comm_progress(c, &progress);
    c->stats.comm_seconds += lc_now() - t0;
    *done = r->state == LC_REQ_DONE;
    rc = *done ? lc_req_finish(r) : 0;
    pthread_mutex_unlock(&c->lock);
    lc_comm_leave(c);
    if (*done)
        *req = NULL;
    return rc;
}

int lc_wait(lc_request_t **req)
{
    struct lc_request *r;
    struct lc_comm *c;
    int rc;

    if (!req)
        return LC_EINVAL("coll", "lc_wait: NULL argument");
    if ((rc = lc_req_check(*req, "lc_wait")) || !(r = *req))
        return rc;
    c = r->c;
    if ((rc = lc_comm_enter(c, "lc_wait")))
        return rc;
    pthread_mutex_lock(&c->lock);
    rc = lc_req_wait(r);
    pthread_mutex_unlock(&c->lock);
    lc_comm_leave(c);
    *req = NULL;
    return rc;
}

int lc_waitall(lc_request_t **reqs, int n)
{
    int first = 0;
    char msg[512] = "";

    if (n < 0 || (n > 0 && !reqs))
        return LC_EINVAL("coll", "lc_waitall: %d requests at %p", n, (void *)reqs);
    for (int i = 0; i < n; i++) {
        int rc = lc_req_check(reqs[i], "lc_waitall");

        if (rc)
            return rc;
    }
    for (int i = 0; i < n; i++) {
        int rc = lc_wait(&reqs[i]);

        if (rc && !first) {
            first = rc;
            snprintf(msg, sizeof(msg), "%s", lc_last_error());
        }
    }
    if (first)
        lc_restore_error(msg);
    return first;
}

int lc_comm_in_flight(const struct lc_comm *c)
{
    for (const struct lc_request *r = c->reqs; r; r = r->next)
        if (r->state == LC_REQ_ACTIVE)
            return 1;
    return 0;
}

void lc_comm_free_requests(struct lc_comm *c)
{
    struct lc_request *r;

    while ((r = c->reqs)) {
        c->reqs = r->next;
        lc_req_put(r);
    }
    for (int k = 0; k < LC_REQ_NKINDS; k++) {
        while ((r = c->req_free[k])) {
            c->req_free[k] = r->next;
            if (r->kind->destroy)
                r->kind->destroy(r);
            free(r->desc_x);
            free(r->peer_desc);
            free(r);
        }
    }
}
