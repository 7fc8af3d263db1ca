/* ofi_pair.h - test harness: two ofi contexts in one process joined by one connection. */
#ifndef OFI_PAIR_H
#define OFI_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider.h"

typedef struct ofi_pair {
    const lc_provider_t *prov;
    lc_prov_ctx_t *a, *b;  /* sender's and receiver's contexts */
    lc_prov_comm_t *listen; /* on b */
    lc_prov_comm_t *send, *recv;
    char handle[LC_PROV_HANDLE_MAX];
} ofi_pair_t;

/* Point the provider at loopback; exit(77) with a reason when libfabric has no usable provider. */
void ofi_env_or_skip(void);
/* Open both contexts and one connection a -> b; 0 or the failing code. */
int ofi_pair_open(ofi_pair_t *p);
/* One more connection a -> b on the same listener. */
int ofi_pair_connect(ofi_pair_t *p, lc_prov_comm_t **send, lc_prov_comm_t **recv);
/* Close what p holds (send, recv, listen, then contexts a and b); 0, or the first close's error. */
int ofi_pair_close(ofi_pair_t *p);
/* Poll a request to completion (10 s deadline: -ETIMEDOUT); returns test()'s code. */
int ofi_wait(const lc_provider_t *prov, lc_prov_req_t *req, size_t *size);
/* Send and receive one message; returns the receive's code, *rsize its size. */
int ofi_xfer(ofi_pair_t *p, const void *sbuf, size_t slen, lc_prov_mr_t *smh, void *rbuf,
             size_t rlen, lc_prov_mr_t *rmh, size_t *rsize);
/* Deterministic pattern of message seed. */
void ofi_fill(void *buf, size_t len, uint32_t seed);
int ofi_check(const void *buf, size_t len, uint32_t seed);

#endif
