/* reth_crc32c.h - CRC32C (Castagnoli) used to protect every raweth frame. */
#ifndef RETH_CRC32C_H
#define RETH_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"

/*
 * CRC32C of buf, continuing from crc (0 to start): the usual reflected CRC
 * with initial value and final xor 0xFFFFFFFF, so reth_crc32c(0, "", 0) == 0
 * and 32 zero bytes give 0x8A9136AA (RFC 3720 B.4). Uses the SSE4.2 crc32
 * instruction when the CPU has it, else the slice-by-8 table.
 */
LC_HIDDEN uint32_t reth_crc32c(uint32_t crc, const void *buf, size_t len);
/* The table (slice-by-8) implementation, always available. */
LC_HIDDEN uint32_t reth_crc32c_sw(uint32_t crc, const void *buf, size_t len);
/* The SSE4.2 implementation; falls back to reth_crc32c_sw on CPUs without it. */
LC_HIDDEN uint32_t reth_crc32c_hw(uint32_t crc, const void *buf, size_t len);
/* 1 when reth_crc32c uses the SSE4.2 instruction. */
LC_HIDDEN int reth_crc32c_has_hw(void);

#endif
