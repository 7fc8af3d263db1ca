/* lcofi_av.c - inserts peer endpoint addresses into the address vector, once per address. */
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

int lcofi_av_insert(lcofi_ctx_t *ctx, const void *addr, size_t len, lcofi_peer_t **pe)
{
    lcofi_peer_t *p;
    int ret;

    if (len == 0 || len > LCOFI_ADDR_MAX)
        return lc_seterr(LC_ERR_PROTO, LCOFI_SUBSYS, "peer address of %zu bytes", len);
    for (p = ctx->peers; p; p = p->next)
        if (p->len == len && !memcmp(p->addr, addr, len)) {
            *pe = p;
            return 0;
        }
    if (!(p = calloc(1, sizeof(*p))))
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "av: out of memory");
    ret = fi_av_insert(ctx->av, addr, 1, &p->fa, 0, NULL);
    if (ret != 1) {
        free(p);
        return lcofi_fierr(ret < 0 ? ret : -FI_EINVAL, "fi_av_insert");
    }
    p->len = len;
    memcpy(p->addr, addr, len);
    p->probe_op.kind = LCOFI_OP_PROBE_SEND;
    p->probe_op.owner = p;
    p->next = ctx->peers;
    ctx->peers = p;
    *pe = p;
    return 0;
}
