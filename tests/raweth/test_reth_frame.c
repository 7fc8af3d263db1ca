/*
 * test_reth_frame.c - frame encode/decode round trip, rejection of damaged
 * frames, and of forged ones: a frame modified anywhere in its header or
 * payload with its CRC fixed up fails the MAC, as does one sealed under
 * another key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reth_frame.h"

static reth_mackey_t key, other; /* keys 00..0f and 00..0e 10 */

static int load_keys(void **state)
{
    uint8_t b[RETH_MAC_KEY_LEN];

    (void)state;
    for (int i = 0; i < RETH_MAC_KEY_LEN; i++)
        b[i] = (uint8_t)i;
    reth_mackey_load(&key, b);
    b[RETH_MAC_KEY_LEN - 1] = 0x10;
    reth_mackey_load(&other, b);
    return 0;
}

static uint64_t rnd64(void)
{
    return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

static void random_hdr(reth_hdr_t *h, size_t len)
{
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < 6; i++) {
        h->dst_mac[i] = (uint8_t)rand();
        h->src_mac[i] = (uint8_t)rand();
    }
    h->type = (uint8_t)(RETH_T_DATA + rand() % 6);
    h->flags = (uint16_t)rand();
    h->window = (uint16_t)rand();
    h->job_id = rnd64();
    h->src_rank = (int32_t)rand() - 5;
    h->src_ep = (uint32_t)rnd64();
    h->dst_ep = (uint32_t)rnd64();
    h->src_conn = (uint32_t)rnd64();
    h->dst_conn = (uint32_t)rnd64();
    h->seq = (uint32_t)rnd64();
    h->ack = (uint32_t)rnd64();
    h->sack = rnd64();
    h->frag_off = (uint32_t)(rand() % 100000);
    h->echo = (uint32_t)rnd64();
    h->msg_len = h->frag_off + (uint32_t)len + (uint32_t)(rand() % 5);
    if (len == 0) /* an empty fragment is only valid as a whole empty message */
        h->frag_off = h->msg_len = 0;
}

static void test_round_trip(void **state)
{
    uint8_t payload[9000], frame[9200];

    srand(7);
    for (int it = 0; it < 2000; it++) {
        size_t len = it < 10 ? (size_t)it : (size_t)rand() % sizeof(payload);
        reth_hdr_t h, d;
        const uint8_t *p;
        size_t flen, pad = (size_t)(rand() % 3) * 20;

        for (size_t i = 0; i < len; i++)
            payload[i] = (uint8_t)rand();
        random_hdr(&h, len);
        flen = reth_frame_encode(frame, &h, payload, len, &key);
        assert_int_equal(flen, RETH_OVERHEAD + len);
        memset(frame + flen, 0, pad); /* Ethernet padding after the CRC is ignored */
        assert_int_equal(reth_frame_decode(frame, flen + pad, &d, &p), 0);
        assert_memory_equal(d.dst_mac, h.dst_mac, 6);
        assert_memory_equal(d.src_mac, h.src_mac, 6);
        assert_int_equal(d.version, RETH_VERSION);
        assert_int_equal(d.type, h.type);
        assert_int_equal(d.flags, h.flags);
        assert_int_equal(d.len, len);
        assert_int_equal(d.window, h.window);
        assert_true(d.job_id == h.job_id);
        assert_int_equal(d.src_rank, h.src_rank);
        assert_int_equal(d.src_ep, h.src_ep);
        assert_int_equal(d.dst_ep, h.dst_ep);
        assert_int_equal(d.src_conn, h.src_conn);
        assert_int_equal(d.dst_conn, h.dst_conn);
        assert_int_equal(d.seq, h.seq);
        assert_int_equal(d.ack, h.ack);
        assert_true(d.sack == h.sack);
        assert_int_equal(d.msg_len, h.msg_len);
        assert_int_equal(d.frag_off, h.frag_off);
        assert_int_equal(d.echo, h.echo);
        if (len)
            assert_memory_equal(p, payload, len);
        assert_int_equal(reth_frame_verify(frame, &d, &key), 0);
    }
}

static void test_forgery_rejected(void **state)
{
    uint8_t payload[1500], frame[1700];
    reth_hdr_t h, d;
    const uint8_t *p;
    size_t flen;

    srand(13);
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rand();
    random_hdr(&h, sizeof(payload));
    h.type = RETH_T_DATA;
    flen = reth_frame_encode(frame, &h, payload, sizeof(payload), &key);
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), 0);
    assert_int_equal(reth_frame_verify(frame, &d, &key), 0);
    assert_int_equal(reth_frame_verify(frame, &d, &other), -EACCES);
    /* an on-path host edits a byte (addresses, header, payload or the MAC) and fixes the CRC */
    for (size_t byte = 0; byte < flen - RETH_CRC_LEN; byte++) {
        int rc;

        if (byte == 12 || byte == 13 || byte == 14)
            continue; /* EtherType and version: not a lioncub frame any more */
        frame[byte] ^= 0x5a;
        reth_frame_reseal(frame, flen);
        rc = reth_frame_decode(frame, flen, &d, &p);
        if (rc == 0)
            assert_int_equal(reth_frame_verify(frame, &d, &key), -EACCES);
        else /* the length field moved the CRC, or the header is no longer valid */
            assert_true(rc == -EBADMSG || rc == -EPROTO);
        frame[byte] ^= 0x5a;
    }
    reth_frame_reseal(frame, flen);
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), 0);
    assert_int_equal(reth_frame_verify(frame, &d, &key), 0);
}

static void test_damage_detected(void **state)
{
    uint8_t payload[1500], frame[1700];
    reth_hdr_t h, d;
    const uint8_t *p;
    size_t flen;

    srand(11);
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)rand();
    random_hdr(&h, sizeof(payload));
    h.type = RETH_T_DATA;
    flen = reth_frame_encode(frame, &h, payload, sizeof(payload), &key);
    /* Every single-bit flip after the EtherType and version is caught by the CRC. */
    for (size_t byte = 15; byte < flen; byte += 7)
        for (int bit = 0; bit < 8; bit++) {
            frame[byte] ^= (uint8_t)(1 << bit);
            int rc = reth_frame_decode(frame, flen, &d, &p);
            assert_true(rc == -EBADMSG || rc == -EPROTO);
            frame[byte] ^= (uint8_t)(1 << bit);
        }
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), 0);
    assert_int_equal(reth_frame_decode(frame, flen - 1, &d, &p), -EPROTO); /* truncated */
    assert_int_equal(reth_frame_decode(frame, 20, &d, &p), -EPROTO);
    frame[12] = 0x08; /* IPv4 EtherType */
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), -EPROTO);
    frame[12] = 0x88;
    frame[14] = RETH_VERSION + 1;
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), -EPROTO);
    frame[14] = RETH_VERSION;
    /* A fragment that would run past its message is refused even with a valid CRC. */
    h.msg_len = 10;
    h.frag_off = 0;
    flen = reth_frame_encode(frame, &h, payload, 100, &key);
    assert_int_equal(reth_frame_decode(frame, flen, &d, &p), -EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damage_detected),
        cmocka_unit_test(test_forgery_rejected),
    };
    return cmocka_run_group_tests(tests, load_keys, NULL);
}
