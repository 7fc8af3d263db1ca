/* xfer.c - point-to-point transfers: post and test one, wait for several, the watchdog. */
#include <sched.h>
#include <stddef.h>
#include <unistd.h>

#include "coll/xfer.h"
#include "comm/shm.h"

int lc_xfer_post(struct lc_comm *c, lc_xfer_t *x)
{
    lc_prov_mr_t *mh;
    int rc;

    if (x->state != LC_XFER_IDLE)
        return 0;
    mh = lc_comm_scratch_mh(c, x->peer, x->is_recv, x->buf);
    if (x->is_recv)
        rc = c->prov->irecv(c->recv[x->peer], x->buf, x->len, mh, &x->req);
    else
        rc = c->prov->isend(c->send[x->peer], x->buf, x->len, mh, &x->req);
    if (rc)
        return lc_seterr(rc == -ECONNRESET || rc == -EPIPE ? LC_ERR_PEER : rc, "coll",
                         "rank %d: posting a %s of %zu bytes %s rank %d failed: %s", c->rank,
                         x->is_recv ? "receive" : "send", x->len, x->is_recv ? "from" : "to",
                         x->peer, lc_strerror(rc));
    if (x->req) {
        x->state = LC_XFER_POSTED;
        c->xfers_posted++;
        if (c->prov->progress)
            x->req->user = x; /* reported by lc_xfer_drain */
        if (!x->is_recv)
            c->stats.bytes_sent += x->len;
    }
    return 0;
}

int lc_xfer_test(struct lc_comm *c, lc_xfer_t *x, int *progress)
{
    size_t got = 0;
    int done = 0, rc;

    if (x->state == LC_XFER_ARRIVED) {
        rc = x->status;
        got = x->got;
        done = 1;
    } else if (x->state != LC_XFER_POSTED || c->prov->progress) {
        return 0;
    } else {
        rc = c->prov->test(x->req, &done, &got);
    }
    if (rc) {
        x->state = LC_XFER_DONE;
        x->req = NULL;
        if (rc == -EMSGSIZE)
            return lc_seterr(LC_ERR_MISMATCH, "coll",
                             "rank %d: rank %d sent more than the %zu bytes expected", c->rank,
                             x->peer, x->len);
        return lc_seterr(rc == -ECONNRESET || rc == -EPIPE ? LC_ERR_PEER : rc, "coll",
                         "rank %d: %s rank %d failed: %s", c->rank,
                         x->is_recv ? "receive from" : "send to", x->peer, lc_strerror(rc));
    }
    if (!done)
        return 0;
    x->state = LC_XFER_DONE;
    x->req = NULL;
    *progress = 1;
    if (x->is_recv) {
        c->stats.bytes_recv += got;
        if (got != x->len)
            return lc_seterr(LC_ERR_MISMATCH, "coll",
                             "rank %d: rank %d sent %zu bytes where %zu were expected", c->rank,
                             x->peer, got, x->len);
    }
    return 0;
}

/* Completions read per call of the provider's progress op. */
#define LC_XFER_DRAIN 32

/* The provider's progress op until it has nothing more to report; apply: mark the transfers. */
static int lc_xfer_reap(struct lc_comm *c, int apply)
{
    lc_prov_cqe_t cqe[LC_XFER_DRAIN];
    int n;

    if (!c->prov->progress)
        return 0;
    do {
        n = c->prov->progress(c->ctx, cqe, LC_XFER_DRAIN);
        if (n > 0)
            c->xfers_reported += (uint64_t)n;
        for (int i = 0; apply && i < n; i++) {
            lc_xfer_t *x = cqe[i].user;

            x->state = LC_XFER_ARRIVED;
            x->status = cqe[i].status;
            x->got = cqe[i].size;
            x->req = NULL;
        }
    } while (n == LC_XFER_DRAIN);
    return n < 0 ? n : 0;
}

int lc_xfer_drain(struct lc_comm *c)
{
    if (c->xfers_reported == c->xfers_posted)
        return 0; /* nothing in flight: spare the provider a pass (shared memory polls) */
    return lc_xfer_reap(c, 1);
}

void lc_xfer_discard(struct lc_comm *c)
{
    lc_xfer_reap(c, 0);
}

void lc_idle(struct lc_comm *c, int sleep)
{
    if (c->shm && c->shm->waiting) { /* a rank on this host sets the flag: no wakeup comes */
        c->shm->waiting = 0;
        sched_yield();
    } else if (sleep && c->prov->wait &&
        c->prov->size >= offsetof(lc_provider_t, wait) + sizeof(c->prov->wait))
        c->prov->wait(c->ctx, 1000);
    else
        sched_yield();
}

int lc_watchdog_check(struct lc_comm *c, lc_watchdog_t *w, int progress, const char *what)
{
    double now = lc_now();

    if (progress || w->last == 0) {
        w->last = now;
        return 0;
    }
    /* Nothing moved: spin (yielding) for a short while, which keeps ping-pong
     * latency low, then sleep in the provider rather than burn a core. */
    lc_idle(c, now - w->last > LC_SPIN_SECONDS);
    if ((now - w->last) * 1000.0 > c->timeout_ms)
        return lc_seterr(-ETIMEDOUT, "coll", "rank %d: %s made no progress for %d ms", c->rank,
                         what, c->timeout_ms);
    return 0;
}

int lc_xfer_wait_all(struct lc_comm *c, lc_xfer_t *x, int n)
{
    lc_watchdog_t wd = {0};
    int left = n, rc;

    for (int i = 0; i < n; i++)
        if (x[i].state == LC_XFER_DONE)
            left--;
    while (left) {
        int progress = 0;

        if ((rc = lc_xfer_drain(c)))
            return rc;
        for (int i = 0; i < n; i++) {
            int p = 0;

            if ((rc = lc_xfer_post(c, &x[i])) || (rc = lc_xfer_test(c, &x[i], &p)))
                return rc;
            if (p) {
                progress = 1;
                left--;
            }
        }
        if ((rc = lc_watchdog_check(c, &wd, progress, "a transfer")))
            return rc;
    }
    return 0;
}

int lc_comm_enter(struct lc_comm *c, const char *name)
{
    if (__atomic_exchange_n(&c->busy, 1, __ATOMIC_ACQUIRE))
        return lc_seterr(-EBUSY, "coll",
                         "rank %d: %s while another thread is inside a collective on this "
                         "communicator (one thread at a time)", c->rank, name);
    return 0;
}

void lc_comm_leave(struct lc_comm *c)
{
    __atomic_store_n(&c->busy, 0, __ATOMIC_RELEASE);
}
