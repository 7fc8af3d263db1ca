/* bootstrap.h - the rendezvous: every rank proves it holds the job's key to a
 * root, which checks the ranks' arguments and returns all ranks' handles. */
#ifndef LC_BOOTSTRAP_H
#define LC_BOOTSTRAP_H

#include <stdint.h>

#include "internal.h"
#include "sec/sec.h"

#define LC_BOOT_PROV_NAME 32

typedef struct lc_boot_info {
    int rank;
    int nranks;
    uint64_t job_id;
    uint8_t key[LC_SHA256_LEN]; /* the job's bootstrap key (lc_job_keys_t.boot) */
    char provider[LC_BOOT_PROV_NAME];
    uint8_t handle[LC_PROV_HANDLE_MAX];
} lc_boot_info_t;

/*
 * Start a root listening on host:port (port "0": ephemeral) in a thread; it
 * serves one job of ranks holding key (the bootstrap key of job_id), closes
 * its listener once all have joined, sends them the table and exits.
 * *port_out gets the bound port.
 */
LC_HIDDEN int lc_boot_root_start(const char *host, const char *port, uint64_t job_id,
                                 const uint8_t key[LC_SHA256_LEN], int timeout_ms,
                                 int *port_out);

/*
 * Join the rendezvous at host:port: answer the root's challenge, receive
 * nranks handles into handles (nranks * LC_PROV_HANDLE_MAX bytes) and check
 * the root's proof over them.
 */
LC_HIDDEN int lc_boot_exchange(const char *host, const char *port, const lc_boot_info_t *self,
                               int timeout_ms, uint8_t *handles);

#endif
