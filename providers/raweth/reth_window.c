/* reth_window.c - sliding window, SACK processing, RTO, and the receive reorder buffer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reth_window.h"

int reth_txwin_init(reth_txwin_t *w, uint32_t cap, uint32_t mtu, double now)
{
    memset(w, 0, sizeof(*w));
    if (cap == 0 || (cap & (cap - 1)) || mtu == 0)
        return -EINVAL;
    w->ent = calloc(cap, sizeof(*w->ent));
    if (!w->ent)
        return -ENOMEM;
    w->cap = cap;
    w->rto = RETH_RTO_INIT;
    w->cwnd_min = RETH_CWND_MIN_BYTES / mtu;
    if (w->cwnd_min < RETH_CWND_MIN_FRAMES)
        w->cwnd_min = RETH_CWND_MIN_FRAMES;
    w->cwnd = RETH_CWND_INIT_BYTES / mtu;
    if (w->cwnd < w->cwnd_min)
        w->cwnd = w->cwnd_min;
    w->ssthresh = cap;
    w->t_scan = now;
    return 0;
}

void reth_txwin_fini(reth_txwin_t *w)
{
    free(w->ent);
    w->ent = NULL;
}

int reth_txwin_room(const reth_txwin_t *w)
{
    uint32_t inflight = w->nxt - w->una;

    return inflight < w->cap && (double)inflight < w->cwnd && reth_seq_lt(w->nxt, w->peer_end);
}

/* A loss at seq: halve the congestion window, once per window of data. */
static void reth_cwnd_cut(reth_txwin_t *w, uint32_t seq)
{
    if (reth_seq_lt(seq, w->recover))
        return;
    w->ssthresh = w->cwnd / 2 > w->cwnd_min ? w->cwnd / 2 : w->cwnd_min;
    w->cwnd = w->ssthresh;
    w->recover = w->nxt;
}

reth_txent_t *reth_txwin_push(reth_txwin_t *w, double now, uint32_t *seq)
{
    reth_txent_t *e = reth_txwin_get(w, w->nxt);

    memset(e, 0, sizeof(*e));
    e->t_sent = now;
    *seq = w->nxt++;
    return e;
}

static double reth_rto_now(const reth_txwin_t *w)
{
    double rto = w->rto;

    for (int i = 0; i < w->backoff && rto < RETH_RTO_MAX; i++)
        rto *= 2;
    return rto < RETH_RTO_MAX ? rto : RETH_RTO_MAX;
}

static void reth_rtt_sample(reth_txwin_t *w, double r)
{
    if (w->rtt_min == 0 || r < w->rtt_min)
        w->rtt_min = r;
    if (w->srtt == 0) {
        w->srtt = r;
        w->rttvar = r / 2;
    } else {
        double d = w->srtt > r ? w->srtt - r : r - w->srtt;
        w->rttvar = 0.75 * w->rttvar + 0.25 * d;
        w->srtt = 0.875 * w->srtt + 0.125 * r;
    }
    w->rto = w->srtt + 4 * w->rttvar;
    if (w->rto < RETH_RTO_MIN)
        w->rto = RETH_RTO_MIN;
    if (w->rto > RETH_RTO_MAX)
        w->rto = RETH_RTO_MAX;
}

static int reth_mark(reth_txwin_t *w, uint32_t seq, uint32_t echo, double now, double *rtt,
                     reth_acked_fn fn, void *arg)
{
    reth_txent_t *e = reth_txwin_get(w, seq);

    if (e->acked)
        return 0;
    e->acked = 1;
    /*
     * The RTT sample comes from the frame whose arrival prompted the ack,
     * and only if it was sent once (Karn): frames acked together with it
     * may have waited in the receiver's buffer behind a hole.
     */
    if (seq == echo && e->nretx == 0)
        *rtt = now - e->t_sent;
    if (fn)
        fn(arg, e);
    return 1;
}

int reth_txwin_ack(reth_txwin_t *w, uint32_t ack, uint64_t sack, uint32_t window, uint32_t echo,
                   double now, reth_acked_fn fn, void *arg)
{
    uint32_t end = ack + window, top = ack;
    double rtt = -1;
    int n = 0;

    if (reth_seq_lt(ack, w->una) || reth_seq_lt(w->nxt, ack))
        return -EINVAL;
    for (uint32_t s = w->una; s != ack; s++)
        n += reth_mark(w, s, echo, now, &rtt, fn, arg);
    for (int i = 0; i < 64 && sack; i++, sack >>= 1) {
        uint32_t s = ack + 1 + (uint32_t)i;
        if (!reth_seq_lt(s, w->nxt))
            break;
        if (sack & 1) {
            n += reth_mark(w, s, echo, now, &rtt, fn, arg);
            top = s;
        }
    }
    if (reth_seq_lt(w->peer_end, end))
        w->peer_end = end;
    if (ack != w->una) {
        w->una = ack;
        w->backoff = 0;
    }
    while (w->una != w->nxt && reth_txwin_get(w, w->una)->acked)
        w->una++;
    if (rtt >= 0)
        reth_rtt_sample(w, rtt);
    /* Holes below the highest SACKed frame: resend once per RTT. */
    if (top != ack && w->srtt > 0) {
        for (uint32_t s = w->una; reth_seq_lt(s, top); s++) {
            reth_txent_t *e = reth_txwin_get(w, s);
            if (!e->acked && now - e->t_sent > w->srtt + w->rtt_min / 4) {
                e->fast = 1;
                w->t_scan = now;
                reth_cwnd_cut(w, s);
            }
        }
    }
    /*
     * Slow start below ssthresh, then about one frame per window; no growth
     * while recovering from a loss, nor while the RTT shows a standing queue
     * (shaping qdisc, busy receiver), which would only delay acks past the RTO.
     */
    if (n > 0 && !reth_seq_lt(w->una, w->recover) &&
        w->srtt < 2 * w->rtt_min + RETH_QUEUE_MAX) {
        w->cwnd += w->cwnd < w->ssthresh ? n : n / w->cwnd;
        if (w->cwnd > w->cap)
            w->cwnd = w->cap;
    }
    return n;
}

