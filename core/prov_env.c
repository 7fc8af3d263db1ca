/*
 * prov_env.c - variables that provider libraries read once, when they
 * initialize, set before any lioncub thread reads the environment.
 *
 * setenv() may move the environment while another thread's getenv() walks
 * it, so lioncub sets them exactly once per process, under a lock that
 * lc_comm_init and lc_provider_select take before anything else: the threads
 * of a process that call lioncub all wait there until it is done. The first
 * call's provider list decides: only a list that can choose ofi looks at the
 * ofi module's variables, which loads the module (and libfabric, whose
 * providers may take a while to initialize) in a process that uses tcp.
 *
 * FI_OFI_RXM_EAGER_LIMIT: rxm sends messages above its eager limit (16 KiB)
 * by rendezvous, one more round trip per message over the tcp core provider,
 * and lioncub's vote messages are tens of KiB; over tcp;ofi_rxm (the ofi
 * provider's default) it becomes LC_OFI_TCP_EAGER, unless the user set it.
 * libfabric reads it at its first fi_getinfo in the process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void lc_prov_env_set(const char *list)
{
    const char *prov;
    int64_t eager;
    char v[32];

    if (!list || (list[0] != '^' && !lc_list_has(list, "ofi")))
        return; /* ofi cannot be chosen (the default list is tcp) */
    prov = lc_param_str("LC_OFI_PROVIDER"); /* NULL: no ofi module */
    /* a malformed LC_OFI_TCP_EAGER is the ofi provider's error to report */
    if (!prov || strncmp(prov, "tcp", 3) || lc_param_int("LC_OFI_TCP_EAGER", &eager) ||
        eager <= 0 || getenv("FI_OFI_RXM_EAGER_LIMIT"))
        return;
    snprintf(v, sizeof(v), "%lld", (long long)eager);
    if (setenv("FI_OFI_RXM_EAGER_LIMIT", v, 0))
        LC_WARN("provider", "setenv FI_OFI_RXM_EAGER_LIMIT: %s", strerror(errno));
    else
        LC_DEBUG("provider", "FI_OFI_RXM_EAGER_LIMIT=%s (LC_OFI_TCP_EAGER)", v);
}

void lc_prov_env_prepare(const char *list)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int done;

    pthread_mutex_lock(&lock);
    if (!done)
        lc_prov_env_set(list && *list ? list : lc_param_str("LC_PROVIDER"));
    done = 1;
    pthread_mutex_unlock(&lock);
}
