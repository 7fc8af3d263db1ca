/* reth_module.c - the entry point of the raweth module (LIBDIR/lioncub/liblioncub-raweth.so). */
#include "reth.h"

#define LC_PROV_MODULE_OPS lc_prov_raweth
#include "lioncub/provider_module.h"
