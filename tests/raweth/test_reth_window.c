/*
 * test_reth_window.c - the sliding window and reorder buffer over a
 * simulated channel in memory that loses, duplicates, delays and reorders
 * data frames and acks: the released byte stream must equal the sent one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reth_window.h"

#define CAP 64
#define MAXPAY 100
#define NPKT 4096

typedef struct pkt {
    double t;              /* delivery time */
    int is_ack;
    uint32_t seq, msg_len, off, len, ack, window, echo;
    uint64_t sack;
    uint8_t data[MAXPAY];
} pkt_t;

typedef struct chan {
    pkt_t *q;
    int n;
    double loss, dup, delay_max;
} chan_t;

static double urand(void)
{
    return (double)rand() / ((double)RAND_MAX + 1);
}

static void chan_put(chan_t *c, const pkt_t *p, double now)
{
    int copies = urand() < c->dup ? 2 : 1;

    for (int i = 0; i < copies; i++) {
        if (urand() < c->loss || c->n == NPKT)
            continue;
        c->q[c->n] = *p;
        c->q[c->n].t = now + 0.001 + urand() * c->delay_max;
        c->n++;
    }
}

/* Remove and return one packet due at now, or 0. */
static int chan_get(chan_t *c, double now, pkt_t *out)
{
    for (int i = 0; i < c->n; i++)
        if (c->q[i].t <= now) {
            *out = c->q[i];
            c->q[i] = c->q[--c->n];
            return 1;
        }
    return 0;
}

typedef struct fragsrc {
    const uint8_t *stream;
    const uint32_t *lens; /* message lengths */
    int nmsg, msg;
    size_t msg_start, off; /* current message start in the stream, offset in it */
} fragsrc_t;

static uint32_t acked_count;

static void on_acked(void *arg, reth_txent_t *e)
{
    acked_count++;
}

