/* reth_crc32c.c - CRC32C: slice-by-8 tables and the SSE4.2 crc32 instruction, same result. */
#include <pthread.h>
#include <string.h>

#include "reth_crc32c.h"

#define RETH_CRC32C_POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t reth_crc_tab[8][256];
static pthread_once_t reth_crc_once = PTHREAD_ONCE_INIT;

static void reth_crc_make_tables(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? RETH_CRC32C_POLY : 0);
        reth_crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            reth_crc_tab[t][i] =
                (reth_crc_tab[t - 1][i] >> 8) ^ reth_crc_tab[0][reth_crc_tab[t - 1][i] & 0xFF];
}

uint32_t reth_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = ~crc;

    pthread_once(&reth_crc_once, reth_crc_make_tables);
    while (len && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ reth_crc_tab[0][(c ^ *p++) & 0xFF];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c; /* little-endian: the low 32 bits meet the crc */
        c = reth_crc_tab[7][w & 0xFF] ^ reth_crc_tab[6][(w >> 8) & 0xFF] ^
            reth_crc_tab[5][(w >> 16) & 0xFF] ^ reth_crc_tab[4][(w >> 24) & 0xFF] ^
            reth_crc_tab[3][(w >> 32) & 0xFF] ^ reth_crc_tab[2][(w >> 40) & 0xFF] ^
            reth_crc_tab[1][(w >> 48) & 0xFF] ^ reth_crc_tab[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = (c >> 8) ^ reth_crc_tab[0][(c ^ *p++) & 0xFF];
    return ~c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t reth_crc32c_sse42(uint32_t crc, const void *buf,
                                                                    size_t len)
{
    const uint8_t *p = buf;
    uint64_t c = ~crc;

    while (len && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

int reth_crc32c_has_hw(void)
{
    return __builtin_cpu_supports("sse4.2");
}

uint32_t reth_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return reth_crc32c_has_hw() ? reth_crc32c_sse42(crc, buf, len) : reth_crc32c_sw(crc, buf, len);
}
#else
int reth_crc32c_has_hw(void)
{
    return 0;
}

uint32_t reth_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
    return reth_crc32c_sw(crc, buf, len);
}
#endif

uint32_t reth_crc32c(uint32_t crc, const void *buf, size_t len)
{
    static int hw = -1;
    int h = __atomic_load_n(&hw, __ATOMIC_RELAXED);

    if (h < 0) {
        h = reth_crc32c_has_hw();
        __atomic_store_n(&hw, h, __ATOMIC_RELAXED);
    }
    return h ? reth_crc32c_hw(crc, buf, len) : reth_crc32c_sw(crc, buf, len);
}
