/*
 * tcp_mr.c - memory registration of the tcp provider. TCP needs none: a
 * registration is a record of the range, valid on every comm of the context,
 * used to check that sends and receives stay inside it.
 */
#include <stdlib.h>

#include "tcp.h"

/** @brief Record [buf, buf+len) as registered. */
int tcp_reg_mr(void *comm, void *buf, size_t len, void **mhandle)
{
    tcp_mr_t *mr;

    if (!comm || !mhandle || (!buf && len > 0))
        return LC_EINVAL(TCP_SUBSYS, "reg_mr: NULL argument");
    mr = malloc(sizeof(*mr));
    if (!mr)
        return lc_seterr(-ENOMEM, TCP_SUBSYS, "reg_mr: out of memory");
    mr->magic = TCP_MR_LIVE;
    mr->buf = buf;
    mr->len = len;
    *mhandle = mr;
    return 0;
}

/** @brief Drop a registration. */
int tcp_dereg_mr(void *comm, void *mhandle)
{
    tcp_mr_t *mr = mhandle;

    if (!comm || !mr || mr->magic != TCP_MR_LIVE)
        return LC_EINVAL(TCP_SUBSYS, "dereg_mr: not a registration");
    mr->magic = 0;
    free(mr);
    return 0;
}

/** @brief 0 when [buf, buf+len) lies inside the registration, else -EINVAL. */
int tcp_mr_check(const tcp_mr_t *mr, const void *buf, size_t len)
{
    const char *b = buf;

    if (mr->magic != TCP_MR_LIVE)
        return LC_EINVAL(TCP_SUBSYS, "memory handle is not a registration");
    if (len > 0 && (b < mr->buf || len > mr->len || b - mr->buf > (ptrdiff_t)(mr->len - len)))
        return LC_EINVAL(TCP_SUBSYS, "buffer %p+%zu lies outside its registration %p+%zu", buf,
                         len, (const void *)mr->buf, mr->len);
    return 0;
}
