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
    uint64_t host;              /* the rank's host key (core/comm/topo.c) */
    int32_t shm_pid, shm_fd;    /* its shared-memory region (core/comm/shm.c), or 0, -1 */
} lc_boot_info_t;

/* One rank's line of the table the root sends every rank. */
typedef struct lc_boot_entry {
    uint8_t handle[LC_PROV_HANDLE_MAX];
    uint64_t host;
    int32_t shm_pid, shm_fd;
} lc_boot_entry_t;

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
 * the table of nranks entries (handle and host key of every rank) and check
 * the root's proof over it.
 */
LC_HIDDEN int lc_boot_exchange(const char *host, const char *port, const lc_boot_info_t *self,
                               int timeout_ms, lc_boot_entry_t *table);

#endif
