/* lcofi_module.c - the entry point of the ofi module (LIBDIR/lioncub/liblioncub-ofi.so). */
#include "lcofi.h"

#define LC_PROV_MODULE_OPS lc_prov_ofi
#include "lioncub/provider_module.h"