int reth_txwin_due(reth_txwin_t *w, double now, uint32_t *seqs, int max)
{
    double rto = reth_rto_now(w), next = now + rto;
    /* Probe timeout: a frame sent once is resent after two smoothed RTTs
     * (RETH_PTO_MIN at least) without cutting the window, unless the RTO
     * comes first: then it is a timeout, as for frames resent before. Most
     * vote messages are a few frames, so a lost one is often a tail that no
     * later frame's SACK reveals. */
    double pto = 2 * w->srtt > RETH_PTO_MIN ? 2 * w->srtt : RETH_PTO_MIN;
    double first = w->srtt > 0 && pto < rto ? pto : rto; /* wait of a frame sent once */
    int n = 0, timed_out = 0;

    uint32_t end = w->una + RETH_SACK_SPAN;

    if (now < w->t_scan || w->una == w->nxt)
        return 0;
    if (reth_seq_lt(w->nxt, end))
        end = w->nxt;
    /*
     * Only frames the receiver's acks can describe (the cumulative ack and
     * the SACK bitmap after it) are resent on a timer: frames further on
     * probably sit in the receiver's buffer, and the ack tells once the
     * holes before them are filled.
     */
    for (uint32_t s = w->una; s != end && n < max; s++) {
        reth_txent_t *e = reth_txwin_get(w, s);
        if (e->acked)
            continue;
        double wait = e->nretx == 0 ? first : rto;

        if (e->fast || now - e->t_sent >= wait) {
            if (!e->fast && now - e->t_sent >= rto) {
                timed_out = 1;
                reth_cwnd_cut(w, s);
            }
            e->fast = 0;
            e->t_sent = now;
            if (e->nretx < 255)
                e->nretx++;
            seqs[n++] = s;
        } else if (e->t_sent + wait < next) {
            next = e->t_sent + wait;
        }
    }
    if (timed_out && w->backoff < 16)
        w->backoff++;
    w->t_scan = n == max ? now : next;
    return n;
}

int reth_rxwin_init(reth_rxwin_t *w, uint32_t cap, uint32_t maxpay)
{
    memset(w, 0, sizeof(*w));
    if (cap == 0 || (cap & (cap - 1)))
        return -EINVAL;
    w->slot = calloc(cap, sizeof(*w->slot));
    if (!w->slot)
        return -ENOMEM;
    w->cap = cap;
    w->maxpay = maxpay;
    return 0;
}

void reth_rxwin_fini(reth_rxwin_t *w)
{
    free(w->slot);
    free(w->data);
    w->slot = NULL;
    w->data = NULL;
}

int reth_rxwin_store(reth_rxwin_t *w, uint32_t seq, uint32_t msg_len, uint32_t frag_off,
                     const void *data, uint32_t len)
{
    reth_rxslot_t *s;

    if (reth_seq_lt(seq, w->nxt))
        return RETH_RX_DUP;
    if (!reth_seq_lt(seq, w->cons + w->cap))
        return RETH_RX_OUT;
    if (len > w->maxpay)
        return -EPROTO;
    s = &w->slot[seq & (w->cap - 1)];
    if (s->present)
        return RETH_RX_DUP;
    if (!w->data) {
        w->data = malloc((size_t)w->cap * w->maxpay);
        if (!w->data)
            return -ENOMEM;
    }
    if (len)
        memcpy(w->data + (size_t)(seq & (w->cap - 1)) * w->maxpay, data, len);
    s->present = 1;
    s->len = (uint16_t)len;
    s->msg_len = msg_len;
    s->frag_off = frag_off;
    while (w->slot[w->nxt & (w->cap - 1)].present && reth_seq_lt(w->nxt, w->cons + w->cap))
        w->nxt++;
    return RETH_RX_NEW;
}

void reth_rxwin_skip(reth_rxwin_t *w)
{
    w->cons++;
    w->nxt++;
    while (w->slot[w->nxt & (w->cap - 1)].present && reth_seq_lt(w->nxt, w->cons + w->cap))
        w->nxt++;
}

const reth_rxslot_t *reth_rxwin_peek(const reth_rxwin_t *w, const uint8_t **data)
{
    const reth_rxslot_t *s;

    if (w->cons == w->nxt)
        return NULL;
    s = &w->slot[w->cons & (w->cap - 1)];
    *data = w->data + (size_t)(w->cons & (w->cap - 1)) * w->maxpay;
    return s;
}

void reth_rxwin_pop(reth_rxwin_t *w)
{
    w->slot[w->cons & (w->cap - 1)].present = 0;
    w->cons++;
}

void reth_rxwin_ackinfo(const reth_rxwin_t *w, uint32_t *ack, uint64_t *sack, uint32_t *window)
{
    uint64_t bits = 0;

    for (uint32_t i = 0; i < 64; i++) {
        uint32_t s = w->nxt + 1 + i;
        if (!reth_seq_lt(s, w->cons + w->cap))
            break;
        if (w->slot[s & (w->cap - 1)].present)
            bits |= 1ull << i;
    }
    *ack = w->nxt;
    *sack = bits;
    *window = w->cons + w->cap - w->nxt;
}
