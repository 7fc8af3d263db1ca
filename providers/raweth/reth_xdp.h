/* reth_xdp.h - the XDP program object embedded for raweth's "xdp" mode. */
#ifndef RETH_XDP_H
#define RETH_XDP_H

#include "lioncub/provider_sdk.h"

/* The BPF ELF object built from reth_xdp_kern.c: [reth_xdp_obj, reth_xdp_obj_end). */
LC_HIDDEN extern const unsigned char reth_xdp_obj[];
LC_HIDDEN extern const unsigned char reth_xdp_obj_end[];

#endif
