/* mock_prov.h - the in-memory test provider (mock_prov.c) and its counters. */
#ifndef LCN_MOCK_PROV_H
#define LCN_MOCK_PROV_H

#include "lioncub/provider.h"

struct mock_counters {
    int fail_init; /* set: init() fails with -ENODEV */
    int busy_mode; /* set: some posts return a NULL request */
    int regs;      /* live registrations */
    int comms;     /* live listen/send/recv comms */
    int msgs;      /* messages sent so far */
    int delivered; /* messages matched to a posted receive so far */
    int finis;     /* contexts destroyed */
};

extern struct mock_counters mock_count;
extern const lc_provider_t mock_prov;

/* Deliver queued messages on every connection. */
void mock_progress_all(void);

#endif