static void run_sim(double loss, double dup, double delay_max, int stall)
{
    enum { NMSG = 300 };
    uint32_t lens[NMSG];
    size_t total = 0, got = 0, frames = 0;
    uint8_t *stream, *out;
    uint32_t *ent_msg_start, *ent_msg_len;
    chan_t data = {0}, acks = {0};
    reth_txwin_t tx;
    reth_rxwin_t rx;
    fragsrc_t src = {0};
    size_t rmsg_start = 0; /* receiver: stream position of the message in progress */
    uint32_t rmsg_len = 0, roff = 0;
    int rstarted = 0;
    uint32_t last_seq = 0;
    double now = 0;

    for (int i = 0; i < NMSG; i++) {
        lens[i] = (uint32_t)(i % 17 == 0 ? 0 : rand() % 1000);
        total += lens[i];
    }
    stream = malloc(total + 1);
    out = malloc(total + 1);
    ent_msg_start = calloc(CAP, sizeof(uint32_t));
    ent_msg_len = calloc(CAP, sizeof(uint32_t));
    data.q = calloc(NPKT, sizeof(pkt_t));
    acks.q = calloc(NPKT, sizeof(pkt_t));
    assert_true(stream && out && data.q && acks.q && ent_msg_start && ent_msg_len);
    for (size_t i = 0; i < total; i++)
        stream[i] = (uint8_t)rand();
    data.loss = acks.loss = loss;
    data.dup = acks.dup = dup;
    data.delay_max = acks.delay_max = delay_max;
    src.stream = stream;
    src.lens = lens;
    src.nmsg = NMSG;
    assert_int_equal(reth_txwin_init(&tx, CAP, 1500, now), 0);
    assert_int_equal(reth_rxwin_init(&rx, CAP, MAXPAY), 0);
    tx.peer_end = CAP; /* as from the SYNACK */
    acked_count = 0;

    for (int step = 0; step < 200000 && (got < total || src.msg < NMSG || tx.una != tx.nxt);
         step++) {
        pkt_t p;
        uint32_t seqs[CAP];
        int n, ackit = 0;

        now += 0.0005;
        /* Sender: retransmissions, then new frames. */
        n = reth_txwin_due(&tx, now, seqs, CAP);
        for (int i = 0; i < n; i++) {
            reth_txent_t *e = reth_txwin_get(&tx, seqs[i]);
            uint32_t k = seqs[i] & (CAP - 1);
            memset(&p, 0, sizeof(p));
            p.seq = seqs[i];
            p.msg_len = ent_msg_len[k];
            p.off = e->off;
            p.len = e->len;
            memcpy(p.data, stream + ent_msg_start[k] + e->off, e->len);
            chan_put(&data, &p, now);
        }
        while (src.msg < NMSG && reth_txwin_room(&tx)) {
            uint32_t mlen = lens[src.msg], seq;
            uint32_t len = (uint32_t)(mlen - src.off < MAXPAY ? mlen - src.off : MAXPAY);
            reth_txent_t *e = reth_txwin_push(&tx, now, &seq);
            e->off = (uint32_t)src.off;
            e->len = len;
            ent_msg_start[seq & (CAP - 1)] = (uint32_t)src.msg_start;
            ent_msg_len[seq & (CAP - 1)] = mlen;
            memset(&p, 0, sizeof(p));
            p.seq = seq;
            p.msg_len = mlen;
            p.off = e->off;
            p.len = len;
            memcpy(p.data, stream + src.msg_start + src.off, len);
            chan_put(&data, &p, now);
            frames++;
            src.off += len;
            if (src.off == mlen) {
                src.msg_start += mlen;
                src.msg++;
                src.off = 0;
            }
        }
        /* Receiver: store, release in order (unless the reader stalls), ack. */
        while (chan_get(&data, now, &p)) {
            int rc = reth_rxwin_store(&rx, p.seq, p.msg_len, p.off, p.data, p.len);
            last_seq = p.seq;
            assert_true(rc == RETH_RX_NEW || rc == RETH_RX_DUP || rc == RETH_RX_OUT);
            ackit = 1;
        }
        if (!(stall && (step / 200) % 3 == 1)) {
            const reth_rxslot_t *s;
            const uint8_t *d;
            while ((s = reth_rxwin_peek(&rx, &d))) {
                if (!rstarted) {
                    assert_int_equal(s->frag_off, 0);
                    rstarted = 1;
                    rmsg_len = s->msg_len;
                    roff = 0;
                }
                assert_int_equal(s->frag_off, roff);
                assert_int_equal(s->msg_len, rmsg_len);
                assert_true(rmsg_start + roff + s->len <= total);
                memcpy(out + rmsg_start + roff, d, s->len);
                roff += s->len;
                got += s->len;
                if (roff == rmsg_len) {
                    rmsg_start += rmsg_len;
                    rstarted = 0;
                }
                reth_rxwin_pop(&rx);
                ackit = 1;
            }
        }
        if (ackit || step % 50 == 0) {
            uint32_t w;
            memset(&p, 0, sizeof(p));
            p.is_ack = 1;
            reth_rxwin_ackinfo(&rx, &p.ack, &p.sack, &w);
            p.window = w;
            p.echo = last_seq;
            chan_put(&acks, &p, now);
        }
        while (chan_get(&acks, now, &p))
            reth_txwin_ack(&tx, p.ack, p.sack, p.window, p.echo, now, on_acked, NULL);
        assert_true(reth_txwin_inflight(&tx) <= CAP);
    }
    assert_int_equal(got, total);
    assert_int_equal(src.msg, NMSG);
    assert_int_equal(tx.una, tx.nxt);
    assert_int_equal(acked_count, frames);
    assert_memory_equal(out, stream, total);
    reth_txwin_fini(&tx);
    reth_rxwin_fini(&rx);
    free(stream);
    free(out);
    free(ent_msg_start);
    free(ent_msg_len);
    free(data.q);
    free(acks.q);
}

static void test_clean(void **state)
{
    srand(1);
    run_sim(0, 0, 0, 0);
}

static void test_loss(void **state)
{
    srand(2);
    run_sim(0.05, 0, 0, 0);
}

static void test_dup_reorder(void **state)
{
    srand(3);
    run_sim(0, 0.1, 0.01, 0);
}

static void test_everything_and_stalls(void **state)
{
    srand(4);
    run_sim(0.05, 0.05, 0.01, 1);
}

/* The receive buffer refuses frames past its window and counts duplicates. */
static void test_rx_bounds(void **state)
{
    reth_rxwin_t rx;
    uint8_t b[MAXPAY] = {1};
    uint32_t ack, win;
    uint64_t sack;

    assert_int_equal(reth_rxwin_init(&rx, 16, MAXPAY), 0);
    assert_int_equal(reth_rxwin_store(&rx, 16, 1, 0, b, 1), RETH_RX_OUT);
    assert_int_equal(reth_rxwin_store(&rx, 2, 1, 0, b, 1), RETH_RX_NEW);
    assert_int_equal(reth_rxwin_store(&rx, 2, 1, 0, b, 1), RETH_RX_DUP);
    assert_int_equal(reth_rxwin_store(&rx, 4, 1, 0, b, MAXPAY + 1), -EPROTO);
    reth_rxwin_ackinfo(&rx, &ack, &sack, &win);
    assert_int_equal(ack, 0);
    assert_true(sack == 2); /* seq 2 = ack + 1 + bit 1 */
    assert_int_equal(win, 16);
    assert_int_equal(reth_rxwin_store(&rx, 0, 1, 0, b, 1), RETH_RX_NEW);
    assert_int_equal(reth_rxwin_store(&rx, 1, 1, 0, b, 1), RETH_RX_NEW);
    reth_rxwin_ackinfo(&rx, &ack, &sack, &win);
    assert_int_equal(ack, 3);
    assert_int_equal(win, 13); /* nothing released yet */
    assert_int_equal(reth_rxwin_store(&rx, 1, 1, 0, b, 1), RETH_RX_DUP);
    reth_rxwin_fini(&rx);
}

