/*
 * tcp_test_util.h - helpers of the tcp provider tests: contexts on loopback,
 * connection setup through the ops table only, bounded waits, test data.
 */
#ifndef TCP_TEST_UTIL_H
#define TCP_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider.h"
#include "lioncub/provider_sdk.h"

/* The provider under test (through its ops table only). */
extern const lc_provider_t lc_prov_tcp;
#define TT (&lc_prov_tcp)

/* One connection: a listener and receive comm in rctx, a send comm in sctx. */
typedef struct tt_conn {
    lc_prov_ctx_t *sctx, *rctx;
    lc_prov_comm_t *lcomm, *scomm, *rcomm;
} tt_conn_t;

/* Set LC_TCP_NSOCKS (0: unset) and pin the tests to loopback. */
void tt_env(int nsocks);
/* A new context; fails the test if init fails. */
lc_prov_ctx_t *tt_ctx(void);
/* Listen in rctx, connect from sctx, accept: all within a few seconds. */
void tt_connect(tt_conn_t *c, lc_prov_ctx_t *sctx, lc_prov_ctx_t *rctx);
/* Close the comms of c (not the contexts). */
void tt_close(tt_conn_t *c);
/* Test req until done, for at most timeout_s; returns test()'s code, -ETIMEDOUT if not done. */
int tt_wait(lc_prov_req_t *req, size_t *size, double timeout_s);
/* Post a send or receive, retrying while the provider says "no resources". */
lc_prov_req_t *tt_isend(lc_prov_comm_t *comm, const void *buf, size_t len);
lc_prov_req_t *tt_irecv(lc_prov_comm_t *comm, void *buf, size_t len);
/* Fill / check a buffer with a pattern derived from seed. Check returns the first bad index or -1. */
void tt_fill(void *buf, size_t len, uint64_t seed);
long tt_check(const void *buf, size_t len, uint64_t seed);

#endif
