/* simple.c - lc_allgather, lc_bcast and lc_barrier: direct exchanges between all ranks. */
#include <stdlib.h>
#include <string.h>

#include "coll/xfer.h"

static int lc_allgather_in(lc_comm_t *c, const void *in, void *out, size_t bytes)
{
    uint64_t desc[2] = {3, bytes};
    lc_xfer_t *x;
    double t0;
    int n = 0, rc;

    if (bytes && (!in || !out))
        return LC_EINVAL("allgather", "lc_allgather: NULL buffer for %zu bytes", bytes);
    if (bytes > LC_MAX_BUFFER / (size_t)c->nranks)
        return LC_EINVAL("allgather", "lc_allgather: %d blocks of %zu bytes do not fit in memory",
                         c->nranks, bytes);
    rc = lc_coll_begin(c, "lc_allgather", desc, 2, &t0);
    if (rc || !bytes)
        return lc_coll_end(c, rc, t0, 0);
    memmove((char *)out + (size_t)c->rank * bytes, in, bytes);
    x = calloc(2 * (size_t)c->nranks, sizeof(*x));
    if (!x)
        return lc_coll_end(c, -ENOMEM, t0, 0);
    for (int j = 0; j < c->nranks; j++) {
        if (j == c->rank)
            continue;
        lc_xfer_init(&x[n++], j, 0, (char *)out + (size_t)c->rank * bytes, bytes);
        lc_xfer_init(&x[n++], j, 1, (char *)out + (size_t)j * bytes, bytes);
    }
    rc = lc_xfer_wait_all(c, x, n);
    free(x);
    return lc_coll_end(c, rc, t0, 1);
}

int lc_allgather(lc_comm_t *c, const void *in, void *out, size_t bytes)
{
    int rc;

    if (!c)
        return LC_EINVAL("allgather", "lc_allgather: NULL communicator");
    if ((rc = lc_comm_enter(c, "lc_allgather")))
        return rc;
    rc = lc_allgather_in(c, in, out, bytes);
    lc_comm_leave(c);
    return rc;
}

static int lc_bcast_in(lc_comm_t *c, void *buf, size_t bytes, int root)
{
    uint64_t desc[3] = {4, bytes, (uint64_t)root};
    lc_xfer_t *x;
    double t0;
    int n = 0, rc;

    if (bytes && !buf)
        return LC_EINVAL("bcast", "lc_bcast: NULL buffer for %zu bytes", bytes);
    if (bytes > LC_MAX_BUFFER)
        return LC_EINVAL("bcast", "lc_bcast: %zu bytes do not fit in memory", bytes);
    if (root < 0 || root >= c->nranks)
        return LC_EINVAL("bcast", "lc_bcast: root %d is not in [0, %d)", root, c->nranks);
    rc = lc_coll_begin(c, "lc_bcast", desc, 3, &t0);
    if (rc || !bytes)
        return lc_coll_end(c, rc, t0, 0);
    x = calloc((size_t)c->nranks, sizeof(*x));
    if (!x)
        return lc_coll_end(c, -ENOMEM, t0, 0);
    if (c->rank == root) {
        for (int j = 0; j < c->nranks; j++)
            if (j != root)
                lc_xfer_init(&x[n++], j, 0, buf, bytes);
    } else {
        lc_xfer_init(&x[n++], root, 1, buf, bytes);
    }
    rc = lc_xfer_wait_all(c, x, n);
    free(x);
    return lc_coll_end(c, rc, t0, 1);
}

int lc_bcast(lc_comm_t *c, void *buf, size_t bytes, int root)
{
    int rc;

    if (!c)
        return LC_EINVAL("bcast", "lc_bcast: NULL communicator");
    if ((rc = lc_comm_enter(c, "lc_bcast")))
        return rc;
    rc = lc_bcast_in(c, buf, bytes, root);
    lc_comm_leave(c);
    return rc;
}

static int lc_barrier_in(lc_comm_t *c)
{
    uint64_t desc[1] = {5};
    char dummy = 0, *all;
    int rc;

    if (c->check_args) {
        double t0;
        /* The argument check is itself an all-to-all exchange: it is the barrier. */
        rc = lc_coll_begin(c, "lc_barrier", desc, 1, &t0);
        return lc_coll_end(c, rc, t0, 0);
    }
    all = malloc((size_t)c->nranks);
    if (!all)
        return -ENOMEM;
    rc = lc_allgather_in(c, &dummy, all, 1);
    free(all);
    return rc;
}

int lc_barrier(lc_comm_t *c)
{
    int rc;

    if (!c)
        return LC_EINVAL("barrier", "lc_barrier: NULL communicator");
    if ((rc = lc_comm_enter(c, "lc_barrier")))
        return rc;
    rc = lc_barrier_in(c);
    lc_comm_leave(c);
    return rc;
}
