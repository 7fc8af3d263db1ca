/*
 * request.h - collectives in flight: the header every kind of collective
 * starts with, the communicator's queue in issue order, and the engine that
 * progresses the queue (core/coll/request.c).
 *
 * Ordering. Messages on a connection match posted receives in order, so
 * every rank must post the messages of its collectives to a peer in the same
 * order. A collective posts to (peer, direction) only once every collective
 * issued before it has posted all it will post there (kind->posted_all);
 * within one collective its kind keeps its own canonical order. Collectives
 * thus overlap on the wire where their peers differ or one has finished
 * posting, and never mix their messages.
 *
 * Argument check (LC_CHECK_ARGS): each collective's first message to every
 * peer is its descriptor (sequence number, hash of the arguments), posted
 * with the data rather than exchanged before it, so the check costs no
 * network round. A descriptor that differs fails the collective on every
 * rank with LC_ERR_MISMATCH; as with any failure after messages were posted,
 * the communicator is then failed.
 */
#ifndef LC_REQUEST_H
#define LC_REQUEST_H

#include "coll/xfer.h"

#define LC_REQ_MAGIC 0x4c435251u /* "LCRQ" */

enum { LC_REQ_VOTE = 0, LC_REQ_RING = 1, LC_REQ_XFERS = 2, LC_REQ_VOTE_HIER = 3, LC_REQ_NKINDS = 4 };
_Static_assert(LC_REQ_NKINDS == sizeof(((struct lc_comm *)0)->req_free) / sizeof(void *),
               "struct lc_comm keeps finished requests of every kind");

typedef struct lc_req_kind {
    int id;         /* LC_REQ_*: the comm keeps finished requests per kind */
    size_t size;    /* bytes of the kind's struct, which starts with struct lc_request */
    /* One pass: post what may be posted, test, compute. 1 done, 0 not yet, < 0 failed;
     * *progress is set when anything moved. */
    int (*pass)(struct lc_request *r, int *progress);
    /* Whether r posted every message it will post to (is_recv: from) peer. */
    int (*posted_all)(const struct lc_request *r, int peer, int is_recv);
    /* Free what the kind allocated (the comm is being destroyed); NULL: nothing. */
    void (*destroy)(struct lc_request *r);
} lc_req_kind_t;

enum { LC_REQ_ACTIVE = 1, LC_REQ_DONE = 2 };

struct lc_request {
    uint32_t magic;           /* LC_REQ_MAGIC while the caller owns it */
    const lc_req_kind_t *kind;
    struct lc_comm *c;
    struct lc_request *next;  /* in c->reqs (issue order) or c->req_free */
    const char *name;         /* the public call, for messages */
    int state;
    int rc;                   /* the result once done */
    int local_rc;             /* an error found on this rank only, reported after the check */
    uint64_t seq;             /* collectives issued on the comm before it, plus 1 */
    lc_scratch_t *scratch;    /* held while in flight */
    char msg[512];            /* the failure's message, for the thread that waits */
    /* argument check: NULL desc_x when off */
    uint64_t desc[2];         /* this rank's sequence number and argument hash */
    uint64_t *peer_desc;      /* 2 words per peer */
    lc_xfer_t *desc_x;        /* per peer: [2j] send to j, [2j+1] receive from j */
    int desc_left;            /* descriptors not yet received and compared */
};

/*
 * Take a request of kind k for the collective `name` with the argument
 * descriptor desc (hashed for the check). Caller holds c->lock. The kind's
 * fields are the caller's to set up; then lc_req_issue() queues it, or
 * lc_req_put() gives it back.
 */
LC_HIDDEN int lc_req_get(struct lc_comm *c, const lc_req_kind_t *k, const char *name,
                         const uint64_t *desc, int ndesc, struct lc_request **out);
LC_HIDDEN void lc_req_issue(struct lc_request *r);
LC_HIDDEN void lc_req_put(struct lc_request *r);

/* Hold a scratch buffer of len bytes for r. */
LC_HIDDEN int lc_req_scratch(struct lc_request *r, size_t len, void **buf);

/* Post x for r when the ordering rule allows (x stays idle otherwise). */
LC_HIDDEN int lc_req_post(struct lc_request *r, lc_xfer_t *x);

/* Wait for r (caller holds c->lock, released while the provider sleeps), free it. */
LC_HIDDEN int lc_req_wait(struct lc_request *r);

/* How long a failing collective still waits for its last messages (a
 * descriptor going out, one arriving): min(LC_TIMEOUT, 1 s), in seconds. */
static inline double lc_req_linger(const struct lc_comm *c)
{
    return (c->timeout_ms < 1000 ? c->timeout_ms : 1000) / 1000.0;
}

/* Run one engine pass over the comm's queue; caller holds c->lock. */
LC_HIDDEN int lc_comm_progress(struct lc_comm *c, int *progress);

/* Nothing moved for LC_TIMEOUT: fail r (or the oldest request in flight when r is
 * NULL) with -ETIMEDOUT, which fails the comm and every request on it. */
LC_HIDDEN void lc_comm_timeout(struct lc_comm *c, struct lc_request *r);

/* Fail every request in flight on c with rc (the comm failed or closes). */
LC_HIDDEN void lc_comm_fail_requests(struct lc_comm *c, int rc);

/* Whether a collective is in flight on c (caller holds c->lock). */
LC_HIDDEN int lc_comm_in_flight(const struct lc_comm *c);

/* Free the comm's requests (at destroy; those in flight were failed). */
LC_HIDDEN void lc_comm_free_requests(struct lc_comm *c);

/* LC_PROGRESS_THREAD: start and stop the comm's progress thread. */
LC_HIDDEN int lc_progress_thread_start(struct lc_comm *c);
LC_HIDDEN void lc_progress_thread_stop(struct lc_comm *c);
LC_HIDDEN void lc_progress_thread_kick(struct lc_comm *c);

/*
 * The public call around issuing: refuse a NULL or busy comm, take c->lock.
 * lc_coll_call_end releases both, and for a blocking call (req NULL) waits.
 */
LC_HIDDEN int lc_coll_call_begin(struct lc_comm *c, const char *name);
LC_HIDDEN int lc_coll_call_end(struct lc_comm *c, int rc, struct lc_request *r,
                               lc_request_t **req);

#endif
