/*
 * mock_prov.c - an in-memory provider for the plugin's unit tests: one
 * device, connections inside one process, ordered untagged messages like a
 * real provider. It copies on send, reports "busy" (NULL request) on a
 * fixed share of posts and completes requests only on a later test(), so
 * the plugin's retry and progress paths run. Counters let tests check that
 * registrations and comms are released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mock_prov.h"

struct mock_msg {
    struct mock_msg *next;
    size_t len;
    unsigned char data[];
};

struct mock_req {
    struct mock_req *next; /* in the connection's posted receives */
    int is_recv;
    int tests_left; /* test() calls before a send reports done */
    int matched;
    int err;
    void *buf;
    size_t cap, len;
};

struct mock_conn {
    struct mock_conn *next; /* in the listener's accept queue */
    struct mock_msg *head, *tail;
    struct mock_req *rhead, *rtail;
    int refs;
};

struct mock_listen {
    uint64_t magic;
    struct mock_conn *queue;
};

struct mock_counters mock_count;
static unsigned mock_tick;

/* Every fifth post is refused with a NULL request when busy mode is on. */
static int mock_busy(void)
{
    return mock_count.busy_mode && (++mock_tick % 5) == 3;
}

static int mock_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **ctx)
{
    if (mock_count.fail_init)
        return lc_seterr(-ENODEV, "mock", "no device (test)");
    *ctx = (lc_prov_ctx_t *)&mock_count; /* no state beyond the counters */
    return 0;
}

static void mock_fini(lc_prov_ctx_t *ctx)
{
    mock_count.finis++;
}

static int mock_devices(lc_prov_ctx_t *ctx, int *ndev)
{
    *ndev = 1;
    return 0;
}

static int mock_get_props(lc_prov_ctx_t *ctx, int dev, lc_prov_props_t *p)
{
    if (dev != 0)
        return -EINVAL;
    strcpy(p->name, "mock0");
    p->pci_path[0] = 0;
    p->guid = 0x1234;
    p->speed_mbps = 1000;
    p->latency_us = 5.0f;
    p->port = 1;
    p->max_comms = 128;
    p->max_recvs = 1;
    p->reg_is_global = 1;
    p->max_msg_size = (size_t)1 << 40;
    return 0;
}

static int mock_listen(lc_prov_ctx_t *ctx, int dev, void *handle, lc_prov_comm_t **lc)
{
    struct mock_listen *l = calloc(1, sizeof(*l));

    if (!l)
        return -ENOMEM;
    l->magic = 0x6d6f636b;
    memcpy(handle, &l, sizeof(l));
    *lc = (lc_prov_comm_t *)l;
    mock_count.comms++;
    return 0;
}

static int mock_connect(lc_prov_ctx_t *ctx, int dev, const void *handle, lc_prov_comm_t **sc)
{
    static int attempts;
    struct mock_listen *l;
    struct mock_conn *c, **pp;

    *sc = NULL;
    if (++attempts % 2)
        return 0; /* "in progress" on every other call */
    memcpy(&l, handle, sizeof(l));
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->refs = 2;
    for (pp = &l->queue; *pp; pp = &(*pp)->next)
        ;
    *pp = c;
    *sc = (lc_prov_comm_t *)c;
    mock_count.comms++;
    return 0;
}

static int mock_accept(lc_prov_comm_t *lc, lc_prov_comm_t **rc)
{
    struct mock_listen *l = (struct mock_listen *)lc;

    *rc = NULL;
    if (!l->queue)
        return 0;
    *rc = (lc_prov_comm_t *)l->queue;
    l->queue = l->queue->next;
    mock_count.comms++;
    return 0;
}

static int mock_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mh)
{
    *mh = malloc(sizeof(**mh));
    if (!*mh)
        return -ENOMEM;
    mock_count.regs++;
    return 0;
}

static int mock_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mh)
{
    free(mh);
    mock_count.regs--;
    return 0;
}

