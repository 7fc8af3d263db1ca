/* ofi_pair.c - test harness for the ofi provider: contexts, connections, blocking transfers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lioncub/provider_sdk.h"
#include "ofi_pair.h"

void ofi_env_or_skip(void)
{
    const lc_provider_t *prov = lc_provider_find("ofi");
    lc_prov_ctx_t *ctx = NULL;
    int ret;

    setenv("LC_OFI_IFNAME", "lo", 1); /* tests send only over loopback */
    if (!getenv("LC_OFI_PROVIDER"))
        setenv("LC_OFI_PROVIDER", "tcp;ofi_rxm", 1);
    if (!prov) {
        printf("skip: the ofi provider is not built in\n");
        exit(77);
    }
    ret = prov->init(NULL, &ctx);
    if (ret) {
        printf("skip: no usable libfabric provider here: %s\n", lc_last_error());
        exit(77);
    }
    prov->fini(ctx);
}

int ofi_pair_connect(ofi_pair_t *p, lc_prov_comm_t **send, lc_prov_comm_t **recv)
{
    double t0 = lc_now();
    int ret;

    *send = *recv = NULL;
    while (!*send || !*recv) {
        if (!*send && (ret = p->prov->connect(p->a, 0, p->handle, send)))
            return ret;
        if (!*recv && (ret = p->prov->accept(p->listen, recv)))
            return ret;
        if (lc_now() - t0 > 10)
            return -ETIMEDOUT;
    }
    return 0;
}

int ofi_pair_open(ofi_pair_t *p)
{
    int ret;

    memset(p, 0, sizeof(*p));
    p->prov = lc_provider_find("ofi");
    if ((ret = p->prov->init(NULL, &p->a)) || (ret = p->prov->init(NULL, &p->b)) ||
        (ret = p->prov->listen(p->b, 0, p->handle, &p->listen)))
        return ret;
    return ofi_pair_connect(p, &p->send, &p->recv);
}

int ofi_pair_close(ofi_pair_t *p)
{
    int ret = 0, r;

    if (p->send && (r = p->prov->close_send(p->send)) && !ret)
        ret = r;
    if (p->recv && (r = p->prov->close_recv(p->recv)) && !ret)
        ret = r;
    if (p->listen && (r = p->prov->close_listen(p->listen)) && !ret)
        ret = r;
    if (p->a)
        p->prov->fini(p->a);
    if (p->b)
        p->prov->fini(p->b);
    memset(p, 0, sizeof(*p));
    return ret;
}

int ofi_wait(const lc_provider_t *prov, lc_prov_req_t *req, size_t *size)
{
    double t0 = lc_now();
    int done = 0, ret;

    while (!done) {
        if ((ret = prov->test(req, &done, size)))
            return ret;
        if (!done && lc_now() - t0 > 10)
            return -ETIMEDOUT;
    }
    return 0;
}

int ofi_xfer(ofi_pair_t *p, const void *sbuf, size_t slen, lc_prov_mr_t *smh, void *rbuf,
             size_t rlen, lc_prov_mr_t *rmh, size_t *rsize)
{
    lc_prov_req_t *sreq = NULL, *rreq = NULL;
    int sdone = 0, rdone = 0, sret = 0, rret = 0, ret;
    size_t ssize = 0;
    double t0 = lc_now();

    while (!rreq)
        if ((ret = p->prov->irecv(p->recv, rbuf, rlen, rmh, &rreq)))
            return ret;
    while (!sreq)
        if ((ret = p->prov->isend(p->send, sbuf, slen, smh, &sreq)))
            return ret;
    /* Both contexts live in this thread: poll them in turn. */
    while (!sdone || !rdone) {
        if (!sdone)
            sret = p->prov->test(sreq, &sdone, &ssize);
        if (!rdone)
            rret = p->prov->test(rreq, &rdone, rsize);
        if (sret && !sdone)
            return sret;
        if ((rret && !rdone) || lc_now() - t0 > 20)
            return rret ? rret : -ETIMEDOUT;
    }
    if (sret)
        return sret;
    if (!rret && ssize != slen)
        return -EPROTO;
    return rret;
}

void ofi_fill(void *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    unsigned char *c = buf;

    for (size_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        c[i] = (unsigned char)(x >> 24);
    }
}

int ofi_check(const void *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    const unsigned char *c = buf;

    for (size_t i = 0; i < len; i++) {
        x = x * 1664525u + 1013904223u;
        if (c[i] != (unsigned char)(x >> 24))
            return 0;
    }
    return 1;
}