/* With every frame lost the RTO backs off up to its bound; no ack, no progress. */
static void test_backoff_bounded(void **state)
{
    reth_txwin_t tx;
    uint32_t seq, seqs[4];
    double now = 0, last = 0, max_gap = 0;
    int sends = 0;

    assert_int_equal(reth_txwin_init(&tx, 16, 1500, now), 0);
    tx.peer_end = 16;
    reth_txwin_push(&tx, now, &seq);
    for (; now < 30; now += 0.001) {
        if (reth_txwin_due(&tx, now, seqs, 4)) {
            if (sends)
                max_gap = now - last > max_gap ? now - last : max_gap;
            last = now;
            sends++;
        }
    }
    assert_true(max_gap <= RETH_RTO_MAX + 0.002);
    assert_true(max_gap >= RETH_RTO_MAX - 0.002);
    /* a few doublings from RETH_RTO_INIT, then once per RETH_RTO_MAX */
    assert_true(sends > 30 / RETH_RTO_MAX - 5 && sends < 30 / RETH_RTO_MAX + 15);
    assert_true(reth_txwin_ack(&tx, 5, 0, 16, 0, now, NULL, NULL) < 0); /* beyond nxt: ignored */
    assert_int_equal(reth_txwin_ack(&tx, 1, 0, 16, 0, now, NULL, NULL), 1);
    assert_int_equal(reth_txwin_inflight(&tx), 0);
    reth_txwin_fini(&tx);
}

/* Slow start doubles the congestion window per round trip; a loss halves it once. */
static void test_congestion_window(void **state)
{
    reth_txwin_t tx;
    uint32_t seq, n = 0, seqs[64];
    double now = 0;

    const uint32_t init = (uint32_t)(RETH_CWND_INIT_BYTES / 1500);

    assert_int_equal(reth_txwin_init(&tx, 1024, 1500, now), 0);
    assert_true(init == 32 && tx.cwnd_min == 16); /* at MTU 1500, as when they were frames */
    tx.peer_end = 1024;
    while (reth_txwin_room(&tx)) {
        reth_txwin_push(&tx, now, &seq);
        n++;
    }
    assert_int_equal(n, init);
    now += 0.001; /* every frame acked after 1 ms: one round trip */
    assert_int_equal(reth_txwin_ack(&tx, tx.nxt, 0, 1024, tx.nxt - 1, now, NULL, NULL), (int)n);
    assert_true(tx.cwnd == 2 * init);
    for (n = 0; reth_txwin_room(&tx); n++)
        reth_txwin_push(&tx, now, &seq);
    assert_int_equal(n, 2 * init);
    /* Frame una is lost, the next ones arrive: once the hole is old, one cut. */
    now += 0.01;
    reth_txwin_ack(&tx, tx.una, ~0ull, 1024, tx.una + 5, now, NULL, NULL);
    assert_true(tx.cwnd == init);
    reth_txwin_ack(&tx, tx.una, ~0ull, 1024, tx.una + 6, now + 0.01, NULL, NULL);
    assert_true(tx.cwnd == init); /* same window: no second cut */
    assert_int_equal(reth_txwin_due(&tx, now + 0.01, seqs, 64), 1); /* only the hole is resent */
    assert_int_equal(seqs[0], tx.una);
    reth_txwin_fini(&tx);
}