static int mock_isend(lc_prov_comm_t *sc, const void *buf, size_t len, lc_prov_mr_t *mh,
                      lc_prov_req_t **req)
{
    struct mock_conn *c = (struct mock_conn *)sc;
    struct mock_msg *m;
    struct mock_req *r;

    *req = NULL;
    if (mock_busy())
        return 0;
    m = malloc(sizeof(*m) + len);
    r = calloc(1, sizeof(*r));
    if (!m || !r) {
        free(m);
        free(r);
        return -ENOMEM;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->data, buf, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    r->tests_left = 1;
    r->len = len;
    *req = (lc_prov_req_t *)r;
    mock_count.msgs++;
    return 0;
}

static int mock_irecv(lc_prov_comm_t *rc, void *buf, size_t len, lc_prov_mr_t *mh,
                      lc_prov_req_t **req)
{
    struct mock_conn *c = (struct mock_conn *)rc;
    struct mock_req *r;

    *req = NULL;
    if (mock_busy())
        return 0;
    r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->is_recv = 1;
    r->buf = buf;
    r->cap = len;
    if (c->rtail)
        c->rtail->next = r;
    else
        c->rhead = r;
    c->rtail = r;
    *req = (lc_prov_req_t *)r;
    return 0;
}

/* Deliver queued messages to posted receives, in order. */
static void mock_deliver(struct mock_conn *c)
{
    while (c->head && c->rhead) {
        struct mock_msg *m = c->head;
        struct mock_req *r = c->rhead;

        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->rhead = r->next;
        if (!c->rhead)
            c->rtail = NULL;
        r->matched = 1;
        r->len = m->len;
        mock_count.delivered++;
        if (m->len > r->cap)
            r->err = -EMSGSIZE;
        else
            memcpy(r->buf, m->data, m->len);
        free(m);
    }
}

static int mock_test(lc_prov_req_t *req, int *done, size_t *size)
{
    struct mock_req *r = (struct mock_req *)req;
    int err;

    *done = 0;
    if (r->is_recv) {
        /* The receive's connection is not known here: the plugin tests
         * receives of one comm, delivered by mock_progress_all. */
        mock_progress_all();
        if (!r->matched)
            return 0;
    } else if (r->tests_left-- > 0) {
        return 0;
    }
    *done = 1;
    if (size)
        *size = r->len;
    err = r->err;
    free(r);
    return err;
}

/* All live connections, for progress (the mock has no epoll set). */
static struct mock_conn *mock_conns[64];

void mock_progress_all(void)
{
    for (int i = 0; i < 64; i++)
        if (mock_conns[i])
            mock_deliver(mock_conns[i]);
}

static void mock_track(struct mock_conn *c, int add)
{
    for (int i = 0; i < 64; i++)
        if (add ? !mock_conns[i] : mock_conns[i] == c) {
            mock_conns[i] = add ? c : NULL;
            return;
        }
}

static void mock_unref(struct mock_conn *c)
{
    if (--c->refs > 0)
        return;
    mock_track(c, 0);
    while (c->head) {
        struct mock_msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    while (c->rhead) {
        struct mock_req *r = c->rhead;
        c->rhead = r->next;
        free(r);
    }
    free(c);
}

static int mock_connect_tracked(lc_prov_ctx_t *ctx, int dev, const void *handle,
                                lc_prov_comm_t **sc)
{
    int rc = mock_connect(ctx, dev, handle, sc);

    if (*sc)
        mock_track((struct mock_conn *)*sc, 1);
    return rc;
}

static int mock_close_send(lc_prov_comm_t *sc)
{
    mock_unref((struct mock_conn *)sc);
    mock_count.comms--;
    return 0;
}

static int mock_close_recv(lc_prov_comm_t *rc)
{
    mock_unref((struct mock_conn *)rc);
    mock_count.comms--;
    return 0;
}

static int mock_close_listen(lc_prov_comm_t *lc)
{
    free(lc);
    mock_count.comms--;
    return 0;
}

const lc_provider_t mock_prov = {
    .size = sizeof(lc_provider_t),
    .name = "mock",
    .params = NULL,
    .init = mock_init,
    .fini = mock_fini,
    .devices = mock_devices,
    .get_props = mock_get_props,
    .listen = mock_listen,
    .connect = mock_connect_tracked,
    .accept = mock_accept,
    .reg_mr = mock_reg_mr,
    .dereg_mr = mock_dereg_mr,
    .isend = mock_isend,
    .irecv = mock_irecv,
    .test = mock_test,
    .close_send = mock_close_send,
    .close_recv = mock_close_recv,
    .close_listen = mock_close_listen,
};
