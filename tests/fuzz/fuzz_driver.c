/*
 * fuzz_driver.c - runs a libFuzzer-style target without libFuzzer: each
 * file named on the command line (the corpus), then random inputs and
 * random mutations of valid frames for a bounded number of iterations:
 *   fuzz_reth_frame_driver [-runs=N] [-seed=S] [FILE...]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reth_frame.h"

/* The key fuzz_reth_frame.c checks MACs with. */
const reth_mackey_t *reth_fuzz_key(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 88172645463325252ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void run_file(const char *path)
{
    static uint8_t buf[70001];
    FILE *f = fopen(path, "rb");
    size_t n;

    if (!f) {
        perror(path);
        exit(1);
    }
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
}

/* One input: a valid frame with a few bytes changed, or plain noise. */
static size_t make_input(uint8_t *buf, size_t cap)
{
    reth_hdr_t h;
    size_t len = next_rand() % 3000, n;
    uint8_t payload[3000];

    if (next_rand() % 4 == 0) {
        n = next_rand() % (cap < 4000 ? cap : 4000);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)next_rand();
        return n;
    }
    memset(&h, 0, sizeof(h));
    h.type = (uint8_t)(next_rand() % 8);
    h.seq = next_rand();
    h.msg_len = next_rand() % 2 ? (uint32_t)len : next_rand();
    h.frag_off = next_rand() % 2 ? 0 : next_rand() % 5000;
    for (size_t i = 0; i < len; i++)
        payload[i] = (uint8_t)next_rand();
    n = 1 + reth_frame_encode(buf + 1, &h, payload, len, reth_fuzz_key());
    buf[0] = (uint8_t)next_rand();
    for (uint32_t k = next_rand() % 4; k > 0; k--)
        buf[1 + next_rand() % (n - 1)] ^= (uint8_t)(1u << (next_rand() % 8));
    if (next_rand() % 8 == 0)
        n = 1 + next_rand() % n; /* truncated */
    return n;
}

int main(int argc, char **argv)
{
    static uint8_t buf[8192];
    long runs = 200000;

    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "-runs=", 6))
            runs = atol(argv[i] + 6);
        else if (!strncmp(argv[i], "-seed=", 6))
            rng = strtoull(argv[i] + 6, NULL, 0) | 1;
        else
            run_file(argv[i]);
    }
    for (long r = 0; r < runs; r++)
        LLVMFuzzerTestOneInput(buf, make_input(buf, sizeof(buf)));
    printf("fuzz_reth_frame_driver: %ld inputs, no crash\n", runs);
    return 0;
}
