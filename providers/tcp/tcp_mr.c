/*
 * tcp_mr.c - memory registration of the tcp provider. TCP needs none: a
 * registration is a record of the range, valid on every comm of the context,
 * used to check that sends and receives stay inside it.
 */
#include <stdlib.h>

#include "tcp.h"

/** @brief Record [buf, buf+len) as registered. */
int tcp_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mhandle)
{
    tcp_mr_t *mr;

    if (!comm || !mhandle || (!buf && len > 0))
        return LC_EINVAL(TCP_SUBSYS, "reg_mr: NULL argument");
    mr = malloc(sizeof(*mr));
    if (!mr)
        return lc_seterr(-ENOMEM, TCP_SUBSYS, "reg_mr: out of memory");
    lc_prov_obj_init(&mr->base.obj, &lc_prov_tcp, LC_PROV_MR);
    mr->buf = buf;
    mr->len = len;
    *mhandle = &mr->base;
    return 0;
}

/** @brief Drop a registration. */
int tcp_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle)
{
    int rc = lc_prov_check(mhandle, LC_PROV_MR, &lc_prov_tcp, "tcp dereg_mr");

    if (rc)
        return rc;
    if (!comm)
        return LC_EINVAL(TCP_SUBSYS, "dereg_mr: NULL comm");
    lc_prov_obj_kill(&mhandle->obj);
    free(mhandle);
    return 0;
}

/** @brief 0 when [buf, buf+len) lies inside the registration, else -EINVAL. */
int tcp_mr_check(const tcp_mr_t *mr, const void *buf, size_t len)
{
    const char *b = buf;

    int rc = lc_prov_check(mr, LC_PROV_MR, &lc_prov_tcp, "tcp isend/irecv: mhandle");

    if (rc)
        return rc;
    if (len > 0 && (b < mr->buf || len > mr->len || b - mr->buf > (ptrdiff_t)(mr->len - len)))
        return LC_EINVAL(TCP_SUBSYS, "buffer %p+%zu lies outside its registration %p+%zu", buf,
                         len, (const void *)mr->buf, mr->len);
    return 0;
}