/* Jumbo frames: the window starts and stops shrinking at the same bytes, in fewer frames. */
static void test_cwnd_bytes(void **state)
{
    reth_txwin_t tx;
    uint32_t seq, n = 0;
    double now = 0;

    (void)state;
    assert_int_equal(reth_txwin_init(&tx, 1024, 0, now), -EINVAL);
    assert_int_equal(reth_txwin_init(&tx, 1024, 9000, now), 0);
    assert_true(tx.cwnd == RETH_CWND_INIT_BYTES / 9000);
    tx.peer_end = 1024;
    for (; reth_txwin_room(&tx); n++)
        reth_txwin_push(&tx, now, &seq);
    assert_int_equal(n, 6); /* a window of 5.33 frames takes a sixth */
    /* losses, one per window, down to the floor and not below */
    for (int i = 0; i < 8; i++) {
        now += 0.01;
        reth_txwin_ack(&tx, tx.una, ~0ull, 1024, tx.una + 1, now, NULL, NULL);
        reth_txwin_push(&tx, now, &seq); /* the next window */
        tx.recover = tx.una;
    }
    assert_true(tx.cwnd == tx.cwnd_min && tx.cwnd_min == RETH_CWND_MIN_BYTES / 9000);
    reth_txwin_fini(&tx);
    /* a huge MTU still keeps RETH_CWND_MIN_FRAMES in flight */
    assert_int_equal(reth_txwin_init(&tx, 64, 1u << 20, now), 0);
    assert_true(tx.cwnd == RETH_CWND_MIN_FRAMES && tx.cwnd_min == RETH_CWND_MIN_FRAMES);
    reth_txwin_fini(&tx);
}

/*
 * A lost tail (no later frame, so no SACK): the frame is resent after two
 * smoothed RTTs (probe), RETH_PTO_MIN at least, without a window cut; the
 * next resend waits for the RTO, which cuts the window and backs off.
 */
static void tail_probe(double rtt, double pto)
{
    reth_txwin_t tx;
    uint32_t seq, seqs[4];
    double now = 0, cwnd;

    assert_int_equal(reth_txwin_init(&tx, 64, 1500, now), 0);
    tx.peer_end = 64;
    for (int i = 0; i < 20; i++) { /* equal RTT samples: srtt = rtt */
        reth_txwin_push(&tx, now, &seq);
        now += rtt;
        assert_int_equal(reth_txwin_ack(&tx, seq + 1, 0, 64, seq, now, NULL, NULL), 1);
    }
    assert_true(tx.srtt > rtt * 0.9 && tx.srtt < rtt * 1.1);
    tx.rto = 0.030; /* as after a noisy RTT: the probe must not wait for it */
    cwnd = tx.cwnd;
    reth_txwin_push(&tx, now, &seq); /* the last frame of a message, lost */
    assert_int_equal(reth_txwin_due(&tx, now + pto * 0.95, seqs, 4), 0);
    assert_int_equal(reth_txwin_due(&tx, now + pto * 1.05, seqs, 4), 1);
    assert_int_equal(seqs[0], seq);
    assert_true(tx.cwnd == cwnd && tx.backoff == 0); /* a probe is no timeout */
    now += pto * 1.05;
    assert_int_equal(reth_txwin_due(&tx, now + 0.025, seqs, 4), 0); /* then the RTO applies */
    assert_int_equal(reth_txwin_due(&tx, now + 0.0301, seqs, 4), 1);
    assert_true(tx.cwnd < cwnd && tx.backoff == 1);
    reth_txwin_fini(&tx);
}

/* With a steady 1 ms RTT the RTO (about 1 ms) comes before the probe's
 * floor: the frame times out, with a window cut and a backoff. */
static void tail_timeout_first(void)
{
    reth_txwin_t tx;
    uint32_t seq, seqs[4];
    double now = 0, cwnd;

    assert_int_equal(reth_txwin_init(&tx, 64, 1500, now), 0);
    tx.peer_end = 64;
    for (int i = 0; i < 20; i++) {
        reth_txwin_push(&tx, now, &seq);
        now += 0.001;
        assert_int_equal(reth_txwin_ack(&tx, seq + 1, 0, 64, seq, now, NULL, NULL), 1);
    }
    assert_true(tx.rto < RETH_PTO_MIN);
    cwnd = tx.cwnd;
    reth_txwin_push(&tx, now, &seq);
    assert_int_equal(reth_txwin_due(&tx, now + tx.rto * 0.95, seqs, 4), 0);
    assert_int_equal(reth_txwin_due(&tx, now + tx.rto * 1.05, seqs, 4), 1);
    assert_true(tx.cwnd < cwnd && tx.backoff == 1);
    reth_txwin_fini(&tx);
}

static void test_tail_probe(void **state)
{
    (void)state;
    tail_probe(0.005, 0.010);        /* two smoothed RTTs */
    tail_probe(0.001, RETH_PTO_MIN); /* the floor, when the RTO is later */
    tail_timeout_first();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_dup_reorder),
        cmocka_unit_test(test_everything_and_stalls),
        cmocka_unit_test(test_rx_bounds),
        cmocka_unit_test(test_backoff_bounded),
        cmocka_unit_test(test_congestion_window),
        cmocka_unit_test(test_cwnd_bytes),
        cmocka_unit_test(test_tail_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
