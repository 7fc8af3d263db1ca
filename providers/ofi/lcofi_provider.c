/* lcofi_provider.c - the ofi provider's ops table: lioncub over libfabric RDM endpoints. */
#include "lcofi.h"

const lc_provider_t lc_prov_ofi = {
    .size = sizeof(lc_provider_t),
    .name = "ofi",
    .params = lcofi_params,
    .init = lcofi_init,
    .fini = lcofi_fini,
    .devices = lcofi_devices,
    .get_props = lcofi_get_props,
    .listen = lcofi_listen,
    .connect = lcofi_connect,
    .accept = lcofi_accept,
    .reg_mr = lcofi_reg_mr,
    .dereg_mr = lcofi_dereg_mr,
    .isend = lcofi_isend,
    .irecv = lcofi_irecv,
    .test = lcofi_test,
    .close_send = lcofi_close_send,
    .close_recv = lcofi_close_recv,
    .close_listen = lcofi_close_listen,
    .wait = lcofi_wait,
    .progress = lcofi_progress_op,
};
