/*
 * reth_window.h - per-connection reliability state, free of sockets so that it
 * can be tested in memory: the sender's sliding window (sequence numbers,
 * cumulative + selective acks, RTT estimate, retransmission timer with
 * bounded exponential backoff) and the receiver's reorder buffer (duplicate
 * suppression, in-order release, ack and window advertisement).
 */
#ifndef RETH_WINDOW_H
#define RETH_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"

static inline int reth_seq_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

#define RETH_RTO_INIT 0.010 /* s, before any RTT sample */
#define RETH_RTO_MIN 0.001 /* s: TPACKET_V2 and AF_XDP hand frames over at once; peers ack every pass */
#define RETH_RTO_MAX 0.1   /* s: the backoff stops growing here (LC_TIMEOUT detects a dead peer) */
/* s: the probe timeout's floor (a shorter RTO still applies). A frame can sit
 * this long in a shaped switch port's queue (lc_run's tbf holds about 3 ms at
 * 1 Gbit/s) without being lost: with 2 srtt alone, 4-5% of frames were resent
 * needlessly once the senders had CPU enough to fill that queue. */
#define RETH_PTO_MIN   0.004
#define RETH_SACK_SPAN 65 /* frames an ack describes: the cumulative one and 64 SACK bits */
/*
 * The congestion window counts frames, but its floor and start are bytes
 * (16 and 32 frames at MTU 1500): with jumbo frames the same bytes are fewer
 * frames, so that p - 1 senders at the floor still fit a switch port's queue.
 */
#define RETH_CWND_MIN_BYTES  24000.0
#define RETH_CWND_INIT_BYTES 48000.0
#define RETH_CWND_MIN_FRAMES 2.0   /* and never fewer frames than this */
#define RETH_QUEUE_MAX       0.010 /* s: stop growing cwnd once the RTT shows this much queueing */

/* One frame in flight. */
typedef struct reth_txent {
    void *req;        /* the send request the fragment belongs to */
    uint32_t off;     /* fragment offset in the message */
    uint32_t len;     /* fragment bytes */
    double t_sent;    /* last transmission */
    uint8_t acked;
    uint8_t nretx;    /* retransmissions so far */
    uint8_t fast;     /* selected for fast retransmission by a SACK */
} reth_txent_t;

typedef struct reth_txwin {
    reth_txent_t *ent; /* cap entries, frame seq at ent[seq & (cap - 1)] */
    uint32_t cap;      /* a power of two */
    uint32_t una;      /* oldest unacknowledged seq */
    uint32_t nxt;      /* next seq to assign */
    uint32_t peer_end; /* the receiver takes seq < peer_end */
    double srtt, rttvar, rto;
    int backoff;       /* timeouts in a row (RTO doubles each, up to RETH_RTO_MAX) */
    double t_scan;     /* no retransmission is due before this time */
    double cwnd;       /* congestion window, frames (AIMD: slow start, halve on loss) */
    double cwnd_min;   /* its floor, frames */
    double rtt_min;    /* smallest RTT sample: the path without queues */
    double ssthresh;
    uint32_t recover;  /* losses below this seq belong to the last window cut */
} reth_txwin_t;

/* Called for each frame that an ack newly covers. */
typedef void (*reth_acked_fn)(void *arg, reth_txent_t *e);

/* A window of cap frames (a power of two) of at most mtu bytes each. */
LC_HIDDEN int reth_txwin_init(reth_txwin_t *w, uint32_t cap, uint32_t mtu, double now);
LC_HIDDEN void reth_txwin_fini(reth_txwin_t *w);
/* 1 when a new frame fits in our window, the congestion window and the receiver's window. */
LC_HIDDEN int reth_txwin_room(const reth_txwin_t *w);
/* Number of frames sent and not yet acknowledged. */
static inline uint32_t reth_txwin_inflight(const reth_txwin_t *w)
{
    return w->nxt - w->una;
}
/* Take the next seq for a new frame (reth_txwin_room must be 1). */
LC_HIDDEN reth_txent_t *reth_txwin_push(reth_txwin_t *w, double now, uint32_t *seq);
/* The entry of an in-flight seq. */
static inline reth_txent_t *reth_txwin_get(reth_txwin_t *w, uint32_t seq)
{
    return &w->ent[seq & (w->cap - 1)];
}
/*
 * Apply an ack: every seq < ack and every seq ack+1+i with bit i of sack set
 * arrived; the receiver takes window frames past ack; echo is the frame
 * whose arrival prompted the ack (RTT sample). Returns the number of
 * frames newly acknowledged (fn called for each), or -EINVAL for an ack
 * outside [una, nxt] (stale or bogus: ignored).
 */
LC_HIDDEN int reth_txwin_ack(reth_txwin_t *w, uint32_t ack, uint64_t sack, uint32_t window,
                             uint32_t echo, double now, reth_acked_fn fn, void *arg);
/*
 * Collect up to max seqs that must be sent again now (timer expired within
 * the first RETH_SACK_SPAN frames, or selected by a SACK) into seqs; marks them sent at now and counts the
 * backoff. Returns how many.
 */
LC_HIDDEN int reth_txwin_due(reth_txwin_t *w, double now, uint32_t *seqs, int max);

/* One received frame held by the reorder buffer. */
typedef struct reth_rxslot {
    uint8_t present;
    uint16_t len;
    uint32_t msg_len, frag_off;
} reth_rxslot_t;

typedef struct reth_rxwin {
    reth_rxslot_t *slot; /* cap slots, seq at slot[seq & (cap - 1)] */
    uint8_t *data;       /* cap * maxpay bytes, allocated at the first stored frame */
    uint32_t cap, maxpay;
    uint32_t cons;       /* first seq not yet released to the reader */
    uint32_t nxt;        /* first seq not yet received: the cumulative ack */
} reth_rxwin_t;

enum { RETH_RX_NEW = 0, RETH_RX_DUP = 1, RETH_RX_OUT = 2 };

LC_HIDDEN int reth_rxwin_init(reth_rxwin_t *w, uint32_t cap, uint32_t maxpay);
LC_HIDDEN void reth_rxwin_fini(reth_rxwin_t *w);
/*
 * Offer a frame: RETH_RX_NEW (stored), RETH_RX_DUP (had it already),
 * RETH_RX_OUT (beyond the window: not stored), -ENOMEM, -EPROTO (len > maxpay).
 */
LC_HIDDEN int reth_rxwin_store(reth_rxwin_t *w, uint32_t seq, uint32_t msg_len, uint32_t frag_off,
                               const void *data, uint32_t len);
/* 1 when seq is exactly the next frame to release and nothing is held before it. */
static inline int reth_rxwin_is_head(const reth_rxwin_t *w, uint32_t seq)
{
    return seq == w->cons && w->cons == w->nxt;
}
/* Release the head frame without storing it (the reader took it directly). */
LC_HIDDEN void reth_rxwin_skip(reth_rxwin_t *w);
/* The next frame to release in order, or NULL; *data set to its bytes. */
LC_HIDDEN const reth_rxslot_t *reth_rxwin_peek(const reth_rxwin_t *w, const uint8_t **data);
/* Release the frame returned by reth_rxwin_peek. */
LC_HIDDEN void reth_rxwin_pop(reth_rxwin_t *w);
/* What to acknowledge: cumulative ack, SACK bitmap, window past ack. */
LC_HIDDEN void reth_rxwin_ackinfo(const reth_rxwin_t *w, uint32_t *ack, uint64_t *sack,
                                  uint32_t *window);

#endif
