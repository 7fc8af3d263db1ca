/*
 * harness.h - run p ranks as threads of one process, each with its own
 * communicator; and the helpers the provider tests share.
 */
#ifndef LC_TEST_HARNESS_H
#define LC_TEST_HARNESS_H

#include <stdint.h>

#include "lioncub/lioncub.h"
#include "lioncub/provider.h"

typedef void (*lc_rank_fn)(lc_comm_t *comm, int rank, int p, void *arg);

/*
 * Start p threads; each joins a communicator (rendezvous through
 * lc_get_unique_id on loopback; LC_TIMEOUT when set, else 30 s) and runs fn. Returns 0 when every rank
 * initialised, or the first init error.
 */
int lc_test_ranks(int p, lc_rank_fn fn, void *arg);

/* The same with rank r on host host[r] (lc_comm_config_t.host), emulating a
 * cluster of several hosts inside this process. */
int lc_test_ranks_on_hosts(int p, const int *host, lc_rank_fn fn, void *arg);

/* Deterministic pseudo-random numbers (splitmix64). */
static inline uint64_t lc_test_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A free TCP port on 127.0.0.1 (for env-style rendezvous tests). */
int lc_test_free_port(void);

/* The environment rendezvous of one rank: LC_RANK, LC_SIZE, LC_ROOT on
 * 127.0.0.1:port, LC_JOB_KEY and LC_TIMEOUT. */
void lc_test_env(int rank, int p, int port, const char *key, int timeout_ms);

/* Hex digits (pairs) into bytes at out; returns the number of bytes. */
size_t lc_test_unhex(const char *hex, uint8_t *out);

/* A context of provider prov for job 1 outside a communicator (rank -1), whose
 * provider key is the byte fill repeated; fails the (cmocka) test if init fails. */
lc_prov_ctx_t *lc_test_prov_ctx_with_key(const lc_provider_t *prov, uint8_t fill);

#endif
