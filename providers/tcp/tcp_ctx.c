/*
 * tcp_ctx.c - the tcp provider's context: parameters, devices, the epoll
 * instance of the progress engine, and teardown.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tcp.h"

/* Read an integer parameter within [lo, hi]. */
static int tcp_param_range(const char *name, int64_t lo, int64_t hi, int64_t *v)
{
    int rc = lc_param_int(name, v);

    if (rc)
        return rc;
    if (*v < lo || *v > hi)
        return lc_seterr(LC_ERR_CONFIG, TCP_SUBSYS, "%s=%lld is out of range [%lld, %lld]", name,
                         (long long)*v, (long long)lo, (long long)hi);
    return 0;
}

/**
 * @brief Create a context: read LC_TCP_*, find the devices, open the epoll set.
 * @return 0, -ENODEV, LC_ERR_CONFIG or -ENOMEM.
 */
int tcp_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **out)
{
    tcp_ctx_t *ctx;
    int64_t nsocks, chunk, sockbuf, timeout_ms = 60000;
    int rc;

    if (!out)
        return LC_EINVAL(TCP_SUBSYS, "init: NULL ctx pointer");
    *out = NULL;
    if (opts && opts->size < offsetof(lc_prov_init_opts_t, rank) + sizeof(int))
        return LC_EINVAL(TCP_SUBSYS, "init: opts->size %zu is too small", opts->size);
    if ((rc = tcp_param_range("LC_TCP_NSOCKS", 1, TCP_MAX_SOCKS, &nsocks)) ||
        (rc = tcp_param_range("LC_TCP_CHUNK", TCP_MIN_CHUNK, 1 << 30, &chunk)) ||
        (rc = tcp_param_range("LC_TCP_SOCKBUF", 0, 1 << 30, &sockbuf)))
        return rc;
    rc = lc_param_int("LC_TIMEOUT", &timeout_ms);
    if (rc && rc != -ENOENT)
        return rc;
    ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return lc_seterr(-ENOMEM, TCP_SUBSYS, "init: out of memory");
    lc_prov_obj_init(&ctx->base.obj, &lc_prov_tcp, LC_PROV_CTX);
    if (opts && opts->size >= offsetof(lc_prov_init_opts_t, key) + sizeof(opts->key))
        memcpy(ctx->key, opts->key, sizeof(ctx->key));
    ctx->nsocks = (int)nsocks;
    ctx->chunk = (size_t)chunk;
    ctx->sndbuf = tcp_sockbuf_fit((int)sockbuf, 0);
    ctx->rcvbuf = tcp_sockbuf_fit((int)sockbuf, 1);
    timeout_ms = timeout_ms > 4000LL * 32767 ? 4000LL * 32767 : timeout_ms; /* TCP_KEEPIDLE max */
    ctx->keepalive_s = timeout_ms <= 0 ? 0 : timeout_ms < 4000 ? 1 : (int)(timeout_ms / 4000);
    rc = tcp_dev_discover(ctx->devs, TCP_MAX_DEVS);
    if (rc < 0)
        goto err_free;
    ctx->ndev = rc;
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    ctx->wait_fd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0 || ctx->wait_fd < 0 ||
        epoll_ctl(ctx->wait_fd, EPOLL_CTL_ADD, ctx->epfd,
                  &(struct epoll_event){.events = EPOLLIN, .data.fd = ctx->epfd}) < 0) {
        rc = lc_seterr(-errno, TCP_SUBSYS, "epoll_create1: %s", strerror(errno));
        if (ctx->epfd >= 0)
            close(ctx->epfd);
        if (ctx->wait_fd >= 0)
            close(ctx->wait_fd);
        goto err_free;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    for (int i = 0; i < ctx->ndev; i++)
        LC_INFO(TCP_SUBSYS, "device %d: %s", i, ctx->devs[i].ifname);
    LC_INFO(TCP_SUBSYS, "nsocks %d, chunk %zu, sndbuf %d, rcvbuf %d", ctx->nsocks, ctx->chunk,
            ctx->sndbuf, ctx->rcvbuf);
    *out = &ctx->base;
    return 0;

err_free:
    free(ctx);
    return rc;
}

/**
 * @brief Destroy a context. Comms still open are closed (with a warning);
 *        requests never tested are freed.
 */
void tcp_fini(lc_prov_ctx_t *vctx)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;

    if (lc_prov_check(vctx, LC_PROV_CTX, &lc_prov_tcp, "tcp fini"))
        return;
    if (ctx->comms || ctx->connecting)
        LC_WARN(TCP_SUBSYS, "fini: closing comms left open");
    while (ctx->comms)
        tcp_comm_free(ctx->comms);
    while (ctx->connecting)
        tcp_comm_free(ctx->connecting);
    tcp_req_pool_free(ctx);
    close(ctx->wait_fd);
    close(ctx->epfd);
    pthread_mutex_destroy(&ctx->lock);
    lc_prov_obj_kill(&ctx->base.obj);
    free(ctx);
}

/** @brief Number of devices of the context. */
int tcp_devices(lc_prov_ctx_t *vctx, int *ndev)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;

    if (!ctx || !ndev)
        return LC_EINVAL(TCP_SUBSYS, "devices: NULL argument");
    *ndev = ctx->ndev;
    return 0;
}

/** @brief Properties of device dev; fills at most props->size bytes. */
int tcp_get_props(lc_prov_ctx_t *vctx, int dev, lc_prov_props_t *props)
{
    tcp_ctx_t *ctx = (tcp_ctx_t *)vctx;
    lc_prov_props_t p;

    if (!ctx || !props)
        return LC_EINVAL(TCP_SUBSYS, "get_props: NULL argument");
    if (dev < 0 || dev >= ctx->ndev)
        return LC_EINVAL(TCP_SUBSYS, "get_props: device %d out of range [0, %d)", dev, ctx->ndev);
    tcp_dev_props(&ctx->devs[dev], &p);
    return lc_struct_out(props, &p, sizeof(p), "lc_prov_props_t");
}
