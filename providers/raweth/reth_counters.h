/*
 * reth_counters.h - raweth's frame counters, for tools such as lc_ping
 * (linked with the static library): read them with reth_get_counters().
 */
#ifndef RETH_COUNTERS_H
#define RETH_COUNTERS_H

#include <stdint.h>

#include "lioncub/provider_sdk.h"

typedef struct reth_counters {
    uint64_t sent;            /* frames handed to the datapath */
    uint64_t retransmitted;   /* DATA frames sent again */
    uint64_t received;        /* lioncub frames accepted */
    uint64_t dropped_crc;     /* bad CRC32C */
    uint64_t dropped_job;     /* another job's frames */
    uint64_t dropped_unknown; /* unknown connection or peer */
    uint64_t dropped_proto;   /* malformed or of another version */
    uint64_t dropped_mac;     /* no valid MAC: forged, modified, replayed into another session */
    uint64_t dups;            /* duplicate DATA frames */
} reth_counters_t;

/*
 * Copy the counters of a raweth provider context (the ctx from
 * lc_prov_raweth.init) into *out. 0, or -EINVAL for NULL arguments.
 */
LC_HIDDEN int reth_get_counters(void *ctx, reth_counters_t *out);

#endif
