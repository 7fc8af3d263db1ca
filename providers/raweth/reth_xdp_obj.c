/* reth_xdp_obj.c - the compiled XDP program (reth_xdp_kern.c), embedded as bytes. */
#include "reth_xdp.h"

__asm__(".section .rodata\n"
        ".balign 8\n"
        ".globl reth_xdp_obj\n"
        ".hidden reth_xdp_obj\n"
        "reth_xdp_obj:\n"
        ".incbin \"" RETH_XDP_OBJ_PATH "\"\n"
        ".globl reth_xdp_obj_end\n"
        ".hidden reth_xdp_obj_end\n"
        "reth_xdp_obj_end:\n"
        ".previous\n");
