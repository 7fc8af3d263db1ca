/* bootstrap.h - the rendezvous: every rank sends its provider handle to a root,
 * which checks the job key and arguments and returns all ranks' handles. */
#ifndef LC_BOOTSTRAP_H
#define LC_BOOTSTRAP_H

#include <stdint.h>

#include "internal.h"

#define LC_BOOT_PROV_NAME 32

typedef struct lc_boot_info {
    int rank;
    int nranks;
    uint64_t key_hash;
    char provider[LC_BOOT_PROV_NAME];
    uint8_t handle[LC_PROV_HANDLE_MAX];
} lc_boot_info_t;

/*
 * Start a root listening on host:port (port "0": ephemeral) in a thread; it
 * serves one job of ranks presenting key_hash, then exits. *port_out gets the
 * bound port.
 */
LC_HIDDEN int lc_boot_root_start(const char *host, const char *port, uint64_t key_hash,
                                 int timeout_ms, int *port_out);

/*
 * Join the rendezvous at host:port: send self, receive nranks handles into
 * handles (nranks * LC_PROV_HANDLE_MAX bytes).
 */
LC_HIDDEN int lc_boot_exchange(const char *host, const char *port, const lc_boot_info_t *self,
                               int timeout_ms, uint8_t *handles);

#endif
