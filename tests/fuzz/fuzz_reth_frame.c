/*
 * fuzz_reth_frame.c - fuzz target for the raweth frame parser: any input
 * must be rejected cleanly or decode into a header that encodes back to the
 * same bytes (the MAC and CRC recomputed under reth_fuzz_key(), which the
 * driver seals its frames with); decoded DATA frames are also fed to a
 * receive window. When the first input byte is odd the CRC is fixed up
 * first, so that the fuzzer reaches the header checks behind it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reth_frame.h"
#include "reth_window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const reth_mackey_t *reth_fuzz_key(void);

const reth_mackey_t *reth_fuzz_key(void)
{
    static reth_mackey_t k;
    static int ready;

    if (!ready) {
        uint8_t b[RETH_MAC_KEY_LEN];

        for (int i = 0; i < RETH_MAC_KEY_LEN; i++)
            b[i] = (uint8_t)i;
        reth_mackey_load(&k, b);
        ready = 1;
    }
    return &k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t frame[70000], again[70000];
    const uint8_t *payload;
    reth_hdr_t h;
    size_t n;

    if (size < 1 || size - 1 > sizeof(frame))
        return 0;
    n = size - 1;
    memcpy(frame, data + 1, n);
    if ((data[0] & 1) && n >= RETH_OVERHEAD) {
        size_t body = RETH_ETH_HLEN + RETH_HDR_LEN + (size_t)(frame[18] | (frame[19] << 8));
        if (body + RETH_CRC_LEN <= n)
            reth_frame_reseal(frame, body + RETH_CRC_LEN);
    }
    if (reth_frame_decode(frame, n, &h, &payload) != 0)
        return 0;
    /* Decoding then encoding reproduces the frame up to its MAC; the MAC matches
     * exactly when it verifies. */
    if (reth_frame_encode(again, &h, payload, h.len, reth_fuzz_key()) !=
            (size_t)RETH_OVERHEAD + h.len ||
        memcmp(again, frame, (size_t)RETH_ETH_HLEN + RETH_HDR_LEN + h.len) ||
        !memcmp(again, frame, (size_t)RETH_OVERHEAD - RETH_CRC_LEN + h.len) !=
            !reth_frame_verify(frame, &h, reth_fuzz_key()))
        abort();
    if (h.type == RETH_T_DATA) {
        reth_rxwin_t w;
        const reth_rxslot_t *s;
        const uint8_t *d;
        if (reth_rxwin_init(&w, 16, 2048))
            return 0;
        w.cons = w.nxt = h.seq - (h.seq & 3); /* sometimes the head, sometimes later */
        if (reth_rxwin_store(&w, h.seq, h.msg_len, h.frag_off, payload, h.len) == RETH_RX_NEW &&
            (s = reth_rxwin_peek(&w, &d)) && (s->len != h.len || memcmp(d, payload, h.len)))
            abort();
        reth_rxwin_fini(&w);
    }
    return 0;
}
