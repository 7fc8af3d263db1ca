/* xfer.h - point-to-point transfers of a collective: post, progress, wait, fail. */
#ifndef LC_XFER_H
#define LC_XFER_H

#include <stddef.h>

#include "comm/comm.h"

/* ARRIVED: the provider's progress op reported it; lc_xfer_test() takes it from there. */
enum { LC_XFER_IDLE = 0, LC_XFER_POSTED = 1, LC_XFER_DONE = 2, LC_XFER_ARRIVED = 3 };

typedef struct lc_xfer {
    void *buf;
    size_t len;       /* exact message size: a different size is a mismatch */
    lc_prov_req_t *req;
    int peer;
    int is_recv;
    int state;
    int status;       /* ARRIVED: the provider's result */
    size_t got;       /* ARRIVED: the message's size */
} lc_xfer_t;

/* Set up a transfer (not posted yet). */
static inline void lc_xfer_init(lc_xfer_t *x, int peer, int is_recv, void *buf, size_t len)
{
    x->buf = buf;
    x->len = len;
    x->req = NULL;
    x->peer = peer;
    x->is_recv = is_recv;
    x->state = LC_XFER_IDLE;
}

/* Try to post an idle transfer (stays idle if the provider says retry). */
LC_HIDDEN int lc_xfer_post(struct lc_comm *c, lc_xfer_t *x);

/*
 * Test a posted transfer; *progress is set when it completed. With a
 * provider that has the progress op it moves nothing itself: lc_xfer_drain()
 * (once per pass of the caller) collects the completions it reads.
 */
LC_HIDDEN int lc_xfer_test(struct lc_comm *c, lc_xfer_t *x, int *progress);

/* One progress pass of the provider's context, marking the transfers it
 * reports complete ARRIVED (nothing without the progress op, or when no
 * transfer is in flight). 0 or an error. */
LC_HIDDEN int lc_xfer_drain(struct lc_comm *c);

/* Read and drop the completions of connections just closed: nobody waits for them. */
LC_HIDDEN void lc_xfer_discard(struct lc_comm *c);

/* Post and complete n transfers (tools driving one connection; collectives use requests). */
LC_HIDDEN int lc_xfer_wait_all(struct lc_comm *c, lc_xfer_t *x, int n);

/* How long a loop that found nothing to do yields before it sleeps in the provider. */
#define LC_SPIN_SECONDS 50e-6

/* Nothing progressed: yield the core, or when sleep is set wait in the provider (up to 1 ms). */
LC_HIDDEN void lc_idle(struct lc_comm *c, int sleep);

/* Watchdog: fails with -ETIMEDOUT when nothing progressed for the comm's timeout. */
typedef struct lc_watchdog {
    double last;
} lc_watchdog_t;

LC_HIDDEN int lc_watchdog_check(struct lc_comm *c, lc_watchdog_t *w, int progress,
                                const char *what);

/*
 * A public collective runs between these two: lc_comm_enter fails with -EBUSY
 * (recorded) when another thread is inside a collective on the same
 * communicator, which lioncub.h forbids; the two would mix their messages.
 */
LC_HIDDEN int lc_comm_enter(struct lc_comm *c, const char *name);
LC_HIDDEN void lc_comm_leave(struct lc_comm *c);

#endif
