/* lcofi_params.c - the ofi provider's LC_OFI_* parameters, with their help text. */
#include "lcofi.h"

const lc_param_t lcofi_params[] = {
    {"LC_OFI_PROVIDER", LC_PARAM_STR, "tcp;ofi_rxm",
     "libfabric provider (fi_info -p syntax): tcp;ofi_rxm (Ethernet), verbs;ofi_rxm (RoCE), "
     "efa (AWS)"},
    {"LC_OFI_IFNAME", LC_PARAM_STR, NULL,
     "Network interface to use (its address selects the libfabric domain), or any; default "
     "lo when LC_ROOT is on loopback, or unset outside mpirun/srun, else any (the "
     "provider's first)"},
    {"LC_OFI_DOMAIN", LC_PARAM_STR, NULL,
     "libfabric domain name to use, e.g. mlx5_0 for verbs or eth0 for tcp (fi_info -l)"},
    {"LC_OFI_MAX_MSG", LC_PARAM_INT, "8M",
     "Largest piece of a message one libfabric operation carries (at most the provider's "
     "max_msg_size); longer messages are split. Each context keeps a scratch buffer of this "
     "size that catches data overflowing a receive buffer"},
    {"LC_OFI_TCP_EAGER", LC_PARAM_INT, "256K",
     "Over tcp;ofi_rxm: sets FI_OFI_RXM_EAGER_LIMIT (unless already set) so that messages up "
     "to this size go eagerly instead of by rendezvous, which costs a round trip per message "
     "over tcp; 0 keeps libfabric's default. Effective only if libfabric was not yet "
     "initialized in the process"},
    {"LC_OFI_MR_LOCAL", LC_PARAM_BOOL, "0",
     "Register every buffer as if the provider asked for FI_MR_LOCAL (for testing)"},
    {NULL, 0, NULL, NULL},
};
